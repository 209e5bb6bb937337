"""The workspace store: sessions, section versions and the legacy import, on real SQLite files."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from shuzhi.checks.ledger import LedgerEntry
from shuzhi.checks.report import CheckReport
from shuzhi.config import load_settings
from shuzhi.errors import ShuzhiError
from shuzhi.models import Finding, NotesMeta, Plan, PlanSection, SectionDraft
from shuzhi.storage import (
    LegacyImportReport,
    SectionVersion,
    SessionInfo,
    StoredSection,
    StoredSession,
    VersionSource,
    WorkspaceStore,
    section_drafts,
)
from shuzhi.writing.plan import plan_to_json

SRC = Path(__file__).resolve().parent.parent / "src"

NOTES = "单位：机关第一党支部\n2024年\n- 全年集中学习24次\n- 发展党员2名\n问题：主题党日形式单一\n"
PLAN = Plan(
    title="机关第一党支部书记2024年度抓基层党建工作述职报告",
    year=2024,
    org="机关第一党支部",
    sections=(
        PlanSection(key="opening", kind="opening", heading="", level=0),
        PlanSection(key="achievements.1", kind="achievements", heading="主要做法和成效",
                    notes=("全年集中学习24次", "发展党员2名")),
        PlanSection(key="problems", kind="problems", heading="存在问题", notes=("主题党日形式单一",)),
        PlanSection(key="next_steps", kind="next_steps", heading="下一步打算", context=("主题党日形式单一",)),
    ),
)
META = {"org": "机关第一党支部", "person": "张三", "role": "党支部书记", "year": 2024}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[WorkspaceStore]:
    with WorkspaceStore(tmp_path / "workspace.sqlite3") as opened:
        yield opened


def _session(store: WorkspaceStore, title: str = "2024年述职", plan: Plan | None = PLAN) -> str:
    return store.create_session(title, "shuzhi", notes=NOTES, meta=META, plan=plan)


@contextmanager
def _raises_zh(fragment: str) -> Iterator[None]:
    """A ShuzhiError whose Chinese message contains FRAGMENT."""
    with pytest.raises(ShuzhiError) as caught:
        yield
    assert fragment in caught.value.user_message, caught.value.user_message


def _section(session: StoredSession, key: str) -> StoredSection:
    section = session.section(key)
    assert section is not None, f"no section {key}"
    return section


def _sources(section: StoredSection) -> list[VersionSource]:
    return [v.source for v in section.versions]


# ---------------------------------------------------------------- sessions
def test_create_then_get_round_trips(store: WorkspaceStore) -> None:
    sid = _session(store)
    got = store.get_session(sid)
    assert isinstance(got, StoredSession)
    assert (got.id, got.title, got.genre, got.notes, got.meta) == (sid, "2024年述职", "shuzhi", NOTES, META)
    assert got.plan == PLAN
    assert [(s.key, s.kind, s.heading, s.position) for s in got.sections] == [
        ("opening", "opening", "", 0), ("achievements.1", "achievements", "主要做法和成效", 1),
        ("problems", "problems", "存在问题", 2), ("next_steps", "next_steps", "下一步打算", 3)]
    assert all(s.versions == () and s.text == "" and not s.complete for s in got.sections)
    assert got.check is None and got.check_at == ""
    assert got.created == got.updated and got.created[:4].isdigit()
    assert section_drafts(got) == ()


def test_session_defaults_and_ids(store: WorkspaceStore) -> None:
    first = store.create_session("", plan=PLAN)
    bare = store.create_session("")
    assert store.get_session(first).title == PLAN.title  # no title: the plan's
    got = store.get_session(bare)
    assert (got.title, got.genre, got.notes, got.meta, got.plan, got.sections) == ("未命名", "shuzhi", "", {}, None, ())
    assert first != bare and len(first) == len(bare) == 16 and first.isalnum()


def test_meta_from_notes_meta(store: WorkspaceStore) -> None:
    sid = store.create_session("t", meta=NotesMeta(org="机关第一党支部", year=2024, person="张三"))
    assert store.get_session(sid).meta == {"org": "机关第一党支部", "year": 2024, "person": "张三"}


def test_reopened_file_has_everything_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "workspace.sqlite3"
    with WorkspaceStore(path) as store:
        sid = _session(store)
        store.add_section_version(sid, "opening", "opening", "", VersionSource.GENERATED, "一年来……")
        before = store.get_session(sid)
    with WorkspaceStore(path) as store:
        assert store.get_session(sid) == before
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    finally:
        raw.close()


def test_list_sessions_newest_change_first(store: WorkspaceStore) -> None:
    assert store.list_sessions() == [] and store.latest_session_id() is None
    a, b, c = (_session(store, title) for title in ("甲", "乙", "丙"))
    assert [i.id for i in store.list_sessions()] == [c, b, a]
    store.add_section_version(a, "opening", "opening", "", "generated", "甲的开头。")
    assert [i.id for i in store.list_sessions()] == [a, c, b]
    store.rename_session(b, "乙（改）")
    infos = store.list_sessions()
    assert [i.id for i in infos] == [b, a, c] and store.latest_session_id() == b
    assert all(isinstance(i, SessionInfo) for i in infos)
    by_id = {i.id: i for i in infos}
    assert by_id[b].title == "乙（改）"
    assert by_id[a].preview == "甲的开头。"  # the first written section
    assert by_id[c].preview.startswith("单位：机关第一党支部 2024年")  # nothing written yet: the notes
    assert by_id[a].created <= by_id[a].updated


def test_preview_is_the_current_text_and_short(store: WorkspaceStore) -> None:
    sid = _session(store)
    store.add_section_version(sid, "problems", "problems", "存在问题", "generated", "问题" * 100)
    store.add_section_version(sid, "opening", "opening", "", "generated", "旧开头")
    store.add_section_version(sid, "opening", "opening", "", "regenerated", "", complete=False, error="失败")
    preview = store.list_sessions()[0].preview
    assert preview.startswith("问题问题") and preview.endswith("…") and len(preview) == 61


def test_rename_and_delete(tmp_path: Path, store: WorkspaceStore) -> None:
    keep, gone = _session(store, "留"), _session(store, "删")
    store.add_section_version(gone, "opening", "opening", "", "generated", "文字")
    store.save_check(gone, {"blocking": False})
    store.rename_session(keep, "  新标题  ")
    assert store.get_session(keep).title == "新标题"
    with _raises_zh("标题不能为空"):
        store.rename_session(keep, "   ")
    store.delete_session(gone)
    assert [i.id for i in store.list_sessions()] == [keep]
    with pytest.raises(ShuzhiError) as caught:
        store.get_session(gone)
    assert caught.value.user_message.startswith(f"找不到会话 {gone}")
    raw = sqlite3.connect(tmp_path / "workspace.sqlite3")
    try:  # sections and versions went with the session
        assert raw.execute("SELECT count(*) FROM versions WHERE session_id = ?", (gone,)).fetchone()[0] == 0
        assert raw.execute("SELECT count(*) FROM sections WHERE session_id = ?", (gone,)).fetchone()[0] == 0
    finally:
        raw.close()


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.get_session("nosuch"), id="get_session"),
    pytest.param(lambda s: s.rename_session("nosuch", "t"), id="rename_session"),
    pytest.param(lambda s: s.delete_session("nosuch"), id="delete_session"),
    pytest.param(lambda s: s.save_notes("nosuch", "n"), id="save_notes"),
    pytest.param(lambda s: s.save_plan("nosuch", PLAN), id="save_plan"),
    pytest.param(lambda s: s.save_check("nosuch", {}), id="save_check"),
    pytest.param(lambda s: s.add_section_version("nosuch", "opening", "opening", "", "generated", "t"),
                 id="add_section_version"),
    pytest.param(lambda s: s.save_section_edit("nosuch", "opening", "t"), id="save_section_edit"),
    pytest.param(lambda s: s.export_session("nosuch"), id="export_session"),
])
def test_unknown_session_is_a_chinese_error(store: WorkspaceStore, call: Callable[[WorkspaceStore], object]) -> None:
    _session(store)
    with pytest.raises(ShuzhiError) as caught:
        call(store)
    assert caught.value.user_message.startswith("找不到会话 nosuch")


def test_save_notes_and_meta(store: WorkspaceStore) -> None:
    sid = _session(store)
    other = _session(store, "后建")
    assert store.save_notes(sid, NOTES) is False  # unchanged: nothing written, the list order stays
    assert store.latest_session_id() == other
    assert store.save_notes(sid, NOTES + "- 新增一条\n") is True
    got = store.get_session(sid)
    assert got.notes.endswith("- 新增一条\n") and got.meta == META  # meta=None keeps the meta
    assert store.latest_session_id() == sid
    assert store.save_notes(sid, got.notes, meta={"org": "机关第二党支部"}) is True
    assert store.get_session(sid).meta == {"org": "机关第二党支部"}
    with _raises_zh("会话信息"):
        store.save_notes(sid, "n", meta={"year": object()})


def test_save_check_round_trips(store: WorkspaceStore) -> None:
    sid = _session(store)
    report = CheckReport(
        findings=(Finding(check="placeholder", severity="warn", message="草稿中有1处〔X〕待填写", section="opening"),),
        ledger=(LedgerEntry(figure_raw="24次", value=24.0, unit="次", note_line="全年集中学习24次", status="found"),),
        invented=(), blocking=False, summary_zh="检查发现1处建议修改。")
    store.save_check(sid, report.to_dict())
    got = store.get_session(sid)
    assert got.check == report.to_dict() and got.check_at[:4].isdigit()
    store.save_check(sid, {"findings": [], "ledger": [], "invented": [], "blocking": False, "summary_zh": "无"})
    assert store.get_session(sid).check == {"findings": [], "ledger": [], "invented": [], "blocking": False,
                                            "summary_zh": "无"}


# ---------------------------------------------------------------- section versions
def test_versions_in_order_with_sources(store: WorkspaceStore) -> None:
    sid = _session(store)
    first = store.add_section_version(sid, "achievements.1", "achievements", "主要做法和成效",
                                      VersionSource.GENERATED, "全年集中学习24次。", citations=["doc1#3", "doc2#7"])
    assert isinstance(first, SectionVersion) and first.source is VersionSource.GENERATED
    store.add_section_version(sid, "achievements.1", "achievements", "主要做法和成效", "regenerated", "全年集中",
                              complete=False, error="模型接口返回错误（500）。")
    store.add_section_version(sid, "achievements.1", "achievements", "主要做法和成效", "rewritten",
                              "全年开展集中学习24次。", citations=("doc3#1",))
    section = _section(store.get_session(sid), "achievements.1")
    assert _sources(section) == [VersionSource.GENERATED, VersionSource.REGENERATED, VersionSource.REWRITTEN]
    assert [v.text for v in section.versions] == ["全年集中学习24次。", "全年集中", "全年开展集中学习24次。"]
    assert section.versions[0].citations == ("doc1#3", "doc2#7")
    assert (section.versions[1].complete, section.versions[1].error) == (False, "模型接口返回错误（500）。")
    assert (section.text, section.complete, section.error, section.citations) == (
        "全年开展集中学习24次。", True, "", ("doc3#1",))
    assert section.versions == tuple(sorted(section.versions, key=lambda v: v.at))


def test_failed_latest_version_is_the_current_state(store: WorkspaceStore) -> None:
    sid = _session(store)
    store.add_section_draft(sid, SectionDraft(key="problems", kind="problems", heading="存在问题", text="",
                                              error="内容审核未通过。", complete=False))
    section = _section(store.get_session(sid), "problems")
    assert (section.text, section.complete, section.error) == ("", False, "内容审核未通过。")


def test_section_drafts_for_the_drafting_code(store: WorkspaceStore) -> None:
    sid = _session(store)
    drafts = (
        SectionDraft(key="opening", kind="opening", heading="", text="一年来，支部扎实推进党建工作。"),
        SectionDraft(key="achievements.1", kind="achievements", heading="主要做法和成效",
                     text="全年集中学习24次，发展党员2名。", citations=("doc1#3",)),
        SectionDraft(key="problems", kind="problems", heading="存在问题", text="", error="失败", complete=False),
    )
    for draft in reversed(drafts):  # written out of order: read back in plan order
        store.add_section_draft(sid, draft)
    assert section_drafts(store.get_session(sid)) == drafts  # next_steps has no version: not a draft


def test_edit_adds_a_version_only_when_the_text_changes(store: WorkspaceStore) -> None:
    sid = _session(store)
    store.add_section_version(sid, "opening", "opening", "", "generated", "一年来……", citations=["doc1#1"])
    later = _session(store, "后建")
    assert store.save_section_edit(sid, "opening", "一年来……") is None
    assert store.latest_session_id() == later  # nothing written
    edit = store.save_section_edit(sid, "opening", "一年来，我们……")
    assert edit is not None and edit.source is VersionSource.EDITED
    assert store.save_section_edit(sid, "opening", "一年来，我们……") is None
    section = _section(store.get_session(sid), "opening")
    assert _sources(section) == [VersionSource.GENERATED, VersionSource.EDITED]
    assert (section.text, section.complete, section.citations) == ("一年来，我们……", True, ("doc1#1",))
    assert store.save_section_edit(sid, "next_steps", "") is None  # an empty, never-written section
    assert store.save_section_edit(sid, "next_steps", "丰富主题党日形式。") is not None
    with _raises_zh("没有节 nosuch"):
        store.save_section_edit(sid, "nosuch", "文字")


def test_section_outside_the_plan_goes_last_and_known_ones_keep_the_plans_heading(store: WorkspaceStore) -> None:
    sid = _session(store)
    store.add_section_version(sid, "closing", "closing", "", "generated", "以上述职，请批评指正。")
    store.add_section_version(sid, "problems", "problems", "旧标题", "generated", "主题党日形式单一。")
    sections = store.get_session(sid).sections
    assert [(s.key, s.position) for s in sections][-1] == ("closing", 4)
    assert [s.heading for s in sections if s.key == "problems"] == ["存在问题"]
    bare = store.create_session("无提纲")
    for key in ("b", "a"):
        store.add_section_version(bare, key, "achievements", key, "generated", key)
    assert [s.key for s in store.get_session(bare).sections] == ["b", "a"]


def test_replacing_the_plan_keeps_surviving_sections(store: WorkspaceStore) -> None:
    sid = _session(store)
    for section in PLAN.sections:
        store.add_section_version(sid, section.key, section.kind, section.heading, "generated", f"{section.key}的文字")
    store.save_section_edit(sid, "problems", "problems的文字（改）")
    new_plan = Plan(title=PLAN.title, year=2024, org=PLAN.org, sections=(
        PLAN.sections[0],
        PlanSection(key="problems", kind="problems", heading="存在的不足", notes=("主题党日形式单一",)),
        PlanSection(key="achievements.2", kind="achievements", heading="创新做法"),
        PLAN.sections[1],
    ))
    store.save_plan(sid, new_plan)
    got = store.get_session(sid)
    assert got.plan == new_plan
    assert [(s.key, s.heading, s.position) for s in got.sections] == [
        ("opening", "", 0), ("problems", "存在的不足", 1), ("achievements.2", "创新做法", 2),
        ("achievements.1", "主要做法和成效", 3)]
    problems = _section(got, "problems")
    assert _sources(problems) == [VersionSource.GENERATED, VersionSource.EDITED]
    assert problems.text == "problems的文字（改）"
    assert _section(got, "achievements.2").versions == ()
    assert got.section("next_steps") is None  # left the plan
    store.save_plan(sid, PLAN)  # next_steps comes back, empty
    back = _section(store.get_session(sid), "next_steps")
    assert back.versions == ()


def test_plan_with_duplicate_keys_is_refused(store: WorkspaceStore) -> None:
    sid = _session(store)
    twice = Plan(title="t", year=None, org="", sections=(PLAN.sections[0], PLAN.sections[0]))
    with _raises_zh("重复的节：opening"):
        store.save_plan(sid, twice)
    assert store.get_session(sid).plan == PLAN


# ---------------------------------------------------------------- export
def test_export_session_shape(store: WorkspaceStore) -> None:
    sid = _session(store)
    store.add_section_version(sid, "opening", "opening", "", "generated", "一年来……")
    store.save_section_edit(sid, "opening", "一年来，我们……")
    store.add_section_version(sid, "problems", "problems", "存在问题", "generated", "", complete=False, error="失败")
    exported = store.export_session(sid)
    assert json.loads(json.dumps(exported, ensure_ascii=False)) == exported  # plain JSON data
    assert list(exported) == ["id", "title", "genre", "notes", "plan", "sections"]
    assert (exported["id"], exported["title"], exported["genre"], exported["notes"]) == (sid, "2024年述职", "shuzhi",
                                                                                         NOTES)
    assert exported["plan"] == json.loads(plan_to_json(PLAN))
    assert [list(s) for s in exported["sections"]] == [["key", "kind", "heading", "text", "complete", "versions"]] * 4
    opening, _, problems, next_steps = exported["sections"]
    assert {k: opening[k] for k in ("key", "kind", "heading", "text", "complete")} == {
        "key": "opening", "kind": "opening", "heading": "", "text": "一年来，我们……", "complete": True}
    assert [list(v) for v in opening["versions"]] == [["source", "text", "at"]] * 2
    assert [(v["source"], v["text"]) for v in opening["versions"]] == [("generated", "一年来……"),
                                                                         ("edited", "一年来，我们……")]
    assert (problems["text"], problems["complete"]) == ("", False)
    assert (next_steps["versions"], next_steps["complete"]) == ([], False)
    assert store.export_session(store.create_session("无提纲"))["plan"] is None


# ---------------------------------------------------------------- legacy import
def _legacy_payload(saved_at: str, title: str, text: str) -> dict[str, Any]:
    return {"saved_at": saved_at, "notes": f"{title}的笔记", "plan": json.loads(plan_to_json(Plan(
        title=title, year=2023, org="机关第二党支部", sections=(PLAN.sections[0], PLAN.sections[2])))),
        "sections": [{"key": "opening", "kind": "opening", "heading": "", "text": text, "citations": ["d#1"]},
                     {"key": "problems", "kind": "problems", "heading": "存在问题", "text": "", "error": "失败",
                      "complete": False},
                     {"key": "extra", "kind": "closing", "heading": "", "text": "以上述职。"}]}


def _write_legacy(folder: Path, notes: str, plan: Plan, drafts: tuple[SectionDraft, ...]) -> Path:
    """A session file exactly as the JSON history of shuzhi 0.1 wrote it (drafts/<stamp>-draft.json)."""
    from dataclasses import asdict

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "20240101-120000-000000-draft.json"
    payload = {"saved_at": "2024-01-01T12:00:00", "notes": notes, "plan": asdict(plan),
               "sections": [asdict(d) for d in drafts]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


def test_legacy_drafts_are_imported_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    settings = load_settings()
    drafts = (SectionDraft(key="opening", kind="opening", heading="", text="一年来，支部扎实推进党建工作。"),
              SectionDraft(key="achievements.1", kind="achievements", heading="主要做法和成效",
                           text="全年集中学习24次。", citations=("doc1#3",)))
    legacy = settings.drafts_dir
    real = _write_legacy(legacy, NOTES, PLAN, drafts)  # the format the old code really wrote
    older = legacy / "20230101-090000-000000-draft.json"
    older.write_text(json.dumps(_legacy_payload("2023-01-01T09:00:00", "旧报告", "旧开头"), ensure_ascii=False),
                     encoding="utf-8")
    (legacy / "20230202-000000-000000-draft.json").write_text('{"notes": "半截', encoding="utf-8")
    bad_section = _legacy_payload("2023-03-03T00:00:00", "坏节", "x")
    bad_section["sections"][0]["text"] = 5
    (legacy / "20230303-000000-000000-draft.json").write_text(json.dumps(bad_section), encoding="utf-8")
    path = tmp_path / "workspace.sqlite3"

    with caplog.at_level(logging.WARNING, logger="shuzhi.storage.store"), WorkspaceStore(path, legacy) as store:
        report = store.legacy_import
        assert isinstance(report, LegacyImportReport) and report == store.legacy_import_report()
        assert [f.name for f in report.imported] == [older.name, real.name]
        assert [f.name for f in report.skipped] == ["20230202-000000-000000-draft.json",
                                                    "20230303-000000-000000-draft.json"]
        assert "已损坏" in report.skipped[0].message and "第 1 节的 text 应为文字" in report.skipped[1].message
        assert "20230202-000000-000000-draft.json" in caplog.text
        infos = store.list_sessions()
        assert [i.title for i in infos] == [PLAN.title, "旧报告"]  # newest first
        old = store.get_session(report.imported[0].session_id)
        assert (old.notes, old.genre, old.meta) == ("旧报告的笔记", "shuzhi", {"org": "机关第二党支部", "year": 2023})
        assert old.created == old.updated == "2023-01-01T09:00:00"
        assert [(s.key, s.position) for s in old.sections] == [("opening", 0), ("problems", 1), ("extra", 2)]
        assert all(_sources(s) == [VersionSource.IMPORTED] for s in old.sections)
        opening = _section(old, "opening")
        assert (opening.text, opening.citations, opening.versions[0].at) == (
            "旧开头", ("d#1",), "2023-01-01T09:00:00")
        problems = _section(old, "problems")
        assert (problems.complete, problems.error) == (False, "失败")
        new = store.get_session(report.imported[1].session_id)
        assert (new.notes, new.plan) == (NOTES, PLAN)
        assert section_drafts(new) == drafts

    (legacy / "20990101-000000-000000-draft.json").write_text(
        json.dumps(_legacy_payload("2099-01-01T00:00:00", "后来的", "t")), encoding="utf-8")
    with WorkspaceStore(path, legacy) as again:
        assert again.legacy_import == report
        assert len(again.list_sessions()) == 2  # never imported twice, nor later files


def test_legacy_import_without_a_folder_is_recorded(tmp_path: Path) -> None:
    with WorkspaceStore(tmp_path / "w.sqlite3") as store:
        assert store.legacy_import is None and store.legacy_import_report() is None
    with WorkspaceStore(tmp_path / "w.sqlite3", legacy_dir=tmp_path / "missing") as store:
        assert store.legacy_import is not None and store.legacy_import.imported == ()
        assert store.list_sessions() == []


# ---------------------------------------------------------------- damaged files
def _foreign_db(path: Path) -> None:
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE accounts (id INTEGER)")
    raw.commit()
    raw.close()


def _newer_db(path: Path) -> None:
    with WorkspaceStore(path):
        pass
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA user_version = 99")
    raw.close()


def _truncated_db(path: Path) -> None:
    with WorkspaceStore(path) as store:
        for n in range(20):
            store.create_session(f"会话{n}", notes="笔记" * 500)
    path.write_bytes(path.read_bytes()[:5000])


@pytest.mark.parametrize(("make", "message"), [
    pytest.param(lambda p: p.write_bytes(b"not a database at all " * 100), "已损坏", id="garbage"),
    pytest.param(lambda p: p.write_bytes(b"{}"), "已损坏", id="tiny-file"),
    pytest.param(_truncated_db, "已损坏", id="truncated"),
    pytest.param(_foreign_db, "不是 shuzhi 的工作区数据库", id="other-application"),
    pytest.param(_newer_db, "更新版本", id="newer-schema"),
])
def test_damaged_database_is_a_chinese_error_and_left_alone(tmp_path: Path, make: Callable[[Path], None],
                                                             message: str) -> None:
    path = tmp_path / "workspace.sqlite3"
    make(path)
    before = path.read_bytes()
    with pytest.raises(ShuzhiError) as caught:
        WorkspaceStore(path, legacy_dir=tmp_path / "drafts")
    assert message in caught.value.user_message and str(path) in caught.value.user_message
    assert path.read_bytes() == before


def test_database_path_that_is_a_folder(tmp_path: Path) -> None:
    with _raises_zh("是一个文件夹"):
        WorkspaceStore(tmp_path)


# ---------------------------------------------------------------- concurrency and crashes
def test_threads_writing_at_once(store: WorkspaceStore) -> None:
    sid = _session(store)
    threads_n, versions_n = 8, 25
    barrier = threading.Barrier(threads_n)
    errors: list[BaseException] = []
    created: list[str] = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            for i in range(versions_n):
                store.add_section_version(sid, f"part.{n}", "achievements", f"第{n}部分", "generated", f"{n}-{i}")
                store.save_section_edit(sid, f"part.{n}", f"{n}-{i} 改")
            created.append(store.create_session(f"线程{n}"))
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads_n)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    got = store.get_session(sid)
    for n in range(threads_n):
        section = _section(got, f"part.{n}")
        assert [v.text for v in section.versions] == [t for i in range(versions_n) for t in (f"{n}-{i}", f"{n}-{i} 改")]
    assert len(store.list_sessions()) == threads_n + 1 and len(set(created)) == threads_n


def _child(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


_WRITER = """
import sys
from shuzhi.storage import WorkspaceStore
store = WorkspaceStore(sys.argv[1])
print("open", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    store.add_section_version(sys.argv[2], "child", "achievements", "子进程", "generated", f"child-{i}")
store.close()
print("done", flush=True)
"""


def test_two_processes_writing_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "workspace.sqlite3"
    with WorkspaceStore(path) as store:
        sid = _session(store)
        child = _child(_WRITER, str(path), sid, "60")
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().strip() == "open", child.stderr.read() if child.stderr else ""
        child.stdin.write("go\n")
        child.stdin.flush()
        for i in range(60):
            store.add_section_version(sid, "parent", "achievements", "父进程", "generated", f"parent-{i}")
        out, err = child.communicate()
        assert child.returncode == 0 and out.strip() == "done", err
        got = store.get_session(sid)
    assert [v.text for v in _section(got, "parent").versions] == [f"parent-{i}" for i in range(60)]
    assert [v.text for v in _section(got, "child").versions] == [f"child-{i}" for i in range(60)]


_KILLED = """
import sqlite3, sys, time
from shuzhi.storage import WorkspaceStore
path, sid, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = WorkspaceStore(path)
for i in range(n):
    store.add_section_version(sid, "opening", "opening", "", "generated" if i == 0 else "regenerated", f"v{i}")
    store.save_section_edit(sid, "opening", f"v{i} 改")
# a write under way when the process dies: never committed
half = sqlite3.connect(path, isolation_level=None)
half.execute("BEGIN IMMEDIATE")
half.execute("UPDATE sessions SET title = 'half-written' WHERE id = ?", (sid,))
print("written", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_writer_leaves_every_committed_version(tmp_path: Path) -> None:
    path = tmp_path / "workspace.sqlite3"
    with WorkspaceStore(path) as store:
        sid = _session(store)
    child = _child(_KILLED, str(path), sid, "30")
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "written", child.stderr.read() if child.stderr else ""
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    with WorkspaceStore(path) as reopened:
        got = reopened.get_session(sid)
        assert got.title == "2024年述职"  # the uncommitted write is gone
        section = _section(got, "opening")
        assert [v.text for v in section.versions] == [t for i in range(30) for t in (f"v{i}", f"v{i} 改")]
        assert _sources(section)[:3] == [VersionSource.GENERATED, VersionSource.EDITED, VersionSource.REGENERATED]
        reopened.save_section_edit(sid, "opening", "之后还能写")  # the dead writer's lock is gone
        assert _section(reopened.get_session(sid), "opening").text == "之后还能写"


def test_duplicate_copies_every_version_and_meta_merges(tmp_path: Path) -> None:
    from shuzhi.storage import WorkspaceStore

    store = WorkspaceStore(tmp_path / "ws.sqlite3")
    sid = store.create_session("原稿", notes="- 发展党员2名", meta={"org": "某支部", "year": 2024})
    store.add_section_version(sid, "opening", "opening", "", "generated", "第一稿")
    store.save_section_edit(sid, "opening", "改过的第一稿")
    assert store.save_meta(sid, {"person": "张三", "year": None}) is True
    assert store.save_meta(sid, {"person": "张三"}) is False  # unchanged: nothing written
    copy = store.duplicate_session(sid)
    original, dup = store.get_session(sid), store.get_session(copy)
    assert dup.title == "原稿（副本）" and dup.notes == original.notes
    assert dup.meta == {"org": "某支部", "person": "张三"}
    assert [v.text for v in dup.sections[0].versions] == ["第一稿", "改过的第一稿"]
    assert store.latest_session_id() == copy
    store.save_section_edit(copy, "opening", "只改副本")
    assert store.get_session(sid).sections[0].text == "改过的第一稿"  # the copy is independent
