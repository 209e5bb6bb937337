"""A real Chroma server (`chroma run`) behind SHUZHI_CHROMA_HOST/PORT: the same index as the embedded client,
two machines sharing one collection, and a server that is down (issue 10).

Every test starts its own server on a free 127.0.0.1 port with its data in a tmp dir. A "machine" is a
SHUZHI_DATA_DIR; the CLI runs in this process (`Cli`: the settings from the environment, a new Workspace per
command, as a new process would have) and, where a fresh process or its stderr matters, as `python -m shuzhi`
(importing shuzhi takes 4-7 s on a loaded machine, so most commands run in-process). Vectors come from the
hashing embeddings endpoint of test_harden_index (`EmbedStub`), the LLM from tests/llm_stub.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS_DIR, EXAMPLES_DIR, run_cli
from llm_stub import StubLLMServer
from test_harden_index import EmbedStub, cli_env, shuzhi

CHROMA = Path(sys.executable).parent / "chroma"
QUERIES = (  # (query, --kind): unfiltered (HNSW on the server) and filtered (exact, over the fetched vectors)
    ("党建工作责任制落实", None),
    ("理论学习不够深入的问题", "problems"),
    ("下一步加强支部标准化建设", "next_steps"),
    ("主观原因 思想认识", "causes"),
)
EXTRA = ("# 2024年第五党支部书记抓基层党建工作述职报告\n\n## 一、主要做法和成效\n\n"
         "（一）建强战斗堡垒。一是推行“楼栋党小组+网格员”工作法，把党小组建在楼栋上。"
         "二是设立党员责任区，亮明身份接受群众监督。\n\n## 二、存在问题及原因\n\n"
         "一是书记本人统筹推进楼栋党小组用力不均。\n\n## 三、下一步打算\n\n一是完善楼栋党小组运行机制。\n")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """`chroma run --host 127.0.0.1 --path DIR --port PORT`, up once its heartbeat answers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = _free_port()
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.log = (path.parent / f"chroma-{self.port}.log").open("w")
        self.proc = subprocess.Popen([str(CHROMA), "run", "--host", "127.0.0.1", "--path", str(path),
                                      "--port", str(self.port)], env=env, stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not self.alive():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"chroma server did not start: {(path.parent / self.log.name).read_text()[-2000:]}")
            time.sleep(0.1)

    def alive(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1) as r:
                return bool(r.status == 200)
        except OSError:
            return False

    def env(self) -> dict[str, str]:
        return {"SHUZHI_CHROMA_HOST": "127.0.0.1", "SHUZHI_CHROMA_PORT": str(self.port)}

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ChromaServer]:
    if not CHROMA.is_file():
        pytest.skip(f"no chroma CLI at {CHROMA}")
    srv = ChromaServer(tmp_path / "chroma-server")
    yield srv
    srv.stop()


@pytest.fixture
def embed_stub() -> Iterator[EmbedStub]:
    stub = EmbedStub()
    yield stub
    stub.stop()


