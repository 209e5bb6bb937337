"""Checks on a whole draft: ledger, invented figures, leakage, placeholders, staleness."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.checks import CheckReport, format_report_zh, run_checks
from shuzhi.models import ParsedNotes
from shuzhi.notes import note_figures, parse_notes

DRAFT = """2024年市统计局机关党支部书记抓基层党建工作述职报告

2024年，在局机关党委的领导下，我认真履行党支部书记第一责任人职责，推动支部建设取得新成效。现将有关情况报告如下：

一、主要做法和成效
（一）扎实开展党纪学习教育
我带头开展党纪学习教育，举办读书班1期，集中学习《中国共产党纪律处分条例》6次，组织观看警示片3次，节前开展廉洁提醒4次。
（二）深化理论武装
全年组织集中学习24次、专题研讨8次，我本人讲党课4次。
（三）严格落实组织生活制度
支部现有党员38名，其中预备党员2名。召开支部党员大会5次、支委会12次、党小组会36次，开展主题党日12次，严格落实“三会一课”。发展党员两名，预备党员转正1名，党费按时足额收缴。
（四）推动党建与业务融合
开展统计数据质量专项整治，查出并整改问题17个；与社区结对共建，开展党员志愿服务18次，参与120人次。支部获评“四强”党支部。

二、存在问题及原因
一是理论学习有时流于形式。比如有的集中学习只读文件、不作研讨，学用结合不够紧密。二是主题党日形式单一，多以集中学习代替，吸引力不强。三是对年轻党员关心不够，平时与青年党员交流多停留在工作安排上。究其原因，主要是我作为支部书记思想认识不到位，抓党建的主责意识不强，能力本领还有欠缺。

三、下一步工作思路和措施
一是抓实理论学习，组建青年理论学习小组，推动学用结合。二是创新主题党日形式，丰富活动载体。三是加强对年轻党员的关心关爱，推动党建和统计业务融合，打造“党员先锋岗”，2025年底前实现全覆盖。

