"""Notes: every bullet becomes an item, in the right section, with its facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.errors import InputRejected
from shuzhi.notes import note_figures, parse_notes


@pytest.fixture
def jiguan(examples_dir: Path) -> str:
    return (examples_dir / "notes_jiguan_2024.md").read_text(encoding="utf-8")


@pytest.fixture
def qiye(examples_dir: Path) -> str:
    return (examples_dir / "notes_qiye_2023.md").read_text(encoding="utf-8")


def _section_of(notes, fragment: str) -> str:  # type: ignore[no-untyped-def]
    matches = [i for i in notes.items if fragment in i.text]
    assert len(matches) == 1, (fragment, notes.items)
    return str(matches[0].section)


def test_jiguan_every_bullet_is_an_item(jiguan: str) -> None:
    notes = parse_notes(jiguan)
    bullets = [ln for ln in jiguan.splitlines() if ln.startswith("- ")]
    assert len(notes.items) == len(bullets) == 13
    assert {i.line_no for i in notes.items} == {n for n, ln in enumerate(jiguan.splitlines(), 1) if ln.startswith("- ")}


@pytest.mark.parametrize(
    ("fragment", "section"),
    [
        pytest.param("开展党纪学习教育", "achievements", id="achievement"),
        pytest.param("发展党员2名", "achievements", id="members-recruited"),
        pytest.param("理论学习有时候走过场", "problems", id="problem-zouguochang"),
        pytest.param("主题党日形式单一", "problems", id="problem-single-form"),
        pytest.param("对年轻党员关心不够", "problems", id="problem-young"),
        pytest.param("搞青年理论学习小组", "next_steps", id="next-youth-group"),
        pytest.param("党员先锋岗", "next_steps", id="next-vanguard"),
    ],
)
def test_jiguan_sections(jiguan: str, fragment: str, section: str) -> None:
    assert _section_of(parse_notes(jiguan), fragment) == section


def test_jiguan_meta_and_facts(jiguan: str) -> None:
    notes = parse_notes(jiguan)
    assert notes.meta.year == 2024
    assert notes.meta.org == "市统计局机关党支部"
    assert notes.meta.person == "王某"
    assert notes.meta.role == "支部书记"
    assert notes.meta.members == "党员38名，其中预备党员2名"
    item = next(i for i in notes.items if "三会一课" in i.text)
    assert [f.raw for f in item.figures] == ["5次", "12次", "36次", "12次"]
    assert "《中国共产党纪律处分条例》" in next(i for i in notes.items if "党纪" in i.text).names
    assert "四强" in next(i for i in notes.items if "获评" in i.text).names
    lines = {(f.raw, line) for f, line in note_figures(notes)}
    assert ("38名", "单位：市统计局机关党支部（党员38名，其中预备党员2名）") in lines
    assert not any(f.raw.startswith("2024") for f, _ in note_figures(notes))


def test_qiye_markers_split_into_items(qiye: str) -> None:
    notes = parse_notes(qiye)
    assert notes.meta.year == 2023
    assert "某国有物流公司" in notes.meta.org and "第三党支部" in notes.meta.org
    problems = notes.items_for("problems")
    assert [p.text for p in problems] == ['党建和生产"两张皮"', "支委作用发挥不够", "创新不够"]
    assert all(p.assigned_by == "marker" for p in problems)
    assert len(notes.items_for("next_steps")) == 3
    assert len(notes.items_for("achievements")) == 7
    assert [f.raw for f in notes.items[0].figures] == ["3期", "10次", "4个", "9件"]
    assert next(i for i in notes.items if "营收" in i.text).figures[0].unit == "%"


def test_explicit_year_wins(qiye: str) -> None:
    assert parse_notes(qiye, year=2024).meta.year == 2024


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("* 支部学习20次\n• 党课3次\n· 主题党日6次", ["achievements"] * 3, id="star-dot-bullets"),
        pytest.param("1. 支部学习20次\n2、党课3次\n（3）主题党日6次\n(4) 谈心谈话9人次\n⑤ 走访5户", ["achievements"] * 5, id="numbered"),
        pytest.param("成绩：学习20次；党课3次", ["achievements", "achievements"], id="marker-achievements"),
        pytest.param("整改：去年学习不深的问题已整改", ["rectification"], id="marker-rectification"),
        pytest.param("明年：建设党建阵地", ["next_steps"], id="marker-mingnian"),
        pytest.param("## 问题\n学习不深入\n## 下一步\n加强学习", ["problems", "next_steps"], id="headings-plain-lines"),
        pytest.param("学习流于形式\n计划明年开展读书班", ["problems", "next_steps"], id="rules"),
    ],
)
def test_input_shapes(text: str, expected: list[str]) -> None:
    notes = parse_notes(text)
    assert [i.section for i in notes.items] == expected


def test_classifier_is_used_after_rules() -> None:
    calls: list[str] = []

    def classify(text: str) -> tuple[str, float]:
        calls.append(text)
        return "rectification", 0.9

    notes = parse_notes("完成巡察反馈意见整改工作\n支部学习不够\n第一议题 传达学习 全年18次", classify=classify)
    assert [(i.section, i.assigned_by) for i in notes.items] == [
        ("rectification", "similarity"), ("problems", "rule"), ("achievements", "rule")]
    # A counted fact is work done: similarity to corpus next steps must not move it.
    assert calls == ["完成巡察反馈意见整改工作"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("  \n\n \t", "empty", id="blank"),
        pytest.param("# 2024年 笔记\n单位：某支部\n---", "empty", id="no-usable-line"),
        pytest.param("- 学习\n" * 6000, "too_large", id="too-large"),
    ],
)
def test_bad_input(text: str, reason: str) -> None:
    with pytest.raises(InputRejected) as exc:
        parse_notes(text)
    assert exc.value.reason == reason
    assert "笔记" in exc.value.user_message


# ---------------------------------------------------------------- prose notes (QA finding A)
PROSE = (
    "2024年我们支部全年集中学习24次，发展党员2名，开展主题党日12次。"
    "存在的问题是理论学习有时走过场，有3名党员未按时参加组织生活。"
    "究其原因，是我抓党建的主责意识不强。"
    "明年要搞青年理论学习小组。"
)


@pytest.mark.parametrize("sep", ["。", "；"], ids=["full-stops", "semicolons"])
def test_prose_paragraph_is_split_and_classified(sep: str) -> None:
    notes = parse_notes(PROSE.replace("。", sep))
    assert [(i.section, i.text) for i in notes.items] == [
        ("achievements", "2024年我们支部全年集中学习24次，发展党员2名，开展主题党日12次"),
        ("problems", "理论学习有时走过场，有3名党员未按时参加组织生活"),
        ("causes", "我抓党建的主责意识不强"),
        ("next_steps", "明年要搞青年理论学习小组"),
    ]
    assert notes.meta.year == 2024  # read from the text: no title or meta line states it
    assert {i.line_no for i in notes.items} == {1}


def test_short_prose_line_with_a_year_is_not_a_title() -> None:
    notes = parse_notes("2024年我们支部学习抓得紧；存在的问题是学习走过场；明年要搞读书班")
    assert [i.section for i in notes.items] == ["achievements", "problems", "next_steps"]
    assert notes.meta.year == 2024


def test_cue_inside_a_sentence_and_quotes_kept_whole() -> None:
    notes = parse_notes("全年学习24次，但存在问题：“三会一课”记录不规范；有的党员说“学了没用；不如干活”")
    assert [(i.section, i.text) for i in notes.items] == [
        ("achievements", "全年学习24次"),
        ("problems", "“三会一课”记录不规范"),
        ("problems", "有的党员说“学了没用；不如干活”"),
    ]


def test_cue_line_heads_the_bullets_that_follow() -> None:
    notes = parse_notes("全年学习24次。\n存在的问题是：\n- 2名党员党费交纳不及时\n- 主题党日12次都在会议室\n明年打算：办读书班")
    assert [i.section for i in notes.items] == ["achievements", "problems", "problems", "next_steps"]


def test_cue_in_a_bullet_covers_only_that_bullet() -> None:
    notes = parse_notes("- 与社区结对共建，明年继续深化\n- 发展党员2名")
    assert [(i.section, i.text) for i in notes.items] == [
        ("achievements", "与社区结对共建"), ("next_steps", "明年继续深化"), ("achievements", "发展党员2名")]


def test_year_from_text_ignores_plans() -> None:
    notes = parse_notes("- 明年即2025年办读书班\n- 2024年全年学习24次")
    assert notes.meta.year == 2024


# ---------------------------------------------------------------- dirt in notes (QA finding B)
def test_bullets_and_headings_survive_cleaning() -> None:
    text = "# 2024年 笔记\n* 支部学习20次\n- 党课3次\n酷乐文行整理，咨询QQ206157060\n\n## 问题\n- 学习流于形式\n## 明年\n+ 办读书班"
    notes = parse_notes(text)
    assert [(i.line_no, i.section, i.text) for i in notes.items] == [
        (2, "achievements", "支部学习20次"),
        (3, "achievements", "党课3次"),
        (7, "problems", "学习流于形式"),
        (9, "next_steps", "办读书班"),
    ]
    assert notes.removed == ("酷乐文行整理，咨询QQ206157060",)
    assert notes.looks_like_report is False
    assert notes.raw_text == text


def test_placeholders_in_notes_are_marked_not_figures() -> None:
    notes = parse_notes("- 全年学习xx次，讲党课X次\n- 发展党员2名")
    first = notes.items[0]
    assert first.text == "全年学习〔X〕次，讲党课〔X〕次"
    assert first.figures == ()
    assert [f.raw for f, _ in note_figures(notes)] == ["2名"]


def test_clean_notes_have_nothing_removed(jiguan: str) -> None:
    notes = parse_notes(jiguan)
    assert notes.removed == () and notes.looks_like_report is False


def test_pasted_report_is_recognised_and_cleaned(corpus_dir: Path) -> None:
    text = next(corpus_dir.glob("003_*.txt")).read_text(encoding="utf-8")
    notes = parse_notes(text)
    assert notes.looks_like_report
    removed = "\n".join(notes.removed)
    for ad in ("酷乐文行", "现在订阅立享", "会员群：", "【打击倒卖活动】", "禁止外传"):
        assert ad in removed
    everything = "\n".join(i.text for i in notes.items)
    for ad in ("酷乐文行", "订阅", "QQ", "倒卖", "会员资料"):
        assert ad not in everything
    assert "X次" not in everything.replace("〔X〕次", "") and "〔X〕次" in everything
    assert not any(f.raw.startswith(("X", "x")) for i in notes.items for f in i.figures)
    # Its headings file the parts: not everything is an achievement.
    sections = {i.section for i in notes.items}
    assert {"achievements", "problems", "causes", "next_steps"} <= sections
    problem = next(i for i in notes.items if "政治理论学习不够主动" in i.text)
    assert problem.section == "problems"
    cause = next(i for i in notes.items if "宗旨意识及参与意识有所弱化" in i.text)
    assert cause.section == "causes"
    assert notes.meta.year == 2020 and notes.meta.org == "政府办党组"


def test_bullet_list_with_numbered_items_is_not_a_report() -> None:
    text = "一、学习24次\n二、党课4次\n三、发展党员2名\n四、主题党日12次"
    notes = parse_notes(text)
    assert not notes.looks_like_report
    assert [i.section for i in notes.items] == ["achievements"] * 4


# ---------------------------------------------------------------- negative wording (QA finding C)
@pytest.mark.parametrize(
    ("line", "section"),
    [
        pytest.param("有3名党员未按时参加组织生活", "problems", id="wei-anshi"),
        pytest.param("2名党员党费交纳不及时", "problems", id="bu-jishi"),
        pytest.param("全年12次主题党日中有10次没有走出会议室", "problems", id="meiyou"),
        pytest.param("党员学习积极性偏低，参学率60%", "problems", id="piandi"),
        pytest.param("未完成整改问题3个", "problems", id="wei-wancheng"),
        pytest.param("问题整改不及时，拖了2个月", "problems", id="zhenggai-bujishi"),
        pytest.param("完成整改问题17个", "achievements", id="done-zhenggai"),
        pytest.param("查出并整改问题17个", "achievements", id="chachu-bing"),
        pytest.param("解决职工急难愁盼问题9件", "achievements", id="jiejue"),
        pytest.param("未发生重大舆情", "achievements", id="wei-fasheng"),
        pytest.param("安全生产零事故", "achievements", id="zero-accidents"),
    ],
)
def test_negative_wording_beats_figures(line: str, section: str) -> None:
    notes = parse_notes(f"- {line}")
    assert [i.section for i in notes.items] == [section]


def test_rule_order_marker_first_then_problem_rule_then_figures() -> None:
    def classify(text: str) -> tuple[str, float]:
        return "next_steps", 0.99

    # Similarity alone never turns a thing done ("办读书班") into a plan: only plan wording does (issue 7).
    notes = parse_notes("有3名党员未按时参加组织生活\n学习24次\n办读书班\n成绩：有3名党员未按时参加组织生活", classify=classify)
    assert [(i.section, i.assigned_by) for i in notes.items] == [
        ("problems", "rule"), ("achievements", "rule"), ("achievements", "default"), ("achievements", "marker")]


# ---------------------------------------------------------------- organisation (QA finding D)
@pytest.mark.parametrize(
    ("text", "org"),
    [
        pytest.param("2024年 某街道社区党委书记笔记\n单位：和平街道光明社区党委\n- 学习24次", "和平街道光明社区党委", id="meta-wins"),
        pytest.param("单位：和平街道光明社区党委\n2024年 某街道社区党委书记笔记\n- 学习24次", "和平街道光明社区党委", id="meta-first"),
        pytest.param("# 2024年 某街道社区党委书记笔记\n- 学习24次", "某街道社区党委", id="title-noise-stripped"),
        pytest.param("2023 某国有物流公司 第三党支部\n- 学习24次", "某国有物流公司第三党支部", id="title-spaces-removed"),
        pytest.param("# 2024年 市统计局机关党支部 书记述职 笔记\n- 学习24次", "市统计局机关党支部", id="title-tokens"),
    ],
)
def test_org_from_meta_line_beats_title(text: str, org: str) -> None:
    notes = parse_notes(text)
    assert notes.meta.org == org
    assert notes.meta.year in (2023, 2024)
