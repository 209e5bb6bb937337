"""Is every part of the report there (the genre's kinds, in the genre's order), and do problems
and measures correspond?"""

from __future__ import annotations

import re
from typing import Any

from ..genre import Genre, SectionKind, Severity, is_builtin_kind, resolve
from ..models import Finding, ParsedDocument, Section
from .rubric import split_items, split_problems


def _rules(g: Genre) -> dict[str, Any]:
    data: dict[str, Any] = dict(g.rubric.get("structure") or {})
    return data


def kind_name(kind: str, genre: Genre | None = None) -> str:
    """Chinese name of a section kind (the genre's `kinds.<kind>.name`)."""
    return resolve(genre).kind_name(kind)


def _sections_like(doc: ParsedDocument, kind: str, g: Genre) -> list[Section]:
    """The sections of KIND and, for a built-in kind, of the kinds the genre adds that behave like it."""
    if not is_builtin_kind(kind):
        return doc.sections_of(kind)
    like = {kind, *g.kinds_like(SectionKind(kind))}
    return [s for s in doc.sections if s.kind in like]


def _headings_are_content(kind: str, g: Genre) -> bool:
    """Sub-headings of a 述职 problems section are often the problem itself; the aspect headings
    of a genre whose sub-items go by aspect ("在党性修养提高方面") are structure only."""
    spec = g.spec(kind)
    return spec is None or spec.sub_items is None or spec.sub_items.by != "aspect"


def section_text(doc: ParsedDocument, kind: str, genre: Genre | None = None) -> str:
    """All text of sections of KIND (and of the genre's kinds like it), sub-headings included
    when they carry content (they are often the problem itself)."""
    g = resolve(genre)
    parts = []
    for s in _sections_like(doc, kind, g):
        if s.level >= 2 and s.heading and _headings_are_content(s.kind, g):
            parts.append(f"{s.heading}。{s.text}" if s.text else f"{s.heading}。")
        elif s.text:
            parts.append(s.text)
    return "\n".join(parts)


def _count_items(sections: list[Section], fallback_text: str, g: Genre) -> int:
    subs = [s for s in sections if s.level >= 2 and s.heading]
    if subs:
        return len(subs)
    return len(split_items(fallback_text, g)[1]) if fallback_text.strip() else 0


def problem_count(doc: ParsedDocument, genre: Genre | None = None) -> int:
    g = resolve(genre)
    sections = _sections_like(doc, SectionKind.PROBLEMS, g)
    subs = [s for s in sections if s.level >= 2 and s.heading]
    if subs:
        return len(subs)
    return len(split_problems(section_text(doc, SectionKind.PROBLEMS, g), genre=g).problems)


def _present(doc: ParsedDocument, draft_text: str, g: Genre) -> set[str]:
    rules = _rules(g)
    present = {s.kind for s in doc.sections}
    if doc.title:
        present |= set(g.kinds_like(SectionKind.TITLE))
    problems_text = section_text(doc, SectionKind.PROBLEMS, g)
    causes = set(g.kinds_like(SectionKind.CAUSES))
    if causes and not present & causes and re.search(str(rules.get("causes_inline") or "(?!)"), problems_text):
        present |= causes
    lines = [ln.strip() for ln in draft_text.splitlines() if ln.strip()]
    closing = set(g.kinds_like(SectionKind.CLOSING))
    if not present & closing and lines and any(m in lines[-1] for m in rules.get("closing_markers") or []):
        present |= closing
    opening = set(g.kinds_like(SectionKind.OPENING))
    if not present & opening and any(m in draft_text[:600] for m in rules.get("opening_markers") or []):
        present |= opening
    return present


def structure_findings(doc: ParsedDocument, draft_text: str, genre: Genre | None = None) -> list[Finding]:
    g = resolve(genre)
    kinds = {s.kind for s in doc.sections}
    present = _present(doc, draft_text, g)
    expected = "、".join(g.kind_name(k) for k in g.required_kinds)
    out: list[Finding] = []
    for kind in g.required_kinds:
        if kind not in present:
            out.append(
                Finding(
                    check="structure",
                    severity=Severity.WARN,
                    message=f"草稿缺少「{g.kind_name(kind)}」部分。{g.short_title}一般依次包括{expected}。",
                    section=kind,
                )
            )
    order = order_finding(doc, g)
    if order is not None:
        out.append(order)
    problems, next_steps = set(g.kinds_like(SectionKind.PROBLEMS)), set(g.kinds_like(SectionKind.NEXT_STEPS))
    if kinds & problems and kinds & next_steps:
        n_problems = problem_count(doc, g)
        n_measures = _count_items(_sections_like(doc, SectionKind.NEXT_STEPS, g),
                                  section_text(doc, SectionKind.NEXT_STEPS, g), g)
        if n_problems and n_measures < n_problems:
            out.append(
                Finding(
                    check="structure",
                    severity=Severity.WARN,
                    message=f"存在问题{n_problems}条，{g.kind_name(SectionKind.NEXT_STEPS)}只有{n_measures}条，"
                    "问题与措施没有一一对应。每个问题都应有一条针对性的措施。",
                    evidence=f"问题{n_problems}条；措施{n_measures}条",
                    section=g.first_like(SectionKind.NEXT_STEPS) or SectionKind.NEXT_STEPS,
                )
            )
    return out


def order_finding(doc: ParsedDocument, genre: Genre | None = None) -> Finding | None:
    """A warning when a part comes before one that should precede it (下一步 before 存在问题)."""
    g = resolve(genre)
    order = list(g.kind_keys)
    rank = {k: i for i, k in enumerate(order)}
    first_seen: list[str] = []
    for s in doc.sections:
        if s.kind in rank and s.kind not in first_seen:
            first_seen.append(s.kind)
    misplaced = [
        (later, earlier)
        for i, earlier in enumerate(first_seen)
        for later in first_seen[i + 1 :]
        if rank[later] < rank[earlier]
    ]
    if not misplaced:
        return None
    later, earlier = misplaced[0]
    expected = "、".join(g.kind_name(k) for k in order)
    return Finding(
        check="structure",
        severity=Severity.WARN,
        message=f"各部分顺序不对：「{g.kind_name(earlier)}」排在了「{g.kind_name(later)}」之前。"
        f"{g.short_title}一般依次为{expected}（没有的部分可以省略），请调整顺序。",
        evidence=" → ".join(g.kind_name(k) for k in first_seen),
        section=earlier,
    )
