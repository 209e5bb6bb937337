"""Plan (outline) behaviour: grouping, empty sections, user edits, and what the CLI refuses early."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES_DIR, run_cli
from llm_stub import StubLLMServer

from shuzhi.errors import ShuzhiError
from shuzhi.notes import parse_notes
from shuzhi.writing.draft import MISSING_MATERIAL_TEXT, tidy_model_text
from shuzhi.writing.plan import build_plan, plan_from_json, plan_to_json, plan_warnings

NOTES = EXAMPLES_DIR / "notes_jiguan_2024.md"


def test_plan_groups_related_themes_into_three_to_five_items() -> None:
    plan = build_plan(parse_notes(NOTES.read_text(encoding="utf-8")))
    items = [s for s in plan.sections if s.key.startswith("achievements.")]
    assert 3 <= len(items) <= 5
    assert plan.title == "2024年市统计局机关党支部书记抓基层党建工作述职报告"
    every_note = [n for s in items for n in s.notes]
    assert len(every_note) == len(set(every_note)) == 8  # each achievement note in exactly one sub-item
    causes = next(s for s in plan.sections if s.kind == "causes")
    next_steps = next(s for s in plan.sections if s.kind == "next_steps")
    assert causes.notes == () and len(causes.context) == 3  # problems are context, not facts
    assert len(next_steps.notes) == 2 and next_steps.context == causes.context
    assert plan_warnings(plan) == []


def test_plan_json_round_trip() -> None:
    plan = build_plan(parse_notes(NOTES.read_text(encoding="utf-8")))
    assert plan_from_json(plan_to_json(plan)) == plan


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(lambda p: p["sections"][1].update(level="abc"), "level", id="bad-level"),
        pytest.param(lambda p: p.update(year="二〇二四"), "year", id="bad-year"),
        pytest.param(lambda p: p["sections"][1].update(notes="一句话"), "notes", id="notes-not-list"),
        pytest.param(lambda p: p["sections"][2].update(key=p["sections"][1]["key"]), "重复", id="duplicate-key"),
        pytest.param(lambda p: p.update(sections=[]), "sections", id="no-sections"),
    ],
)
def test_bad_plan_edits_get_chinese_messages(mutate: Any, message: str) -> None:
    raw = json.loads(plan_to_json(build_plan(parse_notes(NOTES.read_text(encoding="utf-8")))))
    mutate(raw)
    with pytest.raises(ShuzhiError) as excinfo:
        plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert message in excinfo.value.user_message


def test_sections_without_material_are_not_sent_to_the_model(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "only-problems.md"
    notes.write_text("2024年 第二党支部\n问题：主题党日形式单一；对年轻党员关心不够\n", encoding="utf-8")
    with StubLLMServer() as stub:
        llm_env(stub)
        code, stdout, stderr = run_cli(capsys, "draft", str(notes), "--json")
        prompts = [r.body["messages"][-1]["content"] for r in stub.chat_requests]
    result = json.loads(stdout)
    assert code == 0
    assert "没有「主要做法和成效」的内容" in stderr
    assert any("主要做法和成效" in w for w in result["warnings"])
    achievements = next(s for s in result["sections"] if s["kind"] == "achievements")
    assert achievements["text"] == MISSING_MATERIAL_TEXT and not achievements["complete"]
    assert not any("现在起草的部分：主要做法和成效" in p for p in prompts)
    assert any("主题党日形式单一" in p for p in prompts)


def test_output_folder_is_checked_before_any_model_call(use_built_index: Path, llm_env: Any,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    with StubLLMServer() as stub:
        llm_env(stub)
        code, _, stderr = run_cli(capsys, "draft", str(NOTES), "-o", "/nonexistent/dir/x.md")
        assert stub.chat_count == 0
    assert code == 2 and "输出文件夹不存在" in stderr


def test_facts_added_in_an_edited_plan_are_not_invented(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan-only", "--json")
    plan = json.loads(stdout)
    item = next(s for s in plan["sections"] if s["key"] == "achievements.1")
    item["notes"].append("获评市级先进基层党组织，奖励经费5万元")
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")

    def echo(body: dict[str, Any]) -> str:
        prompt = body["messages"][-1]["content"]
        return "一是" + "；".join(line[2:] for line in prompt.splitlines() if line.startswith("- ")) + "。"

    with StubLLMServer(responder=echo) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan", str(edited), "--json")
    result = json.loads(stdout)
    assert "5万元" in result["markdown"]
    assert all("5万" not in i["raw"] for i in result["check"]["invented"])


@pytest.mark.parametrize("year", ["1850", "abc", "20245"])
def test_year_is_validated(year: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        run_cli(capsys, "draft", str(NOTES), "--year", year)
    assert excinfo.value.code == 2
    assert "年份" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("（一）扎实开展主题教育\n\n一是学习6次。", "一是学习6次。", id="model-heading"),
        pytest.param("```\n一是学习6次。\n```", "一是学习6次。", id="fences"),
        pytest.param("筑牢思想根基。\n一是学习6次。", "筑牢思想根基。\n一是学习6次。", id="headline-kept"),
        pytest.param("一是学习6次。\n咨询QQ123456789", "一是学习6次。", id="echoed-ad"),
    ],
)
def test_tidy_model_text(raw: str, expected: str) -> None:
    assert tidy_model_text(raw) == expected


def test_pasted_report_is_cleaned_and_announced(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import CORPUS_DIR

    report = CORPUS_DIR / "003_5d70bbfcd06b2305.txt"
    code, stdout, stderr = run_cli(capsys, "draft", str(report), "--plan-only", "--json")
    assert code == 0
    assert "写好的报告" in stderr and "已忽略" in stderr
    for dirt in ("酷乐", "QQ", "会员", "订阅"):
        assert dirt not in stdout
    kinds = {s["kind"] for s in json.loads(stdout)["sections"] if s["notes"]}
    assert {"achievements", "problems", "next_steps"} <= kinds
