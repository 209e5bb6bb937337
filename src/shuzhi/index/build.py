"""Incremental indexing: corpus files → chunks → (new vectors only) → chunk store, BM25, manifest.

A file whose mtime and size (or, failing that, content hash) match the manifest is not parsed
again. A chunk id already in the collection is not embedded again, and a chunk whose exact
`context_text` is already embedded under another id (a revised copy of a report shares most
passages) gets that stored vector copied instead of a model call. `IndexReport.embedded`
counts only model calls' outputs: the passages the index had never seen.

A build never makes things worse: a corpus folder that does not exist, or folders holding no
usable report, raise `ShuzhiError` before the index is touched (only the lock files and, while
the build looks for reports, its intent exist). The folders of each successful build are
recorded in the manifest, so a later build without folders (the app's "重新索引", `ensure_index`,
a bare `shuzhi index`) indexes the same ones again; the folders of a build that was killed are
in `build-intent.json`, written before anything else, so the next such build resumes them
instead of falling back to the configured (built-in) corpus. See `build_index` for the order of
writes and lock.py for the locks that keep two builds, or a build and a reader, apart.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import PACKAGE_DIR, Settings
from ..errors import InputRejected, ShuzhiError
from ..models import Chunk, IndexReport, ParsedDocument
from .bm25 import LexicalIndex, save_word_table
from .embed import EMBED_BATCH
from .lock import commit_lock
from .matrix import previous_vectors, write_matrix, write_matrix_entry
from .remote import publish
from .store import BuildIntent, ChunkStore, DenseStore, FileEntry, Manifest

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


def index_paths(settings: Settings) -> dict[str, Path]:
    root = settings.index_dir
    return {"chunks": root / "chunks.jsonl", "manifest": root / "manifest.json", "bm25": root / "bm25",
            "intent": root / "build-intent.json"}


def pipeline_fingerprint(settings: Settings) -> str:
    """Changes when anything that shapes chunks changes: parser code, rules data, chunk size."""
    digest = hashlib.sha256(f"chunk_max_chars={settings.chunk_max_chars}".encode())
    rules_dir = settings.user_rules_dir
    sources = sorted((PACKAGE_DIR / "corpus").glob("*.py")) + sorted((PACKAGE_DIR / "genre").glob("*.py"))
    sources += sorted((PACKAGE_DIR / "data").glob("*.yaml")) + sorted((PACKAGE_DIR / "genres").glob("*.yaml"))
    sources += sorted(rules_dir.glob("*.yaml")) + sorted(rules_dir.glob("genres/*.yaml")) if rules_dir.is_dir() else []
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def resolve_corpus_dirs(dirs: Sequence[Path]) -> list[Path]:
    """Absolute, de-duplicated folders; ShuzhiError (nothing touched) when none is given or one is missing."""
    resolved = list(dict.fromkeys(Path(d).expanduser().resolve() for d in dirs))
    if not resolved:
        raise ShuzhiError("没有指定范文目录，索引未改动。请用 `shuzhi index --corpus 目录` 指定放范文的文件夹。",
                          "build_index called with no corpus folders")
    missing = [d for d in resolved if not d.exists()]
    if missing:
        raise ShuzhiError(f"范文目录不存在：{'、'.join(str(d) for d in missing)}。索引未改动；"
                          "请检查路径，或用 `shuzhi index --corpus 目录` 重新指定范文目录。",
                          f"corpus folder(s) missing: {missing}")
    return resolved


def _nothing_usable(dirs: Sequence[Path], skipped: Sequence[str]) -> ShuzhiError:
    from ..corpus.load import SUPPORTED_SUFFIXES

    where = "、".join(str(d) for d in dirs)
    message = f"在 {where} 中没有找到可用的范文（{'、'.join(SUPPORTED_SUFFIXES)}），索引未改动。"
    if skipped:
        shown = "\n".join(f"  已跳过：{s}" for s in skipped[:5])
        more = f"\n  ……另有 {len(skipped) - 5} 个文件被跳过。" if len(skipped) > 5 else ""
        message += f"\n{shown}{more}"
    return ShuzhiError(message, f"no usable documents in {list(map(str, dirs))}; skipped {len(skipped)}")


def find_corpus_files(dirs: Sequence[Path], warnings: list[str], skipped: list[str]) -> list[Path]:
    """The report files under DIRS (sorted), each once; hidden files and Word's lock files are left out.

    A symbolic link is followed only when its target lies inside the folder being searched: a link
    to a file or folder outside (/etc/passwd, a home folder) is not read, with a warning. A folder
    reached twice (a link back to a parent, two links to one folder) is searched once, so link
    loops end. Pipes, devices and sockets are never opened; they are listed as skipped.
    """
    import stat

    from ..corpus.load import SUPPORTED_SUFFIXES

    found: list[Path] = []
    seen_files: set[Path] = set()
    for root in dirs:
        root = Path(root)
        if root.is_file():
            candidates = [root]
        elif root.is_dir():
            candidates = _walk_corpus(root, warnings, skipped)
        else:
            warnings.append(f"范文目录不存在：{root}")
            continue
        for path in candidates:
            try:
                real, mode = path.resolve(), path.stat().st_mode
            except (OSError, RuntimeError):
                skipped.append(f"{path.name}：链接指向的文件不存在，已跳过。")
                continue
            if real in seen_files:
                continue  # the same file through a link inside the folder
            if not stat.S_ISREG(mode):
                skipped.append(f"{path.name}：不是普通文件（管道/设备），已跳过。")
                continue
            seen_files.add(real)
            if path.suffix.lower() in SUPPORTED_SUFFIXES:
                found.append(path)
            else:
                skipped.append(f"{path.name}：不支持的文件类型（只读取 {'、'.join(SUPPORTED_SUFFIXES)}）")
    return found


def _walk_corpus(root: Path, warnings: list[str], skipped: list[str]) -> list[Path]:
    """Every non-hidden entry under ROOT that is not a folder, following only links that stay inside ROOT."""
    import os

    real_root = root.resolve()
    visited = {real_root}
    out: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            warnings.append(f"无法读取文件夹 {folder}（{type(exc).__name__}），其中的文件已跳过。")
            continue
        for entry in entries:
            if entry.name.startswith((".", "~$")):
                continue  # hidden files and Word's lock files (~$报告.docx)
            path = Path(entry.path)
            shown = path.relative_to(root)
            if entry.is_symlink():
                try:
                    target = path.resolve(strict=True)
                except (OSError, RuntimeError):  # a dangling link, or a loop of links
                    skipped.append(f"{path.name}：链接指向的文件不存在，已跳过。")
                    continue
                if not target.is_relative_to(real_root):
                    warnings.append(f"「{shown}」是指向范文目录以外（{target}）的链接，为安全起见未读取；"
                                    "如需使用，请把文件复制到范文目录中。")
                    continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                real = path.resolve()
                if real not in visited:  # a link back up, or a second link to one folder
                    visited.add(real)
                    stack.append(path)
            else:
                out.append(path)
    return sorted(out)


@dataclass
class _Collected:
    chunks: list[Chunk] = field(default_factory=list)
    manifest: Manifest = field(default_factory=Manifest)
    documents: int = 0
    sections: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    tokens: dict[str, list[str]] = field(default_factory=dict)  # BM25 words of chunks a worker process cut


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reuse(entry: FileEntry | None, path: Path, old: dict[str, Chunk]) -> FileEntry | None:
    """The manifest entry still describing this file (mtime/size, else content hash), or None."""
    if entry is None or entry.outline is None or not all(cid in old for cid in entry.chunk_ids):
        return None  # no outline: written by an older version, parse again (vectors are reused)
    stat = path.stat()
    if stat.st_mtime_ns == entry.mtime_ns and stat.st_size == entry.size:
        return entry
    if stat.st_size == entry.size and _sha256(path) == entry.sha256:
        entry.mtime_ns = stat.st_mtime_ns  # touched but unchanged
        return entry
    return None


def _parse(path: Path, settings: Settings) -> tuple[FileEntry, list[Chunk], list[str]]:
    from ..corpus.chunk import chunk_document
    from ..corpus.parse import parse_file

    stat = path.stat()
    doc = parse_file(path, settings.file_limits())
    warnings = list(doc.warnings)  # what loading repaired; chunking adds a cap
    chunks = chunk_document(doc, settings.chunk_max_chars, warnings=warnings)
    entry = FileEntry(stat.st_mtime_ns, stat.st_size, _sha256(path), doc.doc_id, len(doc.sections),
                      [c.id for c in chunks], **describe_document(doc))
    return entry, chunks, warnings


MAX_REMOVALS_KEPT = 200
MAX_REMOVAL_CHARS = 300
LEAD_CHARS = 40


def describe_document(doc: ParsedDocument) -> dict[str, Any]:
    """What the manifest keeps of a parsed report for the 语料库 page: title, outline, what cleaning removed."""
    outline = [[str(s.kind), list(s.heading_path)] for s in doc.sections]
    # A corrected typo is shown as "错→对" (its pattern); anything else as the text taken out.
    removed = [[r.reason, (r.pattern if r.reason == "typo" and r.pattern else r.text)[:MAX_REMOVAL_CHARS]]
               for r in doc.removed if r.reason != "blank" and r.text.strip()]
    lead = next((s.text.strip()[:LEAD_CHARS] for s in doc.sections if s.text.strip()), "")
    return {"title": doc.title, "year": doc.year or 0, "org_type": doc.org_type, "outline": outline,
            "removed": removed[:MAX_REMOVALS_KEPT], "lead": lead}


# Parsing (and cutting into BM25 words) is Python: with many files to parse, worker processes do it on
# every core. Each starts in about two seconds (imports, jieba's dictionary), so only from this many files.
PARALLEL_PARSE_FILES = 100
_Parsed = tuple[FileEntry, list[Chunk], list[str]]


def _start_worker(rules: Path | None) -> None:
    from ..datafiles import configure_rules

    configure_rules(rules)  # the parent's rules folder: the same parse and the same words


def _parse_in_worker(path: str, settings: Settings) -> tuple[str, Any]:
    """_parse in a worker process, with each chunk's BM25 words; errors as values (pickled back)."""
    from .bm25 import tokenize

    try:
        entry, chunks, warnings = _parse(Path(path), settings)
    except InputRejected as exc:
        return "rejected", exc.user_message
    except Exception as exc:
        log.exception("failed to index %s", path)
        return "failed", type(exc).__name__
    return "ok", (entry, chunks, warnings, {c.id: tokenize(c.context_text) for c in chunks})


