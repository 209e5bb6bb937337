"""Figures, ledger, leakage and placeholders stay quiet on faithful drafts (issue 7, item 3, round 3):
anniversaries, proportions in 成, reduplicated counting words, ranges, repeated note values, person
units, stock official wording and common wording, and the placeholder's quoted context."""

from __future__ import annotations

import pytest

from shuzhi.checks import run_checks
from shuzhi.checks.leakage import find_copied_runs, find_placeholders
from shuzhi.figures import extract_figures
from shuzhi.notes import parse_notes

NOTES = """# 2024年 春晖社区党支部书记 述职笔记
单位：春晖社区党支部（党员27名）
本人：支部书记 李某
- 全年开展主题党日12次，讲党课3次
- 发展党员1名
- 问题：青年党员参与志愿服务少
- 明年：建立青年党员志愿服务队
"""


def _draft(done: str) -> str:
    return ("2024年春晖社区党支部书记抓基层党建工作述职报告\n\n"
            "2024年，在街道党工委的领导下，我认真履行第一责任人职责。现将有关情况报告如下：\n\n"
            "一、主要做法和成效\n"
            f"我带头开展主题党日12次，讲党课3次，发展党员1名，支部党员27名。{done}\n\n"
            "二、存在问题及原因\n一是青年党员参与志愿服务少，我对青年党员的引导不够。究其原因，是我思想认识不到位。\n\n"
            "三、下一步工作思路和措施\n一是建立青年党员志愿服务队，带动青年党员参与社区服务。\n\n"
            "以上是我的述职报告，请批评指正。\n")


def _invented(done: str, extra_notes: str = "") -> list[str]:
    return [i.raw for i in run_checks(_draft(done), parse_notes(NOTES + extra_notes)).invented]


def _missing(done: str, extra_notes: str) -> list[str]:
    report = run_checks(_draft(done), parse_notes(NOTES + extra_notes))
    return [e.figure_raw for e in report.ledger if e.status == "missing"]


# ---------------------------------------------------------------- extraction


@pytest.mark.parametrize(
    "text, figures",
    [
        pytest.param("2021年是中国共产党成立100周年", [("2021年", "年"), ("100周年", "周年")], id="anniversary"),
        pytest.param("纪念改革开放四十五周年", [("四十五周年", "周年")], id="anniversary-chinese"),
        pytest.param("连续3周开展", [("3周", "周")], id="weeks-stay-weeks"),
        pytest.param("到村里一项一项抓落实", [], id="yixiang-yixiang"),
        pytest.param("把实事一件一件办好、一个一个销号、一条一条整改", [], id="reduplicated"),
        pytest.param("完成一项整改", [("一项", "项")], id="one-item-is-a-count"),
        pytest.param("近三成对党务不熟悉", [("近三成", "成")], id="cheng-approx"),
        pytest.param("到会率不足七成", [("七成", "成")], id="cheng"),
        pytest.param("八成以上党员参加", [("八成以上", "成")], id="cheng-above"),
        pytest.param("坚持一成不变的做法", [], id="yicheng-idiom"),
        pytest.param("支部5成员轮流值班", [("5", "")], id="chengyuan-is-no-unit"),
        pytest.param("每人联系1到2个社区", [("1到2个", "个"), ("2个", "个")], id="range-arabic"),
        pytest.param("每人联系一至两个社区", [("一至两个", "个"), ("两个", "个")], id="range-chinese"),
        pytest.param("每组三到五名党员", [("三到五名", "名"), ("五名", "名")], id="range-persons"),
        pytest.param("联系1—2个村", [("1—2个", "个"), ("2个", "个")], id="range-dash"),
        pytest.param("3月—7月开展", [("3月", "月"), ("7月", "月")], id="both-ends-have-units"),
        pytest.param("一到村里就走访", [], id="yi-dao-is-no-range"),
        pytest.param("下面是我平时记的要点，帮我整理成一篇。", [], id="request-for-the-report"),
        pytest.param("请帮我写一份述职报告", [], id="request-yifen"),
        pytest.param("全年撰写理论文章一篇", [("一篇", "篇")], id="an-article-is-a-count"),
    ],
)
def test_extraction(text: str, figures: list[tuple[str, str]]) -> None:
    assert [(f.raw, f.unit) for f in extract_figures(text)] == figures


# ---------------------------------------------------------------- invented figures


@pytest.mark.parametrize(
    "done, extra_notes, invented",
    [
        pytest.param("建党100周年前后，我们为老党员颁发纪念章。", "- 建党100周年前后给老党员颁发纪念章\n", [],
                     id="anniversary-in-notes-phrase"),
        pytest.param("今年是中国共产党成立100周年。", "- 建党100周年前后给老党员颁发纪念章\n", [],
                     id="anniversary-reworded"),
        pytest.param("今年是中国共产党成立100周年。", "", ["100周年"], id="anniversary-not-in-notes"),
        pytest.param("今年是中国共产党成立105周年。", "- 建党100周年前后给老党员颁发纪念章\n", ["105周年"],
                     id="anniversary-other-value"),
        pytest.param("到楼栋一项一项抓落实。", "", [], id="reduplication"),
        pytest.param("支部完成三项整改。", "", ["三项"], id="real-count"),
        pytest.param("新任书记中近三成对党务不熟悉。", "", ["近三成"], id="cheng-invented"),
        pytest.param("组织生活到会率不足七成。", "- 组织生活到会率不足七成\n", [], id="cheng-in-notes"),
        pytest.param("组织生活到会率不足七成。", "- 组织生活到会率70%\n", [], id="cheng-spells-percent"),
        pytest.param("小区共有3800余名居民。", "- 小区3800多人\n", [], id="persons-any-unit-any-marker"),
        pytest.param("小区共有3800名居民。", "- 小区约3800人\n", [], id="persons-exact-and-approx"),
        pytest.param("小区共有3900余名居民。", "- 小区3800多人\n", ["3900余名"], id="persons-other-value"),
        pytest.param("累计服务居民3800人次。", "- 小区3800多人\n", ["3800人次"], id="person-times-separate"),
    ],
)
def test_invented(done: str, extra_notes: str, invented: list[str]) -> None:
    assert _invented(done, extra_notes) == invented


