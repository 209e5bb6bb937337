"""The Streamlit app in-process (AppTest): the drafting page with and without a model.

Each test works on its own copy of the built index (its own store): the page lands in the data
directory's last session, so tests must not see each other's sessions.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.info, *at.warning, *at.error, *at.success, *at.caption)]
    parts += [t.value for t in at.text_area]
    return "\n".join(str(p) for p in parts)


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _plan_from_example(at: AppTest) -> AppTest:
    at.run(timeout=TIMEOUT)
    assert not at.exception
    _button(at, "载入示例笔记").click().run(timeout=TIMEOUT)
    assert "发展党员2名" in at.text_area(key="notes_text").value
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert any("提纲" in s.value for s in at.subheader)
    return at


def _stored() -> Any:
    ws = Workspace.open()
    sid = ws.store.latest_session_id()
    assert sid is not None
    return ws.open_session(sid)


def _finish_run(at: AppTest) -> AppTest:
    """Wait for the background drafting run the last click started, then rerun the page."""
    run = at.session_state["draft_run"] if "draft_run" in at.session_state else None
    if run is not None:  # None: it finished within the click's own run and the page showed its result
        run.thread.join(TIMEOUT)
        assert run.finished
    return at.run(timeout=TIMEOUT)


def _generate(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "生成初稿").click().run(timeout=TIMEOUT)
    assert not at.exception
    return _finish_run(at)


def _editors(at: AppTest) -> dict[str, str]:
    """The section editors' texts by section key."""
    sid = _stored().id
    prefix = f"sec-{sid}-"
    return {t.key[len(prefix):].rsplit("-", 1)[0]: t.value for t in at.text_area
            if t.key and t.key.startswith(prefix)}


def test_draft_page_without_model(own_index: Path) -> None:
    at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
    texts = _texts(at)
    assert "未配置大模型" in texts and "生成正文需要" in texts
    assert not any(b.label == "生成初稿" for b in at.button)  # nothing offered that cannot work
    # Without a model: the skeleton with each section's facts, exportable as Word and Markdown.
    labels = [b.label for b in at.download_button]
    assert "下载 Markdown" in labels and "下载 Word（公文格式）" in labels
    assert "〔待写〕" in "\n".join(str(h.body) for h in at.get("html")) or "待写" in texts
    assert any("发展党员2名" in str(m.value) for m in at.markdown)  # the facts beside each section


def test_draft_page_with_stub_model(own_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: "一是发展党员2名，预备党员转正1名。") as stub:
        llm_env(stub)
        at = _generate(_plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT)))
        assert not at.exception
        assert stub.chat_count >= 5
    ws = Workspace.open()
    draft = ws.session_markdown(_stored().id)
    assert "抓基层党建工作述职报告" in draft and "发展党员2名" in draft
    editors = _editors(at)
    assert len(editors) >= 5 and all("发展党员2名" in t for t in editors.values())  # one editor per section
    assert any("检查结果" in s.value for s in at.subheader)  # the draft is checked below its sections


def test_empty_notes_get_a_chinese_message(own_index: Path) -> None:
    at = _app()
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert any("笔记" in e.value for e in at.error)


@pytest.mark.parametrize("notes", ["   \n\n  "])
def test_notes_survive_a_failed_plan(own_index: Path, notes: str) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value(notes).run(timeout=TIMEOUT)
    _button(at, "生成提纲").click().run(timeout=TIMEOUT)
    assert any("笔记" in e.value for e in at.error)
    assert at.text_area(key="notes_text").value == notes
    assert _stored().notes == notes and _stored().plan is None


def test_failed_section_can_be_retried_keeping_the_others(own_index: Path, llm_env: Any) -> None:
    reply = "一是发展党员2名，预备党员转正1名。"
    with StubLLMServer(responder=lambda body: reply, faults=["500"]) as stub:
        llm_env(stub, max_retries=0)  # the first section's only attempt fails
        at = _generate(_plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT)))
        first_round = stub.chat_count
        failed = [s for s in _stored().sections if s.error]
        assert len(failed) == 1
        retry = next(b for b in at.button if b.label.startswith("重试未完成的"))
        retry.click().run(timeout=TIMEOUT)
        _finish_run(at)
        assert not at.exception
        assert stub.chat_count == first_round + 1  # only the failed section went to the model again
    assert not any(b.label.startswith("重试未完成的") for b in at.button)
    session = _stored()
    assert not any(s.error for s in session.sections)
    assert all("发展党员2名" in t for t in _editors(at).values())


def test_draft_shows_the_cited_corpus_passages(own_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: "一是发展党员2名。") as stub:
        llm_env(stub)
        at = _generate(_plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT)))
    assert not at.exception
    cited = [e for e in at.expander if " · " in e.label]
    assert cited  # title · year · heading path of each passage given to the model, expandable to the passage
    assert not any(re.search(r"[0-9a-f]{12,}", e.label) for e in cited)  # never a hashed file name
    assert all(e.text and e.text[0].value.strip() for e in cited[:5])  # the passage itself
    labels = [b.label for b in at.download_button]
    assert "下载 Markdown" in labels and "下载 Word（公文格式）" in labels


def test_notes_survive_switching_pages(own_index: Path) -> None:
    at = _app()
    at.text_area(key="notes_text").set_value("- 发展党员3名").run(timeout=TIMEOUT)
    at.switch_page("ui/settings.py").run(timeout=TIMEOUT)
    assert not at.exception
    at.switch_page("ui/draft.py").run(timeout=TIMEOUT)
    assert at.text_area(key="notes_text").value == "- 发展党员3名"


def test_broken_model_configuration_is_explained_not_crashing(own_index: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setenv("SHUZHI_PROVIDER", "no-such-provider")
    at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
    assert any("大模型配置有误" in e.value and "no-such-provider" in e.value for e in at.error)
    assert not any(b.label == "生成初稿" for b in at.button)  # a broken model is no model
    assert not at.exception
    assert "发展党员2名" in at.text_area(key="notes_text").value  # the notes are still there
