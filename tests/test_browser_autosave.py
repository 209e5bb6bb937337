"""Autosave in real Chromium: text typed and left in the box (no blur, no Enter) is saved within a second,
survives F5, and a restarted app on the same data directory lands in the same session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_browser import (  # noqa: F401 - the fixtures are used by name
    CHROMIUM,
    WAIT_MS,
    _base_env,
    _data_dir,
    _new_page,
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

NOTES = "- 自动保存测试：发展党员5名"
ORG = "自动保存测试党支部"


def _stored(data_dir: Path) -> Any:
    from shuzhi.api import Workspace

    ws = Workspace.open(data_dir)
    sid = ws.store.latest_session_id()
    assert sid is not None, "nothing saved"
    return ws.open_session(sid)


def _type_and_wait(page: object, label: str, text: str) -> None:
    """Real keystrokes into a box, then 1.5 s without leaving it (no blur, no Enter)."""
    box = page.get_by_label(label, exact=True)  # type: ignore[attr-defined]
    box.click()
    box.press_sequentially(text, delay=20)
    page.wait_for_timeout(1500)  # type: ignore[attr-defined]  # the autosave commits ~600 ms after the last key


def test_typed_text_is_saved_without_leaving_the_box(indexed_dir: Path, browser: object,  # noqa: F811
                                                     tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    data_dir = _data_dir(indexed_dir, tmp_path_factory, "autosave-data")
    env = _base_env(data_dir)
    with _streamlit(env) as url:
        page = _new_page(browser)
        page.goto(url)
        _type_and_wait(page, "工作笔记", NOTES)
        assert _stored(data_dir).notes == NOTES  # in the store already, before any reload or blur
        page.reload()
        expect(page.get_by_label("工作笔记", exact=True)).to_have_value(NOTES, timeout=WAIT_MS)
        _settle(page)
        _type_and_wait(page, "单位", ORG)
        assert _stored(data_dir).meta.get("org") == ORG
        page.reload()
        expect(page.get_by_label("单位", exact=True)).to_have_value(ORG, timeout=WAIT_MS)
        expect(page.get_by_label("工作笔记", exact=True)).to_have_value(NOTES, timeout=WAIT_MS)
        page.close()
    with _streamlit(env) as url:  # the app restarted on the same data directory
        page = _new_page(browser)
        page.goto(url)
        expect(page.get_by_label("工作笔记", exact=True)).to_have_value(NOTES, timeout=WAIT_MS)
        expect(page.get_by_label("单位", exact=True)).to_have_value(ORG, timeout=WAIT_MS)
        _settle(page)
        _shot(page, tmp_path, "draft-after-restart")
        page.close()
