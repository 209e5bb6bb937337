"""A second genre end to end through the command line: its outline, its sections in order, its checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from llm_stub import StubLLMServer

TEXTS = Path(__file__).resolve().parent / "genre_texts"
NOTES = TEXTS / "duizhao_notes.md"


def _section(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).split("现在起草的部分：", 1)[1].splitlines()[0]


def _facts(body: dict[str, Any]) -> list[str]:
    prompt = str(body["messages"][-1]["content"])
    block = prompt.split("本节事实", 1)[1].split("范文片段", 1)[0]
    return [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ") and not ln[2:].startswith("（")]


def vague_measures(body: dict[str, Any]) -> str:
    """Faithful everywhere, except that the measures are one empty formula answering no problem."""
    if "整改措施" in _section(body):
        return "今后我将进一步提高认识，切实加强学习，不断改进工作作风。"
    facts = _facts(body)
    return ("我" + "；".join(facts) + "。") if facts else "恳请同志们批评帮助。"


def test_genres_lists_both(capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "genres", "--json")
    genres = {g["name"]: g["title"] for g in json.loads(stdout)}
    assert code == 0 and genres["shuzhi"] == "抓基层党建工作述职报告" and genres["duizhao"] == "个人对照检查材料"


def test_unknown_genre_is_refused_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = run_cli(capsys, "draft", str(NOTES), "--genre", "nosuch", "--plan-only")
    assert code == 2 and "nosuch" in stderr and "duizhao" in stderr and "Traceback" not in stderr


def test_plan_only_has_the_genres_sections(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run_cli(capsys, "draft", str(NOTES), "--genre", "duizhao", "--plan-only", "--json")
    assert code == 0
    plan = json.loads(stdout)
    assert plan["genre"] == "duizhao" and "对照检查材料" in plan["title"]
    kinds = [s["kind"] for s in plan["sections"]]
    order = ["opening", "rectification", "problems", "causes", "next_steps", "closing"]
    assert [k for k in dict.fromkeys(kinds)] == order
    aspects = [s["heading"] for s in plan["sections"] if s["kind"] == "problems" and s["level"] == 2]
    assert len(aspects) == 4 and all(a.startswith("在") and a.endswith("方面") for a in aspects)
    assert "没有「个人对照检查材料」的范文片段" in stderr  # drafting goes on from the genre's guides


def test_full_draft_in_order_with_the_problem_cause_measure_checks(use_built_index: Path, llm_env: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with StubLLMServer(responder=vague_measures) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--genre", "duizhao", "--json")
        prompts = [r.body["messages"][-1]["content"] for r in stub.chat_requests]
    result = json.loads(stdout)
    assert code == 0 and not [s for s in result["sections"] if s["error"]]
    assert all("范文片段" in p and "【范文片段" not in p for p in prompts)  # no 述职 passages lent to this genre
    markdown = result["markdown"]
    headings = [ln for ln in markdown.splitlines() if ln.startswith("## ")]
    assert [h.split("、", 1)[1] for h in headings] == ["上年度查摆问题整改落实情况", "对照检查情况", "问题产生的原因",
                                                      "努力方向和整改措施"]
    checks = {f["check"] for f in result["check"]["findings"]}
    assert "no_matching_measure" in checks or "empty_formula" in checks  # the measures answer no problem
    code, stdout, _ = run_cli(capsys, "sessions", "--json")
    assert json.loads(stdout)[0]["genre"] == "duizhao"
