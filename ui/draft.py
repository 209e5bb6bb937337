"""Page 起草初稿: the open session's meta fields and notes → an outline edited in place → the draft.

Everything shown comes from the workspace store (`ui.state.current_session()`); every change is written
there at once by the widgets' callbacks (with ui.autosave committing typed text within a second), so F5,
a restart or another day lands back here with nothing lost. Overwriting the user's text asks first and
keeps the old version (撤销 for replaced notes, a copy of the session before a new outline).
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from shuzhi.api import EXAMPLES_DIR, ShuzhiError, StoredSession
from ui.common import md_escape, model_banner, show_error, workspace
from ui.outline import render_outline, sync_widget
from ui.sections import render_check, render_generate, render_sections
from ui.state import PAGE_HISTORY, current_session, ensure_session, set_session

EXAMPLE_NOTES = EXAMPLES_DIR / "notes_jiguan_2024.md"
NOTES_KEY = "notes_text"
GENRE_KEY = "draft_genre"
META_TEXT = (("org", "单位"), ("person", "姓名"), ("role", "职务"))
YEAR_KEY = "meta_year"
_UNSAVED = "_draft_unsaved"  # {widget key: (session id, value)} typed but not saved (the store failed)
_FLASH = "_draft_flash"  # [(kind, message)] shown once on the next run
_PENDING = "_notes_pending"  # (session id, text, where from): notes waiting for 替换 (the session has notes)
_UNDO = "_notes_undo"  # (session id, notes before the last replacement): 撤销 for this browser session
_CONFIRM_REPLAN = "_confirm_replan"  # the session id whose outline (with written text) would be replaced


def _flash(kind: str, message: str) -> None:
    st.session_state.setdefault(_FLASH, []).append((kind, message))


def _show_flash() -> None:
    # Always one container here, so a message never shifts the widgets below it (the browser would
    # otherwise keep a stale copy of the notes box next to the new one until the run ends).
    box = st.container()
    for kind, message in st.session_state.pop(_FLASH, []):
        {"error": box.error, "success": box.success, "info": box.info, "warning": box.warning}.get(
            kind, box.info)(message)


def _unsaved(key: str, sid: str | None) -> Any:
    held = st.session_state.get(_UNSAVED, {}).get(key)
    return held[1] if held is not None and held[0] == sid else None


def _save(key: str, write: Any) -> None:
    """Run WRITE(session id) for the widget KEY's new value; a failure keeps what was typed on screen."""
    value = st.session_state.get(key)
    sid = None
    try:
        sid = ensure_session()
        write(sid)
    except ShuzhiError as exc:
        st.session_state.setdefault(_UNSAVED, {})[key] = (sid, value)
        _flash("error", exc.user_message + " 输入的内容仍在页面上，可稍后再改一次以保存。")
        return
    st.session_state.get(_UNSAVED, {}).pop(key, None)


# ------------------------------------------------------------------ notes
def _prefill_meta(sid: str, text: str) -> None:
    """Meta fields still empty take what the notes say (单位：…, 2024年 …)."""
    ws = workspace()
    session = ws.open_session(sid)
    found = ws.notes_meta(text, session.genre)
    fill = {k: v for k, v in found.items() if session.meta.get(k) in (None, "")}
    if fill:
        ws.save_meta(sid, fill)


def _on_notes() -> None:
    text = str(st.session_state.get(NOTES_KEY) or "")

    def write(sid: str) -> None:
        workspace().save_notes(sid, text)
        _prefill_meta(sid, text)

    _save(NOTES_KEY, write)


def _replace_notes(sid: str, text: str, source: str) -> None:
    ws = workspace()
    previous = ws.open_session(sid).notes
    ws.save_notes(sid, text)
    _prefill_meta(sid, text)
    if previous.strip() and previous != text:
        st.session_state[_UNDO] = (sid, previous)
    _flash("success", f"已载入{source}。")


def _offer_notes(text: str, source: str) -> None:
    """Put TEXT into the notes, asking first when the session already has other notes."""
    try:
        sid = ensure_session()
        current = workspace().open_session(sid).notes
        if current.strip() and current != text:
            st.session_state[_PENDING] = (sid, text, source)
        else:
            _replace_notes(sid, text, source)
    except ShuzhiError as exc:
        _flash("error", exc.user_message)


def _on_example() -> None:
    _offer_notes(EXAMPLE_NOTES.read_text(encoding="utf-8"), "示例笔记")


def _on_upload_notes() -> None:
    upload = st.session_state.get("notes_upload")
    if upload is None:
        return
    warnings: list[str] = []
    try:
        text = workspace().read_notes_data(upload.name, upload.getvalue(), warnings=warnings)
    except ShuzhiError as exc:
        _flash("error", exc.user_message)
        return
    for warning in warnings:  # lines in another encoding, control characters removed
        _flash("warning", warning)
    _offer_notes(text, f"上传的笔记「{upload.name}」")


