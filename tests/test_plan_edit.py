"""Outline edits as pure functions on a Plan (through the Workspace), and reading an uploaded notes file."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest

from shuzhi.api import EXAMPLES_DIR, InputRejected, Plan, ShuzhiError, Workspace

EXAMPLE = (EXAMPLES_DIR / "notes_jiguan_2024.md").read_text(encoding="utf-8")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace.open(tmp_path, embedder="none")


@pytest.fixture
def plan(ws: Workspace) -> Plan:
    return ws.plan(ws.parse_notes(EXAMPLE, classify=False))


def _keys(plan: Plan) -> list[str]:
    return [s.key for s in plan.sections]


def _section(plan: Plan, key: str):  # type: ignore[no-untyped-def]
    return next(s for s in plan.sections if s.key == key)


def test_add_a_section_and_a_sub_item_with_new_unique_keys(ws: Workspace, plan: Plan) -> None:
    added = ws.plan_add_section(plan, "problems", "另一方面的问题")
    new = [k for k in _keys(added) if k not in _keys(plan)]
    assert new == ["problems-2"]
    assert _keys(added)[-1] == "closing"  # placed before the closing, not after it
    sub = ws.plan_add_section(added, "achievements", "深化融合", sub_item=True, after="achievements.1")
    fresh = [k for k in _keys(sub) if k not in _keys(added)]
    assert len(fresh) == 1 and fresh[0].startswith("achievements.")
    assert _keys(sub).index(fresh[0]) == _keys(sub).index("achievements.1") + 1
    assert _section(sub, fresh[0]).level == 2 and _section(sub, fresh[0]).heading == "深化融合"
    with pytest.raises(ShuzhiError) as unknown:
        ws.plan_add_section(plan, "no_such_kind", "x")
    assert "没有" in unknown.value.user_message


def test_move_sections_up_and_down_among_their_siblings(ws: Workspace, plan: Plan) -> None:
    up = ws.plan_move_section(plan, "achievements.2", -1)
    assert _keys(up).index("achievements.2") < _keys(up).index("achievements.1")
    block = [k for k in _keys(plan) if k.startswith("achievements")]
    down = ws.plan_move_section(plan, "achievements", 1)  # the whole block, sub-items with it
    keys = _keys(down)
    assert keys[keys.index("achievements"):keys.index("achievements") + len(block)] == block
    assert keys.index("problems") < keys.index("achievements")
    assert ws.plan_move_section(plan, "opening", -1) == plan  # already first


def test_move_a_fact_records_the_user_as_the_reason(ws: Workspace, plan: Plan) -> None:
    line = _section(plan, "achievements.1").notes[0]
    moved = ws.plan_move_fact(plan, line, "achievements.1", "next_steps")
    assert line in _section(moved, "next_steps").notes and line not in _section(moved, "achievements.1").notes
    reason = moved.assignment_for(line, "next_steps")
    assert reason is not None and reason.by == "user" and "移到这里" in reason.why
    with pytest.raises(ShuzhiError):
        ws.plan_move_fact(moved, line, "achievements.1", "next_steps")  # no longer there


def test_removing_a_section_keeps_its_facts_restorable(ws: Workspace, plan: Plan) -> None:
    facts = _section(plan, "problems").notes
    removed = ws.plan_remove_section(plan, "problems")
    assert "problems" not in _keys(removed)
    assert all(f in removed.excluded for f in facts)
    assert "删去" in ws.excluded_reason(facts[0])
    back = ws.include_excluded(removed, facts[0], "next_steps")
    assert facts[0] in _section(back, "next_steps").notes and facts[0] not in back.excluded
    whole = ws.plan_remove_section(plan, "achievements")  # a section goes with its sub-items
    assert not any(k.startswith("achievements") for k in _keys(whole))


def test_edit_a_section_in_place(ws: Workspace, plan: Plan) -> None:
    edited = ws.plan_edit_section(plan, "problems", heading=" 存在的不足 ", notes=["问题一", "", " 新写的问题 "])
    section = _section(edited, "problems")
    assert section.heading == "存在的不足" and section.notes == ("问题一", "新写的问题")
    assert edited.assignment_for("新写的问题", "problems").by == "user"  # type: ignore[union-attr]


def test_uploaded_notes_are_read_from_docx_and_a_corrupt_file_is_explained(ws: Workspace) -> None:
    from docx import Document

    doc = Document()
    for line in ("单位：机关第二党支部", "- 全年集中学习24次", "- 发展党员2名"):
        doc.add_paragraph(line)
    buffer = BytesIO()
    doc.save(buffer)
    text = ws.read_notes_data("笔记.docx", buffer.getvalue())
    assert "发展党员2名" in text and "机关第二党支部" in text
    gbk = "\n".join(EXAMPLE.splitlines()[:12])  # a GBK file (as older Windows editors save) is detected
    assert ws.read_notes_data("../../etc/笔记.md", gbk.encode("gbk")).strip() == gbk.strip()
    with pytest.raises(InputRejected) as bad:
        ws.read_notes_data("坏文件.docx", b"PK\x03\x04 this is not a real word file")
    assert "坏文件.docx" in bad.value.user_message and any("\u4e00" <= c <= "\u9fff" for c in bad.value.user_message)
    with pytest.raises(InputRejected):
        ws.read_notes_data("图片.png", b"\x89PNG")


def test_plan_session_uses_the_form_and_keeps_a_copy(ws: Workspace) -> None:
    sid = ws.create_session(notes=EXAMPLE)
    ws.save_meta(sid, {"org": "区税务局机关党支部", "year": 2025, "role": "支部书记", "person": "赵某"})
    plan = ws.plan_session(sid)
    assert (plan.org, plan.year, plan.person) == ("区税务局机关党支部", 2025, "赵某")
    assert ws.open_session(sid).plan == plan
    ws.plan_session(sid, keep_copy_title="副本标题")
    assert any(s.title == "副本标题" for s in ws.list_sessions())
    assert ws.store.latest_session_id() == sid
    empty = ws.create_session(notes="   ")
    with pytest.raises(ShuzhiError) as failed:
        ws.plan_session(empty)
    assert "笔记" in failed.value.user_message
    assert ws.open_session(empty).notes == "   " and ws.open_session(empty).plan is None
