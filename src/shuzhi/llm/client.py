"""The one place that talks to the OpenAI-compatible chat endpoint.

The SDK's own retries are off (`max_retries=0`): tenacity retries here, so the policy
(what is retried, how long to wait, Retry-After) is ours, logged, and counted in `stats`.
Every failure leaves as `LLMError` with a distinct `code` and a Chinese `user_message`
(the translation is in `llm_errors`; presets and `LLMConfig` are in `llm_config`).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NoReturn, TypeVar, cast

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

from ..config import Settings
from ..errors import LLMError
from .config import LOCAL_PLACEHOLDER_KEY, LLMConfig, is_local_url, resolve_llm_config
from .config import ProviderPreset as ProviderPreset  # re-exported: importable from shuzhi.llm as before
from .config import load_presets as load_presets  # re-exported: the UI and tests import it from here
from .errors import (
    FILTER_FINISH_REASONS,
    MalformedAnswer,
    content_filter_error,
    error_fields,
    is_content_filter,
    is_quota,
    llm_error,
    redact,
    translate_error,
)

log = logging.getLogger("shuzhi.llm")

Messages = list[dict[str, str]]
TokenCallback = Callable[[str], None]
T = TypeVar("T")

NOT_CONFIGURED_MESSAGE = (
    "尚未配置大模型接口：请设置 OPENAI_BASE_URL、OPENAI_API_KEY 和 SHUZHI_MODEL，或选择预设（SHUZHI_PROVIDER=deepseek 等）。"
    "检索、提纲、检查和导出不需要模型，仍可使用。"
)


def require_llm(settings: Settings) -> ChatClient:
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
class _StreamCut(Exception):
    """Raised inside an attempt once tokens were delivered: retrying would repeat them."""

    def __init__(self, partial: str, cause: BaseException | None, finish_reason: str | None = None) -> None:
        super().__init__("stream cut")
        self.partial = partial
        self.cause = cause
        self.finish_reason = finish_reason


# ------------------------------------------------------------------ retry policy
def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.RateLimitError):
        return not is_quota(error_fields(exc)[2])  # an empty wallet does not refill in seconds
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code == 408
    return False


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
        except (openai.OpenAIError, MalformedAnswer) as exc:
            self._fail(translate_error(exc, self.config, tries))

    def _fail(self, err: LLMError) -> NoReturn:
        self._counter.add(failures=1)
        err = redact(err, self.config.api_key)
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
        except (openai.OpenAIError, MalformedAnswer) as exc:
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
                raise MalformedAnswer(str(exc)[:200]) from exc

    def _cut_error(self, cut: _StreamCut, attempts: int) -> LLMError:
        if cut.finish_reason in FILTER_FINISH_REASONS:
            return content_filter_error(f"finish_reason={cut.finish_reason!r} after {len(cut.partial)} chars",
                                         cut.partial)
        if isinstance(cut.cause, openai.APIError) and is_content_filter(*error_fields(cut.cause)[1:]):
            return content_filter_error(f"in-stream error: {cut.cause.message}", cut.partial)
        cause = f"{type(cut.cause).__name__}" if cut.cause else "stream ended without finish_reason"
        return llm_error("生成过程中连接中断，只收到部分内容（已保留）：可以重试本节。",
                          f"stream broken after {len(cut.partial)} chars, attempt {attempts}: {cause}",
                          "stream_broken", cut.partial)
