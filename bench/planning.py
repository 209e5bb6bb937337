"""Planning bench: are note lines filed where a secretary would put them?

    PYTHONPATH=src python bench/planning.py [--cases tests/data/planning] [--data-dir DIR] [--verbose] [--json]

Each case of the set is a notes file (`NN_name.txt|md`) with its expected filing (`NN_name.json`):
`lines` (a piece of a fact line → its section kind, and `sub_item`, the heading of the sub-item where it
matters), `excluded` (pieces of lines that must be listed as not used as facts, never as facts), `meta`
(org, role, person, year found in the notes), `sub_items` (the user's own headings, in order) and
`balance` (the catch-all sub-item holds at most a third of the achievement lines).

Printed: % of lines filed correctly per expected kind, and the share of excluded, meta, sub-item and
balance expectations met. Without --data-dir the rules alone decide (no corpus similarity); with it the
workspace's corpus index (built on first use) also votes, as in `shuzhi draft`.

Only the public API is used (`Workspace.parse_notes`, `Workspace.plan`).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from shuzhi.api import Plan, Workspace

DEFAULT_CASES = Path(__file__).resolve().parent.parent / "tests" / "data" / "planning"


def case_files(cases_dir: Path) -> list[tuple[Path, Path]]:
    out = []
    for spec in sorted(cases_dir.glob("*.json")):
        notes = next((p for p in (spec.with_suffix(".txt"), spec.with_suffix(".md")) if p.exists()), None)
        if notes is not None:
            out.append((notes, spec))
    return out


def _where(plan: Plan, piece: str) -> tuple[str, str] | None:
    """(kind, sub-item heading) of the first fact line of PLAN holding PIECE."""
    for section in plan.sections:
        if any(piece in line for line in section.notes):
            return str(section.kind), section.heading if section.level >= 2 else ""
    return None


def evaluate(plan: Plan, meta: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """One result per expectation: {what, kind, expected, got, ok}."""
    results: list[dict[str, Any]] = []
    for line in spec.get("lines", []):
        found = _where(plan, line["text"])
        got_kind = found[0] if found else ("excluded" if any(line["text"] in e for e in plan.excluded) else "missing")
        ok = got_kind == line["kind"]
        results.append({"what": "line", "kind": line["kind"], "expected": line["kind"], "got": got_kind,
                        "text": line["text"], "ok": ok})
        if "sub_item" in line:
            got_sub = found[1] if found else ""
            results.append({"what": "sub_item", "kind": line["kind"], "expected": line["sub_item"], "got": got_sub,
                            "text": line["text"], "ok": got_sub == line["sub_item"]})
    for piece in spec.get("excluded", []):
        listed = any(piece in e for e in plan.excluded)
        as_fact = _where(plan, piece) is not None
        results.append({"what": "excluded", "kind": "excluded", "expected": "excluded",
                        "got": "excluded" if listed and not as_fact else ("fact" if as_fact else "missing"),
                        "text": piece, "ok": listed and not as_fact})
    for field, value in spec.get("meta", {}).items():
        got = meta.get(field)
        results.append({"what": "meta", "kind": f"meta.{field}", "expected": value, "got": got, "text": field,
                        "ok": got == value})
    if "sub_items" in spec:
        headings = [s.heading for s in plan.sections if s.kind == "achievements" and s.level >= 2]
        want = spec["sub_items"]
        results.append({"what": "sub_items", "kind": "sub_items", "expected": want, "got": headings,
                        "text": "order", "ok": headings[: len(want)] == want})
    if spec.get("balance"):
        subs = [s for s in plan.sections if s.kind == "achievements" and s.level >= 2]
        total = sum(len(s.notes) for s in subs)
        catch_all = sum(len(s.notes) for s in subs if not s.theme)
        results.append({"what": "balance", "kind": "balance", "expected": f"≤{total // 3}",
                        "got": f"{catch_all}/{total}", "text": "其他", "ok": catch_all * 3 <= total})
    return results


def run_case(ws: Workspace, notes_path: Path, spec_path: Path, classify: bool) -> list[dict[str, Any]]:
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    notes = ws.parse_notes(ws.read_text_file(notes_path), classify=classify)
    plan = ws.plan(notes)
    meta = {"org": notes.meta.org, "role": notes.meta.role, "person": notes.meta.person, "year": notes.meta.year}
    return [{**r, "case": notes_path.stem} for r in evaluate(plan, meta, spec)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--data-dir", type=Path, help="workspace with a corpus index (similarity votes too)")
    ap.add_argument("--verbose", action="store_true", help="list every expectation not met")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    cases = case_files(args.cases)
    if not cases:
        print(f"no cases in {args.cases}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(args.data_dir or Path(tmp))
        classify = args.data_dir is not None
        if classify:
            ws.ensure_index()
        results = [r for notes, spec in cases for r in run_case(ws, notes, spec, classify)]
    per: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        per[r["kind"] if r["what"] == "line" else r["what"]].append(r["ok"])
    summary = {k: {"ok": sum(v), "total": len(v), "pct": round(100.0 * sum(v) / len(v), 1)} for k, v in per.items()}
    lines = [r for r in results if r["what"] == "line"]
    summary["all_lines"] = {"ok": sum(r["ok"] for r in lines), "total": len(lines),
                            "pct": round(100.0 * sum(r["ok"] for r in lines) / max(len(lines), 1), 1)}
    if args.json:
        print(json.dumps({"summary": summary, "failures": [r for r in results if not r["ok"]]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"planning set: {len(cases)} cases, {'rules + similarity' if classify else 'rules only'}")
    for key, s in summary.items():
        print(f"  {key:<16} {s['ok']:>3}/{s['total']:<3} {s['pct']:5.1f}%")
    if args.verbose:
        for r in results:
            if not r["ok"]:
                print(f"  ✗ {r['case']} [{r['what']}] {r['text']}: expected {r['expected']}, got {r['got']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
