"""Shared pieces of the pages: the cached index, who the user is, model status, check-report rendering, downloads.

Several users (SHUZHI_MULTI_USER=true): the base workspace (corpus index, embedding model) is opened once per
process and shared; each user's notes and drafts go to their own store (`Workspace.for_user`). The user is the
st.login identity when [auth] is configured in .streamlit/secrets.toml (e-mail, else sub), otherwise the browser's
own workspace id, kept in the address as ?w=… so F5 and a bookmark come back to it (see `browser_workspace_id`).
"""

from __future__ import annotations

import re
import secrets

import streamlit as st

from shuzhi.api import (
    CheckReport,
    Finding,
    LastYearReport,
    LLMConfig,
    ModelOverrides,
    Plan,
    Settings,
    ShuzhiError,
    StoredSession,
    Workspace,
    kind_name,
    load_settings,
)
from ui.state import (  # noqa: F401 - PAGE_DRAFT re-exported for the pages
    CURRENT_SECTION,
    MODEL_SETTINGS,
    PAGE_DRAFT,
    PAGE_REWRITE,
    PAGE_SETTINGS,
    REWRITE_TARGET,
)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SEVERITY_GROUPS = (
    ("block", ":red[**必须修改**]", "提交前必须处理：笔记里找不到出处的数字、广告文字、大段照抄范文等。"),
    ("warn", ":orange[**建议修改**]", "结构、第一人称、问题写得空泛等，评审常提的意见。"),
    ("info", ":gray[**说明**]", "检查过程中的说明，不需要处理。"),
)


WORKSPACE_PARAM = "w"  # ?w=<browser workspace id> (multi-user without st.login)
_BROWSER_ID = "_browser_workspace_id"  # the same id in st.session_state: page switches clear the query params
_BROWSER_ID_FORM = re.compile(r"^[A-Za-z0-9_-]{16,64}$")  # what token_urlsafe makes; never an e-mail or a path


# ------------------------------------------------------------------ who the user is
def auth_configured() -> bool:
    """Whether st.login can be used: an [auth] section in .streamlit/secrets.toml."""
    try:
        return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)
    except Exception:  # noqa: BLE001 - a broken secrets file means no login, the app keeps working
        return False


def logged_in_identity() -> str | None:
    """The st.login user's e-mail (else the provider's `sub`), or None when nobody is logged in."""
    try:
        if not st.user.is_logged_in:
            return None
        ident = st.user.get("email") or st.user.get("sub")
    except (AttributeError, KeyError):
        return None
    return str(ident) if ident else None


def browser_workspace_id() -> str:
    """This browser's own workspace id: the ?w=… of the address when it is one, else the one this browser
    session already has, else a new random one; written back into the address so F5 keeps it."""
    wanted = st.query_params.get(WORKSPACE_PARAM)
    if wanted is not None and _BROWSER_ID_FORM.match(wanted):
        wid = wanted
    else:
        held = st.session_state.get(_BROWSER_ID)
        wid = held if isinstance(held, str) and _BROWSER_ID_FORM.match(held) else secrets.token_urlsafe(16)
    st.session_state[_BROWSER_ID] = wid
    if wanted != wid:
        st.query_params[WORKSPACE_PARAM] = wid
    return wid


def needs_login(settings: Settings | None = None) -> bool:
    """Multi-user with st.login configured and nobody logged in yet: the app shows only its login page."""
    settings = settings or load_settings()
    return settings.multi_user and auth_configured() and logged_in_identity() is None


def current_user(settings: Settings | None = None) -> str | None:
    """Who this browser session works as: None with one user (the default); the st.login identity, or the
    browser's workspace id, with SHUZHI_MULTI_USER on."""
    settings = settings or load_settings()
    if not settings.multi_user:
        return None
    if auth_configured():
        ident = logged_in_identity()
        if ident is None:
            raise ShuzhiError("请先登录。", "multi-user with st.login configured, but nobody is logged in")
        return ident
    return browser_workspace_id()


# ------------------------------------------------------------------ shared resources
@st.cache_resource(show_spinner="正在打开范文库（首次使用会先建立索引）……")
def _base_workspace(data_dir: str, corpus_dirs: tuple[str, ...]) -> Workspace:
    """One workspace per data directory: its index (and embedding model) and store are opened once."""
    workspace = Workspace.open()
    workspace.ensure_index()
    return workspace


def process_workspace(settings: Settings | None = None) -> Workspace:
    """The shared workspace with the settings read now, belonging to no user (logging, the login page)."""
    settings = settings or load_settings()
    base = _base_workspace(str(settings.data_dir), tuple(str(d) for d in settings.corpus_dirs))
    return base.with_settings(settings)


def startup_workspace() -> Workspace:
    """This rerun's workspace with the settings read now (environment, .env), without the session's model settings:
    with several users, the user's own (their store, the shared index)."""
    settings = load_settings()
    base = process_workspace(settings)
    user = current_user(settings)
    return base.for_user(user) if user is not None else base


def model_overrides() -> ModelOverrides:
    """This browser session's model settings (set on 设置; held in st.session_state only, never written)."""
    overrides = st.session_state.get(MODEL_SETTINGS)
    return overrides if isinstance(overrides, ModelOverrides) else ModelOverrides()


