"""The real app in headless Chromium: search returns passages; drafting without a model shows the plan."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make test installs it as root)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], attempts: int = 240) -> None:
    """Poll /_stcore/health (bounded); fail with the server's output if it dies."""
    for _ in range(attempts):
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stdout.read().decode() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("streamlit did not become healthy")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("browser-data")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SHUZHI_"))}
    env.update(SHUZHI_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    # Build the index first so the page does not spend its first render embedding the corpus.
    subprocess.run([sys.executable, "-m", "shuzhi", "index"], env=env, cwd=REPO, check=True,
                   capture_output=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"), "--server.headless=true",
         "--server.address=127.0.0.1", f"--server.port={port}", "--browser.gatherUsageStats=false",
         "--server.fileWatcherType=none"],
        env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_search_page_returns_passages(app_url: str, browser: object, tmp_path: Path) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(f"{app_url}/search")
    page.get_by_label("检索内容").fill("严格落实三会一课和主题党日制度")
    page.get_by_role("button", name="检索").click()
    page.get_by_text("来源：").first.wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert "位置：" in body
    assert ".txt" in body  # the source file of each passage is shown
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)
    page.close()


def test_draft_page_without_model_shows_plan(app_url: str, browser: object) -> None:
    from playwright.sync_api import expect

    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(app_url)
    page.get_by_role("button", name="载入示例笔记").click()
    expect(page.get_by_label("工作笔记")).to_have_value(re.compile("发展党员2名"), timeout=60_000)
    page.get_by_role("button", name="生成提纲").click()
    page.get_by_text("提纲（可修改）").wait_for(timeout=60_000)
    page.get_by_role("button", name="生成初稿").click()
    page.get_by_text("未配置大模型接口").first.wait_for(timeout=60_000)
    assert "各节事实与参考范文" in page.inner_text("body")
    page.close()
