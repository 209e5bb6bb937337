"""The lexical half: jieba words scored by BM25 (bm25s), persisted next to the dense index.

Chroma's `$contains` cannot search Chinese by word, so this is where keywords are matched.
The index is rebuilt whenever chunks change, but each chunk's words are saved with it (tokens.json):
tokenizing is most of the cost (≈ 30 s at 100k chunks), so a re-index tokenizes only new chunks.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import bm25s
import numpy as np

from ..datafiles import load_data
from .wordfreq import FREQ_FILE, stored_key, stored_tokenizer, table_key, write_table

# jieba's _compat imports pkg_resources only to open jieba's own files (0.1–0.5 s of a cold start, and
# deprecated); without it jieba opens them by path.
_PKG_RESOURCES_LOADED = "pkg_resources" in sys.modules
if not _PKG_RESOURCES_LOADED:
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]
try:
    import jieba  # noqa: E402
finally:
    if not _PKG_RESOURCES_LOADED:
        del sys.modules["pkg_resources"]


log = logging.getLogger(__name__)

# Function words and the placeholder residue carry no topic; a small list is enough for BM25's IDF.
STOP_WORDS = frozenset(
    "的 了 和 与 及 以及 或 等 是 在 对 把 被 为 以 于 将 从 向 并 而 也 都 又 就 还 上 中 下 "
    "个 这 那 其 之 所 有 我 我们 他们 一 年 x xx xxx".split()
)
TOKENS_FILE = "tokens.json"  # chunk id → its words, so the next build tokenizes only new chunks
_WORDISH = re.compile(r"\w")  # \w is Unicode-aware: CJK characters count, punctuation does not

_jieba_lock = threading.Lock()
_jieba_ready = False


def _added_words() -> list[str]:
    """Domain terms like 三会一课 or 两个维护 must stay one token, or BM25 matches their parts."""
    return [str(word) for keywords in (load_data("themes") or {}).values() for word in keywords or []]


def _init_jieba() -> None:
    """Quiet jieba, its dictionary loaded once, with the theme keywords as whole words."""
    global _jieba_ready
    with _jieba_lock:
        if _jieba_ready:
            return
        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        for word in _added_words():
            jieba.add_word(word)
        _jieba_ready = True


def save_word_table(index_dir: Path) -> None:
    """Write jieba's table (theme words added) to INDEX_DIR for later processes' queries (wordfreq.py),
    unless the one there was made from the same dictionary and words. A build calls it; a failure only
    leaves queries to load jieba's own table."""
    path = index_dir / FREQ_FILE
    key = table_key(_added_words())
    if stored_key(path) == key:
        return
    _init_jieba()
    try:
        write_table(path, jieba.dt.FREQ, jieba.dt.total, key)
    except (OSError, sqlite3.Error) as exc:
        log.warning("could not store jieba's table at %s: %r", path, exc)


_stored: dict[Path, Any] = {}  # index folder → a tokenizer over its stored table (or None: none usable)


def query_words(text: str, index_dir: Path | None = None) -> list[str]:
    """`tokenize(TEXT)` for a search query: the same words, but a process that has not loaded jieba's
    table uses the one stored in INDEX_DIR (`save_word_table`), saving a second of its first search."""
    if _jieba_ready or index_dir is None:
        return tokenize(text)
    with _jieba_lock:
        if index_dir not in _stored:
            _stored[index_dir] = stored_tokenizer(index_dir / FREQ_FILE, table_key(_added_words()))
        stored = _stored[index_dir]
    if stored is None:
        return tokenize(text)
    return _words(stored.lcut_for_search(text))


def tokenize(text: str) -> list[str]:
    """jieba search-mode words, lower-cased, without punctuation, whitespace and stop words."""
    _init_jieba()
    return _words(jieba.lcut_for_search(text))


def _words(cut: Iterable[str]) -> list[str]:
    words = (w.strip().lower() for w in cut)
    return [w for w in words if w and _WORDISH.search(w) and w not in STOP_WORDS]


@lru_cache(maxsize=256)
def _tokenize_query(text: str, index_dir: Path | None = None) -> tuple[str, ...]:
    return tuple(query_words(text, index_dir))


def _in_use(folder: Path) -> bool:
    """A `.bm25.<pid>.…` folder of a process still running (its save is under way)."""
    parts = folder.name.split(".")
    if len(parts) < 3 or not parts[2].isdigit() or int(parts[2]) == os.getpid():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


