"""What the index keeps on disk: Chroma vectors, every chunk as JSONL, and the file manifest.

Layout under `settings.index_dir`:
    chroma/           Chroma persistent client (unless `chroma_host` points at a server)
    chunks.jsonl      every current chunk (text + metadata): lexical search needs no embedder
    manifest.json     file → mtime/size/sha256/chunk ids, the pipeline fingerprint, and the corpus
                      folders of the last build (what a later build without folders indexes again)
    bm25/             bm25s arrays + ids.json (see bm25.py)
    vectors.npy, vector-rows.npy  every chunk's vector as one float32 matrix, rows grouped by kind,
                      memory-mapped by readers (see matrix.py)
    build-intent.json the folders (and --rebuild) of a build under way: written first, removed
                      last, so a build killed half-way is resumed from the same folders
    .build.lock, .commit.lock  flock files (see lock.py)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast, overload

import numpy as np

from ..config import Settings
from ..errors import IndexUnavailable
from ..models import Chunk
from ..storage.files import write_atomic
from .embed import Embedder, embedder_slug, register_with_chroma

log = logging.getLogger(__name__)

UPSERT_BATCH = 4096  # records per Chroma write (its limit is about 5,000 on SQLite)
GET_PAGE = 5000
_COLLECTION_CHARS = re.compile(r"[^a-zA-Z0-9._-]+")


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text)


# ---------------------------------------------------------------- chunks.jsonl
COLUMNS_SUFFIX = ".columns.json"  # chunks.jsonl.columns.json: what a search needs of every chunk, up front


class ChunkTable(Sequence[Chunk]):
    """The chunks of chunks.jsonl, read-only: the columns a search filters on (id, kind, theme, year,
    doc_id) for every chunk, each chunk itself parsed when first asked for (a search reads some fifty of
    them; parsing all 100,000 lines took 1.4 s of a cold `shuzhi search`)."""

    def __init__(self, data: bytes, offsets: Sequence[int], columns: dict[str, list[Any]]) -> None:
        self._data = data
        self._offsets = offsets  # start of each line, and the end of the last
        self.ids: list[str] = columns["id"]
        self.columns = columns
        self._parsed: dict[int, Chunk] = {}

    @classmethod
    def of(cls, chunks: Sequence[Chunk]) -> ChunkTable:
        """A table over chunks already in memory."""
        table = cls(b"", [], _columns(chunks))
        table._parsed = dict(enumerate(chunks))
        return table

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, index: int) -> Chunk: ...

    @overload
    def __getitem__(self, index: slice) -> list[Chunk]: ...

    def __getitem__(self, index: int | slice) -> Chunk | list[Chunk]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        chunk = self._parsed.get(index)
        if chunk is None:
            if not 0 <= index < len(self):
                raise IndexError(index)
            line = self._data[self._offsets[index]:self._offsets[index + 1]]
            chunk = Chunk(**json.loads(line))
            self._parsed[index] = chunk
        return chunk

    def __iter__(self) -> Iterator[Chunk]:
        return (self[i] for i in range(len(self)))


def _columns(chunks: Sequence[Chunk]) -> dict[str, list[Any]]:
    return {"id": [c.id for c in chunks], "kind": [str(c.kind) for c in chunks], "theme": [c.theme for c in chunks],
            "year": [c.year for c in chunks], "doc_id": [c.doc_id for c in chunks]}


class ChunkStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns_path = path.with_name(path.name + COLUMNS_SUFFIX)

    def exists(self) -> bool:
        return self.path.is_file()

    def load(self) -> list[Chunk]:
        if not self.path.is_file():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [Chunk(**json.loads(line)) for line in fh if line.strip()]

    def open(self) -> ChunkTable:
        """The chunks as a `ChunkTable`: lazily parsed when the columns file fits chunks.jsonl, else all
        parsed now (an index written before the columns file existed, or replaced by another program)."""
        if not self.path.is_file():
            return ChunkTable.of([])
        data = self.path.read_bytes()
        table = self._lazy(data)
        if table is not None:
            return table
        log.info("%s has no fitting columns file: parsing every chunk", self.path)
        return ChunkTable.of([Chunk(**json.loads(line)) for line in data.decode("utf-8").splitlines() if line.strip()])

    def _lazy(self, data: bytes) -> ChunkTable | None:
        try:
            raw = json.loads(self.columns_path.read_text(encoding="utf-8"))
            offsets, columns = raw["offsets"], {k: raw[k] for k in ("id", "kind", "theme", "year", "doc_id")}
            if raw.get("size") != len(data) or len(offsets) != len(columns["id"]) + 1 or offsets[-1] != len(data):
                return None
            if any(len(v) != len(columns["id"]) for v in columns.values()):
                return None
            table = ChunkTable(data, offsets, columns)
            if len(table) and (table[0].id != table.ids[0] or table[len(table) - 1].id != table.ids[-1]):
                return None
            return table
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.info("columns file %s not usable: %r", self.columns_path, exc)
            return None

    def save(self, chunks: Sequence[Chunk]) -> None:
        # vars(), not asdict(): its deep copy of every field took 10 s of a 100k build; the fields are plain.
        lines = [json.dumps(vars(c), ensure_ascii=False) + "\n" for c in chunks]
        self.save_text("".join(lines), chunks)

    def save_text(self, text: str, chunks: Sequence[Chunk]) -> None:
        """Write TEXT (the lines of CHUNKS, in order) as chunks.jsonl, and its columns file."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        offsets = [0]
        start = 0
        for _ in chunks:  # line starts, as bytes: every line ends in a newline
            start = data.index(b"\n", start) + 1
            offsets.append(start)
        if offsets[-1] != len(data):
            raise ValueError("chunks.jsonl text does not hold one line per chunk")
        self.columns_path.unlink(missing_ok=True)  # never a columns file describing another chunks.jsonl
        write_atomic(self.path, data)
        write_atomic(self.columns_path, json.dumps({"version": 1, "size": len(data), "offsets": offsets,
                                                    **_columns(chunks)}, ensure_ascii=False))


