"""The one place that talks to the OpenAI-compatible chat endpoint.

The SDK's own retries are off (`max_retries=0`): tenacity retries here, so the policy
(what is retried, how long to wait, Retry-After) is ours, logged, and counted in `stats`.
Every failure leaves as `LLMError` with a distinct `code` and a Chinese `user_message`.
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

import openai
from openai.types.chat import ChatCompletionMessageParam
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from .config import Settings, get_settings
from .datafiles import load_data
from .errors import LLMError

log = logging.getLogger("shuzhi.llm")

Messages = list[dict[str, str]]
TokenCallback = Callable[[str], None]
T = TypeVar("T")

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
LOCAL_PLACEHOLDER_KEY = "not-needed"  # Ollama/vLLM ignore the key, but the SDK wants one

NOT_CONFIGURED_MESSAGE = (
    "尚未配置大模型接口：请设置 OPENAI_BASE_URL、OPENAI_API_KEY 和 SHUZHI_MODEL，或选择预设（SHUZHI_PROVIDER=deepseek 等）。"
    "检索、提纲、检查和导出不需要模型，仍可使用。"
)

# Provider content-review refusals, matched on code/type/message (lower-cased).
# SEE: https://help.aliyun.com/zh/model-studio/error-code (DashScope: data_inspection_failed)
# SEE: https://open.bigmodel.cn/dev/api/error-code/error-code (Zhipu: 1301 不安全或敏感内容)
CONTENT_FILTER_MARKERS = ("data_inspection_failed", "content_filter", "content_policy", "sensitive",
                          "inappropriate", "敏感", "不安全", "审核")
CONTENT_FILTER_CODES = frozenset({"1301", "data_inspection_failed", "content_filter", "content_policy_violation"})
CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "context length", "token limit",
                   "too long", "range of input length", "超长", "超过最大长度")
MODEL_MARKERS = ("model_not_found", "does not exist", "模型不存在", "model not exist")
QUOTA_MARKERS = ("insufficient_quota", "insufficient balance", "余额不足", "arrearage")
# finish_reason values that mean the provider cut the answer for content reasons (Zhipu: "sensitive").
FILTER_FINISH_REASONS = frozenset({"content_filter", "sensitive"})


# ------------------------------------------------------------------ presets and config
@dataclass(frozen=True)
class ProviderPreset:
    name: str
    label: str  # Chinese, for the UI
    base_url: str
    model: str
    notes: str = ""
    api_key: str = ""  # only for local servers that ignore it (Ollama); never a real key


def load_presets() -> dict[str, ProviderPreset]:
    """Presets from data/providers.yaml (merged with the user's rules/providers.yaml)."""
    raw = (load_data("providers") or {}).get("presets") or {}
    fields = ("label", "base_url", "model", "notes", "api_key")
    return {str(name): ProviderPreset(name=str(name), **{f: str(p.get(f) or "") for f in fields})
            for name, p in raw.items() if isinstance(p, dict)}


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str = field(default="", repr=False)  # never in repr, logs or messages
    temperature: float = 0.4
    timeout_s: float = 120.0
    max_retries: int = 3
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 30.0
    provider: str = ""

    @property
    def display_url(self) -> str:
        """The base URL without any user:password part, safe to show and log."""
        parts = urlsplit(self.base_url)
        return urlunsplit(parts._replace(netloc=parts.hostname or "")) if parts.password else self.base_url


def is_local_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def resolve_llm_config(settings: Settings | None = None) -> LLMConfig | None:
    """Settings (+ preset) → LLMConfig; None when neither a base URL nor a provider is set."""
    settings = settings or get_settings()
    provider = settings.provider.strip().lower()
    preset: ProviderPreset | None = None
    if provider:
        presets = load_presets()
        preset = presets.get(provider)
        if preset is None:
            names = "、".join(sorted(presets))
            raise LLMError(f"未知的大模型预设「{provider}」：可选 {names}。", f"unknown provider {provider!r}",
                           code="not_configured")
    base_url = settings.openai_base_url.strip() or (preset.base_url if preset else "")
    if not base_url:
        return None
    model = settings.model.strip() or (preset.model if preset else "")
    if not model:
        raise LLMError("已设置接口地址但未设置模型名称：请设置 SHUZHI_MODEL（例如 deepseek-chat）。",
                       "no model configured", code="not_configured")
    api_key = settings.openai_api_key.get_secret_value().strip()
    if not api_key and preset and preset.api_key:
        api_key = preset.api_key
    if not api_key and is_local_url(base_url):
        api_key = LOCAL_PLACEHOLDER_KEY
    return LLMConfig(base_url=base_url.rstrip("/"), model=model, api_key=api_key, temperature=settings.temperature,
                     timeout_s=settings.timeout_s, max_retries=max(0, settings.max_retries),
                     retry_base_delay_s=settings.retry_base_delay_s, retry_max_delay_s=settings.retry_max_delay_s,
                     provider=provider)


def require_llm(settings: Settings | None = None) -> ChatClient:
    """A client for the configured endpoint, or LLMError(code="not_configured")."""
    config = resolve_llm_config(settings)
    if config is None:
        raise LLMError(NOT_CONFIGURED_MESSAGE, "no LLM endpoint configured", code="not_configured")
    return ChatClient(config)


# ------------------------------------------------------------------ stats
@dataclass(frozen=True)
class ChatStats:
    calls: int = 0  # complete() / list_models() invocations
    attempts: int = 0  # HTTP requests sent
    retries: int = 0  # attempts after the first, summed over calls
    failures: int = 0  # calls that ended in LLMError


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values = ChatStats()

    def add(self, **deltas: int) -> None:
        with self._lock:
            v = self._values
            self._values = ChatStats(**{k: getattr(v, k) + deltas.get(k, 0) for k in ChatStats.__dataclass_fields__})

    def snapshot(self) -> ChatStats:
        with self._lock:
            return self._values


# ------------------------------------------------------------------ errors
class _MalformedAnswer(Exception):
    """The endpoint sent something that is not the OpenAI wire format (a proxy's HTML, broken JSON)."""


class _StreamCut(Exception):
    """Raised inside an attempt once tokens were delivered: retrying would repeat them."""

    def __init__(self, partial: str, cause: BaseException | None, finish_reason: str | None = None) -> None:
        super().__init__("stream cut")
        self.partial = partial
        self.cause = cause
        self.finish_reason = finish_reason


def _error_fields(exc: openai.APIError) -> tuple[int | None, str, str]:
    """(status, code, lower-cased searchable text) from an SDK error, whatever the provider's shape."""
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    body = exc.body if isinstance(exc.body, dict) else {}
    code = str(exc.code or body.get("code") or "")
    text = " ".join(str(x) for x in (code, exc.type or "", body.get("type", ""), exc.message)).lower()
    return status, code, text


def _is_content_filter(code: str, text: str) -> bool:
    return code.lower() in CONTENT_FILTER_CODES or any(m in text for m in CONTENT_FILTER_MARKERS)


def _is_quota(text: str) -> bool:
    return any(m in text for m in QUOTA_MARKERS)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.RateLimitError):
        return not _is_quota(_error_fields(exc)[2])  # an empty wallet does not refill in seconds
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code == 408
    return False


