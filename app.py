"""Streamlit shell over the shuzhi core. Pages call the core and hold no domain logic."""

from __future__ import annotations

import os
import queue
import threading
from typing import Any

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # before chromadb is imported anywhere

import streamlit as st

from shuzhi.config import REPO_ROOT, get_settings
from shuzhi.errors import ShuzhiError
from shuzhi.models import SECTION_KINDS, DraftEvents, SearchFilters, SectionDraft

st.set_page_config(page_title="述职 · 抓基层党建工作述职报告助手", page_icon=":material/description:", layout="wide")

KIND_LABELS = {
    "title": "标题", "opening": "开头", "achievements": "主要做法和成效", "rectification": "问题整改情况",
    "problems": "存在问题", "causes": "原因分析", "next_steps": "下一步打算", "closing": "结束语",
}
EXAMPLE_NOTES = REPO_ROOT / "examples" / "notes_jiguan_2024.md"


# ------------------------------------------------------------------ shared resources
@st.cache_resource(show_spinner="正在打开范文库……")
def get_index() -> Any:
    from shuzhi.draft import ensure_index

    return ensure_index(get_settings())


def llm_config() -> Any:
    from shuzhi.llm import resolve_llm_config

    return resolve_llm_config(get_settings())


def init_state() -> None:
    defaults = {"notes_text": "", "plan": None, "drafts": {}, "draft_result": None, "rewrite_text": "",
                "check_text": "", "check_notes": ""}
    for key, value in defaults.items():
        if key not in st.session_state:
            st.session_state[key] = value


def show_error(exc: ShuzhiError) -> None:
    st.error(exc.user_message)


def model_banner() -> bool:
    config = llm_config()
    if config is None:
        st.info("未配置大模型：检索、提纲、检查、导出都可用；生成正文和自动改写需要在「设置」页说明的环境变量中配置模型接口。")
        return False
    return True


# ------------------------------------------------------------------ page: draft
def page_draft() -> None:
    st.header("起草初稿")
    st.caption("粘贴工作笔记（要点、数字、问题、明年打算），先生成提纲，确认后逐节生成初稿。所有事实只来自你的笔记。")
    col_notes, col_opts = st.columns([3, 1])
    with col_opts:
        year = st.number_input("述职年度", min_value=2000, max_value=2100, value=None, step=1,
                               placeholder="从笔记识别")
        if st.button("载入示例笔记"):
            st.session_state.notes_text = EXAMPLE_NOTES.read_text(encoding="utf-8")
            st.rerun()
    with col_notes:
        st.text_area("工作笔记", key="notes_text", height=280,
                     placeholder="例如：\n- 全年集中学习24次，专题研讨8次\n- 发展党员2名\n问题：主题党日形式单一\n下一步：……")
    if st.button("生成提纲", type="primary"):
        make_plan(st.session_state.notes_text, int(year) if year else None)
    plan = st.session_state.plan
    if plan is None:
        return
    plan = edit_plan(plan)
    has_model = model_banner()
    if st.button("生成初稿", type="primary", disabled=False):
        run_draft(plan, has_model)
    show_draft_result()


def make_plan(notes_text: str, year: int | None) -> None:
    from shuzhi.draft import similarity_classifier
    from shuzhi.notes import parse_notes
    from shuzhi.plan import build_plan

    try:
        notes = parse_notes(notes_text, year=year, classify=similarity_classifier(get_index()))
    except ShuzhiError as exc:
        show_error(exc)
        return
    st.session_state.parsed_notes = notes
    st.session_state.plan = build_plan(notes, year)
    st.session_state.draft_result = None


def edit_plan(plan: Any) -> Any:
    from dataclasses import replace

    st.subheader("提纲（可修改）")
    title = st.text_input("标题", value=plan.title)
    sections = []
    for section in plan.sections:
        kind_label = KIND_LABELS.get(section.kind, section.kind)
        label = f"{kind_label}｜{section.heading}" if section.heading and section.heading != kind_label else kind_label
        if section.level == 2:
            label = "　└ " + label
        with st.expander(label, expanded=False):
            heading = st.text_input("小标题", value=section.heading, key=f"h-{section.key}") if section.heading \
                else section.heading
            notes = st.text_area("本节事实（每行一条）", value="\n".join(section.notes), key=f"n-{section.key}")
            sections.append(replace(section, heading=heading,
                                    notes=tuple(n.strip() for n in notes.splitlines() if n.strip())))
    edited = replace(plan, title=title, sections=tuple(sections))
    st.session_state.plan = edited
    return edited


