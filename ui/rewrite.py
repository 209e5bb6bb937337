"""Page 改写问题部分: opens on the current draft's 存在问题及原因; rubric diagnosis (no model needed), then with
a model a rewrite shown side by side with the original (changed sentences marked, what remains, what it
lost), 采用 puts it into the draft as a new version of the section(s), 放弃 drops it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from shuzhi.api import ShuzhiError, StoredSession
from ui.common import download_buttons, kind_label, md_escape, model_banner, show_error, workspace
from ui.state import CURRENT_SECTION, PAGE_DRAFT, REWRITE_TARGET, current_markdown, current_session

SEVERITY = {"block": ":red[**必须修改**]", "warn": ":orange[**建议修改**]", "info": ":gray[**说明**]"}
CURRENT = "当前草稿"
PASTED = "粘贴或上传"
NO_MODEL = "未配置大模型接口，只给出诊断意见；在「设置」页配置模型后可以自动改写。"


def _marked(sentence: str, kind: str, side: str) -> str:
    """A sentence of the side-by-side view: unchanged as is, removed red, changed/added green (escaped)."""
    if not sentence:
        return "\u00a0"
    text = md_escape(sentence)
    if kind == "same":
        return text
    colour = "red" if side == "before" else "green"
    return f":{colour}-background[{text}]"


def _targets(session: StoredSession) -> dict[str, tuple[str, ...]]:
    """Label → section keys the 改写 page can work on: 存在问题及原因 together, then each written section."""
    ws = workspace()
    problems = ws.problem_keys(session)
    options: dict[str, tuple[str, ...]] = {}
    if len(problems) > 1:
        names = "、".join(kind_label(s.kind) for k in problems if (s := session.section(k)) is not None)
        options[f"存在问题及原因（{names}）"] = problems
    for section in session.sections:
        if section.text.strip() or section.key in problems:
            options[section.heading or kind_label(section.kind)] = (section.key,)
    return options


def _auto_fill(field: str, value: str) -> None:
    """Fill a supplementary box from the draft unless the user changed what was filled in last time."""
    memo = st.session_state.setdefault("_rewrite_auto", {})
    if st.session_state.get(field) in (None, "", memo.get(field)):
        st.session_state[field] = value
    memo[field] = value


st.header("改写“存在问题及原因”")
st.caption("先按评审常见意见逐条诊断，再（配置模型后）改写为具体、有自我批评的表述；原文的数字和名称一律保留。")

session = current_session()
targets = _targets(session) if session is not None else {}
has_draft = session is not None and any(s.text.strip() for s in session.sections
                                         if any(s.key in ks for ks in targets.values()))
mode = st.segmented_control("改写哪里的文字", [CURRENT, PASTED], default=CURRENT if has_draft else PASTED,
                            key="rewrite_mode") or (CURRENT if has_draft else PASTED)

keys: tuple[str, ...] = ()
text = ""
if mode == CURRENT:
    if session is None or not has_draft:
        st.info("当前草稿还没有写好的“存在问题及原因”：请先在「起草初稿」页生成，或选择「粘贴或上传」。",
                icon=":material/info:")
        st.page_link(PAGE_DRAFT, label="去起草初稿", icon=":material/edit_note:")
    else:
        labels = list(targets)
        wanted = st.session_state.get(REWRITE_TARGET)
        default = next((n for n, label in enumerate(labels) if wanted and wanted in targets[label]), 0)
        if st.session_state.get("_rewrite_target_seen") != (session.id, wanted):
            st.session_state["_rewrite_target_seen"] = (session.id, wanted)
            st.session_state["rewrite_pick"] = labels[default]
        if st.session_state.get("rewrite_pick") not in targets:
            st.session_state["rewrite_pick"] = labels[default]
        pick = st.selectbox("改写草稿中的哪一部分", labels, key="rewrite_pick")
        keys = targets[pick]
        text = workspace().sections_text(session, keys)
        with st.container(border=True):
            st.caption("原文（来自当前草稿；要直接修改请到「起草初稿」页）")
            st.text(text or "（这一部分还没有文字）")
        _auto_fill("rewrite_notes", session.notes)
        _auto_fill("rewrite_draft", current_markdown())
else:
    upload = st.file_uploader("上传草稿（.md、.txt、.docx），取其中的“存在问题及原因”", type=["md", "txt", "docx"],
                              key="rewrite_upload")
    if upload is not None and st.session_state.get("_rewrite_upload_seen") != upload.file_id:
        st.session_state["_rewrite_upload_seen"] = upload.file_id
        try:
            uploaded = workspace().read_draft_data(upload.name, upload.getvalue())
            problems_text = workspace().draft_problems_text(uploaded)
        except ShuzhiError as exc:
            show_error(exc)
        else:
            st.session_state["rewrite_uploaded"] = uploaded
            st.session_state["rewrite_draft"] = uploaded
            if problems_text:
                st.session_state["rewrite_text"] = problems_text
                st.success(f"已读入「{upload.name}」，并取出其中的“存在问题及原因”，可在下面修改。")
            else:
                st.warning(f"已读入「{upload.name}」，但没有找到“存在问题”部分：请从下面选一部分，或直接粘贴。")
    uploaded_text = st.session_state.get("rewrite_uploaded")
    if uploaded_text:
        parts = {f"{kind_label(str(s.kind))}：{s.heading or '（无标题）'}": s.text
                 for s in workspace().parse_draft(uploaded_text).sections if s.text.strip()}

        def _use_part() -> None:
            chosen = st.session_state.get("rewrite_part")
            if chosen in parts:
                st.session_state["rewrite_text"] = parts[chosen]

        st.selectbox("从上传的草稿中选一部分", list(parts), index=None, key="rewrite_part", on_change=_use_part,
                     placeholder="默认已取“存在问题及原因”")
    text = st.text_area("需要改写的段落", key="rewrite_text", height=220,
                        placeholder="粘贴“存在问题及原因”部分，例如：一是学习不够深入。二是工作创新不够……")

with st.expander("补充材料：相关笔记、整篇草稿" + ("（已自动取当前草稿的，可修改）" if keys else "（可选）")):
    st.text_area("相关笔记", key="rewrite_notes", height=100,
                 help="改写时可用的具体事实（次数、事例），模型只会使用这里和原文中的事实。")
    st.text_area("整篇草稿", key="rewrite_draft", height=160,
                 help="提供整篇草稿后，会核对每个问题在“下一步打算”中是否有对应措施。")
has_model = model_banner()
if st.button("诊断并改写" if has_model else "诊断", type="primary", disabled=mode == CURRENT and not keys):
    if not text.strip():
        st.error("请先粘贴需要改写的段落。" if mode == PASTED else "这一部分还没有文字，请先在「起草初稿」页写好。")
    else:
        streamed: list[str] = []
        notes_text = st.session_state.get("rewrite_notes", "")
        draft_text = st.session_state.get("rewrite_draft", "")
        try:
            if has_model:
                with st.status("正在诊断并改写……", expanded=True) as status:
                    box = st.empty()

                    def on_token(token: str) -> None:  # on this script thread while the model streams
                        streamed.append(token)
                        box.text("".join(streamed))  # plain text: model output never renders as Markdown

                    result = workspace().rewrite(text, notes_text=notes_text, draft_text=draft_text,
                                                 on_token=on_token)
                    box.empty()
                    status.update(label="改写失败" if result.error else "改写完成",
                                  state="error" if result.error else "complete", expanded=False)
            else:
                with st.spinner("正在诊断……"):
                    result = workspace().rewrite(text, notes_text=notes_text, draft_text=draft_text,
                                                 use_model=False)
        except ShuzhiError as exc:
            show_error(exc)
        else:
            st.session_state.rewrite_result = {"result": result, "keys": keys,
                                               "sid": session.id if keys and session is not None else None}
            st.session_state.rewrite_gen = st.session_state.get("rewrite_gen", 0) + 1
            st.session_state.pop("rewrite_applied", None)

applied = st.session_state.get("rewrite_applied")
if applied:
    if applied[0] == "applied":
        st.success(applied[1], icon=":material/check_circle:")
        st.page_link(PAGE_DRAFT, label="到「起草初稿」查看", icon=":material/edit_note:")
    else:
        st.info(applied[1], icon=":material/undo:")

held: dict[str, Any] | None = st.session_state.get("rewrite_result")
if held is not None:
    shown = held["result"]
    if shown.original != text:
        st.info("原文已修改，下面是上一次的结果；请重新点击按钮。", icon=":material/update:")
    st.subheader(f"诊断（{len(shown.diagnosis)} 条）")
    if not shown.diagnosis:
        st.success("未发现明显问题。")
    for n, finding in enumerate(shown.diagnosis, start=1):
        with st.container(border=True):
            st.markdown(f"{n}\\. {SEVERITY.get(finding.severity, '')} {md_escape(finding.message)}")
            if finding.evidence:
                st.caption(f"原文：{md_escape(finding.evidence)}")
    if shown.error:
        st.error(f"改写失败：{md_escape(shown.error)}")
    if not shown.model_configured:
        st.warning(NO_MODEL)
    elif shown.rewritten:
        st.subheader("原文与改写稿对照")
        if shown.lost:
            st.warning(f"改写稿遗漏了原文的：{md_escape('、'.join(shown.lost))}。请补回后再采用。",
                       icon=":material/warning:")
        elif shown.kept:
            st.caption(f"原文的数字和名称均已保留：{md_escape('、'.join(shown.kept))}")
        left, right = st.columns(2)
        left.markdown("**原文**")
        right.markdown("**改写稿**（改动的句子已标色）")
        for pair in shown.pairs:
            left_col, right_col = st.columns(2)
            left_col.markdown(_marked(pair.before, pair.kind, "before"))
            right_col.markdown(_marked(pair.after, pair.kind, "after"))
        if shown.remaining:
            st.warning(f"改写稿仍有以下问题：{md_escape('、'.join(shown.remaining_names))}，请继续修改。\n\n" + "\n".join(
                f"- {md_escape(f.message)}" for f in shown.after), icon=":material/warning:")
        else:
            st.success("复查改写稿：未发现评审常见问题。")
        if shown.fixed:
            st.success(f"改写稿已改正：{md_escape('、'.join(shown.fixed_names))}")
        final = st.text_area("改写稿（可以先修改，再采用或导出）", value=shown.rewritten, height=300,
                             key=f"rewritten-{st.session_state.get('rewrite_gen', 0)}")
        target_keys: tuple[str, ...] = held["keys"]
        same_draft = bool(target_keys) and session is not None and held["sid"] == session.id
        c1, c2, _ = st.columns([1, 1, 3])
        if c1.button("采用", type="primary", icon=":material/check:", disabled=not same_draft,
                     help="用改写稿替换草稿中的这一部分；原来的文字保留在这一节的历史版本中"
                     if same_draft else "改写的是粘贴或上传的文字，请复制改写稿或导出"):
            try:
                written = workspace().apply_rewrite_to(held["sid"], target_keys, final)
            except ShuzhiError as exc:
                show_error(exc)
            else:
                session = current_session()
                names = "、".join(s.heading or kind_label(s.kind) for k in written
                                 if session is not None and (s := session.section(k)) is not None)
                skipped = [k for k in target_keys if k not in written]
                note = "；改写稿中没有找到原因部分，原因一节未改动" if skipped else ""
                st.session_state["rewrite_applied"] = ("applied", f"已采用改写稿：替换了草稿中的「{names}」，原来的文字保留在历史版本中{note}。")
                st.session_state[CURRENT_SECTION] = written[0] if written else target_keys[0]
                st.session_state.pop("rewrite_result", None)
                st.rerun()
        if c2.button("放弃", icon=":material/close:", help="丢掉改写稿，草稿不变"):
            st.session_state.pop("rewrite_result", None)
            st.session_state["rewrite_applied"] = ("dropped", "已放弃改写稿，草稿没有改动。")
            st.rerun()
        st.subheader("导出")
        if same_draft:
            try:
                full = workspace().markdown_with_rewrite(held["sid"], target_keys, final)
            except ShuzhiError as exc:
                show_error(exc)
            else:
                st.caption("整篇草稿，其中这一部分换成改写稿（尚未采用时也可以先下载看看）：")
                download_buttons(full, "述职报告（改写后）", key="rewrite-full")
        st.caption("只导出改写稿：")
        download_buttons(final, "存在问题及原因（改写稿）", key="rewrite-only")
