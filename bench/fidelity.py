"""Fidelity of the checks on a development set of drafts with planted faults (issue 7, item 6).

    PYTHONPATH=src python bench/fidelity.py [--cases tests/data/fidelity] [--json] [--verbose]
                                            [--data-dir DIR]

A script that measures, not a test: it always exits 0.

The set (see tests/data/fidelity/):
  case_NN/notes.md     a secretary's notes
  case_NN/clean.md     a draft faithful to the notes, in the format `shuzhi draft` exports
  case_NN/faulty.md    the same draft with 9 faults planted, one of each kind
  case_NN/faults.json  {"year": …, "faults": [{kind, clean_text, faulty_text, marker, checks}, …]}
  rewrite/weak_NN.md   a 存在问题及原因 section; weak_NN.json {"defects": [rubric check names], "next_steps": "…"}

Only the public API is used: `Workspace.open(data_dir).check(draft, notes)` and
`Workspace.rewrite(text, use_model=False).diagnosis`. The corpus index is built once in a temporary
data directory (`ensure_index()`, about 40 s for the built-in corpus) so the leakage check has the
example texts; `--data-dir` reuses a directory whose index is already built.

What is counted
---------------
Normalisation, applied to markers, fault texts and findings alike: whitespace removed; every
placeholder spelling (XX, xx, X, ＸＸ, 〔X〕, *, 某某) replaced by one token, since the checks report
placeholders in their normal form 〔X〕.

A planted fault is CAUGHT when at least one finding of the faulty draft
  - has a check name among the fault's `checks`, and
  - overlaps the fault: the finding's text (evidence + message) contains the fault's whole marker,
    or shares a common run of at least min(8, len) characters with the marker or with the planted
    span (the part of `faulty_text` that differs from `clean_text`, common prefix and suffix cut).
A marker is what a checker must point at: the invented figure ("36人次"), the invented name, the
copied passage, the stale sentence, the placeholder with its neighbour ("XX街道党工委"), the
dropped note figure ("9次", quoted by the ledger's message), the headline of the problem left
without a measure, the third-person name. A finding that quotes only a neighbouring figure or
sentence therefore does not count, and an uninformative finding (no evidence, generic message)
cannot catch a fault.

A FALSE FINDING is a finding on a clean draft, excluding placeholder findings (the clean drafts keep
the placeholders a model leaves for the user, 〔X〕月底前) and info-level findings. Blocking ones (severity
"block") are counted separately as well.

The rewrite set: an annotated defect is FLAGGED when the diagnosis has a finding of that check
name; a FALSE FLAG is a distinct check name in a section's diagnosis that its annotation lacks
(for the strong sections, annotated `defects: []`, every flag is false).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shuzhi.api import Finding, Severity, Workspace

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CASES = ROOT / "tests" / "data" / "fidelity"
MIN_RUN = 8
PLACEHOLDER_TOKEN = "\x00"
_PLACEHOLDER_RE = re.compile(r"〔[XxＸｘ]+〕|[XxＸｘ]{1,4}(?![A-Za-z])|\*{1,4}|某某")
_WS_RE = re.compile(r"\s+")
# The nine fault kinds, in report order: one list, shared with tests/test_fidelity_set.py.
KIND_ORDER = tuple(json.loads((DEFAULT_CASES / "fault_kinds.json").read_text(encoding="utf-8")))


def normalise(text: str) -> str:
    text = _WS_RE.sub("", text)
    return _PLACEHOLDER_RE.sub(PLACEHOLDER_TOKEN, text)


def longest_common_run(a: str, b: str) -> int:
    """Length of the longest common substring (dynamic programming, fine for short texts)."""
    if not a or not b:
        return 0
    best = 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b, 1):
            if ca == cb:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


def planted_span(clean_text: str, faulty_text: str) -> str:
    """The part of faulty_text that differs from clean_text (common prefix and suffix cut)."""
    i = 0
    while i < min(len(clean_text), len(faulty_text)) and clean_text[i] == faulty_text[i]:
        i += 1
    j = 0
    while (j < min(len(clean_text), len(faulty_text)) - i
           and clean_text[-1 - j] == faulty_text[-1 - j]):
        j += 1
    return faulty_text[i : len(faulty_text) - j]


def overlaps(finding: Finding, fault: dict[str, Any]) -> bool:
    found = normalise(f"{finding.evidence} {finding.message}")
    marker = normalise(fault["marker"])
    if marker and marker in found:
        return True
    for target in (marker, normalise(planted_span(fault["clean_text"], fault["faulty_text"]))):
        if target and longest_common_run(found, target) >= min(MIN_RUN, len(target)):
            return True
    return False


def counts_as_false(finding: Finding) -> bool:
    return finding.check != "placeholder" and finding.severity != Severity.INFO


@dataclass
class Tally:
    planted: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    false_findings: list[str] = field(default_factory=list)
    false_by_check: Counter[str] = field(default_factory=Counter)
    false_blocking: int = 0
    clean_drafts: int = 0
    defects: Counter[str] = field(default_factory=Counter)
    flagged: Counter[str] = field(default_factory=Counter)
    false_flags: Counter[str] = field(default_factory=Counter)
    rewrite_misses: list[str] = field(default_factory=list)
    rewrite_false: list[str] = field(default_factory=list)
    sections: int = 0


def describe(f: Finding) -> str:
    ev = f" ← {f.evidence[:60]}" if f.evidence else ""
    return f"[{f.check}/{f.severity}] {f.message[:90]}{ev}"


def run_cases(ws: Workspace, cases_dir: Path, tally: Tally) -> None:
    for case in sorted(p for p in cases_dir.glob("case_*") if p.is_dir()):
        notes = (case / "notes.md").read_text(encoding="utf-8")
        spec = json.loads((case / "faults.json").read_text(encoding="utf-8"))
        clean = ws.check((case / "clean.md").read_text(encoding="utf-8"), notes)
        tally.clean_drafts += 1
        for f in clean.findings:
            if counts_as_false(f):
                tally.false_findings.append(f"{case.name}: {describe(f)}")
                tally.false_by_check[f.check] += 1
                tally.false_blocking += f.severity == Severity.BLOCK
        faulty = ws.check((case / "faulty.md").read_text(encoding="utf-8"), notes)
        for fault in spec["faults"]:
            kind = fault["kind"]
            tally.planted[kind] += 1
            expected = set(fault["checks"])
            if any(f.check in expected and overlaps(f, fault) for f in faulty.findings):
                tally.caught[kind] += 1
            else:
                tally.misses.append(f"{case.name}: {kind} ({'/'.join(sorted(expected))}) — {fault['marker']}")


def run_rewrite(ws: Workspace, rewrite_dir: Path, tally: Tally) -> None:
    for md in sorted(rewrite_dir.glob("*.md")):
        ann = json.loads(md.with_suffix(".json").read_text(encoding="utf-8"))
        text = md.read_text(encoding="utf-8")
        draft = ""
        if ann.get("next_steps"):
            # the section (which carries its own heading) followed by the next steps, as in a draft
            draft = f"{text.rstrip()}\n\n## 下一步工作思路和措施\n\n{ann['next_steps']}\n"
        result = ws.rewrite(text, draft_text=draft, use_model=False)
        tally.sections += 1
        annotated = set(ann["defects"])
        got = {f.check: f for f in result.diagnosis}
        for d in sorted(annotated):
            tally.defects[d] += 1
            if d in got:
                tally.flagged[d] += 1
            else:
                tally.rewrite_misses.append(f"{md.stem}: {d}")
        for check, f in sorted(got.items()):
            if check not in annotated:
                tally.false_flags[check] += 1
                tally.rewrite_false.append(f"{md.stem}: {describe(f)}")


def summary(tally: Tally) -> dict[str, Any]:
    kinds = [k for k in KIND_ORDER if k in tally.planted] + sorted(set(tally.planted) - set(KIND_ORDER))
    rw = sorted(set(tally.defects) | set(tally.false_flags))
    return {
        "faults": {k: {"caught": tally.caught[k], "planted": tally.planted[k]} for k in kinds},
        "faults_total": {"caught": sum(tally.caught.values()), "planted": sum(tally.planted.values())},
        "clean_drafts": tally.clean_drafts,
        "false_findings": len(tally.false_findings),
        "false_blocking": tally.false_blocking,
        "false_by_check": dict(tally.false_by_check.most_common()),
        "rewrite": {
            "sections": tally.sections,
            "by_check": {c: {"flagged": tally.flagged[c], "annotated": tally.defects[c],
                             "false_flags": tally.false_flags[c]} for c in rw},
            "flagged": sum(tally.flagged.values()),
            "annotated": sum(tally.defects.values()),
            "false_flags": sum(tally.false_flags.values()),
        },
        "misses": tally.misses,
        "false": tally.false_findings,
        "rewrite_misses": tally.rewrite_misses,
        "rewrite_false": tally.rewrite_false,
    }


def print_summary(s: dict[str, Any], verbose: bool) -> None:
    print("Planted faults caught / planted")
    for kind, c in s["faults"].items():
        print(f"  {kind:26} {c['caught']:3} / {c['planted']}")
    t = s["faults_total"]
    print(f"  {'overall':26} {t['caught']:3} / {t['planted']}")
    print(f"False findings on {s['clean_drafts']} clean drafts (placeholder and info excluded): "
          f"{s['false_findings']}, of them blocking: {s['false_blocking']}")
    for check, n in s["false_by_check"].items():
        print(f"  {check:26} {n:3}")
    r = s["rewrite"]
    print(f"Rewrite diagnosis on {r['sections']} sections: defects flagged {r['flagged']} / {r['annotated']}, "
          f"false flags {r['false_flags']}")
    for check, c in r["by_check"].items():
        print(f"  {check:26} {c['flagged']:3} / {c['annotated']:<3} false {c['false_flags']}")
    if verbose:
        for title, key in (("Missed faults", "misses"), ("False findings on clean drafts", "false"),
                           ("Missed rewrite defects", "rewrite_misses"), ("False rewrite flags", "rewrite_false")):
            print(f"\n{title}:")
            for line in s[key] or ["(none)"]:
                print(f"  {line}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES, help="the development set (default: %(default)s)")
    ap.add_argument("--json", action="store_true", help="print a machine-readable summary")
    ap.add_argument("--verbose", action="store_true", help="list each miss and each false finding")
    ap.add_argument("--data-dir", type=Path, default=None, help="reuse this data dir (and its index)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="shuzhi-fidelity-") as tmp:
        ws = Workspace.open(args.data_dir or tmp)
        ws.ensure_index(on_progress=None if args.json else lambda m: print(m, file=sys.stderr))
        tally = Tally()
        run_cases(ws, args.cases, tally)
        if (args.cases / "rewrite").is_dir():
            run_rewrite(ws, args.cases / "rewrite", tally)
    s = summary(tally)
    if args.json:
        print(json.dumps(s, ensure_ascii=False, indent=1))
    else:
        print_summary(s, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
