"""模型设置 in the app (AppTest, the stub LLM): set the model for this browser session, see where each
setting comes from, 测试连接, every page's model calls use it; the core's `ModelOverrides`/`with_model`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer
from streamlit.testing.v1 import AppTest

from shuzhi.api import ModelField, ModelOverrides, SettingSource, Workspace

REPO = Path(__file__).resolve().parent.parent
APP = str(REPO / "app.py")
TIMEOUT = 120
SETTINGS = "ui/settings.py"
WEAK_PROBLEMS = (REPO / "examples" / "weak_problems_1.md").read_text(encoding="utf-8")


def _page(path: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run(timeout=TIMEOUT)
    at.switch_page(path).run(timeout=TIMEOUT)
    assert not at.exception
    return at


def _button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def _captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption]


def _set_model(at: AppTest, url: str, model: str, key: str = "") -> None:
    at.text_input(key="ms_base_url").set_value(url)
    at.text_input(key="ms_model").set_value(model)
    if key:
        at.text_input(key="ms_api_key").set_value(key)
    _button(at, "应用").click().run(timeout=TIMEOUT)
    assert not at.exception


# ------------------------------------------------------------------ the page
def test_the_model_is_set_in_the_app_used_tested_and_reset(use_built_index: Path) -> None:
    with StubLLMServer() as stub:
        at = _page(SETTINGS)
        assert any("未配置大模型" in w.value for w in at.warning)
        assert any("模型：未配置" in c for c in _captions(at))  # the sidebar
        assert not any(b.label == "测试连接" for b in at.button)
        assert at.text_input(key="ms_api_key").proto.type == at.text_input(key="ms_api_key").proto.PASSWORD
        _set_model(at, stub.base_url, "stub-model", key="sk-session-only-1")
        assert any("已应用" in s.value and "stub-model" in s.value for s in at.success)
        assert any("模型：stub\\-model（本次会话设置）" in c for c in _captions(at))  # the sidebar follows
        assert sum("本次会话设置" in c for c in _captions(at)) >= 3  # URL, model, key
        assert at.text_input(key="ms_api_key").value == ""  # the key is not left in the box
        assert any(c.startswith("已设置") for c in _captions(at))
        _button(at, "测试连接").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert any("连接成功" in s.value and "stub-model" in s.value for s in at.success)
        assert stub.requests[-1].headers["authorization"] == "Bearer sk-session-only-1"
        _button(at, "恢复为启动时的设置").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert any("已恢复为启动时的设置" in i.value for i in at.info)
        assert any("未配置大模型" in w.value for w in at.warning)
        assert at.text_input(key="ms_base_url").value == ""


def test_a_failed_connection_is_told_in_chinese_without_the_key(use_built_index: Path) -> None:
    with StubLLMServer() as stub:
        url = stub.base_url
    at = _page(SETTINGS)  # the stub is gone: nothing answers at its address
    at.number_input(key="ms_concurrency").set_value(1)
    _set_model(at, url, "stub-model", key="sk-never-shown-2")
    _button(at, "测试连接").click().run(timeout=TIMEOUT)
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "连接失败" in errors
    everything = " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.error, *at.success, *at.warning))
    assert "sk-never-shown-2" not in everything


def test_settings_from_the_environment_are_shown_as_such_and_overridable(use_built_index: Path,
                                                                          llm_env: Any) -> None:
    with StubLLMServer() as stub:
        llm_env(stub)
        at = _page(SETTINGS)
        assert any("正在使用" in s.value and "stub-model" in s.value for s in at.success)
        assert sum("来自环境变量" in c for c in _captions(at)) >= 3  # URL, model, key
        assert at.text_input(key="ms_base_url").value == stub.base_url
        assert at.text_input(key="ms_model").value == "stub-model"
        assert "test-key-not-secret" not in " ".join(_captions(at))
        at.number_input(key="ms_temperature").set_value(1.2)
        at.text_input(key="ms_model").set_value("session-model")
        _button(at, "应用").click().run(timeout=TIMEOUT)
        overrides = at.session_state["model_settings"]
        assert overrides.temperature == pytest.approx(1.2) and overrides.base_url is None  # only what changed
        assert overrides.model == "session-model"
        assert any("本次会话设置" in c for c in _captions(at)) and any("来自环境变量" in c for c in _captions(at))
        # Every page's model call uses this session's settings: the rewrite page asks the stub.
        at.switch_page("ui/rewrite.py").run(timeout=TIMEOUT)
        at.segmented_control(key="rewrite_mode").set_value("粘贴或上传").run(timeout=TIMEOUT)  # not a stored draft
        at.text_area(key="rewrite_text").set_value(WEAK_PROBLEMS)
        _button(at, "诊断并改写").click().run(timeout=TIMEOUT)
        assert not at.exception
        assert stub.chat_count >= 1
        assert stub.chat_requests[-1].body["model"] == "session-model"
        assert stub.chat_requests[-1].headers["authorization"] == "Bearer test-key-not-secret"


def test_a_preset_fills_the_address_and_model(use_built_index: Path) -> None:
    at = _page(SETTINGS)
    at.selectbox(key="ms_preset").set_value("deepseek").run(timeout=TIMEOUT)
    _button(at, "填入地址和模型").click().run(timeout=TIMEOUT)
    assert at.text_input(key="ms_base_url").value == "https://api.deepseek.com/v1"
    assert at.text_input(key="ms_model").value == "deepseek-chat"
    assert any("DeepSeek" in str(o) for o in at.selectbox(key="ms_preset").options)
    _button(at, "应用").click().run(timeout=TIMEOUT)
    assert any("deepseek-chat" in s.value for s in at.success)


def test_the_banner_says_which_buttons_need_a_model(use_built_index: Path) -> None:
    at = _page("ui/rewrite.py")
    banner = " ".join(i.value for i in at.info)
    for needs in ("生成初稿", "重新生成", "润色/扩写/缩写", "自动改写"):
        assert needs in banner.split("不需要模型")[0]
    for free in ("提纲", "检查", "检索", "导出"):
        assert free in banner.split("不需要模型")[1]
    assert any(link.proto.page.endswith("settings.py") or "设置" in link.proto.label for link in at.get("page_link"))


# ------------------------------------------------------------------ the core
def test_with_model_sources_and_the_key_kept_out_of_reprs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (Path(os.environ["SHUZHI_ENV_FILE"])).write_text("SHUZHI_MODEL=dotenv-model\nOPENAI_BASE_URL=http://127.0.0.1:9/v1\n",
                                     encoding="utf-8")
    monkeypatch.setenv("SHUZHI_TEMPERATURE", "0.7")
    ws = Workspace.open(tmp_path / "data")
    view = ws.model_settings_view()
    assert view.get(ModelField.MODEL).value == "dotenv-model"
    assert view.get(ModelField.MODEL).source is SettingSource.DOTENV
    assert view.get(ModelField.TEMPERATURE).source is SettingSource.ENV
    assert view.get(ModelField.MAX_CONCURRENCY).source is SettingSource.DEFAULT
    assert not view.get(ModelField.API_KEY).is_set and view.get(ModelField.API_KEY).shown == "未设置"

    overrides = ModelOverrides.create(provider="qwen", api_key="sk-in-memory-3", max_concurrency=2)
    assert "sk-in-memory-3" not in repr(overrides)
    session = ws.with_model(overrides)
    assert session.store is ws.store and session.corpus_index is ws.corpus_index
    assert session.settings.max_concurrency == 2 and ws.settings.max_concurrency == 0  # 0: automatic
    view = session.model_settings_view()
    assert view.get(ModelField.BASE_URL).value.startswith("https://dashscope")
    assert view.get(ModelField.BASE_URL).source is SettingSource.PRESET
    assert view.get(ModelField.API_KEY).shown == "已设置" and view.get(ModelField.API_KEY).value == ""
    assert view.session_overrides and "sk-in-memory-3" not in repr(view)
    config = session.model_config()
    assert config is not None and config.model == "qwen-plus" and config.api_key == "sk-in-memory-3"
    # A second session's settings replace the first one's (they are not stacked).
    again = session.with_model(ModelOverrides(temperature=0.1))
    assert again.settings.max_concurrency == 0 and again.model_config() is not None
    assert again.model_config().model == "dotenv-model"  # type: ignore[union-attr]
