"""Bullet notes → facts (figures, quoted names) and the report section each belongs to.

Assignment order: an explicit marker ("问题：…") or the current Markdown heading, then the
rules of data/note_rules.yaml, then the injected `classify` callback (similarity to corpus
passages), then "achievements".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .datafiles import load_data
from .errors import InputRejected
from .figures import extract_figures, is_year_like
from .models import SECTION_KINDS, Figure, NoteItem, NotesMeta, ParsedNotes

Classifier = Callable[[str], tuple[str, float]]

_HEADING_RE = re.compile(r"^#{1,6}\s*(.*?)\s*#*$")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_NAME_RE = re.compile(r"“([^”\n]{1,40})”|\"([^\"\n]{1,40})\"|《([^》\n]{1,60})》|「([^」\n]{1,40})」|『([^』\n]{1,40})』")
_KV_RE = re.compile(r"^([^：:\s]{1,10})\s*[：:]\s*(.*)$")
_PAREN_RE = re.compile(r"[（(]([^（）()]*)[）)]")
_ASSIGNABLE = ("achievements", "rectification", "problems", "causes", "next_steps")


@dataclass(frozen=True)
class _Rules:
    max_chars: int
    bullet_re: re.Pattern[str]
    heading_words: tuple[tuple[str, tuple[str, ...]], ...]
    markers: dict[str, str]
    separators: re.Pattern[str]
    problem_words: tuple[str, ...]
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


@lru_cache(maxsize=1)
def _rules() -> _Rules:
    d: dict[str, Any] = load_data("note_rules")
    markers = {str(w): kind for kind, words in d["markers"].items() for w in words}
    meta_keys = {str(w): field for field, words in d["meta_keys"].items() for w in words}
    return _Rules(
        max_chars=int(d.get("max_chars", 20000)),
        bullet_re=re.compile(r"^\s*(?:" + "|".join(d["bullets"]) + r")\s*"),
        heading_words=tuple((str(e["kind"]), tuple(str(w) for w in e["words"])) for e in d["heading_words"]),
        markers=markers,
        separators=re.compile(d.get("item_separators", "[；;]")),
        problem_words=tuple(d["problem_words"]),
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
    )


def clear_note_rules() -> None:
    _rules.cache_clear()


def heading_kind(heading: str) -> str | None:
    """The section a notes heading ("## 问题", "## 明年") announces, or None."""
    for kind, words in _rules().heading_words:
        if any(w in heading for w in words):
            return kind
    return None


def rule_kind(text: str) -> str | None:
    """Section by keyword rules, for a line with no marker or heading."""
    r = _rules()
    if text.startswith(r.cause_starts):
        return "causes"
    done = any(w in text for w in r.done_words)
    if (text.startswith(r.next_step_starts) and not done) or any(w in text for w in r.next_step_words):
        return "next_steps"
    if any(w in text for w in r.problem_words):
        return "problems"
    return None


def extract_names(text: str) -> tuple[str, ...]:
    """Quoted names and titles: “…” "…" 《…》 「…」."""
    names: list[str] = []
    for m in _NAME_RE.finditer(text):
        name = next(g for g in m.groups() if g)
        if m.group(3):
            name = f"《{name}》"
        if name not in names:
            names.append(name)
    return tuple(names)


# ---------------------------------------------------------------- line scanning
@dataclass(frozen=True)
class _Line:
    line_no: int
    text: str  # stripped, bullet removed
    role: str  # "title" | "heading" | "meta" | "marker" | "item"
    kind: str | None = None  # section kind for heading/marker lines
    meta: tuple[tuple[str, str], ...] = ()  # (field, value) for meta/title lines


def _strip_bullet(line: str) -> str:
    return _rules().bullet_re.sub("", line, count=1).strip()


def _parse_title(text: str) -> tuple[tuple[str, str], ...]:
    r = _rules()
    meta: list[tuple[str, str]] = []
    m = _YEAR_RE.search(text)
    if m:
        meta.append(("year", m.group(1)))
    rest = _YEAR_RE.sub(" ", text)
    rest = re.sub(r"^\s*年度?", " ", rest)
    tokens = [t.strip("：:，,") for t in re.split(r"\s+", rest) if t.strip("：:，,")]
    orgs = [t for t in tokens if t not in r.title_noise and any(w in t for w in r.org_words)]
    orgs = [t for t in orgs if not any(t.startswith(n) or t.endswith(n) for n in ("书记述职", "述职"))] or orgs
    if orgs:
        meta.append(("org", " ".join(orgs)))
    return tuple(meta)


def _parse_meta(text: str) -> tuple[tuple[str, str], ...] | None:
    """(field, value) pairs of a meta line ("单位：…", "本人：支部书记 王某", "党员38名…"), else None."""
    r = _rules()
    m = _KV_RE.match(text)
    if m and m.group(1) in r.meta_keys and m.group(2).strip():
        field, value = r.meta_keys[m.group(1)], m.group(2).strip()
        out: list[tuple[str, str]] = []
        if field == "org":
            for paren in _PAREN_RE.findall(value):
                if r.members_re.search(paren):
                    out.append(("members", paren.strip()))
                    value = value.replace(f"（{paren}）", "").replace(f"({paren})", "")
            out.append(("org", value.strip()))
        elif field == "person":
            parts = [p for p in re.split(r"[\s，,、/]+", value) if p]
            roles = [p for p in parts if any(w in p for w in r.role_words)]
            people = [p for p in parts if p not in roles]
            if roles:
                out.append(("role", " ".join(roles)))
            if people:
                out.append(("person", " ".join(people)))
        elif field == "year":
            ym = _YEAR_RE.search(value)
            if not ym:
                return None
            out.append(("year", ym.group(1)))
        else:
            out.append((field, value))
        return tuple(out)
    if re.match(r"^(?:共有|现有)?党员\s*\d+\s*[名人]", text):
        return (("members", text),)
    return None


def _scan(text: str) -> Iterator[_Line]:
    r = _rules()
    seen_content = False
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or not re.search(r"[\w\u4e00-\u9fff]", line):
            continue
        first, seen_content = not seen_content, True
        hm = _HEADING_RE.match(line)
        if hm:
            heading = hm.group(1)
            if first and (_YEAR_RE.search(heading) or any(n in heading for n in r.title_noise)):
                yield _Line(line_no, heading, "title", meta=_parse_title(heading))
            else:
                yield _Line(line_no, heading, "heading", kind=heading_kind(heading))
            continue
        body = _strip_bullet(line)
        if not body:
            continue
        meta = _parse_meta(body)
        if meta is not None:
            yield _Line(line_no, body, "meta", meta=meta)
            continue
        if first and _YEAR_RE.search(body) and len(body) <= 60 and not _KV_RE.match(body):
            if all(is_year_like(f) for f in extract_figures(body)):
                yield _Line(line_no, body, "title", meta=_parse_title(body))
                continue
        km = _KV_RE.match(body)
        if km and km.group(1) in r.markers:
            yield _Line(line_no, km.group(2).strip(), "marker", kind=r.markers[km.group(1)])
            continue
        # A bare heading-like line without '#': "问题" / "明年打算：" on its own.
        bare = body.rstrip("：:")
        if len(bare) <= 8 and bare in r.markers:
            yield _Line(line_no, "", "marker", kind=r.markers[bare])
            continue
        yield _Line(line_no, body, "item")


# ---------------------------------------------------------------- public API
def parse_notes(text: str, year: int | None = None, classify: Classifier | None = None) -> ParsedNotes:
    """Read what people type (bullets, headings, inline markers, meta lines) into ParsedNotes."""
    r = _rules()
    if text is None or not text.strip():
        raise InputRejected("笔记为空，请先输入本年度的工作笔记（做了什么、数字、问题、明年打算）。", "empty notes", reason="empty")
    if len(text) > r.max_chars:
        raise InputRejected(
            f"笔记过长（{len(text)}字），请控制在{r.max_chars}字以内，只保留要点和数字。",
            f"notes of {len(text)} chars",
            reason="too_large",
        )
    meta: dict[str, str] = {}
    items: list[NoteItem] = []
    current: str | None = None
    for line in _scan(text):
        if line.role in ("title", "meta"):
            for field, value in line.meta:
                meta.setdefault(field, value)
            continue
        if line.role == "heading":
            current = line.kind
            continue
        if line.role == "marker":
            current = line.kind
            parts = [p.strip(" 。.，,") for p in r.separators.split(line.text)] if line.text else []
            for part in parts:
                if part:
                    items.append(_make_item(part, line.kind or "achievements", "marker", line.line_no))
            continue
        kind, by = _assign(line.text, current, classify)
        items.append(_make_item(line.text, kind, by, line.line_no))
    if not items:
        raise InputRejected("笔记中没有可用的内容：请逐条写下做了什么、数字、问题和明年打算。", "no usable lines", reason="empty")
    meta_year = int(meta["year"]) if "year" in meta else None
    notes_meta = NotesMeta(
        org=meta.get("org", ""),
        year=year if year is not None else meta_year,
        person=meta.get("person", ""),
        role=meta.get("role", ""),
        members=meta.get("members", ""),
    )
    return ParsedNotes(meta=notes_meta, items=tuple(items), raw_text=text)


def _assign(text: str, current: str | None, classify: Classifier | None) -> tuple[str, str]:
    if current in _ASSIGNABLE:
        return current, "heading"
    kind = rule_kind(text)
    if kind:
        return kind, "rule"
    # A line that reports counts ("全年18次") is a thing done; similarity to corpus next steps
    # ("严格落实第一议题制度") must not pull it out of the achievements.
    if _rules().figures_mean_done and any(not is_year_like(f) for f in extract_figures(text)):
        return "achievements", "rule"
    if classify is not None:
        try:
            guess, score = classify(text)
        except Exception:  # noqa: BLE001 - a failing classifier must not lose the note
            guess, score = "", 0.0
        if guess in _ASSIGNABLE and score >= _rules().classify_min_score:
            return guess, "similarity"
    return "achievements", "default"


def _make_item(text: str, kind: str, by: str, line_no: int) -> NoteItem:
    assert kind in SECTION_KINDS
    return NoteItem(
        text=text,
        section=kind,
        assigned_by=by,
        line_no=line_no,
        figures=tuple(extract_figures(text)),
        names=extract_names(text),
    )


def note_figures(notes: ParsedNotes, include_years: bool = False) -> list[tuple[Figure, str]]:
    """Every figure the notes state, with the line it comes from (items and meta lines).

    Years ("2024年" in a title) are left out unless include_years: they date the report,
    they are not facts to carry into it.
    """
    out: list[tuple[Figure, str]] = []
    for line in _scan(notes.raw_text):
        if line.role in ("meta", "title"):
            for fig in extract_figures(line.text):
                if include_years or not is_year_like(fig):
                    out.append((fig, line.text))
    for item in notes.items:
        for fig in item.figures:
            if include_years or not is_year_like(fig):
                out.append((fig, item.text))
    return out