def workspace() -> Workspace:
    """This rerun's workspace: the settings read now with this browser session's model settings over them;
    index and store shared. Every page and every model call goes through it."""
    base = startup_workspace()
    overrides = model_overrides()
    return base if overrides.is_empty else base.with_model(overrides)


def llm_config() -> LLMConfig | None:
    """The model settings, or None. A broken configuration (unknown preset, URL without model) is
    shown once as a Chinese error and treated as "no model", so every model-free feature keeps working."""
    status = workspace().model_status()
    if status.error:
        st.error(f"大模型配置有误：{status.error}")
        return None
    return workspace().model_config() if status.configured else None


def kind_label(kind: str) -> str:
    return kind_name(kind)


def md_escape(text: str) -> str:
    """User or corpus text shown through Markdown: no accidental emphasis, links, headings or LaTeX."""
    return re.sub(r"([\\`*_{}\[\]<>()#+\-!|$~:])", r"\\\1", text)


def show_error(exc: ShuzhiError) -> None:
    st.error(exc.user_message)


def model_banner() -> bool:
    """True when a model is configured; otherwise says exactly which buttons need one, with a link to 设置."""
    if llm_config() is None:
        st.info("未配置大模型。需要模型的按钮：生成初稿、重新生成、润色/扩写/缩写、自动改写；"
                "不需要模型、现在就能用的：提纲、检查、检索、导出 Word。",
                icon=":material/info:")
        st.page_link(PAGE_SETTINGS, label="到“设置”页填写模型接口", icon=":material/settings:")
        return False
    return True


# ------------------------------------------------------------------ downloads
def download_buttons(text: str, stem: str, key: str) -> None:
    """Markdown and Word (公文格式) downloads of a draft; needs no model."""
    c1, c2 = st.columns(2)
    c1.download_button("下载 Markdown", text.encode("utf-8"), file_name=f"{stem}.md", mime="text/markdown",
                       key=f"{key}-md", on_click="ignore", icon=":material/download:")
    try:
        docx = workspace().export_docx(text)
    except ShuzhiError as exc:
        c2.error(exc.user_message)
        return
    c2.download_button("下载 Word（公文格式）", docx, file_name=f"{stem}.docx", mime=DOCX_MIME,
                       key=f"{key}-docx", on_click="ignore", icon=":material/description:")


# ------------------------------------------------------------------ check report
def run_check_report(draft_text: str, notes_text: str | None, year: int | None = None, plan: Plan | None = None,
                     session_id: str | None = None, last_year: LastYearReport | None = None) -> CheckReport:
    """The same checks as `shuzhi check` / `shuzhi draft`: facts typed into an edited plan count as the user's;
    last year's report (given, or kept with the session) is answered as with `--last-year`."""
    return workspace().check(draft_text, notes_text, plan=plan, year=year, session_id=session_id, last_year=last_year)


def _finding_links(finding: Finding, session: StoredSession | None, key: str) -> None:
    """去修改 (and, for 存在问题及原因, 去改写) for a finding that names a section of the open draft."""
    if session is None or not finding.section:
        return
    ws = workspace()
    section_key = ws.section_key_for(session, str(finding.section))
    if section_key is None:
        return
    c1, c2, _ = st.columns([1, 1, 4])
    if c1.button("去修改", key=f"{key}-edit", icon=":material/edit:", help="到「起草初稿」页修改这一节"):
        st.session_state[CURRENT_SECTION] = section_key
        st.switch_page(PAGE_DRAFT)
    problems = ws.problem_keys(session)
    if section_key in problems and c2.button("去改写", key=f"{key}-rewrite", icon=":material/auto_fix_high:",
                                            help="到「改写问题部分」页改写存在问题及原因"):
        st.session_state[CURRENT_SECTION] = section_key
        st.session_state[REWRITE_TARGET] = problems[0]
        st.switch_page(PAGE_REWRITE)


def render_check_report(report: CheckReport, *, session: StoredSession | None = None, key: str = "report") -> None:
    """Summary, findings grouped by severity, and the fact ledger. With SESSION (the draft checked is that
    session's), each finding about a section links to it (去修改, 去改写)."""
    st.subheader("检查结果")
    (st.error if report.blocking else st.success)(md_escape(report.summary_zh))
    for severity, label, explain in SEVERITY_GROUPS:
        group = [f for f in report.findings if f.severity == severity]
        if not group:
            continue
        with st.container(border=True):
            st.markdown(f"{label}（{len(group)} 处）")
            st.caption(explain)
            for n, finding in enumerate(group, start=1):
                where = f"〔{md_escape(kind_label(finding.section))}〕" if finding.section else ""
                st.markdown(f"{n}\\. {where}{md_escape(finding.message)}")
                if finding.evidence:
                    st.caption(f"　　原文：{md_escape(finding.evidence)}")
                _finding_links(finding, session, f"{key}-{severity}-{n}")
    st.markdown("**事实台账**：笔记中的每个数字是否写进了草稿")
    if not report.ledger:
        st.caption("未提供笔记或笔记中没有数字，台账为空。")
        return
    st.dataframe([{"数字": e.figure_raw, "笔记原文": e.note_line, "状态": "✓ 已写入" if e.status == "found" else "✗ 缺失",
                   "草稿中": e.draft_evidence} for e in report.ledger], hide_index=True, width="stretch")
