"""The plan says why each fact line is where it is; excluded lines can be brought back; 其他 stays small."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import run_cli

from shuzhi.api import Workspace, plan_from_json, plan_to_json
from shuzhi.errors import ShuzhiError
from shuzhi.models import NoteItem
from shuzhi.notes import parse_notes
from shuzhi.writing.plan import group_achievements, reconcile_assignments

HEADER = "2024年 县教育局机关党支部 书记述职笔记\n单位：县教育局机关党支部\n"
NOTES = HEADER + (
    "## 强组织\n- 新设教研党小组2个\n"
    "## 凝人心\n- 书记讲党课2次\n"
    "- 开展理论学习\n"
    "## 问题\n- 主题党日形式单一\n"
    "## 明年打算\n- 每季度开展一次主题党日创新评比\n"
    "- 存在的问题是党员教育管理手段不够多\n"
    "备注：支部今年获评区级“五好”党支部，奖金3万元\n"
    "开头直接写在局党组的坚强领导下\n"
)


def _plan(text: str = NOTES):  # noqa: ANN202 - a Plan
    from shuzhi.writing.plan import build_plan

    return build_plan(parse_notes(text))


# ---------------------------------------------------------------- reasons
@pytest.mark.parametrize(("line", "by", "words"), [
    pytest.param("新设教研党小组2个", "rule", ["2个", "强组织"], id="counted-under-users-heading"),
    pytest.param("主题党日形式单一", "heading", ["问题"], id="section-heading"),
    pytest.param("每季度开展一次主题党日创新评比", "heading", ["明年打算"], id="plans-heading"),
    pytest.param("党员教育管理手段不够多", "marker", ["存在的问题是"], id="prose-cue"),
    pytest.param("单位：县教育局机关党支部", "meta", ["单位"], id="meta-line"),
])
def test_every_line_says_why(line: str, by: str, words: list[str]) -> None:
    plan = _plan()
    found = plan.assignment_for(line)
    assert found is not None and found.by == by
    assert all(w in found.why for w in words), found.why


@pytest.mark.parametrize(("text", "theme_by", "word"), [
    pytest.param("- 组织党员开展志愿服务活动6场", "keyword", "志愿服务", id="theme-keyword"),
    pytest.param("- 完成支部换届选举工作，新一届支委5人", "keyword", "换届", id="theme-keyword-2"),
    pytest.param("- 全年召开会议8次", "", "", id="no-theme-word"),
])
def test_the_sub_item_reason(text: str, theme_by: str, word: str) -> None:
    plan = _plan(HEADER + text + "\n- 书记讲党课2次\n- 落实第一议题制度学习12次\n")
    line = text.lstrip("- ")
    found = plan.assignment_for(line)
    assert found is not None and found.theme_by == theme_by and found.theme_detail == word
    assert ("其他" in found.why) is (theme_by == "")


def test_reasons_survive_the_json_round_trip_and_old_json_loads() -> None:
    plan = _plan()
    again = plan_from_json(plan_to_json(plan))
    assert again.assignments == plan.assignments
    raw = json.loads(plan_to_json(plan))
    del raw["assignments"]
    old = plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert old.assignments == () and old.sections == plan.sections


@pytest.mark.parametrize("bad", [
    pytest.param("not a list", id="not-a-list"),
    pytest.param([{"line": 3}], id="line-not-text"),
    pytest.param([{"key": "problems"}], id="no-line"),
])
def test_a_malformed_reason_never_blocks_a_plan(bad: object) -> None:
    raw = json.loads(plan_to_json(_plan()))
    raw["assignments"] = bad
    plan = plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert plan.assignments == () and any(s.notes for s in plan.sections)


def test_an_edited_plan_whose_lines_moved_says_so() -> None:
    raw = json.loads(plan_to_json(_plan()))
    problems = next(s for s in raw["sections"] if s["key"] == "problems")
    next_steps = next(s for s in raw["sections"] if s["key"] == "next_steps")
    moved = problems["notes"].pop(0)
    next_steps["notes"].append(moved)
    next_steps["notes"].append("新增：每月一次支委会学习")
    plan = plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert plan.assignment_for(moved, "next_steps").why == "由用户从「存在问题及原因」移到这里"
    assert plan.assignment_for(moved, "problems") is None
    assert plan.assignment_for("新增：每月一次支委会学习").why == "由用户在提纲中写入"
    kept = plan.assignment_for("每季度开展一次主题党日创新评比")
    assert kept is not None and kept.by == "heading"


def test_a_line_copied_from_excluded_leaves_excluded() -> None:
    plan = _plan()
    line = "备注：支部今年获评区级“五好”党支部，奖金3万元"
    assert line in plan.excluded
    edited = replace(plan, sections=tuple(replace(s, notes=(*s.notes, line)) if s.key == "problems" else s
                                          for s in plan.sections))
    fixed = reconcile_assignments(edited)
    assert line not in fixed.excluded
    assert fixed.assignment_for(line, "problems").why == "由用户从“未作为事实”的行中加入"


def test_cli_plan_shows_reasons_and_excluded(tmp_path: Path, use_built_index: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    code, stdout, _ = run_cli(capsys, "draft", str(notes), "--plan-only", "--json")
    plan = json.loads(stdout)
    assert code == 0
    assert [s["heading"] for s in plan["sections"] if s["kind"] == "achievements" and s["level"] == 2][:2] == \
        ["强组织", "凝人心"]
    reasons = {a["line"]: a for a in plan["assignments"]}
    assert reasons["新设教研党小组2个"]["theme_by"] == "group" and "强组织" in reasons["新设教研党小组2个"]["why"]
    assert "开头直接写在局党组的坚强领导下" in plan["excluded"]
    assert not any("开头直接写" in a["line"] for a in plan["assignments"])
    code, human, _ = run_cli(capsys, "draft", str(notes), "--plan-only")
    assert code == 0 and "（写有数量“2个”，看作已做的工作；按用户自己的小标题“强组织”成组）" in human
    assert "[未作为事实] 开头直接写在局党组的坚强领导下" in human and "--include" in human


# ---------------------------------------------------------------- bringing an excluded line back
def test_include_excluded_files_by_the_rules_or_into_the_given_section(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path)
    plan = _plan()
    line = "备注：支部今年获评区级“五好”党支部，奖金3万元"
    filed = ws.include_excluded(plan, line)
    found = filed.assignment_for(line)
    assert found is not None and found.key.startswith("achievements.") and found.by == "user"
    assert "未作为事实" in found.why and line not in filed.excluded
    placed = ws.include_excluded(plan, line, "problems")
    assert line in next(s for s in placed.sections if s.key == "problems").notes
    again = plan_from_json(plan_to_json(placed))
    assert again.assignment_for(line, "problems") is not None and line not in again.excluded


@pytest.mark.parametrize(("line", "key", "message"), [
    pytest.param("从未出现的一行", None, "没有「从未出现的一行」", id="not-excluded"),
    pytest.param("开头直接写在局党组的坚强领导下", "achievements", "没有可以放事实的节", id="grouping-heading"),
    pytest.param("开头直接写在局党组的坚强领导下", "closing", "没有可以放事实的节", id="closing"),
    pytest.param("开头直接写在局党组的坚强领导下", "nowhere", "可选", id="unknown-key"),
])
def test_include_excluded_refuses_what_it_cannot_do(tmp_path: Path, line: str, key: str | None,
                                                    message: str) -> None:
    with pytest.raises(ShuzhiError) as caught:
        Workspace.open(tmp_path).include_excluded(_plan(), line, key)
    assert message in caught.value.user_message


@pytest.mark.parametrize(("included", "flagged"), [
    pytest.param(True, False, id="brought-back"),
    pytest.param(False, True, id="left-excluded"),
])
def test_a_brought_back_line_is_a_fact_for_the_checks(tmp_path: Path, included: bool, flagged: bool) -> None:
    ws = Workspace.open(tmp_path)
    plan = _plan()
    line = "备注：支部今年获评区级“五好”党支部，奖金3万元"
    if included:
        plan = ws.include_excluded(plan, line, "achievements.2")
    report = ws.check("支部获评区级“五好”党支部，获奖金3万元。", NOTES, plan=plan)
    assert any("3万元" in f.evidence or "3万元" in f.message for f in report.findings
               if f.check == "invented_figure") is flagged


def test_cli_include_and_edited_plan(tmp_path: Path, use_built_index: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(NOTES, encoding="utf-8")
    line = "开头直接写在局党组的坚强领导下"
    code, stdout, _ = run_cli(capsys, "draft", str(notes), "--plan-only", "--json", "--include", f"opening:{line}")
    plan = json.loads(stdout)
    assert code == 0 and line not in plan["excluded"]
    assert line in next(s for s in plan["sections"] if s["key"] == "opening")["notes"]
    # The same by hand: move the line from excluded into a section of the exported plan.
    code, stdout, _ = run_cli(capsys, "draft", str(notes), "--plan-only", "--json")
    raw = json.loads(stdout)
    raw["excluded"].remove(line)
    next(s for s in raw["sections"] if s["key"] == "problems")["notes"].append(line)
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    code, stdout, _ = run_cli(capsys, "draft", str(notes), "--plan", str(edited), "--plan-only", "--json")
    again = json.loads(stdout)
    assert code == 0 and line in next(s for s in again["sections"] if s["key"] == "problems")["notes"]
    assert any(a["line"] == line and a["by"] == "user" for a in again["assignments"])


# ---------------------------------------------------------------- balance of the sub-items
def _item(text: str, guess: str = "", score: float = 0.0) -> NoteItem:
    return NoteItem(text=text, section="achievements", assigned_by="rule", line_no=1, theme_guess=guess,
                    theme_score=score)


THEMED = [_item("落实第一议题制度学习12次"), _item("中心组理论学习10次"), _item("发展党员3名"),
          _item("三会一课规范开展"), _item("志愿服务活动20场")]


@pytest.mark.parametrize(("loose", "catch_all", "new_theme"), [
    pytest.param([_item(f"完成重点任务{n}项", "党建与业务融合", 0.3) for n in range(5)], 0, "党建与业务融合",
                 id="shared-guess-makes-a-sub-item"),
    pytest.param([_item(f"完成重点任务{n}项", "组织建设", 0.3) for n in range(5)], 0, "",
                 id="guess-joins-its-sub-item"),
    pytest.param([_item(f"完成重点任务{n}项") for n in range(5)], 5, "", id="no-guess-stays"),
    pytest.param([_item("完成重点任务1项", "党建与业务融合", 0.3)], 1, "", id="small-catch-all-untouched"),
])
def test_the_catch_all_holds_at_most_a_third(loose: list[NoteItem], catch_all: int, new_theme: str) -> None:
    groups = dict(group_achievements(THEMED + loose))
    assert len(groups.get("", [])) == catch_all
    if new_theme:
        assert len(groups[new_theme]) == len(loose)
    assert sum(len(m) for m in groups.values()) == len(THEMED) + len(loose)


def test_many_mixed_notes_with_similarity_keep_the_catch_all_small(use_built_index: Path) -> None:
    ws = Workspace.open(use_built_index)
    lines = [
        "镇党委会专题研究党建工作9次", "落实第一议题制度全年传达学习31次", "举办读书班2期", "发展党员14名",
        "整顿软弱涣散村党组织2个", "新建党群服务中心1个", "村集体经济收入全部超过10万元", "建成高标准农田3200亩",
        "修建村组道路12公里", "完成人居环境整治村庄19个", "为困难群众办理临时救助86人次", "调解矛盾纠纷213件",
        "召开意识形态工作专题会议4次", "开展警示教育大会2次", "精简会议文件30%", "形成调研报告8篇",
        "完成年度各项考核任务", "承办全县现场观摩会1次", "完成办公楼改造", "更新电脑设备20台",
        "接待来访人员300余人次",
    ]
    notes = ws.parse_notes(HEADER + "".join(f"- {ln}\n" for ln in lines))
    plan = ws.plan(notes)
    subs = [s for s in plan.sections if s.kind == "achievements" and s.level == 2]
    total = sum(len(s.notes) for s in subs)
    assert total == len(lines)
    assert sum(len(s.notes) for s in subs if not s.theme) * 3 <= total
    assert 3 <= len(subs) <= 5
