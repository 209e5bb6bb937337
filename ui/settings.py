"""Page 设置: model status and 测试连接, corpus index status, where drafts are saved, restoring saved sessions."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import LLMError, SessionInfo, ShuzhiError, load_presets
from ui.common import PAGE_DRAFT, llm_config, md_escape, show_error, workspace

RECENT_SESSIONS = 8


def restore_draft(session_id: str) -> bool:
    """Notes, plan and draft of a saved session into the drafting page (which applies `draft_restore`)."""
    try:
        saved = workspace().open_session(session_id)
    except ShuzhiError as exc:
        show_error(exc)
        return False
    restore_notes(saved.notes)
    st.session_state.pop("notes_restored", None)
    st.session_state.draft_restore = saved
    return True


def restore_notes(notes: str) -> None:
    current = st.session_state.get("notes_text", "")
    if current.strip() and current != notes:
        st.session_state.notes_previous = current  # the draft page offers to swap back
    st.session_state.notes_text = notes
    st.session_state.plan = None
    st.session_state.draft_result = None
    st.session_state.pop("draft_markdown", None)
    st.session_state.notes_restored = True


def model_section() -> None:
    st.subheader("大模型接口")
    config = llm_config()
    if config is None:
        st.warning("未配置大模型：生成正文和自动改写不可用；检索、提纲、检查和导出不受影响。")
    else:
        st.success(f"已配置：`{config.display_url}` ｜ 模型 `{config.model}`")
        if st.button("测试连接", icon=":material/network_check:"):
            try:
                with st.spinner("正在连接模型接口……"):
                    models = workspace().test_connection()
            except LLMError as exc:
                st.error(f"连接失败：{exc.user_message}")
            else:
                listed = "模型列表中有所配置的模型。" if config.model in models else \
                    f"注意：接口返回的 {len(models)} 个模型中没有「{config.model}」，请核对模型名。"
                (st.success if config.model in models else st.warning)(f"连接成功。{listed}")
                if models:
                    st.caption("可用模型：" + "、".join(models[:30]) + ("……" if len(models) > 30 else ""))
    st.markdown(
        "在启动前设置环境变量（或项目根目录的 `.env` 文件）：`OPENAI_BASE_URL`、`OPENAI_API_KEY`、`SHUZHI_MODEL`，"
        "或用 `SHUZHI_PROVIDER` 选择预设。密钥只在内存中使用，不会写入磁盘、日志、索引或导出文件。")
    with st.expander("预设的模型服务"):
        st.dataframe([{"预设": p.name, "名称": p.label, "接口地址": p.base_url, "默认模型": p.model}
                      for p in load_presets().values()], hide_index=True, width="stretch")


def index_section() -> None:
    st.subheader("范文库")
    ws = workspace()
    try:
        stats = ws.index_stats()
    except ShuzhiError as exc:
        show_error(exc)
        return
    c1, c2, c3 = st.columns(3)
    c1.metric("范文", f"{stats.documents} 篇")
    c2.metric("片段", f"{stats.chunks} 个")
    c3.metric("向量", f"{stats.vectors} 个")
    if stats.dense:
        st.success(f"语义检索已启用（嵌入模型 {stats.embedder}），与关键词检索融合排序。", icon=":material/check_circle:")
    else:
        st.warning("语义检索未启用，目前只用关键词检索（BM25）；检索和范文匹配的效果会差一些。",
                   icon=":material/warning:")
    for warning in ws.index_warnings():
        st.warning(warning)
    st.caption(f"索引目录：{stats.index_dir}")
    if st.button("重新索引", icon=":material/sync:"):
        with st.status("正在索引……", expanded=True) as status:
            try:
                report = ws.build_index(on_progress=st.write)
            except ShuzhiError as exc:
                status.update(label="索引失败", state="error")
                show_error(exc)
                return
            status.update(label="索引完成", state="complete", expanded=False)
        st.success(f"片段 {report.chunks} 个，本次新嵌入 {report.embedded} 个，用时 {report.seconds:.1f} 秒。")
        for warning in report.warnings:
            st.warning(warning)


def _session_row(info: SessionInfo) -> None:
    with st.container(border=True):
        c1, c2, c3 = st.columns([4, 1, 1], vertical_alignment="center")
        c1.markdown(f"**{md_escape(info.title or '（未命名）')}** ｜ {md_escape(info.updated)}")
        c1.caption(md_escape(info.preview[:60]) or "（空）")
        if c2.button("恢复笔记", key=f"restore-{info.id}"):
            try:
                restore_notes(workspace().open_session(info.id).notes)
            except ShuzhiError as exc:
                show_error(exc)
                return
            st.switch_page(PAGE_DRAFT)
        if c3.button("恢复草稿", key=f"restore-draft-{info.id}", type="primary",
                     help="恢复笔记、提纲和初稿，回到起草页继续修改或重试失败的节"):
            if restore_draft(info.id):
                st.switch_page(PAGE_DRAFT)


def sessions_section() -> None:
    ws = workspace()
    st.subheader("草稿历史")
    st.markdown(f"每次生成都会把笔记、提纲和每一节草稿自动保存在本机的工作区数据库中：`{ws.settings.store_path}`")
    st.caption(f"运行日志：{ws.log_path}")
    try:
        sessions = ws.list_sessions()[:RECENT_SESSIONS]
    except ShuzhiError as exc:
        show_error(exc)
        return
    if not sessions:
        st.caption("还没有保存的草稿。")
    for info in sessions:
        _session_row(info)


st.header("设置")
model_section()
index_section()
sessions_section()
