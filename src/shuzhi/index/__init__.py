"""The hybrid corpus index: Chroma vectors + BM25 over jieba words, fused by reciprocal rank."""

from .search import CorpusIndex, IndexStats, ensure_index, open_index

__all__ = ["CorpusIndex", "IndexStats", "ensure_index", "open_index"]
