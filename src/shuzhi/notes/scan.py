"""Raw notes → cleaned lines with their role (title, heading, meta, marker, item) and sentences.

`prepare_notes` cleans the notes and tells a pasted finished report from notes; `scan_lines` gives each
line its role; `split_sentences` and `cue_pieces` cut a line where a sentence or cue phrase starts.
Numbered bullets, headings, titles and sentence ends are the genre's (shuzhi.genre).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..datafiles import rules_cached
from ..figures import extract_figures, is_year_like
from ..genre import Genre, resolve
from ..genre import split_sentences as _split_sentences
from ..models import Block, LoadedFile
from .rules import compiled_rules, heading_kind, is_remark, marker_kind, prose_meta

_HEADING_RE = re.compile(r"^#{1,6}\s*(.*?)\s*#*$")
_YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_BARE_YEAR_RE = re.compile(r"^((?:19|20)\d{2})\s*(?:年度?)?\s*[：:。]?$")
_KV_RE = re.compile(r"^([^：:\s]{1,10})\s*[：:]\s*(.*)$")
_PAREN_RE = re.compile(r"[（(]([^（）()]*)[）)]")


# ---------------------------------------------------------------- cleaning
_SYMBOL_BULLET_RE = re.compile(r"^\s*[-*•·+●○■□▪►>]+\s+")


def _has_sentence_end(text: str, g: Genre) -> bool:
    return g.punctuation.sentence_end_re.search(text) is not None


def _clean_notes(text: str, g: Genre) -> tuple[str, tuple[str, ...]]:
    """The corpus cleaner applied line by line: (cleaned text with the same line numbers, removed dirt).

    `clean_text` would drop Markdown bullets and blank lines; here a symbol bullet ("- ", "* ")
    is set aside before cleaning (a "*" must not become a placeholder) and put back after,
    and every line keeps its number (a removed line becomes blank).
    """
    from ..corpus.clean import clean_file, fix_typos, match_ad_line, normalise_placeholders

    lines = text.splitlines()
    prefixes: list[str] = []
    blocks: list[Block] = []
    for i, line in enumerate(lines):
        m = _SYMBOL_BULLET_RE.match(line)
        prefix = m.group(0).strip() + " " if m else ""
        prefixes.append(prefix)
        blocks.append(Block(line[m.end() :] if m else line, style=str(i)))
    cleaned = clean_file(LoadedFile(path="笔记", doc_id="notes", file_type="md", encoding="utf-8", blocks=tuple(blocks)),
                         genre=g)
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


def _is_level1_heading(line: str, g: Genre) -> bool:
    r = compiled_rules()
    return (
        g.numbering.heading_label(line, levels=(1,)) is not None
        and len(line) <= r.report_heading_max_chars
        and not _has_sentence_end(line, g)
    )


def _looks_like_report(lines: list[str], g: Genre) -> bool:
    """A finished report: several short level-1 headings (一、…二、…三、) and long paragraphs."""
    r = compiled_rules()
    stripped = [ln.strip() for ln in lines if ln.strip()]
    headings = [ln for ln in stripped if _is_level1_heading(ln, g)]
    long_lines = [ln for ln in stripped if len(ln) >= r.report_long_line_chars]
    return len(headings) >= r.report_min_headings and len(long_lines) >= r.report_min_long_lines


@rules_cached(maxsize=16)
def prepare_notes(text: str, genre: Genre | None = None) -> tuple[str, tuple[str, ...], bool]:
    """(cleaned text, removed dirt, looks like a finished report) of raw notes."""
    g = resolve(genre)
    cleaned, removed = _clean_notes(text, g)
    return cleaned, removed, _looks_like_report(cleaned.splitlines(), g)


# ---------------------------------------------------------------- sentences
def _trim(g: Genre) -> str:
    return " \t." + g.punctuation.marks


def split_sentences(text: str, ends: str | None = None, genre: Genre | None = None) -> list[str]:
    """Sentences of TEXT, cut after the genre's sentence ends (or ENDS), never inside quotes or brackets.

    Unbalanced quotes fall back to cutting at every sentence end.
    """
    return _split_sentences(text, genre, ends)


def cue_pieces(sentence: str, genre: Genre | None = None) -> list[tuple[str, str | None]]:
    """(text, cue kind) pieces of a sentence, cut where a cue phrase starts a clause.

    The first piece has kind None unless the sentence starts with a cue.
    """
    return [(text, kind) for text, kind, _ in cue_spans(sentence, genre)]


def cue_spans(sentence: str, genre: Genre | None = None) -> list[tuple[str, str | None, str]]:
    """cue_pieces with the cue phrase itself: (text, cue kind, cue words as written; "" for none)."""
    trim = _trim(resolve(genre))
    cuts: list[tuple[int, int, str, str]] = []  # (cut at, text starts at, kind, cue)
    for kind, pattern, drop in compiled_rules().cues:
        for m in pattern.finditer(sentence):
            if not m.group("cue"):
                continue
            cuts.append((m.start(), m.end() if drop else m.start("cue"), kind, m.group("cue")))
    cuts.sort()
    chosen: list[tuple[int, int, str, str]] = []
    for cut in cuts:
        if not chosen or cut[0] >= chosen[-1][1]:
            chosen.append(cut)
    pieces: list[tuple[str, str | None, str]] = []
    if not chosen or chosen[0][0] > 0:
        pieces.append((sentence[: chosen[0][0]] if chosen else sentence, None, ""))
    for n, (_, start, kind, cue) in enumerate(chosen):
        end = chosen[n + 1][0] if n + 1 < len(chosen) else len(sentence)
        pieces.append((sentence[start:end], kind, cue))
    return [(text.strip(trim), kind, cue.strip(" ：:，,")) for text, kind, cue in pieces]


# ---------------------------------------------------------------- line scanning
@dataclass(frozen=True)
class _Line:
    line_no: int
    text: str  # stripped, bullet removed
    role: str  # "title" | "heading" | "meta" | "marker" | "item" | "remark"
    kind: str | None = None  # section kind for heading/marker lines
    meta: tuple[tuple[str, str], ...] = ()  # (field, value) for meta/title lines
    bulleted: bool = False  # the line started with a bullet ("- ", "1.", "一是")
    word: str = ""  # the marker word of a marker line ("问题" of "问题：…")


def _strip_bullet(line: str, g: Genre) -> str:
    """LINE without its bullet: a symbol ("- ", "•") or one of the genre's numbering labels ("1.", "一是")."""
    stripped = compiled_rules().bullet_re.sub("", line, count=1)
    if stripped != line:
        return stripped.strip()
    found = g.numbering.match(line)
    return line[found.end :].strip() if found is not None else line.strip()


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
    stated = prose_meta(text)
    if "org" in stated:  # a sentence, not a title: "我是某支部书记王某，2024年……"
        return tuple(stated.items())
    r = compiled_rules()
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


