"""Bullet notes → facts (figures, quoted names) and the report section each belongs to.

The notes are first cleaned line by line (ads, watermarks and paywall markers removed,
placeholders such as xx/X次 turned into 〔X〕, known typos fixed), keeping bullets, headings and
line numbers. Every line is split into sentences, and a sentence at a cue phrase
("存在的问题是…", "明年…", "原因是…"), so that notes written as one paragraph of prose are
read as well as bullet lists.

Assignment order: an explicit marker ("问题：…"), cue phrase or the current heading, then the
rules of data/note_rules.yaml (cause, next step, problem — negative wording wins over
figures), then "a counted fact is work done", then the injected `classify` callback
(similarity to corpus passages), then the genre's default kind ("achievements" for a 述职报告).
The kinds, the genre's own heading words and those defaults come from the genre (`genre=`).

Cleaning, line roles and sentence splitting are in `notes_scan`; the compiled rules in `notes_rules`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from ..errors import InputRejected
from ..figures import extract_figures, is_year_like
from ..genre import Genre, SectionKind, resolve
from ..models import Figure, NoteItem, NotesMeta, ParsedNotes
from .rules import compiled_rules, prose_meta, rule_match
from .scan import cue_spans, prepare_notes, scan_lines, split_sentences

Classifier = Callable[[str], tuple[str, float]]
# Note → (theme, confidence) by similarity, for achievements no theme keyword places (themes.yaml names).
ThemeClassifier = Callable[[str], tuple[str, float]]

_NAME_RE = re.compile(r"“([^”\n]{1,40})”|\"([^\"\n]{1,40})\"|《([^》\n]{1,60})》|「([^」\n]{1,40})」|『([^』\n]{1,40})』")


def clear_note_rules() -> None:
    compiled_rules.cache_clear()
    prepare_notes.cache_clear()


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


# ---------------------------------------------------------------- public API
def parse_notes(text: str, year: int | None = None, classify: Classifier | None = None,
                genre: Genre | None = None, classify_theme: ThemeClassifier | None = None) -> ParsedNotes:
    """Read what people type (bullets, headings, inline markers, meta lines, prose) into ParsedNotes.

    Ads and watermarks are removed first (listed in `removed`); a pasted finished report is
    recognised (`looks_like_report`) and read by its own section headings. Lines are filed under
    the genre's kinds (None: the default genre).
    """
    r = compiled_rules()
    g = resolve(genre)
    assignable = g.body_kinds
    opening = g.first_like(SectionKind.OPENING) or SectionKind.OPENING
    closing = g.first_like(SectionKind.CLOSING) or SectionKind.CLOSING
    if text is None or not text.strip():
        raise InputRejected("笔记为空，请先输入本年度的工作笔记（做了什么、数字、问题、明年打算）。", "empty notes", reason="empty")
    if len(text) > r.max_chars:
        raise InputRejected(
            f"笔记过长（{len(text)}字），请控制在{r.max_chars}字以内，只保留要点和数字。",
            f"notes of {len(text)} chars",
            reason="too_large",
        )
    cleaned, removed, report = prepare_notes(text, g)
    title_meta: dict[str, str] = {}
    line_meta: dict[str, str] = {}
    items: list[NoteItem] = []
    current: str | None = opening if report else None
    current_by = ""  # the heading or marker words that set `current`
    group = ""
    excluded: list[str] = []
    closing_words = r.report_closing_words
    for line in scan_lines(cleaned, report, g):
        if line.role in ("title", "meta"):
            target = title_meta if line.role == "title" else line_meta
            for field, value in line.meta:
                target.setdefault(field, value)
            continue
        if line.role == "remark":
            excluded.append(line.text)
            continue
        if line.role == "heading":
            current, current_by = line.kind, line.text
            # A heading that names no section is the user's own grouping ("## 强组织", "## 一、理论武装"):
            # its notes become one sub-item, under the user's title, in the user's order.
            group = "" if line.kind is not None or report else g.numbering.strip_labels(line.text).strip(" ：:")
            continue
        if report and any(w in line.text for w in closing_words):
            items.append(_make_item(line.text, closing, "heading", line.line_no, g, detail=current_by))
            continue
        if line.role == "marker":
            current, current_by = line.kind, line.word
        scope, by, why = (line.kind, "marker", line.word) if line.role == "marker" else (current, "heading", current_by)
        for sentence in split_sentences(line.text, genre=g) if line.text else []:
            for piece, cue, cue_words in cue_spans(sentence, g):
                if cue is not None and not g.has_kind(cue):
                    cue = None  # a cue for a part this genre does not have
                if cue is not None:
                    scope, by, why = cue, "marker", cue_words
                    if not line.bulleted:
                        # A cue in prose ("存在的问题是：") goes on like a heading; in a bullet
                        # it only covers the rest of that bullet.
                        current, current_by = cue, cue_words
                if not piece or not re.search(r"[\w\u4e00-\u9fff]", piece):
                    continue
                score = 0.0
                if scope in assignable or (report and scope in (opening, closing)):
                    kind, how, detail = _yield_to_rule(piece, str(scope), by, why, g)
                else:
                    kind, how, detail, score = _assign(piece, classify, g)
                items.append(_make_item(piece, kind, how, line.line_no, g, group, detail=detail, score=score))
    if classify_theme is not None:
        items = [_guess_theme(item, classify_theme, g) for item in items]
    if not items:
        raise InputRejected("笔记中没有可用的内容：请逐条写下做了什么、数字、问题和明年打算。", "no usable lines", reason="empty")
    prose: dict[str, str] = {}
    for item in items[:8]:  # who is writing is said early, if at all
        for field, value in prose_meta(item.text).items():
            prose.setdefault(field, value)
    meta = {**prose, **title_meta, **line_meta}  # an explicit "单位：" line beats the title, the title prose
    meta_year = int(meta["year"]) if "year" in meta else _text_year(items, g)
    notes_meta = NotesMeta(
        org=meta.get("org", ""),
        year=year if year is not None else meta_year,
        person=meta.get("person", ""),
        role=meta.get("role", ""),
        members=meta.get("members", ""),
    )
    return ParsedNotes(
        meta=notes_meta, items=tuple(items), raw_text=text, removed=removed, looks_like_report=report, genre=g.name,
        excluded=tuple(excluded)
    )


def file_line(text: str, classify: Classifier | None = None, genre: Genre | None = None) -> NoteItem:
    """One line the user wants used as a fact (a line the notes read as a remark, brought back), filed by
    the normal rules: a rule word, counts, similarity, else the genre's default kind. Never excluded."""
    g = resolve(genre)
    body = text.strip()
    kind, how, detail, score = _assign(body, classify, g)
    return _make_item(body, kind, how, 0, g, detail=detail, score=score)


