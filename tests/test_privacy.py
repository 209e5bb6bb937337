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
