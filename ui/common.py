"""Shared pieces of the pages: the cached index, model status, check-report rendering, downloads."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from shuzhi.config import load_settings as get_settings
from shuzhi.errors import ShuzhiError

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SEVERITY_GROUPS = (
    ("block", ":red[**必须修改**]", "阻断性问题：编造的数字、广告或大段照抄范文等，提交前必须处理。"),
    ("warn", ":orange[**建议修改**]", "结构、第一人称、问题写得空泛等，评审常提的意见。"),
    ("info", ":gray[**说明**]", "检查过程中的说明，不需要处理。"),
)
PAGE_DRAFT = "ui/draft.py"
PAGE_SETTINGS = "ui/settings.py"


# ------------------------------------------------------------------ shared resources
@st.cache_resource(show_spinner="正在打开范文库（首次使用会先建立索引）……")
def _open_index(data_dir: str, corpus_dirs: tuple[str, ...]) -> Any:
    from shuzhi.index import ensure_index

    return ensure_index(get_settings())


def get_index() -> Any:
    """The corpus index, opened once per data directory and corpus (st.cache_resource)."""
    settings = get_settings()
    return _open_index(str(settings.data_dir), tuple(str(d) for d in settings.corpus_dirs))


def llm_config() -> Any:
    """The model settings, or None. A broken configuration (unknown preset, URL without model) is
    shown once as a Chinese error and treated as "no model", so every model-free feature keeps working."""
    from shuzhi.llm import resolve_llm_config

    try:
        return resolve_llm_config(get_settings())
    except ShuzhiError as exc:
        st.error(f"大模型配置有误：{exc.user_message}")
        return None


def kind_label(kind: str) -> str:
    from shuzhi.writing.plan import kind_name

    return kind_name(kind)


def md_escape(text: str) -> str:
    """User or corpus text shown through Markdown: no accidental emphasis, links, headings or LaTeX."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-!|$~:])", r"\\\1", text)


def show_error(exc: ShuzhiError) -> None:
    st.error(exc.user_message)


def model_banner() -> bool:
    """True when a model is configured; otherwise says what works without one."""
    if llm_config() is None:
        st.info("未配置大模型：检索、提纲、检查、导出 Word 都可以用；生成正文和自动改写需要先配置模型接口。",
                icon=":material/info:")
        st.page_link(PAGE_SETTINGS, label="查看配置方法（设置页）", icon=":material/settings:")
        return False
    return True


# ------------------------------------------------------------------ downloads
def download_buttons(text: str, stem: str, key: str) -> None:
    """Markdown and Word (公文格式) downloads of a draft; needs no model."""
    from shuzhi.export import export_docx, markdown_to_report

    c1, c2 = st.columns(2)
    c1.download_button("下载 Markdown", text.encode("utf-8"), file_name=f"{stem}.md", mime="text/markdown",
                       key=f"{key}-md", on_click="ignore", icon=":material/download:")
    try:
        docx = export_docx(markdown_to_report(text))
    except ShuzhiError as exc:
        c2.error(exc.user_message)
        return
    c2.download_button("下载 Word（公文格式）", docx, file_name=f"{stem}.docx", mime=DOCX_MIME,
                       key=f"{key}-docx", on_click="ignore", icon=":material/description:")


# ------------------------------------------------------------------ check report
def run_check_report(draft_text: str, notes: Any, year: int | None) -> Any:
    from shuzhi.checks import run_checks

    return run_checks(draft_text, notes=notes, year=year, corpus_texts=get_index().corpus_texts())


def render_check_report(report: Any) -> None:
    """Summary, findings grouped by severity, and the fact ledger."""
    st.subheader("检查结果")
    (st.error if report.blocking else st.success)(report.summary_zh)
    for severity, label, explain in SEVERITY_GROUPS:
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        with st.container(border=True):
            st.markdown(f"{label}（{len(group)} 处）")
            st.caption(explain)
            for n, finding in enumerate(group, start=1):
                where = f"〔{kind_label(finding.section)}〕" if finding.section else ""
                st.markdown(f"{n}\\. {where}{md_escape(finding.message)}")
                if finding.evidence:
                    st.caption(f"　　原文：{md_escape(finding.evidence)}")
    st.markdown("**事实台账**：笔记中的每个数字是否写进了草稿")
    if not report.ledger:
        st.caption("未提供笔记或笔记中没有数字，台账为空。")
        return
    st.dataframe([{"数字": e.figure_raw, "笔记原文": e.note_line, "状态": "✓ 已写入" if e.status == "found" else "✗ 缺失",
                   "草稿中": e.draft_evidence} for e in report.ledger], hide_index=True, width="stretch")