# ---------------------------------------------------------------- manifest.json
@dataclass
class FileEntry:
    mtime_ns: int
    size: int
    sha256: str
    doc_id: str
    sections: int
    chunk_ids: list[str]
    # What the 语料库 page lists (filled when the file is parsed; None in older manifests: parse again).
    title: str = ""
    year: int = 0
    org_type: str = ""
    outline: list[list[Any]] | None = None  # [[kind, [heading, …]], …] in document order
    removed: list[list[str]] = field(default_factory=list)  # [[reason, text], …] what cleaning took out
    lead: str = ""  # the first words of the text, for a document without a title


@dataclass
class Manifest:
    fingerprint: str = ""
    files: dict[str, FileEntry] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)  # path → Chinese reason
    corpus_dirs: list[str] = field(default_factory=list)  # absolute folders (or files) the last build indexed
    vectors: dict[str, Any] = field(default_factory=dict)  # the vector matrix's entry (matrix.py); {} = none

    @classmethod
    def load(cls, path: Path) -> Manifest:
        if not path.is_file():
            return cls()
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            files = {p: FileEntry(**e) for p, e in raw.get("files", {}).items()}
            vectors = raw.get("vectors")
            return cls(str(raw.get("fingerprint", "")), files, dict(raw.get("skipped", {})),
                       [str(d) for d in raw.get("corpus_dirs", [])], dict(vectors) if isinstance(vectors, dict) else {})
        except (OSError, ValueError, TypeError) as exc:
            log.warning("manifest %s unreadable, re-parsing every file: %s", path, exc)
            return cls()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "fingerprint": self.fingerprint, "corpus_dirs": self.corpus_dirs,
                "files": {p: asdict(e) for p, e in sorted(self.files.items())}, "skipped": self.skipped,
                "vectors": self.vectors}
        _write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1))


# ---------------------------------------------------------------- build-intent.json
@dataclass
class BuildIntent:
    """What a build set out to do, on disk before it touches anything else.

    Present after the build ended means it was interrupted (killed, power cut): the next build
    without folders indexes these folders again instead of the last complete build's, or the
    configured (built-in) ones when there was none.
    """

    corpus_dirs: list[str]
    rebuild: bool = False
    pid: int = 0

    @classmethod
    def load(cls, path: Path) -> BuildIntent | None:
        if not path.is_file():
            return None
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return cls([str(d) for d in raw["corpus_dirs"]], bool(raw.get("rebuild", False)), int(raw.get("pid", 0)))
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.warning("build intent %s unreadable, ignored: %s", path, exc)
            return None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, json.dumps({"version": 1, **asdict(self)}, ensure_ascii=False, indent=1))


# ---------------------------------------------------------------- Chroma
def collection_name(embedder: Embedder) -> str:
    """`shuzhi_chunks_<embedder>`: one collection per embedder, since vectors do not mix."""
    # SEE: https://docs.trychroma.com/docs/collections/manage-collections (3–512 of [a-zA-Z0-9._-])
    slug = _COLLECTION_CHARS.sub("-", embedder_slug(embedder)).strip("-._") or "default"
    return f"shuzhi_chunks_{slug}"[:512]


def make_client(settings: Settings) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    register_with_chroma()

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.chroma_host:
        return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
    path = settings.index_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def server_down_message(settings: Settings, exc: Exception) -> str:
    where = f"{settings.chroma_host}:{settings.chroma_port}"
    cause = "连接不上" if "could not connect" in str(exc).lower() else type(exc).__name__  # chromadb: ValueError
    return (f"无法连接 Chroma 服务器 {where}（{cause}）。本机已有索引时检索只按关键词进行；"
            "建立或更新索引需要这台服务器。"
            f"请确认服务器已启动（chroma run --host … --port {settings.chroma_port}），"
            "并检查 SHUZHI_CHROMA_HOST、SHUZHI_CHROMA_PORT 设置。")


