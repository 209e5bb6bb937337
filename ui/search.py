"""Page 范文检索: hybrid search over the example corpus, filtered by section kind (no model needed)."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import SECTION_KINDS, Hit, ShuzhiError
from ui.common import kind_label, md_escape, show_error, workspace

st.header("范文检索")
st.caption("在范文库中按语义和关键词检索片段，可按部分类型过滤。范文只借鉴写法，不照抄事实。")
with st.form("search"):
    query = st.text_input("检索内容", placeholder="例如：理论学习不够深入，学用脱节")
    c1, c2 = st.columns([2, 1])
    kind = c1.selectbox("部分类型", ["（全部）", *SECTION_KINDS], format_func=lambda k: k if k == "（全部）" else kind_label(k))
    k = c2.number_input("条数", min_value=1, max_value=30, value=5)
    submitted = st.form_submit_button("检索", type="primary")
if submitted:
    hits: list[Hit] | None
    try:
        hits = workspace().search(query, kind=None if kind == "（全部）" else kind, k=int(k))
    except ShuzhiError as exc:
        show_error(exc)
        hits = None
    if hits == []:
        st.info("没有找到匹配的范文片段。")
    for n, hit in enumerate(hits or [], start=1):
        with st.container(border=True):
            st.markdown(f"**{n}. {kind_label(hit.chunk.kind)}**" + (f" · {hit.chunk.theme}" if hit.chunk.theme else ""))
            st.caption(f"来源：{md_escape(hit.chunk.source)} ｜ 位置：{md_escape(hit.chunk.heading_path) or '（无标题）'}")
            st.markdown(md_escape(hit.chunk.text))
