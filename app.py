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
from ui.common import workspace  # noqa: E402

st.set_page_config(page_title="述职 · 抓基层党建工作述职报告助手", page_icon=":material/description:", layout="wide")

# Widget values that must survive switching pages (Streamlit drops the state of widgets a page does not show).
PERSISTENT_KEYS = ("notes_text", "draft_genre", "draft_year", "draft_markdown", "rewrite_text", "rewrite_notes", "rewrite_draft",
                   "check_text", "check_notes", "check_year")
DEFAULTS: dict[str, object] = {"notes_text": "", "plan": None, "plan_gen": 0, "draft_result": None, "last_year": None,
                               "rewrite_text": "", "rewrite_notes": "", "rewrite_draft": "",
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
    status = workspace().model_status()  # a broken configuration is explained on the page (ui.common.llm_config)
    with st.sidebar:
        if not status.configured:
            st.caption(":material/cloud_off: 未配置大模型：可检索、出提纲、检查、导出")
        else:
            st.caption(f":material/cloud_done: 模型：{status.model}")


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