以上是我的述职报告，不足之处，敬请各位领导、同志们批评指正。
"""

COPIED = "教育引导党员干部用铁规铁纪严格约束规范自己，做到心有所畏、言有所戒、行有所止"


@pytest.fixture
def notes(examples_dir: Path) -> ParsedNotes:
    return parse_notes((examples_dir / "notes_jiguan_2024.md").read_text(encoding="utf-8"))


@pytest.fixture
def corpus(corpus_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))}


def _checks(report: CheckReport, check: str, severity: str | None = None) -> list:  # type: ignore[type-arg]
    return [f for f in report.findings if f.check == check and (severity is None or f.severity == severity)]


def test_faithful_draft_passes(notes: ParsedNotes, corpus: dict[str, str]) -> None:
    report = run_checks(DRAFT, notes, corpus_texts=corpus)
    assert not report.blocking, format_report_zh(report)
    assert report.invented == ()
    assert all(e.status == "found" for e in report.ledger), format_report_zh(report)
    assert not _checks(report, "structure")
    assert not _checks(report, "timeliness")
    assert not _checks(report, "voice")
    rubric = {"vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes", "others_only"}
    assert not [f for f in report.findings if f.check in rubric], format_report_zh(report)


def test_every_note_figure_is_in_the_ledger(notes: ParsedNotes) -> None:
    report = run_checks(DRAFT, notes)
    assert [e.figure_raw for e in report.ledger] == [f.raw for f, _ in note_figures(notes)]
    assert {e.status for e in report.ledger} <= {"found", "missing"}
    liang = next(e for e in report.ledger if e.note_line.startswith("发展党员2名") and e.figure_raw == "2名")
    assert "两名" in liang.draft_evidence


def test_invented_figure_is_flagged_alone(notes: ParsedNotes) -> None:
    draft = DRAFT.replace("节前开展廉洁提醒4次。", "节前开展廉洁提醒4次，开展谈心谈话56人次。")
    report = run_checks(draft, notes)
    assert [i.raw for i in report.invented] == ["56人次"]
    blocked = _checks(report, "invented_figure", "block")
    assert len(blocked) == 1 and "56人次" in blocked[0].evidence
    assert report.blocking


def test_removed_figure_is_missing(notes: ParsedNotes) -> None:
    draft = DRAFT.replace("党小组会36次，", "")
    report = run_checks(draft, notes)
    missing = [e for e in report.ledger if e.status == "missing"]
    assert [e.figure_raw for e in missing] == ["36次"]
    assert any("36次" in f.message for f in _checks(report, "ledger"))
    assert not report.blocking


def test_wrong_value_is_both_missing_and_invented(notes: ParsedNotes) -> None:
    report = run_checks(DRAFT.replace("党小组会36次", "党小组会30次"), notes)
    assert [e.figure_raw for e in report.ledger if e.status == "missing"] == ["36次"]
    assert [i.raw for i in report.invented] == ["30次"]


def test_year_and_next_year_are_not_invented(notes: ParsedNotes) -> None:
    report = run_checks(DRAFT.replace("2025年底前", "2021年底前"), notes)
    assert [i.raw for i in report.invented] == ["2021年"]


def test_copied_run_from_corpus_blocks(notes: ParsedNotes, corpus: dict[str, str]) -> None:
    draft = DRAFT.replace("节前开展廉洁提醒4次。", f"节前开展廉洁提醒4次，{COPIED}。")
    report = run_checks(draft, notes, corpus_texts=corpus)
    leaks = _checks(report, "leakage", "block")
    assert len(leaks) == 1
    assert COPIED[:20] in leaks[0].evidence and "000_0130dee73a884878.txt" in leaks[0].evidence
    assert report.blocking


def test_standard_formula_is_not_leakage(notes: ParsedNotes, corpus: dict[str, str]) -> None:
    draft = DRAFT.replace("现将有关情况报告如下", "坚持以习近平新时代中国特色社会主义思想为指导，现将有关情况报告如下")
    assert not _checks(run_checks(draft, notes, corpus_texts=corpus), "leakage", "block")


@pytest.mark.parametrize(
    "dirt",
    [
        pytest.param("机##paidbegin##关", id="paywall"),
        pytest.param("酷乐文行整理，咨询QQ123456", id="qq-ad"),
    ],
)
def test_ads_block(notes: ParsedNotes, dirt: str) -> None:
    report = run_checks(DRAFT.replace("推动支部建设取得新成效。", f"推动支部建设取得新成效。{dirt}"), notes)
    assert _checks(report, "leakage", "block")
    assert report.blocking


@pytest.mark.parametrize(
    "placeholder",
    [
        pytest.param("〔X〕次", id="marked"),
        pytest.param("xx次", id="xx"),
        pytest.param("某某同志", id="moumou"),
    ],
)
def test_placeholder_warns(notes: ParsedNotes, placeholder: str) -> None:
    report = run_checks(DRAFT.replace("节前开展廉洁提醒4次。", f"节前开展廉洁提醒4次，走访{placeholder}。"), notes)
    found = _checks(report, "placeholder", "warn")
    assert len(found) == 1 and "填" in found[0].message
    assert not report.blocking


@pytest.mark.parametrize(
    ("sentence", "flagged"),
    [
        pytest.param("扎实开展“不忘初心、牢记使命”主题教育。", True, id="old-campaign"),
        pytest.param("持续巩固“不忘初心、牢记使命”主题教育成果。", False, id="old-campaign-consolidated"),
        pytest.param("认真学习最新的二十届二中全会精神。", True, id="old-plenum-latest"),
        pytest.param("深入学习贯彻党的二十届三中全会精神。", False, id="current-plenum"),
        pytest.param("学习贯彻二十届四中全会精神。", True, id="future-plenum"),
    ],
)
def test_stale_references_2024(notes: ParsedNotes, sentence: str, flagged: bool) -> None:
    report = run_checks(DRAFT.replace("（二）深化理论武装\n", f"（二）深化理论武装\n{sentence}"), notes)
    assert bool(_checks(report, "timeliness", "warn")) is flagged


def test_党史学习教育_fine_in_2022() -> None:
    report = run_checks("推动党史学习教育常态化长效化。", year=2022)
    assert not _checks(report, "timeliness")
    assert _checks(run_checks("开展党史学习教育。", year=2024), "timeliness")


def test_structure_and_voice_gaps() -> None:
    draft = "一、主要做法和成效\n支部开展学习。\n二、存在问题\n一是学习不够深入。二是创新不够。\n三、下一步措施\n一是加强学习。\n"
    report = run_checks(draft, year=2024)
    missing = {f.section for f in _checks(report, "structure") if "缺少" in f.message}
    assert {"title", "opening", "closing", "causes"} <= missing
    assert any("一一对应" in f.message for f in _checks(report, "structure"))
    assert _checks(report, "voice")
    assert _checks(report, "invented_figure", "info")  # no notes: skipped, said so


def test_report_renders_in_chinese(notes: ParsedNotes) -> None:
    report = run_checks(DRAFT.replace("党小组会36次，", ""), notes)
    text = format_report_zh(report)
    assert "数字台账" in text and "36次" in text
    data = report.to_dict()
    assert data["blocking"] is False and isinstance(data["ledger"], list)


def test_known_typo_warns() -> None:
    report = run_checks(DRAFT.replace("节前开展廉洁提醒4次", "节假曰前开展廉洁提醒4次"), year=2024)
    typos = _checks(report, "typo", "warn")
    assert len(typos) == 1
    assert "「节假曰」" in typos[0].message and "「节假日」" in typos[0].message
    assert "节假曰" in typos[0].evidence
    assert not _checks(run_checks(DRAFT, year=2024), "typo")
    assert "错别字" in format_report_zh(report)


def test_wrong_section_order_warns() -> None:
    draft = (
        "2024年党支部书记抓基层党建工作述职报告\n\n2024年，我认真履行第一责任人职责，现将有关情况报告如下：\n"
        "一、下一步工作思路和措施\n一是我带头加强理论学习。\n"
        "二、存在问题及原因\n一是我学习不够深入，比如只读文件。究其原因，是我思想认识不到位。\n"
        "三、主要做法和成效\n我带头学习。\n\n以上是我的述职报告，敬请批评指正。"
    )
    order = [f for f in _checks(run_checks(draft, year=2024), "structure", "warn") if "顺序" in f.message]
    assert len(order) == 1
    assert "下一步工作思路和措施" in order[0].message and "存在问题" in order[0].message
    assert not [f for f in _checks(run_checks(DRAFT, year=2024), "structure") if "顺序" in f.message]


def test_failed_section_note_is_not_checked_as_text(notes: ParsedNotes) -> None:
    failed = "〔本节生成失败：模型服务返回 HTTP 401，本次请求用时 30 秒〕"
    start = DRAFT.index("三、下一步工作思路和措施\n") + len("三、下一步工作思路和措施\n")
    end = DRAFT.index("\n\n以上是我的述职报告")
    draft = DRAFT[:start] + failed + DRAFT[end:]
    report = run_checks(draft, notes)
    assert report.invented == (), report.invented  # "401", "30秒" are not invented facts
    assert not report.blocking
    gaps = _checks(report, "failed_section", "warn")
    assert len(gaps) == 1 and "有节未生成" in gaps[0].message
    assert not _checks(report, "placeholder")
    assert "有节未生成" in format_report_zh(report)


def test_two_failed_sections_give_one_finding() -> None:
    draft = DRAFT.replace("我带头开展党纪学习教育", "〔本节生成失败：超时〕").replace("全年组织集中学习24次", "〔本节生成失败：超时 401〕")
    gaps = _checks(run_checks(draft, year=2024), "failed_section")
    assert len(gaps) == 1 and "2处" in gaps[0].message


def test_missing_causes_reported_once() -> None:
    draft = "一、主要做法和成效\n我带头学习。\n二、存在问题\n一是我学习不够深入；二是创新不够；\n三、下一步措施\n一是加强学习。\n"
    report = run_checks(draft, year=2024)
    about_causes = [
        f for f in report.findings
        if (f.check == "structure" and f.section == "causes") or f.check == "missing_subjective_causes"
    ]
    assert len(about_causes) == 1, about_causes
    assert "原因" in about_causes[0].message and "主观" in about_causes[0].message
    text = format_report_zh(report)
    assert "；；" not in text and "；」" not in text
    assert all("；；" not in f.evidence for f in report.findings)


def test_quoted_names_without_a_source_are_flagged(notes: ParsedNotes) -> None:
    draft = ("2024年，我支部集中学习《中国共产党纪律处分条例》6次，获评“四强”党支部，开展“党员先锋岗”创建；"
             "组织观看《永远在路上》，开展“红色家书诵读”活动，深入开展党纪学习教育。")
    findings = [f for f in run_checks(draft, notes=notes, year=2024).findings if f.check == "unsourced_name"]
    assert len(findings) == 1 and findings[0].severity == "warn"
    assert "《永远在路上》" in findings[0].message and "红色家书诵读" in findings[0].message
    assert "纪律处分条例" not in findings[0].message and "四强" not in findings[0].message
