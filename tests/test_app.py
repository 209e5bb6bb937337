"""The Streamlit app in-process (AppTest): the drafting page with and without a model.

Each test works on its own copy of the built index (its own store): the page lands in the data
directory's last session, so tests must not see each other's sessions.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 120


@pytest.fixture
def own_index(built_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the session's built index: a data directory no other test writes to."""
    data_dir = tmp_path / "data"
    shutil.copytree(built_index_dir, data_dir, ignore=shutil.ignore_patterns("workspace.sqlite3*", "drafts"))
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(data_dir))
    return data_dir


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


def test_draft_page_without_model(own_index: Path) -> None:
    at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
    assert "未配置大模型" in _texts(at)
    _button(at, "生成初稿").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert "未配置大模型接口" in _texts(at)
    assert any("参考范文" in s.value for s in at.subheader)


def test_draft_page_with_stub_model(own_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: "一是发展党员2名，预备党员转正1名。") as stub:
        llm_env(stub)
        at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
        _button(at, "生成初稿").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert stub.chat_count >= 5
    draft = at.text_area(key="draft_markdown").value
    assert "抓基层党建工作述职报告" in draft and "发展党员2名" in draft
    assert any("检查结果" in s.value for s in at.subheader)


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
        at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
        _button(at, "生成初稿").click().run(timeout=TIMEOUT)
        assert not at.exception
        first_round = stub.chat_count
        assert any("未能生成" in e.value for e in at.error)
        assert "本节生成失败" in at.text_area(key="draft_markdown").value
        _button(at, "重试失败的节").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert stub.chat_count == first_round + 1  # only the failed section went to the model again
    assert not any(b.label == "重试失败的节" for b in at.button)
    draft = at.text_area(key="draft_markdown").value
    assert "本节生成失败" not in draft and "发展党员2名" in draft


def test_draft_shows_the_cited_corpus_passages(own_index: Path, llm_env: Any) -> None:
    with StubLLMServer(responder=lambda body: "一是发展党员2名。") as stub:
        llm_env(stub)
        at = _plan_from_example(AppTest.from_file(APP, default_timeout=TIMEOUT))
        _button(at, "生成初稿").click().run(timeout=TIMEOUT)
    assert not at.exception
    cited = next(e for e in at.expander if e.label == "参考的范文片段")
    captions = " ".join(c.value for c in cited.caption)
    assert ".txt › " in captions  # source file › heading path of each passage given to the model
    labels = [b.label for b in at.download_button]
    assert "下载 Markdown" in labels and "下载 Word（公文格式）" in labels
    assert any("已自动保存" in c.value for c in at.caption)


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
    _button(at, "生成初稿").click().run(timeout=TIMEOUT)
    assert not at.exception
    assert "发展党员2名" in at.text_area(key="notes_text").value  # the notes are still there
