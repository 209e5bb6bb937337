"""Last year's report (--last-year): parsed problems, the plan's rectification part, the checks
repeat_last_year / unanswered_last_year, the session keeping it, and the command line.

Last year's report is a seed report of corpus/ copied into a tmp dir and re-dated to the year
before the notes (its own year replaced), as a user would give their own report of last year.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS_DIR, run_cli

from shuzhi.api import InputRejected, LastYearProblem, LastYearReport, Workspace
from shuzhi.checks.lastyear import is_addressed, note_answers, repeated_wording

THIS_YEAR = 2025
SUB_HEADED = CORPUS_DIR / "000_0130dee73a884878.txt"  # problems as （一）… sub-headings, year 2023
POINTED = CORPUS_DIR / "003_5d70bbfcd06b2305.txt"  # problems as 一是…二是… points, year 2020

SUB_HEADED_PROBLEMS = ["落实党内政治生活制度有差距", "开展“主题教育”不平衡", "督查问责不够有力"]
POINTED_PROBLEMS = ["政治理论学习不够主动、深入", "抓党建工作精力投入不够", "支委作用发挥不够明显",
                    "党员的先锋模范作用发挥不够充分"]

NOTES = f"""# {THIS_YEAR}年 市统计局机关党支部 书记述职 笔记
单位：市统计局机关党支部（党员38名）
本人：支部书记 王某

## 做了什么
- 支部理论学习 全年集中学习24次，专题研讨8次，书记讲党课4次
- 三会一课：支部党员大会5次，支委会12次，党小组会36次，主题党日12次
- 发展党员2名
- 与社区结对共建，党员志愿服务18次

## 去年问题整改
- 督查问责：建立党建督查台账，全年督查4次，通报问题6个
- 组织生活：严格执行三会一课制度，组织生活会前谈心谈话全覆盖

## 问题
- 理论学习有时候走过场，学用结合不够
- 主题党日形式单一

## 明年
- 抓学习，搞青年理论学习小组
"""

_HEAD = f"""# {THIS_YEAR}年市统计局机关党支部书记抓基层党建工作述职报告

{THIS_YEAR}年，在局党组的领导下，我认真履行抓基层党建第一责任人职责，现将情况报告如下：

## 一、主要做法和成效

（一）深化理论武装。一是支部全年集中学习24次，专题研讨8次，我讲党课4次。二是三会一课：支部党员大会5次，支委会12次，党小组会36次，主题党日12次。

（二）夯实组织基础。发展党员2名，与社区结对共建，党员志愿服务18次。

## 二、上年度问题整改情况

一是针对督查问责不够有力的问题，建立党建督查台账，全年督查4次，通报问题6个。二是针对落实党内政治生活制度有差距的问题，严格执行三会一课制度，组织生活会前谈心谈话全覆盖。"""

_TAIL = """
## 四、下一步工作思路和措施

一是抓学习，组建青年理论学习小组，每月结合统计业务研讨一次。二是丰富主题党日形式，到结对社区开展志愿服务。三是严格落实三会一课制度。

以上是我的述职报告，请批评指正。
"""

# This year's problems copy last year's wording (small edits: 仍有, 上级 for 〔X〕), the third of
# last year's problems is listed in the rectification part with nothing but 〔X〕.
COPIED = _HEAD + "三是开展“主题教育”不平衡的问题，整改情况：〔X〕。" + """

## 三、存在问题及原因

一是落实党内政治生活制度仍有差距。对照上级要求，有的党支部发挥主体作用不够，开展“三会一课”等组织生活不够经常规范，制度执行刚性不足。二是理论学习有时候走过场，学用结合不够，我带头学习不够深入。三是主题党日形式单一，党员参与的积极性不高。

分析存在上述问题的原因：一是工作思路不够开阔，对机关党建工作规律缺乏深入细致的研究，推动工作大多凭经验、靠习惯。二是作为书记，我从严从实的行动自觉还没有真正立起来。
""" + _TAIL

# The same report with this year's own problems and causes, and every problem of last year answered.
REWRITTEN = _HEAD + "三是针对开展“主题教育”不平衡的问题，我带头到各党小组指导学习教育，逐个听取党员学习体会。" + """