def run_draft(plan: Any, has_model: bool) -> None:
    from shuzhi.draft import draft_report

    settings = get_settings()
    index = get_index()
    if not has_model:
        result = draft_report(plan, index=index, settings=settings, notes_text=st.session_state.notes_text)
        st.session_state.draft_result = result
        return
    events: queue.Queue[tuple[str, Any]] = queue.Queue()
    holder: dict[str, Any] = {}
    notes_text = st.session_state.notes_text  # read on the script thread; workers must not touch st

    def work() -> None:
        try:
            holder["result"] = draft_report(
                plan, index=index, settings=settings, notes_text=notes_text,
                events=DraftEvents(on_section_start=lambda k: events.put(("start", k)),
                                   on_token=lambda k, t: events.put(("token", (k, t))),
                                   on_section_done=lambda d: events.put(("done", d))))
        except ShuzhiError as exc:
            holder["error"] = exc
        finally:
            events.put(("end", None))

    boxes: dict[str, Any] = {}
    texts: dict[str, str] = {}
    with st.status("正在逐节生成……", expanded=True) as status:
        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        while True:
            kind, payload = events.get()
            if kind == "end":
                break
            if kind == "start":
                boxes[payload] = st.empty()
                texts[payload] = ""
            elif kind == "token":
                key, token = payload
                texts[key] = texts.get(key, "") + token
                boxes.setdefault(key, st.empty()).markdown(f"**{key}**\n\n{texts[key]}")
            elif kind == "done":
                draft: SectionDraft = payload
                mark = "✗ " + draft.error if draft.error else "✓"
                boxes.setdefault(draft.key, st.empty()).markdown(f"**{draft.key}** {mark}")
        thread.join()
        status.update(label="生成结束", state="complete")
    if "error" in holder:
        show_error(holder["error"])
        return
    st.session_state.draft_result = holder.get("result")