def _parse_in_workers(paths: Sequence[Path], settings: Settings, progress: Progress,
                      tokens: dict[str, list[str]]) -> dict[Path, tuple[str, Any]]:
    """Each of PATHS parsed in worker processes (one per core), by path; {} when no pool could start
    (the caller parses them itself)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool
    from itertools import repeat

    from ..datafiles import rules_dir

    workers = min(4, os.cpu_count() or 1)
    results: dict[Path, tuple[str, Any]] = {}
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(rules_dir(),)) as pool:
            done = pool.map(_parse_in_worker, [str(p) for p in paths], repeat(settings), chunksize=4)
            for n, (path, (status, value)) in enumerate(zip(paths, done, strict=True), start=1):
                if status == "ok":
                    entry, chunks, warnings, words = value
                    tokens.update(words)
                    value = (entry, chunks, warnings)
                results[path] = (status, value)
                progress(f"解析范文（{n}/{len(paths)}）")
    except (BrokenProcessPool, OSError, RuntimeError) as exc:  # no processes here (a sandbox): parse in this one
        log.warning("parsing in worker processes failed, parsing here: %r", exc)
        return {}
    return results


def _keywords(ids: Sequence[str], texts: Sequence[str], cached: dict[str, list[str]], index_dir: Path) -> LexicalIndex:
    lexical = LexicalIndex.build(ids, texts, cached)
    save_word_table(index_dir)  # a later process's first query needs not load jieba's own table
    return lexical


def collect_chunks(files: Sequence[Path], settings: Settings, old_manifest: Manifest, old: dict[str, Chunk],
                   progress: Progress) -> _Collected:
    out = _Collected()
    seen: set[str] = set()
    reused: dict[Path, FileEntry | None] = {}
    for path in files:
        try:
            reused[path] = _reuse(old_manifest.files.get(str(path.resolve())), path, old)
        except OSError:
            reused[path] = None  # parsing it says what is wrong
    todo = [p for p in files if reused[p] is None]
    parsed: dict[Path, tuple[str, Any]] = {}  # (status, value): "ok" (entry, chunks, warnings), "rejected" …
    if len(todo) >= PARALLEL_PARSE_FILES and (os.cpu_count() or 1) > 1:
        parsed = _parse_in_workers(todo, settings, progress, out.tokens)
    for n, path in enumerate(files, start=1):
        key = str(path.resolve())
        try:
            entry = reused[path]
            if entry is not None:
                chunks = [old[cid] for cid in entry.chunk_ids]
            else:
                status, value = parsed.get(path, ("here", None))
                if status == "rejected":
                    out.skipped.append(f"{path.name}：{value}")
                    continue
                if status == "failed":
                    out.skipped.append(f"{path.name}：无法解析（{value}），已跳过。")
                    continue
                if status == "here":
                    # The app shows this too: an upload's file name is a hash, so only the count.
                    progress(f"解析范文（{n}/{len(files)}）")
                    value = _parse(path, settings)
                entry, chunks, repaired = value
                out.warnings.extend(repaired)
        except InputRejected as exc:
            out.skipped.append(f"{path.name}：{exc.user_message}")
            continue
        except Exception as exc:  # one unreadable file must not stop the whole corpus
            log.exception("failed to index %s", path)
            out.skipped.append(f"{path.name}：无法解析（{type(exc).__name__}），已跳过。")
            continue
        out.manifest.files[key] = entry
        out.documents += 1
        out.sections += entry.sections
        if not chunks:
            out.warnings.append(f"{path.name} 没有可检索的内容。")
        for chunk in chunks:
            if chunk.id not in seen:  # an identical copy of a file yields the same ids
                seen.add(chunk.id)
                out.chunks.append(chunk)
    return out


def _text_key(chunk: Chunk) -> str:
    return hashlib.sha256(chunk.context_text.encode("utf-8")).hexdigest()


class EmbedderFailed(Exception):
    """The embedding model (not the vector store) failed during a build; the cause is chained."""


def _cause(exc: BaseException) -> str:
    """`Type: first line of the message`, short, for a Chinese warning that names the real cause."""
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


FLUSH_EVERY_S = 5.0  # embedded vectors wait at most this long (or a full batch) before going to Chroma


def sync_vectors(dense: DenseStore, chunks: list[Chunk], old: dict[str, Chunk], progress: Progress,
                 out: dict[str, np.ndarray] | None = None) -> int:
    """Give every chunk of `chunks` a vector; returns how many passages the model embedded.

    Each chunk keeps its own Chroma record (id = chunk id) even when its passage repeats one
    already embedded (a revised report, the same paragraph in two files): a search hit maps
    straight to one chunk, with its own document, kind and year for the filters and the
    per-document cap, and removing one file never takes a vector the other still needs. The
    repeated passage's vector is copied from a record holding the same `context_text` (no
    model call). Chroma refuses an id named twice in one get or upsert (DuplicateIDError,
    which once switched semantic search off for every new chunk), so the donors asked for
    are de-duplicated, and each passage new to the index is embedded once for all its chunks.

    Records of chunks no longer indexed are left for `prune_vectors`, after the new chunk
    file is in place: until then a reader of the old index still finds its vectors.

    New vectors go to Chroma in large batches (`DenseStore.batch` records, or whatever was embedded in
    the last FLUSH_EVERY_S seconds: an interrupted build keeps all but those). OUT receives every vector
    this call wrote, by chunk id (for the vector matrix, without reading them back).
    """
    existing = dense.existing_ids()
    missing = [c for c in chunks if c.id not in existing]
    donors: dict[str, str] = {}  # passage text → an id whose record holds its vector
    for source in (old.values(), chunks):  # `chunks`: embedded by an interrupted run of this build
        for c in source:
            if c.id in existing:
                donors.setdefault(_text_key(c), c.id)
    reusable = [c for c in missing if _text_key(c) in donors]
    if reusable:
        ids, matrix = dense.vectors(sorted({donors[_text_key(c)] for c in reusable}))
        by_id = dict(zip(ids, matrix, strict=True))
        found = [c for c in reusable if donors[_text_key(c)] in by_id]
        if found:
            dense.upsert(found, np.vstack([by_id[donors[_text_key(c)]] for c in found]))
            if out is not None:
                out.update((c.id, by_id[donors[_text_key(c)]]) for c in found)
        reused = {c.id for c in found}
        missing = [c for c in missing if c.id not in reused]
    groups: dict[str, list[Chunk]] = {}
    for chunk in missing:  # the same passage twice in this run is embedded once
        groups.setdefault(_text_key(chunk), []).append(chunk)
    todo = list(groups.values())
    pending: list[Chunk] = []
    pending_rows: list[np.ndarray] = []
    flushed = time.monotonic()

    def flush() -> None:
        nonlocal flushed
        if pending:
            dense.upsert(pending, np.vstack(pending_rows))
            if out is not None:
                out.update((c.id, row) for c, row in zip(pending, np.vstack(pending_rows), strict=True))
            pending.clear()
            pending_rows.clear()
        flushed = time.monotonic()

    for start in range(0, len(todo), EMBED_BATCH):
        batch = todo[start:start + EMBED_BATCH]
        try:
            vectors = np.asarray(dense.embedder([group[0].context_text for group in batch]), dtype=np.float32)
        except Exception as exc:
            flush()  # what was embedded before the failure is kept
            raise EmbedderFailed(_cause(exc)) from exc
        pending.extend(c for group in batch for c in group)
        pending_rows.append(np.repeat(vectors, [len(group) for group in batch], axis=0))
        if len(pending) >= dense.batch or time.monotonic() - flushed >= FLUSH_EVERY_S:
            flush()
        progress(f"嵌入向量 {start + len(batch)}/{len(todo)}")
    flush()
    return len(todo)


class _Background:
    """FN run in a daemon thread (a Ctrl-C of the build does not wait for it); `result()` joins and re-raises."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        self._fn = fn
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="index-keywords", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:
            self._error = exc

    def result(self) -> Any:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