class Cli:
    """`shuzhi ARGS` in this process, with the SHUZHI_/OPENAI_ variables of ENV (like `shuzhi` in test_harden_index)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
        self.monkeypatch, self.capsys = monkeypatch, capsys
        monkeypatch.setattr("shuzhi.index.remote.PULL_INTERVAL_S", 0.0)  # every command asks, as a new process does

    def __call__(self, env: dict[str, str], *args: str) -> tuple[int, str, str]:
        for key in [k for k in os.environ if k.startswith(("SHUZHI_CHROMA", "SHUZHI_EMBEDD", "OPENAI_", "SHUZHI_MODEL"))]:
            self.monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith(("SHUZHI_", "OPENAI_")) and key != "SHUZHI_ENV_FILE":
                self.monkeypatch.setenv(key, value)
        Path(env["SHUZHI_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        return run_cli(self.capsys, *args)

    def index(self, env: dict[str, str], *args: str) -> dict[str, Any]:
        code, out, err = self(env, "index", *args, "--json")
        assert code == 0, err
        return dict(json.loads(out))

    def search(self, env: dict[str, str], query: str, kind: str | None) -> list[tuple[str, float]]:
        code, out, err = self(env, "search", query, "--json", "-k", "8", *(["--kind", kind] if kind else []))
        assert code == 0, err
        return [(h["id"], h["score"]) for h in json.loads(out)]


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(monkeypatch, capsys)


def _corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for path in sorted(CORPUS_DIR.glob("*.txt"))[:3]:
        shutil.copy(path, folder / path.name)
    return folder.resolve()


def _search(env: dict[str, str], query: str, kind: str | None) -> tuple[list[tuple[str, float]], str]:
    code, out, err = shuzhi(env, "search", query, "--json", "-k", "8", *(["--kind", kind] if kind else []))
    assert code == 0, err
    assert "Traceback" not in err
    return [(h["id"], h["score"]) for h in json.loads(out)], err


def _chunk_ids(data_dir: Path) -> list[str]:
    lines = (data_dir / "index" / "chunks.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["id"] for line in lines if line.strip()]


def _draft(cli: Cli, env: dict[str, str], tmp_path: Path, name: str) -> tuple[dict[str, Any], list[str]]:
    with StubLLMServer(responder=lambda body: "一是发展党员2名，预备党员转正1名。") as llm:
        code, out, err = cli({**env, "OPENAI_BASE_URL": llm.base_url, "OPENAI_API_KEY": "test-key-not-secret",
                                 "SHUZHI_MODEL": "stub-model", "SHUZHI_MAX_RETRIES": "0"},
                                "draft", str(EXAMPLES_DIR / "notes_jiguan_2024.md"), "--json",
                                "-o", str(tmp_path / f"{name}.md"))
        prompts = sorted(json.dumps(r.body["messages"], ensure_ascii=False) for r in llm.chat_requests)
    assert code == 0, err
    return json.loads(out), prompts


# ---------------------------------------------------------------- 1. the server behaves as the embedded client
def test_server_gives_the_embedded_clients_index_searches_and_draft(tmp_path: Path, server: ChromaServer,
                                                                    embed_stub: EmbedStub, cli: Cli) -> None:
    """3 reports indexed, re-indexed (nothing new), one folder --add-ed, 4 searches (1 unfiltered, 3 by
    --kind) and a draft, each through the embedded client and through `chroma run`: equal reports, the
    same chunk ids in the same order, the same hits with the same scores, the same exemplars in every
    prompt and the same citations."""
    corpus = _corpus(tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.md").write_text(EXTRA, encoding="utf-8")
    results: dict[str, Any] = {}
    for name, more in (("embedded", {}), ("server", server.env())):
        env = cli_env(tmp_path / name, embed_stub, **more)
        first = cli.index(env, "--corpus", str(corpus))
        again = cli.index(env)
        added = cli.index(env, "--corpus", str(extra), "--add")
        searches = [cli.search(env, q, kind) for q, kind in QUERIES]
        draft, prompts = _draft(cli, env, tmp_path, name)
        results[name] = {
            "reports": [{k: r[k] for k in ("documents", "chunks", "embedded", "removed", "dense", "warnings")}
                        for r in (first, again, added)],
            "ids": _chunk_ids(tmp_path / name), "searches": searches, "prompts": prompts,
            "citations": [s["citations"] for s in draft["sections"]],
        }
    embedded, served = results["embedded"], results["server"]
    assert embedded["reports"][1]["embedded"] == 0 and embedded["reports"][2]["documents"] == 4
    assert all(r["dense"] and not r["warnings"] for r in served["reports"]), served["reports"]
    assert served["reports"] == embedded["reports"]
    assert served["ids"] == embedded["ids"] and len(served["ids"]) > 50
    assert all(served["searches"]) and served["searches"] == embedded["searches"]
    assert served["prompts"] and served["prompts"] == embedded["prompts"]
    assert any(served["citations"]) and served["citations"] == embedded["citations"]
    assert not (tmp_path / "server" / "index" / "chroma").exists()  # the vectors really are on the server


# ---------------------------------------------------------------- 2. two machines, one server
def test_second_machine_searches_the_first_machines_index_and_follows_its_reindex(
        tmp_path: Path, server: ChromaServer, embed_stub: EmbedStub, cli: Cli) -> None:
    """Machine A indexes 3 reports through the server; machine B (a fresh data dir, no index, a new
    `python -m shuzhi search` process) builds nothing, takes A's chunks.jsonl and manifest byte for byte,
    and its 4 searches equal A's. A `--add`s a report; B's next command finds it, and the same 4
    searches again equal A's."""
    cli.monkeypatch.setattr("shuzhi.index.remote.PAGE_CHARS", 4000)  # A publishes chunks.jsonl in ~10 pages
    a = cli_env(tmp_path / "A", embed_stub, **server.env())
    b = cli_env(tmp_path / "B", embed_stub, **server.env())
    cli.index(a, "--corpus", str(_corpus(tmp_path)))

    first_b, err = _search(b, *QUERIES[0])
    assert "首次使用" not in err  # B did not build its own (built-in) corpus into the shared collection
    for name in ("chunks.jsonl", "manifest.json"):
        assert (tmp_path / "B" / "index" / name).read_bytes() == (tmp_path / "A" / "index" / name).read_bytes()
    # B made its own vector matrix from the server's vectors: the same as A's, so its searches need no Chroma copy.
    import numpy as np

    mine, theirs = (np.load(tmp_path / m / "index" / "vectors.npy") for m in ("B", "A"))
    assert mine.shape == theirs.shape and np.allclose(mine, theirs, atol=1e-6)
    assert [first_b] + [cli.search(b, q, kind) for q, kind in QUERIES[1:]] == \
        [cli.search(a, q, kind) for q, kind in QUERIES]

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "extra.md").write_text(EXTRA, encoding="utf-8")
    before = set(_chunk_ids(tmp_path / "A"))
    added = cli.index(a, "--corpus", str(extra), "--add")
    assert added["documents"] == 4 and added["dense"]
    hits = cli.search(b, "楼栋党小组 网格员", None)
    assert _chunk_ids(tmp_path / "B") == _chunk_ids(tmp_path / "A")
    assert len(_chunk_ids(tmp_path / "B")) == added["chunks"] > len(before)
    assert hits and hits[0][0] not in before  # the new report's passage, on B
    assert [cli.search(b, q, kind) for q, kind in QUERIES] == [cli.search(a, q, kind) for q, kind in QUERIES]


