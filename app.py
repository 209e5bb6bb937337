"""Streamlit entry point of shuzhi: set-up, shared session state and navigation. The pages live in ui/."""

from __future__ import annotations

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
from ui.common import md_escape, workspace  # noqa: E402

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
    workspace().setup_logging()
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


def main() -> None:
    _logging_ready(str(load_settings().data_dir))
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
    inject_autosave()  # text typed is committed (and saved) within a second, without leaving the box
    page.run()


main()
