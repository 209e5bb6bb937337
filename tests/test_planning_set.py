"""The planning set (tests/data/planning, measured by bench/planning.py): every note line is filed
where a secretary would put it, by the rules alone (no corpus similarity), on notes of varied style."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shuzhi.notes import parse_notes
from shuzhi.writing.plan import build_plan

SET_DIR = Path(__file__).parent / "data" / "planning"
SPECS = sorted(SET_DIR.glob("*.json"))


def _notes_file(spec: Path) -> Path:
    return next(p for p in (spec.with_suffix(".txt"), spec.with_suffix(".md")) if p.exists())


def _load(spec: Path) -> tuple[Any, Any, dict[str, Any]]:
    notes = parse_notes(_notes_file(spec).read_text(encoding="utf-8"))
    return notes, build_plan(notes), json.loads(spec.read_text(encoding="utf-8"))


def _where(plan: Any, piece: str) -> tuple[str, str] | None:
    for section in plan.sections:
        if any(piece in line for line in section.notes):
            return str(section.kind), section.heading if section.level >= 2 else ""
    return None


def test_the_set_is_varied() -> None:
    assert len(SPECS) >= 6
    specs = [json.loads(p.read_text(encoding="utf-8")) for p in SPECS]
    kinds = {line["kind"] for s in specs for line in s["lines"]}
    assert {"achievements", "problems", "next_steps", "rectification", "causes"} <= kinds
    assert any(s.get("excluded") for s in specs) and any(s.get("sub_items") for s in specs)
    assert any(s.get("balance") for s in specs)


LINES = [pytest.param(spec, line, id=f"{spec.stem}:{line['text'][:12]}")
         for spec in SPECS for line in json.loads(spec.read_text(encoding="utf-8"))["lines"]]


@pytest.mark.parametrize(("spec", "line"), LINES)
def test_line_is_filed_where_a_secretary_would(spec: Path, line: dict[str, str]) -> None:
    _, plan, _ = _load(spec)
    found = _where(plan, line["text"])
    assert found is not None, f"「{line['text']}」 is not a fact of the plan"
    assert found[0] == line["kind"]
    if "sub_item" in line:
        assert found[1] == line["sub_item"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_meta_lines_are_excluded_and_meta_found(spec: Path) -> None:
    notes, plan, expected = _load(spec)
    for piece in expected.get("excluded", []):
        assert any(piece in e for e in plan.excluded), piece
        assert _where(plan, piece) is None, piece
    # Only what the case lists is excluded: no fact line is lost to the exclusions.
    assert len(plan.excluded) == len(expected.get("excluded", []))
    meta = {"org": notes.meta.org, "role": notes.meta.role, "person": notes.meta.person, "year": notes.meta.year}
    for field, value in expected.get("meta", {}).items():
        assert meta[field] == value, field


@pytest.mark.parametrize("spec", [s for s in SPECS if "sub_items" in json.loads(s.read_text(encoding="utf-8"))],
                         ids=lambda p: p.stem)
def test_the_users_headings_are_the_sub_items_in_order(spec: Path) -> None:
    _, plan, expected = _load(spec)
    headings = [s.heading for s in plan.sections if s.kind == "achievements" and s.level >= 2]
    assert headings == expected["sub_items"]


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_fact_line_has_its_reason(spec: Path) -> None:
    _, plan, _ = _load(spec)
    facts = [(s.key, line) for s in plan.sections for line in s.notes]
    assert [(a.key, a.line) for a in plan.assignments] == facts
    assert all(a.why for a in plan.assignments)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_no_rectification_section_without_last_years_problems(spec: Path) -> None:
    _, plan, expected = _load(spec)
    wanted = any(line["kind"] == "rectification" for line in expected["lines"])
    assert any(s.kind == "rectification" for s in plan.sections) == wanted
