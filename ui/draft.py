"""Page 起草初稿: notes → editable plan → section-by-section draft (streamed), retry, citations, export."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import streamlit as st

from shuzhi.api import (
    EXAMPLES_DIR,
    DraftEvents,
    DraftOutcome,
    LastYearReport,
    Plan,
    SectionDraft,
    ShuzhiError,
    StoredSession,
)
from ui.common import (
    download_buttons,
    kind_label,
    llm_config,
    md_escape,
    model_banner,
    render_check_report,
    run_check_report,
    show_error,
    workspace,
)

EXAMPLE_NOTES = EXAMPLES_DIR / "notes_jiguan_2024.md"


def section_label(kind: str, heading: str, key: str = "") -> str:
    name = kind_label(kind)
    return f"{name}｜{heading}" if heading and heading != name else (name or key)


# ------------------------------------------------------------------ plan
def read_last_year(upload: Any, genre: str | None) -> LastYearReport | None:
    """The uploaded report of last year (None without one); raises ShuzhiError with a Chinese message."""
    if upload is None:
        return None
    return workspace().read_last_year_data(upload.name, upload.getvalue(), genre=genre)


def make_plan(notes_text: str, year: int | None, genre: str | None = None, last_year_upload: Any = None) -> None:
    ws = workspace()
    try:
        notes = ws.parse_notes(notes_text, year=year, genre=genre)
        last_year = read_last_year(last_year_upload, genre)
    except ShuzhiError as exc:
        show_error(exc)
        return
    st.session_state.parsed_notes = notes
    st.session_state.last_year = last_year
    st.session_state.pop("notes_previous", None)
    st.session_state.plan = ws.plan(notes, year, last_year=last_year)
    st.session_state.session_id = None  # the next draft starts a new session
    st.session_state.plan_gen += 1  # fresh widget keys: a keyed widget ignores a changed default value
    set_draft_result(None)


def edit_plan(plan: Plan) -> Plan:
    gen = st.session_state.plan_gen
    st.subheader("提纲（可修改）")
    notes = st.session_state.get("parsed_notes")
    ignored = getattr(notes, "removed", ())
    if ignored:
        st.info(f"已忽略笔记中的广告、水印等 {len(ignored)} 处，它们不会进入提纲和草稿。")
    if getattr(notes, "looks_like_report", False):
        st.info("输入看起来是一篇写好的报告而不是笔记；已按其章节提取事实，请核对提纲。")
    last_year = st.session_state.get("last_year")
    if last_year is not None:
        st.info(f"上年度报告「{last_year.source}」中的 {len(last_year.problems)} 个问题已列入“上年度问题整改情况”；"
                "笔记中没有整改内容的问题标为〔X〕，请补充。")
    for warning in workspace().plan_warnings(plan, last_year):
        st.warning(warning)
    if plan.excluded:
        with st.expander(f"未作为事实的 {len(plan.excluded)} 行（链接、写给自己的备注）"):
            st.caption("这些行不会交给模型。若其中有要写进报告的内容，请复制到下面相应一节的“本节事实”中。")
            for line in plan.excluded:
                st.markdown(f"- {md_escape(line)}")
    title = st.text_input("标题", value=plan.title, key=f"title-{gen}")
    sections = []
    for section in plan.sections:
        label = section_label(section.kind, section.heading, section.key)
        if section.level == 2:
            label = "　└ " + label
        with st.expander(label, expanded=False):
            heading = st.text_input("小标题", value=section.heading, key=f"h-{gen}-{section.key}") \
                if section.heading else section.heading
            notes = st.text_area("本节事实（每行一条）", value="\n".join(section.notes), key=f"n-{gen}-{section.key}")
            if section.context:
                st.caption("本节要呼应的问题：" + "；".join(md_escape(c) for c in section.context))
            sections.append(replace(section, heading=heading,
                                    notes=tuple(n.strip() for n in notes.splitlines() if n.strip())))
    edited = replace(plan, title=title, sections=tuple(sections))
    st.session_state.plan = edited
    return edited


# ------------------------------------------------------------------ drafting
def set_draft_result(result: DraftOutcome | None) -> None:
    """Store a new result and put its Markdown into the editor (the editor is re-filled only here)."""
    st.session_state.draft_result = result
    if result is not None:
        st.session_state.session_id = result.session_id
    if result is not None and result.model_configured:
        st.session_state.draft_markdown = workspace().assemble(result.plan, result.sections)
    else:
        st.session_state.pop("draft_markdown", None)


def stream_sections(plan: Plan, work: Callable[[DraftEvents], DraftOutcome], label: str) -> DraftOutcome | None:
    """Run `work` in a thread and show each section's tokens as they arrive. Returns its result or None."""
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
                boxes[payload].markdown(f"**{names.get(payload, payload)}** ……")
            elif kind == "token":
                key, token = payload
                texts[key] = texts.get(key, "") + token
                boxes.setdefault(key, st.empty()).markdown(f"**{names.get(key, key)}**\n\n{md_escape(texts[key])}")
            elif kind == "done":
                draft: SectionDraft = payload
                mark = f":red[✗ {draft.error}]" if draft.error else ":green[✓]"
                boxes.setdefault(draft.key, st.empty()).markdown(f"**{names.get(draft.key, draft.key)}** {mark}")
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


def run_draft(plan: Plan) -> None:
    ws = workspace()  # resolved on the script thread; workers must not touch st
    notes_text = st.session_state.notes_text
    session_id = st.session_state.get("session_id")
    last_year = st.session_state.get("last_year")
    if llm_config() is None:
        set_draft_result(ws.draft(plan, notes_text, session_id=session_id, last_year=last_year))
        return
    result = stream_sections(plan, lambda events: ws.draft(plan, notes_text, session_id=session_id, events=events,
                                                          last_year=last_year),
                             "正在逐节生成……")
    if result is not None:
        set_draft_result(result)


