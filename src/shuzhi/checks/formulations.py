"""提法规范: standard formulations quoted exactly (习近平总书记, 党中央、国务院, the order of “四个意识” …).

The rules are data (data/formulations.yaml: wrong → right, with the source); a finding names the
correction and its source and never changes the draft.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..datafiles import load_data, rules_cached
from ..kinds import Severity
from ..models import Finding
from .ledger import context_of


@dataclass(frozen=True)
class Formulation:
    wrong: re.Pattern[str]
    right: str  # a replacement template: may use the groups of `wrong`
    source: str
    note: str = ""


@dataclass(frozen=True)
class Deviation:
    found: str  # as the draft writes it
    right: str  # the correct form
    source: str
    note: str
    start: int
    end: int


@rules_cached
def formulations() -> tuple[Formulation, ...]:
    entries = (load_data("formulations") or {}).get("entries") or []
    return tuple(
        Formulation(
            wrong=re.compile(str(e["wrong"])),
            right=str(e["right"]),
            source=str(e.get("source", "")),
            note=str(e.get("note", "")),
        )
        for e in entries
        if isinstance(e, dict) and e.get("wrong") and e.get("right")
    )


def clear_formulation_rules() -> None:
    formulations.cache_clear()


def find_deviations(text: str) -> list[Deviation]:
    """Every deviating formulation of TEXT in reading order; a span is reported by its first entry only."""
    taken: list[tuple[int, int]] = []
    out: list[Deviation] = []
    for rule in formulations():
        for m in rule.wrong.finditer(text):
            if not m.group() or any(m.start() < b and a < m.end() for a, b in taken):
                continue
            right = m.expand(rule.right)
            if right == m.group():
                continue
            taken.append((m.start(), m.end()))
            out.append(Deviation(m.group(), right, rule.source, rule.note, m.start(), m.end()))
    return sorted(out, key=lambda d: d.start)


def formulation_findings(draft_text: str) -> list[Finding]:
    """One warning per deviation: “习总书记”应写作“习近平总书记”（依据：…）."""
    out = []
    for d in find_deviations(draft_text):
        note = f"，{d.note}" if d.note else ""
        source = f"（依据：{d.source}）" if d.source else ""
        out.append(Finding(
            check="formulation",
            severity=Severity.WARN,
            message=f"“{d.found}”应写作“{d.right}”{note}{source}。请按规范提法改正。",
            evidence=context_of(draft_text, d.start, d.end, 10),
        ))
    return out
