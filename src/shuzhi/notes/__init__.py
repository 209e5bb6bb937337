"""Bullet notes → facts: scanning lines, the classification rules, and the similarity classifier."""

from .classify import similarity_classifier, similarity_themer
from .parse import Classifier, clear_note_rules, extract_names, file_line, note_figures, parse_notes
from .rules import heading_kind

__all__ = [
    "Classifier",
    "clear_note_rules",
    "extract_names",
    "file_line",
    "heading_kind",
    "note_figures",
    "parse_notes",
    "similarity_classifier",
    "similarity_themer",
]