def test_a_second_machines_build_waits_for_the_writer_lease(tmp_path: Path, server: ChromaServer,
                                                            embed_stub: EmbedStub, cli: Cli) -> None:
    """While machine A holds the server's writer lease, B's `index` stops with a Chinese message naming A
    (exit 2, nothing changed); once A releases it, B indexes."""
    from shuzhi.config import Settings
    from shuzhi.index.embed import load_embedder
    from shuzhi.index.remote import claim_writer
    from shuzhi.index.store import DenseStore

    settings = Settings(data_dir=tmp_path / "A", embedder="openai", embedding_base_url=embed_stub.base_url,
                        embedding_model="stub-embed", chroma_host="127.0.0.1", chroma_port=server.port)
    embedder, warning = load_embedder(settings)
    assert embedder is not None, warning
    lease = claim_writer(settings, DenseStore(settings, embedder))
    b = cli_env(tmp_path / "B", embed_stub, **server.env())
    corpus = _corpus(tmp_path)
    code, out, err = cli(b, "index", "--corpus", str(corpus))
    assert code == 2 and "另一台电脑" in err and "没有改动索引" in err and "Traceback" not in err
    assert not (tmp_path / "B" / "index" / "chunks.jsonl").exists()
    lease.release()
    assert cli.index(b, "--corpus", str(corpus))["documents"] == 3


# ---------------------------------------------------------------- 3. the server is down
def test_server_down_search_uses_the_local_copy_with_a_warning_and_a_fresh_machine_gets_an_error(
        tmp_path: Path, server: ChromaServer, embed_stub: EmbedStub, cli: Cli) -> None:
    """Server stopped: A (has a local index and its vector matrix) searches its own copy, exit 0, and stderr
    says why and that the copy may not be the server's latest; B (no index) `search` and A's `index` stop with exit 2 and the same
    Chinese cause; no traceback (real processes: their stderr is what a user sees)."""
    a = cli_env(tmp_path / "A", embed_stub, **server.env())
    b = cli_env(tmp_path / "B", embed_stub, **server.env())
    cli.index(a, "--corpus", str(_corpus(tmp_path)))
    server.stop()

    hits, err = _search(a, *QUERIES[0])
    where = f"127.0.0.1:{server.port}"
    assert hits and {h for h, _ in hits} <= set(_chunk_ids(tmp_path / "A"))
    assert f"无法连接 Chroma 服务器 {where}" in err and "可能不是服务器上的最新版本" in err and "SHUZHI_CHROMA_HOST" in err
    for env, args in ((b, ("search", QUERIES[0][0])), (a, ("index",))):
        code, out, err = shuzhi(env, *args)
        assert code == 2, (args, err)
        assert err.startswith("错误：") or "\n错误：" in err
        assert f"无法连接 Chroma 服务器 {where}" in err and "Traceback" not in err
    assert (tmp_path / "A" / "index" / "chunks.jsonl").is_file()  # the index A had is still there
