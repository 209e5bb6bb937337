"""The core API end to end: one Workspace behind the CLI and the app, sessions in the store, kills survived."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import DraftEvents, SectionDraft, VersionSource, Workspace, plan_from_json, plan_to_json

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "examples" / "notes_jiguan_2024.md"
APP = str(REPO / "app.py")
TIMEOUT = 120
ADDED_FACT = "开展志愿服务活动35次"  # typed into the outline by the user, not in the notes


def _facts(body: dict[str, Any]) -> list[str]:
    prompt = str(body["messages"][-1]["content"])
    block = prompt.split("本节事实", 1)[1].split("范文片段", 1)[0]
    return [ln[2:].strip() for ln in block.splitlines() if ln.startswith("- ") and not ln[2:].startswith("（")]


def echo_facts(body: dict[str, Any]) -> str:
    """A faithful model: each section says its facts and nothing else."""
    facts = _facts(body)
    return ("一是" + "；".join(facts) + "。") if facts else "以上是我的述职报告，请批评指正。"


def _invented(check: dict[str, Any]) -> set[str]:
    return {i["raw"] for i in check["invented"]}


# ------------------------------------------------------------------ the edited-plan fact, CLI and app alike
def test_a_fact_typed_into_the_plan_is_the_users_in_cli_and_app(use_built_index: Path, llm_env: Any,
                                                                tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan-only", "--json")
    assert code == 0
    plan = plan_from_json(stdout)
    target = next(s for s in plan.sections if s.key.startswith("achievements."))
    edited = plan_from_json(stdout.replace(json.dumps(target.notes[0], ensure_ascii=False),
                                           json.dumps(target.notes[0], ensure_ascii=False) + ", "
                                           + json.dumps(ADDED_FACT, ensure_ascii=False), 1))
    assert ADDED_FACT in next(s for s in edited.sections if s.key == target.key).notes
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan_to_json(edited), encoding="utf-8")

    with StubLLMServer(responder=echo_facts) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan", str(plan_file), "--json")
        assert code == 0
        cli = json.loads(stdout)
        assert ADDED_FACT in cli["markdown"]
        assert "35次" not in _invented(cli["check"]) and not cli["check"]["blocking"]

        # The same edit made in the app's outline editor.
        at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
        next(b for b in at.button if b.label == "新建").click().run(timeout=TIMEOUT)  # not the last test's session
        at.text_area(key="notes_text").set_value(NOTES.read_text(encoding="utf-8")).run(timeout=TIMEOUT)
        next(b for b in at.button if b.label == "生成提纲").click().run(timeout=TIMEOUT)
        box = next(t for t in at.text_area if t.key and t.key.startswith("ol-") and t.key.endswith(f"-n-{target.key}"))
        box.set_value(box.value + "\n" + ADDED_FACT).run(timeout=TIMEOUT)
        next(b for b in at.button if b.label == "生成初稿").click().run(timeout=TIMEOUT)
        assert not at.exception
        run = at.session_state["draft_run"] if "draft_run" in at.session_state else None
        if run is not None:  # the draft is written in a background thread; wait for it, then show the page
            run.thread.join(TIMEOUT)
        at.run(timeout=TIMEOUT)
    ws = Workspace.open()
    sid = at.session_state["session_id"]
    assert ADDED_FACT in ws.session_markdown(sid)
    check = ws.open_session(sid).check  # the page's check of the draft, kept with the session
    assert check is not None
    assert "35次" not in _invented(check) and not check["blocking"]  # the user's own fact is no invention
    assert not any("必须处理" in e.value for e in at.error)


# ------------------------------------------------------------------ the API itself
def test_workspace_drafts_saves_each_section_and_keeps_history(use_built_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=echo_facts) as stub:
        llm_env(stub)
        ws = Workspace.open()
        notes_text = NOTES.read_text(encoding="utf-8")
        plan = ws.plan(ws.parse_notes(notes_text))
        seen: list[str] = []

        def on_done(draft: SectionDraft) -> None:  # saved before the caller hears of it
            stored = {s.key for s in ws.open_session(outcome_id[0]).sections if s.versions} if outcome_id else set()
            seen.append(draft.key if not outcome_id or draft.key in stored else "unsaved")

        outcome_id: list[str] = []
        session_id = ws.create_session(notes=notes_text, plan=plan)
        outcome_id.append(session_id)
        outcome = ws.draft(plan, notes_text, session_id=session_id, events=DraftEvents(on_section_done=on_done))
        assert outcome.session_id == session_id and not outcome.failed
        assert "unsaved" not in seen and len(seen) == len(outcome.sections)
        key = outcome.sections[1].key
        ws.save_section_edit(session_id, key, "我改过的这一节。")
        ws.regenerate_section(session_id, key)
        ws.apply_rewrite(session_id, key, "改写后的这一节。")
    section = next(s for s in ws.open_session(session_id).sections if s.key == key)
    assert [v.source for v in section.versions] == [VersionSource.GENERATED, VersionSource.EDITED,
                                                    VersionSource.REGENERATED, VersionSource.REWRITTEN]
    assert section.text == "改写后的这一节。"
    assert "改写后的这一节。" in ws.session_markdown(session_id)


def test_sessions_commands(use_built_index: Path, llm_env: Any, capsys: pytest.CaptureFixture[str]) -> None:
    with StubLLMServer(responder=echo_facts) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--json")
    session_id = json.loads(stdout)["session_id"]
    code, stdout, _ = run_cli(capsys, "sessions", "--json")
    listed = json.loads(stdout)
    assert code == 0 and listed[0]["id"] == session_id and set(listed[0]) == {"id", "title", "genre", "updated"}
    code, stdout, _ = run_cli(capsys, "sessions", "show", session_id, "--json")
    shown = json.loads(stdout)
    assert set(shown) == {"id", "title", "genre", "notes", "plan", "sections"}
    assert shown["notes"] == NOTES.read_text(encoding="utf-8").strip() or shown["notes"]
    section = shown["sections"][0]
    assert set(section) == {"key", "kind", "heading", "text", "complete", "versions"}
    assert set(section["versions"][0]) == {"source", "text", "at"} and section["versions"][0]["source"] == "generated"
    assert run_cli(capsys, "sessions", "rename", session_id, "--title", "我的述职")[0] == 0
    code, stdout, _ = run_cli(capsys, "sessions", "--json")
    assert json.loads(stdout)[0]["title"] == "我的述职"
    assert run_cli(capsys, "sessions", "delete", session_id)[0] == 0
    code, _, stderr = run_cli(capsys, "sessions", "show", session_id)
    assert code == 2 and "找不到" in stderr


# ------------------------------------------------------------------ a killed draft
class _Gate:
    """Answers opening/achievements/problems at once; holds next steps and the closing until opened."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = str(body["messages"][-1]["content"])
        if ("下一步" in prompt.split("现在起草的部分：", 1)[-1][:20] or "结束语" in prompt.split("现在起草的部分：", 1)[-1][:20]) \
                and not self.open.is_set():
            self.open.wait(60)
        return echo_facts(body)


