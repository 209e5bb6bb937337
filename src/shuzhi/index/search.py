"""Hybrid retrieval over the example corpus: dense (Chroma / exact numpy) + BM25, fused by RRF.

Filters (kind, theme, year, excluded documents) apply to both halves before ranking. With a
filter the dense half is an exact matrix product over the subset's cached vectors, because a
Chroma `where` filter costs ~20× an unfiltered query at 100k chunks (measured, see DESIGN.md).
Cosine scores of e5 sit in a narrow band, so results are ranked, never cut at a threshold.
"""

from __future__ import annotations

import logging
import math
import queue
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..corpus.uploads import is_stored_name, uploads_dir
from ..datafiles import load_data
from ..errors import IndexUnavailable, ShuzhiError
from ..models import Chunk, Hit, IndexReport, SearchFilters
from .bm25 import LexicalIndex
from .build import build_index, index_paths, record_intent, resolve_corpus_dirs, restore_intent
from .embed import NO_EMBEDDER_WARNING, Embedder, load_embedder
from .lock import build_lock, build_running, commit_lock
from .matrix import VectorMatrix, load_matrix, load_matrix_entry
from .remote import claim_writer, pull
from .store import BuildIntent, ChunkStore, ChunkTable, DenseStore, Manifest, collection_name

log = logging.getLogger(__name__)

_LOAD: Any = object()  # sentinel: resolve the embedder from settings on first use
NO_INDEX_MESSAGE = "范文库索引尚未建立，请先运行 `shuzhi index`。"
EMPTY_INDEX_MESSAGE = "范文库为空，请先运行 `shuzhi index`（可用 --corpus 指定放范文的文件夹）。"
EMPTY_QUERY_MESSAGE = "请输入检索内容。"
INTERRUPTED_MESSAGE = "上次建立范文库索引没有完成，请运行 `shuzhi index` 继续（沿用当时的范文目录）。"
QUERY_CACHE_SIZE = 256
MASK_CACHE_SIZE = 64  # filter masks kept per loaded corpus (one per kind × theme combination in use)
# A query longer than this is cut before BM25 and embedding: a pasted 40,000-character report
# took 19 s to tokenize and embed; e5 models are trained on at most 512 tokens, and a search
# query (a heading, a note line) is far shorter. rewrite.py already sends at most 400 chars.
MAX_QUERY_CHARS = 512


def dense_text(query: str, limit: int) -> str:
    """What the embedding model reads of QUERY: its first LIMIT characters (0: all), spaces collapsed.
    Embedding time grows with the text's length (about 0.7 ms a token here); the keyword side reads the
    whole query. On the drafting queries of 17 notes files, 32 characters keep the exemplars' theme match
    (0.72 → 0.73). Leaving the counts out ("12次") as well changed which passages came for some sections:
    the text is only cut, never rewritten."""
    text = " ".join(query.split())
    return text[:limit] if limit > 0 else text


@dataclass(frozen=True)
class IndexStats:
    built: bool
    documents: int
    chunks: int
    kinds: tuple[tuple[str, int], ...]  # (kind, chunk count), most frequent first
    dense: bool
    vectors: int
    embedder: str
    collection: str
    index_dir: str


