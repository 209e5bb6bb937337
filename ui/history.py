"""Page 草稿历史: every saved session, newest first — titled by 单位, 年度 and 文种, with when it last
changed and the start of its draft (or notes); 打开, 改名, 复制, 删除 (after a confirmation)."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from shuzhi.api import SessionInfo, ShuzhiError
from ui.common import md_escape, show_error, workspace
from ui.state import PAGE_DRAFT, session_id, set_session

RENAMING = "history_renaming"  # the session whose title is being edited
DELETING = "history_deleting"  # the session waiting for 确认删除
FLASH = "history_flash"  # a message shown once after an action
PREVIEW_CHARS = 90


def local_time(stamp: str) -> str:
    """An ISO time as the user reads it, in this computer's time zone: 2024年12月2日 09:21."""
    try:
        moment = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return stamp
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def _open(info: SessionInfo) -> None:
    set_session(info.id)
    st.switch_page(PAGE_DRAFT)


def _rename_row(info: SessionInfo, title: str) -> None:
    with st.form(key=f"rename-form-{info.id}", border=False):
        new_title = st.text_input("新标题", value=title, key=f"rename-title-{info.id}")
        c1, c2 = st.columns(2)
        save = c1.form_submit_button("保存标题", type="primary")
        cancel = c2.form_submit_button("取消")
    if cancel:
        st.session_state.pop(RENAMING, None)
        st.rerun()
    if save:
        try:
            workspace().rename_session(info.id, new_title)
        except ShuzhiError as exc:
            show_error(exc)
            return
        st.session_state.pop(RENAMING, None)
        st.session_state[FLASH] = f"已改名为「{new_title.strip()}」。"
        st.rerun()


def _delete_row(info: SessionInfo, title: str) -> None:
    st.warning(f"确定删除「{md_escape(title)}」吗？它的笔记、提纲和每一节的所有版本都会删除，无法恢复。")
    c1, c2 = st.columns(2)
    if c1.button("确认删除", key=f"confirm-delete-{info.id}", type="primary", icon=":material/delete:"):
        try:
            workspace().delete_session(info.id)
        except ShuzhiError as exc:
            show_error(exc)
            return
        st.session_state.pop(DELETING, None)
        if session_id() == info.id:
            set_session(None)
        st.session_state[FLASH] = f"已删除「{title}」。"
        st.rerun()
    if c2.button("取消", key=f"cancel-delete-{info.id}"):
        st.session_state.pop(DELETING, None)
        st.rerun()


def session_row(info: SessionInfo, is_open: bool) -> None:
    ws = workspace()
    title = ws.session_display_title(info)
    with st.container(border=True):
        c1, c2 = st.columns([3, 2], vertical_alignment="center")
        mark = "（正在编辑）" if is_open else ""
        c1.markdown(f"**{md_escape(title)}**{mark}")
        stored = f"　标题：{md_escape(info.title)}" if info.title and info.title != title else ""
        c1.caption(f"最后修改：{local_time(info.updated)}{stored}")
        preview = info.preview[:PREVIEW_CHARS]
        c1.caption(md_escape(preview) if preview else "（还没有内容）")
        b1, b2, b3, b4 = c2.columns(4)
        if b1.button("打开", key=f"open-{info.id}", type="primary", disabled=is_open,
                     help="回到起草页，继续修改这份草稿"):
            _open(info)
        if b2.button("改名", key=f"rename-{info.id}"):
            st.session_state[RENAMING] = info.id
            st.session_state.pop(DELETING, None)
            st.rerun()
        if b3.button("复制", key=f"duplicate-{info.id}", help="复制一份（含每一节的所有版本），在副本上修改"):
            try:
                ws.duplicate_session(info.id, f"{title}（副本）")
            except ShuzhiError as exc:
                show_error(exc)
                return
            st.session_state[FLASH] = f"已复制「{title}」，副本在列表最上面。"
            st.rerun()
        if b4.button("删除", key=f"delete-{info.id}"):
            st.session_state[DELETING] = info.id
            st.session_state.pop(RENAMING, None)
            st.rerun()
        if st.session_state.get(RENAMING) == info.id:
            _rename_row(info, title)
        if st.session_state.get(DELETING) == info.id:
            _delete_row(info, title)


st.header("草稿历史")
st.caption("每份草稿都随写随存在这台电脑上。打开一份即可在起草页继续修改。")
flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash)
try:
    sessions = workspace().list_sessions()
except ShuzhiError as exc:
    show_error(exc)
    sessions = []
if not sessions:
    st.info("还没有保存的草稿。在“起草初稿”页写下笔记，就会自动保存在这里。")
current = session_id()
for item in sessions:
    session_row(item, item.id == current)
