"""Nothing phones home and the API key never lands on disk."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES_DIR, REPO, run_cli
from llm_stub import StubLLMServer


def test_chroma_telemetry_is_off(tmp_path: Path) -> None:
    from shuzhi.config import Settings
    from shuzhi.index.store import make_client

    client = make_client(Settings(data_dir=tmp_path))
    assert client.get_settings().anonymized_telemetry is False


def test_streamlit_usage_stats_are_off() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "127.0.0.1"
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "--browser.gatherUsageStats=false" in makefile


def test_api_key_is_not_written_anywhere(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    with StubLLMServer(faults=["401"]) as stub:
        llm_env(stub)
        run_cli(capsys, "-v", "draft", str(EXAMPLES_DIR / "notes_jiguan_2024.md"), "-o", str(tmp_path / "d.md"),
                "--docx", str(tmp_path / "d.docx"))
    out, err = capsys.readouterr()
    key = b"test-key-not-secret"
    assert key.decode() not in out + err
    written = [p for root in (use_built_index, tmp_path) for p in root.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in written)  # the log exists, and is checked below
    for path in written:
        assert key not in path.read_bytes(), path


def test_langsmith_tracing_is_off_by_default() -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("LANGSMITH_", "LANGCHAIN_"))}
    code = "import os, shuzhi.config; print(os.environ['LANGSMITH_TRACING'], os.environ['LANGCHAIN_TRACING_V2'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["false", "false"]


def test_a_langchain_call_stays_on_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every socket a drafting call opens goes to the stub; no tracer, no tokenizer download."""
    import socket

    import langsmith.utils
    import tiktoken

    from shuzhi.llm import ChatClient, LLMConfig

    peers: list[object] = []
    guarded = socket.socket.connect  # the autouse guard, which refuses non-loopback addresses

    def recording_connect(self: socket.socket, address: object) -> None:
        peers.append(address)
        guarded(self, address)  # type: ignore[arg-type]

    def no_tokenizer(*args: object, **kwargs: object) -> None:
        raise AssertionError("tiktoken would download its encodings")

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(tiktoken, "get_encoding", no_tokenizer)
    monkeypatch.setattr(tiktoken, "encoding_for_model", no_tokenizer)
    assert not langsmith.utils.tracing_is_enabled()
    with StubLLMServer() as stub:
        client = ChatClient(LLMConfig(base_url=stub.base_url, model="stub-model", api_key="k" * 8))
        assert client.complete([{"role": "user", "content": "写一段开头。"}], on_token=lambda t: None)
        assert client.complete([{"role": "user", "content": "写一段开头。"}])
    assert peers and all(isinstance(p, tuple) and p[0] == "127.0.0.1" for p in peers), peers