@dataclass(frozen=True)
class _Corpus:
    """Everything lexical search needs, loaded from chunks.jsonl and bm25/."""

    chunks: ChunkTable
    pos: dict[str, int]
    kind: np.ndarray
    theme: np.ndarray
    year: np.ndarray
    doc_id: np.ndarray
    lexical: LexicalIndex
    replica: VectorMatrix | None = None  # the build's vector matrix (matrix.py), memory-mapped
    replica_collection: str = ""  # the Chroma collection (embedder) it was written from
    _masks: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, settings: Settings) -> _Corpus:
        paths = index_paths(settings)
        # Shared commit lock: a build replacing these files waits, or is waited for (lock.py).
        with commit_lock(settings.index_dir, shared=True, wait_s=settings.index_lock_wait_s):
            chunks = ChunkStore(paths["chunks"]).open()
            lexical = LexicalIndex.load(paths["bm25"])
            ids = chunks.ids
            meta = load_matrix_entry(settings.index_dir)
            if meta is None:  # an index written before vectors.json
                meta = Manifest.load(paths["manifest"]).vectors
            collection = str(meta.get("collection") or "")
            replica = load_matrix(settings.index_dir, meta, ids, collection) if collection else None
        if lexical is None or lexical.ids != ids:
            log.info("BM25 index missing or stale, rebuilding from %d chunks", len(chunks))
            lexical = LexicalIndex.build(ids, [c.context_text for c in chunks])
            try:
                lexical.save(paths["bm25"])
            except OSError as exc:  # a read-only index still searches
                log.warning("could not save BM25 index: %s", exc)
        columns = chunks.columns
        return cls(
            chunks=chunks, pos={cid: i for i, cid in enumerate(ids)},
            kind=np.array(columns["kind"], dtype=object), theme=np.array(columns["theme"], dtype=object),
            year=np.array(columns["year"], dtype=np.int64), doc_id=np.array(columns["doc_id"], dtype=object),
            lexical=lexical, replica=replica, replica_collection=collection,
        )

    def mask(self, filters: SearchFilters | None) -> np.ndarray | None:
        """Rows passing FILTERS (None: no filter). The kind/theme/year part is computed once per
        combination (comparing 100k-row object columns costs milliseconds per search)."""
        if filters is None:
            return None
        key = (filters.kind or None, filters.theme or None, filters.year or None)
        mask = self._masks.get(key) if any(key) else None
        if mask is None and any(key):
            mask = np.ones(len(self.chunks), dtype=bool)
            for column, value in ((self.kind, key[0]), (self.theme, key[1]), (self.year, key[2])):
                if value:
                    mask &= column == value
            mask.setflags(write=False)
            if len(self._masks) >= MASK_CACHE_SIZE:
                self._masks.pop(next(iter(self._masks)))
            self._masks[key] = mask
        if filters.exclude_doc_ids:
            excluded = ~np.isin(self.doc_id, list(filters.exclude_doc_ids))
            mask = excluded if mask is None else mask & excluded
        return mask


# ---------------------------------------------------------------- fusion and diversity
def cue_kinds(query: str) -> set[str]:
    """The section kind a query asks for by its wording (data/query_cues.yaml).

    When cues of several kinds occur, the one ending last wins: a Chinese noun phrase puts
    its head last, so "精力投入不够的主观原因" asks for causes, not problems.
    """
    cues = load_data("query_cues").get("kinds", {}) or {}
    ends: dict[str, int] = {}
    for kind, patterns in cues.items():
        for pattern in patterns or []:
            for match in re.finditer(pattern, query):
                ends[kind] = max(ends.get(kind, -1), match.end())
    if not ends:
        return set()
    last = max(ends.values())
    return {kind for kind, end in ends.items() if end == last}


def fuse(rankings: Iterable[Sequence[int]], rrf_k: int) -> dict[int, float]:
    """Reciprocal-rank fusion: each list adds 1/(k + rank) to the items it ranks (rank from 1)."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rrf_k + rank)
    return scores


def select_diverse(order: Sequence[int], chunks: Sequence[Chunk], k: int) -> list[int]:
    """Best-first picks with at most ceil(k/3) per document and no repeated passage text.

    Slots the cap leaves empty are filled with the best remaining items, so a filter that
    matches only one document still returns k results.
    """
    cap = max(1, math.ceil(k / 3))
    per_doc: dict[str, int] = {}
    texts: set[str] = set()
    picked: list[int] = []
    held: list[int] = []
    for item in order:
        chunk = chunks[item]
        if chunk.text in texts:
            continue
        texts.add(chunk.text)
        if per_doc.get(chunk.doc_id, 0) >= cap:
            held.append(item)
            continue
        per_doc[chunk.doc_id] = per_doc.get(chunk.doc_id, 0) + 1
        picked.append(item)
        if len(picked) == k:
            return picked
    return picked + held[: k - len(picked)]


class _Warmer:
    """The process's one background thread for `warm_queries`: a daemon, so a warm-up never delays the exit
    of a process (Ctrl-C in `shuzhi draft`); a job left unfinished only means its searches embed themselves."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Future[None], Callable[[], None]]] = queue.SimpleQueue()
        threading.Thread(target=self._work, name="shuzhi-warm", daemon=True).start()

    def submit(self, job: Callable[[], None]) -> Future[None]:
        done: Future[None] = Future()
        self._jobs.put((done, job))
        return done

    def _work(self) -> None:
        while True:
            done, job = self._jobs.get()
            if not done.set_running_or_notify_cancel():
                continue
            try:
                job()
            except BaseException as exc:  # the job logs its own failures; the future must still end
                done.set_exception(exc)
            else:
                done.set_result(None)


