"""INTERIM version (replaced at merge by the per-section editor of issue 8 item 3): the 生成初稿 button with
streaming, the retry of failed sections, and the draft read from the store with downloads and the check.

`render_generate(session_id, plan)` and `render_sections(session_id)` are the contract the drafting page
calls; everything shown comes from the workspace store.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

import streamlit as st

from shuzhi.api import DraftEvents, DraftOutcome, Plan, SectionDraft, ShuzhiError
from ui.common import (
    download_buttons,
    kind_label,
    llm_config,
    md_escape,
    render_check_report,
    run_check_report,
    show_error,
    workspace,
)


def section_label(kind: str, heading: str, key: str = "") -> str:
    name = kind_label(kind)
    return f"{name}｜{heading}" if heading and heading != name else (name or key)


def stream_sections(plan: Plan, work: Callable[[DraftEvents], DraftOutcome], label: str) -> DraftOutcome | None:
    """Run `work` in a thread and show each section's progress as it arrives (model text only as plain text)."""
    names = {s.key: section_label(s.kind, s.heading, s.key) for s in plan.sections}
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    holder: dict[str, Any] = {}

    def run() -> None:  # worker thread: must not touch st
        try:
            holder["result"] = work(DraftEvents(on_section_start=lambda k: events.put(("start", k)),
                                                on_token=lambda k, t: events.put(("token", (k, t))),
                                                on_section_done=lambda d: events.put(("done", d))))
        except ShuzhiError as exc:
            holder["error"] = exc
        except Exception as exc:  # noqa: BLE001 - shown to the user, never swallowed silently
            holder["crash"] = exc
        finally:
            events.put(("end", None))

    boxes: dict[str, Any] = {}
    texts: dict[str, str] = {}
    with st.status(label, expanded=True) as status:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        while True:
            kind, payload = events.get()
            if kind == "end":
                break
            if kind == "start":
                boxes[payload] = st.empty()
                texts[payload] = ""
                boxes[payload].text(f"{names.get(payload, payload)} ……")
            elif kind == "token":
                key, token = payload
                texts[key] = texts.get(key, "") + token
                boxes.setdefault(key, st.empty()).text(f"{names.get(key, key)}\n{texts[key]}")
            elif kind == "done":
                draft: SectionDraft = payload
                mark = f"✗ {draft.error}" if draft.error else "✓"
                boxes.setdefault(draft.key, st.empty()).text(f"{names.get(draft.key, draft.key)} {mark}")
        thread.join()
        failed = "error" in holder or "crash" in holder or any(d.error for d in getattr(
            holder.get("result"), "sections", ()))
        status.update(label="生成结束" + ("（有节未能生成）" if failed else ""),
                      state="error" if failed else "complete", expanded=False)
    if "error" in holder:
        show_error(holder["error"])
        return None
    if "crash" in holder:
        st.error(f"生成时出现意外错误：{holder['crash']}。笔记已保留，可重试。")
        return None
    return holder.get("result")


def show_without_model(result: DraftOutcome) -> None:
    st.warning(result.message)
    st.caption(f"笔记和提纲已自动保存（会话 {result.session_id}）。")
    st.subheader("各节事实与参考范文")
    for job in result.jobs:
        with st.expander(section_label(job.section.kind, job.section.heading, job.section.key)):
            st.markdown("**本节事实**\n" + "\n".join(f"- {md_escape(n)}" for n in job.section.notes)
                        if job.section.notes else "（本节没有具体事实）")
            for hit in job.exemplars:
                st.caption(f"参考范文：{md_escape(hit.chunk.source)} › {md_escape(hit.chunk.heading_path) or '（无标题）'}")
                st.text(hit.chunk.text)


def render_generate(session_id: str, plan: Plan) -> None:
    """The 生成初稿 button: every section drafted (streamed) and saved in the session as it finishes."""
    if not st.button("生成初稿", type="primary"):
        return
    ws = workspace()  # resolved on the script thread; workers must not touch st
    session = ws.open_session(session_id)
    last_year = session.last_year
    if llm_config() is None:
        show_without_model(ws.draft(plan, session.notes, session_id=session_id, last_year=last_year))
        return
    stream_sections(plan, lambda events: ws.draft(plan, session.notes, session_id=session_id, events=events,
                                                 last_year=last_year), "正在逐节生成……")


def render_sections(session_id: str) -> None:
    """The session's drafted sections from the store: failures with 重试, the draft, downloads, the check."""
    ws = workspace()
    try:
        session = ws.open_session(session_id)
    except ShuzhiError as exc:
        show_error(exc)
        return
    drafts = ws.session_drafts(session)
    if session.plan is None or not drafts:
        return
    failed = [d for d in drafts if d.error or not d.complete]
    if failed:
        st.error(f"{len(failed)} 节未能生成。")
        for draft in failed:
            st.markdown(f"- :red[✗] **{md_escape(section_label(draft.kind, draft.heading, draft.key))}**："
                        f"{md_escape(draft.error or '未写完')}")
        if st.button("重试失败的节", type="primary", icon=":material/refresh:"):
            if llm_config() is None:
                st.error("未配置大模型，无法重试。")
            elif stream_sections(session.plan, lambda events: ws.retry(session_id, events),
                                 "正在重试失败的节……") is not None:
                st.rerun()
    st.caption(f"笔记和每一节草稿已自动保存（会话 {session_id}）。")
    st.subheader("初稿")
    markdown = ws.session_markdown(session_id)
    st.session_state["draft_markdown"] = markdown  # a preview of the store's text, never edited here
    st.text_area("初稿全文（只读预览）", key="draft_markdown", height=400, disabled=True)
    download_buttons(markdown, "述职报告", key="draft")
    with st.expander("参考的范文片段", icon=":material/menu_book:"):
        st.caption("生成每一节时提供给模型参考写法的范文片段（只借鉴写法，事实全部来自笔记）。")
        for draft in drafts:
            chunks = ws.chunks(draft.citations)
            st.markdown(f"**{md_escape(section_label(draft.kind, draft.heading, draft.key))}**")
            st.caption("；　".join(f"{md_escape(c.source)} › {md_escape(c.heading_path) or '（无标题）'}"
                                  for c in chunks) or "（未使用范文片段）")
    render_check_report(run_check_report(markdown, session.notes, plan=session.plan, session_id=session_id))
