"""Page 语料库: the example reports drafts borrow their style from — list, upload, remove, rebuild.

Everything goes through the workspace (`corpus_documents`, `add_corpus_files`, `remove_corpus_document`,
`rebuild_index`); corpus text and file names are shown escaped or as plain text, never as Markdown.
With several users (SHUZHI_MULTI_USER) the corpus is shared: only SHUZHI_ADMINS see upload, 删除 and
重新建立索引; everyone else reads it (the workspace refuses their changes as well).
"""

from __future__ import annotations

import streamlit as st

from shuzhi.api import CorpusDocument, CorpusUploadReport, ShuzhiError, UploadStatus, kind_name
from ui.common import md_escape, show_error, workspace

UPLOAD_KEY = "corpus_upload_gen"  # bumped after an upload: a fresh, empty file picker
RESULTS_KEY = "corpus_upload_results"  # the last upload's per-file results, shown above the list
CONFIRM_KEY = "corpus_confirm_delete"  # the doc id whose 删除 waits for confirmation
NOTICE_KEY = "corpus_notice"  # a success message that survives the rerun after a change
STATUS_ICONS = {UploadStatus.ADDED: "✓", UploadStatus.DUPLICATE: "＝", UploadStatus.REJECTED: "✗"}
READ_ONLY_TEXT = ("范文库由大家共用，只有管理员可以上传、删除范文或重新建立索引；您可以浏览这里的范文，"
                  "检索和起草时照常参考它们。需要加入范文时，请把文件交给管理员。")


def summary() -> None:
    ws = workspace()
    try:
        stats = ws.index_stats()
    except ShuzhiError as exc:
        show_error(exc)
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("范文", f"{stats.documents} 篇")
    c2.metric("片段", f"{stats.chunks} 个")
    c3.metric("语义检索", "已启用" if stats.dense else "未启用")
    if not stats.dense:
        st.warning("语义检索未启用，目前只用关键词检索；检索和范文匹配的效果会差一些。", icon=":material/warning:")
    for warning in ws.index_warnings():
        st.warning(warning)


def _show_results(results: list[tuple[str, str, str]]) -> None:
    for _name, status, message in results:
        text = f"{STATUS_ICONS.get(UploadStatus(status), '')} {md_escape(message)}"
        if status == UploadStatus.ADDED:
            st.success(text)
        elif status == UploadStatus.DUPLICATE:
            st.info(text)
        else:
            st.error(text)


def upload_section() -> None:
    st.subheader("上传范文")
    limit = workspace().settings.max_file_bytes / 1024 / 1024
    st.caption(f"可一次选择多篇往年的述职报告（.txt、.md、.docx，每个不超过 {limit:.0f} MB）。范文只用来借鉴写法，"
               "其中的事实不会写进您的报告。有问题的文件会单独说明原因，不影响其他文件加入。")
    gen = int(st.session_state.get(UPLOAD_KEY, 0))
    files = st.file_uploader("选择范文文件（可多选）", type=["txt", "md", "docx"], accept_multiple_files=True,
                             key=f"corpus_files_{gen}")
    if st.button("上传并加入范文库", type="primary", icon=":material/upload:", disabled=not files):
        bar = st.progress(0.0, text="准备中……")

        def on_progress(done: int, total: int, message: str) -> None:
            bar.progress(min(done / max(total, 1), 1.0), text=md_escape(message))

        try:
            report: CorpusUploadReport = workspace().add_corpus_files(
                [(f.name, f.getvalue()) for f in files or []], on_progress=on_progress)
        except ShuzhiError as exc:
            bar.empty()
            show_error(exc)
            return
        st.session_state[RESULTS_KEY] = [(r.name, str(r.status), r.message) for r in report.results]
        st.session_state[UPLOAD_KEY] = gen + 1
        st.rerun()
    results = st.session_state.get(RESULTS_KEY)
    if results:
        added = sum(1 for _, status, _ in results if status == UploadStatus.ADDED)
        st.markdown(f"**上次上传**：{len(results)} 个文件，加入 {added} 篇")
        _show_results(results)


