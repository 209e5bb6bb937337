"""Drafting control in the core: stop a run, retry notices, regenerate with a request, revise, restore,
citations with real titles, the skeleton without a model and the Word-like preview."""

from __future__ import annotations

import io
import re
import threading
from pathlib import Path
from typing import Any

import docx
import pytest
from llm_stub import StubLLMServer

from shuzhi.api import DraftEvents, Plan, PlanSection, ReviseAction, SectionDraft, VersionSource, Workspace

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "examples" / "notes_jiguan_2024.md"
LONG = "支部坚持以政治建设为统领，" * 12 + "各项工作取得新进展。"


def _prompt(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def _planned(ws: Workspace) -> tuple[str, Plan]:
    notes_text = NOTES.read_text(encoding="utf-8")
    plan = ws.plan(ws.parse_notes(notes_text))
    return ws.create_session(notes=notes_text, plan=plan), plan


def test_stop_keeps_finished_sections_and_marks_the_streaming_one_incomplete(
        use_built_index: Path, llm_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_MAX_CONCURRENCY", "1")
    with StubLLMServer(responder=lambda body: LONG, stream_chunk_chars=3) as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        stop = threading.Event()
        done: list[SectionDraft] = []

        def on_token(key: str, token: str) -> None:
            if len(done) >= 2:
                stop.set()

        outcome = ws.draft(plan, session_id=session_id,
                           events=DraftEvents(on_token=on_token, on_section_done=done.append, stop=stop))
        asked = stub.chat_count
    assert outcome.stopped and "已停止" in outcome.message
    assert len(outcome.sections) == 3 < len(outcome.jobs)
    assert asked == 3  # no section started after the stop
    finished, cut = outcome.sections[:2], outcome.sections[2]
    assert all(d.complete and not d.error and d.text for d in finished)
    assert cut.error == "已停止生成" and not cut.complete and cut.text and cut.text in LONG
    stored = ws.open_session(session_id)
    written = [s for s in stored.sections if s.versions]
    assert [s.key for s in written] == [d.key for d in outcome.sections]
    assert stored.section(cut.key).error == "已停止生成" and not stored.section(cut.key).complete  # type: ignore[union-attr]


def test_a_stopped_run_never_buries_a_finished_text(use_built_index: Path, llm_env: Any,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Drafting again over a written draft and stopping midway: the section cut short keeps its finished text."""
    monkeypatch.setenv("SHUZHI_MAX_CONCURRENCY", "1")
    with StubLLMServer(responder=lambda body: LONG, stream_chunk_chars=3) as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        first = ws.draft(plan, session_id=session_id)
        assert not first.failed
        stop = threading.Event()
        done: list[SectionDraft] = []

        def on_token(key: str, token: str) -> None:
            if done:
                stop.set()

        again = ws.draft(plan, session_id=session_id,
                         events=DraftEvents(on_token=on_token, on_section_done=done.append, stop=stop))
    assert again.stopped
    cut = again.sections[1]
    assert cut.error == "已停止生成"
    stored = ws.open_session(session_id).section(cut.key)
    assert stored is not None and stored.complete and not stored.error and stored.text  # still the finished text
    assert all(v.complete for v in stored.versions)  # the partial text was not recorded over it


def test_retry_notice_is_chinese(use_built_index: Path, llm_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_MAX_CONCURRENCY", "1")
    notices: list[tuple[str, int, float, str]] = []
    with StubLLMServer(faults=["500", "ok"]) as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        outcome = ws.draft(plan, session_id=session_id,
                           events=DraftEvents(on_retry=lambda *args: notices.append(args)))
    assert not outcome.failed
    assert len(notices) == 1
    key, attempt, wait, message = notices[0]
    assert key == outcome.sections[0].key and attempt == 1 and wait >= 0
    assert re.search(r"第1次重试，等待\d+秒", message)


def test_regenerate_with_a_request_puts_it_in_the_prompt(use_built_index: Path, llm_env: Any) -> None:
    with StubLLMServer() as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        key = ws.draft(plan, session_id=session_id).sections[1].key
        request = ws.regenerate_presets()["更简洁"]
        ws.regenerate_section(session_id, key, instruction=request)
        assert request in _prompt(stub.chat_requests[-1].body)
        ws.regenerate_section(session_id, key, instruction="多写一句党员的感受")
        assert "多写一句党员的感受" in _prompt(stub.chat_requests[-1].body)
    versions = ws.open_session(session_id).section(key).versions  # type: ignore[union-attr]
    assert [v.source for v in versions] == [VersionSource.GENERATED, VersionSource.REGENERATED,
                                            VersionSource.REGENERATED]


def test_revise_saves_a_revised_version_and_flags_a_dropped_figure(use_built_index: Path, llm_env: Any) -> None:
    def responder(body: dict[str, Any]) -> str:
        return "支部扎实开展理论学习，学习成效明显。" if "本节原文" in _prompt(body) else LONG

    with StubLLMServer(responder=responder) as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        key = ws.draft(plan, session_id=session_id).sections[1].key
        ws.save_section_edit(session_id, key, "全年集中学习24次，支部扎实开展理论学习。")
        revised = ws.revise_section(session_id, key, ReviseAction.POLISH, instruction="语气更平实")
        prompt = _prompt(stub.chat_requests[-1].body)
    assert "全年集中学习24次" in prompt and "语气更平实" in prompt and "润色" in prompt
    assert revised.dropped_figures == ("24次",)
    assert any("24次" in w for w in revised.warnings)
    section = ws.open_session(session_id).section(key)
    assert section is not None and section.latest is not None
    assert section.latest.source is VersionSource.REVISED and section.text == revised.text


def test_restore_brings_an_old_version_back_as_a_new_one(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "data")
    plan = Plan(title="述职报告", year=2024, org="某支部",
                sections=(PlanSection(key="opening", kind="opening", heading="", notes=("全年学习24次",)),))
    session_id = ws.create_session(plan=plan)
    ws.store.add_section_version(session_id, "opening", "opening", "", VersionSource.GENERATED, "第一稿。")
    ws.save_section_edit(session_id, "opening", "第二稿。")
    restored = ws.restore_section_version(session_id, "opening", 0)
    section = ws.open_session(session_id).section("opening")
    assert section is not None and restored.text == "第一稿。" == section.text
    assert [v.source for v in section.versions] == [VersionSource.GENERATED, VersionSource.EDITED,
                                                    VersionSource.RESTORED]
    ws.restore_section_version(session_id, "opening", 1)  # the undo itself can be undone
    assert ws.open_session(session_id).section("opening").text == "第二稿。"  # type: ignore[union-attr]


def test_citations_name_the_report_not_the_file(use_built_index: Path, llm_env: Any) -> None:
    with StubLLMServer() as stub:
        llm_env(stub)
        ws = Workspace.open()
        session_id, plan = _planned(ws)
        outcome = ws.draft(plan, session_id=session_id)
    ids = [c for d in outcome.sections for c in d.citations]
    assert ids
    cited = ws.citations(ids)
    assert [c.chunk_id for c in cited] == ids
    for citation in cited:
        assert citation.title and "述职" in citation.title
        assert not re.search(r"[0-9a-f]{12}|\.txt", citation.title)
        assert citation.text and citation.year


def test_skeleton_has_every_fact_and_exports(use_built_index: Path) -> None:
    ws = Workspace.open()
    plan = ws.plan(ws.parse_notes(NOTES.read_text(encoding="utf-8")))
    skeleton = ws.skeleton_markdown(plan)
    assert skeleton.startswith("# " + plan.title)
    assert "〔待写〕" in skeleton and "## 一、" in skeleton
    facts = [n for s in plan.sections for n in s.notes if n[:6].strip()]
    assert facts
    for fact in facts[:5]:
        assert fact[-8:].rstrip("。；;") in skeleton
    document = docx.Document(io.BytesIO(ws.export_docx(skeleton)))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "〔待写〕" in text and plan.title in text


def test_preview_is_escaped_and_self_contained(tmp_path: Path) -> None:
    ws = Workspace.open(tmp_path / "data")
    markdown = ("# 2024年述职报告\n\n全年学习24次<img src=x onerror=alert(1)>。\n\n## 一、主要做法\n\n"
                "### （一）强化理论武装\n\n![x](http://198.51.100.7/a.png)〔X〕人参加。\n")
    html = ws.preview_html(markdown)
    assert "全年学习24次&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<img" not in html and "<script" not in html.lower()
    assert "url(" not in html and "@import" not in html
    assert not re.search(r"<[^>]*(?:src|href)\s*=", html)  # the image link is text, never a tag
    assert "一、主要做法" in html and "（一）强化理论武装" in html
    assert "text-align:center" in html and "黑体" in html and "楷体" in html and "仿宋" in html
    assert "text-indent:2em" in html and "<mark>〔X〕</mark>" in html