def run_retry(result: DraftOutcome) -> None:
    if llm_config() is None:
        st.error("未配置大模型，无法重试。")
        return
    ws = workspace()
    new = stream_sections(result.plan, lambda events: ws.retry(result.session_id, events), "正在重试失败的节……")
    if new is not None:
        set_draft_result(new)
        st.rerun()


def apply_restored_draft() -> bool:
    """Put a session the settings page restored (st.session_state.draft_restore) into this page."""
    saved: StoredSession | None = st.session_state.pop("draft_restore", None)
    if saved is None or saved.plan is None:
        return False
    st.session_state.plan = saved.plan
    st.session_state.last_year = saved.last_year
    st.session_state.plan_gen += 1  # fresh plan-editor widgets showing the restored plan
    sections = tuple(workspace().session_drafts(saved))
    set_draft_result(DraftOutcome(saved.id, saved.plan, (), sections, model_configured=bool(sections)))
    return True


# ------------------------------------------------------------------ result
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
                st.markdown(md_escape(hit.chunk.text))


def show_citations(result: DraftOutcome) -> None:
    ws = workspace()
    with st.expander("参考的范文片段", icon=":material/menu_book:"):
        st.caption("生成每一节时提供给模型参考写法的范文片段（只借鉴写法，事实全部来自笔记）。")
        for draft in result.sections:
            chunks = ws.chunks(draft.citations)
            st.markdown(f"**{section_label(draft.kind, draft.heading, draft.key)}**")
            st.caption("；　".join(f"{md_escape(c.source)} › {md_escape(c.heading_path) or '（无标题）'}"
                                  for c in chunks) or "（未使用范文片段）")


def show_draft_result() -> None:
    result = st.session_state.draft_result
    if result is None:
        return
    if not result.model_configured:
        show_without_model(result)
        return
    failed = result.failed
    if failed:
        st.error(result.message or f"{len(failed)} 节未能生成。")
        for draft in failed:
            st.markdown(f"- :red[✗] **{section_label(draft.kind, draft.heading, draft.key)}**：{draft.error}")
        if st.button("重试失败的节", type="primary", icon=":material/refresh:"):
            run_retry(result)
    elif result.message:
        st.warning(result.message)
    st.caption(f"笔记和每一节草稿已自动保存（会话 {result.session_id}）。")
    st.subheader("初稿")
    if "draft_markdown" not in st.session_state:  # e.g. the editor was never shown in this session
        set_draft_result(result)
    edited = st.text_area("可直接修改", key="draft_markdown", height=500)
    download_buttons(edited, "述职报告", key="draft")
    show_citations(result)
    # The same check as `shuzhi draft`: the notes plus facts typed into the (edited) plan.
    current_plan = st.session_state.get("plan") or result.plan
    render_check_report(run_check_report(edited, st.session_state.get("notes_text", ""), plan=current_plan,
                                         session_id=result.session_id))


# ------------------------------------------------------------------ page
st.header("起草初稿")
st.caption("粘贴工作笔记（要点、数字、问题、明年打算），先生成提纲，确认后逐节生成初稿。所有事实只来自你的笔记。")
if apply_restored_draft():
    st.session_state.pop("notes_restored", None)
    st.success("已从草稿历史恢复笔记、提纲和初稿，可以继续修改，或重试失败的节。", icon=":material/restore:")
elif st.session_state.pop("notes_restored", False):
    st.success("已从草稿历史恢复笔记，可以重新生成提纲。", icon=":material/restore:")
if st.session_state.get("notes_previous"):
    c_info, c_undo = st.columns([3, 1], vertical_alignment="center")
    c_info.caption("恢复历史笔记前，文本框里原有的笔记已暂存。")
    if c_undo.button("换回原来的笔记"):
        st.session_state.notes_text = st.session_state.pop("notes_previous")
        st.rerun()
col_notes, col_opts = st.columns([3, 1])
with col_opts:
    default_genre = workspace().settings.genre
    genres = {g.name: g.title for g in sorted(workspace().genres(), key=lambda g: g.name != default_genre)
              if not g.error}
    genre_name = st.selectbox("文体", list(genres), format_func=lambda n: genres.get(n, n), key="draft_genre",
                              help="要写的材料：述职报告、民主生活会个人对照检查材料……（文体文件见 genres/）")
    year = st.number_input("年度", min_value=2000, max_value=2100, value=None, step=1,
                           placeholder="从笔记识别", key="draft_year")
    last_year_upload = st.file_uploader(
        "上年度述职报告（可选）", type=["txt", "md", "docx"], key="last_year_upload",
        help="给出后，提纲增加“上年度问题整改情况”逐条回应其中的问题，检查时提示照搬上年度问题的句子")
    if st.button("载入示例笔记"):
        st.session_state.notes_text = EXAMPLE_NOTES.read_text(encoding="utf-8")
        st.rerun()
with col_notes:
    st.text_area("工作笔记", key="notes_text", height=280,
                 placeholder="例如：\n- 全年集中学习24次，专题研讨8次\n- 发展党员2名\n问题：主题党日形式单一\n下一步：……")
if st.button("生成提纲", type="primary"):
    make_plan(st.session_state.notes_text, int(year) if year else None, genre_name, last_year_upload)
current_plan = st.session_state.plan
if current_plan is not None:
    current_plan = edit_plan(current_plan)
    model_banner()
    if st.button("生成初稿", type="primary"):
        run_draft(current_plan)
    show_draft_result()
