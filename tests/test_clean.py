"""Cleaning: paywall markers, reseller ads by general pattern, footers, placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.corpus.clean import clean_file, clean_text, find_ad_spans, normalise_placeholders
from shuzhi.corpus.load import load_file, load_text
from shuzhi.models import PLACEHOLDER

P = PLACEHOLDER


def test_paywall_marker_inside_a_word_leaves_the_word_whole() -> None:
    assert clean_text("进一步加强机##paidbegin##关基层党组织建设。") == "进一步加强机关基层党组织建设。"
    assert (
        clean_text("做到重要工作亲自部署、##paidbegin##重大问题亲自过问")
        == "做到重要工作亲自部署、重大问题亲自过问"
    )


def test_marker_only_line_is_logged_as_marker_not_kept() -> None:
    cleaned = clean_file(load_text("正文第一段。\n\n##paidend##\n"))
    assert [b.text for b in cleaned.blocks] == ["正文第一段。"]
    assert [r.reason for r in cleaned.removed if r.reason != "blank"] == ["paywall_marker"]


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("星辰文库整理，咨询微信 xw123456", id="new-reseller-wechat"),
        pytest.param("加VX：abc8888 获取更多资料", id="vx-colon"),
        pytest.param("酷乐文行整理，咨询QQ206157060", id="seed-footer"),
        pytest.param("仅供学习 禁止外传 用后删除", id="watermark"),
        pytest.param(
            "【会员资料仅供内部交流使用，严禁外传及用于商业用途，违者后果自负】", id="bracket-member"
        ),
        pytest.param("【打击倒卖活动】", id="bracket-resale"),
        pytest.param("现在订阅立享前3年的所有权益和资料", id="subscribe"),
        pytest.param("会员群：          免费QQ群：", id="groups"),
        pytest.param("举报倒卖会员资料的人，举报成功免费赠送一年会员材料！", id="report-resale"),
        pytest.param("客服电话：13800000000", id="service-phone"),
        pytest.param("更多精品范文请关注公众号：党建文库", id="official-account"),
        pytest.param("文海书屋整理 QQ:12345678", id="another-reseller-qq"),
    ],
)
def test_ad_lines_are_removed(line: str) -> None:
    text = f"一、主要做法和成效\n{line}\n全年组织集中学习12次。"
    assert clean_text(text) == "一、主要做法和成效\n全年组织集中学习12次。"
    assert find_ad_spans(text)


@pytest.mark.parametrize(
    "line",
    [
        "严格落实“三会一课”制度，全年召开支部委员会12次。",
        "坚持每周一利用一小时，轮流安排党员、部门中层领学指定书目，分享学习体会。",
        "三是及时清理微信工作群3个，定期对工作中使用邮箱进行安全加密。",
        "通过微信公众号推送学习资料56期。",
        "组织全体会员参加主题党日活动，"
        "工会会员积极参与“博爱一日捐”、“送温暖献爱心”等捐助活动，全年共开展志愿服务活动14次，"
        "服务群众300余人次，党员的荣誉感和归属感进一步增强，支部凝聚力和战斗力明显提升。",
        "举办XML数据规范培训1次。",
        "二、存在问题及原因",
        "咨询服务中心党支部坚持把服务群众作为工作重点",
        "实时分享是一种好做法，支部通过工作群实时分享学习心得，形成了比学赶超的良好氛围，"
        "全年累计分享学习心得200余篇，党员参学率达到100%，学习效果显著提升，得到上级党组织肯定。",
    ],
)
def test_report_text_survives(line: str) -> None:
    assert clean_text(line) == line
    assert not find_ad_spans(line)


def test_ad_clause_inside_a_long_paragraph_is_cut() -> None:
    body = "全年组织集中学习12次，开展研讨交流8次，撰写心得体会20篇。" * 3
    cleaned = clean_text(body + "酷乐文行整理，咨询QQ206157060。" + "党员参学率达到100%。")
    assert "QQ" not in cleaned and "酷乐" not in cleaned
    assert cleaned.startswith(body) and cleaned.endswith("党员参学率达到100%。")


def test_repeated_short_line_is_a_footer_but_headings_are_not() -> None:
    lines = [
        "第1页 党建资料汇编",
        "一、主要工作",
        "正文一。",
        "第1页 党建资料汇编",
        "正文二。",
        "第1页 党建资料汇编",
    ]
    cleaned = clean_file(load_text("\n".join(lines)))
    assert [b.text for b in cleaned.blocks] == ["一、主要工作", "正文一。", "正文二。"]
    assert [r.reason for r in cleaned.removed] == ["repeated_footer"] * 3


def test_seed_003_ad_block_removed_and_title_kept(corpus_dir: Path) -> None:
    cleaned = clean_file(load_file(corpus_dir / "003_5d70bbfcd06b2305.txt"))
    assert cleaned.blocks[0].text == "政府办党组书记抓基层党建工作述职报告"
    reasons = {r.reason for r in cleaned.removed}
    assert {"watermark", "promo", "ad", "repeated_footer", "blank"} <= reasons
    footer = [r for r in cleaned.removed if r.reason == "repeated_footer"]
    assert [r.text for r in footer] == ["酷乐文行整理，咨询QQ206157060"] * 2
    assert any(r.text == "根据实际需求和形式任务不断迭代" for r in cleaned.removed)  # inside the promo block
    text = "\n".join(b.text for b in cleaned.blocks)
    for dirt in ("酷乐", "QQ", "会员", "订阅", "禁止外传", "倒卖", "迭代"):
        assert dirt not in text


def test_every_removal_points_at_its_block(corpus_dir: Path) -> None:
    loaded = load_file(corpus_dir / "000_0130dee73a884878.txt")
    cleaned = clean_file(loaded)
    for removal in cleaned.removed:
        assert removal.text in loaded.blocks[removal.block_index].text
    assert cleaned.placeholders_normalised > 20


@pytest.mark.parametrize(
    ("raw", "expected", "count"),
    [
        pytest.param("先后主持召开xx次xx会", f"先后主持召开{P}次{P}会", 2, id="xx"),
        pytest.param("邀请xxx同志作报告", f"邀请{P}同志作报告", 1, id="xxx-comrade"),
        pytest.param("学习党的XX大精神", f"学习党的{P}大精神", 1, id="party-congress"),
        pytest.param("认真贯彻落实《xxxx若干准则》", f"认真贯彻落实《{P}若干准则》", 1, id="XXXX-in-book"),
        pytest.param("政府办党组X年度", f"政府办党组{P}年度", 1, id="single-X"),
        pytest.param("ＸＸ党委", f"{P}党委", 1, id="fullwidth"),
        pytest.param("发展预备党员*名", f"发展预备党员{P}名", 1, id="single-star"),
        pytest.param(
            "全年发布工作信息****篇，公示***余条", f"全年发布工作信息{P}篇，公示{P}余条", 2, id="stars"
        ),
        pytest.param("安装××个", f"安装{P}个", 1, id="times"),
        pytest.param(
            "举办XML培训，4x4方阵，微信xw123456", "举办XML培训，4x4方阵，微信xw123456", 0, id="words-kept"
        ),
        pytest.param(f"已是{P}不变", f"已是{P}不变", 0, id="idempotent"),
    ],
)
def test_normalise_placeholders(raw: str, expected: str, count: int) -> None:
    assert normalise_placeholders(raw) == (expected, count)


def test_markdown_emphasis_unwrapped_but_star_numbers_are_placeholders() -> None:
    # Emphasis around ordinary prose loses its stars …
    assert normalise_placeholders("**一是加强政治建设。**坚持第一议题", markdown=True) == (
        "一是加强政治建设。坚持第一议题",
        0,
    )
    assert normalise_placeholders("要把*政治建设*摆在首位", markdown=True) == ("要把政治建设摆在首位", 0)
    # … but a pair whose inside starts with a counting unit is two redacted numbers.
    text = "全年共组织召开支部党员大会*次，支部委员会**次，党小组会**次，干部讲党课*次，主题党日活动**次。"
    expected = f"全年共组织召开支部党员大会{P}次，支部委员会{P}次，党小组会{P}次，干部讲党课{P}次，主题党日活动{P}次。"
    assert normalise_placeholders(text, markdown=True) == (expected, 5)
    # Plain text never unwraps: every star run is a placeholder.
    assert normalise_placeholders("**重点**")[0] == f"{P}重点{P}"


def test_markdown_file_cleaning_strips_bullets_and_links() -> None:
    cleaned = clean_file(load_text("- **加强学习**，见[通知](http://a.b/c)\n* 发展党员**名", "n.md"))
    assert [b.text for b in cleaned.blocks] == ["加强学习，见通知", f"发展党员{P}名"]


def test_clean_text_for_prompts() -> None:
    dirty = "仅供学习 禁止外传 用后删除\n一是抓学习##paidend##。召开xx次会议。"
    assert clean_text(dirty) == f"一是抓学习。召开{P}次会议。"
    assert find_ad_spans(dirty) == ["仅供学习 禁止外传 用后删除", "##paidend##"]


def test_repeated_table_rows_are_kept() -> None:
    from shuzhi.models import Block, LoadedFile

    rows = tuple(Block(text="是  否", origin="table") for _ in range(3))
    loaded = LoadedFile("t.docx", "0" * 16, "docx", "docx", (Block("一、主要工作"), *rows))
    assert [b.text for b in clean_file(loaded).blocks] == ["一、主要工作", "是  否", "是  否", "是  否"]


def test_source_typos_are_corrected_and_logged(corpus_dir: Path) -> None:
    from shuzhi.corpus.load import load_file

    cleaned = clean_file(load_file(corpus_dir / "000_0130dee73a884878.txt"))
    text = "\n".join(b.text for b in cleaned.blocks)
    assert "佘次" not in text and "余次" in text
    assert "节假曰" not in text and "节假日" in text
    assert {r.text for r in cleaned.removed if r.reason == "typo"} == {"佘次", "节假曰"}
