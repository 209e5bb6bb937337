"""Prompt files and their callers agree on variables; every prompt renders without leftovers."""

from __future__ import annotations

from typing import Any

import pytest

from shuzhi.models import Finding, Plan, PlanSection
from shuzhi.writing import draft, rewrite
from shuzhi.writing.prompts import render_prompt, section_guides, template_variables


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> dict[str, set[str]]:
    """Records, per prompt name, the variables its caller passes."""
    calls: dict[str, set[str]] = {}

    def spy(name: str, **variables: Any) -> str:
        calls[name] = set(variables)
        return render_prompt(name, **variables)

    monkeypatch.setattr(draft, "render_prompt", spy)
    monkeypatch.setattr(rewrite, "render_prompt", spy)
    return calls


def test_draft_prompt_variables_match_caller(rendered: dict[str, set[str]]) -> None:
    section = PlanSection(key="problems", kind="problems", heading="存在问题及原因", notes=("主题党日形式单一",))
    plan = Plan(title="2024年某支部书记抓基层党建工作述职报告", year=2024, org="某支部", sections=(section,))
    messages = draft.build_section_messages(plan, section, ())
    assert rendered["draft_section"] == template_variables("draft_section")
    assert rendered["draft_system"] == template_variables("draft_system") == set()
    assert "$" not in messages[1][1] and "主题党日形式单一" in messages[1][1]


def test_rewrite_prompt_variables_match_caller(rendered: dict[str, set[str]]) -> None:
    finding = Finding(check="vague", severity="warn", message="问题空泛", evidence="学习不够深入")
    messages = rewrite.build_rewrite_messages("一是学习不够深入。", [finding], "", "", [])
    assert rendered["rewrite_problems"] == template_variables("rewrite_problems")
    assert "$" not in messages[1]["content"] and "问题空泛" in messages[1]["content"]


def test_every_section_kind_has_a_guide() -> None:
    guides = section_guides()
    for kind in ("opening", "achievements", "rectification", "problems", "causes", "next_steps", "closing"):
        assert guides[kind]


def test_missing_variable_raises_in_chinese() -> None:
    from shuzhi.errors import ShuzhiError

    with pytest.raises(ShuzhiError) as excinfo:
        render_prompt("draft_section", year=2024)
    assert "变量" in excinfo.value.user_message and "draft_section" in excinfo.value.detail