def _parse_meta(text: str, g: Genre) -> tuple[tuple[str, str], ...] | None:
    """(field, value) pairs of a meta line ("单位：…", "本人：支部书记 王某", "党员38名…"), else None."""
    r = compiled_rules()
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
    if re.match(r"^(?:共有|现有)?党员\s*\d+\s*[名人]", text) and not _has_sentence_end(text.rstrip("。"), g):
        return (("members", text),)
    return None


def _report_title(line: str, g: Genre) -> bool:
    return len(line) <= g.title_max_chars and not _has_sentence_end(line, g) and any(w in line for w in g.title_words)


def _report_heading_kind(heading: str, g: Genre) -> str | None:
    from ..corpus.parse import classify_heading

    return classify_heading(heading, g) or heading_kind(heading, g)


def scan_lines(text: str, report: bool = False, genre: Genre | None = None) -> Iterator[_Line]:
    """The lines of (cleaned) notes with their role. REPORT: the text is a finished report,
    whose level-1 headings ("二、存在的主要问题及原因") announce the sections."""
    r = compiled_rules()
    g = resolve(genre)
    seen_content = False
    all_lines = text.splitlines()
    for line_no, raw in enumerate(all_lines, 1):
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
                kind = _report_heading_kind(heading, g) if report else heading_kind(heading, g)
                yield _Line(line_no, heading, "heading", kind=kind)
            continue
        if report:
            if first and _report_title(line, g):
                yield _Line(line_no, line, "title", meta=_parse_title(line))
                continue
            if _is_level1_heading(line, g):
                yield _Line(line_no, line, "heading", kind=_report_heading_kind(line, g))
                continue
        body = _strip_bullet(line, g)
        if not body:
            continue
        bulleted = body != line
        if is_remark(body):
            yield _Line(line_no, body, "remark")
            continue
        bare_year = _BARE_YEAR_RE.match(body)
        if bare_year:  # "2024年" / "2024年度" on a line of its own: the report's year, not a fact
            yield _Line(line_no, body, "meta", meta=(("year", bare_year.group(1)),))
            continue
        meta = _parse_meta(body, g)
        if meta is not None:
            yield _Line(line_no, body, "meta", meta=meta)
            continue
        prose = _has_sentence_end(body.rstrip(g.punctuation.sentence_ends), g)
        title_like = first and not bulleted and not prose and len(body) <= 60 and not _KV_RE.match(body)
        if title_like and _YEAR_RE.search(body) and cue_pieces(body, g)[0][1] is None:
            if all(is_year_like(f) for f in extract_figures(body, g)):
                yield _Line(line_no, body, "title", meta=_parse_title(body))
                continue
        km = _KV_RE.match(body)
        marker = marker_kind(km.group(1), g) if km else None
        if km and marker is not None:
            yield _Line(line_no, km.group(2).strip(), "marker", kind=marker, bulleted=bulleted, word=km.group(1))
            continue
        # A bare heading-like line without '#': "问题" / "明年打算：" on its own.
        bare = body.rstrip("：:")
        marker = marker_kind(bare, g) if len(bare) <= 8 else None
        if marker is not None:
            yield _Line(line_no, "", "marker", kind=marker, word=bare)
            continue
        if _is_group_title(line, bare, g, _next_content(all_lines, line_no), _prev_content(all_lines, line_no)):
            # "强组织：" / "一、理论武装" on a line of its own: the user's own heading for the notes below.
            yield _Line(line_no, bare, "heading", kind=heading_kind(bare, g))
            continue
        yield _Line(line_no, body, "item", bulleted=bulleted)


