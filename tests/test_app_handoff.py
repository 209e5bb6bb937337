"""Pages that hand off (AppTest, real store, stub model): 改写 and 检查 work on the current draft, a rewrite
is applied side by side or dropped, findings link to their sections, search results go into the current
section, drafts are uploaded; model output never reaches the page as live Markdown or HTML."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import InputRejected, Plan, PlanSection, VersionSource, Workspace

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 120

NOTES = "单位：机关第一党支部\n2024年\n- 全年集中学习24次\n问题：主题党日形式单一\n"
PROBLEMS = "一是主题党日形式单一，多为集中读文件。二是工作任务重，人手少，学习时间不足。"
CAUSES = "分析存在上述问题的原因：一是思想认识不到位。"
ACHIEVEMENTS = "全年组织集中学习24次，开展志愿服务35次。"
REWRITTEN = ("一是本人抓主题党日创新不够，活动形式多为集中读文件。二是本人统筹学习不够，集中学习24次但研讨不深。\n\n"
             "分析存在上述问题的原因：一是本人思想认识不到位，对党建工作重视不够。")
HOSTILE = ("一是本人抓主题党日不够![x](http://198.51.100.7/a.png)。"
           "二是<img src=\"http://198.51.100.7/b.png\">研讨不深。")


def _drafted_session() -> str:
    """A stored session with a plan and drafted sections: achievements, problems and (apart) causes."""
    plan = Plan(title="机关第一党支部书记2024年度抓基层党建工作述职报告", year=2024, org="机关第一党支部", sections=(
        PlanSection(key="achievements", kind="achievements", heading="主要做法和成效", notes=("全年集中学习24次",)),
        PlanSection(key="problems", kind="problems", heading="存在问题及原因", notes=("主题党日形式单一",)),
        PlanSection(key="causes", kind="causes", heading="分析存在上述问题的原因", level=2),
    ))
    ws = Workspace.open()
    sid = ws.create_session(notes=NOTES, plan=plan)
    for key, kind, heading, text in (("achievements", "achievements", "主要做法和成效", ACHIEVEMENTS),
                                     ("problems", "problems", "存在问题及原因", PROBLEMS),
                                     ("causes", "causes", "分析存在上述问题的原因", CAUSES)):
        ws.store.add_section_version(sid, key, kind, heading, VersionSource.GENERATED, text)
    return sid


def _page(path: str, sid: str | None = None, **state: Any) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if sid is not None:
        at.session_state["session_id"] = sid
    for key, value in state.items():
        at.session_state[key] = value
    at.run(timeout=TIMEOUT)
    at.switch_page(path).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _section(sid: str, key: str) -> Any:
    section = Workspace.open().open_session(sid).section(key)
    assert section is not None
    return section


# ------------------------------------------------------------------ 改写
def test_rewrite_opens_on_the_drafts_problems_and_applies_side_by_side(use_built_index: Path, llm_env: Any) -> None:
    sid = _drafted_session()
    with StubLLMServer(responder=lambda body: REWRITTEN) as stub:
        llm_env(stub)
        at = _page("ui/rewrite.py", sid)
        assert at.selectbox(key="rewrite_pick").value.startswith("存在问题及原因")  # problems and causes together
        shown = " ".join(t.value for t in at.text)
        assert PROBLEMS in shown and CAUSES in shown
        assert at.text_area(key="rewrite_notes").value == NOTES  # the session's notes, no pasting
        assert "全年组织集中学习24次" in at.text_area(key="rewrite_draft").value  # the whole draft
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        assert not at.exception and stub.chat_count == 1
    assert not at.code  # no programmer's diff
    marked = [m.value for m in at.markdown if "-background[" in m.value]
    assert any(m.startswith(":red-background[") and "工作任务重" in m for m in marked)
    assert any(m.startswith(":green-background[") and "本人抓主题党日创新不够" in m for m in marked)
    assert any("复查改写稿" in s.value for s in at.success) or any("改写稿仍有以下问题" in w.value for w in at.warning)
    labels = [b.label for b in at.download_button]
    assert labels.count("下载 Word（公文格式）") == 2  # the draft with the rewrite, and the rewrite alone
    _button(at, "采用").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert any("已采用改写稿" in s.value for s in at.success)
    problems, causes = _section(sid, "problems"), _section(sid, "causes")
    assert problems.latest.source == VersionSource.REWRITTEN and problems.text.startswith("一是本人抓主题党日创新不够")
    assert "分析存在上述问题的原因" not in problems.text  # the causes went to their own section
    assert causes.latest.source == VersionSource.REWRITTEN and "对党建工作重视不够" in causes.text
    assert [v.text for v in problems.versions][0] == PROBLEMS  # the old text stays in the history
    assert _section(sid, "achievements").text == ACHIEVEMENTS
    assert at.session_state["current_section"] == "problems"


def test_rewrite_dropped_leaves_the_draft_unchanged(use_built_index: Path, llm_env: Any) -> None:
    sid = _drafted_session()
    with StubLLMServer(responder=lambda body: REWRITTEN) as stub:
        llm_env(stub)
        at = _page("ui/rewrite.py", sid)
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        _button(at, "放弃").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert any("已放弃改写稿" in i.value for i in at.info)
    assert not any(b.label == "采用" for b in at.button)
    assert len(_section(sid, "problems").versions) == 1 and _section(sid, "problems").text == PROBLEMS


def test_rewrite_opens_on_the_section_handed_over(use_built_index: Path) -> None:
    sid = _drafted_session()
    at = _page("ui/rewrite.py", sid, rewrite_target="achievements")
    assert at.selectbox(key="rewrite_pick").value == "主要做法和成效"
    assert any(ACHIEVEMENTS in t.value for t in at.text)
    assert any("未配置大模型" in i.value for i in at.info)  # the banner
    _button(at, "诊断").click().run(timeout=TIMEOUT)  # diagnosis only, no model
    assert not at.exception
    assert any("在「设置」页配置模型" in w.value for w in at.warning)


def test_model_output_is_never_live_markdown_or_html(use_built_index: Path, llm_env: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything sent to st.markdown (and kin) during the run, streaming included, has the image and the
    tag escaped; the streamed text goes through st.text."""
    from streamlit.elements.markdown import MarkdownMixin
    from streamlit.elements.text import TextMixin

    sent: list[str] = []
    real_markdown, real_text = MarkdownMixin.markdown, TextMixin.text

    def spy_markdown(self: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(body))
        return real_markdown(self, body, *args, **kwargs)

    streamed: list[str] = []

    def spy_text(self: Any, body: Any, *args: Any, **kwargs: Any) -> Any:
        streamed.append(str(body))
        return real_text(self, body, *args, **kwargs)

    monkeypatch.setattr(MarkdownMixin, "markdown", spy_markdown)
    monkeypatch.setattr(TextMixin, "text", spy_text)
    sid = _drafted_session()
    with StubLLMServer(responder=lambda body: HOSTILE) as stub:
        llm_env(stub)
        at = _page("ui/rewrite.py", sid)
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        assert not at.exception
    assert any("198.51.100.7" in s for s in streamed)  # streamed as plain text
    rendered = sent + [e.value for e in (*at.markdown, *at.caption, *at.warning, *at.success, *at.info, *at.error)]
    assert any("198.51.100.7" in r for r in rendered)  # it is shown, escaped
    for body in rendered:
        assert "![x](" not in body
        assert not re.search(r"(?<!\\)<img", body), body
        assert not re.search(r"(?<![\\])\]\(http", body), body