def show_draft_result() -> None:
    result = st.session_state.draft_result
    if result is None:
        return
    if not result.model_configured:
        st.warning(result.message)
        st.subheader("各节事实与参考范文")
        for job in result.jobs:
            with st.expander(f"{KIND_LABELS.get(job.section.kind)}｜{job.section.heading or job.section.key}"):
                st.markdown("**本节事实**\n" + "\n".join(f"- {n}" for n in job.section.notes) if job.section.notes
                            else "（无）")
                for hit in job.exemplars:
                    st.caption(f"{hit.chunk.source} › {hit.chunk.heading_path}")
                    st.write(hit.chunk.text)
        return
    if result.message:
        st.warning(result.message)
    from shuzhi.export import assemble_report, export_docx, report_to_markdown

    doc = assemble_report(result.plan.title, result.sections, result.plan)
    markdown = report_to_markdown(doc)
    st.subheader("初稿")
    edited = st.text_area("可直接修改", value=markdown, height=500, key="draft_markdown")
    c1, c2 = st.columns(2)
    c1.download_button("下载 Markdown", edited.encode("utf-8"), file_name="述职报告.md", mime="text/markdown")
    from shuzhi.export import markdown_to_report

    c2.download_button("下载 Word（公文格式）", export_docx(markdown_to_report(edited)), file_name="述职报告.docx",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    show_checks(edited, st.session_state.get("parsed_notes"), result.plan.year)


def show_checks(draft_text: str, notes: Any, year: int | None) -> None:
    from shuzhi.checks import run_checks

    index = get_index()
    report = run_checks(draft_text, notes=notes, year=year, corpus_texts=index.corpus_texts())
    st.subheader("检查结果")
    (st.error if report.blocking else st.success)(report.summary_zh)
    for finding in report.findings:
        icon = {"block": ":red[**阻断**]", "warn": ":orange[**提示**]", "info": ":gray[说明]"}.get(finding.severity, "")
        st.markdown(f"{icon} {finding.message}" + (f"  \n`{finding.evidence}`" if finding.evidence else ""))
    if report.ledger:
        st.markdown("**事实台账**（笔记中的每个数字是否写进了草稿）")
        st.dataframe([{"数字": e.figure_raw, "笔记原文": e.note_line, "状态": "已写入" if e.status == "found" else "缺失",
                       "草稿中": e.draft_evidence} for e in report.ledger], hide_index=True, use_container_width=True)


# ------------------------------------------------------------------ page: rewrite
def page_rewrite() -> None:
    from shuzhi.rewrite import rewrite_section

    st.header("改写“存在问题及原因”")
    st.caption("先按评审常见意见逐条诊断，再（配置模型后）改写为具体、有自我批评的表述；原文的数字和名称一律保留。")
    st.text_area("需要改写的段落", key="rewrite_text", height=220)
    notes = st.text_area("相关笔记（可选）", key="rewrite_notes", height=100)
    has_model = model_banner()
    label = "诊断并改写" if has_model else "诊断"
    if st.button(label, type="primary"):
        try:
            result = rewrite_section(st.session_state.rewrite_text, notes_text=notes, index=get_index())
        except ShuzhiError as exc:
            show_error(exc)
            return
        st.subheader("诊断")
        for finding in result.diagnosis:
            st.markdown(f"- {finding.message}" + (f"（原文：{finding.evidence}）" if finding.evidence else ""))
        if not result.diagnosis:
            st.success("未发现明显问题。")
        if result.error:
            st.error(result.error)
        if result.message:
            st.warning(result.message)
        if result.rewritten:
            st.subheader("改写稿")
            st.text_area("改写稿", value=result.rewritten, height=300)
            st.code(result.diff, language="diff")


# ------------------------------------------------------------------ page: check
def page_check() -> None:
    from shuzhi.notes import parse_notes

    st.header("检查草稿")
    st.caption("事实台账、编造的数字、遗留占位符、与范文雷同、结构、时效、第一人称和问题部分的质量。")
    draft = st.text_area("草稿全文", key="check_text", height=300)
    notes_text = st.text_area("工作笔记（用于核对数字，可选）", key="check_notes", height=150)
    year = st.number_input("述职年度", min_value=2000, max_value=2100, value=None, step=1, key="check_year")
    if st.button("检查", type="primary"):
        if not draft.strip():
            st.error("请先粘贴草稿。")
            return
        try:
            notes = parse_notes(notes_text, year=int(year) if year else None) if notes_text.strip() else None
        except ShuzhiError as exc:
            show_error(exc)
            return
        show_checks(draft, notes, int(year) if year else (notes.meta.year if notes else None))


# ------------------------------------------------------------------ page: search
def page_search() -> None:
    st.header("范文检索")
    st.caption("在范文库中按语义和关键词检索片段，可按部分类型过滤。")
    with st.form("search"):
        query = st.text_input("检索内容", placeholder="例如：理论学习不够深入，学用脱节")
        c1, c2 = st.columns([2, 1])
        kind = c1.selectbox("部分类型", ["（全部）", *SECTION_KINDS],
                            format_func=lambda k: KIND_LABELS.get(k, k))
        k = c2.number_input("条数", min_value=1, max_value=30, value=5)
        submitted = st.form_submit_button("检索", type="primary")
    if not submitted:
        return
    try:
        hits = get_index().search(query, SearchFilters(kind=None if kind == "（全部）" else kind), k=int(k))
    except ShuzhiError as exc:
        show_error(exc)
        return
    if not hits:
        st.info("没有找到匹配的范文片段。")
    for n, hit in enumerate(hits, start=1):
        with st.container(border=True):
            st.markdown(f"**{n}. {KIND_LABELS.get(hit.chunk.kind, hit.chunk.kind)}**"
                        + (f" · {hit.chunk.theme}" if hit.chunk.theme else ""))
            st.caption(f"来源：{hit.chunk.source} ｜ 位置：{hit.chunk.heading_path or '（无标题）'}")
            st.write(hit.chunk.text)


# ------------------------------------------------------------------ page: settings
def page_settings() -> None:
    from shuzhi.llm import load_presets

    st.header("设置")
    config = llm_config()
    st.subheader("大模型接口")
    if config is None:
        st.warning("未配置。")
    else:
        st.success(f"已配置：{config.base_url} ｜ 模型 {config.model}")
    st.markdown(
        "在启动前设置环境变量（或项目根目录的 `.env` 文件）：`OPENAI_BASE_URL`、`OPENAI_API_KEY`、`SHUZHI_MODEL`，"
        "或用 `SHUZHI_PROVIDER` 选择预设。密钥不会写入磁盘、日志、索引或导出文件。")
    st.table([{"预设": p.name, "名称": p.label, "接口地址": p.base_url, "默认模型": p.model}
              for p in load_presets().values()])
    st.subheader("范文库")
    index = get_index()
    st.write(f"已索引文档：{len(index.documents())} 篇")
    if st.button("重新索引"):
        with st.spinner("正在索引……"):
            report = index.build()
        st.success(f"片段 {report.chunks} 个，本次新嵌入 {report.embedded} 个，用时 {report.seconds:.1f} 秒。")
        for warning in report.warnings:
            st.warning(warning)


def main() -> None:
    init_state()
    pages = [
        st.Page(page_draft, title="起草初稿", icon=":material/edit_note:", default=True),
        st.Page(page_rewrite, title="改写问题部分", icon=":material/build:", url_path="rewrite"),
        st.Page(page_check, title="检查草稿", icon=":material/fact_check:", url_path="check"),
        st.Page(page_search, title="范文检索", icon=":material/search:", url_path="search"),
        st.Page(page_settings, title="设置", icon=":material/settings:", url_path="settings"),
    ]
    st.navigation(pages).run()


main()
