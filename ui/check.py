"""Page 检查草稿: fact ledger and findings for a pasted draft, plus Markdown / Word export (no model needed)."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import ShuzhiError
from ui.common import download_buttons, render_check_report, run_check_report, show_error, workspace

st.header("检查草稿")
st.caption("事实台账、编造的数字、遗留占位符、与范文雷同、结构、时效、第一人称和问题部分的质量。不需要大模型。")
draft = st.text_area("草稿全文", key="check_text", height=300,
                     placeholder="粘贴整篇述职报告（Markdown 或纯文本，“一、”“（一）”作标题均可）")
notes_text = st.text_area("工作笔记（用于核对数字，可选）", key="check_notes", height=150)
year = st.number_input("述职年度", min_value=2000, max_value=2100, value=None, step=1, key="check_year",
                       placeholder="从笔记或草稿识别")
last_year_upload = st.file_uploader("上年度述职报告（可选）", type=["txt", "md", "docx"], key="check_last_year",
                                    help="检查今年的问题是否照搬上年度的用语、上年度的问题是否都写了整改情况")

if st.button("检查", type="primary"):
    if not draft.strip():
        st.error("请先粘贴草稿。")
    else:
        try:
            last_year = (workspace().read_last_year_data(last_year_upload.name, last_year_upload.getvalue())
                         if last_year_upload is not None else None)
            report = run_check_report(draft, notes_text if notes_text.strip() else None, int(year) if year else None,
                                      last_year=last_year)
        except ShuzhiError as exc:
            show_error(exc)
        else:
            st.session_state.check_result = {"inputs": (draft, notes_text, year), "report": report}

checked = st.session_state.get("check_result")
if checked is not None:
    if checked["inputs"] != (draft, notes_text, year):
        st.info("草稿或笔记已修改，下面是上一次的检查结果；请重新点击「检查」。", icon=":material/update:")
    render_check_report(checked["report"])
    st.subheader("导出")
    text = draft if draft.strip() else checked["inputs"][0]
    st.caption("导出当前文本框中的草稿；Word 按公文格式排版（字体、字号、行距见 docx_style.yaml）。")
    download_buttons(text, "述职报告", key="check")
