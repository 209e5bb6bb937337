"""The real app in headless Chromium: every page works and renders Chinese without a model, and drafting
works end to end with one (a stub OpenAI-compatible server in this process).

Each test saves a full-page screenshot into its tmp_path (run with --basetemp=DIR to keep them).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
WAIT_MS = 90_000  # generous: the first render of a page opens the index
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


def _base_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SHUZHI_"))}
    env.update(SHUZHI_DATA_DIR=str(data_dir), ANONYMIZED_TELEMETRY="False",
               STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    return env


@contextmanager
def _streamlit(env: dict[str, str]) -> Iterator[str]:
    """The real app in its own process on a free port; yields its URL once healthy."""
    port = _free_port()
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
def indexed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built-in corpus indexed once; each app copies it so the apps share no files."""
    data_dir = tmp_path_factory.mktemp("browser-index")
    # Build the index first so the page does not spend its first render embedding the corpus.
    subprocess.run([sys.executable, "-m", "shuzhi", "index"], env=_base_env(data_dir), cwd=REPO, check=True,
                   capture_output=True)
    return data_dir


def _data_dir(indexed_dir: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    data_dir = tmp_path_factory.mktemp(name) / "data"
    shutil.copytree(indexed_dir, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def app_url(indexed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app with no model configured."""
    with _streamlit(_base_env(_data_dir(indexed_dir, tmp_path_factory, "browser-data"))) as url:
        yield url


def _facts_reply(body: dict[str, Any]) -> str:
    """Write a section from the facts its prompt lists (the "- " lines after 本节事实)."""
    prompt = str(body["messages"][-1]["content"])
    lines = prompt.split("本节事实", 1)[-1].splitlines()[1:]
    facts = []
    for line in lines:
        if not line.startswith("- "):
            break
        facts.append(line[2:].strip().rstrip("。；;"))
    return "；".join(facts) + "。" if facts else "支部坚持问题导向，逐项抓好整改落实。"


@pytest.fixture(scope="module")
def model_app(indexed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A second app whose model is the stub server in this process; yields (url, stub)."""
    from llm_stub import StubLLMServer

    env = _base_env(_data_dir(indexed_dir, tmp_path_factory, "browser-model-data"))
    with StubLLMServer(responder=_facts_reply) as stub:
        env.update(OPENAI_BASE_URL=stub.base_url, OPENAI_API_KEY="test-key-not-secret", SHUZHI_MODEL="stub-model",
                   SHUZHI_TIMEOUT_S="30", SHUZHI_MAX_RETRIES="1")
        with _streamlit(env) as url:
            yield url, stub


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _new_page(browser: object) -> Any:
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)  # type: ignore[attr-defined]
    page.set_default_timeout(WAIT_MS)
    return page


def _settle(page: Any) -> None:
    """Wait until the script run the last action triggered has finished (the "Running" widget is gone)."""
    page.wait_for_timeout(300)  # let the rerun start; not an assertion
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=WAIT_MS)


def _fill(page: Any, label: str, text: str) -> None:
    """Type into a Streamlit text area and commit it (Ctrl+Enter), as a user would before clicking a button."""
    box = page.get_by_label(label, exact=True)
    box.fill(text)
    box.press("Control+Enter")
    _settle(page)


def _shot(page: Any, tmp_path: Path, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it first."""
    height = page.evaluate("""() => Math.max(...['stMain', 'stAppViewContainer', 'stSidebar']
        .map(id => document.querySelector(`[data-testid="${id}"]`)).filter(Boolean).map(e => e.scrollHeight))""")
    page.set_viewport_size({"width": 1280, "height": max(1000, min(int(height), 8000))})
    page.wait_for_timeout(300)  # let the layout follow the new size before the picture
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_search_page_returns_passages(app_url: str, browser: object, tmp_path: Path) -> None:
    page = _new_page(browser)
    page.goto(f"{app_url}/search")
    page.get_by_label("检索内容").fill("严格落实三会一课和主题党日制度")
    page.get_by_role("button", name="检索").click()
    page.get_by_text("来源：").first.wait_for(timeout=60_000)
    _settle(page)
    body = page.inner_text("body")
    assert "位置：" in body and "插入到当前节" in body
    assert ".txt" not in body  # each passage names its report's title and year, not a (hashed) file name
    _shot(page, tmp_path, "search")
    page.close()


def test_draft_page_without_model_shows_plan(app_url: str, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser)
    page.goto(app_url)
    page.get_by_role("button", name="载入示例笔记").click()
    expect(page.get_by_label("工作笔记")).to_have_value(re.compile("发展党员2名"), timeout=60_000)
    page.get_by_role("button", name="生成提纲").click()
    page.get_by_text("提纲（可修改）").wait_for(timeout=60_000)
    page.get_by_text("生成正文需要先在“设置”页配置模型").first.wait_for(timeout=60_000)  # no 生成初稿 without one
    page.get_by_text("本节事实").first.wait_for(timeout=60_000)  # the page streams in; wait, don't race
    page.get_by_role("button", name=re.compile("下载 Word")).first.wait_for()  # the skeleton, without a model
    _settle(page)
    assert page.get_by_role("button", name="生成初稿").count() == 0
    _shot(page, tmp_path, "draft")
    page.close()


def test_rewrite_page_diagnoses_without_model(app_url: str, browser: object, tmp_path: Path) -> None:
    page = _new_page(browser)
    page.goto(f"{app_url}/rewrite")
    page.get_by_text("未配置大模型").first.wait_for()
    _fill(page, "需要改写的段落", (EXAMPLES / "weak_problems_1.md").read_text(encoding="utf-8"))
    page.get_by_role("button", name="诊断", exact=True).click()
    page.get_by_text("诊断（").wait_for()
    _settle(page)
    body = page.inner_text("body")
    assert "客观原因" in body
    assert "原文：" in body
    _shot(page, tmp_path, "rewrite")
    page.close()


def test_check_page_blocks_invented_figure_and_exports_word(app_url: str, browser: object, tmp_path: Path) -> None:
    draft = ("# 2024年度抓基层党建工作述职报告\n\n## 一、主要做法和成效\n\n"
             "全年组织集中学习24次，专题研讨8次，发展党员2名，开展志愿服务35次。\n\n"
             "## 二、存在问题及原因\n\n主题党日形式单一。\n\n## 三、下一步打算\n\n丰富主题党日形式。\n")
    notes = "2024年 某支部 笔记\n- 全年集中学习24次，专题研讨8次\n- 发展党员2名\n问题：主题党日形式单一\n"
    page = _new_page(browser)
    page.goto(f"{app_url}/check")
    _fill(page, "草稿全文", draft)
    _fill(page, "工作笔记（用于核对数字，可选）", notes)
    page.get_by_role("button", name="检查", exact=True).click()
    page.get_by_text("检查结果").wait_for()
    _settle(page)
    body = page.inner_text("body")
    assert "必须修改" in body and "35次" in body
    assert "事实台账" in body
    word = page.get_by_role("button", name=re.compile("下载 Word"))
    word.wait_for()
    with page.expect_download() as download:
        word.click()
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".docx")
    assert Path(path).read_bytes()[:2] == b"PK"  # a real .docx (zip) produced without any model
    _shot(page, tmp_path, "check")
    page.close()


def test_sidebar_navigation_keeps_notes(app_url: str, browser: object, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = _new_page(browser)
    page.goto(app_url)
    _fill(page, "工作笔记", "- 导航测试：发展党员3名")
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name="设置").click()
    page.get_by_text("资料保存在哪里").wait_for()  # the settings page rendered down to where work is saved
    _settle(page)
    assert "/settings" in page.url
    body = page.inner_text("body")
    assert "未配置大模型" in body and "workspace.sqlite3" in body
    _shot(page, tmp_path, "settings")
    nav.get_by_role("link", name="检查草稿").click()
    page.get_by_label("草稿全文", exact=True).wait_for()
    nav.get_by_role("link", name="改写问题部分").click()
    page.get_by_label("需要改写的段落", exact=True).wait_for()
    nav.get_by_role("link", name="起草初稿").click()
    expect(page.get_by_label("工作笔记", exact=True)).to_have_value("- 导航测试：发展党员3名", timeout=WAIT_MS)
    page.close()


def test_draft_page_with_model_writes_and_checks_the_draft(model_app: tuple[str, Any], browser: object,
                                                           tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, stub = model_app
    page = _new_page(browser)
    page.goto(url)
    page.get_by_text("模型：stub-model").wait_for()  # the sidebar shows the configured model
    page.get_by_role("button", name="载入示例笔记").click()
    expect(page.get_by_label("工作笔记")).to_have_value(re.compile("发展党员2名"), timeout=60_000)
    page.get_by_role("button", name="生成提纲").click()
    page.get_by_text("提纲（可修改）").wait_for(timeout=60_000)
    title_box = page.get_by_label("标题", exact=True)
    expect(title_box).to_have_value(re.compile("抓基层党建工作述职报告"), timeout=WAIT_MS)
    title = title_box.input_value()
    page.get_by_role("button", name="生成初稿").click()
    page.get_by_text("检查结果").wait_for()
    _settle(page)
    editors = page.get_by_label("正文（修改后自动保存）", exact=True)  # one editor per section (ui/sections.py)
    draft = "\n".join(editors.evaluate_all("els => els.map(e => e.value)"))
    assert "发展党员2名" in draft
    assert "本节生成失败" not in draft
    assert stub.chat_count >= 5  # one request per drafted section
    body = page.inner_text("body")
    assert "事实台账" in body and "自动保存" in body
    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("下载 Markdown")).first.click()
    assert title in Path(download.value.path()).read_text(encoding="utf-8")  # the whole draft, under its title
    ledger = page.get_by_test_id("stDataFrame").last  # a canvas grid: let it paint before the picture
    ledger.scroll_into_view_if_needed()
    ledger.locator("canvas").first.wait_for()
    _shot(page, tmp_path, "draft-with-model")
    page.close()
