"""The rewrite, check, search and settings pages in-process (AppTest), with and without a model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 120
WEAK_PROBLEMS = (REPO / "examples" / "weak_problems_1.md").read_text(encoding="utf-8")
NOTES = "2024年 某支部 笔记\n- 全年集中学习24次，专题研讨8次\n- 发展党员2名\n问题：主题党日形式单一\n"
DRAFT_WITH_INVENTED_FIGURE = (
    "# 2024年度抓基层党建工作述职报告\n\n## 一、主要做法和成效\n\n"
    "全年组织集中学习24次，专题研讨8次，发展党员2名，开展志愿服务35次。\n\n"
    "## 二、存在问题及原因\n\n主题党日形式单一。\n\n## 三、下一步打算\n\n丰富主题党日形式。\n"
)


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    at.switch_page(path).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _pasting(at: AppTest, key: str) -> AppTest:
    """Choose 粘贴或上传 (the page opens on the current draft when one is stored)."""
    at.segmented_control(key=key).set_value("粘贴或上传").run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.markdown, *at.info, *at.warning, *at.error, *at.success, *at.caption)]
    return "\n".join(str(p) for p in parts)


# ------------------------------------------------------------------ check
def test_check_page_blocks_an_invented_figure_and_exports_without_a_model(use_built_index: Path) -> None:
    at = _pasting(_page("ui/check.py"), "check_mode")
    at.text_area(key="check_text").set_value(DRAFT_WITH_INVENTED_FIGURE)
    at.text_area(key="check_notes").set_value(NOTES)
    _button(at, "检查").click().run(timeout=TIMEOUT)
    assert not at.exception
    texts = _texts(at)
    assert "必须修改" in texts and "35次" in texts  # the invented figure, under the blocking group
    assert "建议修改" in texts
    assert any("必须处理" in e.value for e in at.error)  # the summary is an error when something blocks
    ledger = at.dataframe[0].value
    assert set(ledger["数字"]) == {"24次", "8次", "2名"}
    labels = [b.label for b in at.download_button]
    assert labels == ["下载 Markdown", "下载 Word（公文格式）"]
    # The result stays when something else reruns the page, and says when the input changed.
    at.text_area(key="check_text").set_value(DRAFT_WITH_INVENTED_FIGURE + "\n结束。").run(timeout=TIMEOUT)
    assert "请重新点击「检查」" in _texts(at) and "35次" in _texts(at)


def test_check_page_asks_for_a_draft(use_built_index: Path) -> None:
    at = _pasting(_page("ui/check.py"), "check_mode")
    _button(at, "检查").click().run(timeout=TIMEOUT)
    assert any("请先粘贴草稿" in e.value for e in at.error)
    assert not at.download_button


# ------------------------------------------------------------------ rewrite
def test_rewrite_page_diagnoses_without_a_model(use_built_index: Path) -> None:
    at = _pasting(_page("ui/rewrite.py"), "rewrite_mode")
    assert "未配置大模型" in _texts(at)
    at.text_area(key="rewrite_text").set_value(WEAK_PROBLEMS)
    _button(at, "诊断").click().run(timeout=TIMEOUT)
    assert not at.exception
    texts = _texts(at)
    assert "客观原因" in texts
    assert "原文：" in texts  # each finding shows its evidence
    assert "未配置大模型接口" in texts
    assert not at.code


def test_rewrite_page_with_a_model_shows_rewrite_side_by_side_and_lost_figures(use_built_index: Path, llm_env: Any) -> None:
    original = "一是理论学习不够深入，全年集中学习24次但研讨不深。二是主题党日形式单一。"
    rewritten = "一是本人抓理论学习不够深入，研讨多停留在读原文层面。二是主题党日形式单一，多为集中学习。"
    with StubLLMServer(responder=lambda body: rewritten) as stub:
        llm_env(stub)
        at = _pasting(_page("ui/rewrite.py"), "rewrite_mode")
        at.text_area(key="rewrite_text").set_value(original)
        at.text_area(key="rewrite_draft").set_value(DRAFT_WITH_INVENTED_FIGURE)
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert stub.chat_count == 1
    assert any(t.value == rewritten for t in at.text_area)
    assert not at.code  # the readable side-by-side view only, no unified diff
    # A pasted paragraph is not part of the draft: nothing to put back, but it can be exported.
    assert _button(at, "采用").disabled
    assert "下载 Word（公文格式）" in [b.label for b in at.download_button]
    assert any("24次" in w.value and "遗漏" in w.value for w in at.warning)
    # The rewrite is diagnosed again: what remains is a warning, what was fixed a success line.
    assert any("改写稿仍有以下问题" in w.value and "缺少主观原因" in w.value for w in at.warning)
    assert any("改写稿已改正" in s.value and "没有本人责任" in s.value for s in at.success)
    # Side by side: changed sentences highlighted, user text escaped.
    marked = [m.value for m in at.markdown if "-background[" in m.value]
    assert any(m.startswith(":red-background[") and "24次" in m for m in marked)
    assert any(m.startswith(":green-background[") and "一是本人" in m for m in marked)


# ------------------------------------------------------------------ search
def test_search_page_returns_passages(use_built_index: Path) -> None:
    at = _page("ui/search.py")
    at.text_input[0].set_value("理论学习不够深入，学用脱节")
    at.button[0].click().run(timeout=TIMEOUT)  # the form's submit button
    assert not at.exception
    assert any("来源：" in c.value for c in at.caption)
    assert not any(".txt" in c.value for c in at.caption)  # a document title, not the stored file name
    assert at.code  # each passage in a block with a copy button


# ------------------------------------------------------------------ settings
def test_settings_without_a_model(use_built_index: Path) -> None:
    at = _page("ui/settings.py")
    assert any("未配置大模型" in w.value for w in at.warning)
    assert not any(b.label == "测试连接" for b in at.button)
    texts = _texts(at)
    assert "语义检索已启用" in texts or "语义检索未启用" in texts
    assert "workspace.sqlite3" in texts  # where drafts are saved


def test_settings_test_connection_success_and_failure(use_built_index: Path, llm_env: Any) -> None:
    with StubLLMServer() as stub:
        llm_env(stub, max_retries=0)
        at = _page("ui/settings.py")
        _button(at, "测试连接").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert any("连接成功" in s.value for s in at.success)
    # The stub is gone: the same button now reports the connection failure in Chinese, never the key.
    _button(at, "测试连接").click().run(timeout=TIMEOUT)
    errors = " ".join(e.value for e in at.error)
    assert "连接失败" in errors and "test-key-not-secret" not in _texts(at)


# Saved sessions moved to 草稿历史: listing, 打开 (the open session becomes the draft page's), 改名, 复制, 删除,
# and a session deleted elsewhere leaving the list are in tests/test_app_history.py.