def _content_filter_error(detail: str, partial: str = "") -> LLMError:
    return _llm_error(
        "服务商的内容安全审核（内容审核）拒绝了这段文本，这类拦截常是误判：请调整措辞（例如改写敏感表述、去掉具体人名或案件细节）后重试，"
        "或换用其他服务商或本地模型。",
        detail, "content_filter", partial)


def _llm_error(message: str, detail: str, code: str, partial: str = "") -> LLMError:
    err = LLMError(message, detail, code=code)
    err.partial = partial
    return err


def _translate(exc: BaseException, config: LLMConfig, attempts: int) -> LLMError:
    """Map an SDK/transport failure to one LLMError with a distinct code and Chinese message."""
    after = f"（已尝试 {attempts} 次）" if attempts > 1 else ""
    if isinstance(exc, openai.APITimeoutError):
        return _llm_error(f"大模型接口在 {config.timeout_s:g} 秒内没有响应{after}：请稍后再试，或调大 SHUZHI_TIMEOUT_S。",
                          f"timeout after {attempts} attempt(s) to {config.display_url}", "timeout")
    if isinstance(exc, openai.APIConnectionError):
        return _llm_error(f"无法连接大模型接口 {config.display_url}{after}：请检查地址和网络；本地模型（Ollama/vLLM）请确认服务已启动。",
                          f"connection failed to {config.display_url}: {exc.__cause__!r}", "unreachable")
    if isinstance(exc, _MalformedAnswer):
        return _llm_error("大模型接口返回了无法解析的内容：请检查 OPENAI_BASE_URL 是否指向 OpenAI 兼容接口（通常以 /v1 结尾）。",
                          f"malformed answer: {exc}", "server_error")
    if not isinstance(exc, openai.APIError):
        return _llm_error("调用大模型时发生意外错误，请重试。", f"{type(exc).__name__}: {exc}", "bad_request")
    status, code, text = _error_fields(exc)
    detail = f"HTTP {status} code={code!r} after {attempts} attempt(s): {exc.message}"
    if _is_content_filter(code, text):
        return _content_filter_error(detail)
    if status == 402 or _is_quota(text):
        return _llm_error("大模型账户余额不足或额度已用完：请到服务商控制台充值或更换密钥。", detail, "auth")
    if status == 429:
        return _llm_error(f"大模型接口请求过于频繁，被限流{after}：请稍后再试，或调小并发数 SHUZHI_MAX_CONCURRENCY。",
                          detail, "rate_limited")
    if status is not None and status >= 500:  # before the text markers: a gateway "took too long" is no 4xx
        return _llm_error(f"大模型服务端出错（HTTP {status}）{after}：请稍后再试，或换用其他服务商。", detail, "server_error")
    if any(m in text for m in CONTEXT_MARKERS):
        return _llm_error("输入超出了模型的上下文长度：请减少参考范文或笔记篇幅（可调小 SHUZHI_MAX_PROMPT_CHARS），或换用上下文更长的模型。",
                          detail, "context_too_long")
    if status in (401, 403):
        return _llm_error(f"大模型接口拒绝了 API 密钥（HTTP {status}）：请检查 OPENAI_API_KEY 是否正确、是否属于当前服务商。",
                          detail, "auth")
    if status == 404 or any(m in text for m in MODEL_MARKERS):
        return _llm_error(f"服务商没有名为「{config.model}」的模型：请检查 SHUZHI_MODEL 的拼写，或用「测试连接」查看可用模型。",
                          detail, "model_not_found")
    return _llm_error(f"大模型接口拒绝了请求（HTTP {status}）：{exc.message[:200]}", detail, "bad_request")


