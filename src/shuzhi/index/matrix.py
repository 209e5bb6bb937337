"""The dense index's read replica: every chunk's vector in one float32 matrix, memory-mapped by readers.

Chroma stays the vector store of record (incremental upserts, the vectors a revised report reuses, a
server shared by several machines). Searching, though, reads this matrix: written by each build under
the commit lock beside chunks.jsonl and bm25/, its rows grouped by section kind, so that

- a kind-filtered search is a matrix product over one contiguous slice (no copy, no Chroma query with
  a `where` filter, which costs ~20× an unfiltered one at 100k chunks);
- a process opens it in microseconds (`np.load(mmap_mode="r")`) instead of copying every vector out of
  Chroma (6.7 s and 1.1 GB at 100k chunks), and every process on the machine shares its pages;
- search results are exact (no HNSW approximation).

Layout under `settings.index_dir`:
    vectors.npy       float32 (rows, dim): the vectors, rows grouped by kind, chunk order within a kind
    vector-rows.npy   int64 (rows,): the chunks.jsonl position of each row
and in manifest.json `vectors`: {"collection", "ids_sha256", "dim", "rows", "kinds": {kind: [start, end]}},
the same entry also alone in vectors.json (a reader needs not parse the whole manifest, several MB at
100k chunks, for it).
A reader uses the matrix only when the manifest's `ids_sha256` is the digest of the chunk ids it loaded
and `collection` is its embedder's collection: anything else (an index written by an older version, a
machine that got its chunks from a Chroma server) falls back to reading vectors from Chroma.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..models import Chunk
from ..storage.files import write_atomic

log = logging.getLogger(__name__)

VECTORS_FILE = "vectors.npy"
ROWS_FILE = "vector-rows.npy"
ENTRY_FILE = "vectors.json"


def write_matrix_entry(index_dir: Path, entry: Mapping[str, Any]) -> None:
    """The manifest's `vectors` entry, alone in vectors.json (written with the manifest, under the commit lock)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(index_dir / ENTRY_FILE, json.dumps(dict(entry), ensure_ascii=False))


def load_matrix_entry(index_dir: Path) -> dict[str, Any] | None:
    """vectors.json's entry; None when there is no such file (an index written before it), or it is unreadable."""
    path = index_dir / ENTRY_FILE
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("%s unreadable, the manifest's entry is used: %r", path, exc)
        return None
    return entry if isinstance(entry, dict) else None


def ids_digest(ids: Sequence[str]) -> str:
    """sha256 over the chunk ids in order: what ties the matrix to one chunks.jsonl."""
    digest = hashlib.sha256()
    for chunk_id in ids:
        digest.update(chunk_id.encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class VectorMatrix:
    matrix: np.ndarray  # (rows, dim) float32, usually memory-mapped
    positions: np.ndarray  # (rows,) chunk position of each row
    kinds: Mapping[str, tuple[int, int]]  # kind → [start, end) of its rows

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    def rank(self, vector: np.ndarray, depth: int, mask: np.ndarray | None = None,
             kind: str | None = None) -> list[int]:
        """Chunk positions of the DEPTH rows most similar to VECTOR (cosine: the vectors are normalised),
        best first, among those of KIND (a slice) and passing MASK (over chunk positions)."""
        if kind is not None:
            start, end = self.kinds.get(kind, (0, 0))
        else:
            start, end = 0, len(self)
        if end <= start or depth <= 0:
            return []
        positions = self.positions[start:end]
        sims = self.matrix[start:end] @ vector
        if mask is not None:
            keep = mask[positions]
            if not keep.all():
                positions, sims = positions[keep], sims[keep]
        if positions.size > depth:
            top = np.argpartition(-sims, depth - 1)[:depth]
            positions, sims = positions[top], sims[top]
        order = np.argsort(-sims, kind="stable")
        return [int(p) for p in positions[order]]


def _save_npy(path: Path, array: np.ndarray) -> None:
    """np.save into a temporary file beside PATH, then rename: a reader never maps a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array, allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_matrix(index_dir: Path, chunks: Sequence[Chunk], vectors: Mapping[str, np.ndarray],
                 collection: str) -> dict[str, Any]:
    """Write the matrix of CHUNKS' VECTORS (chunks without one are left out); returns the manifest's
    `vectors` entry. The caller holds the commit lock and writes the manifest after this."""
    present = [(pos, c) for pos, c in enumerate(chunks) if c.id in vectors]
    present.sort(key=lambda pc: (str(pc[1].kind), pc[0]))  # stable: chunk order within each kind
    dim = int(np.asarray(next(iter(vectors.values()))).shape[-1]) if present else 0
    matrix = np.empty((len(present), dim), dtype=np.float32)
    kinds: dict[str, list[int]] = {}
    for row, (_, chunk) in enumerate(present):
        matrix[row] = vectors[chunk.id]
        span = kinds.setdefault(str(chunk.kind), [row, row])
        span[1] = row + 1
    positions = np.array([pos for pos, _ in present], dtype=np.int64)
    index_dir.mkdir(parents=True, exist_ok=True)
    _save_npy(index_dir / VECTORS_FILE, matrix)
    _save_npy(index_dir / ROWS_FILE, positions)
    return {"collection": collection, "ids_sha256": ids_digest([c.id for c in chunks]), "dim": dim,
            "rows": len(present), "kinds": kinds}


def load_matrix(index_dir: Path, meta: Mapping[str, Any], ids: Sequence[str], collection: str) -> VectorMatrix | None:
    """The matrix for chunks IDS of COLLECTION, memory-mapped; None when there is none that fits them."""
    if not meta or meta.get("collection") != collection or meta.get("ids_sha256") != ids_digest(ids):
        return None
    try:
        matrix = np.load(index_dir / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        positions = np.load(index_dir / ROWS_FILE, allow_pickle=False)
    except (OSError, ValueError) as exc:
        log.warning("vector matrix under %s unreadable, reading vectors from Chroma: %s", index_dir, exc)
        return None
    rows = int(meta.get("rows", -1))
    if matrix.ndim != 2 or matrix.shape[0] != rows or positions.shape != (rows,) or \
            (rows and int(positions.max()) >= len(ids)):
        log.warning("vector matrix under %s does not match its manifest entry; reading vectors from Chroma", index_dir)
        return None
    kinds = {str(k): (int(v[0]), int(v[1])) for k, v in (meta.get("kinds") or {}).items()}
    return VectorMatrix(matrix, positions, kinds)


def previous_vectors(index_dir: Path, meta: Mapping[str, Any], old_ids: Sequence[str],
                     collection: str) -> dict[str, np.ndarray]:
    """The vectors of the last build's matrix by chunk id (views into the mapped file), for the next build."""
    found = load_matrix(index_dir, meta, old_ids, collection)
    if found is None:
        return {}
    return {old_ids[int(pos)]: found.matrix[row] for row, pos in enumerate(found.positions)}