def _next_content(lines: list[str], line_no: int) -> str:
    """The next line with text after line LINE_NO (1-based), stripped; "" at the end."""
    return next((ln.strip() for ln in lines[line_no:] if ln.strip()), "")


def _has_colon_end(text: str) -> bool:
    return text.rstrip().endswith(("：", ":"))


def _prev_content(lines: list[str], line_no: int) -> str:
    """The previous line with text before line LINE_NO (1-based), stripped; "" at the start."""
    return next((ln.strip() for ln in reversed(lines[: line_no - 1]) if ln.strip()), "")


def _is_group_title(line: str, bare: str, g: Genre, following: str = "", previous: str = "") -> bool:
    """A short line with no sentence and no figure that ends in a colon, or that carries a level-1/2 label
    and heads deeper content (FOLLOWING: a symbol bullet, a deeper label, or an unlabelled line) — a
    short item of a numbered list ("2. 支部被评为先进基层党组织" before "3. …") is not a heading."""
    if not bare or len(bare) > 16 or _has_sentence_end(bare, g) or extract_figures(bare, g):
        return False
    if line.rstrip().endswith(("：", ":")):
        return True
    label = g.numbering.heading_label(line)
    if label is None or not following:
        return False
    before = g.numbering.match(previous, max_level=3) if previous else None
    if before is not None and before.style.name == label.style.name and not _has_colon_end(previous):
        return False  # the next item of a list ("2、…" after "1、…"), whatever follows it
    if following.startswith("#"):
        return False
    if _SYMBOL_BULLET_RE.match(following):
        return True
    nxt = g.numbering.match(following, max_level=3)
    if nxt is not None:  # a deeper label, or another style ("（一）党建引领" over "1、…"); not a sibling
        return nxt.level > label.level or nxt.style.name != label.style.name
    return not following.rstrip().endswith(("：", ":")) and g.numbering.match(following) is None
