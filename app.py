"""Streamlit entry point of shuzhi: set-up, shared session state and navigation. The pages live in ui/."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # before chromadb is imported anywhere
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # the pages import ui.common (AppTest does not add the script's folder)
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from shuzhi.api import load_settings  # noqa: E402
from ui.autosave import inject_autosave  # noqa: E402
from ui.common import (  # noqa: E402
    current_user,
    logged_in_identity,
    md_escape,
    needs_login,
    process_workspace,
    workspace,
)

# A local image: a ":material/…:" page icon would make the browser fetch it from a font server.
FAVICON = ROOT / "assets" / "favicon.png"
st.set_page_config(page_title="述职 · 抓基层党建工作述职报告助手", page_icon=str(FAVICON), layout="wide")

# Text boxes of the 改写 and 检查 pages that must survive switching pages (Streamlit drops the state of widgets
# a page does not show). The drafting page's notes, meta, outline and sections live in the workspace store.
PERSISTENT_KEYS = ("rewrite_text", "rewrite_notes", "rewrite_draft", "check_text", "check_notes", "check_year")
DEFAULTS: dict[str, object] = {"rewrite_text": "", "rewrite_notes": "", "rewrite_draft": "",
                               "check_text": "", "check_notes": ""}


@st.cache_resource(show_spinner=False)
def _logging_ready(data_dir: str) -> bool:
    """Logging is set up once per process (and data directory)."""
    process_workspace().setup_logging()
    return True


def init_state() -> None:
    for key, value in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = value
    for key in PERSISTENT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def sidebar_status() -> None:
    """The model in use (this browser session's settings included), or 未配置, with a way to 设置."""
    ws = workspace()
    status = ws.model_status()  # a broken configuration is explained on the page (ui.common.llm_config)
    with st.sidebar:
        if not status.configured:
            st.caption(":material/cloud_off: 模型：未配置（提纲、检查、检索、导出照常可用）")
        else:
            own = "（本次会话设置）" if not ws.model_overrides.is_empty else ""
            st.caption(f":material/cloud_done: 模型：{md_escape(status.model)}{own}")


def login_page() -> None:
    """Several users with st.login configured: nothing but a way to log in until the user has."""
    st.header("述职 · 抓基层党建工作述职报告助手")
    st.info("本系统供单位多人共用，每人的笔记和草稿保存在自己的工作区里，请先登录。", icon=":material/lock:")
    if importlib.util.find_spec("authlib") is None:
        st.error("已在 .streamlit/secrets.toml 中配置了登录，但服务器上没有安装登录所需的 Authlib。"
                 "请管理员运行 .venv/bin/pip install \"Authlib>=1.3.2\" 后重新启动应用。")
        return
    st.button("登录", type="primary", icon=":material/login:", on_click=st.login)


def sidebar_user() -> None:
    """Several users: whose workspace this is, whether they may change the corpus, and how to come back."""
    ws = workspace()
    if ws.user_id is None:
        return
    with st.sidebar:
        if logged_in_identity() is not None:
            st.caption(f":material/person: 用户：{md_escape(ws.user_id)}")
            st.button("退出登录", icon=":material/logout:", on_click=st.logout)
        else:
            st.caption(":material/person: 本浏览器自己的工作区：请收藏当前网址（含 ?w=…），"
                       "用它回到自己的草稿；别人打开的是各自的工作区。")
        st.caption(":material/admin_panel_settings: 范文库管理员" if ws.is_admin else ":material/visibility: 范文库只读")


def main() -> None:
    settings = load_settings()
    _logging_ready(str(settings.data_dir))
    if needs_login(settings):
        login_page()
        return
    current_user(settings)  # the browser's ?w=… back in the address after a page switch cleared it
    init_state()
    pages = [
        st.Page("ui/draft.py", title="起草初稿", icon=":material/edit_note:", default=True),
        st.Page("ui/rewrite.py", title="改写问题部分", icon=":material/build:"),
        st.Page("ui/check.py", title="检查草稿", icon=":material/fact_check:"),
        st.Page("ui/search.py", title="范文检索", icon=":material/search:"),
        st.Page("ui/corpus.py", title="语料库", icon=":material/library_books:"),
        st.Page("ui/history.py", title="草稿历史", icon=":material/history:"),
        st.Page("ui/settings.py", title="设置", icon=":material/settings:"),
    ]
    page = st.navigation(pages)
    sidebar_status()
    sidebar_user()
    inject_autosave()  # text typed is committed (and saved) within a second, without leaving the box
    page.run()


main()