def _on_accept_pending() -> None:
    pending = st.session_state.pop(_PENDING, None)
    if pending is None:
        return
    sid, text, source = pending
    try:
        _replace_notes(sid, text, source)
    except ShuzhiError as exc:
        _flash("error", exc.user_message)


def _on_undo_notes() -> None:
    undo = st.session_state.pop(_UNDO, None)
    if undo is None:
        return
    try:
        workspace().save_notes(undo[0], undo[1])
    except ShuzhiError as exc:
        _flash("error", exc.user_message)
        return
    _flash("success", "已换回原来的笔记。")


def _on_last_year() -> None:
    upload = st.session_state.get("last_year_upload")
    if upload is None:
        return
    ws = workspace()
    try:
        sid = ensure_session()
        report = ws.read_last_year_data(upload.name, upload.getvalue(), genre=ws.open_session(sid).genre)
        ws.save_last_year(sid, report)
    except ShuzhiError as exc:
        _flash("error", exc.user_message)
        return
    _flash("success", f"已读取上年度报告「{report.source}」（{len(report.problems)} 个问题），已随本会话保存；"
                      "生成提纲时列入“上年度问题整改情况”。")


def _on_forget_last_year(sid: str) -> None:
    try:
        workspace().save_last_year(sid, None)
    except ShuzhiError as exc:
        _flash("error", exc.user_message)


# ------------------------------------------------------------------ session bar and meta
def _on_new_session(session: StoredSession | None) -> None:
    if session is not None and not session.notes.strip() and session.plan is None:
        _flash("info", "当前已是一个新的空白会话，直接输入笔记即可。")
        return
    try:
        set_session(workspace().create_session())
    except ShuzhiError as exc:
        _flash("error", exc.user_message)
        return
    st.session_state.pop(_UNDO, None)
    st.session_state.pop(_PENDING, None)
    _flash("success", "已新建会话；原来的会话保存在“草稿历史”中。")


def session_bar(session: StoredSession | None) -> None:
    c_title, c_new, c_history = st.columns([4, 1, 1], vertical_alignment="center")
    if session is None:
        c_title.caption("新的会话：输入笔记后自动保存。")
    else:
        c_title.markdown(f"**{md_escape(session.title)}**")
        c_title.caption(f"自动保存 · 最后修改 {session.updated[:16].replace('T', ' ')}")
    c_new.button("新建", icon=":material/add:", on_click=_on_new_session, args=(session,),
                 help="开始一份新的材料；当前会话保存在草稿历史中")
    c_history.page_link(PAGE_HISTORY, label="草稿历史", icon=":material/history:")


def _on_meta(field: str) -> None:
    key = YEAR_KEY if field == "year" else f"meta_{field}"
    value = st.session_state.get(key)
    clean = int(value) if field == "year" and value else (str(value or "").strip() or None)
    _save(key, lambda sid: workspace().save_meta(sid, {field: clean}))


def _on_genre() -> None:
    name = str(st.session_state.get(GENRE_KEY) or "")
    _save(GENRE_KEY, lambda sid: workspace().set_session_genre(sid, name))


def meta_form(session: StoredSession | None) -> None:
    ws = workspace()
    sid = session.id if session else None
    meta = session.meta if session else {}
    genres = {g.name: g.title for g in ws.genres() if not g.error}
    genre = session.genre if session else ws.settings.genre
    if genre not in genres:
        genres[genre] = genre
    cols = st.columns([2, 2, 1.3, 1.3, 1])
    held = _unsaved(GENRE_KEY, sid)
    sync_widget(GENRE_KEY, held if held is not None else genre)
    cols[0].selectbox("文种", list(genres), format_func=lambda n: genres.get(n, n), key=GENRE_KEY,
                      on_change=_on_genre, help="要写的材料：述职报告、民主生活会个人对照检查材料……")
    for col, (field, label) in zip(cols[1:4], META_TEXT, strict=True):
        key = f"meta_{field}"
        held = _unsaved(key, sid)
        sync_widget(key, held if held is not None else str(meta.get(field) or ""),
                    lambda a, b: str(a or "").strip() == b)
        col.text_input(label, key=key, on_change=_on_meta, args=(field,), placeholder="从笔记识别")
    held = _unsaved(YEAR_KEY, sid)
    year = meta.get("year") if isinstance(meta.get("year"), int) else None
    sync_widget(YEAR_KEY, held if held is not None else year)
    cols[4].number_input("年度", min_value=2000, max_value=2100, step=1, key=YEAR_KEY, on_change=_on_meta,
                         args=("year",), placeholder="从笔记识别")


