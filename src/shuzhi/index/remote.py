"""One corpus on a shared Chroma server: the lexical side of every machine follows the server's collection.

With `SHUZHI_CHROMA_HOST`, the vectors live on the server while chunks.jsonl, bm25/ and
manifest.json live in each machine's own `index_dir`. A machine that indexes (the writer) would
leave every other machine's keyword side describing an older corpus than the vectors it queries.
So the server also holds the lexical side, in a companion collection `<vector collection>.lexical`
(no embedding function; each record carries a 1-number placeholder vector, never queried):

    <version>:c:00000 …   chunks.jsonl, byte for byte: zlib, base64, cut into pages of PAGE_CHARS characters,
                          each page in the metadata field `data` (a 1 MB metadata string costs the server
                          0.25 s; the same text as a document ~12 s, Chroma indexes documents for full-text search)
    <version>:m:00000 …   manifest.json, the same way
    <version>:b:00000 …   the files of bm25/ (the writer's BM25 arrays), packed, the same way
    head                  which version is current: version, stamp, sha256 of both files, page counts,
                          chunk count, the writer (host, pid, index dir) and when it was written
    lease                 the writer's claim while it builds (host, pid, index dir, renewed-at)

`stamp` is the sha256 over the ordered chunk ids (what the vector records must match); `version`
also covers the manifest, so a rename that keeps every chunk is published too. A build publishes
right after its local commit (`publish`): pages first, then `head`, then the pages of older
versions are deleted. A reader (`pull`, from `CorpusIndex.has_index`) compares `head.version`
with `remote.json` in its index dir and, when they differ or its index is missing, downloads the
pages, checks both digests and the stamp, and replaces its chunks.jsonl, manifest.json and bm25/
under the commit lock, with the writer's BM25 arrays when their ids are the chunks' ids (else they
are rebuilt: the same chunks in the same order give the same rows; tokenizing 20k chunks took 31 s).
Its searches then rank exactly as the writer's do.

One writer at a time: the build lock (lock.py) is a flock in one machine's data dir and cannot see
another machine. `claim_writer` adds a best-effort server-side guard: a build records a `lease`
(renewed every LEASE_RENEW_S by a thread) and refuses to start while another machine's lease is
younger than LEASE_TTL_S. Read-then-write through HTTP is not atomic: two builds started in the
same second can both win; the README says to keep one writer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import ShuzhiError
from ..storage.files import write_atomic
from .lock import build_running, commit_lock

if TYPE_CHECKING:
    from .store import DenseStore

log = logging.getLogger(__name__)

SIDE_SUFFIX = ".lexical"
PAGE_CHARS = 1_000_000  # of base64: 750 kB of zlib, some 2-3 MB of chunks.jsonl per request
HEAD_ID = "head"
LEASE_ID = "lease"
LOCAL_STATE = "remote.json"
LEASE_TTL_S = 120.0
LEASE_RENEW_S = 30.0
LEASE_CONFIRM_S = 0.3
PULL_INTERVAL_S = 5.0  # a long-running process asks the server at most this often
_PLACEHOLDER = [1.0]
_last_pull: dict[tuple[str, str], float] = {}


def content_stamp(ids: Sequence[str]) -> str:
    """sha256 over the ordered chunk ids: equal stamps, equal BM25 rows and the same vector records."""
    return hashlib.sha256("\n".join(ids).encode("utf-8")).hexdigest()


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def server_of(settings: Settings) -> str:
    return f"{settings.chroma_host}:{settings.chroma_port}"


@dataclass(frozen=True)
class Head:
    version: str
    stamp: str
    chunks_sha: str
    manifest_sha: str
    chunk_pages: int
    manifest_pages: int
    bm25_pages: int
    chunks: int
    writer: str
    written: float

    @classmethod
    def from_metadata(cls, meta: dict[str, Any] | None) -> Head | None:
        try:
            return cls(**{k: type(v)(meta[k]) for k, v in asdict(_EMPTY_HEAD).items()}) if meta else None
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("unreadable head record on the Chroma server: %r", exc)
            return None


_EMPTY_HEAD = Head("", "", "", "", 0, 0, 0, 0, "", 0.0)


def side_collection(dense: DenseStore) -> Any:
    """The companion collection holding the lexical side of DENSE's collection."""
    return dense.client.get_or_create_collection(name=dense.name + SIDE_SUFFIX, embedding_function=None)