def _redact(err: LLMError, secret: str) -> LLMError:
    """Belt and braces: a provider could echo the key in its error text."""
    if secret and len(secret) >= 6:
        err.user_message = err.user_message.replace(secret, "***")
        err.detail = err.detail.replace(secret, "***")
        err.args = tuple(str(a).replace(secret, "***") for a in err.args)
    return err


# ------------------------------------------------------------------ retry policy
def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retry_after_of(exc: BaseException | None) -> float | None:
    if isinstance(exc, openai.APIStatusError):
        headers = exc.response.headers
        ms = headers.get("retry-after-ms")
        if ms:
            seconds = parse_retry_after(ms)
            return None if seconds is None else seconds / 1000
        return parse_retry_after(headers.get("retry-after"))
    return None


class _Wait:
    """Exponential back-off, but a server's Retry-After wins (capped at retry_max_delay_s)."""

    def __init__(self, config: LLMConfig) -> None:
        self._cap = config.retry_max_delay_s
        # Jitter spreads out sections that were throttled together (they run concurrently).
        self._backoff = wait_exponential(multiplier=config.retry_base_delay_s, max=config.retry_max_delay_s) \
            + wait_random(0, config.retry_base_delay_s / 2)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = _retry_after_of(exc)
        return min(hinted if hinted is not None else float(self._backoff(state)), self._cap)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("LLM attempt %d failed (%s status=%s code=%s); retrying in %.2fs",
                state.attempt_number, type(exc).__name__, status, code, wait)


