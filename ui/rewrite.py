"""Page 改写问题部分: rubric diagnosis (no model needed), then with a model a rewrite, the same rubric on the
rewrite (what was fixed, what remains), a side-by-side sentence view and what it lost."""

from __future__ import annotations

import streamlit as st

from shuzhi.api import ShuzhiError
from ui.common import md_escape, model_banner, show_error, workspace

SEVERITY = {"block": ":red[**必须修改**]", "warn": ":orange[**建议修改**]", "info": ":gray[**说明**]"}


def _marked(sentence: str, kind: str, side: str) -> str:
    """A sentence of the side-by-side view: unchanged as is, removed red, changed/added green."""
    if not sentence:
        return "\u00a0"
    text = md_escape(sentence)
    if kind == "same":
        return text
    colour = "red" if side == "before" else "green"
    return f":{colour}-background[{text}]"


st.header("改写“存在问题及原因”")
st.caption("先按评审常见意见逐条诊断，再（配置模型后）改写为具体、有自我批评的表述；原文的数字和名称一律保留。")
st.text_area("需要改写的段落", key="rewrite_text", height=220,
             placeholder="粘贴“存在问题及原因”部分，例如：一是学习不够深入。二是工作创新不够……")
with st.expander("补充材料（可选）：相关笔记、整篇草稿"):
    st.text_area("相关笔记", key="rewrite_notes", height=100,
                 help="改写时可用的具体事实（次数、事例），模型只会使用这里和原文中的事实。")
    st.text_area("整篇草稿", key="rewrite_draft", height=160,
                 help="提供整篇草稿后，会核对每个问题在“下一步打算”中是否有对应措施。")
has_model = model_banner()
if st.button("诊断并改写" if has_model else "诊断", type="primary"):
    text = st.session_state.rewrite_text
    if not text.strip():
        st.error("请先粘贴需要改写的段落。")
    else:
        streamed: list[str] = []

        def on_token(token: str) -> None:  # called on this script thread while the model streams
            streamed.append(token)
            box.text("".join(streamed))  # model output: plain text, never live Markdown (no remote images)

        try:
            if has_model:
                with st.status("正在诊断并改写……", expanded=True) as status:
                    box = st.empty()
                    result = workspace().rewrite(text, notes_text=st.session_state.rewrite_notes,
                                                 draft_text=st.session_state.rewrite_draft, on_token=on_token)
                    status.update(label="改写失败" if result.error else "改写完成",
                                  state="error" if result.error else "complete", expanded=False)
            else:
                with st.spinner("正在诊断……"):
                    result = workspace().rewrite(text, notes_text=st.session_state.rewrite_notes,
                                                 draft_text=st.session_state.rewrite_draft, use_model=False)
        except ShuzhiError as exc:
            show_error(exc)
        else:
            st.session_state.rewrite_result = result
            st.session_state.rewrite_gen = st.session_state.get("rewrite_gen", 0) + 1

shown = st.session_state.get("rewrite_result")
if shown is not None:
    if shown.original != st.session_state.rewrite_text:
        st.info("段落已修改，下面是上一次的结果；请重新点击按钮。", icon=":material/update:")
    st.subheader(f"诊断（{len(shown.diagnosis)} 条）")
    if not shown.diagnosis:
        st.success("未发现明显问题。")
    for n, finding in enumerate(shown.diagnosis, start=1):
        with st.container(border=True):
            st.markdown(f"{n}\\. {SEVERITY.get(finding.severity, '')} {md_escape(finding.message)}")
            if finding.evidence:
                st.caption(f"原文：{md_escape(finding.evidence)}")
    if shown.error:
        st.error(f"改写失败：{shown.error}")
    if not shown.model_configured:
        st.warning(shown.message)
    elif shown.rewritten:
        st.subheader("改写稿")
        if shown.lost:
            st.warning(f"改写稿遗漏了原文的：{'、'.join(shown.lost)}。请补回后再使用。", icon=":material/warning:")
        elif shown.kept:
            st.caption(f"原文的数字和名称均已保留：{'、'.join(shown.kept)}")
        st.text_area("改写稿（可修改后复制）", value=shown.rewritten, height=300,
                     key=f"rewritten-{st.session_state.get('rewrite_gen', 0)}")
        if shown.remaining:
            st.warning(f"改写稿仍有以下问题：{'、'.join(shown.remaining_names)}，请继续修改。\n\n" + "\n".join(
                f"- {md_escape(f.message)}" for f in shown.after), icon=":material/warning:")
        else:
            st.success("复查改写稿：未发现评审常见问题。")
        if shown.fixed:
            st.success(f"改写稿已改正：{'、'.join(shown.fixed_names)}")
        if shown.pairs:
            st.markdown("**逐句对照**（改动的句子已标色）")
            left, right = st.columns(2)
            left.markdown("**原文**")
            right.markdown("**改写稿**")
            for pair in shown.pairs:
                left_col, right_col = st.columns(2)
                left_col.markdown(_marked(pair.before, pair.kind, "before"))
                right_col.markdown(_marked(pair.after, pair.kind, "after"))
        if shown.diff:
            with st.expander("逐句修改记录（- 原文，+ 改写稿）"):
                st.code(shown.diff, language="diff")
