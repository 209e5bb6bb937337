"""The genre as one data file: genres/<name>.yaml → a typed, compiled `Genre`.

Everything that makes a 述职报告 a 述职报告 (or a 个人对照检查材料 …) lives in its genre file: the
section kinds and their order, heading patterns, the numbering grammar (一、/（一）/1./（1）/一是 …),
sentence ends, plan sub-items, prompt guides, the problems rubric and the export labels. Every
module gets them from here; numbering regexes exist only in this package (genre/numbering.py).

    load_genre(name=None) -> Genre           # None: "shuzhi"; unknown or broken → ShuzhiError (Chinese)
    list_genres() -> list[GenreInfo]         # name, title (and error) of every genre
    genre.numbering: NumberingGrammar        # match, level_of, strip_label(s), split_points, format_label …
    genre.split_sentences(text)              # at the genre's sentence ends, never inside quotes
    failed_section_marker(error) / find_failed_markers(text) / strip_failed_markers(text)
"""

from __future__ import annotations

from ..kinds import Kind, SectionKind, Severity, is_builtin_kind
from .load import DEFAULT_GENRE, GenreInfo, build_genre, clear_genre_cache, list_genres, load_genre
from .model import Aspect, Genre, KindSpec, LengthRule, SubItems
from .numbering import LabelMatch, LabelStyle, NumberingGrammar, cn_numeral, numeral_value
from .text import (
    FAILED_SECTION_PREFIX,
    MISSING_MATERIAL_MARKER,
    Punctuation,
    failed_section_marker,
    find_failed_markers,
    strip_failed_markers,
    unfinished_markers,
)
from .text import split_sentences as _split_sentences

__all__ = [
    "DEFAULT_GENRE",
    "FAILED_SECTION_PREFIX",
    "MISSING_MATERIAL_MARKER",
    "Aspect",
    "Genre",
    "GenreInfo",
    "Kind",
    "KindSpec",
    "LabelMatch",
    "LabelStyle",
    "LengthRule",
    "NumberingGrammar",
    "Punctuation",
    "SectionKind",
    "Severity",
    "SubItems",
    "build_genre",
    "clear_genre_cache",
    "cn_numeral",
    "failed_section_marker",
    "find_failed_markers",
    "is_builtin_kind",
    "list_genres",
    "load_genre",
    "numeral_value",
    "resolve",
    "split_sentences",
    "strip_failed_markers",
    "unfinished_markers",
]


def resolve(genre: Genre | str | None) -> Genre:
    """A Genre from what a caller passed: the object itself, a name, or None (the default)."""
    return genre if isinstance(genre, Genre) else load_genre(genre)


def split_sentences(text: str, genre: Genre | None = None, ends: str | None = None) -> list[str]:
    """Sentences of TEXT at the genre's sentence ends (or ENDS), never inside quotes or brackets."""
    if ends is None:
        ends = resolve(genre).punctuation.sentence_ends
    return _split_sentences(text, ends)
