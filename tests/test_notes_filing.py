"""Notes go where a secretary would put them: achievements stay achievements unless marked otherwise."""

from __future__ import annotations

import pytest

from shuzhi.notes import parse_notes
from shuzhi.writing.plan import build_plan

HEADER = "单位：某学院党委\n"


@pytest.mark.parametrize(("guess", "expected"), [
    pytest.param("next_steps", "achievements", id="similarity-cannot-make-a-plan"),
    pytest.param("problems", "achievements", id="similarity-cannot-make-a-problem"),
    pytest.param("causes", "achievements", id="similarity-cannot-make-a-cause"),
    pytest.param("rectification", "rectification", id="similarity-may-file-rectification"),
])
def test_similarity_alone_never_files_an_achievement_as_a_shortfall_or_plan(guess: str, expected: str) -> None:
    notes = parse_notes(HEADER + "- 打造“红烛先锋”党建品牌\n", classify=lambda text: (guess, 1.0))
    assert notes.items[0].section == expected


@pytest.mark.parametrize(("line", "kind"), [
    pytest.param("- 力争明年实现支部全覆盖", "next_steps", id="plan-wording"),
    pytest.param("- 党员发展质量有待提高", "problems", id="shortfall-wording"),
    pytest.param("- 去年的问题：学用脱节，已建立学用结合清单", "rectification", id="last-years-problem"),
    pytest.param("- 上年度问题：主题党日形式单一", "rectification", id="last-years-problem-2"),
])
def test_rules_and_markers_still_file_what_reads_as_such(line: str, kind: str) -> None:
    notes = parse_notes(HEADER + line + "\n", classify=lambda text: ("achievements", 1.0))
    assert notes.items[0].section == kind


@pytest.mark.parametrize("line", ["2024年", "2024年度", "2024"])
def test_a_bare_year_line_is_the_year_not_a_fact(line: str) -> None:
    notes = parse_notes("# 笔记\n" + line + "\n- 开展主题党日12次\n问题：理论学习不深入\n")
    assert notes.meta.year == 2024
    assert [i.text for i in notes.items] == ["开展主题党日12次", "理论学习不深入"]
    assert not any(s.kind == "rectification" for s in build_plan(notes).sections)