def test_rewrite_takes_an_uploaded_drafts_problems(use_built_index: Path) -> None:
    at = _page("ui/rewrite.py")
    at.segmented_control(key="rewrite_mode").set_value("粘贴或上传").run(timeout=TIMEOUT)
    draft = f"# 述职报告\n\n## 一、主要做法和成效\n\n{ACHIEVEMENTS}\n\n## 二、存在问题及原因\n\n{PROBLEMS}\n"
    at.file_uploader(key="rewrite_upload").upload("草稿.md", draft.encode("utf-8"), "text/markdown").run(
        timeout=TIMEOUT)
    assert not at.exception
    assert at.text_area(key="rewrite_text").value.startswith("一是主题党日形式单一")
    assert ACHIEVEMENTS not in at.text_area(key="rewrite_text").value
    assert "主要做法和成效" in at.text_area(key="rewrite_draft").value


# ------------------------------------------------------------------ 检查
def test_check_page_checks_the_current_draft_and_links_a_finding(use_built_index: Path) -> None:
    sid = _drafted_session()
    at = _page("ui/check.py", sid)
    assert not at.text_area  # nothing to paste
    _button(at, "检查当前草稿").click().run(timeout=TIMEOUT)
    assert not at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert "35次" in texts  # the figure the notes do not have, found without pasting anything
    assert set(at.dataframe[0].value["数字"]) == {"24次"}
    assert [b.label for b in at.download_button] == ["下载 Markdown", "下载 Word（公文格式）"]
    shown = " ".join(e.value for e in (*at.markdown, *at.caption, *at.info, *at.success, *at.error))
    assert "docx_style" not in shown and "yaml" not in shown and "编造" not in shown
    assert any(b.label == "去改写" for b in at.button)  # a finding about 存在问题
    edit = next(b for b in at.button if b.label == "去修改")
    edit.click().run(timeout=TIMEOUT)
    assert not at.exception
    assert at.session_state["current_section"] in {"achievements", "problems", "causes"}
    assert any(h.value == "起草初稿" for h in at.header)  # switched to the drafting page