def _all_vectors(settings: Settings, dense: DenseStore, chunks: Sequence[Chunk], fresh: dict[str, np.ndarray],
                 old_ids: Sequence[str], rebuild: bool) -> dict[str, np.ndarray] | None:
    """Every chunk's vector for the matrix: those this build wrote, the last matrix's, then Chroma's for
    the rest (the first build after an upgrade, chunks an interrupted run embedded). None when Chroma
    cannot be read: readers then read vectors from Chroma themselves."""
    vectors = dict(fresh)
    if not rebuild:
        meta = Manifest.load(index_paths(settings)["manifest"]).vectors
        previous = previous_vectors(settings.index_dir, meta, old_ids, dense.name)
        vectors.update((c.id, previous[c.id]) for c in chunks if c.id not in vectors and c.id in previous)
    missing = [c.id for c in chunks if c.id not in vectors]
    if missing:
        try:
            ids, matrix = dense.vectors(missing)
        except Exception as exc:
            log.warning("could not read vectors for the matrix, searches will read Chroma: %r", exc)
            return None
        vectors.update(zip(ids, matrix, strict=True))
    return vectors


def prune_vectors(dense: DenseStore, chunks: Sequence[Chunk]) -> int:
    """Delete the records of chunks no longer indexed; returns how many."""
    keep = {c.id for c in chunks}
    stale = [cid for cid in dense.existing_ids() if cid not in keep]
    if stale:
        dense.delete(stale)
    return len(stale)


