"""Page 检查草稿: the current draft (or a pasted / uploaded one) checked — fact ledger, findings linked to
their sections — plus Markdown / Word export (no model needed)."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import ShuzhiError
from ui.common import download_buttons, render_check_report, run_check_report, show_error, workspace
from ui.state import PAGE_DRAFT, current_markdown, current_session

CURRENT = "当前草稿"
PASTED = "粘贴或上传"

st.header("检查草稿")
st.caption("事实台账、无出处的数字、遗留占位符、与范文雷同、结构、时效、第一人称和问题部分的质量。不需要大模型。")

session = current_session()
markdown = current_markdown() if session is not None else ""
has_draft = bool(markdown.strip()) and session is not None and any(s.text.strip() for s in session.sections)
mode = st.segmented_control("检查哪一份草稿", [CURRENT, PASTED], default=CURRENT if has_draft else PASTED,
                            key="check_mode") or (CURRENT if has_draft else PASTED)

if mode == CURRENT:
    if session is None or not has_draft:
        st.info("还没有起草的草稿：请先在「起草初稿」页生成，或选择「粘贴或上传」检查一份已有的草稿。",
                icon=":material/info:")
        st.page_link(PAGE_DRAFT, label="去起草初稿", icon=":material/edit_note:")
    else:
        st.caption(f"检查「{session.title}」的当前文字（含您的修改），并用这份草稿的笔记和提纲核对数字。")
        if st.button("检查当前草稿", type="primary"):
            plan = session.plan
            year = (plan.year if plan is not None else None) or session.meta.get("year")
            try:
                report = run_check_report(markdown, session.notes, int(year) if year else None, plan=plan,
                                          session_id=session.id)
            except ShuzhiError as exc:
                show_error(exc)
            else:
                st.session_state.check_result = {"mode": CURRENT, "sid": session.id, "text": markdown,
                                                  "report": report}
else:
    upload = st.file_uploader("上传草稿（.md、.txt、.docx）", type=["md", "txt", "docx"], key="check_upload",
                              help="读入后放进下面的文本框，可以先修改再检查。")
    if upload is not None and st.session_state.get("check_upload_seen") != upload.file_id:
        st.session_state.check_upload_seen = upload.file_id
        warnings: list[str] = []
        try:
            st.session_state.check_text = workspace().read_draft_data(upload.name, upload.getvalue(),
                                                                      warnings=warnings)
        except ShuzhiError as exc:
            show_error(exc)
        else:
            st.success(f"已读入「{upload.name}」。")
            for warning in warnings:  # lines in another encoding, control characters removed
                st.warning(warning)
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
                report = run_check_report(draft, notes_text if notes_text.strip() else None,
                                          int(year) if year else None, last_year=last_year)
            except ShuzhiError as exc:
                show_error(exc)
            else:
                st.session_state.check_result = {"mode": PASTED, "inputs": (draft, notes_text, year), "text": draft,
                                                 "report": report}

checked = st.session_state.get("check_result")
if checked is not None and checked["mode"] == mode:
    linked = None
    if checked["mode"] == CURRENT:
        if session is None or checked.get("sid") != session.id:
            checked = None  # another draft is open now
        else:
            linked = session
            if checked["text"] != markdown:
                st.info("草稿已修改，下面是上一次的检查结果；请重新点击「检查当前草稿」。", icon=":material/update:")
    elif checked["inputs"] != (draft, notes_text, year):
        st.info("草稿或笔记已修改，下面是上一次的检查结果；请重新点击「检查」。", icon=":material/update:")
    if checked is not None:
        render_check_report(checked["report"], session=linked, key="check")
        st.subheader("导出")
        text = markdown if checked["mode"] == CURRENT else (draft if draft.strip() else checked["text"])
        st.caption("导出检查的这份草稿（含您的修改）；Word 按公文格式排版。")
        download_buttons(text, "述职报告", key="check")