def test_check_page_go_rewrite_hands_over_the_problems(use_built_index: Path) -> None:
    sid = _drafted_session()
    at = _page("ui/check.py", sid)
    _button(at, "检查当前草稿").click().run(timeout=TIMEOUT)
    _button(at, "去改写").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert at.session_state["rewrite_target"] == "problems"
    assert at.selectbox(key="rewrite_pick").value.startswith("存在问题及原因")


def test_check_page_reads_an_uploaded_docx(use_built_index: Path, tmp_path: Path) -> None:
    at = _page("ui/check.py")
    at.segmented_control(key="check_mode").set_value("粘贴或上传").run(timeout=TIMEOUT)
    at.file_uploader(key="check_upload").upload("草稿.docx", _docx_bytes()).run(timeout=TIMEOUT)
    assert not at.exception
    assert "## 存在问题及原因" in at.text_area(key="check_text").value
    _button(at, "检查").click().run(timeout=TIMEOUT)
    assert not at.exception and any("检查结果" in s.value for s in at.subheader)
    at.file_uploader(key="check_upload").set_value(("坏.docx", b"PK\x03\x04 not a zip", "application/zip")).run(
        timeout=TIMEOUT)
    assert not at.exception
    assert any("坏.docx" in e.value for e in at.error)
    assert "## 存在问题及原因" in at.text_area(key="check_text").value  # what was there stays


# ------------------------------------------------------------------ read_draft_data
def _docx_bytes() -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("2024年度述职报告", level=0)
    document.add_heading("主要做法和成效", level=1)
    document.add_paragraph(ACHIEVEMENTS)
    document.add_heading("存在问题及原因", level=1)
    document.add_paragraph(PROBLEMS)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_read_draft_data_md_docx_and_a_corrupt_file() -> None:
    ws = Workspace.open()
    md = f"# 报告\n\n## 一、存在问题及原因\n\n{PROBLEMS}\n"
    assert ws.read_draft_data("../../etc/草稿.md", md.encode("utf-8")).strip() == md.strip()
    text = ws.read_draft_data("草稿.docx", _docx_bytes())
    assert text.startswith("# 2024年度述职报告")
    assert "## 主要做法和成效" in text and "## 存在问题及原因" in text and PROBLEMS in text
    assert ws.draft_problems_text(text) == PROBLEMS
    with pytest.raises(InputRejected) as caught:
        ws.read_draft_data("坏.docx", b"PK\x03\x04 broken")
    assert "坏.docx" in caught.value.user_message and re.search(r"[\u4e00-\u9fff]", caught.value.user_message)
    with pytest.raises(InputRejected):
        ws.read_draft_data("草稿.pdf", b"%PDF-1.4")


# ------------------------------------------------------------------ 检索
def _search(at: AppTest, query: str = "主题党日形式单一") -> None:
    at.text_input[0].set_value(query)
    at.button[0].click().run(timeout=TIMEOUT)  # the form's submit button
    assert not at.exception


def test_search_result_is_inserted_into_the_current_section(use_built_index: Path) -> None:
    sid = _drafted_session()
    at = _page("ui/search.py", sid, current_section="problems")
    _search(at)
    assert at.code and all(c.language in (None, "", "plaintext") for c in at.code)  # 复制: the code block's copy button
    captions = " ".join(c.value for c in at.caption)
    assert "来源：" in captions and not re.search(r"\d{3}_[0-9a-f]{16}", captions)  # no hashed file names
    passage = at.code[0].value
    insert = next(b for b in at.button if b.label == "插入到当前节")
    assert not insert.disabled
    insert.click().run(timeout=TIMEOUT)
    assert not at.exception
    problems = _section(sid, "problems")
    assert problems.text == PROBLEMS + "\n\n" + passage.strip()
    assert problems.latest.source == VersionSource.EDITED and problems.versions[0].text == PROBLEMS
    assert any("改写为本单位的事实" in s.value for s in at.success)


def test_search_insert_is_disabled_without_a_current_section(use_built_index: Path) -> None:
    sid = _drafted_session()
    at = _page("ui/search.py", sid)
    _search(at)
    assert all(b.disabled for b in at.button if b.label == "插入到当前节")
    assert any("请先在「起草初稿」页" in c.value for c in at.caption)


def test_a_rewrite_without_causes_leaves_the_causes_section_and_previews_in_the_draft() -> None:
    sid = _drafted_session()
    ws = Workspace.open()
    keys = ws.problem_keys(ws.open_session(sid))
    assert keys == ("problems", "causes")
    preview = ws.markdown_with_rewrite(sid, keys, REWRITTEN)
    assert "本人抓主题党日创新不够" in preview and PROBLEMS not in preview and ACHIEVEMENTS in preview
    assert _section(sid, "problems").text == PROBLEMS  # a preview saves nothing
    assert ws.apply_rewrite_to(sid, keys, "一是本人抓主题党日创新不够。") == ("problems",)
    assert _section(sid, "causes").text == CAUSES and len(_section(sid, "causes").versions) == 1
