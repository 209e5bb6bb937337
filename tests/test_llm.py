"""The LLM layer through LangChain's ChatOpenAI (and the openai SDK under it) against a real HTTP stub on 127.0.0.1."""

from __future__ import annotations

import email.utils
import logging
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from llm_stub import DEFAULT_REPLY, StubLLMServer, split_tokens

from shuzhi.config import Settings
from shuzhi.errors import LLMError
from shuzhi.llm import (
    NOT_CONFIGURED_MESSAGE,
    ChatClient,
    LLMConfig,
    load_presets,
    parse_retry_after,
    require_llm,
    resolve_llm_config,
)

# A fake key, assembled so that no key-shaped literal sits in one piece.
FAKE_KEY = "sk-test-" + "ABCDEFGHIJKLMNOPQRSTUV"
MESSAGES = [{"role": "system", "content": "你是写作助手。"}, {"role": "user", "content": "写一段开头。"}]


@pytest.fixture
def stub() -> Iterator[StubLLMServer]:
    with StubLLMServer() as server:
        yield server


def make_config(base_url: str, **overrides: object) -> LLMConfig:
    values: dict[str, object] = dict(
        base_url=base_url, model="stub-model", api_key=FAKE_KEY, temperature=0.4, timeout_s=5.0,
        max_retries=2, retry_base_delay_s=0.01, retry_max_delay_s=0.05, provider="",
    )
    values.update(overrides)
    return LLMConfig(**values)  # type: ignore[arg-type]


def make_client(stub: StubLLMServer, **overrides: object) -> ChatClient:
    return ChatClient(make_config(stub.base_url, **overrides))


def fail(client: ChatClient, stream: bool = False) -> LLMError:
    tokens: list[str] = []
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES, on_token=tokens.append if stream else None)
    return info.value


# ------------------------------------------------------------------ answers
def test_plain_answer_sends_model_messages_and_key(stub: StubLLMServer) -> None:
    assert make_client(stub).complete(MESSAGES) == DEFAULT_REPLY
    (req,) = stub.chat_requests
    assert req.body["model"] == "stub-model"
    assert req.body["messages"] == MESSAGES
    assert not req.body.get("stream")
    assert req.headers.get("authorization") == f"Bearer {FAKE_KEY}"


def test_streamed_answer_calls_on_token_in_order(stub: StubLLMServer) -> None:
    tokens: list[str] = []
    text = make_client(stub).complete(MESSAGES, on_token=tokens.append, temperature=0.1)
    assert text == DEFAULT_REPLY
    assert tokens == split_tokens(DEFAULT_REPLY, stub.stream_chunk_chars)
    assert stub.chat_requests[0].body["stream"] is True
    assert stub.chat_requests[0].body["temperature"] == 0.1


def test_custom_responder_sees_the_request() -> None:
    with StubLLMServer(responder=lambda body: "共发展党员3名。" + body["messages"][-1]["content"]) as server:
        assert make_client(server).complete(MESSAGES) == "共发展党员3名。写一段开头。"


def test_list_models(stub: StubLLMServer) -> None:
    assert make_client(stub).list_models() == ["stub-model"]


# ------------------------------------------------------------------ retries
def test_429_twice_then_success(stub: StubLLMServer) -> None:
    stub.faults.extend(["429", "429"])
    client = make_client(stub, max_retries=3)
    assert client.complete(MESSAGES) == DEFAULT_REPLY
    assert stub.chat_count == 3
    assert (client.stats.calls, client.stats.attempts, client.stats.retries, client.stats.failures) == (1, 3, 2, 0)


def test_retry_after_wins_over_backoff_and_is_capped(stub: StubLLMServer) -> None:
    stub.faults.extend(["429", "429_long", "500"])
    sleeps: list[float] = []
    client = ChatClient(make_config(stub.base_url, max_retries=3, retry_base_delay_s=1.0, retry_max_delay_s=7.0),
                        sleep=sleeps.append)
    assert client.complete(MESSAGES) == DEFAULT_REPLY
    # Retry-After: 0 beats the back-off; Retry-After: 120 is capped at 7 s; the 500 (third attempt)
    # backs off exponentially, 1 s * 2**2, plus up to half the base delay of jitter.
    assert sleeps[:2] == [0.0, 7.0]
    assert 4.0 <= sleeps[2] <= 4.5


