"""The key typed into 设置 stays in the browser session's memory: after a session that used it (测试连接, a
rewrite, a draft, a failed call), no file under the data folder, not the log, not the page address holds it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 180
KEY = "sk-PRIVATE-7f3kq9zx21-shuzhi-key"
WEAK_PROBLEMS = (REPO / "examples" / "weak_problems_1.md").read_text(encoding="utf-8")


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _every_file(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_the_session_key_is_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")  # this test's own data folder: a quick keyword index
    data_dir = Path(os.environ["SHUZHI_DATA_DIR"])
    with StubLLMServer() as stub:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
        at.switch_page("ui/settings.py").run(timeout=TIMEOUT)
        at.text_input(key="ms_base_url").set_value(stub.base_url)
        at.text_input(key="ms_model").set_value("stub-model")
        at.text_input(key="ms_api_key").set_value(KEY)
        _button(at, "应用").click().run(timeout=TIMEOUT)
        _button(at, "测试连接").click().run(timeout=TIMEOUT)
        assert any("连接成功" in s.value for s in at.success)

        at.switch_page("ui/rewrite.py").run(timeout=TIMEOUT)
        at.text_area(key="rewrite_text").set_value(WEAK_PROBLEMS)
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        assert not at.exception

        at.switch_page("ui/draft.py").run(timeout=TIMEOUT)
        _button(at, "载入示例笔记").click().run(timeout=TIMEOUT)
        _button(at, "生成提纲").click().run(timeout=TIMEOUT)
        _button(at, "生成初稿").click().run(timeout=TIMEOUT)
        assert not at.exception
        run = at.session_state["draft_run"] if "draft_run" in at.session_state else None
        if run is not None:  # the draft is written in a background thread: let it finish
            run.thread.join(TIMEOUT)
        at.run(timeout=TIMEOUT)
        assert stub.chat_count >= 3
        # The key was really used: every call to the model carried it.
        assert {r.headers.get("authorization") for r in stub.requests} == {f"Bearer {KEY}"}
    # The endpoint is gone: a failed call is logged and shown, the key with it in neither.
    at.switch_page("ui/settings.py").run(timeout=TIMEOUT)
    _button(at, "测试连接").click().run(timeout=TIMEOUT)
    assert any("连接失败" in e.value for e in at.error)

    files = _every_file(data_dir)  # SQLite's -wal/-journal side files, the index, the log: everything
    log = data_dir / "logs" / "shuzhi.log"
    assert log in files and (data_dir / "workspace.sqlite3") in files  # the session was saved and logged
    assert log.read_text(encoding="utf-8").strip()
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data, f"the key is in {path.relative_to(data_dir)}"
        assert KEY.encode("utf-16-le") not in data, f"the key is in {path.relative_to(data_dir)}"
    assert all(KEY not in str(v) for v in at.query_params.values())
    assert KEY not in " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.error, *at.success, *at.info))
    assert KEY not in str(at.text_input(key="ms_api_key").value)  # not even left in the box
