"""Nothing is fetched from outside: in real headless Chromium every request of every page goes to the app's
own origin — without a model, and with one whose answer carries a remote image (Markdown and HTML).

A remote image or font would tell a third party that the page was opened (and an image URL the model was led
to write could carry the user's notes), so the request log must hold nothing but 127.0.0.1:<port>.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    EXAMPLES,
    _base_env,
    _data_dir,
    _fill,
    _new_page,
    _settle,
    _streamlit,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make test installs it as root)"),
]

PAGES = (("", "起草初稿"), ("rewrite", "改写问题部分"), ("check", "检查草稿"), ("search", "范文检索"),
         ("corpus", "语料库"), ("history", "草稿历史"), ("settings", "设置"))
REMOTE = "198.51.100.7"
LEAKY_ANSWER = (f"主题党日形式比较单一![x](http://{REMOTE}/a.png)，<img src=\"http://{REMOTE}/b.png\">"
                "党员参与的积极性有待提高。")


@pytest.fixture(scope="module")
def indexed_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import subprocess
    import sys

    from test_browser import REPO

    data_dir = tmp_path_factory.mktemp("offline-index")
    subprocess.run([sys.executable, "-m", "shuzhi", "index"], env=_base_env(data_dir), cwd=REPO, check=True,
                   capture_output=True)
    return data_dir


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class RequestLog:
    """Every request the page makes (documents, scripts, styles, fonts, images, XHR, websockets)."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("websocket", lambda socket: self.urls.append(socket.url))

    def foreign(self, origin: str) -> list[str]:
        own = urlsplit(origin).netloc
        return [u for u in self.urls if urlsplit(u).scheme not in ("data", "blob", "about")
                and urlsplit(u).netloc != own]


def _visit_every_page(page: Any, url: str) -> None:
    for path, title in PAGES:
        page.goto(f"{url}/{path}")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).wait_for()
        page.get_by_test_id("stMain").get_by_test_id("stHeading").first.wait_for()
        _settle(page)
        page.wait_for_load_state("networkidle")


def test_no_page_fetches_anything_from_outside_without_a_model(indexed_dir: Path, browser: Any,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    env = _base_env(_data_dir(indexed_dir, tmp_path_factory, "offline-data"))
    with _streamlit(env) as url:
        page = _new_page(browser)
        log = RequestLog(page)
        _visit_every_page(page, url)
        assert any("/_stcore/" in u for u in log.urls)  # the log does see the app's own traffic
        assert log.foreign(url) == []
        page.close()


def test_a_model_answer_with_remote_images_fetches_nothing(indexed_dir: Path, browser: Any,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    from llm_stub import StubLLMServer
    from playwright.sync_api import expect

    env = _base_env(_data_dir(indexed_dir, tmp_path_factory, "offline-model-data"))
    with StubLLMServer(responder=lambda body: LEAKY_ANSWER) as stub:
        env.update(OPENAI_BASE_URL=stub.base_url, OPENAI_API_KEY="test-key-not-secret", SHUZHI_MODEL="stub-model",
                   SHUZHI_TIMEOUT_S="30", SHUZHI_MAX_RETRIES="0")
        with _streamlit(env) as url:
            page = _new_page(browser)
            log = RequestLog(page)
            _visit_every_page(page, url)
            page.goto(f"{url}/rewrite")
            _fill(page, "需要改写的段落", (EXAMPLES / "weak_problems_1.md").read_text(encoding="utf-8"))
            page.get_by_role("button", name="诊断并改写").click()
            page.get_by_text("党员参与的积极性有待提高").first.wait_for(state="attached")
            _settle(page)
            page.wait_for_load_state("networkidle")
            assert stub.chat_count >= 1  # the answer with the images reached the page
            # Drafting streams the same answer into every section.
            page.goto(url)
            page.get_by_role("button", name="载入示例笔记").click()
            expect(page.get_by_label("工作笔记")).to_have_value(re.compile("发展党员"), timeout=60_000)
            page.get_by_role("button", name="生成提纲").click()
            page.get_by_text("提纲（可修改）").wait_for()
            chats = stub.chat_count
            page.get_by_role("button", name="生成初稿").click()
            page.get_by_text("检查结果").wait_for()
            _settle(page)
            page.wait_for_load_state("networkidle")
            assert stub.chat_count > chats
            assert [u for u in log.urls if REMOTE in u] == []
            assert log.foreign(url) == []
            page.close()
