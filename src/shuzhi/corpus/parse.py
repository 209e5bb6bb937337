"""Clean text → a flat, ordered tree of report sections with kinds, themes and points.

Parsing goes by pattern, never by counting (real documents jump from 一、 to 三、). Heading
patterns, kinds, numbering labels, causes lead-ins and closings are the genre's (genres/<name>.yaml,
shuzhi.genre); every entry point takes `genre` (None: the default genre).
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..config import FileLimits
from ..datafiles import load_data
from ..genre import Genre, SectionKind, resolve
from ..models import Block, CleanedFile, ParsedDocument, Point, Section
from .clean import clean_file
from .load import load_bytes, load_file, load_text

log = logging.getLogger(__name__)

_MD_HEADING = re.compile(r"^(#{1,6})\s*(.+?)\s*#*$")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_LATER = re.compile(r"下一步|下步|今后|明年|来年")


# ---------------------------------------------------------------- metadata detectors
def classify_heading(heading: str, genre: Genre | None = None) -> str | None:
    """Section kind of a heading by the genre's heading patterns, or None when nothing matches."""
    g = resolve(genre)
    return g.classify_heading(g.numbering.strip_label(heading.strip())[1])


def detect_theme(text: str) -> str:
    """Best theme from themes.yaml by keyword count; "" when no keyword occurs."""
    themes: dict[str, list[str]] = load_data("themes")
    # Longest keywords first, each occurrence counted once: "理论学习" must not also count as "学习".
    pairs = sorted(((k, t) for t, ks in themes.items() for k in ks), key=lambda kt: -len(kt[0]))
    scores: Counter[str] = Counter()
    for keyword, theme in pairs:
        hits = text.count(keyword)
        if hits:
            scores[theme] += hits
            text = text.replace(keyword, "\0" * len(keyword))
    order = list(themes)
    best = max(scores, key=lambda t: (scores[t], -order.index(t)), default="")
    return best


