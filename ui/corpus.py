"""Page 语料库: the example reports the drafts borrow their style from (being built: issue 8)."""

from __future__ import annotations

import streamlit as st

st.header("语料库")
st.caption("范文库的文档列表、上传和删除正在建设中；目前可在命令行用 `shuzhi index` 管理。")
