"""A page that shows one stored session through ui/sections.py, as the drafting page does (for AppTest)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from ui.sections import render_generate, render_sections  # noqa: E402
from ui.state import current_session  # noqa: E402

session = current_session()
if session is None or session.plan is None:
    st.write("没有会话")
else:
    render_generate(session.id, session.plan)
    render_sections(session.id)