def _pages(data: bytes) -> list[str]:
    blob = base64.b64encode(zlib.compress(data, 6)).decode("ascii")
    return [blob[i:i + PAGE_CHARS] for i in range(0, len(blob), PAGE_CHARS)]


def _unpage(pages: Sequence[str]) -> bytes:
    return zlib.decompress(base64.b64decode("".join(pages)))


_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


def _pack_dir(folder: Path) -> bytes:
    """The files of a flat folder (bm25/) as one blob: per file, name length, name, size, bytes."""
    out = bytearray()
    for path in sorted(folder.iterdir()):
        if path.is_file() and _SAFE_NAME.match(path.name):
            name, data = path.name.encode("utf-8"), path.read_bytes()
            out += struct.pack("<I", len(name)) + name + struct.pack("<Q", len(data)) + data
    return bytes(out)


def _unpack_dir(blob: bytes, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    at = 0
    while at < len(blob):
        (size,) = struct.unpack_from("<I", blob, at)
        name = blob[at + 4:at + 4 + size].decode("utf-8")
        at += 4 + size
        (length,) = struct.unpack_from("<Q", blob, at)
        if not _SAFE_NAME.match(name) or at + 8 + length > len(blob):  # only plain names, inside the blob
            raise ValueError(f"bad entry {name!r} in a published bm25 folder")
        (folder / name).write_bytes(blob[at + 8:at + 8 + length])
        at += 8 + length


def _identity(settings: Settings) -> str:
    return f"{socket.gethostname()}:{settings.index_dir.resolve()}"


def _local_state(settings: Settings) -> dict[str, Any]:
    try:
        return dict(json.loads((settings.index_dir / LOCAL_STATE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return {}


def _save_local_state(settings: Settings, head: Head) -> None:
    write_atomic(settings.index_dir / LOCAL_STATE, json.dumps(
        {"server": server_of(settings), "version": head.version, "stamp": head.stamp}, ensure_ascii=False))


# ---------------------------------------------------------------- writer side
def publish(settings: Settings, dense: DenseStore, chunk_ids: Sequence[str]) -> list[str]:
    """Put this machine's just-committed chunks.jsonl and manifest.json on the server; warnings (Chinese).

    Called by `build_index` after its commit, before stale vectors are pruned: a reader that pulled
    the previous version keeps finding its vectors until then.
    """
    from .build import index_paths

    paths = index_paths(settings)
    try:
        chunks_text = paths["chunks"].read_text(encoding="utf-8")
        manifest_text = paths["manifest"].read_text(encoding="utf-8")
        bm25 = _pack_dir(paths["bm25"]) if paths["bm25"].is_dir() else b""
        chunks_sha, manifest_sha = _sha(chunks_text), _sha(manifest_text)
        version = hashlib.sha256(f"{chunks_sha}\n{manifest_sha}".encode()).hexdigest()[:24]
        side = side_collection(dense)
        chunk_pages, manifest_pages = _pages(chunks_text.encode("utf-8")), _pages(manifest_text.encode("utf-8"))
        bm25_pages = _pages(bm25) if bm25 else []
        for tag, pages in (("c", chunk_pages), ("m", manifest_pages), ("b", bm25_pages)):
            for n, page in enumerate(pages):
                side.upsert(ids=[f"{version}:{tag}:{n:05d}"], embeddings=[_PLACEHOLDER],
                            metadatas=[{"version": version, "part": tag, "page": n, "data": page}])
        head = Head(version, content_stamp(chunk_ids), chunks_sha, manifest_sha, len(chunk_pages),
                    len(manifest_pages), len(bm25_pages), len(chunk_ids), f"{_identity(settings)} pid {os.getpid()}", time.time())
        side.upsert(ids=[HEAD_ID], embeddings=[_PLACEHOLDER], documents=[json.dumps(asdict(head))],
                    metadatas=[asdict(head)])
        _save_local_state(settings, head)
        old = [i for i in side.get(include=[])["ids"] if i not in (HEAD_ID, LEASE_ID) and not i.startswith(version)]
        if old:
            side.delete(ids=old)
        log.info("published index version %s (%d chunks) to %s", version, len(chunk_ids), server_of(settings))
        return []
    except Exception as exc:
        log.warning("publishing the index to %s failed: %r", server_of(settings), exc, exc_info=True)
        return [f"没能把关键词索引同步到 Chroma 服务器 {server_of(settings)}（{type(exc).__name__}），"
                "其他电脑暂时看不到这次的改动；请在服务器可用时重新运行 `shuzhi index`。"]


# ---------------------------------------------------------------- reader side
def stale_message(settings: Settings, exc: Exception) -> str:
    """A machine with its own index cannot reach the server: it searches the copy it has, and says so."""
    where = f"{settings.chroma_host}:{settings.chroma_port}"
    cause = "连接不上" if "could not connect" in str(exc).lower() or "连接不上" in str(exc) else type(exc).__name__
    return (f"无法连接 Chroma 服务器 {where}（{cause}）：本次用本机上次取得的索引检索，可能不是服务器上的最新版本；"
            "建立或更新索引需要这台服务器。请确认服务器已启动，并检查 SHUZHI_CHROMA_HOST、SHUZHI_CHROMA_PORT 设置。")


def pull(settings: Settings, dense_store: Callable[[], DenseStore | None],
         warn: Callable[[str], None] | None = None) -> bool:
    """Bring the local chunks.jsonl, manifest.json and bm25/ to the server's current version.

    True when they were replaced. Does nothing while a build of this machine runs or was interrupted
    (it resumes first), without an embedder, or when the server has nothing published. A server that
    cannot be reached leaves the local index as it is (search then says it works by keywords only).
    """
    from .build import index_paths

    paths = index_paths(settings)
    key = (str(settings.index_dir), server_of(settings))
    now = time.monotonic()
    if now - _last_pull.get(key, -PULL_INTERVAL_S) < PULL_INTERVAL_S:
        return False
    _last_pull[key] = now
    if paths["intent"].is_file() or build_running(settings.index_dir):
        return False
    try:
        dense = dense_store()
        if dense is None:
            return False
        side = side_collection(dense)
        head = Head.from_metadata(_first_metadata(side.get(ids=[HEAD_ID], include=["metadatas"])))
        if head is None:
            return False
        state = _local_state(settings)
        if (state.get("version") == head.version and state.get("server") == server_of(settings)
                and paths["chunks"].is_file() and paths["manifest"].is_file()):
            return False
        chunks_text = _download(side, head, "c", head.chunk_pages).decode("utf-8")
        manifest_text = _download(side, head, "m", head.manifest_pages).decode("utf-8")
        bm25 = _download(side, head, "b", head.bm25_pages) if head.bm25_pages else b""
    except Exception as exc:
        log.warning("could not read the shared index from %s: %r", server_of(settings), exc)
        if warn is not None and paths["chunks"].is_file():
            warn(stale_message(settings, getattr(exc, "__cause__", None) or exc))
        _last_pull.pop(key, None)  # try again next time rather than in 5 s
        return False
    if _sha(chunks_text) != head.chunks_sha or _sha(manifest_text) != head.manifest_sha:
        log.warning("shared index %s changed while it was read; keeping the local index", head.version)
        _last_pull.pop(key, None)
        return False
    _install(settings, head, chunks_text, manifest_text, bm25, dense)
    return True


def _first_metadata(page: Any) -> dict[str, Any] | None:
    metas = page.get("metadatas") or []
    return dict(metas[0]) if metas and metas[0] else None


def _download(side: Any, head: Head, tag: str, count: int) -> bytes:
    ids = [f"{head.version}:{tag}:{n:05d}" for n in range(count)]
    got = side.get(ids=ids, include=["metadatas"])
    by_id = {i: str((m or {}).get("data", "")) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)}
    if set(by_id) != set(ids):
        raise RuntimeError(f"version {head.version} has {len(by_id)} of {count} '{tag}' pages")
    return _unpage([by_id[i] for i in ids])


def _install(settings: Settings, head: Head, chunks_text: str, manifest_text: str, bm25: bytes,
             dense: DenseStore | None = None) -> None:
    from ..models import Chunk
    from .bm25 import LexicalIndex, save_word_table
    from .build import index_paths
    from .matrix import write_matrix, write_matrix_entry
    from .store import ChunkStore

    paths = index_paths(settings)
    chunks = [Chunk(**json.loads(line)) for line in chunks_text.splitlines() if line.strip()]
    ids = [c.id for c in chunks]
    if content_stamp(ids) != head.stamp:
        log.warning("shared index %s: chunk ids do not match its stamp; keeping the local index", head.version)
        return
    settings.index_dir.mkdir(parents=True, exist_ok=True)
    lexical = _published_bm25(settings, bm25, ids) if bm25 else None
    if lexical is None:  # none published (or not for these chunks): the same chunks in order give the same rows
        lexical = LexicalIndex.build(ids, [c.context_text for c in chunks])
    # This machine's own vector matrix (matrix.py), from the server's vectors: its searches then never copy
    # every vector out of Chroma. Without it (Chroma unreadable) searches read Chroma, as before.
    manifest = json.loads(manifest_text)
    manifest["vectors"] = {}
    vectors: dict[str, Any] = {}
    if dense is not None:
        try:
            got_ids, matrix = dense.vectors()
            vectors = dict(zip(got_ids, matrix, strict=True))
        except Exception as exc:
            log.warning("could not read the server's vectors for a local matrix: %r", exc)
    with commit_lock(settings.index_dir, shared=False, wait_s=settings.index_lock_wait_s):
        ChunkStore(paths["chunks"]).save_text(chunks_text, chunks)
        lexical.save(paths["bm25"])
        if vectors and dense is not None:
            manifest["vectors"] = write_matrix(settings.index_dir, chunks, vectors, dense.name)
        write_matrix_entry(settings.index_dir, manifest["vectors"])
        write_atomic(paths["manifest"], json.dumps(manifest, ensure_ascii=False, indent=1))
        _save_local_state(settings, head)
    save_word_table(settings.index_dir)
    log.info("took index version %s (%d chunks, by %s) from %s", head.version, head.chunks, head.writer,
             server_of(settings))


def _published_bm25(settings: Settings, blob: bytes, ids: Sequence[str]) -> Any:
    """The writer's BM25 arrays (saves the reader tokenizing every chunk), or None when unusable."""
    from .bm25 import LexicalIndex

    folder = settings.index_dir / f".bm25-pull-{os.getpid()}"
    try:
        _unpack_dir(blob, folder)
        lexical = LexicalIndex.load(folder)
        return lexical if lexical is not None and lexical.ids == list(ids) else None
    except (OSError, ValueError, struct.error) as exc:
        log.warning("published BM25 unusable, rebuilding it: %r", exc)
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# ---------------------------------------------------------------- one writer per server
class WriterLease:
    """This machine's claim on the server's collection while it builds; `release` ends it."""

    def __init__(self, side: Any = None, holder: str = "", record: dict[str, Any] | None = None) -> None:
        self._side = side
        self._holder = holder
        self._record = record or {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if side is not None:
            self._thread = threading.Thread(target=self._renew, name="shuzhi-lease", daemon=True)
            self._thread.start()

    def _write(self) -> None:
        self._record["renewed"] = time.time()
        self._side.upsert(ids=[LEASE_ID], embeddings=[_PLACEHOLDER], documents=[self._holder],
                          metadatas=[self._record])

    def _renew(self) -> None:
        while not self._stop.wait(LEASE_RENEW_S):
            try:
                self._write()
            except Exception as exc:  # the build itself will fail on the same server soon enough
                log.warning("renewing the writer lease failed: %r", exc)

    def release(self) -> None:
        self._stop.set()
        if self._side is None:
            return
        try:
            current = _first_metadata(self._side.get(ids=[LEASE_ID], include=["metadatas"]))
            if current is not None and current.get("holder") == self._holder:
                self._side.delete(ids=[LEASE_ID])
        except Exception as exc:  # it expires after LEASE_TTL_S
            log.warning("releasing the writer lease failed: %r", exc)


def claim_writer(settings: Settings, dense: DenseStore | None) -> WriterLease:
    """A lease on the shared server for one build; ShuzhiError while another machine's build holds it.

    No server (embedded Chroma) or no embedder: a lease that does nothing.
    """
    if not settings.chroma_host or dense is None:
        return WriterLease()
    try:
        return _claim(settings, dense)
    except ShuzhiError:
        raise
    except Exception as exc:  # the guard failing must not stop a build the server itself accepts
        log.warning("writer lease on %s not taken: %r", server_of(settings), exc)
        return WriterLease()


def _claim(settings: Settings, dense: DenseStore) -> WriterLease:
    holder = f"{_identity(settings)} pid {os.getpid()}"
    side = side_collection(dense)
    for attempt in range(2):
        current = _first_metadata(side.get(ids=[LEASE_ID], include=["metadatas"]))
        if current is not None and current.get("who") != _identity(settings) and \
                time.time() - float(current.get("renewed", 0.0)) < LEASE_TTL_S:
            since = time.strftime("%H:%M:%S", time.localtime(float(current.get("since", 0.0))))
            raise ShuzhiError(
                f"另一台电脑或数据目录（{current.get('host', '?')} 上的 {current.get('index_dir', '?')}，"
                f"进程 {current.get('pid', '?')}）{since} 起正在向共用的 "
                f"Chroma 服务器 {server_of(settings)} 写入范文库索引，本次没有改动索引。请等它完成后再运行；"
                f"若那边的任务已中断，约 {int(LEASE_TTL_S // 60)} 分钟后可重试。",
                f"writer lease on {server_of(settings)} held by {current.get('holder')} "
                f"(renewed {time.time() - float(current.get('renewed', 0.0)):.0f} s ago)")
        if attempt == 1:
            break
        record = {"holder": holder, "who": _identity(settings), "host": socket.gethostname(), "pid": os.getpid(),
                  "index_dir": str(settings.index_dir), "since": time.time(), "renewed": time.time()}
        side.upsert(ids=[LEASE_ID], embeddings=[_PLACEHOLDER], documents=[holder], metadatas=[record])
        time.sleep(LEASE_CONFIRM_S)  # a rival who wrote at the same moment: the later write wins, the other stops
    return WriterLease(side, holder, record)


def stamp_of_local(settings: Settings) -> str:
    """The content stamp of this machine's chunks.jsonl (for tests and `shuzhi` diagnostics)."""
    from .build import index_paths
    from .store import ChunkStore

    return content_stamp(ChunkStore(index_paths(settings)["chunks"]).open().ids)  # the ids column, no parsing


def local_version(settings: Settings) -> str:
    return str(_local_state(settings).get("version", ""))


__all__ = ["Head", "WriterLease", "claim_writer", "content_stamp", "local_version", "publish", "pull",
           "side_collection", "stamp_of_local"]
