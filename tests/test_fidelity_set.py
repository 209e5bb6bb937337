"""The fidelity development set (tests/data/fidelity, measured by bench/fidelity.py) is well formed.

Structure only: no checks are run here and no figures are asserted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SET_DIR = Path(__file__).parent / "data" / "fidelity"
CASES = sorted(p for p in SET_DIR.glob("case_*") if p.is_dir())
REWRITE = sorted((SET_DIR / "rewrite").glob("*.md"))

KINDS = set(json.loads((SET_DIR / "fault_kinds.json").read_text(encoding="utf-8")))
CHECKS = {
    "ledger", "invented_figure", "unsourced_name", "placeholder", "leakage", "structure", "timeliness", "voice",
    "vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes", "causes_restate_problems",
    "no_first_person", "no_matching_measure", "empty_formula", "others_only",
}
RUBRIC_CHECKS = {
    "vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes", "causes_restate_problems",
    "no_first_person", "others_only", "empty_formula", "no_matching_measure",
}


def test_set_size_and_variety() -> None:
    assert len(CASES) >= 6
    specs = [json.loads((c / "faults.json").read_text(encoding="utf-8")) for c in CASES]
    # years repeat once the set outgrows the campaign calendar; a year with a new org type is a new case
    assert len({s["year"] for s in specs}) >= 6
    assert len({(s["year"], s["org_type"]) for s in specs}) == len(specs)
    assert len({s["org_type"] for s in specs}) == len(specs)
    assert len({s["unit"] for s in specs}) == len(specs)
    assert len([p for p in REWRITE if p.stem.startswith("weak_")]) >= 6
    assert any(p.stem.startswith("strong_") for p in REWRITE)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_case_files_and_faults(case: Path) -> None:
    for name in ("notes.md", "clean.md", "faulty.md", "faults.json"):
        assert (case / name).is_file(), name
    clean = (case / "clean.md").read_text(encoding="utf-8")
    faulty = (case / "faulty.md").read_text(encoding="utf-8")
    notes = (case / "notes.md").read_text(encoding="utf-8")
    assert clean.startswith("# ") and "\n## " in clean
    assert str(json.loads((case / "faults.json").read_text(encoding="utf-8"))["year"]) in notes
    faults = json.loads((case / "faults.json").read_text(encoding="utf-8"))["faults"]
    assert len(faults) == 9
    assert {f["kind"] for f in faults} == KINDS
    rebuilt = clean
    for f in faults:
        assert {"kind", "clean_text", "faulty_text", "marker", "checks"} <= set(f), f.get("kind")
        assert f["checks"] and set(f["checks"]) <= CHECKS, f["kind"]
        assert clean.count(f["clean_text"]) == 1, f["kind"]
        assert f["faulty_text"] in faulty, f["kind"]
        assert f["clean_text"] != f["faulty_text"], f["kind"]
        assert f["marker"].strip(), f["kind"]
        if f["kind"] not in {"dropped_figure", "unmatched_problem"}:
            assert f["marker"] in f["faulty_text"], f["kind"]  # what a checker must point at
        rebuilt = rebuilt.replace(f["clean_text"], f["faulty_text"])
    assert rebuilt == faulty  # faulty.md is exactly the clean draft with the nine faults planted
    dropped = next(f for f in faults if f["kind"] == "dropped_figure")
    assert dropped["marker"] in notes and dropped["marker"] in dropped["clean_text"]
    assert dropped["marker"] not in dropped["faulty_text"]
    unmatched = next(f for f in faults if f["kind"] == "unmatched_problem")
    assert unmatched["marker"] in clean  # the problem's headline, left in the faulty draft
    assert unmatched["marker"] in faulty


@pytest.mark.parametrize("section", REWRITE, ids=lambda p: p.stem)
def test_rewrite_annotations(section: Path) -> None:
    ann = json.loads(section.with_suffix(".json").read_text(encoding="utf-8"))
    assert section.read_text(encoding="utf-8").strip()
    assert isinstance(ann["defects"], list)
    assert set(ann["defects"]) <= RUBRIC_CHECKS
    assert len(set(ann["defects"])) == len(ann["defects"])
    if section.stem.startswith("strong_"):
        assert ann["defects"] == []
    else:
        assert ann["defects"]
    assert isinstance(ann.get("next_steps", ""), str)
    if "no_matching_measure" in ann["defects"]:
        assert ann.get("next_steps")