def _text_year(items: list[NoteItem], g: Genre) -> int | None:
    """The report year when no title or meta line states it: the first "2024年" of a fact that is
    not a plan or last year's rectification ("2024年我们支部…" → 2024)."""
    for item in items:
        if g.role(item.section) in (SectionKind.NEXT_STEPS, SectionKind.RECTIFICATION):
            continue
        for fig in item.figures:
            if is_year_like(fig) and fig.unit == "年":
                return int(fig.value)
    return None


def _assign(text: str, classify: Classifier | None, g: Genre) -> tuple[str, str, str, float]:
    """(kind, by, detail, score) for a line no marker or heading places."""
    assignable = g.body_kinds
    found = rule_match(text, g)
    if found is not None and found[0] in assignable:
        return found[0], "rule", found[1], 0.0
    # A line that reports counts ("全年18次") is a thing done; similarity to corpus next steps
    # ("严格落实第一议题制度") must not pull it out of the achievements.
    counted = [f for f in extract_figures(text, g) if not is_year_like(f)]
    if compiled_rules().figures_mean_done and counted:
        return g.counted_note_kind, "rule", text[counted[0].start:counted[0].end], 0.0
    if classify is not None:
        try:
            guess, score = classify(text)
        except Exception:  # noqa: BLE001 - a failing classifier must not lose the note
            guess, score = "", 0.0
        if guess in assignable and score >= compiled_rules().classify_min_score \
                and (g.role(guess) or guess) in compiled_rules().similarity_roles:
            return guess, "similarity", guess, float(score)
    return g.default_note_kind, "default", "", 0.0


