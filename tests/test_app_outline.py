"""The drafting page as a workplace (AppTest): everything typed is in the store at once, a fresh app lands
in the last session, a new outline over written text asks and keeps a copy, the outline is edited in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from shuzhi.api import EXAMPLES_DIR, Plan, PlanSection, VersionSource, Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120
EXAMPLE = (EXAMPLES_DIR / "notes_jiguan_2024.md").read_text(encoding="utf-8")


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _latest() -> Any:
    ws = Workspace.open()
    sid = ws.store.latest_session_id()
    assert sid is not None
    return ws.open_session(sid)


def _planned(at: AppTest) -> Any:
    at.text_area(key="notes_text").set_value(EXAMPLE).run(timeout=TIMEOUT)
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    assert not at.exception
    session = _latest()
    assert session.plan is not None
    return session


def test_typed_notes_are_stored_and_a_fresh_app_lands_in_them(own_index: Path) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value("单位：机关第三党支部\n- 发展党员3名").run(timeout=TIMEOUT)
    assert not at.exception
    session = _latest()
    assert session.notes == "单位：机关第三党支部\n- 发展党员3名"
    assert session.meta.get("org") == "机关第三党支部"  # the empty 单位 field took what the notes say
    again = _app()  # F5 / a restart: a new browser session on the same data directory
    assert again.text_area(key="notes_text").value == "单位：机关第三党支部\n- 发展党员3名"
    assert again.text_input(key="meta_org").value == "机关第三党支部"


def test_meta_fields_and_genre_are_saved_and_feed_the_plan(own_index: Path) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value(EXAMPLE).run(timeout=TIMEOUT)
    at.text_input(key="meta_org").set_value("区财政局机关党支部").run(timeout=TIMEOUT)
    at.text_input(key="meta_person").set_value("李某").run(timeout=TIMEOUT)
    at.number_input(key="meta_year").set_value(2025).run(timeout=TIMEOUT)
    assert not at.exception
    meta = _latest().meta
    assert meta["org"] == "区财政局机关党支部" and meta["person"] == "李某" and meta["year"] == 2025
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    plan = _latest().plan
    assert plan.org == "区财政局机关党支部" and plan.person == "李某" and plan.year == 2025
    assert "区财政局机关党支部" in plan.title and "2025" in plan.title
    assert at.text_input(key=f"ol-{_latest().id}-title-").value == plan.title
    other = next(g.name for g in Workspace.open().genres() if not g.error and g.name != _latest().genre)
    at.selectbox(key="draft_genre").set_value(other).run(timeout=TIMEOUT)
    assert not at.exception
    assert _latest().genre == other


def test_new_outline_over_written_text_asks_and_keeps_a_copy(own_index: Path) -> None:
    ws = Workspace.open()
    plan = Plan(title="旧提纲", year=2024, org="机关第一党支部", sections=(
        PlanSection(key="achievements", kind="achievements", heading="主要做法和成效", notes=("发展党员7名",)),
        PlanSection(key="problems", kind="problems", heading="存在问题", notes=("主题党日形式单一",)),
    ))
    sid = ws.create_session(title="旧会话", notes=EXAMPLE, plan=plan)
    ws.store.add_section_version(sid, "achievements", "achievements", "主要做法和成效", VersionSource.GENERATED,
                                 "全年发展党员7名，这是已写的正文。")
    at = _app()
    assert at.text_area(key="notes_text").value == EXAMPLE  # landed in the last session
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    assert any("已写的正文保存在原会话的副本中" in w.value for w in at.warning)
    assert ws.open_session(sid).plan.title == "旧提纲"  # nothing replaced before the answer
    _button(at, "确认重新生成提纲").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert ws.open_session(sid).plan.title != "旧提纲"
    copy = next(s for s in ws.list_sessions() if s.title == "旧会话（重新生成提纲前）")
    kept = ws.open_session(copy.id)
    assert kept.plan.title == "旧提纲" and kept.section("achievements").text == "全年发展党员7名，这是已写的正文。"
    assert ws.store.latest_session_id() == sid  # the next visit lands in the session worked on, not the copy
    assert any("重新生成提纲前" in s.value for s in at.success)


def test_outline_edits_are_saved_at_once(own_index: Path) -> None:
    at = _app()
    session = _planned(at)
    sid, plan = session.id, session.plan
    keys = [s.key for s in plan.sections]
    outline = [e for e in at.expander if any(s.heading and s.heading in e.label for s in plan.sections)
               and "预览" not in e.label]
    assert outline and all(e.proto.expanded for e in outline)  # the outline's sections start open
    # reorder: the second sub-item up
    at.button(key=f"ol-{sid}-up-achievements.2").click().run(timeout=TIMEOUT)
    keys_now = [s.key for s in _latest().plan.sections]
    assert keys_now.index("achievements.2") < keys_now.index("achievements.1")
    # edit a section's facts in place
    at.text_area(key=f"ol-{sid}-n-problems").set_value("主题党日形式单一\n新增一条问题：台账不规范").run(timeout=TIMEOUT)
    problems = next(s for s in _latest().plan.sections if s.key == "problems")
    assert problems.notes == ("主题党日形式单一", "新增一条问题：台账不规范")
    # move a fact without retyping it
    line = next(s for s in plan.sections if s.key == "achievements.1").notes[0]
    at.selectbox(key=f"ol-{sid}-mvl-achievements.1").set_value(line)
    at.selectbox(key=f"ol-{sid}-mvt-achievements.1").set_value("achievements.3")
    at.button(key=f"ol-{sid}-mvgo-achievements.1").click().run(timeout=TIMEOUT)
    moved = _latest().plan
    assert line in next(s for s in moved.sections if s.key == "achievements.3").notes
    assert line not in next(s for s in moved.sections if s.key == "achievements.1").notes
    assert moved.assignment_for(line, "achievements.3").by == "user"
    # add a sub-item after achievements.1
    at.selectbox(key=f"ol-{sid}-add-kind-").set_value("achievements")
    at.text_input(key=f"ol-{sid}-add-heading-").set_value("深化党建与业务融合")
    at.selectbox(key=f"ol-{sid}-add-after-").set_value("achievements.1")
    at.checkbox(key=f"ol-{sid}-add-sub-").check()
    at.button(key=f"ol-{sid}-add-go-").click().run(timeout=TIMEOUT)
    assert not at.exception
    added = [s for s in _latest().plan.sections if s.heading == "深化党建与业务融合"]
    assert len(added) == 1 and added[0].level == 2 and added[0].key not in keys
    # remove it (no text yet: no question)
    at.button(key=f"ol-{sid}-del-{added[0].key}").click().run(timeout=TIMEOUT)
    assert not any(s.heading == "深化党建与业务融合" for s in _latest().plan.sections)


def test_removing_a_section_with_text_asks_and_its_facts_can_come_back(own_index: Path) -> None:
    at = _app()
    session = _planned(at)
    sid = session.id
    problems = next(s for s in session.plan.sections if s.key == "problems")
    Workspace.open().store.add_section_version(sid, "problems", "problems", problems.heading,
                                               VersionSource.EDITED, "已写的问题部分。")
    at.run(timeout=TIMEOUT)
    at.button(key=f"ol-{sid}-del-problems").click().run(timeout=TIMEOUT)
    assert any("本节已有正文" in w.value for w in at.warning)
    assert any(s.key == "problems" for s in _latest().plan.sections)  # not yet
    at.button(key=f"ol-{sid}-del-yes-problems").click().run(timeout=TIMEOUT)
    plan = _latest().plan
    assert not any(s.key == "problems" for s in plan.sections)
    assert set(problems.notes) <= set(plan.excluded)  # its facts are listed, not lost
    index = plan.excluded.index(problems.notes[0])
    at.button(key=f"ol-{sid}-inc-{index}").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert problems.notes[0] not in _latest().plan.excluded


def test_example_notes_over_typed_notes_ask_and_can_be_undone(own_index: Path) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value("- 我自己的笔记：发展党员3名").run(timeout=TIMEOUT)
    _button(at, "载入示例笔记").click().run(timeout=TIMEOUT)
    assert any("替换现有笔记" in w.value for w in at.warning)
    assert _latest().notes == "- 我自己的笔记：发展党员3名"
    _button(at, "替换现有笔记").click().run(timeout=TIMEOUT)
    assert _latest().notes == EXAMPLE and at.text_area(key="notes_text").value == EXAMPLE
    _button(at, "撤销（换回原来的笔记）").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert _latest().notes == "- 我自己的笔记：发展党员3名"
    assert at.text_area(key="notes_text").value == "- 我自己的笔记：发展党员3名"


def test_new_session_keeps_the_old_one(own_index: Path) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value("- 旧会话的笔记").run(timeout=TIMEOUT)
    old = _latest().id
    _button(at, "新建").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert at.text_area(key="notes_text").value == ""
    assert _latest().id != old
    assert Workspace.open().open_session(old).notes == "- 旧会话的笔记"
