"""Bullet notes → facts (figures, quoted names) and the report section each belongs to.

The notes are first cleaned line by line (ads, watermarks and paywall markers removed,
placeholders such as xx/X次 turned into 〔X〕, known typos fixed), keeping bullets, headings and
line numbers. Every line is split into sentences, and a sentence at a cue phrase
("存在的问题是…", "明年…", "原因是…"), so that notes written as one paragraph of prose are
read as well as bullet lists.

Assignment order: an explicit marker ("问题：…"), cue phrase or the current heading, then the
rules of data/note_rules.yaml (cause, next step, problem — negative wording wins over
figures), then "a counted fact is work done", then the injected `classify` callback
(similarity to corpus passages), then "achievements".
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
from .models import SECTION_KINDS, Block, Figure, LoadedFile, NoteItem, NotesMeta, ParsedNotes

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
    sentence_ends: str
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


def _cue_re(pattern: str, connectives: list[str]) -> re.Pattern[str]:
    """A cue at a sentence or clause start, optionally after a connective ("但存在的问题是")."""
    conn = "|".join(re.escape(c) for c in sorted(connectives, key=len, reverse=True))
    conn_part = f"(?:{conn})?" if conn else ""
    return re.compile(rf"(?:^|(?<=[，,：:、]))\s*{conn_part}(?P<cue>{pattern})")


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
        sentence_ends=str(d.get("sentence_ends", "。！？!?；;")),
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
    )


def clear_note_rules() -> None:
    _rules.cache_clear()
    _prepare.cache_clear()


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
    if any(w in _mask_not_problems(text) for w in r.problem_words):
        return "problems"
    return None


def _mask_not_problems(text: str) -> str:
    """TEXT with success wording ("未发生…", "整改问题17个") blanked out, so that its negative
    or problem words do not make it a problem."""
    for pattern in _rules().not_problem:
        text = pattern.sub(lambda m: "\0" * len(m.group(0)), text)
    return text


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


# ---------------------------------------------------------------- cleaning
_SYMBOL_BULLET_RE = re.compile(r"^\s*[-*•·+●○■□▪►>]+\s+")
_LEVEL1_RE = re.compile(r"^\s*(?:[一二三四五六七八九十]{1,3}[、．.]|第[一二三四五六七八九十]{1,3}(?:部分|章|节))")
_SENTENCE_PUNCT_RE = re.compile(r"[。；;！？!?]")


def _clean_notes(text: str) -> tuple[str, tuple[str, ...]]:
    """The corpus cleaner applied line by line: (cleaned text with the same line numbers, removed dirt).

    `clean_text` would drop Markdown bullets and blank lines; here a symbol bullet ("- ", "* ")
    is set aside before cleaning (a "*" must not become a placeholder) and put back after,
    and every line keeps its number (a removed line becomes blank).
    """
    from .corpus.clean import clean_file, fix_typos, match_ad_line, normalise_placeholders

    lines = text.splitlines()
    prefixes: list[str] = []
    blocks: list[Block] = []
    for i, line in enumerate(lines):
        m = _SYMBOL_BULLET_RE.match(line)
        prefix = m.group(0).strip() + " " if m else ""
        prefixes.append(prefix)
        blocks.append(Block(line[m.end() :] if m else line, style=str(i)))
    cleaned = clean_file(LoadedFile(path="笔记", doc_id="notes", file_type="md", encoding="utf-8", blocks=tuple(blocks)))
    out = [""] * len(lines)
    for block in cleaned.blocks:
        out[int(block.style)] = block.text
    removed: list[str] = []
    for r in cleaned.removed:
        if r.reason in ("blank", "typo"):
            continue
        if r.reason == "repeated_footer" and match_ad_line(r.text) is None:
            # A short line typed three times is not a footer in notes; keep it.
            body, _ = normalise_placeholders(blocks[r.block_index].text.strip(), markdown=True)
            out[r.block_index] = fix_typos(body)[0]
            continue
        removed.append(r.text.strip())
    joined = "\n".join(f"{prefixes[i]}{body}" if body else "" for i, body in enumerate(out))
    return joined, tuple(t for t in removed if t)


def _looks_like_report(lines: list[str]) -> bool:
    """A finished report: several short level-1 headings (一、…二、…三、) and long paragraphs."""
    r = _rules()
    stripped = [ln.strip() for ln in lines if ln.strip()]
    headings = [
        ln for ln in stripped
        if _LEVEL1_RE.match(ln) and len(ln) <= r.report_heading_max_chars and not _SENTENCE_PUNCT_RE.search(ln)
    ]
    long_lines = [ln for ln in stripped if len(ln) >= r.report_long_line_chars]
    return len(headings) >= r.report_min_headings and len(long_lines) >= r.report_min_long_lines


@lru_cache(maxsize=16)
def _prepare(text: str) -> tuple[str, tuple[str, ...], bool]:
    """(cleaned text, removed dirt, looks like a finished report) of raw notes."""
    cleaned, removed = _clean_notes(text)
    return cleaned, removed, _looks_like_report(cleaned.splitlines())


# ---------------------------------------------------------------- sentences
_PAIRS = {"“": "”", "《": "》", "「": "」", "『": "』", "‘": "’", "（": "）", "(": ")", "【": "】"}
_TRIM = " \t，,、：:。.；;！!？?"


def split_sentences(text: str, ends: str | None = None) -> list[str]:
    """Sentences of TEXT, cut after 。！？；(data: sentence_ends), never inside quotes or brackets.

    Unbalanced quotes fall back to cutting at every sentence end.
    """
    ends = _rules().sentence_ends if ends is None else ends
    out: list[str] = []
    buf: list[str] = []
    stack: list[str] = []
    for ch in text:
        buf.append(ch)
        if stack and ch == stack[-1]:
            stack.pop()
        elif ch == '"':
            stack.append('"')
        elif ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif not stack and ch in ends:
            out.append("".join(buf))
            buf = []
    if buf:
        out.append("".join(buf))
    if stack:  # an opening quote never closed: do not swallow the rest of the line
        out = re.split(f"(?<=[{re.escape(ends)}])", text)
    return [s for s in out if s.strip(_TRIM)]


def _cue_pieces(sentence: str) -> list[tuple[str, str | None]]:
    """(text, cue kind) pieces of a sentence, cut where a cue phrase starts a clause.

    The first piece has kind None unless the sentence starts with a cue.
    """
    cuts: list[tuple[int, int, str]] = []  # (cut at, text starts at, kind)
    for kind, pattern, drop in _rules().cues:
        for m in pattern.finditer(sentence):
            if not m.group("cue"):
                continue
            cuts.append((m.start(), m.end() if drop else m.start("cue"), kind))
    cuts.sort()
    chosen: list[tuple[int, int, str]] = []
    for cut in cuts:
        if not chosen or cut[0] >= chosen[-1][1]:
            chosen.append(cut)
    pieces: list[tuple[str, str | None]] = []
    if not chosen or chosen[0][0] > 0:
        pieces.append((sentence[: chosen[0][0]] if chosen else sentence, None))
    for n, (_, start, kind) in enumerate(chosen):
        end = chosen[n + 1][0] if n + 1 < len(chosen) else len(sentence)
        pieces.append((sentence[start:end], kind))
    return [(text.strip(_TRIM), kind) for text, kind in pieces]


# ---------------------------------------------------------------- line scanning
@dataclass(frozen=True)
class _Line:
    line_no: int
    text: str  # stripped, bullet removed
    role: str  # "title" | "heading" | "meta" | "marker" | "item"
    kind: str | None = None  # section kind for heading/marker lines
    meta: tuple[tuple[str, str], ...] = ()  # (field, value) for meta/title lines
    bulleted: bool = False  # the line started with a bullet ("- ", "1.", "一是")


def _strip_bullet(line: str) -> str:
    return _rules().bullet_re.sub("", line, count=1).strip()


def _strip_affixes(org: str, words: tuple[str, ...]) -> str:
    """ORG without title words and role words at either end ("某社区党委书记笔记" → "某社区党委")."""
    ordered = sorted(words, key=len, reverse=True)
    changed = True
    while changed and org:
        changed = False
        for w in ordered:
            if org.endswith(w) and len(org) > len(w):
                org, changed = org[: -len(w)].rstrip("，,、 "), True
                break
            if org.startswith(w) and len(org) > len(w):
                org, changed = org[len(w) :].lstrip("，,、 "), True
                break
    return org


def _parse_title(text: str) -> tuple[tuple[str, str], ...]:
    r = _rules()
    meta: list[tuple[str, str]] = []
    m = _YEAR_RE.search(text)
    if m:
        meta.append(("year", m.group(1)))
    rest = re.sub(r"(?<!\d)(?:19|20)\d{2}(?!\d)\s*年?度?", " ", text)
    tokens = [t.strip("：:，,") for t in re.split(r"\s+", rest) if t.strip("：:，,")]
    noise = (*r.title_noise, *r.role_words)
    orgs = [_strip_affixes(t, noise) for t in tokens if t not in r.title_noise]
    # A bare generic word ("支部", "党组织" left of "党组织书记述职报告") names no organisation.
    orgs = [t for t in orgs if t not in noise and t not in r.org_words and t != "党组织" and any(w in t for w in r.org_words)]
    if orgs:
        meta.append(("org", "".join(orgs)))
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
    # "党员38名，其中预备党员2名" — but not a sentence of prose that happens to start so.
    if re.match(r"^(?:共有|现有)?党员\s*\d+\s*[名人]", text) and not _SENTENCE_PUNCT_RE.search(text.rstrip("。")):
        return (("members", text),)
    return None


def _report_title(line: str) -> bool:
    words = tuple(load_data("section_kinds").get("title_words", []))
    return len(line) <= 60 and not _SENTENCE_PUNCT_RE.search(line) and any(w in line for w in words)


def _report_heading_kind(heading: str) -> str | None:
    from .corpus.parse import classify_heading

    return classify_heading(heading) or heading_kind(heading)


def _scan(text: str, report: bool = False) -> Iterator[_Line]:
    """The lines of (cleaned) notes with their role. REPORT: the text is a finished report,
    whose level-1 headings ("二、存在的主要问题及原因") announce the sections."""
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
                kind = _report_heading_kind(heading) if report else heading_kind(heading)
                yield _Line(line_no, heading, "heading", kind=kind)
            continue
        if report:
            if first and _report_title(line):
                yield _Line(line_no, line, "title", meta=_parse_title(line))
                continue
            if (
                _LEVEL1_RE.match(line)
                and len(line) <= r.report_heading_max_chars
                and not _SENTENCE_PUNCT_RE.search(line)
            ):
                yield _Line(line_no, line, "heading", kind=_report_heading_kind(line))
                continue
        body = _strip_bullet(line)
        if not body:
            continue
        bulleted = body != line
        meta = _parse_meta(body)
        if meta is not None:
            yield _Line(line_no, body, "meta", meta=meta)
            continue
        prose = bool(_SENTENCE_PUNCT_RE.search(body.rstrip("。；;！？!?")))
        title_like = first and not bulleted and not prose and len(body) <= 60 and not _KV_RE.match(body)
        if title_like and _YEAR_RE.search(body) and _cue_pieces(body)[0][1] is None:
            if all(is_year_like(f) for f in extract_figures(body)):
                yield _Line(line_no, body, "title", meta=_parse_title(body))
                continue
        km = _KV_RE.match(body)
        if km and km.group(1) in r.markers:
            yield _Line(line_no, km.group(2).strip(), "marker", kind=r.markers[km.group(1)], bulleted=bulleted)
            continue
        # A bare heading-like line without '#': "问题" / "明年打算：" on its own.
        bare = body.rstrip("：:")
        if len(bare) <= 8 and bare in r.markers:
            yield _Line(line_no, "", "marker", kind=r.markers[bare])
            continue
        yield _Line(line_no, body, "item", bulleted=bulleted)


# ---------------------------------------------------------------- public API
def parse_notes(text: str, year: int | None = None, classify: Classifier | None = None) -> ParsedNotes:
    """Read what people type (bullets, headings, inline markers, meta lines, prose) into ParsedNotes.

    Ads and watermarks are removed first (listed in `removed`); a pasted finished report is
    recognised (`looks_like_report`) and read by its own section headings.
    """
    r = _rules()
    if text is None or not text.strip():
        raise InputRejected("笔记为空，请先输入本年度的工作笔记（做了什么、数字、问题、明年打算）。", "empty notes", reason="empty")
    if len(text) > r.max_chars:
        raise InputRejected(
            f"笔记过长（{len(text)}字），请控制在{r.max_chars}字以内，只保留要点和数字。",
            f"notes of {len(text)} chars",
            reason="too_large",
        )
    cleaned, removed, report = _prepare(text)
    title_meta: dict[str, str] = {}
    line_meta: dict[str, str] = {}
    items: list[NoteItem] = []
    current: str | None = "opening" if report else None
    closing_words = r.report_closing_words
    for line in _scan(cleaned, report):
        if line.role in ("title", "meta"):
            target = title_meta if line.role == "title" else line_meta
            for field, value in line.meta:
                target.setdefault(field, value)
            continue
        if line.role == "heading":
            current = line.kind
            continue
        if report and any(w in line.text for w in closing_words):
            items.append(_make_item(line.text, "closing", "heading", line.line_no))
            continue
        if line.role == "marker":
            current = line.kind
        scope, by = (line.kind, "marker") if line.role == "marker" else (current, "heading")
        for sentence in split_sentences(line.text) if line.text else []:
            for piece, cue in _cue_pieces(sentence):
                if cue is not None:
                    scope, by = cue, "marker"
                    if not line.bulleted:
                        # A cue in prose ("存在的问题是：") goes on like a heading; in a bullet
                        # it only covers the rest of that bullet.
                        current = cue
                if not piece or not re.search(r"[\w\u4e00-\u9fff]", piece):
                    continue
                if scope in _ASSIGNABLE or (report and scope in ("opening", "closing")):
                    kind, how = str(scope), by
                else:
                    kind, how = _assign(piece, None, classify)
                items.append(_make_item(piece, kind, how, line.line_no))
    if not items:
        raise InputRejected("笔记中没有可用的内容：请逐条写下做了什么、数字、问题和明年打算。", "no usable lines", reason="empty")
    meta = {**title_meta, **line_meta}  # an explicit "单位：" line beats the title line
    meta_year = int(meta["year"]) if "year" in meta else _text_year(items)
    notes_meta = NotesMeta(
        org=meta.get("org", ""),
        year=year if year is not None else meta_year,
        person=meta.get("person", ""),
        role=meta.get("role", ""),
        members=meta.get("members", ""),
    )
    return ParsedNotes(
        meta=notes_meta, items=tuple(items), raw_text=text, removed=removed, looks_like_report=report
    )


def _text_year(items: list[NoteItem]) -> int | None:
    """The report year when no title or meta line states it: the first "2024年" of a fact that is
    not a plan or last year's rectification ("2024年我们支部…" → 2024)."""
    for item in items:
        if item.section in ("next_steps", "rectification"):
            continue
        for fig in item.figures:
            if is_year_like(fig) and fig.unit == "年":
                return int(fig.value)
    return None


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
    they are not facts to carry into it. Opening and closing lines of a pasted report are
    not facts either.
    """
    out: list[tuple[Figure, str]] = []
    cleaned, _, report = _prepare(notes.raw_text)
    for line in _scan(cleaned, report):
        if line.role in ("meta", "title"):
            for fig in extract_figures(line.text):
                if include_years or not is_year_like(fig):
                    out.append((fig, line.text))
    for item in notes.items:
        if item.section == "closing":
            continue
        for fig in item.figures:
            if include_years or not is_year_like(fig):
                out.append((fig, item.text))
    return out
