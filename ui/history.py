"""Page 草稿历史: the saved sessions (being built: issue 8; the settings page still restores them)."""

from __future__ import annotations

import streamlit as st

st.header("草稿历史")
st.caption("历史会话的浏览、改名、复制和删除正在建设中；目前可在“设置”页恢复。")
