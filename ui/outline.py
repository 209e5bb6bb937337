"""The outline editor of the drafting page: every section open, edited in place, saved to the store at once.

Per section: its heading, its facts (one per line), the problems it answers, why each fact is there,
↑ ↓ 删除 (asking first when the section already has text), moving one fact to another section; 添加一节
(a section or a sub-item) and the lines not used as facts with 加入提纲. Every change goes through a
Workspace plan-edit method and `save_plan`; the widgets show the stored plan on every rerun.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from shuzhi.api import LastYearReport, Plan, PlanSection, SectionKind, ShuzhiError, StoredSession, Workspace
from ui.common import kind_label, md_escape, workspace

_ERROR = "_outline_error"  # a Chinese message of the last failed edit, shown once
_CONFIRM_DELETE = "_outline_confirm_delete"  # (session id, section key) waiting for 确认删除


def section_label(kind: str, heading: str, key: str = "") -> str:
    name = kind_label(kind)
    return f"{name}｜{heading}" if heading and heading != name else (name or key)


def lines_of(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def sync_widget(key: str, value: Any, same: Callable[[Any, Any], bool] | None = None) -> None:
    """Show VALUE (from the store) in the widget KEY unless it already shows the same thing."""
    current = st.session_state.get(key)
    if key not in st.session_state or not (same(current, value) if same else current == value):
        st.session_state[key] = value


def _wkey(sid: str, name: str, section_key: str = "") -> str:
    return f"ol-{sid}-{name}-{section_key}"


def apply_edit(sid: str, change: Callable[[Workspace, Plan], Plan]) -> None:
    """Change the session's stored plan and save it at once (a widget or button callback)."""
    ws = workspace()
    try:
        plan = ws.open_session(sid).plan
        if plan is None:
            raise ShuzhiError("这个会话还没有提纲，请先生成提纲。", f"session {sid} has no plan")
        ws.save_plan(sid, change(ws, plan))
    except ShuzhiError as exc:
        st.session_state[_ERROR] = exc.user_message


def _value(key: str) -> Any:
    return st.session_state.get(key)


def _on_title(sid: str) -> None:
    title = str(_value(_wkey(sid, "title")) or "").strip()
    if title:
        apply_edit(sid, lambda ws, plan: replace(plan, title=title))


def _on_heading(sid: str, key: str) -> None:
    heading = str(_value(_wkey(sid, "h", key)) or "")
    apply_edit(sid, lambda ws, plan: ws.plan_edit_section(plan, key, heading=heading))


def _on_notes(sid: str, key: str) -> None:
    notes = lines_of(str(_value(_wkey(sid, "n", key)) or ""))
    apply_edit(sid, lambda ws, plan: ws.plan_edit_section(plan, key, notes=notes))


def _on_move_fact(sid: str, key: str) -> None:
    line, target = _value(_wkey(sid, "mvl", key)), _value(_wkey(sid, "mvt", key))
    if not line or not target:
        st.session_state[_ERROR] = "请先选好要移动的事实和目标节。"
        return
    apply_edit(sid, lambda ws, plan: ws.plan_move_fact(plan, str(line), key, str(target)))


def _on_move(sid: str, key: str, offset: int) -> None:
    apply_edit(sid, lambda ws, plan: ws.plan_move_section(plan, key, offset))


def _on_delete(sid: str, key: str, has_text: bool) -> None:
    if has_text:
        st.session_state[_CONFIRM_DELETE] = (sid, key)
        return
    _on_confirm_delete(sid, key)


def _on_confirm_delete(sid: str, key: str) -> None:
    st.session_state.pop(_CONFIRM_DELETE, None)
    apply_edit(sid, lambda ws, plan: ws.plan_remove_section(plan, key))


def _on_add(sid: str) -> None:
    kind = str(_value(_wkey(sid, "add-kind")) or "")
    heading = str(_value(_wkey(sid, "add-heading")) or "")
    after = _value(_wkey(sid, "add-after")) or None
    sub_item = bool(_value(_wkey(sid, "add-sub")))
    apply_edit(sid, lambda ws, plan: ws.plan_add_section(plan, kind, heading, after=after, sub_item=sub_item))
    st.session_state[_wkey(sid, "add-heading")] = ""


def _on_include(sid: str, line: str) -> None:
    apply_edit(sid, lambda ws, plan: ws.include_excluded(plan, line))


def _takes_facts(ws: Workspace, plan: Plan, section: PlanSection) -> bool:
    spec = ws.genre(plan.genre).spec(section.kind)
    has_children = any(s.key.startswith(section.key + ".") for s in plan.sections)
    return not has_children and (spec is None or spec.like not in (SectionKind.CLOSING, SectionKind.TITLE))


