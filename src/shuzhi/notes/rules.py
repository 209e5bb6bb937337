"""The rules of data/note_rules.yaml, compiled once, and the keyword tests built on them.

These are the genre-independent rules for reading notes; a genre adds its own words for its kinds
(genre file `kinds.<kind>.note_words`, tried first) and says where unplaced lines go (`notes:`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from ..datafiles import load_data, rules_cached
from ..genre import Genre, SectionKind, resolve


@dataclass(frozen=True)
class _Rules:
    max_chars: int
    bullet_re: re.Pattern[str]
    heading_words: tuple[tuple[str, tuple[str, ...]], ...]
    markers: dict[str, str]
    cues: tuple[tuple[str, re.Pattern[str], bool], ...]  # (kind, pattern, drop the cue)
    problem_words: tuple[str, ...]
    not_problem: tuple[re.Pattern[str], ...]
    next_step_starts: tuple[str, ...]
    next_step_words: tuple[str, ...]
    done_words: tuple[str, ...]
    cause_starts: tuple[str, ...]
    classify_min_score: float
    figures_mean_done: bool
    meta_keys: dict[str, str]
    role_words: tuple[str, ...]
    org_words: tuple[str, ...]
    title_noise: tuple[str, ...]
    members_re: re.Pattern[str]
    report_min_headings: int
    report_heading_max_chars: int
    report_long_line_chars: int
    report_min_long_lines: int
    report_closing_words: tuple[str, ...]
    remarks: tuple[re.Pattern[str], ...] = ()
    prose_meta: tuple[re.Pattern[str], ...] = ()
    similarity_roles: tuple[str, ...] = ("achievements", "rectification")
    rectification: tuple[re.Pattern[str], ...] = ()
    heading_yields: dict[str, tuple[str, ...]] = dc_field(default_factory=dict)


def _cue_re(pattern: str, connectives: list[str]) -> re.Pattern[str]:
    """A cue at a sentence or clause start, optionally after a connective ("但存在的问题是")."""
    conn = "|".join(re.escape(c) for c in sorted(connectives, key=len, reverse=True))
    conn_part = f"(?:{conn})?" if conn else ""
    return re.compile(rf"(?:^|(?<=[，,：:、]))\s*{conn_part}(?P<cue>{pattern})")


@rules_cached
def compiled_rules() -> _Rules:
    d: dict[str, Any] = load_data("note_rules")
    markers = {str(w): kind for kind, words in d["markers"].items() for w in words}
    meta_keys = {str(w): field for field, words in d["meta_keys"].items() for w in words}
    return _Rules(
        max_chars=int(d.get("max_chars", 20000)),
        bullet_re=re.compile(r"^\s*(?:" + "|".join(d["bullets"]) + r")\s*"),
        heading_words=tuple((str(e["kind"]), tuple(str(w) for w in e["words"])) for e in d["heading_words"]),
        markers=markers,
        cues=tuple(
            (str(c["kind"]), _cue_re(str(c["pattern"]), list(d.get("cue_connectives", []))), bool(c.get("drop", False)))
            for c in d.get("prose_cues", [])
        ),
        problem_words=tuple(d["problem_words"]),
        not_problem=tuple(re.compile(p) for p in d.get("not_problem_patterns", [])),
        next_step_starts=tuple(d["next_step_starts"]),
        next_step_words=tuple(d["next_step_words"]),
        done_words=tuple(d["done_words"]),
        cause_starts=tuple(d["cause_starts"]),
        classify_min_score=float(d.get("classify_min_score", 0.0)),
        figures_mean_done=bool(d.get("figures_mean_done", True)),
        meta_keys=meta_keys,
        role_words=tuple(d["role_words"]),
        org_words=tuple(d["org_words"]),
        title_noise=tuple(d["title_noise"]),
        members_re=re.compile(d["members_pattern"]),
        report_min_headings=int(d.get("report_min_headings", 3)),
        report_heading_max_chars=int(d.get("report_heading_max_chars", 40)),
        report_long_line_chars=int(d.get("report_long_line_chars", 80)),
        report_min_long_lines=int(d.get("report_min_long_lines", 2)),
        report_closing_words=tuple(str(w) for w in d.get("report_closing_words", [])),
        remarks=tuple(re.compile(str(p)) for p in d.get("remark_patterns", [])),
        prose_meta=tuple(re.compile(str(p)) for p in d.get("prose_meta_patterns", [])),
        similarity_roles=tuple(str(r) for r in d.get("similarity_roles", ["achievements", "rectification"])),
        rectification=tuple(re.compile(str(p)) for p in d.get("rectification_patterns", [])),
        heading_yields={str(k): tuple(str(v) for v in vs) for k, vs in (d.get("heading_yields") or {}).items()},
    )


def prose_meta(text: str) -> dict[str, str]:
    """Unit, role, person and year stated in a sentence ("我是某支部书记王某"), first match of each field."""
    found: dict[str, str] = {}
    for pattern in compiled_rules().prose_meta:
        for m in pattern.finditer(text):
            for field, value in m.groupdict().items():
                if value and field not in found:
                    found[field] = value.strip()
    return found


def is_remark(text: str) -> bool:
    """A link, a file name or a note to the writer ("开头直接写…"): not a fact of the report."""
    return any(p.search(text) for p in compiled_rules().remarks)


def heading_kind(heading: str, genre: Genre | None = None) -> str | None:
    """The section a notes heading ("## 问题", "## 明年") announces, or None.

    The genre's own words come first ("## 对照检查" in a 对照检查材料); a shared word naming a kind
    the genre does not have announces nothing.
    """
    g = resolve(genre)
    own = g.note_kind(heading)
    if own is not None:
        return own
    for kind, words in compiled_rules().heading_words:
        if any(w in heading for w in words):
            return kind if g.has_kind(kind) else None
    return None


def marker_kind(word: str, genre: Genre | None = None) -> str | None:
    """The section an inline marker ("问题：…", "对照检查：…") files its text under, or None."""
    g = resolve(genre)
    dated = _LEADING_YEAR_RE.sub("", word)  # "2025年计划" is the marker "计划"
    for w in (word, dated) if dated and dated != word else (word,):
        for spec in g.kinds:
            if spec.body and w in spec.note_words:
                return str(spec.kind)
        kind = compiled_rules().markers.get(w)
        if kind is not None:
            return kind if g.has_kind(kind) else None
    return None


_LEADING_YEAR_RE = re.compile(r"^(?:19|20)\d{2}\s*年度?(?:的)?")


def rule_kind(text: str, genre: Genre | None = None) -> str | None:
    """Section by keyword rules, for a line with no marker or heading: the genre's (first) kind that
    behaves like causes, next steps or problems, or None."""
    found = rule_match(text, genre)
    return found[0] if found is not None else None


def rule_match(text: str, genre: Genre | None = None) -> tuple[str, str] | None:
    """(kind, the rule word that decided) for a line with no marker or heading, or None (see rule_kind)."""
    r = compiled_rules()
    role: SectionKind | None = None
    word = ""
    start = next((w for w in sorted(r.cause_starts, key=len, reverse=True) if text.startswith(w)), None)
    plan_start = next((w for w in sorted(r.next_step_starts, key=len, reverse=True) if text.startswith(w)), None)
    plan_word = next((w for w in r.next_step_words if w in text), None)
    masked = _mask_not_problems(text)
    problem_word = next((w for w in sorted(r.problem_words, key=len, reverse=True) if w in masked), None)
    last_year = next((m for p in r.rectification if (m := p.search(text)) is not None), None)
    if last_year is not None and resolve(genre).first_like(SectionKind.RECTIFICATION) is not None:
        said = last_year.group(0)
        role, word = SectionKind.RECTIFICATION, said if len(said) <= 12 else f"{said[:5]}…{said[-2:]}"
    elif start is not None:
        role, word = SectionKind.CAUSES, start
    elif plan_start is not None and not any(w in text for w in r.done_words):
        role, word = SectionKind.NEXT_STEPS, plan_start
    elif plan_word is not None:
        role, word = SectionKind.NEXT_STEPS, plan_word
    elif problem_word is not None:
        role, word = SectionKind.PROBLEMS, problem_word
    kind = resolve(genre).first_like(role) if role is not None else None
    return (str(kind), word) if kind is not None else None


def _mask_not_problems(text: str) -> str:
    """TEXT with success wording ("未发生…", "整改问题17个") blanked out, so that its negative
    or problem words do not make it a problem."""
    for pattern in compiled_rules().not_problem:
        text = pattern.sub(lambda m: "\0" * len(m.group(0)), text)
    return text