def _dense_warning(exc: Exception, without: int | None) -> str:
    """The Chinese warning for a failed dense side, naming what failed: the model, or the vector store."""
    lacking = f"{without} 个片段暂无向量、只进了关键词索引" if without else "新片段暂无向量、只进了关键词索引"
    if isinstance(exc, EmbedderFailed):
        return (f"向量模型生成向量时出错（{exc}），{lacking}；"
                "请检查向量模型设置（SHUZHI_EMBEDDER 等）和服务是否可用，然后重新运行 `shuzhi index`。")
    if "dimension" in str(exc).lower():  # Chroma: "Collection expecting embedding with dimension of …"
        return (f"向量维度与向量库中已有的不一致（{_cause(exc)}），可能换了向量模型，{lacking}；"
                "请运行 `shuzhi index --rebuild` 重建向量库。")
    return (f"写入向量库时出错（{_cause(exc)}），{lacking}；"
            "请重新运行 `shuzhi index`，仍然出错时运行 `shuzhi index --rebuild` 重建向量库。")


def _count_without_vectors(dense: DenseStore, chunks: Sequence[Chunk]) -> int | None:
    try:
        have = dense.existing_ids()
    except Exception as exc:  # the store that just failed may fail again: the count is only for the message
        log.info("counting vectors failed: %r", exc)
        return None
    return sum(1 for c in chunks if c.id not in have)