def _section_editor(sid: str, plan: Plan, section: PlanSection, session: StoredSession,
                    targets: dict[str, str]) -> None:
    ws = workspace()
    key = section.key
    stored = session.section(key)
    has_text = bool(stored and stored.text.strip())
    if section.level > 0:
        hkey = _wkey(sid, "h", key)
        sync_widget(hkey, section.heading, lambda a, b: str(a or "").strip() == b)
        st.text_input("小标题", key=hkey, on_change=_on_heading, args=(sid, key))
    if _takes_facts(ws, plan, section):
        nkey = _wkey(sid, "n", key)
        sync_widget(nkey, "\n".join(section.notes), lambda a, b: lines_of(str(a or "")) == lines_of(b))
        st.text_area("本节事实（每行一条）", key=nkey, on_change=_on_notes, args=(sid, key),
                     height=max(90, 28 * (len(section.notes) + 1)))
        reasons = [(line, plan.assignment_for(line, key)) for line in section.notes]
        if any(a is not None and a.why for _, a in reasons):
            with st.popover("为什么放在这一节", icon=":material/help:"):
                for line, a in reasons:
                    if a is not None and a.why:
                        st.text(f"{line}\n　→ {a.why}")
        others = {k: v for k, v in targets.items() if k != key}
        if section.notes and others:
            c_line, c_target, c_go = st.columns([3, 2, 1], vertical_alignment="bottom")
            c_line.selectbox("移动一条事实", section.notes, key=_wkey(sid, "mvl", key))
            c_target.selectbox("移到", list(others), format_func=lambda k: others.get(k, k), key=_wkey(sid, "mvt", key))
            c_go.button("移动", key=_wkey(sid, "mvgo", key), on_click=_on_move_fact, args=(sid, key))
    elif section.level > 0:
        st.caption("本节下分小项，事实写在各小项中。")
    if section.context:
        st.caption("本节要呼应的问题：" + "；".join(md_escape(c) for c in section.context))
    if has_text:
        st.caption("本节已有正文。")
    c_up, c_down, c_del, _ = st.columns([1, 1, 1, 5])
    c_up.button("↑", key=_wkey(sid, "up", key), on_click=_on_move, args=(sid, key, -1), help="上移")
    c_down.button("↓", key=_wkey(sid, "down", key), on_click=_on_move, args=(sid, key, 1), help="下移")
    c_del.button("删除", key=_wkey(sid, "del", key), on_click=_on_delete, args=(sid, key, has_text),
                 help="删去本节（其中的事实移到“未作为事实”的行中，可再加入）")
    if st.session_state.get(_CONFIRM_DELETE) == (sid, key):
        st.warning("本节已有正文，删除后正文不再出现在初稿中。确定删除吗？")
        c_yes, c_no, _ = st.columns([1, 1, 4])
        c_yes.button("确认删除", key=_wkey(sid, "del-yes", key), on_click=_on_confirm_delete, args=(sid, key),
                     type="primary")
        c_no.button("取消", key=_wkey(sid, "del-no", key), on_click=lambda: st.session_state.pop(_CONFIRM_DELETE, None))


def _add_section(sid: str, plan: Plan) -> None:
    ws = workspace()
    genre = ws.genre(plan.genre)
    kinds = {str(k.kind): k.name for k in genre.kinds if k.body}
    with st.container(border=True):
        st.markdown("**添加一节**")
        c_kind, c_heading = st.columns(2)
        c_kind.selectbox("类型", list(kinds), format_func=lambda k: kinds.get(k, k), key=_wkey(sid, "add-kind"))
        c_heading.text_input("小标题", key=_wkey(sid, "add-heading"), placeholder="例如：深化党建与业务融合")
        after = {"": "放在末尾（结束语之前）"} | {s.key: section_label(s.kind, s.heading, s.key) for s in plan.sections}
        c_after, c_sub = st.columns(2, vertical_alignment="bottom")
        c_after.selectbox("放在哪一节之后", list(after), format_func=lambda k: after.get(k, k), key=_wkey(sid, "add-after"))
        c_sub.checkbox("作为该类型一节下的小项（如“主要做法和成效”的第几项）", key=_wkey(sid, "add-sub"))
        st.button("添加", key=_wkey(sid, "add-go"), on_click=_on_add, args=(sid,), icon=":material/add:")


def _excluded(sid: str, plan: Plan) -> None:
    if not plan.excluded:
        return
    ws = workspace()
    with st.expander(f"未作为事实的 {len(plan.excluded)} 行（链接、写给自己的备注、删去的节中的事实）"):
        st.caption("这些行不会交给模型。要写进报告的，点“加入提纲”放回相应的节。")
        for n, line in enumerate(plan.excluded):
            c_line, c_add = st.columns([5, 1], vertical_alignment="center")
            c_line.text(line)
            c_line.caption(ws.excluded_reason(line))
            c_add.button("加入提纲", key=_wkey(sid, "inc", str(n)), on_click=_on_include, args=(sid, line))


def render_outline(session: StoredSession, last_year: LastYearReport | None = None) -> None:
    """The editor of the session's stored plan (nothing when it has none)."""
    plan = session.plan
    if plan is None:
        return
    ws = workspace()
    sid = session.id
    st.subheader("提纲（可修改）")
    error = st.session_state.pop(_ERROR, None)
    if error:
        st.error(error)
    if last_year is not None:
        st.info(f"上年度报告「{last_year.source}」中的 {len(last_year.problems)} 个问题已列入“上年度问题整改情况”；"
                "笔记中没有整改内容的问题标为〔X〕，请补充。")
    for warning in ws.plan_warnings(plan, last_year):
        st.warning(warning)
    tkey = _wkey(sid, "title")
    sync_widget(tkey, plan.title, lambda a, b: str(a or "").strip() == b)
    st.text_input("标题", key=tkey, on_change=_on_title, args=(sid,))
    _excluded(sid, plan)
    targets = {s.key: section_label(s.kind, s.heading, s.key) for s in plan.sections if _takes_facts(ws, plan, s)}
    for section in plan.sections:
        label = section_label(section.kind, section.heading, section.key)
        with st.expander(("　└ " if "." in section.key else "") + md_escape(label), expanded=True):
            _section_editor(sid, plan, section, session, targets)
    _add_section(sid, plan)
