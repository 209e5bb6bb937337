"""The draft as its sections: generate with live progress and 停止, edit each section in place (saved as you
type), regenerate or revise one section, go back to any earlier version, see its facts and cited passages,
preview the whole document like the Word file, and download it at any time.

Two entry points for the drafting page: `render_generate(session_id, plan)` and `render_sections(session_id)`.
Model runs go in a background thread kept in `st.session_state[DRAFT_RUN]` (an unrelated rerun does not lose
it); a fragment shows its state every half second. Model, user and corpus text is shown escaped only.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from shuzhi.api import (
    DraftEvents,
    Plan,
    PlanSection,
    ReviseAction,
    SectionDraft,
    ShuzhiError,
    StoredSection,
    VersionSource,
    Workspace,
)
from ui.common import (
    download_buttons,
    kind_label,
    llm_config,
    md_escape,
    render_check_report,
    run_check_report,
    workspace,
)
from ui.state import CURRENT_SECTION, DRAFT_RUN

NEEDS_MODEL = "生成正文需要先在“设置”页配置模型"
CONFIRM_ALL = "将重新生成全部正文，现有正文保留在各节的历史版本中"
_NOTICE = "_sections_notice"  # (level, message) of the last finished run, shown until the next one
_CONFIRMING = "_sections_confirm_all"
_NO_REQUEST = "（不加要求）"
SOURCE_NAMES = {
    VersionSource.GENERATED: "模型生成",
    VersionSource.EDITED: "手工修改",
    VersionSource.REWRITTEN: "采用改写",
    VersionSource.REGENERATED: "重新生成",
    VersionSource.IMPORTED: "导入",
    VersionSource.REVISED: "润色/扩写/缩写",
    VersionSource.RESTORED: "恢复旧版本",
}
_EDITED_SOURCES = (VersionSource.EDITED, VersionSource.REWRITTEN, VersionSource.REVISED, VersionSource.RESTORED)
Work = Callable[[DraftEvents], tuple[str, str]]  # events → (level "success"|"warning"|"error", message)


def section_name(kind: str, heading: str, key: str = "") -> str:
    name = kind_label(kind)
    return f"{name}｜{heading}" if heading and heading != name else (name or key)


# ------------------------------------------------------------------ the background run
@dataclass
class DraftRun:
    """A model run in a worker thread; the worker writes only here (under the lock), never to st."""

    label: str
    names: dict[str, str]  # section key → its name, for the live view
    total: int
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    order: list[str] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    states: dict[str, str] = field(default_factory=dict)  # key → "running" | "done" | "failed"
    notices: list[str] = field(default_factory=list)
    done: int = 0
    finished: bool = False
    level: str = "success"
    message: str = ""
    thread: threading.Thread | None = None

    # -------------------------------------------------------------- worker side
    def events(self) -> DraftEvents:
        return DraftEvents(on_jobs=self._jobs, on_section_start=self._start, on_token=self._token,
                           on_section_done=self._done, on_retry=self._retry, stop=self.stop)

    def _jobs(self, keys: list[str]) -> None:
        with self.lock:
            self.total = len(keys)
            self.order = list(keys)

    def _start(self, key: str) -> None:
        with self.lock:
            self.states[key] = "running"
            if key not in self.order:
                self.order.append(key)

    def _token(self, key: str, token: str) -> None:
        with self.lock:
            if key not in self.order:
                self.order.append(key)
            self.states.setdefault(key, "running")
            self.texts[key] = self.texts.get(key, "") + token

    def _done(self, draft: SectionDraft) -> None:
        with self.lock:
            self.done += 1
            self.states[draft.key] = "failed" if draft.error else "done"
            if draft.key not in self.order:
                self.order.append(draft.key)

    def _retry(self, key: str, attempt: int, wait_s: float, message: str) -> None:
        with self.lock:
            self.notices.append(f"{self.names.get(key, key)}：{message}")

    def start(self, work: Work) -> None:
        def run() -> None:
            try:
                level, message = work(self.events())
            except ShuzhiError as exc:
                level, message = "error", exc.user_message
            except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
                level, message = "error", f"生成时出现意外错误（{type(exc).__name__}）。已完成的内容都已保存，可以重试。"
            with self.lock:
                self.level, self.message, self.finished = level, message, True

        self.thread = threading.Thread(target=run, name="shuzhi-ui-draft", daemon=True)
        self.thread.start()

    # -------------------------------------------------------------- script side
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {"order": list(self.order), "texts": dict(self.texts), "states": dict(self.states),
                    "notices": list(self.notices), "done": self.done, "total": self.total,
                    "finished": self.finished}


def active_run() -> DraftRun | None:
    """The run of this browser session still going on (a finished one is collected: its message kept)."""
    run: DraftRun | None = st.session_state.get(DRAFT_RUN)
    if run is not None and run.finished:
        st.session_state.pop(DRAFT_RUN, None)
        if run.message:
            st.session_state[_NOTICE] = (run.level, run.message)
        return None
    return run


def start_run(label: str, names: dict[str, str], total: int, work: Work) -> None:
    """Start WORK in the background (not while another run of this browser session is going on)."""
    if active_run() is not None:
        st.session_state[_NOTICE] = ("warning", "上一次生成还没有结束，请等它结束或先点“停止”。")
        return
    st.session_state.pop(_NOTICE, None)
    run = DraftRun(label=label, names=names, total=total)
    st.session_state[DRAFT_RUN] = run
    run.start(work)


@st.fragment(run_every=0.5)
def _live_panel() -> None:
    run: DraftRun | None = st.session_state.get(DRAFT_RUN)
    if run is None:
        return
    state = run.snapshot()
    if state["finished"]:
        st.rerun()  # the whole page: the sections are read from the store again
    with st.container(border=True):
        total = max(int(state["total"]), 1)
        st.progress(min(state["done"] / total, 1.0), text=f"{run.label}：已完成 {state['done']}/{state['total']} 节")
        st.button("停止", key="sections-stop", icon=":material/stop_circle:", on_click=run.stop.set,
                  disabled=run.stop.is_set(), help="不再开始新的节；正在写的节若原来已有正文则保留原文，否则保留已写出的部分。")
        if run.stop.is_set():
            st.caption("正在停止……")
        for notice in state["notices"][-3:]:
            st.caption(md_escape(notice))
        for key in state["order"]:
            mark = {"done": "✓", "failed": "✗", "running": "……"}.get(state["states"].get(key, ""), "")
            st.markdown(f"**{md_escape(run.names.get(key, key))}** {mark}")
            if state["states"].get(key) == "running" and state["texts"].get(key):
                st.text(state["texts"][key])  # plain text: no Markdown, no HTML, nothing fetched


def _show_notice() -> None:
    notice = st.session_state.get(_NOTICE)
    if notice:
        level, message = notice
        {"error": st.error, "warning": st.warning}.get(level, st.success)(md_escape(message))


# ------------------------------------------------------------------ generate
def _names(ws: Workspace, plan: Plan) -> dict[str, str]:
    return {s.key: section_name(s.kind, s.heading, s.key) for s in ws.drafted_sections(plan)}


def _generate_all(session_id: str, plan: Plan) -> None:
    ws = workspace()  # resolved here, on the script thread
    session = ws.open_session(session_id)
    names = _names(ws, plan)
    st.session_state.pop(_CONFIRMING, None)

    def work(events: DraftEvents) -> tuple[str, str]:
        outcome = ws.draft(plan, session.notes, session_id=session_id, events=events, last_year=session.last_year)
        if outcome.stopped:
            return "warning", outcome.message
        if outcome.failed:
            return "error", outcome.message
        return "success", outcome.message or f"初稿已生成（{len(outcome.sections)} 节），可以逐节修改。"

    start_run("正在逐节生成", names, len(names), work)


def render_generate(session_id: str, plan: Plan) -> None:
    """The 生成初稿 button (with a model), asking first when the session already has section text; the
    live progress of a run (progress bar, streamed text, retry notices, 停止)."""
    run = active_run()
    _show_notice()
    if llm_config() is None:
        st.info(f"{NEEDS_MODEL}；没有模型时仍可下载带各节事实的提纲稿（Word 或 Markdown，见页面下方）。",
                icon=":material/info:")
        return
    if run is not None:
        _live_panel()
        return
    ws = workspace()
    ws.prepare_draft(plan)  # the outline's exemplar queries are embedded while the user reads it
    has_text = any(s.text.strip() for s in ws.open_session(session_id).sections)
    if st.session_state.get(_CONFIRMING):
        st.warning(CONFIRM_ALL + "。确定吗？")
        c1, c2 = st.columns(2)
        c1.button("确定重新生成", type="primary", key="sections-confirm", on_click=_generate_all,
                  args=(session_id, plan))
        c2.button("取消", key="sections-cancel", on_click=lambda: st.session_state.pop(_CONFIRMING, None))
        return
    if st.button("生成初稿", type="primary", key="sections-generate", icon=":material/edit_note:"):
        if has_text:
            st.session_state[_CONFIRMING] = True
        else:
            _generate_all(session_id, plan)
        st.rerun()


# ------------------------------------------------------------------ one section's actions (callbacks)
def _regenerate(session_id: str, key: str, name: str, request_key: str, free_key: str) -> None:
    st.session_state[CURRENT_SECTION] = key
    ws = workspace()
    preset = st.session_state.get(request_key) or _NO_REQUEST
    parts = [ws.regenerate_presets().get(preset, "") if preset != _NO_REQUEST else "",
             str(st.session_state.get(free_key) or "").strip()]
    instruction = "\n".join(p for p in parts if p)

    def work(events: DraftEvents) -> tuple[str, str]:
        draft = ws.regenerate_section(session_id, key, events, instruction=instruction)
        if draft.error:
            return "error", f"「{name}」未能重新生成：{draft.error}。原来的正文仍在。"
        return "success", f"「{name}」已重新生成，原来的正文在“历史版本”中。"

    start_run(f"正在重新生成「{name}」", {key: name}, 1, work)


def _revise(session_id: str, key: str, name: str, action: ReviseAction, free_key: str) -> None:
    st.session_state[CURRENT_SECTION] = key
    ws = workspace()
    label = ws.revise_label(action)
    instruction = str(st.session_state.get(free_key) or "").strip()

    def work(events: DraftEvents) -> tuple[str, str]:
        draft = ws.revise_section(session_id, key, action, instruction, events)
        if draft.warnings:
            return "warning", f"「{name}」已{label}。" + "".join(draft.warnings)
        return "success", f"「{name}」已{label}，原来的正文在“历史版本”中。"

    start_run(f"正在{label}「{name}」", {key: name}, 1, work)


def _retry_all(session_id: str, plan: Plan) -> None:
    ws = workspace()
    names = _names(ws, plan)

    def work(events: DraftEvents) -> tuple[str, str]:
        outcome = ws.retry(session_id, events)
        if outcome.failed:
            return ("warning" if outcome.stopped else "error"), outcome.message
        return "success", "未完成的节已重新生成。"

    start_run("正在重试未完成的节", names, len(names), work)


def _save_edit(session_id: str, key: str, widget_key: str) -> None:
    st.session_state[CURRENT_SECTION] = key
    try:
        workspace().save_section_edit(session_id, key, str(st.session_state.get(widget_key) or ""))
    except ShuzhiError as exc:
        st.session_state[_NOTICE] = ("error", exc.user_message + "（你输入的文字仍在框中，请稍后再试。）")


def _restore(session_id: str, key: str, index: int) -> None:
    st.session_state[CURRENT_SECTION] = key
    try:
        workspace().restore_section_version(session_id, key, index)
        st.session_state[_NOTICE] = ("success", "已恢复所选版本；恢复前的正文也保留在历史版本中。")
    except ShuzhiError as exc:
        st.session_state[_NOTICE] = ("error", exc.user_message)


# ------------------------------------------------------------------ sections
def _status(stored: StoredSection | None) -> str:
    if stored is None or not stored.versions:
        return ":gray[未生成]"
    latest = stored.latest
    if stored.error:
        return f":red[未完成 ✗ {md_escape(stored.error)}]"
    if not stored.complete:
        return ":orange[未完成 ✗ 笔记中没有本节的内容，请补充后重新生成，或直接填写]"
    if latest is not None and latest.source in _EDITED_SOURCES:
        return ":blue[已修改]"
    return ":green[已生成]"


def _height(text: str) -> int:
    lines = sum(max(1, math.ceil(len(line) / 38)) for line in (text or " ").splitlines()) + 1
    return max(120, min(640, 26 * lines + 20))


def _history(session_id: str, stored: StoredSection, busy: bool) -> None:
    count = len(stored.versions)
    with st.popover(f"历史版本（{count}）", icon=":material/history:", key=f"pop-history-{stored.key}-{count}"):
        for index in range(count - 1, -1, -1):
            version = stored.versions[index]
            when = version.at.replace("T", " ")[:16]
            head = version.text.strip().replace("\n", " ")[:40] or "（空）"
            current = "（当前）" if index == count - 1 else ""
            st.markdown(f"**{index + 1}. {SOURCE_NAMES.get(version.source, str(version.source))}**{current} · {when}")
            st.caption(md_escape(head))
            if index != count - 1:
                st.button("恢复此版本", key=f"restore-{stored.key}-{index}-{count}", on_click=_restore,
                          args=(session_id, stored.key, index), disabled=busy)


def _citations(ws: Workspace, key: str, ids: tuple[str, ...]) -> None:
    cited = ws.citations(ids) if ids else []
    st.markdown("**参考的范文片段**")
    if not cited:
        st.caption("（本节没有使用范文片段）")
        return
    st.caption("只借鉴写法，事实全部来自你的笔记。")
    for n, citation in enumerate(cited):
        where = " · ".join(p for p in (citation.title, f"{citation.year}年" if citation.year else "",
                                       citation.heading_path) if p)
        with st.expander(md_escape(where), key=f"cite-{key}-{n}-{citation.chunk_id}"):
            st.text(citation.text)


def _section_block(ws: Workspace, session_id: str, section: PlanSection, stored: StoredSection | None,
                   has_model: bool, busy: bool) -> None:
    key = section.key
    name = section_name(section.kind, section.heading, key)
    count = len(stored.versions) if stored else 0
    current = st.session_state.get(CURRENT_SECTION) == key
    with st.container(border=True):
        head, status = st.columns([3, 2], vertical_alignment="center")
        head.markdown(f"#### :orange[▶ {md_escape(name)}]" if current else f"#### {md_escape(name)}")
        status.markdown(_status(stored))
        left, right = st.columns([3, 2])
        with left:
            widget = f"sec-{session_id}-{key}-{count}"
            text = stored.text if stored else ""
            st.text_area("正文（修改后自动保存）", value=text, key=widget, height=_height(text),
                         on_change=_save_edit, args=(session_id, key, widget), disabled=busy,
                         placeholder="尚未生成。可以直接在这里填写本节正文。")
            tip = None if has_model else NEEDS_MODEL
            free = f"req-{key}"
            preset = f"preset-{key}"
            c_regen, c_polish, c_expand, c_shorten = st.columns([1.6, 1, 1, 1])  # room for 重新生成 + icon
            with c_regen.popover("重新生成", icon=":material/refresh:", disabled=busy or not has_model, help=tip,
                                 key=f"pop-regen-{key}"):
                st.selectbox("要求", [_NO_REQUEST, *ws.regenerate_presets()], key=preset)
                st.text_input("其他要求（可选）", key=free, placeholder="例如：多写党员的实际参与")
                st.button("重新生成本节", key=f"regen-{key}", type="primary", on_click=_regenerate,
                          args=(session_id, key, name, preset, free), disabled=busy or not has_model)
            for column, action in ((c_polish, ReviseAction.POLISH), (c_expand, ReviseAction.EXPAND),
                                   (c_shorten, ReviseAction.SHORTEN)):
                column.button(ws.revise_label(action), key=f"{action}-{key}", on_click=_revise,
                              args=(session_id, key, name, action, free),
                              disabled=busy or not has_model or not text.strip(), help=tip)
            if stored is not None and stored.versions:
                if stored.error and has_model:
                    st.button("重试", key=f"retry-{key}", icon=":material/refresh:", on_click=_regenerate,
                              args=(session_id, key, name, preset, free), disabled=busy)
                _history(session_id, stored, busy)
        with right:
            st.markdown("**本节事实**")
            facts = [n for n in section.notes if n.strip()]
            st.markdown("\n".join(f"- {md_escape(n)}" for n in facts) if facts else "（提纲中本节没有列出事实）")
            _citations(ws, key, stored.citations if stored else ())


def render_sections(session_id: str) -> None:
    """The draft as its sections in plan order, each with its editor, status, actions, history, facts and
    cited passages; below them the full-document preview and the downloads (.docx/.md, the skeleton when
    nothing is drafted yet)."""
    ws = workspace()
    try:
        session = ws.open_session(session_id)
    except ShuzhiError as exc:
        st.error(exc.user_message)
        return
    plan = session.plan
    if plan is None:
        st.caption("生成提纲后，这里逐节显示正文。")
        return
    busy = st.session_state.get(DRAFT_RUN) is not None
    has_model = llm_config() is not None
    if busy:
        st.caption("正在生成，完成后这里显示最新的各节。")
    sections = ws.drafted_sections(plan)
    stored = {s.key: session.section(s.key) for s in sections}
    unfinished = [k for k, got in stored.items() if got is None or not got.versions or got.error]
    drafted = any(s.text.strip() for s in session.sections)
    if drafted and unfinished and has_model and not busy:
        st.button(f"重试未完成的 {len(unfinished)} 节", key="sections-retry-all", icon=":material/refresh:",
                  on_click=_retry_all, args=(session_id, plan))
    for section in sections:
        _section_block(ws, session_id, section, stored[section.key], has_model, busy)
    markdown = ws.session_markdown(session_id) if drafted else ws.skeleton_markdown(plan)
    st.subheader("全文预览")
    if not drafted:
        st.caption("还没有正文：下面是带各节事实的提纲稿，〔待写〕处需要填写。")
    with st.expander("按 Word 版式预览全文", expanded=False, icon=":material/article:", key="sections-preview"):
        st.html(ws.preview_html(markdown, genre=plan.genre))  # every text escaped; no script or outside resource
    download_buttons(markdown, "述职报告" if drafted else "述职报告（提纲稿）", key="sections")


_CHECK_CACHE = "_sections_check"


def render_check(session_id: str) -> None:
    """The checks of 检查草稿 on the current draft against the session's notes, plan and last year's report,
    re-run whenever the text changes (and only then: an unchanged draft shows the result it already has)."""
    ws = workspace()
    try:
        session = ws.open_session(session_id)
    except ShuzhiError as exc:
        st.error(exc.user_message)
        return
    if session.plan is None or not any(s.text.strip() for s in session.sections):
        return
    if st.session_state.get(DRAFT_RUN) is not None:
        return  # checked once the run has finished
    markdown = ws.session_markdown(session_id)
    stamp = (session_id, markdown, session.notes, str(session.plan))
    cached = st.session_state.get(_CHECK_CACHE)
    if cached is None or cached[0] != stamp:
        try:
            report = run_check_report(markdown, session.notes, plan=session.plan, session_id=session_id)
        except ShuzhiError as exc:
            st.error(exc.user_message)
            return
        cached = (stamp, report)
        st.session_state[_CHECK_CACHE] = cached
    render_check_report(cached[1], session=session, key="draft-check")