@dataclass(frozen=True)
class Intent:
    """A build's intent as recorded: the one it replaced (restored when the build fails untouched)."""

    previous: BuildIntent | None
    reparse: bool  # parse every file again: --rebuild, or resuming an interrupted --rebuild


def record_intent(settings: Settings, dirs: Sequence[Path], rebuild: bool) -> Intent:
    """Write build-intent.json (atomically), the first thing a build writes; the caller holds the build lock."""
    path = index_paths(settings)["intent"]
    previous = BuildIntent.load(path)
    # Resuming an interrupted --rebuild parses every file again, as it would have; the vectors
    # it already embedded (into the collection it emptied) are kept.
    reparse = rebuild or (previous is not None and previous.rebuild)
    BuildIntent([str(Path(d)) for d in dirs], reparse, os.getpid()).save(path)
    return Intent(previous, reparse)


def restore_intent(settings: Settings, intent: Intent) -> None:
    """A build that failed before touching the index leaves the intent as it found it."""
    path = index_paths(settings)["intent"]
    try:
        if intent.previous is None:
            path.unlink(missing_ok=True)
        else:
            intent.previous.save(path)
    except (OSError, ShuzhiError) as exc:
        log.warning("could not restore the build intent %s: %s", path, exc)


def build_index(settings: Settings, dense: DenseStore | None, corpus_dirs: Sequence[Path], rebuild: bool,
                on_progress: Progress | None, warnings: Sequence[str] = (), intent: Intent | None = None) -> IndexReport:
    """Index `corpus_dirs`; the caller holds the build lock (`CorpusIndex.build`).

    Order on disk, so that a build killed at any point is resumed by the next build without
    folders and never leaves a half-written index to a reader:
      1. build-intent.json (atomic): the folders, before anything else is written (`record_intent`;
         `CorpusIndex.build` records it before loading the embedding model, else it is done here);
      2. Chroma: vectors of new passages, upserted per batch (kept by a resumed build);
      3. under the commit lock: chunks.jsonl, bm25/, the vector matrix (matrix.py), then manifest.json
         (atomic, last);
      4. stale vectors deleted; build-intent.json removed.
    """
    started = time.perf_counter()
    progress = on_progress or _quiet
    dirs = resolve_corpus_dirs(corpus_dirs)
    paths = index_paths(settings)
    if intent is None:
        intent = record_intent(settings, dirs, rebuild)
    reparse = intent.reparse
    store = ChunkStore(paths["chunks"])
    old = {c.id: c for c in store.load()}
    fingerprint = pipeline_fingerprint(settings)
    manifest = Manifest.load(paths["manifest"])
    if reparse or manifest.fingerprint != fingerprint:
        manifest = Manifest()
    all_warnings = list(warnings)
    skipped: list[str] = []
    try:
        files = find_corpus_files(dirs, all_warnings, skipped)
        collected = collect_chunks(files, settings, manifest, old, progress)
        skipped += collected.skipped
        all_warnings += collected.warnings
        if not collected.chunks:  # an empty index is never useful: keep the one we have
            raise _nothing_usable(dirs, skipped)
    except ShuzhiError:
        restore_intent(settings, intent)
        raise
    ids = [c.id for c in collected.chunks]

    # A chunk id hashes its heading path and text: the same ids in the same order are the same BM25
    # rows, so an unchanged corpus keeps its saved BM25 (tokenizing is most of a no-change build).
    saved = LexicalIndex.load(paths["bm25"]) if manifest.fingerprint == fingerprint else None
    keywords: _Background | None = None
    if saved is None or saved.ids != ids:
        progress(f"建立关键词索引（{len(collected.chunks)} 个片段）")
        # Words of chunks an earlier build tokenized (same pipeline fingerprint: same tokenizer and words).
        cached = LexicalIndex.cached_tokens(paths["bm25"]) if manifest.fingerprint == fingerprint else {}
        cached.update(collected.tokens)  # cut by the worker processes that parsed the files
        texts = [c.context_text for c in collected.chunks]
        # Tokenizing (Python, jieba) runs beside the dense side, whose embedding model (C) and Chroma writes
        # (Rust) release the interpreter: on two cores the keyword index costs little extra time.
        # jieba's table for later processes' queries is stored there too (its words are loaded by then).
        keywords = _Background(lambda: _keywords(ids, texts, cached, settings.index_dir))
    embedded, dense_ok = 0, dense is not None
    fresh_vectors: dict[str, np.ndarray] = {}
    if dense is not None:
        try:
            if rebuild:
                dense.reset()
            embedded = sync_vectors(dense, collected.chunks, {} if rebuild else old, progress, out=fresh_vectors)
        except Exception as exc:
            log.exception("embedding failed")
            all_warnings.append(_dense_warning(exc, _count_without_vectors(dense, collected.chunks)))
            dense_ok = False
    vectors = _all_vectors(settings, dense, collected.chunks, fresh_vectors, list(old), rebuild) \
        if dense is not None else None
    if keywords is not None:
        lexical, fresh = keywords.result(), True
    else:
        assert saved is not None
        lexical, fresh = saved, False
    collected.manifest.fingerprint = fingerprint
    collected.manifest.corpus_dirs = [str(d) for d in dirs]
    collected.manifest.skipped = {s.split("：", 1)[0]: s for s in skipped}
    progress("保存索引文件…")
    with commit_lock(settings.index_dir, shared=False, wait_s=settings.index_lock_wait_s):
        store.save(collected.chunks)
        if fresh:
            lexical.save(paths["bm25"])
        if vectors and dense is not None:
            collected.manifest.vectors = write_matrix(settings.index_dir, collected.chunks, vectors, dense.name)
        write_matrix_entry(settings.index_dir, collected.manifest.vectors)
        collected.manifest.save(paths["manifest"])
    if keywords is None:
        save_word_table(settings.index_dir)  # unless it is there already (an index of an older version)
    if settings.chroma_host and dense is not None:  # other machines' keyword side follows the server (remote.py)
        all_warnings += publish(settings, dense, ids)
    if dense is not None and dense_ok:
        try:
            prune_vectors(dense, collected.chunks)
        except Exception as exc:  # stale records are pruned by the next build; search ignores them
            log.warning("pruning stale vectors failed: %r", exc)
    paths["intent"].unlink(missing_ok=True)
    new_ids = {c.id for c in collected.chunks}
    return IndexReport(
        documents=collected.documents, sections=collected.sections, chunks=len(collected.chunks),
        embedded=embedded, removed=sum(1 for cid in old if cid not in new_ids),
        seconds=round(time.perf_counter() - started, 3), dense=dense_ok,
        skipped=tuple(skipped), warnings=tuple(dict.fromkeys(all_warnings)),
    )
