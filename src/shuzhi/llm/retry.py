"""Our retry policy for model calls: what is retried, how long to wait, Retry-After.

The chat model's own retries are off (`max_retries=0`) so that this policy is the only one:
logged, counted in `ChatClient.stats`, and the same for every chat model.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable

import openai
from langchain_core.exceptions import ModelError
from tenacity import RetryCallState, wait_exponential, wait_random

from .config import LLMConfig
from .errors import ModelFailure, error_fields, is_quota

log = logging.getLogger("shuzhi.llm")


def is_retryable(exc: BaseException) -> bool:
    """429 (but not an empty wallet), 408, 5xx, time-outs and lost connections; never 400/401/404/filters."""
    if not isinstance(exc, ModelFailure):
        return False  # the caller's own exceptions, and stream cuts, are never retried
    cause = exc.cause
    if isinstance(cause, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(cause, openai.RateLimitError):
        return not is_quota(error_fields(cause)[2])  # an empty wallet does not refill in seconds
    if isinstance(cause, openai.APIStatusError):
        return cause.status_code >= 500 or cause.status_code == 408
    if isinstance(cause, ModelError):  # other LangChain chat models: langchain-core says what is transient
        return cause.is_retryable and not is_quota(str(cause).lower())
    return isinstance(cause, TimeoutError | ConnectionError)


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


def retry_after_of(exc: BaseException | None) -> float | None:
    """The server's wait hint, from any error that carries its HTTP response (openai, anthropic, …)."""
    cause = exc.cause if isinstance(exc, ModelFailure) else exc
    headers = getattr(getattr(cause, "response", None), "headers", None)
    if headers is None or not hasattr(headers, "get"):
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        seconds = parse_retry_after(ms)
        return None if seconds is None else seconds / 1000
    return parse_retry_after(headers.get("retry-after"))


class RetryWait:
    """Exponential back-off, but a server's Retry-After wins (capped at retry_max_delay_s)."""

    def __init__(self, config: LLMConfig) -> None:
        self._cap = config.retry_max_delay_s
        # Jitter spreads out sections that were throttled together (they run concurrently).
        self._backoff = wait_exponential(multiplier=config.retry_base_delay_s, max=config.retry_max_delay_s) \
            + wait_random(0, config.retry_base_delay_s / 2)

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        hinted = retry_after_of(exc)
        return min(hinted if hinted is not None else float(self._backoff(state)), self._cap)


def log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    cause = exc.cause if isinstance(exc, ModelFailure) else exc
    status = getattr(cause, "status_code", None)
    code = getattr(cause, "code", None)
    wait = state.next_action.sleep if state.next_action else 0.0
    log.warning("LLM attempt %d failed (%s status=%s code=%s); retrying in %.2fs",
                state.attempt_number, type(cause).__name__, status, code, wait)


RetryNotice = Callable[[int, float, str], None]  # (retry number, wait in seconds, Chinese message)


def retry_message(retry: int, wait_s: float) -> str:
    """What the user reads while the model is asked again: "模型接口暂时出错，第2次重试，等待5秒……"."""
    seconds = max(1, round(wait_s))
    return f"模型接口暂时出错，第{retry}次重试，等待{seconds}秒……"


def before_sleep(on_retry: RetryNotice | None) -> Callable[[RetryCallState], None]:
    """tenacity's before_sleep: log the retry, then tell ON_RETRY (a broken callback never stops the retry)."""

    def notify(state: RetryCallState) -> None:
        log_retry(state)
        if on_retry is None:
            return
        wait = state.next_action.sleep if state.next_action else 0.0
        try:
            on_retry(state.attempt_number, float(wait), retry_message(state.attempt_number, float(wait)))
        except Exception:
            log.exception("retry notice callback failed")

    return notify