# ------------------------------------------------------------------ notes block
def notes_block(session: StoredSession | None) -> None:
    sid = session.id if session else None
    pending = st.session_state.get(_PENDING)
    with st.container():  # always there: the questions below never shift the notes box
        if pending is not None and pending[0] == sid:
            st.warning(f"要用{pending[2]}替换现有笔记吗？替换后可以点“撤销”换回原来的笔记。")
            c_yes, c_no, _ = st.columns([1, 1, 4])
            c_yes.button("替换现有笔记", type="primary", on_click=_on_accept_pending)
            c_no.button("保留现有笔记", on_click=lambda: st.session_state.pop(_PENDING, None))
        undo = st.session_state.get(_UNDO)
        if undo is not None and undo[0] == sid:
            c_info, c_undo = st.columns([3, 1], vertical_alignment="center")
            c_info.caption("笔记已被替换，原来的笔记可以找回。")
            c_undo.button("撤销（换回原来的笔记）", on_click=_on_undo_notes)
    col_notes, col_opts = st.columns([3, 1])
    with col_opts:
        st.file_uploader("上传笔记（.txt / .md / .docx）", type=["txt", "md", "docx"], key="notes_upload",
                         on_change=_on_upload_notes)
        st.button("载入示例笔记", on_click=_on_example)
        st.file_uploader("上年度述职报告（可选）", type=["txt", "md", "docx"], key="last_year_upload",
                         on_change=_on_last_year,
                         help="给出后，提纲增加“上年度问题整改情况”逐条回应其中的问题，检查时提示照搬上年度问题的句子")
        last_year = session.last_year if session else None
        if session is not None and last_year is not None:
            st.caption(f"本会话使用上年度报告「{last_year.source}」（{len(last_year.problems)} 个问题）。")
            st.button("不再使用上年度报告", on_click=_on_forget_last_year, args=(session.id,))
    with col_notes:
        held = _unsaved(NOTES_KEY, sid)
        sync_widget(NOTES_KEY, held if held is not None else (session.notes if session else ""))
        st.text_area("工作笔记", key=NOTES_KEY, height=280, on_change=_on_notes,
                     placeholder="例如：\n- 全年集中学习24次，专题研讨8次\n- 发展党员2名\n问题：主题党日形式单一\n下一步：……")


# ------------------------------------------------------------------ outline
def _make_plan(sid: str, keep_copy: bool) -> None:
    ws = workspace()
    try:
        session = ws.open_session(sid)
        copy_title = f"{session.title}（重新生成提纲前）" if keep_copy else ""
        ws.plan_session(sid, last_year=session.last_year, keep_copy_title=copy_title)
    except ShuzhiError as exc:
        show_error(exc)
        return
    if keep_copy:
        st.success(f"已重新生成提纲；原来的提纲和正文保存在「{md_escape(copy_title)}」中（见草稿历史）。")


def plan_button() -> None:
    if st.button("生成提纲", type="primary"):
        try:
            sid = ensure_session()
            session = workspace().open_session(sid)
        except ShuzhiError as exc:
            show_error(exc)
            return
        if session.plan is not None and any(s.text.strip() for s in session.sections):
            st.session_state[_CONFIRM_REPLAN] = sid
        else:
            _make_plan(sid, keep_copy=False)
    asked = st.session_state.get(_CONFIRM_REPLAN)
    current = current_session()
    if asked is None or current is None or current.id != asked:
        return
    sid = str(asked)
    st.warning("重新生成提纲会替换现有提纲；已写的正文保存在原会话的副本中。")
    c_yes, c_no, _ = st.columns([1, 1, 3])
    if c_yes.button("确认重新生成提纲", type="primary"):
        st.session_state.pop(_CONFIRM_REPLAN, None)
        _make_plan(sid, keep_copy=True)
    elif c_no.button("取消", key="replan-cancel"):
        st.session_state.pop(_CONFIRM_REPLAN, None)
        st.rerun()


# ------------------------------------------------------------------ page
st.header("起草初稿")
st.caption("填写单位、姓名等信息，粘贴或上传工作笔记，先生成提纲并修改，再逐节生成初稿。所有事实只来自你的笔记；"
           "输入的内容随时自动保存。")
_show_flash()
open_session = current_session()
session_bar(open_session)
meta_form(open_session)
notes_block(open_session)
plan_button()
open_session = current_session()
if open_session is not None and open_session.plan is not None:
    render_outline(open_session, open_session.last_year)
    model_banner()
    render_generate(open_session.id, open_session.plan)
    render_sections(open_session.id)
    render_check(open_session.id)
