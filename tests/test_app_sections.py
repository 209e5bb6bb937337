"""The draft as sections in the app (ui/sections.py through a small harness page): edit, restore,
regenerate one section, generate with the background run, and the skeleton without a model."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import VersionSource, Workspace

REPO = Path(__file__).resolve().parent.parent
HARNESS = str(Path(__file__).resolve().parent / "app_sections_harness.py")
NOTES = REPO / "examples" / "notes_jiguan_2024.md"
TIMEOUT = 120
HOSTILE = "一年来支部扎实推进各项工作。![x](http://198.51.100.7/a.png)<img src=http://198.51.100.7/b.png>"


def _session(ws: Workspace, drafted: bool = True) -> tuple[str, list[str]]:
    notes = NOTES.read_text(encoding="utf-8")
    plan = ws.plan(ws.parse_notes(notes))
    sid = ws.create_session(notes=notes, plan=plan)
    keys = [s.key for s in ws.drafted_sections(plan)]
    if drafted:
        for section in ws.drafted_sections(plan):
            ws.store.add_section_version(sid, section.key, section.kind, section.heading, VersionSource.GENERATED,
                                         f"第一稿：{section.key}。")
    return sid, keys


def _app(sid: str) -> AppTest:
    at = AppTest.from_file(HARNESS, default_timeout=TIMEOUT)
    at.session_state["session_id"] = sid
    return at.run(timeout=TIMEOUT)


def _finish_run(at: AppTest) -> AppTest:
    """Wait for the background run the last click started (its thread), then rerun the page."""
    run = at.session_state["draft_run"]
    run.thread.join(TIMEOUT)
    assert run.finished
    return at.run(timeout=TIMEOUT)


def _editor(at: AppTest, sid: str, key: str) -> Any:
    return next(t for t in at.text_area if t.key and t.key.startswith(f"sec-{sid}-{key}-"))


def test_editing_a_section_saves_an_edited_version(use_built_index: Path) -> None:
    ws = Workspace.open()
    sid, keys = _session(ws)
    at = _app(sid)
    assert not at.exception
    _editor(at, sid, keys[1]).set_value("我改过的这一节，全年集中学习24次。").run(timeout=TIMEOUT)
    assert not at.exception
    section = ws.open_session(sid).section(keys[1])
    assert section is not None and section.latest is not None
    assert section.latest.source is VersionSource.EDITED and section.text == "我改过的这一节，全年集中学习24次。"
    assert at.session_state["current_section"] == keys[1]
    assert _editor(at, sid, keys[1]).value == "我改过的这一节，全年集中学习24次。"  # the new version's editor
    assert any("已修改" in str(m.value) for m in at.markdown)


def test_restoring_an_old_version(use_built_index: Path) -> None:
    ws = Workspace.open()
    sid, keys = _session(ws)
    ws.save_section_edit(sid, keys[0], "第二稿。")
    at = _app(sid)
    next(b for b in at.button if b.key == f"restore-{keys[0]}-0-2").click().run(timeout=TIMEOUT)
    assert not at.exception
    section = ws.open_session(sid).section(keys[0])
    assert section is not None and section.latest is not None
    assert section.latest.source is VersionSource.RESTORED and section.text == f"第一稿：{keys[0]}。"
    assert _editor(at, sid, keys[0]).value == section.text


def test_regenerating_one_section_with_a_request(use_built_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: "重新写的这一节。") as stub:
        llm_env(stub)
        ws = Workspace.open()
        sid, keys = _session(ws)
        at = _app(sid)
        at.selectbox(key=f"preset-{keys[2]}").set_value("更具体").run(timeout=TIMEOUT)
        next(b for b in at.button if b.key == f"regen-{keys[2]}").click().run(timeout=TIMEOUT)
        at = _finish_run(at)
        prompt = str(stub.chat_requests[-1].body["messages"][-1]["content"])
    assert not at.exception
    assert ws.regenerate_presets()["更具体"] in prompt and stub.chat_count == 1
    section = ws.open_session(sid).section(keys[2])
    assert section is not None and section.text == "重新写的这一节。"
    assert section.latest is not None and section.latest.source is VersionSource.REGENERATED
    assert _editor(at, sid, keys[2]).value == "重新写的这一节。"
    assert any("已重新生成" in s.value for s in at.success)


def test_generate_asks_first_when_text_exists_and_shows_model_text_escaped(use_built_index: Path,
                                                                         llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: HOSTILE) as stub:
        llm_env(stub)
        ws = Workspace.open()
        sid, keys = _session(ws)
        at = _app(sid)
        next(b for b in at.button if b.label == "生成初稿").click().run(timeout=TIMEOUT)
        assert stub.chat_count == 0  # asked first
        assert any("现有正文保留在各节的历史版本中" in w.value for w in at.warning)
        next(b for b in at.button if b.label == "确定重新生成").click().run(timeout=TIMEOUT)
        at = _finish_run(at)
    assert not at.exception
    stored = ws.open_session(sid)
    written = [stored.section(k) for k in keys]
    assert all(s is not None and s.complete and "<img src=http://198.51.100.7/b.png>" in s.text for s in written)
    assert [v.source for v in stored.section(keys[0]).versions] == [VersionSource.GENERATED] * 2  # type: ignore[union-attr]
    assert any("初稿已生成" in s.value for s in at.success)
    for element in [*at.markdown, *at.caption]:
        assert "](http" not in str(element.value) and "<img" not in str(element.value)


def test_without_a_model_the_skeleton_downloads(use_built_index: Path) -> None:
    ws = Workspace.open()
    sid, _ = _session(ws, drafted=False)
    at = _app(sid)
    assert not at.exception
    assert not any(b.label == "生成初稿" for b in at.button)
    assert any("生成正文需要先在“设置”页配置模型" in i.value for i in at.info)
    assert any("提纲稿" in c.value for c in at.caption)
    revise = [b for b in at.button if b.label in ("润色", "扩写", "缩写")]
    assert revise and all(b.disabled for b in revise)
    downloads = at.get("download_button")
    assert len(downloads) == 2


class _HoldSecond:
    """Answers the first section at once; holds the second until released (it signals when it arrived)."""

    def __init__(self) -> None:
        self.calls = 0
        self.second_arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, body: dict[str, Any]) -> str:
        self.calls += 1
        if self.calls == 2:
            self.second_arrived.set()
            self.release.wait(TIMEOUT)
        return "支部坚持以政治建设为统领，扎实推进各项工作。" * 3


def test_stop_during_a_run_keeps_the_finished_sections(use_built_index: Path, llm_env: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_MAX_CONCURRENCY", "1")
    hold = _HoldSecond()
    with StubLLMServer(responder=hold) as stub:
        llm_env(stub)
        ws = Workspace.open()
        sid, keys = _session(ws, drafted=False)
        at = _app(sid)
        next(b for b in at.button if b.label == "生成初稿").click().run(timeout=TIMEOUT)
        assert hold.second_arrived.wait(TIMEOUT)
        at.run(timeout=TIMEOUT)  # the live panel: progress and the stop button
        assert any("已完成 1/" in str(p.proto.text) for p in at.get("progress"))
        next(b for b in at.button if b.label == "停止").click().run(timeout=TIMEOUT)
        hold.release.set()
        at = _finish_run(at)
        asked = stub.chat_count
    assert not at.exception and asked == 2
    stored = ws.open_session(sid)
    first, second = stored.section(keys[0]), stored.section(keys[1])
    assert first is not None and first.complete and first.text
    assert second is not None and second.error == "已停止生成" and not second.complete
    assert all(stored.section(k) is None or not stored.section(k).versions for k in keys[2:])  # type: ignore[union-attr]
    assert any("已停止生成" in w.value for w in at.warning)
    assert any("未完成 ✗ 已停止生成" in str(m.value) for m in at.markdown)
