"""Saved sessions read back whole (notes, plan, sections), and a restored draft can retry its failed sections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer

from shuzhi.config import load_settings
from shuzhi.errors import ShuzhiError
from shuzhi.models import Plan, PlanSection, SectionDraft
from shuzhi.storage.sessions import SavedDraft, list_sessions, load_saved_draft, save_session

NOTES = "单位：机关第一党支部\n2024年\n- 全年集中学习24次\n- 发展党员2名\n问题：主题党日形式单一\n"
PLAN = Plan(
    title="机关第一党支部书记2024年度抓基层党建工作述职报告",
    year=2024,
    org="机关第一党支部",
    sections=(
        PlanSection(key="opening", kind="opening", heading="", level=0),
        PlanSection(key="achievements", kind="achievements", heading="主要做法和成效",
                    notes=("全年集中学习24次", "发展党员2名")),
        PlanSection(key="problems", kind="problems", heading="存在问题", notes=("主题党日形式单一",)),
        PlanSection(key="next_steps", kind="next_steps", heading="下一步打算", context=("主题党日形式单一",)),
    ),
)
SECTIONS = (
    SectionDraft(key="opening", kind="opening", heading="", text="一年来，支部扎实推进党建工作。"),
    SectionDraft(key="achievements", kind="achievements", heading="主要做法和成效",
                 text="全年集中学习24次，发展党员2名。", citations=("doc1#3", "doc2#7")),
    SectionDraft(key="problems", kind="problems", heading="存在问题", text="", error="模型接口返回错误（500）。",
                 complete=False),
    SectionDraft(key="next_steps", kind="next_steps", heading="下一步打算", text="丰富主题党日形式。"),
)


def _saved_payload() -> dict[str, Any]:
    path = save_session(NOTES, PLAN, SECTIONS, settings=load_settings())
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _write(tmp_path: Path, content: str, name: str = "20240101-000000-000000-draft.json") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_save_then_load_saved_draft_round_trips() -> None:
    path = save_session(NOTES, PLAN, SECTIONS, settings=load_settings())
    assert list_sessions(load_settings()) == [path]
    saved = load_saved_draft(path)
    assert isinstance(saved, SavedDraft)
    assert saved.path == path
    assert saved.notes_text == NOTES
    assert saved.plan == PLAN
    assert saved.sections == SECTIONS
    assert saved.saved_at[:4].isdigit()
    assert load_saved_draft(str(path)) == saved  # a str path works too


def test_notes_only_session_round_trips_with_no_sections() -> None:
    saved = load_saved_draft(save_session(NOTES, PLAN, [], settings=load_settings()))
    assert saved.sections == () and saved.plan == PLAN


@pytest.mark.parametrize("content", ["{\"notes\": \"- 发展党员2名\", \"plan\": {", "", "\x00\x01 not json"])
def test_corrupt_file_gets_a_chinese_error_naming_it(tmp_path: Path, content: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(path)
    assert path.name in caught.value.user_message
    assert "损坏" in caught.value.user_message


@pytest.mark.parametrize("payload", [[1, 2, 3], {"title": "别的程序的 JSON"}, "字符串", None])
def test_foreign_json_is_refused_in_chinese(tmp_path: Path, payload: object) -> None:
    path = _write(tmp_path, json.dumps(payload, ensure_ascii=False))
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(path)
    assert path.name in caught.value.user_message and "不是 shuzhi 保存的草稿" in caught.value.user_message


def test_missing_file_gets_a_chinese_error(tmp_path: Path) -> None:
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(tmp_path / "gone.json")
    assert "无法读取草稿文件 gone.json" in caught.value.user_message


def test_non_utf8_file_gets_a_chinese_error(tmp_path: Path) -> None:
    path = tmp_path / "gbk.json"
    path.write_bytes('{"notes": "发展党员"}'.encode("gbk"))
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(path)
    assert "gbk.json" in caught.value.user_message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda p: p["plan"]["sections"][1].update(kind="praise"), "类型「praise」无法识别"),
    (lambda p: p["plan"].update(sections=[]), "缺少 sections"),
    (lambda p: p["plan"].update(year="去年"), "year"),
    (lambda p: p.update(plan="不是提纲"), "缺少 sections"),
])
def test_bad_plan_gets_a_chinese_error(tmp_path: Path, change: Any, expected: str) -> None:
    payload = _saved_payload()
    change(payload)
    path = _write(tmp_path, json.dumps(payload, ensure_ascii=False))
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(path)
    message = caught.value.user_message
    assert f"草稿文件 {path.name} 中的提纲有误" in message and expected in message


@pytest.mark.parametrize(("change", "expected"), [
    (lambda p: p["sections"].__setitem__(0, "一段文字"), "第 1 节格式不对"),
    (lambda p: p["sections"][1].update(text=42), "第 2 节的 text 应为文字"),
    (lambda p: p["sections"][1].pop("key"), "第 2 节缺少 key"),
    (lambda p: p["sections"][2].update(extra="x"), "第 3 节有无法识别的字段：extra"),
    (lambda p: p["sections"][1].update(citations="doc1#3"), "citations 应为文字列表"),
    (lambda p: p["sections"][3].update(complete="yes"), "complete 应为 true 或 false"),
    (lambda p: p.update(sections={"opening": "…"}), "各节应为列表"),
    (lambda p: p.update(notes=["- 发展党员2名"]), "笔记应为文字"),
])
def test_bad_sections_get_a_chinese_error(tmp_path: Path, change: Any, expected: str) -> None:
    payload = _saved_payload()
    change(payload)
    path = _write(tmp_path, json.dumps(payload, ensure_ascii=False))
    with pytest.raises(ShuzhiError) as caught:
        load_saved_draft(path)
    assert path.name in caught.value.user_message and expected in caught.value.user_message


def test_restored_draft_retries_its_failed_section(llm_env: Any) -> None:
    """A restored result has no jobs; retry_failed rebuilds them from the plan and redoes only the failure."""
    from shuzhi.llm import ChatClient, resolve_llm_config
    from shuzhi.storage.sessions import load_session
    from shuzhi.writing.draft import DraftResult, retry_failed

    saved = load_saved_draft(save_session(NOTES, PLAN, SECTIONS, settings=load_settings()))
    result = DraftResult(saved.plan, jobs=(), sections=saved.sections, model_configured=True,
                         saved_to=str(saved.path))
    with StubLLMServer(responder=lambda body: "主题党日形式单一，吸引力不强。") as stub:
        llm_env(stub)
        config = resolve_llm_config(load_settings())
        assert config is not None
        new = retry_failed(result, ChatClient(config), load_settings())
        assert stub.chat_count == 1
        prompt = stub.chat_requests[0].body["messages"][-1]["content"]
    assert "主题党日形式单一" in prompt  # the rebuilt job carries the section's facts
    assert not new.failed
    assert [d.text for d in new.sections] == [SECTIONS[0].text, SECTIONS[1].text, "主题党日形式单一，吸引力不强。",
                                              SECTIONS[3].text]
    assert {j.section.key for j in new.jobs} >= {"achievements", "problems"}
    assert load_session(Path(new.saved_to))["notes"] == NOTES  # the retry is saved with the restored notes
