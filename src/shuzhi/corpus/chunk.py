"""Parsed report → retrieval chunks: one per point or short paragraph, heading path as context."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from ..genre import Genre, SectionKind, resolve
from ..models import Chunk, ParsedDocument, Section
from .clean import find_ad_spans
from .parse import detect_theme

log = logging.getLogger(__name__)

MIN_POINT_CHARS = 25  # shorter points say too little alone; they join the next one
# A real report gives 20–30 chunks (the built-in corpus: at most 27). Past this a document is a
# monster (5,000 lines without a heading gave 2,915 chunks, embedded for 5 minutes each); its first
# chunks are indexed and a warning says the rest were not.
MAX_CHUNKS_PER_DOCUMENT = 500


def _chunk_id(doc_id: str, heading_path: str, text: str) -> str:
    return hashlib.sha256((doc_id + heading_path + text).encode("utf-8")).hexdigest()[:32]


def _merge_short(texts: list[str], min_chars: int) -> list[str]:
    """Join a too-short point to the next one (or, at the end, to the previous one)."""
    out: list[str] = []
    carry = ""
    for text in texts:
        text = carry + text
        carry = ""
        if len(text) < min_chars:
            carry = text
        else:
            out.append(text)
    if carry:
        if out:
            out[-1] += carry
        else:
            out.append(carry)
    return out


def _pack(parts: list[str], max_chars: int) -> list[str]:
    """Greedily pack consecutive parts into pieces of at most max_chars."""
    pieces: list[str] = []
    current = ""
    for part in parts:
        if current and len(current) + len(part) > max_chars:
            pieces.append(current)
            current = ""
        current += part
    if current:
        pieces.append(current)
    return pieces


def split_long(text: str, max_chars: int, genre: Genre | None = None) -> list[str]:
    """Split at the genre's sentence ends (。；！？) into pieces ≤ max_chars; an overlong sentence at commas."""
    if len(text) <= max_chars:
        return [text]
    punctuation = resolve(genre).punctuation
    parts: list[str] = []
    for sentence in punctuation.sentence_pieces(text):
        if len(sentence) <= max_chars:
            parts.append(sentence)
            continue
        for clause in punctuation.comma_pieces(sentence):
            # A clause longer than the budget has no natural break left: cut it by width.
            parts.extend(clause[i : i + max_chars] for i in range(0, len(clause), max_chars))
    return _pack(parts, max_chars)


def _section_texts(section: Section, max_chars: int, g: Genre) -> list[str]:
    if g.role(section.kind) == SectionKind.TITLE:
        return [section.heading]
    texts = [p.label + p.text for p in section.points if p.text.strip()]
    if not texts and section.text.strip():
        texts = [line for line in section.text.split("\n") if line.strip()]
    return [piece for text in _merge_short(texts, MIN_POINT_CHARS) for piece in split_long(text, max_chars, g)]


def _point_theme(section: Section, text: str, g: Genre) -> str:
    """An enumerated point's own theme from its headline sentence, else the section's.

    Only the points of body kinds carry a theme of their own (title, opening, closing do not); an
    unlabelled paragraph has no headline of its own: the section heading is its topic.
    """
    if section.kind not in g.body_kinds or not g.numbering.starts_with_point(text):
        return section.theme
    pieces = g.punctuation.sentence_pieces(text)
    headline = pieces[0] if pieces else ""
    return detect_theme(headline) or section.theme


def _scrub(text: str, source: str) -> str:
    """Last guard: cleaning already removed ads, but nothing dirty may reach the index."""
    for span in find_ad_spans(text):
        log.warning("ad text left in a chunk of %s, removed: %r", source, span)
        text = text.replace(span, "")
    return text.strip()


def chunk_document(doc: ParsedDocument, max_chars: int = 320, genre: Genre | None = None, *,
                   max_chunks: int = MAX_CHUNKS_PER_DOCUMENT, warnings: list[str] | None = None) -> list[Chunk]:
    """Chunks of a parsed report in reading order (position = running index), at most MAX_CHUNKS.

    A document cut at MAX_CHUNKS says so in WARNINGS (Chinese), when given, and in the log.
    """
    g = resolve(genre)
    source = Path(doc.path).name
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in doc.sections:
        # The title's own path is itself; repeating it as context adds nothing.
        heading_path = "" if g.role(section.kind) == SectionKind.TITLE else " > ".join(section.heading_path)
        for raw in _section_texts(section, max_chars, g):
            if len(chunks) >= max_chunks:
                log.warning("%s: more than %d chunks, the rest not indexed", source, max_chunks)
                if warnings is not None:
                    warnings.append(f"「{source}」内容过多（超过 {max_chunks} 个片段，一篇报告通常只有二三十个），"
                                    f"只索引了前 {max_chunks} 个；如是多篇报告的合集或整段未分行的长文，请拆分后再加入。")
                log.info("chunked %s: %d chunks (capped)", source, len(chunks))
                return chunks
            text = _scrub(raw, source)
            if not text:
                continue
            chunk_id = _chunk_id(doc.doc_id, heading_path, text)
            if chunk_id in seen:  # the same passage twice adds nothing to an index
                continue
            seen.add(chunk_id)
            chunks.append(
                Chunk(
                    id=chunk_id,
                    text=text,
                    doc_id=doc.doc_id,
                    source=source,
                    year=doc.year or 0,
                    org_type=doc.org_type,
                    kind=section.kind,
                    theme=_point_theme(section, text, g),
                    heading_path=heading_path,
                    position=len(chunks),
                )
            )
    log.info("chunked %s: %d chunks", source, len(chunks))
    return chunks