_WARMER: list[_Warmer] = []
_WARMER_LOCK = threading.Lock()


def _warmer() -> _Warmer:
    with _WARMER_LOCK:
        if not _WARMER:
            _WARMER.append(_Warmer())
        return _WARMER[0]


class CorpusIndex:
    """The built corpus index: build it, search it, read its chunks."""

    def __init__(self, settings: Settings,
                 embedder: Embedder | None = _LOAD) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._embedder_arg = embedder
        self._embedder_ready = False
        self._embedder: Embedder | None = None
        self._dense: DenseStore | None = None
        self._corpus: _Corpus | None = None
        self._matrix: VectorMatrix | None = None  # vectors copied from Chroma (an index without its own matrix)
        self._vector_count: int | None = None
        # Drafting asks the same query with and without a theme filter: embed it once.
        self._query_vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._in_flight: dict[str, threading.Event] = {}  # texts being embedded, set when cached (or failed)
        self.warnings: list[str] = []

    # ------------------------------------------------------------ collaborators
    def _warn(self, message: str) -> None:
        if message and message not in self.warnings:
            self.warnings.append(message)

    def embedder(self) -> Embedder | None:
        with self._lock:
            if not self._embedder_ready:
                if self._embedder_arg is _LOAD:
                    self._embedder, warning = load_embedder(self.settings)
                    self._warn(warning)
                else:
                    self._embedder = self._embedder_arg
                    if self._embedder is None:
                        self._warn(NO_EMBEDDER_WARNING)
                self._embedder_ready = True
            return self._embedder

    def _dense_store(self) -> DenseStore | None:
        with self._lock:
            embedder = self.embedder()
            if self._dense is None and embedder is not None:
                self._dense = DenseStore(self.settings, embedder)
            return self._dense

    def _corpus_state(self) -> _Corpus:
        with self._lock:
            if self._corpus is None:
                if not self.has_index():
                    raise self.unavailable()
                self._corpus = _Corpus.load(self.settings)
            return self._corpus

    # ------------------------------------------------------------ building
    def has_index(self) -> bool:
        """True when a build has left at least one chunk (an empty index counts as none).

        An interrupted build (its intent still on disk, no build running) counts as none too:
        the next `ensure_index` or bare `shuzhi index` resumes it from its folders. While a build
        runs, the last complete index (if any) is the index.
        """
        if self.settings.chroma_host and pull(self.settings, self._dense_store, self._warn):  # another machine re-indexed
            self._corpus, self._matrix, self._vector_count = None, None, None  # the shared server (remote.py)
        paths = index_paths(self.settings)
        chunks = paths["chunks"]
        if not (paths["manifest"].is_file() and chunks.is_file() and chunks.stat().st_size > 0):
            return False
        return not (paths["intent"].is_file() and not build_running(self.settings.index_dir))

    def interrupted(self) -> BuildIntent | None:
        """The intent of a build that stopped before finishing (killed), or None."""
        intent = BuildIntent.load(index_paths(self.settings)["intent"])
        if intent is None or build_running(self.settings.index_dir):
            return None
        return intent

    def unavailable(self) -> IndexUnavailable:
        """The error for a missing index, or for an empty one (left by an older version)."""
        paths = index_paths(self.settings)
        intent = self.interrupted()
        if intent is not None:
            return IndexUnavailable(INTERRUPTED_MESSAGE, f"build of {intent.corpus_dirs} under "
                                    f"{self.settings.index_dir} was interrupted (pid {intent.pid})")
        if paths["manifest"].is_file() and paths["chunks"].is_file():
            return IndexUnavailable(EMPTY_INDEX_MESSAGE, f"index under {self.settings.index_dir} has no chunks")
        return IndexUnavailable(NO_INDEX_MESSAGE, f"no index under {self.settings.index_dir}")

    def corpus_dirs(self) -> list[Path]:
        """The folders a build without arguments indexes: those of the last build, else the settings'.

        `Settings.corpus_dirs` only seeds a brand-new index; once a build has recorded its folders
        (`shuzhi index --corpus A --corpus B`), rebuilding from the app or `ensure_index` reuses them
        instead of falling back to the built-in corpus and dropping the user's documents. The
        folder of the app's uploads (`corpus.uploads`) is one of them whenever it holds an upload.
        """
        intent = self.interrupted()
        return self._recorded_dirs(intent)

    def _recorded_dirs(self, intent: BuildIntent | None) -> list[Path]:
        """An interrupted build's folders (INTENT), else the last complete build's, else the settings'."""
        recorded = intent.corpus_dirs if intent is not None else []
        if not recorded:
            recorded = Manifest.load(index_paths(self.settings)["manifest"]).corpus_dirs
        return self._with_uploads([Path(d) for d in recorded] if recorded else list(self.settings.corpus_dirs))

    def _with_uploads(self, dirs: Sequence[Path]) -> list[Path]:
        """DIRS with the app's uploads folder last when it holds an upload, without it otherwise.

        Uploads are managed on the 语料库 page, so every build keeps them (`--corpus` replaces the
        other folders); a deleted uploads folder is not an error.
        """
        uploads = uploads_dir(self.settings).resolve()
        out = [Path(d) for d in dirs if Path(d).expanduser().resolve() != uploads]
        if uploads.is_dir() and any(is_stored_name(p.name) for p in uploads.iterdir()):
            out.append(uploads)
        return out

    def build(self, corpus_dirs: Sequence[Path] | None = None, rebuild: bool = False,
              on_progress: Callable[[str], None] | None = None, add: bool = False) -> IndexReport:
        """Index `corpus_dirs` (default: `corpus_dirs()`) and the uploads; they become the remembered folders.

        With `add`, `corpus_dirs` join the remembered folders instead of replacing them. One build
        at a time per index (lock.py): a second one waits for the first, then reads the remembered
        folders afresh, so two `--add` runs keep both folders. Raises ShuzhiError, leaving the
        existing index untouched, when a folder is missing, no usable report is found, or another
        build holds the index longer than `index_lock_wait_s`.
        """
        if corpus_dirs:
            resolve_corpus_dirs(corpus_dirs)  # a missing folder fails before waiting or loading the model
        before = self._manifest_stamp()
        with self._lock, build_lock(self.settings.index_dir, self.settings.index_lock_wait_s,
                                    on_progress) as waited:
            # Under the build lock an intent on disk can only be an interrupted build's: resume it.
            intent = BuildIntent.load(index_paths(self.settings)["intent"])
            if corpus_dirs is None:
                dirs = self._recorded_dirs(intent)
                if intent is not None and on_progress:
                    on_progress(f"上次建立索引没有完成，按当时的范文目录继续：{'、'.join(intent.corpus_dirs)}")
            else:
                dirs = self._with_uploads([*self._recorded_dirs(intent), *corpus_dirs] if add else corpus_dirs)
            dirs = resolve_corpus_dirs(dirs)
            if waited and not add and corpus_dirs is not None and self._manifest_stamp() != before:
                self._refuse_replacing_a_fresh_build(intent, dirs)
            recorded = record_intent(self.settings, dirs, rebuild)  # before the model: loading it takes a while
            try:
                if on_progress:
                    on_progress("加载向量模型…")
                dense = self._dense_store()
                lease = claim_writer(self.settings, dense)  # one writer per shared Chroma server (remote.py)
            except BaseException:
                restore_intent(self.settings, recorded)  # Chroma would not open: the index is untouched
                raise
            try:
                report = build_index(self.settings, dense, dirs, rebuild, on_progress, warnings=self.warnings,
                                     intent=recorded)
            finally:
                lease.release()
                self._corpus = None
                self._matrix = None
                self._vector_count = None
        log.info("index built: %s", report)
        return report

    def _manifest_stamp(self) -> tuple[int, int] | None:
        """When and how big the last complete build's manifest is (None without one): a build commits it last."""
        try:
            st = index_paths(self.settings)["manifest"].stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _refuse_replacing_a_fresh_build(self, intent: BuildIntent | None, dirs: Sequence[Path]) -> None:
        """A build that waited for another one must not silently replace the corpus that one just built.

        Two `index --corpus` runs started together would otherwise both report success while only the
        later corpus survives; the later one stops instead, leaving the first build's index, and says so.
        `--add` runs merge (both corpora survive) and bare runs rebuild the same folders, so both go on.
        """
        built = [p.resolve() for p in self._recorded_dirs(intent)]
        wanted = [Path(d).resolve() for d in dirs]
        if sorted(built) == sorted(wanted):
            return
        names = "、".join(str(p) for p in built) or "（无）"
        raise ShuzhiError(
            f"等待期间另一个索引任务刚刚把范文库建成了：{names}。为免悄悄覆盖它，本次没有改动索引。"
            "确认要换成本次的文件夹，请重新运行同一命令；要两者都保留，请用 `shuzhi index --corpus 文件夹 --add`。",
            f"build waited for another build that indexed {[str(p) for p in built]}; "
            f"refusing to replace it with {[str(p) for p in wanted]}")

    # ------------------------------------------------------------ searching
    def search(self, query: str, filters: SearchFilters | None = None, k: int = 5,
               diverse: bool = True) -> list[Hit]:
        if not query or not query.strip():
            raise ShuzhiError(EMPTY_QUERY_MESSAGE)
        if len(query) > MAX_QUERY_CHARS:
            log.info("query of %d chars truncated to %d for search", len(query), MAX_QUERY_CHARS)
            query = query[:MAX_QUERY_CHARS]
        corpus = self._corpus_state()
        if k <= 0 or not corpus.chunks:
            return []
        mask = corpus.mask(filters)
        if mask is not None and not mask.any():
            return []
        depth = max(4 * k, 50)
        lexical = [corpus.pos[cid] for cid, _ in corpus.lexical.rank(query, depth, mask=mask)]
        dense = self._dense_ranking(query, corpus, mask, depth, filters.kind if filters is not None else None)
        scores = fuse([dense, lexical], self.settings.rrf_k)
        self._apply_kind_prior(query, corpus, scores)
        order = sorted(scores, key=lambda item: (-scores[item], item))
        picked = select_diverse(order, corpus.chunks, k) if diverse else order[:k]
        dense_rank = {item: r for r, item in enumerate(dense, start=1)}
        lexical_rank = {item: r for r, item in enumerate(lexical, start=1)}
        return [Hit(corpus.chunks[i], scores[i], dense_rank.get(i), lexical_rank.get(i)) for i in picked]

    def _apply_kind_prior(self, query: str, corpus: _Corpus, scores: dict[int, float]) -> None:
        """A query that names a section ("…的原因", "下一步…") favours chunks of that kind.

        The bonus equals one first place in one ranking, so it reorders close candidates but
        cannot lift a passage that neither half found.
        """
        kinds = cue_kinds(query)
        if not kinds:
            return
        bonus = float(load_data("query_cues").get("weight", 1.0)) / (self.settings.rrf_k + 1)
        for item in scores:
            if corpus.chunks[item].kind in kinds:
                scores[item] += bonus

    def _dense_ranking(self, query: str, corpus: _Corpus, mask: np.ndarray | None, depth: int,
                       kind: str | None = None) -> list[int]:
        """Chunk positions by similarity to QUERY: an exact product over the build's memory-mapped vector
        matrix (KIND's rows only), else, for an index without one, Chroma (HNSW; filtered: its vectors
        copied once per process)."""
        try:
            embedder = self.embedder()
            if embedder is None:
                return []
            replica = corpus.replica
            if replica is not None and corpus.replica_collection == collection_name(embedder):
                if len(replica) == 0:
                    self._warn("向量索引为空，本次只按关键词检索；请运行 `shuzhi index` 生成向量。")
                    return []
                return replica.rank(self._query_vector(embedder, query), depth, mask, kind)
            dense = self._dense_store()
            if dense is None:
                return []
            if self._vector_count is None:
                self._vector_count = dense.count()
            if self._vector_count == 0:
                self._warn("向量索引为空，本次只按关键词检索；请运行 `shuzhi index` 生成向量。")
                return []
            vector = self._query_vector(embedder, query)
            if mask is None:
                hits = dense.query(vector, min(depth, self._vector_count))
                return [corpus.pos[cid] for cid, _ in hits if cid in corpus.pos]
            return self._vector_matrix(corpus).rank(vector, depth, mask)
        except IndexUnavailable as exc:
            self._warn(exc.user_message)
        except Exception as exc:  # a failing endpoint degrades to lexical search, it does not stop it
            log.warning("dense search failed: %r", exc, exc_info=True)
            self._warn(f"向量检索出错（{type(exc).__name__}），本次只按关键词检索。")
        return []

    def prefetch_queries(self, queries: Iterable[str]) -> None:
        """Embed every query not embedded yet in ONE model call, so the searches that follow (one per
        section when drafting) find their vectors cached; a query `warm_queries` is embedding already is
        waited for, not embedded twice. Failures are left to the searches themselves."""
        texts = self._dense_texts(queries)
        if not texts:
            return
        todo, waiting = self._claim(texts)
        if todo:
            self._embed_claimed(todo)
        for flight in waiting:
            flight.wait()

    def warm_queries(self, queries: Iterable[str]) -> Future[None] | None:
        """Embed QUERIES in the background (one thread per process, one model call per request, in order),
        e.g. an outline's exemplar queries while the user reads it: the draft then finds them ready. None
        when there is nothing to embed; the future never raises (a failure leaves each search its own)."""
        texts = self._dense_texts(queries)
        if not texts:
            return None
        todo, _ = self._claim(texts)
        if not todo:
            return None
        try:
            return _warmer().submit(lambda: self._embed_claimed(todo))
        except RuntimeError as exc:  # no thread can start (the interpreter is shutting down): searches embed
            log.info("query warm-up not started: %r", exc)
            self._release(todo)
            return None

    def _dense_texts(self, queries: Iterable[str]) -> list[str]:
        limit = self.settings.query_embed_chars
        texts = dict.fromkeys(dense_text(q[:MAX_QUERY_CHARS], limit) for q in queries if q and q.strip())
        return list(texts)[-QUERY_CACHE_SIZE:]

    def _claim(self, texts: list[str]) -> tuple[list[str], list[threading.Event]]:
        """TEXTS split into those this caller embeds (now marked as in flight) and the in-flight events
        of those another caller is embedding; cached ones are neither."""
        todo: list[str] = []
        waiting: list[threading.Event] = []
        with self._lock:
            for text in texts:
                if text in self._query_vectors:
                    continue
                flight = self._in_flight.get(text)
                if flight is not None:
                    waiting.append(flight)
                else:
                    self._in_flight[text] = threading.Event()
                    todo.append(text)
        return todo, waiting

    def _embed_claimed(self, texts: list[str]) -> None:
        """Embed TEXTS (claimed by `_claim`) in one call, cache them, and release their waiters, always."""
        try:
            embedder = self.embedder()
            vectors = embedder.embed_query(texts) if embedder is not None else None
            if vectors is not None and len(vectors) != len(texts):  # which vector is whose is unknown: none kept
                raise ValueError(f"{len(vectors)} vectors for {len(texts)} queries")
            if vectors is not None:
                with self._lock:
                    for text, vector in zip(texts, vectors, strict=True):
                        self._remember(text, np.asarray(vector, dtype=np.float32))
        except Exception as exc:  # each search then embeds its own query, or degrades to keywords
            log.info("batch query embedding failed, searches embed one by one: %r", exc)
        finally:
            self._release(texts)

    def _release(self, texts: list[str]) -> None:
        """TEXTS are no longer in flight: whoever waits for them goes on (finding them cached, or not)."""
        with self._lock:
            for text in texts:
                flight = self._in_flight.pop(text, None)
                if flight is not None:
                    flight.set()

    def _remember(self, text: str, vector: np.ndarray) -> None:
        self._query_vectors[text] = vector
        self._query_vectors.move_to_end(text)
        while len(self._query_vectors) > QUERY_CACHE_SIZE:
            self._query_vectors.popitem(last=False)

    def _query_vector(self, embedder: Embedder, query: str) -> np.ndarray:
        text = dense_text(query, self.settings.query_embed_chars)
        with self._lock:
            flight = self._in_flight.get(text)
        if flight is not None:  # being embedded (an outline warming up, a draft's batch): wait, not twice
            flight.wait()
        with self._lock:
            vector = self._query_vectors.get(text)
            if vector is not None:
                self._query_vectors.move_to_end(text)
                return vector
        vector = np.asarray(embedder.embed_query([text])[0], dtype=np.float32)
        with self._lock:
            self._remember(text, vector)
        return vector

    def _vector_matrix(self, corpus: _Corpus) -> VectorMatrix:
        """For an index without a vector matrix of its own (matrix.py): every vector copied out of Chroma,
        once per build, as a matrix in memory (its kind filter is then the mask alone)."""
        with self._lock:
            if self._matrix is None:
                dense = self._dense_store()
                assert dense is not None
                ids, matrix = dense.vectors()
                rows = [(row, corpus.pos[cid]) for row, cid in enumerate(ids) if cid in corpus.pos]
                self._matrix = VectorMatrix(matrix[[r for r, _ in rows]] if rows else matrix,
                                            np.array([p for _, p in rows], dtype=np.int64), {})
            return self._matrix

    # ------------------------------------------------------------ reading
    def chunks(self, kind: str | None = None) -> list[Chunk]:
        return [c for c in self._corpus_state().chunks if kind is None or c.kind == kind]

    def get_chunks(self, ids: Iterable[str]) -> list[Chunk]:
        corpus = self._corpus_state()
        return [corpus.chunks[corpus.pos[cid]] for cid in ids if cid in corpus.pos]

    def documents(self) -> list[str]:
        return sorted({c.source for c in self._corpus_state().chunks})

    def corpus_texts(self) -> dict[str, str]:
        """Source file name → its chunk texts in reading order (for the example-leakage check)."""
        parts: dict[str, list[Chunk]] = {}
        for chunk in self._corpus_state().chunks:
            parts.setdefault(chunk.source, []).append(chunk)
        return {source: "\n".join(c.text for c in sorted(cs, key=lambda c: c.position))
                for source, cs in sorted(parts.items())}

    def stats(self) -> IndexStats:
        built = self.has_index()
        chunks = self._corpus_state().chunks if built else ()
        kinds: dict[str, int] = {}
        for chunk in chunks:
            kinds[chunk.kind] = kinds.get(chunk.kind, 0) + 1
        embedder = self.embedder()
        dense = self._dense_store() if embedder is not None else None
        vectors = dense.count() if dense is not None else 0
        documents = len(Manifest.load(index_paths(self.settings)["manifest"]).files) if built else 0
        return IndexStats(
            built=built, documents=documents, chunks=len(chunks),
            kinds=tuple(sorted(kinds.items(), key=lambda kv: -kv[1])), dense=vectors > 0, vectors=vectors,
            embedder=embedder.name() if embedder is not None else "none",
            collection=dense.name if dense is not None else "", index_dir=str(self.settings.index_dir),
        )


def open_index(settings: Settings) -> CorpusIndex:
    """The index under the settings' data dir; IndexUnavailable (Chinese message) when not built."""
    index = CorpusIndex(settings)
    if not index.has_index():
        raise index.unavailable()
    return index


def ensure_index(settings: Settings, on_progress: Callable[[str], None] | None = None) -> CorpusIndex:
    """Open the index, building it from the configured corpus first when it does not exist yet."""
    index = CorpusIndex(settings)
    if not index.has_index():
        if on_progress is not None and index.interrupted() is None:
            on_progress("首次使用：正在建立范文库索引……")
        index.build(on_progress=on_progress)
    return index