class DenseStore:
    """One Chroma collection of chunk vectors, with the registered embedding function."""

    def __init__(self, settings: Settings, embedder: Embedder, client: Any = None) -> None:
        self.embedder = embedder
        self.name = collection_name(embedder)
        self.batch = UPSERT_BATCH
        try:
            self.client = client if client is not None else make_client(settings)
            self.collection = self._open()
            self.batch = max(1, min(UPSERT_BATCH, int(self.client.get_max_batch_size())))
        except Exception as exc:
            if settings.chroma_host:  # a server that is down: no --rebuild advice, nothing local is wrong
                raise IndexUnavailable(server_down_message(settings, exc), f"chroma server open failed: {exc!r}") from exc
            raise IndexUnavailable(f"无法打开向量库（{settings.index_dir}），请检查 Chroma 设置或重新运行 "
                                   "`shuzhi index --rebuild`。", f"chroma open failed: {exc!r}") from exc

    def _open(self) -> Any:
        return self.client.get_or_create_collection(
            # The embedder follows Chroma's protocol without its base class (embed.py): typed Any here.
            name=self.name, embedding_function=cast(Any, self.embedder), configuration={"hnsw": {"space": "cosine"}},
        )

    def reset(self) -> None:
        """Drop and recreate the collection (a full rebuild)."""
        try:
            self.client.delete_collection(self.name)
        except Exception as exc:  # a missing collection is what we want anyway
            log.info("delete_collection %s: %s", self.name, exc)
        self.collection = self._open()

    def count(self) -> int:
        return int(self.collection.count())

    def existing_ids(self) -> set[str]:
        ids: set[str] = set()
        offset = 0
        while True:
            page = self.collection.get(include=[], limit=GET_PAGE, offset=offset)
            ids.update(page["ids"])
            if len(page["ids"]) < GET_PAGE:
                return ids
            offset += GET_PAGE

    def vectors(self, ids: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(ids, float32 matrix) for the given ids, or for the whole collection."""
        out_ids: list[str] = []
        rows: list[np.ndarray] = []
        if ids is not None:
            ids = list(dict.fromkeys(ids))  # Chroma refuses a get naming one id twice (DuplicateIDError)
            for start in range(0, len(ids), GET_PAGE):
                self._collect(self.collection.get(ids=list(ids[start:start + GET_PAGE]),
                                                  include=["embeddings"]), out_ids, rows)
        else:
            offset = 0
            while True:
                page = self.collection.get(include=["embeddings"], limit=GET_PAGE, offset=offset)
                self._collect(page, out_ids, rows)
                if len(page["ids"]) < GET_PAGE:
                    break
                offset += GET_PAGE
        matrix = np.vstack(rows).astype(np.float32) if rows else np.zeros((0, 0), dtype=np.float32)
        return out_ids, matrix

    @staticmethod
    def _collect(page: Any, out_ids: list[str], rows: list[np.ndarray]) -> None:
        embeddings = page.get("embeddings")
        if embeddings is None or len(page["ids"]) == 0:
            return
        out_ids.extend(page["ids"])
        rows.append(np.asarray(embeddings, dtype=np.float32))

    def upsert(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        rows = list({c.id: i for i, c in reversed(list(enumerate(chunks)))}.values())
        if len(rows) < len(chunks):  # one id twice in an upsert is a DuplicateIDError: keep the first
            rows.sort()
            chunks, embeddings = [chunks[i] for i in rows], embeddings[rows]
        for start in range(0, len(chunks), self.batch):
            batch = chunks[start:start + self.batch]
            # Vectors by chunk id, with the kind and document (for a `where` filter, a look at the server).
            # The texts and the other fields live in chunks.jsonl (on a server, in its side collection):
            # sending them too made Chroma's writes 2.5× slower (its full-text index of every passage).
            self.collection.upsert(
                ids=[c.id for c in batch],
                embeddings=embeddings[start:start + self.batch],
                metadatas=[{"kind": str(c.kind), "doc_id": c.doc_id} for c in batch],
            )

    def delete(self, ids: Iterable[str]) -> None:
        id_list = list(ids)
        for start in range(0, len(id_list), self.batch):
            self.collection.delete(ids=id_list[start:start + self.batch])

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """Approximate nearest neighbours (HNSW), unfiltered: (id, cosine similarity).

        `n` must not exceed the collection size (callers know it; `count()` costs a round trip).
        """
        if n <= 0:
            return []
        result = self.collection.query(query_embeddings=[vector], n_results=n, include=["distances"])
        distances = (result.get("distances") or [[]])[0]
        return [(chunk_id, 1.0 - float(d)) for chunk_id, d in zip(result["ids"][0], distances, strict=True)]