class LexicalIndex:
    """BM25 over chunk `context_text`; rows are in the order of `ids`."""

    def __init__(self, ids: Sequence[str], retriever: bm25s.BM25 | None,
                 tokens: Mapping[str, list[str]] | None = None) -> None:
        self.ids = list(ids)
        self._retriever = retriever
        self._pos = {chunk_id: i for i, chunk_id in enumerate(self.ids)}
        self._tokens = tokens  # each row's words (saved beside the index, reused by the next build)
        self.index_dir: Path | None = None  # where it was loaded from: its stored jieba table (wordfreq.py)

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str],
              cached: Mapping[str, list[str]] | None = None) -> LexicalIndex:
        """BM25 over TEXTS. CACHED: words of chunks tokenized by an earlier build (`cached_tokens`), by
        chunk id (a hash of the passage): only the other chunks are tokenized, which is most of the work."""
        if not ids:
            return cls([], None)
        retriever = bm25s.BM25()
        cached = cached or {}
        # An empty token list would break bm25s' vocabulary; "" is its own empty token.
        corpus = [cached.get(cid) or tokenize(text) or [""] for cid, text in zip(ids, texts, strict=True)]
        retriever.index(corpus, show_progress=False)
        return cls(ids, retriever, dict(zip(ids, corpus, strict=True)))

    @staticmethod
    def cached_tokens(directory: Path) -> dict[str, list[str]]:
        """The words of every chunk the saved index was built from (empty when none were saved)."""
        try:
            raw = json.loads((directory / TOKENS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): [str(w) for w in v] for k, v in raw.items()} if isinstance(raw, dict) else {}

    def save(self, directory: Path) -> None:
        """Write into a fresh folder beside DIRECTORY, then swap it in (the old one is moved aside first).

        Each writer has its own temporary folder, so two processes saving never mix files; a
        save killed half-way leaves only hidden `.bm25.*` folders, removed by the next save.
        """
        directory.parent.mkdir(parents=True, exist_ok=True)
        for leftover in directory.parent.glob(f".{directory.name}.*"):
            if not _in_use(leftover):
                shutil.rmtree(leftover, ignore_errors=True)
        shutil.rmtree(directory.with_name(directory.name + ".tmp"), ignore_errors=True)  # older versions' name
        tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.{os.getpid()}."))
        aside = tmp.with_name(tmp.name + ".old")
        try:
            if self._retriever is not None:
                self._retriever.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
            if self._tokens:
                (tmp / TOKENS_FILE).write_text(json.dumps(self._tokens, ensure_ascii=False), encoding="utf-8")
            if directory.exists():
                directory.rename(aside)
            tmp.rename(directory)
        except BaseException:
            if aside.exists() and not directory.exists():
                aside.rename(directory)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        shutil.rmtree(aside, ignore_errors=True)

    @classmethod
    def load(cls, directory: Path) -> LexicalIndex | None:
        """The saved index, or None when it is missing or unreadable (then rebuild it)."""
        ids_file = directory / "ids.json"
        if not ids_file.is_file():
            return None
        try:
            ids = json.loads(ids_file.read_text(encoding="utf-8"))
            # Memory-mapped: a search reads the columns of its own words only (a cold 100k load took 0.3 s).
            retriever = bm25s.BM25.load(str(directory), show_progress=False, mmap=True) if ids else None
        except (OSError, ValueError) as exc:
            log.warning("BM25 index at %s unreadable, will rebuild: %s", directory, exc)
            return None
        index = cls(ids, retriever)
        index.index_dir = directory.parent
        return index

    def mask_for(self, allowed_ids: Collection[str]) -> np.ndarray:
        mask = np.zeros(len(self.ids), dtype=bool)
        for chunk_id in allowed_ids:
            pos = self._pos.get(chunk_id)
            if pos is not None:
                mask[pos] = True
        return mask

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row (0 where no query word occurs)."""
        if self._retriever is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        token_ids = self._retriever.get_tokens_ids(list(_tokenize_query(query, self.index_dir)))
        if not token_ids:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores_from_ids(token_ids), dtype=np.float32)

    def rank(
        self, query: str, limit: int, mask: np.ndarray | None = None, allowed_ids: Collection[str] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, score), best first; only rows that match a query word and pass the filter.

        Filtering happens before ranking (masked rows score nothing), so a filter never
        leaves fewer results than exist.
        """
        scores = self.scores(query)
        if allowed_ids is not None:
            mask = self.mask_for(allowed_ids) if mask is None else mask & self.mask_for(allowed_ids)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        candidates = np.flatnonzero(scores > 0)
        if candidates.size > limit:
            top = np.argpartition(-scores[candidates], limit - 1)[:limit]
            candidates = candidates[top]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return [(self.ids[i], float(scores[i])) for i in order]
