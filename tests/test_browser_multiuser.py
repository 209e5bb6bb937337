"""Several users at once in real headless Chromium (SHUZHI_MULTI_USER=true, no st.login): two browsers open the
same app at the same time, each writes its own notes, reloads, switches pages and comes back — each sees only its
own work; the model settings of one never reach the other; the 语料库 is read-only except for the listed admin."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from test_browser import (  # noqa: F401 - the fixtures are used by name
    CHROMIUM,
    WAIT_MS,
    _base_env,
    _data_dir,
    _fill,
    _settle,
    _shot,
    _streamlit,
    browser,
    indexed_dir,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (make test installs it as root)"),
]

ADMIN_ID = "adminWorkspace-0001"  # a browser workspace id (?w=…) listed in SHUZHI_ADMINS
NOTES_ADMIN = "- 甲支部：发展党员2名，开展主题党日12次"
NOTES_OTHER = "- 乙支部：发展党员7名，走访困难群众30户"


@pytest.fixture(scope="module")
def multi_app(indexed_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # noqa: F811
    data_dir = _data_dir(indexed_dir, tmp_path_factory, "multiuser-data")
    env = _base_env(data_dir)
    env.update(SHUZHI_MULTI_USER="true", SHUZHI_ADMINS=f"boss@example.cn,{ADMIN_ID}")
    with _streamlit(env) as url:
        yield url, data_dir


def _page(browser: Any) -> Any:  # noqa: F811
    """A page in a browser context of its own: its own cookies and storage, as another person's browser."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    return page


def _workspace_id(page: Any) -> str:
    page.wait_for_url(re.compile(r"[?&]w="), timeout=WAIT_MS)
    return parse_qs(urlparse(page.url).query)["w"][0]


def _stored_notes(store: Path) -> list[str]:
    with sqlite3.connect(store) as conn:
        return [str(row[0]) for row in conn.execute("SELECT notes FROM sessions")]


def test_two_browsers_at_once_keep_their_work_apart(multi_app: tuple[str, Path], browser: Any,  # noqa: F811
                                                    tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, data_dir = multi_app
    admin, other = _page(browser), _page(browser)
    admin.goto(f"{url}/?w={ADMIN_ID}")
    other.goto(url)
    other_id = _workspace_id(other)  # a new random workspace id, put into the address on the first visit
    assert _workspace_id(admin) == ADMIN_ID and other_id != ADMIN_ID
    for page in (admin, other):
        page.get_by_label("工作笔记", exact=True).wait_for()
        _settle(page)
    # Both type at once (neither waits for the other's run to finish), then both commit.
    admin.get_by_label("工作笔记", exact=True).fill(NOTES_ADMIN)
    other.get_by_label("工作笔记", exact=True).fill(NOTES_OTHER)
    admin.get_by_label("工作笔记", exact=True).press("Control+Enter")
    other.get_by_label("工作笔记", exact=True).press("Control+Enter")
    _settle(admin)
    _settle(other)

    for page, mine, theirs in ((admin, NOTES_ADMIN, NOTES_OTHER), (other, NOTES_OTHER, NOTES_ADMIN)):
        page.reload()  # F5: the ?w=… in the address brings the same workspace back
        expect(page.get_by_label("工作笔记", exact=True)).to_have_value(mine, timeout=WAIT_MS)
        _settle(page)
        nav = page.get_by_test_id("stSidebarNav")
        nav.get_by_role("link", name="草稿历史").click()  # a page switch drops the query; the app puts it back
        page.get_by_role("heading", name="草稿历史").first.wait_for()
        _settle(page)
        body = page.inner_text("body")
        assert mine.lstrip("- ")[:6] in body and theirs.lstrip("- ")[:6] not in body
        page.reload()
        nav.get_by_role("link", name="起草初稿").click()
        expect(page.get_by_label("工作笔记", exact=True)).to_have_value(mine, timeout=WAIT_MS)
        assert page.get_by_text(theirs).count() == 0
    assert _workspace_id(admin) == ADMIN_ID and _workspace_id(other) == other_id

    # On disk: one store per browser under users/, the single-user store untouched.
    stores = sorted((data_dir / "users").glob("*/workspace.sqlite3"))
    assert len(stores) == 2
    assert sorted(n for s in stores for n in _stored_notes(s)) == sorted([NOTES_ADMIN, NOTES_OTHER])
    assert all(len(_stored_notes(s)) == 1 for s in stores)
    assert not (data_dir / "workspace.sqlite3").exists()  # nor is the single-user store opened

    # A model set on 设置 in one browser is that browser's only.
    admin.get_by_test_id("stSidebarNav").get_by_role("link", name="设置").click()
    admin.get_by_label("模型名称", exact=True).wait_for()
    _settle(admin)
    _fill(admin, "接口地址", "http://127.0.0.1:9/v1")
    _fill(admin, "模型名称", "admins-own-model")
    admin.get_by_role("button", name="应用").click()
    admin.get_by_text("模型：admins-own-model（本次会话设置）").wait_for()
    other.reload()
    other.get_by_text("模型：未配置").first.wait_for()
    _settle(other)
    assert "admins-own-model" not in other.inner_text("body")

    # The 语料库: the admin may change it, the other browser only reads it.
    for page in (admin, other):
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="语料库").click()
        page.get_by_text("范文列表").wait_for()
        _settle(page)
    assert admin.get_by_role("button", name="上传并加入范文库").count() == 1
    assert admin.get_by_role("button", name="重新建立索引").count() == 1
    assert "范文库管理员" in admin.inner_text("body")
    body = other.inner_text("body")
    assert "只有管理员可以上传、删除范文或重新建立索引" in body and "范文库只读" in body
    assert other.get_by_role("button", name="上传并加入范文库").count() == 0
    assert other.get_by_role("button", name="重新建立索引").count() == 0
    assert other.locator('[data-testid="stFileUploaderDropzoneInput"]').count() == 0
    assert "5 篇" in body  # the shared corpus is there to read
    _shot(other, tmp_path, "corpus-read-only")
    _shot(admin, tmp_path, "corpus-admin")
    for page in (admin, other):
        page.context.close()
