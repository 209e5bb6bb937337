"""jieba's dictionary on disk, so that a fresh process can cut a search query into words at once.

jieba cuts a sentence by looking up its substrings, and only those, in its word-frequency table
(`Tokenizer.FREQ`: the dictionary's 350,000 words and their prefixes). Loading that table is what
`jieba.initialize()` costs: 0.65–1.0 s here, half of a cold `shuzhi search`. A build (which has the
table loaded anyway, theme words added) writes it to `<index>/jieba-freq.sqlite`; a process that has
not loaded jieba's table cuts its queries with a `jieba.Tokenizer` whose table is that file, read
word by word (a query asks for some two hundred substrings). The result is the same words, since the
same table is consulted in the same way; the file records what it was made from (jieba's version and
dictionary, the theme words added) and is not used once any of that changed.
# SEE: .venv/lib/python3.11/site-packages/jieba/__init__.py (get_DAG, calc, cut_for_search: FREQ.get / in)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FREQ_FILE = "jieba-freq.sqlite"
_MISSING = object()


def table_key(added_words: Iterable[str]) -> str:
    """What a stored table was made from: jieba's version, its dictionary file, the words added to it."""
    import jieba

    custom = jieba.dt.dictionary  # None: the dictionary jieba ships
    dictionary = Path(custom) if custom else Path(jieba.__file__).parent / jieba.DEFAULT_DICT_NAME
    try:
        size = dictionary.stat().st_size
    except OSError:
        size = 0
    described = {"jieba": getattr(jieba, "__version__", ""), "dict": str(dictionary), "size": size,
                 "added": list(added_words)}
    return hashlib.sha256(json.dumps(described, ensure_ascii=False).encode()).hexdigest()


def stored_key(path: Path) -> str:
    """The key a stored table was written with ("" when there is none or it is unreadable)."""
    if not path.is_file():
        return ""
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            row = db.execute("SELECT value FROM meta WHERE name = 'key'").fetchone()
    except sqlite3.Error as exc:
        log.info("%s unreadable: %r", path, exc)
        return ""
    return str(row[0]) if row else ""


def write_table(path: Path, freq: Mapping[str, int], total: int, key: str) -> None:
    """FREQ and TOTAL (a loaded jieba table) into PATH, written beside it and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with sqlite3.connect(tmp) as db:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("CREATE TABLE freq (word TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
            db.executemany("INSERT INTO freq VALUES (?, ?)", freq.items())
            db.executemany("INSERT INTO meta VALUES (?, ?)", [("key", key), ("total", str(total))])
        db.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StoredFreq:
    """A read-only stand-in for `jieba.Tokenizer.FREQ`, looked up in the stored table (and remembered)."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._seen: dict[str, int | None] = {}

    def total(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE name = 'total'").fetchone()
        return int(row[0])

    def _look(self, word: str) -> int | None:
        found = self._seen.get(word, _MISSING)
        if found is _MISSING:
            with self._lock:
                row = self._db.execute("SELECT n FROM freq WHERE word = ?", (word,)).fetchone()
            found = int(row[0]) if row else None
            self._seen[word] = found
        return found  # type: ignore[return-value]

    def get(self, word: str, default: Any = None) -> Any:
        found = self._look(word)
        return default if found is None else found

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._look(word) is not None

    def __getitem__(self, word: str) -> int:
        found = self._look(word)
        if found is None:
            raise KeyError(word)
        return found

    def __setitem__(self, word: str, value: int) -> None:
        raise TypeError("the stored jieba table is read-only")


def stored_tokenizer(path: Path, key: str) -> Any | None:
    """A `jieba.Tokenizer` reading its table from PATH; None when PATH was made from something else."""
    if stored_key(path) != key:
        return None
    import jieba

    try:
        freq = StoredFreq(path)
        tokenizer = jieba.Tokenizer()
        tokenizer.FREQ, tokenizer.total = freq, freq.total()
        tokenizer.initialized = True  # its table is the file: jieba must not load its own
    except (sqlite3.Error, TypeError, ValueError) as exc:
        log.info("stored jieba table %s not usable: %r", path, exc)
        return None
    return tokenizer
