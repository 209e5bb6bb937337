"""Is every part of a 述职报告 there, and do problems and measures correspond?"""

from __future__ import annotations

import re
from typing import Any

from ..datafiles import load_data
from ..models import Finding, ParsedDocument, Section
from .rubric import split_items, split_problems


def _rules() -> dict[str, Any]:
    data: dict[str, Any] = load_data("rubric")
    return data


def kind_name(kind: str) -> str:
    return str(_rules()["kind_names"].get(kind, kind))


def section_text(doc: ParsedDocument, kind: str) -> str:
    """All text of sections of KIND, sub-headings included (they are often the problem itself)."""
    parts = []
    for s in doc.sections_of(kind):
        if s.level >= 2 and s.heading:
            parts.append(f"{s.heading}。{s.text}" if s.text else f"{s.heading}。")
        elif s.text:
            parts.append(s.text)
    return "\n".join(parts)


def _count_items(sections: list[Section], fallback_text: str) -> int:
    subs = [s for s in sections if s.level >= 2 and s.heading]
    if subs:
        return len(subs)
    return len(split_items(fallback_text)[1]) if fallback_text.strip() else 0


def problem_count(doc: ParsedDocument) -> int:
    sections = doc.sections_of("problems")
    subs = [s for s in sections if s.level >= 2 and s.heading]
    if subs:
        return len(subs)
    return len(split_problems(section_text(doc, "problems")).problems)


def structure_findings(doc: ParsedDocument, draft_text: str) -> list[Finding]:
    rules = _rules()["structure"]
    kinds = {s.kind for s in doc.sections}
    present = set(kinds)
    if doc.title:
        present.add("title")
    problems_text = section_text(doc, "problems")
    if "causes" not in present and re.search(rules["causes_inline"], problems_text):
        present.add("causes")
    lines = [ln.strip() for ln in draft_text.splitlines() if ln.strip()]
    if "closing" not in present and lines and any(m in lines[-1] for m in rules["closing_markers"]):
        present.add("closing")
    if "opening" not in present and any(m in draft_text[:600] for m in rules["opening_markers"]):
        present.add("opening")
    out: list[Finding] = []
    for kind in rules["required"]:
        if kind not in present:
            out.append(
                Finding(
                    check="structure",
                    severity="warn",
                    message=f"草稿缺少「{kind_name(kind)}」部分。述职报告一般依次包括标题、开头段、主要做法和成效、"
                    "存在问题及原因、下一步措施和结束语。",
                    section=kind,
                )
            )
    order = order_finding(doc)
    if order is not None:
        out.append(order)
    if "problems" in kinds and "next_steps" in kinds:
        n_problems = problem_count(doc)
        n_measures = _count_items(doc.sections_of("next_steps"), section_text(doc, "next_steps"))
        if n_problems and n_measures < n_problems:
            out.append(
                Finding(
                    check="structure",
                    severity="warn",
                    message=f"存在问题{n_problems}条，下一步措施只有{n_measures}条，问题与措施没有一一对应。"
                    "每个问题都应有一条针对性的措施。",
                    evidence=f"问题{n_problems}条；措施{n_measures}条",
                    section="next_steps",
                )
            )
    return out


def order_finding(doc: ParsedDocument) -> Finding | None:
    """A warning when a part comes before one that should precede it (下一步 before 存在问题)."""
    order = [str(k) for k in _rules()["structure"]["order"]]
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
    expected = "、".join(kind_name(k) for k in order)
    return Finding(
        check="structure",
        severity="warn",
        message=f"各部分顺序不对：「{kind_name(earlier)}」排在了「{kind_name(later)}」之前。"
        f"述职报告一般依次为{expected}（没有的部分可以省略），请调整顺序。",
        evidence=" → ".join(kind_name(k) for k in first_seen),
        section=earlier,
    )