def test_a_killed_draft_keeps_finished_sections_and_retry_completes_it(built_index_dir: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(built_index_dir / "index", data_dir / "index")
    gate = _Gate()
    with StubLLMServer(responder=gate) as stub:
        env = {**os.environ, "SHUZHI_DATA_DIR": str(data_dir), "OPENAI_BASE_URL": stub.base_url,
               "OPENAI_API_KEY": "test-key-not-secret", "SHUZHI_MODEL": "stub-model", "SHUZHI_MAX_CONCURRENCY": "2",
               "PYTHONPATH": str(REPO / "src")}
        proc = subprocess.Popen([sys.executable, "-m", "shuzhi", "draft", str(NOTES), "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
        ws = Workspace.open(data_dir)
        try:
            deadline = time.monotonic() + 120
            finished: list[str] = []
            while time.monotonic() < deadline:
                sessions = ws.list_sessions() if (data_dir / "workspace.sqlite3").exists() else []
                if sessions:
                    finished = [s.key for s in ws.open_session(sessions[0].id).sections if s.versions]
                    if len(finished) >= 3 and stub.in_flight >= 1:
                        break
                time.sleep(0.2)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert len(finished) >= 3
        session_id = ws.list_sessions()[0].id
        stored = ws.open_session(session_id)
        done = [s for s in stored.sections if s.versions]
        assert {s.key for s in done} >= set(finished)
        assert all(s.text and s.complete for s in done)
        assert not any(s.key.startswith("next_steps") and s.versions for s in stored.sections)

        gate.open.set()
        monkeypatch.setenv("SHUZHI_DATA_DIR", str(data_dir))
        monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-secret")
        monkeypatch.setenv("SHUZHI_MODEL", "stub-model")
        asked_before = stub.chat_count
        code, stdout, _ = run_cli(capsys, "sessions", "retry", session_id, "--json")
        assert code == 0
        retried = json.loads(stdout)
        assert stub.chat_count - asked_before == len(retried["sections"]) - len(done)  # only what was missing
    kinds = [s["kind"] for s in retried["sections"]]
    assert "next_steps" in kinds and kinds[-1] == "closing"
    assert all(s["complete"] and not s["error"] for s in retried["sections"])
    code, stdout, _ = run_cli(capsys, "sessions", "show", session_id, "--json")
    written = [s for s in json.loads(stdout)["sections"] if s["versions"]]
    assert len(written) == len(retried["sections"]) and all(s["text"] and s["complete"] for s in written)
