"""The one place that calls the chat model: a LangChain `BaseChatModel` (ChatOpenAI by default).

The model's own retries are off (`max_retries=0`): tenacity retries here (policy in `retry`), so
what is retried and how long to wait is ours, logged, and counted in `stats`. Every failure leaves
as `LLMError` with a distinct `code` and a Chinese `user_message` (the mapping is in `errors`;
presets, `LLMConfig` and building the model are in `config`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import openai
from langchain_core.exceptions import LangChainException, ModelRefusalError
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from tenacity import Retrying, retry_if_exception, stop_after_attempt

from ..config import Settings
from ..errors import LLMError
from .config import (
    LLMConfig,
    build_callbacks,
    build_chat_model,
    is_local_url,
    resolve_llm_config,
    speaks_openai,
)
from .errors import (
    FILTER_FINISH_REASONS,
    MalformedAnswer,
    ModelFailure,
    content_filter_error,
    error_fields,
    is_content_filter,
    llm_error,
    redact,
    translate_error,
)
from .protocol import ChatStats, Messages, TokenCallback
from .retry import RetryNotice, RetryWait, before_sleep, is_retryable

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.language_models import BaseChatModel

log = logging.getLogger("shuzhi.llm")

T = TypeVar("T")

NOT_CONFIGURED_MESSAGE = (
    "尚未配置大模型接口：请设置 OPENAI_BASE_URL、OPENAI_API_KEY 和 SHUZHI_MODEL，或选择预设（SHUZHI_PROVIDER=deepseek 等），"
    "或用 SHUZHI_CHAT_MODEL 指定任意 LangChain 聊天模型。检索、提纲、检查和导出不需要模型，仍可使用。"
)


def require_llm(settings: Settings) -> ChatClient:
    """A client for the configured model, or LLMError(code="not_configured")."""
    config = resolve_llm_config(settings)
    if config is None:
        raise LLMError(NOT_CONFIGURED_MESSAGE, "no LLM endpoint configured", code="not_configured")
    return ChatClient(config)


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


class _StreamCut(Exception):
    """Raised inside an attempt once tokens were delivered: retrying would repeat them."""

    def __init__(self, partial: str, cause: BaseException | None, finish_reason: str | None = None) -> None:
        super().__init__("stream cut")
        self.partial = partial
        self.cause = cause
        self.finish_reason = finish_reason


class ChatClient:
    """Thread-safe: one instance serves concurrent section drafts (the model's HTTP pool is shared).

    `chat_model` injects a ready LangChain chat model instead of building one from `config`;
    `callbacks` are LangChain handlers attached to every call, after those named in SHUZHI_CALLBACKS.
    """

    def __init__(self, config: LLMConfig, *, chat_model: BaseChatModel | None = None,
                 callbacks: Sequence[BaseCallbackHandler] = (), sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self._sleep = sleep  # injectable so tests can see back-off delays without waiting them
        self._counter = _Counter()
        self._injected = chat_model is not None
        self.chat_model: BaseChatModel = chat_model if chat_model is not None else build_chat_model(config)
        self.callbacks: list[BaseCallbackHandler] = [*build_callbacks(config), *callbacks]
        # OpenAI-compatible answers always end with a finish_reason and the endpoint lists its models;
        # other chat models promise neither.
        self._openai = speaks_openai(self.chat_model)

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.config.display_url!r}, model={self.config.model!r})"

    @property
    def stats(self) -> ChatStats:
        return self._counter.snapshot()

    def complete(self, messages: Messages, *, on_token: TokenCallback | None = None,
                 temperature: float | None = None, on_retry: RetryNotice | None = None) -> str:
        """The model's answer; streams through on_token when given. Raises LLMError.

        ON_RETRY(retry number, wait seconds, Chinese message) hears of every retry before its wait.
        """
        model = self._with_temperature(self.config.temperature if temperature is None else temperature)
        lc_messages = convert_to_messages(messages)
        if on_token is None:
            return self._run(lambda: self._plain(model, lc_messages), on_retry)
        delivered: list[str] = []  # shared across attempts: once tokens went out, no retry
        return self._run(lambda: self._stream(model, lc_messages, on_token, delivered), on_retry)

    @property
    def lists_models(self) -> bool:
        """True when the endpoint has the OpenAI /models listing (so a connection test needs no chat call)."""
        return self._openai and getattr(self.chat_model, "root_client", None) is not None

    def list_models(self) -> list[str]:
        """Model ids the endpoint offers (for the UI's 测试连接). Raises LLMError.

        A chat model without the OpenAI /models endpoint reports its own model name.
        """
        root = getattr(self.chat_model, "root_client", None) if self._openai else None
        if root is None:
            return [self.config.model]
        return self._run(lambda: self._call(lambda: sorted(m.id for m in root.models.list())))

    # -------------------------------------------------------------- internals
    def _run(self, attempt: Callable[[], T], on_retry: RetryNotice | None = None) -> T:
        self._check_key()
        self._counter.add(calls=1)
        tries = 0

        def counted() -> T:
            nonlocal tries
            tries += 1
            self._counter.add(attempts=1, retries=int(tries > 1))
            return attempt()

        retrying = Retrying(stop=stop_after_attempt(self.config.max_retries + 1), wait=RetryWait(self.config),
                            retry=retry_if_exception(is_retryable), before_sleep=before_sleep(on_retry), reraise=True,
                            sleep=self._sleep)
        try:
            return retrying(counted)
        except _StreamCut as cut:
            self._fail(self._cut_error(cut, tries), cut.cause)
        except ModelFailure as failure:
            self._fail(translate_error(failure.cause, self.config, tries), failure.cause)

    def _fail(self, err: LLMError, cause: BaseException | None) -> NoReturn:
        self._counter.add(failures=1)
        err = redact(err, self.config.api_key)
        log.error("LLM call failed [%s] model=%s url=%s: %s", err.code, self.config.model,
                  self.config.display_url, err.detail)
        raise err from cause  # the model's own exception stays attached for debugging

    def _check_key(self) -> None:
        if self._injected or self.config.is_custom:
            return  # the model was built by its owner, who knows where its key comes from
        if not self.config.api_key and not is_local_url(self.config.base_url):
            raise LLMError("未设置 API 密钥：请设置 OPENAI_API_KEY（本地 Ollama/vLLM 可不设）。",
                           f"no API key for {self.config.display_url}", code="auth")

    def _with_temperature(self, temperature: float) -> BaseChatModel:
        """The model at this temperature: a shallow copy shares the HTTP client, so it costs nothing."""
        model = self.chat_model
        if "temperature" not in type(model).model_fields or getattr(model, "temperature", None) == temperature:
            return model  # a model without the knob is called as it was configured
        return model.model_copy(update={"temperature": temperature})

    def _run_config(self) -> RunnableConfig:
        return RunnableConfig(callbacks=list(self.callbacks))  # fresh per call: LangChain pops keys from it

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> ModelFailure:
        # ChatOpenAI parses the answer itself: a proxy's HTML page, an SSE line that is not JSON or an
        # answer without choices surface as plain ValueError/KeyError/TypeError/IndexError.
        parse_error = isinstance(exc, ValueError | KeyError | TypeError | IndexError) \
            and not isinstance(exc, openai.OpenAIError | LangChainException)
        if self._openai and parse_error:
            return ModelFailure(MalformedAnswer(f"{type(exc).__name__}: {str(exc)[:200]}"))
        return ModelFailure(exc)

    def _plain(self, model: BaseChatModel, messages: list[BaseMessage]) -> str:
        answer = self._call(lambda: model.invoke(messages, config=self._run_config()))
        text = str(answer.text)
        finish = answer.response_metadata.get("finish_reason")
        if finish in FILTER_FINISH_REASONS:
            raise _StreamCut(text, None, finish)
        if finish == "length":
            log.warning("LLM answer truncated at the token limit (model=%s)", self.config.model)
        return text

    def _stream(self, model: BaseChatModel, messages: list[BaseMessage], on_token: TokenCallback,
                delivered: list[str]) -> str:
        if delivered:  # a retry after tokens reached the caller would duplicate them
            raise _StreamCut("".join(delivered), None)
        finish: str | None = None
        chunks = model.stream(messages, config=self._run_config())
        try:
            while True:
                try:
                    chunk = next(chunks, None)
                except Exception as exc:
                    failure = self._failure(exc)
                    if not delivered:
                        raise failure from exc  # nothing shown yet: the normal retry policy applies
                    raise _StreamCut("".join(delivered), failure.cause) from exc
                if chunk is None:
                    break
                finish = chunk.response_metadata.get("finish_reason") or finish
                # `.text` is the text blocks only: reasoning models' thinking is not part of the answer.
                delta = str(chunk.text)
                if delta:
                    delivered.append(delta)
                    on_token(delta)  # outside the try: the caller's exceptions are the caller's
        finally:
            close: Any = getattr(chunks, "close", None)
            if close is not None:
                close()  # also when on_token raised: release the HTTP response now
        text = "".join(delivered)
        if finish in FILTER_FINISH_REASONS or (finish is None and self._openai):
            raise _StreamCut(text, None, finish)
        if finish == "length":
            log.warning("LLM answer truncated at the token limit (model=%s)", self.config.model)
        return text

    def _cut_error(self, cut: _StreamCut, attempts: int) -> LLMError:
        if cut.finish_reason in FILTER_FINISH_REASONS:
            return content_filter_error(f"finish_reason={cut.finish_reason!r} after {len(cut.partial)} chars",
                                         cut.partial)
        if isinstance(cut.cause, openai.APIError) and is_content_filter(*error_fields(cut.cause)[1:]):
            return content_filter_error(f"in-stream error: {cut.cause.message}", cut.partial)
        if isinstance(cut.cause, ModelRefusalError):
            return content_filter_error(f"in-stream refusal: {cut.cause}", cut.partial)
        cause = f"{type(cut.cause).__name__}" if cut.cause else "stream ended without finish_reason"
        return llm_error("生成过程中连接中断，只收到部分内容（已保留）：可以重试本节。",
                          f"stream broken after {len(cut.partial)} chars, attempt {attempts}: {cause}",
                          "stream_broken", cut.partial)
