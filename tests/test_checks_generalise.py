"""The draft checks on kinds of fault the first cases did not have (issue 7, items 3–4, round 2):
proportions in tenths, invented people, campaigns worded freely, sayings in quotation marks.

Every sentence here is written for these tests: a small 机关 branch in 2023.
"""

from __future__ import annotations

import pytest

from shuzhi.checks import run_checks
from shuzhi.checks.names import invented_persons, unsourced_names
from shuzhi.checks.timeliness import stale_references
from shuzhi.figures import extract_figures, same_figure
from shuzhi.models import Finding
from shuzhi.notes import parse_notes

NOTES = """# 2023年 河西区档案馆机关党支部书记 述职笔记
单位：河西区档案馆机关党支部（党员18名）
本人：支部书记 赵文博
- 全年开展主题党日12次，讲党课2次
- 邀请区委党校孙立新老师讲党的二十大精神
- 问题：党员参加组织生活不积极
- 明年：组织生活和业务工作结合
"""


def _draft(done: str) -> str:
    return ("2023年河西区档案馆机关党支部书记抓基层党建工作述职报告\n\n"
            "2023年，在区直机关工委的领导下，我认真履行第一责任人职责。现将有关情况报告如下：\n\n"
            "一、主要做法和成效\n"
            f"我带头开展主题党日12次，讲党课2次，支部党员18名。{done}\n\n"
            "二、存在问题及原因\n一是党员参加组织生活不积极，我督促不够。究其原因，是我思想认识不到位。\n\n"
            "三、下一步工作思路和措施\n一是把组织生活和业务工作结合起来，提高党员参加组织生活的积极性。\n\n"
            "以上是我的述职报告，请批评指正。\n")


def _findings(draft: str, check: str, notes_text: str = NOTES) -> list[Finding]:
    return [f for f in run_checks(draft, parse_notes(notes_text)).findings if f.check == check]


# ---------------------------------------------------------------- proportions in tenths (X成)
@pytest.mark.parametrize(
    "text, figures",
    [
        pytest.param("到会率不足七成，", [("七成", 7.0)], id="seven-tenths"),
        pytest.param("近三成党员没有参加", [("近三成", 3.0)], id="approx-tenths-before-noun"),
        pytest.param("两成半的支部", [("两成半", 2.5)], id="two-and-a-half-tenths"),
        pytest.param("九成以上的党员", [("九成以上", 9.0)], id="tenths-and-more"),
        pytest.param("三成员单位共同参与", [], id="member-units-not-tenths"),
        pytest.param("工作方法一成不变", [], id="idiom-unchanged"),
        pytest.param("将党员分成三组", [("三组", 3.0)], id="verb-fencheng"),
        pytest.param("每两成为一对", [], id="chengwei-is-a-verb"),
    ],
)
def test_tenths_are_figures(text: str, figures: list[tuple[str, float]]) -> None:
    assert [(f.raw, f.value) for f in extract_figures(text)] == figures


def test_tenths_equal_percent() -> None:
    assert same_figure(extract_figures("七成")[0], extract_figures("70%")[0])


@pytest.mark.parametrize(
    "sentence, invented",
    [
        pytest.param("部分党员组织生活到会率不足七成。", ["七成"], id="invented-tenths"),
        pytest.param("党员集中学习到课率超过九成。", ["超过九成"], id="invented-tenths-approx"),
        pytest.param("我们的工作方法一成不变。", [], id="idiom"),
    ],
)
def test_invented_tenths(sentence: str, invented: list[str]) -> None:
    assert [i.raw for i in run_checks(_draft(sentence), parse_notes(NOTES)).invented] == invented


# ---------------------------------------------------------------- invented people
@pytest.mark.parametrize(
    "sentence, names",
    [
        pytest.param("邀请市委党校陈国华教授作专题辅导。", ["陈国华"], id="name-before-title"),
        pytest.param("由张明同志作专题报告。", ["张明"], id="cue-and-comrade"),
        pytest.param("邀请周建华作辅导报告。", ["周建华"], id="cue-without-title"),
        pytest.param("支部书记黄建平，带头讲党课。", ["黄建平"], id="name-after-title"),
        pytest.param("邀请区委党校孙立新老师讲党的二十大精神。", [], id="name-in-the-notes"),
        pytest.param("支部书记赵文博同志带头讲党课。", [], id="writer-named-in-the-notes"),
        pytest.param("组织全体教授和高级工程师参加学习。", [], id="ordinary-words-before-titles"),
        pytest.param("党委书记高度重视，常务副书记具体抓。", [], id="titles-with-ordinary-words"),
        pytest.param("由于工作忙，邀请党员群众参加。", [], id="cue-inside-ordinary-words"),
        pytest.param("老师和学生，都参加了活动。", [], id="conjunction-after-title"),
        pytest.param("各位老师、各位专家积极参加。", [], id="plural-titles"),
        pytest.param("邀请区检察院李明远检察官讲授廉政党课。", ["李明远"], id="name-before-procurator"),
        pytest.param("组织党员检察官、法官开展普法宣传。", [], id="procurator-as-ordinary-word"),
    ],
)
def test_invented_persons(sentence: str, names: list[str]) -> None:
    assert [n for n, _ in invented_persons(_draft(sentence), parse_notes(NOTES))] == names


