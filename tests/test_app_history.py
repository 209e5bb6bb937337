"""Page 草稿历史 (AppTest): sessions titled by 单位/年度/文种 with time and preview; 打开, 改名, 复制, 删除."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from shuzhi.api import Plan, PlanSection, VersionSource, Workspace

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 120
HISTORY = "ui/history.py"


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    at.switch_page(path).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.markdown, *at.caption, *at.success, *at.warning, *at.info))


def _session_with_draft() -> str:
    plan = Plan(title="机关第一党支部书记2024年度抓基层党建工作述职报告", year=2024, org="机关第一党支部", sections=(
        PlanSection(key="achievements", kind="achievements", heading="主要做法和成效", notes=("发展党员7名",)),
    ))
    ws = Workspace.open()
    sid = ws.create_session(notes="- 发展党员7名", plan=plan)
    ws.store.add_section_version(sid, "achievements", "achievements", "主要做法和成效", VersionSource.GENERATED,
                                 "全年发展党员7名，历史页预览测试。")
    return sid


def test_sessions_are_titled_by_unit_year_and_genre_with_time_and_preview(use_built_index: Path) -> None:
    ws = Workspace.open()
    plain = ws.create_session(title="旧会话", notes="- 主题党日12次 **粗体** [链接](http://198.51.100.7/x)")
    meta = ws.create_session(notes="- 开展志愿服务5次")
    ws.save_meta(meta, {"org": "某社区党委", "year": 2024})
    drafted = _session_with_draft()
    at = _page(HISTORY)
    texts = _texts(at)
    assert "某社区党委 2024年度 述职报告" in texts  # from the meta
    assert "机关第一党支部 2024年度 述职报告" in texts  # from the plan
    assert "旧会话" in texts  # no unit or year: its stored title
    assert "全年发展党员7名，历史页预览测试。" in texts  # the start of the draft
    assert "开展志愿服务5次" in texts  # else of the notes
    assert "最后修改：" in texts and "年" in texts.split("最后修改：")[1][:6]
    assert "\\*\\*粗体\\*\\*" in texts and "\\[链接\\]\\(http" in texts  # escaped, never live Markdown
    keys = [b.key for b in at.button if b.key and b.key.startswith("open-")]
    assert keys[:3] == [f"open-{drafted}", f"open-{meta}", f"open-{plain}"]  # newest first


def test_open_marks_the_session_and_goes_to_the_draft_page(use_built_index: Path) -> None:
    sid = _session_with_draft()
    other = Workspace.open().create_session(title="另一份", notes="- 主题党日3次")
    at = _page(HISTORY)
    assert "正在编辑" in "".join(m.value for m in at.markdown if "另一份" in m.value)  # the latest is open
    assert at.button(key=f"open-{other}").disabled
    at.button(key=f"open-{sid}").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert at.session_state["session_id"] == sid
    assert any(t.label == "工作笔记" for t in at.text_area)  # on the draft page now
    at.switch_page(HISTORY).run(timeout=TIMEOUT)
    assert at.button(key=f"open-{sid}").disabled
    assert "正在编辑" in "".join(m.value for m in at.markdown if "机关第一党支部" in m.value)


def test_rename_duplicate_and_delete_with_confirmation(use_built_index: Path) -> None:
    sid = _session_with_draft()
    ws = Workspace.open()
    before = {s.id for s in ws.list_sessions()}  # the shared index's folder may hold other tests' sessions
    at = _page(HISTORY)
    at.button(key=f"rename-{sid}").click().run(timeout=TIMEOUT)
    at.text_input(key=f"rename-title-{sid}").set_value("给区委的述职稿")
    next(b for b in at.button if b.label == "保存标题").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert "给区委的述职稿" in _texts(at)
    assert ws.open_session(sid).title == "给区委的述职稿"

    at.button(key=f"duplicate-{sid}").click().run(timeout=TIMEOUT)
    assert not at.exception
    sessions = ws.list_sessions()
    assert len(sessions) == len(before) + 1 and "给区委的述职稿（副本）" in _texts(at)
    copy = sessions[0].id
    assert copy not in before
    assert ws.open_session(copy).section("achievements").text == "全年发展党员7名，历史页预览测试。"  # type: ignore[union-attr]

    at.button(key=f"delete-{copy}").click().run(timeout=TIMEOUT)
    assert any("确定删除" in w.value for w in at.warning)
    at.button(key=f"cancel-delete-{copy}").click().run(timeout=TIMEOUT)
    assert len(ws.list_sessions()) == len(before) + 1 and not any("确定删除" in w.value for w in at.warning)
    at.button(key=f"delete-{copy}").click().run(timeout=TIMEOUT)
    at.button(key=f"confirm-delete-{copy}").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert {s.id for s in ws.list_sessions()} == before
    assert not any(b.key == f"open-{copy}" for b in at.button)


def test_a_session_deleted_elsewhere_leaves_the_list(use_built_index: Path) -> None:
    sid = _session_with_draft()
    at = _page(HISTORY)
    assert any(b.key == f"open-{sid}" for b in at.button)
    Workspace.open().delete_session(sid)  # another tab, the CLI
    at.run(timeout=TIMEOUT)
    assert not at.exception
    assert not any(b.key == f"open-{sid}" for b in at.button)


def test_an_empty_history_says_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")  # this test's own, empty data folder: a quick keyword index
    at = _page(HISTORY)
    assert any("还没有保存的草稿" in i.value for i in at.info)


def test_settings_points_to_the_history_and_says_where_work_is_kept(use_built_index: Path) -> None:
    at = _page("ui/settings.py")
    texts = _texts(at)
    assert "workspace.sqlite3" in texts and "运行记录" in texts
    links: list[Any] = list(at.get("page_link"))
    assert any("草稿历史" in link.proto.label for link in links)
    assert any("语料库" in link.proto.label for link in links)