def _yield_to_rule(text: str, kind: str, by: str, detail: str, g: Genre) -> tuple[str, str, str]:
    """A line carried by a heading (not its own marker) into a part it does not read as ("计划开展…"
    under "问题：") goes where the rules put it, when note_rules.yaml `heading_yields` allows that move."""
    if by != "heading":
        return kind, by, detail
    allowed = compiled_rules().heading_yields.get(str(g.role(kind) or kind), ())
    found = rule_match(text, g) if allowed else None
    if found is not None and found[0] != kind and str(g.role(found[0]) or found[0]) in allowed:
        return found[0], "rule", found[1]
    return kind, by, detail


def _guess_theme(item: NoteItem, classify_theme: ThemeClassifier, g: Genre) -> NoteItem:
    """An achievement no theme keyword places gets the theme its nearest corpus passages vote for."""
    from ..corpus.parse import detect_theme

    if g.role(item.section) != SectionKind.ACHIEVEMENTS or detect_theme(item.text):
        return item
    try:
        theme, score = classify_theme(item.text)
    except Exception:  # noqa: BLE001 - a failing classifier must not lose the note
        return item
    return replace(item, theme_guess=theme, theme_score=float(score)) if theme else item


def _make_item(text: str, kind: str, by: str, line_no: int, g: Genre, group: str = "", *,
               detail: str = "", score: float = 0.0) -> NoteItem:
    assert g.has_kind(kind), kind
    return NoteItem(
        text=text,
        section=kind,
        assigned_by=by,
        line_no=line_no,
        figures=tuple(extract_figures(text, g)),
        names=extract_names(text),
        group=group,
        detail=detail,
        score=score,
    )


def note_figures(notes: ParsedNotes, include_years: bool = False, genre: Genre | None = None) -> list[tuple[Figure, str]]:
    """Every figure the notes state, with the line it comes from (items and meta lines).

    Years ("2024年" in a title) are left out unless include_years: they date the report,
    they are not facts to carry into it. Opening and closing lines of a pasted report are
    not facts either. The genre is the notes' own unless given.
    """
    g = resolve(genre if genre is not None else notes.genre)
    out: list[tuple[Figure, str]] = []
    cleaned, _, report = prepare_notes(notes.raw_text, g)
    for line in scan_lines(cleaned, report, g):
        if line.role in ("meta", "title"):
            # A title or header line (单位/年度/本人, "03" of a file name) states no fact; only its
            # member count ("党员38名") is one. Years are kept when asked for: they date the report.
            for fig in extract_figures(line.text, g):
                if include_years and is_year_like(fig):
                    out.append((fig, line.text))
            for field, value in line.meta:
                # The unit's own description ("单位：…党支部，党员45名，3个党小组") states facts too:
                # counted figures of the unit line, never a bare number (an id, a serial).
                if field == "members" or field == "org":
                    out.extend((fig, line.text) for fig in extract_figures(value, g)
                               if not is_year_like(fig) and (field == "members" or fig.unit))
    for item in notes.items:
        if g.role(item.section) == SectionKind.CLOSING:
            continue
        for fig in item.figures:
            if include_years or not is_year_like(fig):
                out.append((fig, item.text))
    return out