def test_invented_person_finding_says_what_to_do() -> None:
    findings = _findings(_draft("邀请市委党校陈国华教授作专题辅导。"), "unsourced_name")
    assert len(findings) == 1
    message = findings[0].message
    assert "陈国华" in message and "补进笔记" in message and "删去" in message and "模型" not in message
    assert "陈国华教授" in findings[0].evidence


# ---------------------------------------------------------------- campaigns by alias
@pytest.mark.parametrize(
    "sentence, year, stale",
    [
        pytest.param("支部组织开展“喜迎二十大、奋进新征程”主题活动。", 2023, True, id="xiying-in-2023"),
        pytest.param("支部组织开展喜迎党的二十大系列活动。", 2023, True, id="xiying-variant"),
        pytest.param("支部组织开展“喜迎二十大、奋进新征程”主题活动。", 2022, False, id="xiying-in-its-year"),
        pytest.param("开展庆祝新中国成立70周年系列活动。", 2020, True, id="prc-70-later"),
        pytest.param("开展庆祝新中国成立七十周年系列活动。", 2019, False, id="prc-70-in-its-year"),
        pytest.param("隆重庆祝建党百年，开展系列纪念活动。", 2023, True, id="party-centenary-variant"),
        pytest.param("巩固拓展建党百年系列活动成果。", 2023, False, id="centenary-results-consolidated"),
        pytest.param("深入学习贯彻党的二十大精神。", 2023, False, id="congress-spirit-after-2022"),
        pytest.param("深入学习贯彻党的二十大精神。", 2021, True, id="congress-before-2022"),
    ],
)
def test_campaign_aliases(sentence: str, year: int, stale: bool) -> None:
    assert bool(stale_references(sentence, year)) is stale


def test_campaign_alias_is_not_an_unsourced_name() -> None:
    draft = _draft("支部组织开展“喜迎二十大、奋进新征程”主题活动。")
    assert unsourced_names(draft, parse_notes(NOTES)) == []


# ---------------------------------------------------------------- sayings in quotation marks
@pytest.mark.parametrize(
    "quoted, flagged",
    [
        pytest.param("“不归我管”", False, id="negation-and-pronoun"),
        pytest.param("“你说了算吗”", False, id="question"),
        pytest.param("“咱们一起干”", False, id="we"),
        pytest.param("“重科研产出、轻过程监管”", False, id="contrast-with-pause"),
        pytest.param("“重业务、轻党建”", False, id="short-contrast-with-pause"),
        pytest.param("“兰台先锋”", True, id="invented-brand"),
        pytest.param("“五星党员”评选活动", True, id="name-ending"),
    ],
)
def test_sayings_are_not_names(quoted: str, flagged: bool) -> None:
    draft = _draft(f"针对有的党员存在{quoted}的想法，支部及时谈心谈话。")
    assert bool(unsourced_names(draft, parse_notes(NOTES))) is flagged


# ---------------------------------------------------------------- requests to the writer are no facts
@pytest.mark.parametrize(
    "request_line, ledger_raws",
    [
        pytest.param("下面是我记的要点，帮我整理成一篇。", [], id="整理成一篇"),
        pytest.param("请帮我写一份述职报告，3000字左右。", [], id="写一份-and-length"),
        pytest.param("麻烦起草一份。", [], id="起草一份"),
        pytest.param("支部全年整理成册台账5本。", ["5本"], id="fact-with-整理"),
        pytest.param("帮扶困难党员3户。", ["3户"], id="帮扶-is-not-a-request"),
        pytest.param("街道给我们支部改造活动室2间。", ["2间"], id="给我们-is-not-a-request"),
    ],
)
def test_request_clauses_give_no_ledger_figures(request_line: str, ledger_raws: list[str]) -> None:
    notes = NOTES.replace("- 全年开展", f"- {request_line}\n- 全年开展")
    report = run_checks(_draft(""), parse_notes(notes))
    raws = [e.figure_raw for e in report.ledger if request_line.rstrip("。") in e.note_line]
    assert raws == ledger_raws


# ---------------------------------------------------------------- names the notes have in another form
@pytest.mark.parametrize(
    "note_line, quoted, flagged",
    [
        pytest.param("打造党建+安全品牌", "“党建＋安全”品牌", False, id="full-width-plus"),
        pytest.param("开展书记 讲党课 活动", "“书记讲党课”活动", False, id="spaces-in-the-notes"),
        pytest.param("推行支部、课题组联建", "“支部课题组联建”", False, id="pause-in-the-notes"),
        pytest.param("打造党建+安全品牌", "“党建+质量”品牌", True, id="another-name"),
    ],
)
def test_names_in_the_notes_in_another_form(note_line: str, quoted: str, flagged: bool) -> None:
    notes = NOTES + f"- {note_line}\n"
    assert bool(unsourced_names(_draft(f"我们深入推进{quoted}建设。"), parse_notes(notes))) is flagged


# ---------------------------------------------------------------- a fact the notes repeat
@pytest.mark.parametrize(
    "extra_note, status",
    [
        pytest.param("- 问题：全年只开展主题党日12次，次数不够", "found", id="repeated-fact-found-once"),
        pytest.param("- 支委会12次", "missing", id="same-number-another-fact"),
    ],
)
def test_a_repeated_note_figure_is_needed_once(extra_note: str, status: str) -> None:
    report = run_checks(_draft(""), parse_notes(NOTES + extra_note + "\n"))
    entry = next(e for e in report.ledger if e.note_line == extra_note.removeprefix("- ").removeprefix("问题："))
    assert entry.status == status