## 三、存在问题及原因

一是理论学习有时候走过场。我组织的集中学习多是读原文、念文件，结合统计业务研讨少，学用结合不够。二是主题党日形式单一。全年主题党日大多是集中学习，党员参与的积极性不高。

分析存在上述问题的原因：一是我的思想认识还不到位，抓理论学习满足于完成次数。二是作为书记，我创新意识不强，对党员的思想动态了解不深。
""" + _TAIL


def redated(seed: Path, folder: Path, year: int = THIS_YEAR - 1, suffix: str = ".txt") -> Path:
    """A seed report as last year's: its own year (the first one its title gives) replaced by YEAR."""
    text = seed.read_text(encoding="utf-8")
    own = Workspace.open().parse_document(seed).year
    assert own is not None
    path = folder / f"上年度述职报告{suffix}"
    path.write_text(text.replace(str(own), str(year)), encoding="utf-8")
    return path


@pytest.fixture
def last_year_file(tmp_path: Path) -> Path:
    return redated(SUB_HEADED, tmp_path)


@pytest.fixture
def ws() -> Workspace:
    return Workspace.open()


@pytest.fixture
def last_year(ws: Workspace, last_year_file: Path) -> LastYearReport:
    return ws.read_last_year(last_year_file)


def _this_year_notes(ws: Workspace, text: str = NOTES):  # type: ignore[no-untyped-def]
    return ws.parse_notes(text, classify=False)


# ---------------------------------------------------------------- reading last year's report
@pytest.mark.parametrize(("seed", "titles"), [
    pytest.param(SUB_HEADED, SUB_HEADED_PROBLEMS, id="sub-headings"),
    pytest.param(POINTED, POINTED_PROBLEMS, id="points"),
])
def test_problems_of_last_years_report(ws: Workspace, tmp_path: Path, seed: Path, titles: list[str]) -> None:
    report = ws.read_last_year(redated(seed, tmp_path))
    assert report.year == THIS_YEAR - 1
    assert [p.title for p in report.problems] == titles
    for problem in report.problems:
        assert problem.text.startswith(problem.title) and len(problem.text) > len(problem.title) + 10
    assert report.next_steps and report.causes  # both seeds analyse causes and list measures
    assert report.source == "上年度述职报告.txt"
    assert "虽然做了一些工作" not in " ".join(p.text for p in report.problems)  # a lead-in is not a problem