def test_429_beyond_budget_is_rate_limited(stub: StubLLMServer) -> None:
    stub.faults.extend(["429"] * 5)
    err = fail(make_client(stub, max_retries=1))
    assert err.code == "rate_limited"
    assert stub.chat_count == 2


def test_500_beyond_retry_budget_is_server_error(stub: StubLLMServer) -> None:
    stub.faults.extend(["500"] * 5)
    client = make_client(stub, max_retries=2)
    err = fail(client)
    assert err.code == "server_error"
    assert stub.chat_count == 3
    assert client.stats.failures == 1


def test_503_then_success_streaming(stub: StubLLMServer) -> None:
    stub.faults.append("503")
    tokens: list[str] = []
    assert make_client(stub).complete(MESSAGES, on_token=tokens.append) == DEFAULT_REPLY
    assert "".join(tokens) == DEFAULT_REPLY
    assert stub.chat_count == 2


def test_timeout_after_retries() -> None:
    with StubLLMServer(faults=["timeout", "timeout"], timeout_sleep_s=3.0) as server:
        err = fail(make_client(server, timeout_s=0.5, max_retries=1))
        assert err.code == "timeout"
        assert server.chat_count == 2


@pytest.mark.parametrize("header, seconds", [("0", 0.0), ("2.5", 2.5), ("-3", 0.0), ("soon", None), ("", None)])
def test_parse_retry_after_seconds(header: str, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_http_date() -> None:
    value = parse_retry_after(email.utils.formatdate(time.time() + 60, usegmt=True))
    assert value is not None and 0 < value <= 61
    assert parse_retry_after(email.utils.formatdate(time.time() - 60, usegmt=True)) == 0


# ------------------------------------------------------------------ failures that are not retried
def test_broken_stream_keeps_partial_text_and_does_not_retry(stub: StubLLMServer) -> None:
    stub.faults.append("broken_stream")
    tokens: list[str] = []
    client = make_client(stub)
    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES, on_token=tokens.append)
    err = info.value
    assert err.code == "stream_broken"
    expected = "".join(split_tokens(DEFAULT_REPLY, stub.stream_chunk_chars)[:2])
    assert err.partial == expected == "".join(tokens)
    assert "部分内容" in err.user_message
    assert stub.chat_count == 1  # a retry would repeat tokens the caller already showed


@pytest.mark.parametrize("fault", ["content_filter", "content_filter_zhipu"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_content_filter_is_named_and_not_retried(stub: StubLLMServer, fault: str, stream: bool) -> None:
    stub.faults.append(fault)
    err = fail(make_client(stub), stream=stream)
    assert err.code == "content_filter"
    assert "内容审核" in err.user_message
    assert "换用" in err.user_message and "措辞" in err.user_message
    assert stub.chat_count == 1


@pytest.mark.parametrize("fault, code, shown", [
    pytest.param("401", "auth", "OPENAI_API_KEY", id="401-auth"),
    pytest.param("404_model", "model_not_found", "qwen-nonexistent", id="404-names-the-model"),
    pytest.param("context_too_long", "context_too_long", "上下文", id="context-too-long"),
])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_request_refused_is_named_and_not_retried(stub: StubLLMServer, fault: str, code: str, shown: str,
                                                  stream: bool) -> None:
    stub.faults.append(fault)
    err = fail(make_client(stub, model="qwen-nonexistent"), stream=stream)
    assert err.code == code
    assert shown in err.user_message
    assert stub.chat_count == 1


@pytest.mark.parametrize("fault, stream", [
    pytest.param("html", False, id="html-page-instead-of-json"),
    pytest.param("bad_sse", True, id="stream-line-not-json"),
])
def test_malformed_answer_is_named(stub: StubLLMServer, fault: str, stream: bool) -> None:
    stub.faults.append(fault)
    err = fail(make_client(stub), stream=stream)
    assert err.code == "malformed"  # its own code since issue 9 (was server_error)
    assert "无法解析" in err.user_message and "OPENAI_BASE_URL" in err.user_message
    assert stub.chat_count == 1


def test_review_cut_keeps_partial_text(stub: StubLLMServer) -> None:
    stub.faults.extend(["finish_sensitive", "finish_sensitive"])  # Zhipu ends a reviewed answer so
    tokens: list[str] = []
    with pytest.raises(LLMError) as info:
        make_client(stub).complete(MESSAGES, on_token=tokens.append)
    assert info.value.code == "content_filter" and info.value.partial == DEFAULT_REPLY == "".join(tokens)
    assert fail(make_client(stub)).code == "content_filter"
    assert stub.chat_count == 2


def test_unreachable_port() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and now has no listener
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    err = fail(ChatClient(make_config(f"http://127.0.0.1:{port}/v1", max_retries=1)))
    assert err.code == "unreachable"
    assert str(port) in err.user_message


def test_missing_key_for_a_remote_endpoint_fails_before_any_request() -> None:
    err = fail(ChatClient(make_config("https://api.deepseek.com/v1", api_key="")))
    assert err.code == "auth"


# ------------------------------------------------------------------ concurrency
def test_one_client_serves_concurrent_threads() -> None:
    with StubLLMServer(hold_until_concurrent=3) as server:
        client = make_client(server)
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda _: client.complete(MESSAGES, on_token=lambda t: None), range(3)))
        assert results == [DEFAULT_REPLY] * 3
        assert server.max_in_flight >= 2
        assert client.stats.calls == 3 and client.stats.attempts == 3