# ------------------------------------------------------------------ client
class ChatClient:
    """Thread-safe: one instance serves concurrent section drafts (the SDK's HTTP pool is shared)."""

    def __init__(self, config: LLMConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep  # injectable so tests can see back-off delays without waiting them
        self._counter = _Counter()
        self._client = openai.OpenAI(base_url=config.base_url, api_key=config.api_key or LOCAL_PLACEHOLDER_KEY,
                                     timeout=config.timeout_s, max_retries=0)

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.config.display_url!r}, model={self.config.model!r})"

    @property
    def stats(self) -> ChatStats:
        return self._counter.snapshot()

    def complete(self, messages: Messages, *, on_token: TokenCallback | None = None,
                 temperature: float | None = None) -> str:
        """The model's answer; streams through on_token when given. Raises LLMError."""
        temp = self.config.temperature if temperature is None else temperature
        if on_token is None:
            return self._run(lambda: self._plain(messages, temp))
        delivered: list[str] = []  # shared across attempts: once tokens went out, no retry
        return self._run(lambda: self._stream(messages, temp, on_token, delivered))

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers (for the UI's 测试连接). Raises LLMError."""
        return self._run(lambda: sorted(m.id for m in self._client.models.list()))

    # -------------------------------------------------------------- internals
    def _run(self, attempt: Callable[[], T]) -> T:
        self._check_key()
        self._counter.add(calls=1)
        tries = 0

        def counted() -> T:
            nonlocal tries
            tries += 1
            self._counter.add(attempts=1, retries=int(tries > 1))
            return attempt()

        retrying = Retrying(stop=stop_after_attempt(self.config.max_retries + 1), wait=_Wait(self.config),
                            retry=retry_if_exception(_is_retryable), before_sleep=_log_retry, reraise=True,
                            sleep=self._sleep)
        try:
            return retrying(counted)
        except _StreamCut as cut:
            self._fail(self._cut_error(cut, tries))
        except (openai.OpenAIError, _MalformedAnswer) as exc:
            self._fail(_translate(exc, self.config, tries))

    def _fail(self, err: LLMError) -> NoReturn:
        self._counter.add(failures=1)
        err = _redact(err, self.config.api_key)
        log.error("LLM call failed [%s] model=%s url=%s: %s", err.code, self.config.model,
                  self.config.display_url, err.detail)
        raise err

    def _check_key(self) -> None:
        if not self.config.api_key and not is_local_url(self.config.base_url):
            raise LLMError("未设置 API 密钥：请设置 OPENAI_API_KEY（本地 Ollama/vLLM 可不设）。",
                           f"no API key for {self.config.display_url}", code="auth")

    def _plain(self, messages: Messages, temperature: float) -> str:
        resp = self._client.chat.completions.create(
            model=self.config.model, messages=cast("list[ChatCompletionMessageParam]", messages), temperature=temperature
        )
        if not resp.choices:
            log.warning("LLM answer had no choices (model=%s)", self.config.model)
            return ""
        choice = resp.choices[0]
        text = choice.message.content or ""
        if choice.finish_reason in FILTER_FINISH_REASONS:
            raise _StreamCut(text, None, choice.finish_reason)
        if choice.finish_reason == "length":
            log.warning("LLM answer truncated at the token limit (model=%s)", self.config.model)
        return text

    def _stream(self, messages: Messages, temperature: float, on_token: TokenCallback,
                delivered: list[str]) -> str:
        if delivered:  # a retry after tokens reached the caller would duplicate them
            raise _StreamCut("".join(delivered), None)
        finish: str | None = None
        try:
            for delta, reason in self._deltas(messages, temperature):
                if delta:
                    delivered.append(delta)
                    on_token(delta)
                finish = reason or finish
        except (openai.OpenAIError, _MalformedAnswer) as exc:
            if not delivered:
                raise  # nothing shown yet: the normal retry policy applies
            raise _StreamCut("".join(delivered), exc) from exc
        text = "".join(delivered)
        if finish is None or finish in FILTER_FINISH_REASONS:
            raise _StreamCut(text, None, finish)
        if finish == "length":
            log.warning("LLM answer truncated at the token limit (model=%s)", self.config.model)
        return text

    def _deltas(self, messages: Messages, temperature: float) -> Iterator[tuple[str, str | None]]:
        stream = self._client.chat.completions.create(
            model=self.config.model, messages=cast("list[ChatCompletionMessageParam]", messages), temperature=temperature, stream=True
        )
        with stream:
            try:
                for chunk in stream:
                    if not chunk.choices:  # usage-only chunks
                        continue
                    choice = chunk.choices[0]
                    # Only `content`: reasoning models (deepseek-reasoner) also stream `reasoning_content`.
                    yield (choice.delta.content or "") if choice.delta else "", choice.finish_reason
            except ValueError as exc:  # an SSE line that is not JSON
                raise _MalformedAnswer(str(exc)[:200]) from exc

    def _cut_error(self, cut: _StreamCut, attempts: int) -> LLMError:
        if cut.finish_reason in FILTER_FINISH_REASONS:
            return _content_filter_error(f"finish_reason={cut.finish_reason!r} after {len(cut.partial)} chars",
                                         cut.partial)
        if isinstance(cut.cause, openai.APIError) and _is_content_filter(*_error_fields(cut.cause)[1:]):
            return _content_filter_error(f"in-stream error: {cut.cause.message}", cut.partial)
        cause = f"{type(cut.cause).__name__}" if cut.cause else "stream ended without finish_reason"
        return _llm_error("生成过程中连接中断，只收到部分内容（已保留）：可以重试本节。",
                          f"stream broken after {len(cut.partial)} chars, attempt {attempts}: {cause}",
                          "stream_broken", cut.partial)
