"""Drafts brought in and put back: an uploaded draft as Markdown, a rewrite split over its sections."""

from __future__ import annotations

from collections.abc import Sequence

from .checks.rubric import cause_start
from .genre import Genre
from .models import LoadedFile


def blocks_to_markdown(loaded: LoadedFile) -> str:
    """A loaded draft as Markdown: a Word file's title and heading styles become "#", "##", "###"
    (its "一、" lines stay as written, the parser reads them as headings); a text file as it is."""
    if loaded.file_type != "docx":
        return "\n".join(b.text for b in loaded.blocks).strip() + "\n"
    levels = [b.heading_level for b in loaded.blocks if b.heading_level]
    offset = min(levels) - 1 if levels else 0
    parts: list[str] = []
    for block in loaded.blocks:
        text = block.text.strip()
        if not text:
            continue
        if block.heading_level == 0:
            parts.append(f"# {text}")
        elif block.heading_level:
            parts.append("#" * min(6, 1 + block.heading_level - offset) + f" {text}")
        else:
            parts.append(text)
    return "\n\n".join(parts) + "\n"


def split_rewrite(text: str, parts: int, genre: Genre) -> tuple[str, ...]:
    """A rewritten 存在问题及原因 cut for PARTS sections: with two (problems, causes), the causes start
    at the genre's first lead-in ("分析存在上述问题的原因：", "究其原因，" …). Without one, the whole
    text is the first part and the others are "" (left as they were by the caller)."""
    text = text.strip()
    if parts <= 1:
        return (text,)
    at = cause_start(text, genre)
    if at is None or at == 0:
        return (text, *([""] * (parts - 1)))
    return (text[:at].strip(), text[at:].strip(), *([""] * (parts - 2)))


def joined_sections(texts: Sequence[str]) -> str:
    """Section texts as one passage (problems, then causes), as the rewrite reads it."""
    return "\n\n".join(t.strip() for t in texts if t.strip())