# ------------------------------------------------------------------ configuration
def test_not_configured() -> None:
    assert resolve_llm_config(Settings()) is None
    with pytest.raises(LLMError) as info:
        require_llm(Settings())
    assert info.value.code == "not_configured"
    assert info.value.user_message == NOT_CONFIGURED_MESSAGE


def test_presets_load() -> None:
    presets = load_presets()
    assert set(presets) >= {"deepseek", "qwen", "zhipu", "moonshot", "ollama", "vllm"}
    assert presets["deepseek"].base_url == "https://api.deepseek.com/v1"
    assert presets["qwen"].base_url == "https://dashscope.aliyuncs.com/compatible-mode/v1"
    assert presets["qwen"].model == "qwen-plus"
    assert presets["zhipu"].model == "glm-4-plus"
    assert all(p.label and p.base_url and p.model for p in presets.values())


def test_preset_fills_url_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    config = resolve_llm_config(Settings(provider="deepseek"))
    assert config is not None
    assert (config.base_url, config.model, config.provider) == ("https://api.deepseek.com/v1", "deepseek-chat", "deepseek")
    assert config.api_key == FAKE_KEY


def test_explicit_settings_win_over_preset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SHUZHI_MODEL", "deepseek-reasoner")
    config = resolve_llm_config(Settings(provider="deepseek"))
    assert config is not None
    assert (config.base_url, config.model) == ("http://127.0.0.1:9/v1", "deepseek-reasoner")


@pytest.mark.parametrize("provider, key", [("ollama", "ollama"), ("vllm", "not-needed")])
def test_local_presets_need_no_key(provider: str, key: str) -> None:
    config = resolve_llm_config(Settings(provider=provider))
    assert config is not None and config.api_key == key


def test_unknown_provider_is_reported() -> None:
    with pytest.raises(LLMError) as info:
        resolve_llm_config(Settings(provider="nosuch"))
    assert info.value.code == "not_configured" and "deepseek" in info.value.user_message


def test_settings_reach_the_config(monkeypatch: pytest.MonkeyPatch, stub: StubLLMServer) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("SHUZHI_MODEL", "stub-model")
    monkeypatch.setenv("SHUZHI_RETRY_BASE_DELAY_S", "0.01")
    client = require_llm(Settings())
    assert client.config.retry_base_delay_s == 0.01
    assert client.complete(MESSAGES) == DEFAULT_REPLY


# ------------------------------------------------------------------ the key stays secret
def test_key_never_shown(stub: StubLLMServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client(stub)
    for shown in (repr(client.config), str(client.config), repr(client), str(client)):
        assert FAKE_KEY not in shown
    for fault in ("401", "500", "500", "500", "content_filter"):
        stub.faults.append(fault)
    errors = [fail(client), fail(client), fail(client)]
    for err in errors:
        assert FAKE_KEY not in f"{err} {err!r} {err.user_message} {err.detail}"
    assert FAKE_KEY not in caplog.text
    assert not any(FAKE_KEY in r.getMessage() for r in caplog.records)