def test_last_years_report_as_docx(ws: Workspace, tmp_path: Path) -> None:
    from docx import Document

    doc = Document()
    for line in redated(SUB_HEADED, tmp_path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            doc.add_paragraph(line)
    doc.save(str(tmp_path / "上年度.docx"))
    report = ws.read_last_year(tmp_path / "上年度.docx")
    assert [p.title for p in report.problems] == SUB_HEADED_PROBLEMS and report.year == THIS_YEAR - 1


def test_a_report_without_problems_is_refused_in_chinese(ws: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "总结.txt"
    path.write_text("2024年支部工作总结\n一、主要做法和成效\n（一）加强理论学习。全年集中学习24次。\n"
                    "二、下一步打算\n继续抓好理论学习。\n", encoding="utf-8")
    with pytest.raises(InputRejected) as info:
        ws.read_last_year(path)
    assert "总结.txt" in info.value.user_message and "存在问题" in info.value.user_message


def test_round_trip_through_dict(last_year: LastYearReport) -> None:
    assert LastYearReport.from_dict(json.loads(json.dumps(last_year.to_dict(), ensure_ascii=False))) == last_year


# ---------------------------------------------------------------- the plan
def test_plan_names_each_of_last_years_problems(ws: Workspace, last_year: LastYearReport) -> None:
    plan = ws.plan(_this_year_notes(ws), last_year=last_year)
    rect = [s for s in plan.sections if s.kind == "rectification"]
    assert len(rect) == 1
    section = rect[0]
    assert list(section.context) == SUB_HEADED_PROBLEMS
    notes = list(section.notes)
    # the rectification notes go under the problem they answer, in last year's order ...
    assert notes.index("组织生活：严格执行三会一课制度，组织生活会前谈心谈话全覆盖") < \
        notes.index("督查问责：建立党建督查台账，全年督查4次，通报问题6个")
    # ... and the problem no note answers is a visible gap
    gaps = [n for n in notes if "〔X〕" in n]
    assert len(gaps) == 1 and "主题教育" in gaps[0]
    kinds = [s.kind for s in plan.sections]
    assert kinds.index("achievements") < kinds.index("rectification") < kinds.index("problems")


def test_plan_without_any_rectification_notes_lists_every_problem_as_a_gap(ws: Workspace,
                                                                          last_year: LastYearReport) -> None:
    notes = NOTES.split("## 去年问题整改")[0] + "## 问题\n- 主题党日形式单一\n"
    section = next(s for s in ws.plan(_this_year_notes(ws, notes), last_year=last_year).sections
                   if s.kind == "rectification")
    assert len([n for n in section.notes if "〔X〕" in n]) == 3
    for title in SUB_HEADED_PROBLEMS:
        assert any(title.replace("“", "‘").replace("”", "’") in n for n in section.notes)


def test_plan_without_last_year_has_no_rectification_part(ws: Workspace) -> None:
    notes = NOTES.split("## 去年问题整改")[0] + "## 问题\n- 主题党日形式单一\n"
    assert "rectification" not in [s.kind for s in ws.plan(_this_year_notes(ws, notes)).sections]


def test_the_rectification_prompt_names_each_problem(ws: Workspace, last_year: LastYearReport) -> None:
    plan = ws.plan(_this_year_notes(ws), last_year=last_year)
    job = next(j for j in ws.prepare(plan) if j.section.kind == "rectification")
    prompt = job.messages[-1][1]
    for title in SUB_HEADED_PROBLEMS:
        assert title in prompt
    assert "待补充" in prompt and "〔X〕" in prompt


_TITLE = LastYearProblem("政治理论学习不够主动、深入", "政治理论学习不够主动、深入。平时强调业务知识学习较多。")


@pytest.mark.parametrize(("note", "answers"), [
    pytest.param("支部理论学习 全年集中学习24次，专题研讨8次，书记讲党课4次", True, id="theory-study"),
    pytest.param("建立政治理论学习制度，每月集中学习一次", True, id="study-system"),
    pytest.param("发展党员2名，预备党员转正1名", False, id="other-topic"),
    pytest.param("警示教育：观看警示片3次", False, id="discipline"),
    pytest.param("党员志愿服务18次，参与120人次", False, id="service"),
])
def test_a_note_of_work_done_answers_a_problem_only_when_clearly_on_it(note: str, answers: bool) -> None:
    from shuzhi.checks.lastyear import last_year_rules

    assert (note_answers(note, _TITLE) >= float(last_year_rules()["note_match_min"])) is answers


# ---------------------------------------------------------------- repeat_last_year
LAST_SENTENCES = [
    "落实党内政治生活制度有差距",
    "对照〔X〕要求，有的党支部发挥主体作用不够，开展“三会一课”等组织生活不够经常规范，制度执行刚性不足，落地落实不到位。",
    "政治理论学习不够主动、深入。",
    "忙于业务工作，从严从实的行动自觉还没有真正立起来，抓分类指导有差距。",
    "思想认识不到位，抓党建的“主责”意识不够强。",
]


@pytest.mark.parametrize(("sentence", "repeats"), [
    pytest.param("一是落实党内政治生活制度有差距。", True, id="headline-verbatim"),
    pytest.param("落实党内政治生活制度仍有差距。", True, id="headline-small-edit"),
    pytest.param("对照上级要求，有的党支部发挥主体作用不够，开展“三会一课”等组织生活不够经常规范。", True,
                 id="sentence-edited"),
    pytest.param("作为书记，我从严从实的行动自觉还没有真正立起来。", True, id="long-shared-run"),
    pytest.param("政治理论学习不够主动、深入。", True, id="short-verbatim"),
    pytest.param("理论学习有时候走过场，学用结合不够。", False, id="shares-topic-word"),
    pytest.param("我组织的政治理论学习多是读原文、念文件，结合统计业务研讨少。", False, id="same-topic-new-wording"),
    pytest.param("主题党日形式单一，党员参与的积极性不高。", False, id="other-problem"),
    pytest.param("制度执行。", False, id="too-short"),
    pytest.param("一是思想认识不到位。", False, id="stock-phrase-inside-a-sentence"),
])
def test_repeated_wording(sentence: str, repeats: bool) -> None:
    assert (repeated_wording(sentence, LAST_SENTENCES) is not None) is repeats


# ---------------------------------------------------------------- unanswered_last_year
_SUPERVISION = LastYearProblem("督查问责不够有力", "督查问责不够有力。常态督查、经常性考核不够。")


@pytest.mark.parametrize(("rectification", "elsewhere", "answered"), [
    pytest.param("一是针对督查问责不够有力的问题，建立党建督查台账，全年督查4次，通报问题6个。", "", True,
                 id="item-names-and-answers"),
    pytest.param("一是建立党建督查台账，全年督查4次，对问责不力的情况通报6次。", "", True, id="item-on-its-topic"),
    pytest.param("一是督查问责不够有力的问题，整改情况：〔X〕。二是理论学习方面，全年集中学习24次。", "", False,
                 id="item-only-a-placeholder"),
    pytest.param("", "全年开展党建督查4次，对问责不力的2个支部通报批评，督查问责力度明显加大。", True,
                 id="answered-in-achievements"),
    pytest.param("", "全年集中学习24次，专题研讨8次，发展党员2名。", False, id="nothing-on-it"),
    pytest.param("一是理论学习形式更加丰富。", "全年集中学习24次。", False, id="other-problem-answered"),
])
def test_is_addressed(rectification: str, elsewhere: str, answered: bool) -> None:
    assert is_addressed(_SUPERVISION, rectification, elsewhere) is answered


# ---------------------------------------------------------------- checks on a whole draft
def _checks(report, name: str) -> list:  # type: ignore[no-untyped-def]
    return [f for f in report.findings if f.check == name]


def test_a_draft_copying_last_years_problems_is_flagged(ws: Workspace, last_year: LastYearReport) -> None:
    report = ws.check(COPIED, NOTES, last_year=last_year)
    repeats = _checks(report, "repeat_last_year")
    assert {f.section for f in repeats} == {"problems", "causes"}
    assert any("落实党内政治生活制度仍有差距" in f.message and "落实党内政治生活制度有差距" in f.message for f in repeats)
    assert all(f.severity == "warn" and "上年度述职报告.txt" in f.message for f in repeats)
    assert not any("主题党日" in f.evidence for f in repeats)  # this year's own problem is not a repeat
    unanswered = _checks(report, "unanswered_last_year")
    assert len(unanswered) == 1 and "开展“主题教育”不平衡" in unanswered[0].message
    assert "督查问责" not in unanswered[0].evidence


def test_a_draft_that_rewrote_them_is_not_flagged(ws: Workspace, last_year: LastYearReport) -> None:
    report = ws.check(REWRITTEN, NOTES, last_year=last_year)
    assert _checks(report, "repeat_last_year") == [] and _checks(report, "unanswered_last_year") == []
    # last year's problems are the user's material: naming them is not an unsourced name
    assert not any("主题教育" in f.message for f in _checks(report, "unsourced_name"))


def test_without_last_year_nothing_is_said_about_it(ws: Workspace) -> None:
    report = ws.check(COPIED, NOTES)
    assert _checks(report, "repeat_last_year") == [] and _checks(report, "unanswered_last_year") == []


def test_a_draft_without_any_rectification_leaves_every_problem_unanswered(ws: Workspace,
                                                                          last_year: LastYearReport) -> None:
    draft = REWRITTEN.split("## 二、上年度问题整改情况")[0] + "## 三、存在问题及原因" + REWRITTEN.split("## 三、存在问题及原因")[1]
    unanswered = _checks(ws.check(draft, NOTES, last_year=last_year), "unanswered_last_year")
    assert len(unanswered) == 1
    for title in SUB_HEADED_PROBLEMS:
        assert title in unanswered[0].message


# ---------------------------------------------------------------- the session keeps it
def test_the_session_keeps_last_years_report(ws: Workspace, last_year: LastYearReport) -> None:
    plan = ws.plan(_this_year_notes(ws), last_year=last_year)
    outcome = ws.draft(plan, NOTES, last_year=last_year)  # no model: the session is saved all the same
    assert not outcome.model_configured
    assert ws.session_last_year(outcome.session_id) == last_year
    assert ws.session_json(outcome.session_id)["last_year"]["problems"][0]["title"] == SUB_HEADED_PROBLEMS[0]
    # a check of the session's draft answers last year's problems without being told again
    report = ws.check(COPIED, NOTES, plan=plan, session_id=outcome.session_id)
    assert _checks(report, "repeat_last_year")
    ws.save_last_year(outcome.session_id, None)
    assert ws.session_last_year(outcome.session_id) is None
    assert "last_year" not in ws.session_json(outcome.session_id)


# ---------------------------------------------------------------- command line
def test_cli_check_last_year(tmp_path: Path, last_year_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.md").write_text(NOTES, encoding="utf-8")
    for name, text in (("copied.md", COPIED), ("rewritten.md", REWRITTEN)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    code, out, _ = run_cli(capsys, "check", str(tmp_path / "copied.md"), "--notes", str(tmp_path / "notes.md"),
                           "--last-year", str(last_year_file), "--json")
    assert code in (0, 1)
    checks = [f["check"] for f in json.loads(out)["findings"]]
    assert "repeat_last_year" in checks and "unanswered_last_year" in checks
    code, out, _ = run_cli(capsys, "check", str(tmp_path / "rewritten.md"), "--notes", str(tmp_path / "notes.md"),
                           "--last-year", str(last_year_file))
    assert "照搬上年度问题" not in out and "上年度问题未回应" not in out
    code, out, _ = run_cli(capsys, "check", str(tmp_path / "copied.md"), "--last-year", str(last_year_file))
    assert "照搬上年度问题" in out  # the human report names the check in Chinese


@pytest.mark.parametrize(("make", "message"), [
    pytest.param(lambda d: d / "没有这个文件.docx", "找不到上年度述职报告", id="missing"),
    pytest.param(lambda d: (d / "notes.txt", (d / "notes.txt").write_text("支部全年集中学习24次。", encoding="utf-8"))[0],
                 "没有找到“存在问题”部分", id="not-a-report"),
])
def test_cli_last_year_errors_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str], make, message: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "draft.md").write_text(REWRITTEN, encoding="utf-8")
    code, out, err = run_cli(capsys, "check", str(tmp_path / "draft.md"), "--last-year", str(make(tmp_path)))
    assert code == 2 and out == "" and err.startswith("错误：") and message in err


def test_cli_plan_only_json_shows_the_rectification_part(use_built_index: Path, tmp_path: Path,
                                                         last_year_file: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.md").write_text(NOTES, encoding="utf-8")
    code, out, err = run_cli(capsys, "draft", str(tmp_path / "notes.md"), "--last-year", str(last_year_file),
                             "--plan-only", "--json")
    assert code == 0, err
    plan = json.loads(out)
    rect = [s for s in plan["sections"] if s["kind"] == "rectification"]
    assert len(rect) == 1 and rect[0]["context"] == SUB_HEADED_PROBLEMS
    assert "3 个问题" in err


def test_cli_warns_when_last_years_report_is_not_of_last_year(use_built_index: Path, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.md").write_text(NOTES, encoding="utf-8")
    stale = redated(SUB_HEADED, tmp_path, year=THIS_YEAR - 3)
    code, _, err = run_cli(capsys, "draft", str(tmp_path / "notes.md"), "--last-year", str(stale), "--plan-only")
    assert code == 0 and f"是{THIS_YEAR - 3}年的" in err and f"{THIS_YEAR - 1}年的报告" in err


def test_an_uploaded_report_is_read_from_its_bytes(ws: Workspace, last_year_file: Path) -> None:
    report = ws.read_last_year_data("我的2024年述职报告.txt", last_year_file.read_bytes())
    assert [p.title for p in report.problems] == SUB_HEADED_PROBLEMS and report.source == "我的2024年述职报告.txt"
    with pytest.raises(InputRejected) as info:
        ws.read_last_year_data("空白.txt", b"")
    assert info.value.user_message