def _delete_controls(doc: CorpusDocument) -> None:
    if not workspace().is_admin:
        return
    if not doc.removable:
        st.caption("内置范文和命令行指定文件夹中的范文不能在这里删除。")
        return
    if st.session_state.get(CONFIRM_KEY) != doc.doc_id:
        if st.button("删除", key=f"delete-{doc.doc_id}", icon=":material/delete:"):
            st.session_state[CONFIRM_KEY] = doc.doc_id
            st.rerun()
        return
    st.warning("确定从范文库删除这篇范文吗？删除后检索和起草都不会再用到它。")
    c1, c2 = st.columns(2)
    if c1.button("确认删除", key=f"confirm-{doc.doc_id}", type="primary"):
        st.session_state.pop(CONFIRM_KEY, None)
        try:
            with st.spinner("正在删除并更新索引……"):
                workspace().remove_corpus_document(doc.doc_id)
        except ShuzhiError as exc:
            show_error(exc)
            return
        st.session_state[NOTICE_KEY] = f"已删除「{doc.title}」。"
        st.rerun()
    if c2.button("取消", key=f"cancel-{doc.doc_id}"):
        st.session_state.pop(CONFIRM_KEY, None)
        st.rerun()


def _heading_line(kind: str, path: tuple[str, ...]) -> str:
    where = " › ".join(path) if path else "（无小标题）"
    return f"〔{kind_name(kind)}〕{where}"


def document_row(doc: CorpusDocument) -> None:
    parts = [doc.title, f"{doc.year}年" if doc.year else "年度不详", doc.org_type or "单位类型不详",
             doc.source_label, f"{doc.passages} 个片段"]
    with st.expander(md_escape(" · ".join(parts))):
        if doc.origin:
            st.caption(md_escape(f"来源：{doc.origin}" + (f"（上传于 {doc.uploaded_at.replace('T', ' ')}）"
                                                        if doc.uploaded_at else "")))
        structure, cleaned = st.tabs([f"文档结构（{len(doc.sections)} 节）", f"清洗时去掉的内容（{len(doc.removed)} 处）"])
        with structure:
            st.text("\n".join(_heading_line(s.kind, s.heading_path) for s in doc.sections) or "（没有识别出结构）")
        with cleaned:
            if doc.removed:
                st.text("\n".join(f"【{r.label}】{r.text}" for r in doc.removed))
            else:
                st.caption("清洗时没有去掉任何内容。")
        _delete_controls(doc)


def document_list() -> None:
    st.subheader("范文列表")
    notice = st.session_state.pop(NOTICE_KEY, None)
    if notice:
        st.success(md_escape(notice))
    try:
        docs = workspace().corpus_documents()
    except ShuzhiError as exc:
        show_error(exc)
        return
    if not docs:
        st.info("范文库里还没有文档。请在上方上传范文，或点击下方「重新建立索引」。")
        return
    st.caption("点开一篇可查看解析出的结构和清洗时去掉的内容。")
    for doc in docs:
        document_row(doc)


def rebuild_section() -> None:
    st.subheader("重新建立索引")
    st.caption("范文文件夹有变化，或检索结果异常时使用：重新解析所有范文并重建检索索引，上传的范文会保留。")
    if st.button("重新建立索引", icon=":material/sync:"):
        with st.status("正在重新建立索引……", expanded=True) as status:
            line = st.empty()

            def on_progress(message: str) -> None:
                line.text(message)

            try:
                report = workspace().rebuild_index(on_progress=on_progress)
            except ShuzhiError as exc:
                status.update(label="重新建立索引失败", state="error")
                show_error(exc)
                return
            status.update(label="索引已重新建立", state="complete", expanded=False)
        st.success(f"共 {report.documents} 篇范文、{report.chunks} 个片段，用时 {report.seconds:.1f} 秒。")
        for skipped in report.skipped:
            st.warning(md_escape(f"已跳过：{skipped}"))
        for warning in report.warnings:
            st.warning(md_escape(warning))


st.header("语料库")
st.caption("起草时参考的范文：系统从中检索相近的写法供模型借鉴，不会照搬其中的事实和数字。")
summary()
if workspace().is_admin:
    upload_section()
else:
    st.info(READ_ONLY_TEXT, icon=":material/lock:")
document_list()
if workspace().is_admin:
    rebuild_section()