def detect_year(title: str, text: str) -> int | None:
    """Report year: from the title; else the most common year, ignoring next-steps plans."""
    match = _YEAR.search(title)
    if match:
        return int(match.group(1))
    later = _LATER.search(text, len(text) // 3)  # plans for next year sit in the last part
    body = text[: later.start()] if later else text
    counts: Counter[int] = Counter()
    first_seen: dict[int, int] = {}
    for m in _YEAR.finditer(body):
        year = int(m.group(1))
        counts[year] += 2 if m.start() < 600 else 1  # the opening states the year
        first_seen.setdefault(year, m.start())
    if not counts:
        return None
    return max(counts, key=lambda y: (counts[y], -first_seen[y]))


def detect_org_type(title: str, text: str) -> str:
    """Organisation type from org_types.yaml: title keywords first, then text keyword counts."""
    types: dict[str, list[str]] = load_data("org_types")
    for org, keywords in types.items():
        if any(k in title for k in keywords):
            return org
    scores = {org: sum(text.count(k) for k in keywords) for org, keywords in types.items()}
    best = max(scores, key=lambda o: scores[o], default="")
    return best if best and scores[best] > 0 else ""


# ---------------------------------------------------------------- headings
def _split_heading(text: str, g: Genre) -> tuple[str, str]:
    """Heading text and the body that follows it on the same line ("1.标题。正文…")."""
    trailing = g.punctuation.marks + " "
    m = g.punctuation.sentence_end_re.search(text)
    if m is None:
        return text.strip(trailing), ""
    return text[: m.start()].strip(trailing), text[m.end() :].strip()


def _is_title(block: Block, g: Genre) -> bool:
    text = _MD_HEADING.sub(r"\2", block.text)
    if block.heading_level == 0:
        return True
    return (
        len(text) <= g.title_max_chars
        and not text.endswith("。")
        and any(w in text for w in g.title_words)
        and g.numbering.heading_label(text) is None
    )


# ---------------------------------------------------------------- tree building
@dataclass
class _Node:
    level: int
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    parent: _Node | None = None
    kind: str = ""
    family: str = ""  # numbering label style of this heading, e.g. "cn_paren" for （一）
    child_family: str = ""  # family of its first level-2 child


def _heading_offset(blocks: list[Block]) -> tuple[int, int]:
    """How far Markdown '#' and docx Heading levels sit above report levels (title may use #)."""
    md = [len(m.group(1)) for b in blocks if (m := _MD_HEADING.match(b.text))]
    docx = [b.heading_level for b in blocks if b.heading_level]
    return (min(md) - 1 if md else 0), (min(docx) - 1 if docx else 0)


def _heading_of(block: Block, md_off: int, docx_off: int, g: Genre) -> tuple[int, str, str, str] | None:
    """(level, family, heading, rest-of-line) when the block is a heading."""
    md = _MD_HEADING.match(block.text)
    if md:
        heading, rest = _split_heading(g.numbering.strip_label(md.group(2))[1], g)
        return max(1, len(md.group(1)) - md_off), "md", heading, rest
    if block.heading_level:
        heading, rest = _split_heading(g.numbering.strip_label(block.text)[1], g)
        return max(1, block.heading_level - docx_off), "style", heading, rest
    found = g.numbering.heading_label(block.text)
    if found is None or block.origin == "table":
        return None
    heading, rest = _split_heading(block.text[found.end :], g)
    if not heading:
        return None
    return found.level, found.style.name, heading, rest


def _closing_count(blocks: list[Block], g: Genre) -> int:
    count = 0
    for block in reversed(blocks[-2:]):
        text = block.text
        if len(text) > g.closing_max_chars or g.numbering.heading_label(text) is not None:
            break
        if not any(p.search(text) for p in g.closing_patterns):
            break
        count += 1
    return count


def _build_nodes(blocks: list[Block], g: Genre) -> list[_Node]:
    md_off, docx_off = _heading_offset(blocks)
    nodes: list[_Node] = []
    opening = _Node(0, "", kind=g.first_like(SectionKind.OPENING) or SectionKind.OPENING)
    current_l1: _Node | None = None
    current: _Node = opening
    for block in blocks:
        found = _heading_of(block, md_off, docx_off, g)
        if found is None:
            current.paragraphs.append(block.text)
            continue
        level, family, heading, rest = found
        if level == 1:
            node = _Node(1, heading, family=family)
            current_l1 = node
        else:
            parent = current_l1
            if parent is not None:
                if not parent.child_family:
                    parent.child_family = family
                elif family != parent.child_family and current.level >= 2:
                    # "1." under a "（一）" item is one level deeper
                    parent = current if current.level == 2 else current.parent
                    level = 3
            node = _Node(min(level, 3), heading, parent=parent, family=family)
        if rest:
            node.paragraphs.append(rest)
        nodes.append(node)
        current = node
    return ([opening] if opening.paragraphs else []) + nodes


def _fallback_kind(node: _Node, previous: str | None, following: str, g: Genre) -> str:
    """Kind of a heading no pattern knows: by its words and where it stands."""
    probe = node.heading + following[:120]
    previous_role = g.role(previous) if previous else None
    for spec in g.match_order():
        if not any(w in probe for w in spec.fallback_words):
            continue
        if spec.like == SectionKind.PROBLEMS and previous_role not in (
            SectionKind.ACHIEVEMENTS, SectionKind.RECTIFICATION, None
        ):
            continue
        if spec.like == SectionKind.CAUSES and previous_role != SectionKind.PROBLEMS:
            continue
        log.info("heading %r: no pattern, kind %s from its words", node.heading, spec.kind)
        return str(spec.kind)
    kind = previous or g.first_like(SectionKind.ACHIEVEMENTS) or (g.body_kinds or (SectionKind.ACHIEVEMENTS,))[0]
    log.info("heading %r: no pattern, kind %s from position", node.heading, kind)
    return str(kind)


def _assign_kinds(nodes: list[_Node], g: Genre) -> None:
    previous: str | None = None
    for i, node in enumerate(nodes):
        if node.kind:  # opening
            continue
        if node.parent is not None and node.parent.kind:
            own = classify_heading(node.heading, g)
            under_problems = g.role(node.parent.kind) == SectionKind.PROBLEMS
            node.kind = own if own and under_problems and g.role(own) == SectionKind.CAUSES else node.parent.kind
            continue
        following = "".join(node.paragraphs) or "".join(n.heading for n in nodes[i + 1 : i + 4])
        node.kind = classify_heading(node.heading, g) or _fallback_kind(node, previous, following, g)
        previous = node.kind


def _split_causes(nodes: list[_Node], g: Genre) -> list[_Node]:
    """Move "分析存在上述问题的主要原因：一是…" and what follows out of a problems section."""
    # A fragment without headings (a problems section pasted for rewriting) is all "opening".
    fragment = [g.role(n.kind) for n in nodes] == [SectionKind.OPENING]
    causes_kind = g.first_like(SectionKind.CAUSES) or SectionKind.CAUSES
    out: list[_Node] = []
    for node in nodes:
        out.append(node)
        if g.role(node.kind) != SectionKind.PROBLEMS and not fragment:
            continue
        for k, para in enumerate(node.paragraphs):
            m = next((m for p in g.causes_leads if (m := p.match(para))), None)
            if m is None:
                continue
            top = node
            while top.parent is not None:
                top = top.parent
            causes = _Node(2, m.group("lead"), kind=causes_kind, parent=None if fragment else top)
            causes.paragraphs = [p for p in [para[m.end() :].strip(), *node.paragraphs[k + 1 :]] if p]
            node.paragraphs = node.paragraphs[:k]
            out.append(causes)
            break
    return out


# ---------------------------------------------------------------- points
def split_points(paragraph: str, genre: Genre | None = None) -> list[Point]:
    """Split "一是…二是…" (or （1）…, 1)…, ①…, inline 1.…) into Points; intro gets label ""."""
    return resolve(genre).numbering.split_points(paragraph)


def _section_of(node: _Node, g: Genre) -> Section:
    path: list[str] = []
    walk: _Node | None = node
    while walk is not None:
        if walk.heading:
            path.insert(0, walk.heading)
        walk = walk.parent
    text = "\n".join(node.paragraphs)
    points = tuple(p for para in node.paragraphs for p in g.numbering.split_points(para))
    first_sentence = g.punctuation.sentence_end_re.split(text, maxsplit=1)[0] if text else ""
    # The heading names the topic, so it outweighs the first sentence.
    theme = detect_theme(node.heading * 3 + first_sentence) if node.level else ""
    return Section(node.kind, node.heading, tuple(path), node.level, theme, text, points)


# ---------------------------------------------------------------- entry points
def parse_document(cleaned: CleanedFile, genre: Genre | None = None) -> ParsedDocument:
    """Build the section tree of a cleaned report, by the genre's grammar."""
    g = resolve(genre)
    blocks = [b for b in cleaned.blocks if b.text.strip()]
    title = ""
    if blocks and _is_title(blocks[0], g):
        title = _MD_HEADING.sub(r"\2", blocks.pop(0).text).strip()
    closing_n = _closing_count(blocks, g)
    closing = blocks[len(blocks) - closing_n :] if closing_n else []
    body = blocks[: len(blocks) - closing_n]
    nodes = _build_nodes(body, g)
    _assign_kinds(nodes, g)
    nodes = _split_causes(nodes, g)
    sections: list[Section] = []
    if title:
        sections.append(Section(g.first_like(SectionKind.TITLE) or SectionKind.TITLE, title, (title,), 0, "", ""))
    sections.extend(_section_of(n, g) for n in nodes)
    if closing:
        text = "\n".join(b.text for b in closing)
        sections.append(Section(g.first_like(SectionKind.CLOSING) or SectionKind.CLOSING, "", (), 0, "", text,
                                tuple(Point("", b.text) for b in closing)))
    full = "\n".join(b.text for b in blocks)
    doc = ParsedDocument(
        path=cleaned.path,
        doc_id=cleaned.doc_id,
        title=title,
        year=detect_year(title, full),
        org_type=detect_org_type(title, full),
        sections=tuple(sections),
        removed=cleaned.removed,
        encoding=cleaned.encoding,
        file_type=cleaned.file_type,
        warnings=cleaned.warnings,
    )
    kinds = Counter(s.kind for s in sections)
    log.info(
        "parsed %s: year %s, %s, sections %s", Path(cleaned.path).name, doc.year, doc.org_type, dict(kinds)
    )
    return doc


def parse_file(path: Path | str, limits: FileLimits | None = None, genre: Genre | None = None) -> ParsedDocument:
    """Load, clean and parse one file (InputRejected propagates)."""
    g = resolve(genre)
    return parse_document(clean_file(load_file(path, limits), genre=g), genre=g)


def parse_bytes(data: bytes, name: str, limits: FileLimits | None = None,
                genre: Genre | None = None) -> ParsedDocument:
    """Load, clean and parse an uploaded file's bytes; NAME is display text only (never a path)."""
    g = resolve(genre)
    return parse_document(clean_file(load_bytes(data, name, limits), genre=g), genre=g)


def parse_text(text: str, name: str = "粘贴文本", genre: Genre | None = None) -> ParsedDocument:
    """Parse pasted text or a generated draft (Markdown when `name` ends with .md)."""
    g = resolve(genre)
    return parse_document(clean_file(load_text(text, name), genre=g), genre=g)