# ---------------------------------------------------------------- ledger


@pytest.mark.parametrize(
    "done, extra_notes, missing",
    [
        pytest.param("党员每人联系一至两个社区。", "- 党员每人联系1到2个社区\n", [], id="range-both-spellings"),
        pytest.param("党员每人联系1—2个社区。", "- 党员每人联系一到两个社区\n", [], id="range-dash-in-draft"),
        pytest.param("党员每人联系两个社区。", "- 党员每人联系1到2个社区\n", ["1到2个"], id="range-lower-dropped"),
        pytest.param("对照查摆问题7个，已全部整改。", "- 查摆问题7个, 7个全部整改\n", [], id="repeat-same-line"),
        pytest.param("对照查摆问题，已全部整改。", "- 查摆问题7个, 7个全部整改\n", ["7个", "7个"],
                     id="repeat-none-stated"),
        pytest.param("经费审计查出问题4个，已整改。",
                     "- 所里经费审计查出问题4个，已整改\n- 问题：经费审计查出4个问题，监督有漏洞\n", [],
                     id="repeat-related-lines"),
        pytest.param("组建党员攻关小组4个。",
                     "- 组建党员攻关小组4个\n- 所里经费审计查出问题4个，已整改\n", ["4个"],
                     id="same-value-unrelated-lines"),
        pytest.param("小区共有3800余名居民。", "- 小区3800多人\n", [], id="persons-found"),
        pytest.param("今年是建党100周年。", "- 建党100周年前后给老党员颁发纪念章\n", [], id="anniversary-not-required"),
    ],
)
def test_ledger(done: str, extra_notes: str, missing: list[str]) -> None:
    assert _missing(done, extra_notes) == missing


def test_anniversary_of_notes_is_not_required_in_the_draft() -> None:
    notes = NOTES + "- 纪念改革开放45周年，组织党员参观展览\n"
    assert _missing("组织党员参观展览。", notes.removeprefix(NOTES)) == []


# ---------------------------------------------------------------- leakage

EXAMPLE_A = ("一年来，支部坚持把政治建设摆在首位，及时跟进学习习近平总书记最新重要讲话和指示批示精神，"
             "坚持每月召开一次党员大会，围绕乡村振兴开展调研走访，推动各项工作落地见效，群众满意度稳步提升。")
EXAMPLE_B = ("我们坚持问题导向，聚焦群众急难愁盼问题精准发力，把支部建设成为坚强战斗堡垒，"
             "全体党员在疫情防控一线冲锋在前，支部书记带头包楼到户。")
EXAMPLE_C = ("本所以项目为抓手，聚焦群众急难愁盼问题精准发力，把支部建设成为坚强战斗堡垒，"
             "科研骨干深入田间地头，为农户解决技术难题。")
COPY_ONE_DOC = "坚持每月召开一次党员大会，围绕乡村振兴开展调研走访，推动各项工作落地见效"


@pytest.mark.parametrize(
    "sentence, copied",
    [
        pytest.param("我们及时跟进学习习近平总书记最新重要讲话和指示批示精神，推动党员学深悟透。", False,
                     id="stock-official-phrase"),
        pytest.param("支部聚焦群众急难愁盼问题精准发力，把支部建设成为坚强战斗堡垒。", False,
                     id="wording-of-two-examples"),
        pytest.param(f"我们{COPY_ONE_DOC}。", True, id="copied-from-one-example"),
        pytest.param(f"及时跟进学习习近平总书记最新重要讲话和指示批示精神，{COPY_ONE_DOC}。", True,
                     id="copy-beside-stock-phrase"),
    ],
)
def test_leakage_skips_common_wording(sentence: str, copied: bool) -> None:
    corpus = {"a.txt": EXAMPLE_A, "b.txt": EXAMPLE_B, "c.txt": EXAMPLE_C}
    runs = find_copied_runs(sentence, corpus)
    assert bool(runs) is copied
    if copied:
        assert any(COPY_ONE_DOC[:20] in r.text and r.source == "a.txt" for r in runs)


# ---------------------------------------------------------------- placeholder evidence


@pytest.mark.parametrize(
    "text, quoted",
    [
        pytest.param("支部由小区居民党员、某某物业服务有限公司党员、业委会党员组成", "某某物业服务有限公司党员",
                     id="whole-name"),
        pytest.param("计划于〔X〕月底前完成全覆盖。", "〔X〕月底前完成全覆盖", id="to-punctuation"),
        pytest.param("发展党员XX名，", "发展党员〔X〕名", id="short-clause"),
    ],
)
def test_placeholder_evidence_quotes_the_whole_word(text: str, quoted: str) -> None:
    spots = find_placeholders(text)
    assert spots and quoted in spots[0]
    assert not any(c in spots[0].split(quoted)[-1] for c in "，。、")
