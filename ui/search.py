"""Page 范文检索: hybrid search over the example corpus, filtered by section kind (no model needed); each
passage can be copied or inserted into the section of the current draft the user works on."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import SECTION_KINDS, Hit, ShuzhiError
from ui.common import kind_label, md_escape, show_error, workspace
from ui.state import CURRENT_SECTION, PAGE_DRAFT, current_session

st.header("范文检索")
st.caption("在范文库中按语义和关键词检索片段，可按部分类型过滤。范文只借鉴写法，不照抄事实。")
with st.form("search"):
    query = st.text_input("检索内容", placeholder="例如：理论学习不够深入，学用脱节")
    c1, c2 = st.columns([2, 1])
    kind = c1.selectbox("部分类型", ["（全部）", *SECTION_KINDS], format_func=lambda k: k if k == "（全部）" else kind_label(k))
    k = c2.number_input("条数", min_value=1, max_value=30, value=5)
    submitted = st.form_submit_button("检索", type="primary")
if submitted:
    try:
        st.session_state.search_hits = workspace().search(query, kind=None if kind == "（全部）" else kind, k=int(k))
    except ShuzhiError as exc:
        show_error(exc)
        st.session_state.pop("search_hits", None)

inserted = st.session_state.pop("search_inserted", None)
if inserted:
    st.success(inserted, icon=":material/check_circle:")
    st.page_link(PAGE_DRAFT, label="到「起草初稿」改写这一节", icon=":material/edit_note:")

hits: list[Hit] | None = st.session_state.get("search_hits")
if hits == []:
    st.info("没有找到匹配的范文片段。")
if hits:
    session = current_session()
    section_key = st.session_state.get(CURRENT_SECTION)
    section = session.section(section_key) if session is not None and section_key else None
    if section is None:
        why = ("还没有打开的草稿：请先在「起草初稿」页生成提纲。" if session is None or session.plan is None
               else "还没有选定要插入的节：请先在「起草初稿」页点一节开始修改。")
        st.caption(f"插入到当前节：{why}")
    else:
        st.caption(f"“插入到当前节”会把片段加到「{md_escape(section.heading or kind_label(section.kind))}」的末尾。"
                   "范文只借鉴写法，插入后请改写为本单位的事实。")
    ws = workspace()
    for n, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        with st.container(border=True):
            theme = f" · {md_escape(chunk.theme)}" if chunk.theme else ""
            st.markdown(f"**{n}. {md_escape(kind_label(chunk.kind))}**{theme}")
            year = f"{chunk.year}年 ｜ " if chunk.year else ""
            st.caption(f"来源：{md_escape(ws.document_title(chunk))} ｜ {year}"
                       f"位置：{md_escape(chunk.heading_path) or '（无标题）'}")
            st.code(chunk.text, language=None, wrap_lines=True)  # escaped; its corner button copies it
            if st.button("插入到当前节", key=f"insert-{n}-{chunk.id}", icon=":material/playlist_add:",
                         disabled=section is None,
                         help="加到当前节的末尾（原来的文字保留在历史版本中）；范文只借鉴写法，插入后请改写为本单位的事实。"
                         if section is not None else "请先在「起草初稿」页选定一节。") \
                    and session is not None and section is not None:
                try:
                    ws.insert_passage(session.id, section.key, chunk.text)
                except ShuzhiError as exc:
                    show_error(exc)
                else:
                    st.session_state.search_inserted = (
                        f"已插入到「{section.heading or kind_label(section.kind)}」的末尾。"
                        "范文只借鉴写法，请把它改写为本单位的事实。")
                    st.rerun()
