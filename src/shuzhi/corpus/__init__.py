"""The corpus pipeline: load → clean → parse → chunk."""

from .chunk import chunk_document
from .clean import clean_file, clean_text
from .load import SUPPORTED_SUFFIXES, load_file, load_text
from .parse import parse_file, parse_text
from .textsafe import neutralise_block_markers, strip_control_chars

__all__ = ["SUPPORTED_SUFFIXES", "chunk_document", "clean_file", "clean_text", "load_file", "load_text",
           "neutralise_block_markers", "parse_file", "parse_text", "strip_control_chars"]
