"""Other LangChain chat models and callbacks: plugged in by configuration or injected in code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLES_DIR, run_cli
from fake_chat import EchoChatModel, RecordingHandler
from langchain_openai import ChatOpenAI
from llm_stub import DEFAULT_REPLY, StubLLMServer, split_tokens

from shuzhi.config import Settings
from shuzhi.errors import LLMError
from shuzhi.llm import ChatClient, LLMConfig, require_llm, resolve_llm_config

MESSAGES = [{"role": "system", "content": "你是写作助手。"}, {"role": "user", "content": "写一段开头。"}]
REPLY = "一年来，支部坚持以政治建设为统领，扎实推进各项工作。"
ECHO = "fake_chat:EchoChatModel"


@pytest.fixture(autouse=True)
def _fresh_handlers() -> None:
    RecordingHandler.instances.clear()


def configure_echo(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> None:
    monkeypatch.setenv("SHUZHI_CHAT_MODEL", ECHO)
    monkeypatch.setenv("SHUZHI_CHAT_MODEL_KWARGS", json.dumps({"reply": REPLY, **kwargs}, ensure_ascii=False))
    monkeypatch.setenv("SHUZHI_RETRY_BASE_DELAY_S", "0.01")
    monkeypatch.setenv("SHUZHI_RETRY_MAX_DELAY_S", "0.02")


def echo_client(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[ChatClient, EchoChatModel]:
    configure_echo(monkeypatch, **kwargs)
    client = require_llm(Settings())
    assert isinstance(client.chat_model, EchoChatModel)
    return client, client.chat_model


# ------------------------------------------------------------------ a chat model by configuration
def test_configured_chat_model_counts_as_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    configure_echo(monkeypatch)
    config = resolve_llm_config(Settings())
    assert config is not None and config.is_custom
    assert (config.chat_model, config.model, config.display_url) == (ECHO, "EchoChatModel", ECHO)


def test_configured_chat_model_streams_through_complete(monkeypatch: pytest.MonkeyPatch) -> None:
    client, model = echo_client(monkeypatch, chunk_chars=5)
    tokens: list[str] = []
    assert client.complete(MESSAGES, on_token=tokens.append, temperature=0.2) == REPLY
    assert tokens == split_tokens(REPLY, 5)
    assert client.complete(MESSAGES) == REPLY  # plain call
    # The system and user messages arrive as LangChain messages, at the temperature asked for
    # (then the configured 0.4): the model is copied per temperature, not mutated.
    assert model.calls[0]["messages"] == [("system", "你是写作助手。"), ("human", "写一段开头。")]
    assert [c["temperature"] for c in model.calls] == [0.2, 0.4]
    assert model.temperature == 0.7
    assert (client.stats.calls, client.stats.attempts, client.stats.failures) == (2, 2, 0)
    assert client.list_models() == ["EchoChatModel"]  # no /models endpoint: its own name


def test_temperature_in_kwargs_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    client, model = echo_client(monkeypatch, temperature=0.1)
    client.complete(MESSAGES)
    assert model.calls[-1]["temperature"] == 0.1


def test_model_retries_are_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    _, model = echo_client(monkeypatch)
    assert model.max_retries == 0  # ours (tenacity) are the only ones
    _, model = echo_client(monkeypatch, max_retries=5)
    assert model.max_retries == 5  # unless the user said otherwise


def test_draft_with_a_configured_chat_model(use_built_index: Path, monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    configure_echo(monkeypatch)
    code, stdout, _ = run_cli(capsys, "draft", str(EXAMPLES_DIR / "notes_jiguan_2024.md"), "--json",
                              "-o", str(tmp_path / "d.md"))
    assert code == 0
    sections = json.loads(stdout)["sections"]
    assert sections and all(not s["error"] for s in sections)
    assert REPLY in (tmp_path / "d.md").read_text(encoding="utf-8")


def test_injected_chat_model_needs_no_settings() -> None:
    model = EchoChatModel(reply=REPLY)
    client = ChatClient(LLMConfig(base_url="", model="echo"), chat_model=model)
    tokens: list[str] = []
    assert client.complete(MESSAGES, on_token=tokens.append) == REPLY
    assert "".join(tokens) == REPLY


def test_injected_chat_openai_is_used_as_given() -> None:
    with StubLLMServer() as stub:
        model = ChatOpenAI(base_url=stub.base_url, api_key="injected", model="stub-model", max_retries=0)
        client = ChatClient(LLMConfig(base_url=stub.base_url, model="stub-model"), chat_model=model)
        assert client.complete(MESSAGES, on_token=lambda t: None) == DEFAULT_REPLY
        assert client.list_models() == ["stub-model"]
        assert stub.chat_requests[0].headers["authorization"] == "Bearer injected"


# ------------------------------------------------------------------ callbacks
def test_callbacks_from_settings_see_every_token(monkeypatch: pytest.MonkeyPatch, llm_env: Any) -> None:
    monkeypatch.setenv("SHUZHI_CALLBACKS", "fake_chat:RecordingHandler")
    with StubLLMServer() as stub:
        llm_env(stub)
        client = require_llm(Settings())
        assert client.complete(MESSAGES, on_token=lambda t: None) == DEFAULT_REPLY
    (handler,) = RecordingHandler.instances
    assert handler.starts == 1
    assert "".join(handler.tokens) == DEFAULT_REPLY


def test_callbacks_from_settings_and_code_on_a_custom_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_CALLBACKS", "fake_chat:RecordingHandler, fake_chat:RecordingHandler")
    configure_echo(monkeypatch, faults=["boom"])
    mine = RecordingHandler()
    client = ChatClient(resolve_llm_config(Settings()), callbacks=[mine])  # type: ignore[arg-type]
    assert len(client.callbacks) == 3 and client.callbacks[-1] is mine
    with pytest.raises(LLMError):
        client.complete(MESSAGES, on_token=lambda t: None)
    assert client.complete(MESSAGES, on_token=lambda t: None) == REPLY
    for handler in RecordingHandler.instances:
        assert handler.starts == 2 and len(handler.errors) == 1
        assert "".join(handler.tokens) == REPLY


# ------------------------------------------------------------------ a custom model's failures
@pytest.mark.parametrize("faults, code, shown, calls", [
    pytest.param(["boom"], "model_error", "模型调用失败", 1, id="generic-exception"),
    pytest.param(["value"], "model_error", "模型调用失败", 1, id="value-error-is-no-malformed-openai-answer"),
    pytest.param(["auth"], "auth", "SHUZHI_CHAT_MODEL_KWARGS", 1, id="auth"),
    pytest.param(["refusal"], "content_filter", "内容审核", 1, id="refusal"),
    pytest.param(["rate_limit"] * 5, "rate_limited", "限流", 3, id="rate-limit-retried"),
    pytest.param(["timeout"] * 5, "timeout", "没有响应", 3, id="timeout-retried"),
])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_custom_model_failures_are_chinese_llm_errors(monkeypatch: pytest.MonkeyPatch, faults: list[str],
                                                       code: str, shown: str, calls: int, stream: bool) -> None:
    monkeypatch.setenv("SHUZHI_MAX_RETRIES", "2")
    client, model = echo_client(monkeypatch, faults=faults)
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES, on_token=(lambda t: None) if stream else None)
    assert (info.value.code, len(model.calls)) == (code, calls)
    assert shown in info.value.user_message
    assert info.value.__cause__ is not None  # not swallowed: the model's own exception is chained


def test_transient_custom_failure_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    client, model = echo_client(monkeypatch, faults=["rate_limit", "timeout"])
    assert client.complete(MESSAGES) == REPLY
    assert (client.stats.attempts, client.stats.retries) == (3, 2)


def test_custom_broken_stream_keeps_partial_text(monkeypatch: pytest.MonkeyPatch) -> None:
    client, model = echo_client(monkeypatch, chunk_chars=4, break_after=2)
    tokens: list[str] = []
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES, on_token=tokens.append)
    assert info.value.code == "stream_broken"
    assert info.value.partial == "".join(tokens) == REPLY[:8]
    assert len(model.calls) == 1


# ------------------------------------------------------------------ configuration mistakes
@pytest.mark.parametrize("env, named", [
    pytest.param({"SHUZHI_CHAT_MODEL": "no_such_pkg.mod:Model"}, "SHUZHI_CHAT_MODEL", id="not-installed"),
    pytest.param({"SHUZHI_CHAT_MODEL": "fake_chat:NoSuchClass"}, "SHUZHI_CHAT_MODEL", id="no-such-class"),
    pytest.param({"SHUZHI_CHAT_MODEL": "fake_chat:NotAModel"}, "BaseChatModel", id="not-a-chat-model"),
    pytest.param({"SHUZHI_CHAT_MODEL": "EchoChatModel"}, "格式", id="no-module"),
    pytest.param({"SHUZHI_CHAT_MODEL": ECHO, "SHUZHI_CHAT_MODEL_KWARGS": "{model: x}"}, "JSON", id="bad-json"),
    pytest.param({"SHUZHI_CHAT_MODEL": ECHO, "SHUZHI_CHAT_MODEL_KWARGS": "[1]"}, "JSON 对象", id="not-an-object"),
    pytest.param({"SHUZHI_CALLBACKS": "fake_chat:EchoChatModel", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                  "SHUZHI_MODEL": "m"}, "BaseCallbackHandler", id="callback-not-a-handler"),
])
def test_configuration_mistakes_are_reported(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                             named: str) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    with pytest.raises(LLMError) as info:
        resolve_llm_config(Settings())
    assert info.value.code == "not_configured"
    assert named in info.value.user_message


def test_kwargs_the_class_rejects_are_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-secret-" + "XYZXYZXYZ"
    # The class echoes the bad value in its validation error: the key must be redacted from it.
    configure_echo(monkeypatch, chunk_chars=secret, echo_token=secret)
    config = resolve_llm_config(Settings())
    assert config is not None
    with pytest.raises(LLMError) as info:
        ChatClient(config)
    assert info.value.code == "not_configured" and "SHUZHI_CHAT_MODEL_KWARGS" in info.value.user_message
    assert "XYZXYZXYZ" not in f"{info.value} {info.value.detail} {config!r}"


def test_on_token_exceptions_are_the_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    client, model = echo_client(monkeypatch)

    def explode(token: str) -> None:
        raise KeyError("caller's own bug")

    with pytest.raises(KeyError):
        client.complete(MESSAGES, on_token=explode)
    assert len(model.calls) == 1 and client.stats.failures == 0
