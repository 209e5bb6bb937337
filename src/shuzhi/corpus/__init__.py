"""The corpus pipeline: load → clean → parse → chunk."""

from .chunk import chunk_document
from .clean import clean_file, clean_text
from .load import SUPPORTED_SUFFIXES, load_file, load_text
from .parse import parse_file, parse_text

__all__ = ["SUPPORTED_SUFFIXES", "chunk_document", "clean_file", "clean_text", "load_file", "load_text",
           "parse_file", "parse_text"]
