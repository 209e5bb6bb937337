"""The one place that calls the chat model: a LangChain `BaseChatModel` (ChatOpenAI by default).

The model's own retries are off (`max_retries=0`): tenacity retries here (policy in `retry`), so
what is retried and how long to wait is ours, logged, and counted in `stats`. Every failure leaves
as `LLMError` with a distinct `code` and a Chinese `user_message` (the mapping is in `errors`;
presets, `LLMConfig` and building the model are in `config`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import openai
from langchain_core.exceptions import LangChainException, ModelRefusalError
from langchain_core.messages import BaseMessage, convert_to_messages
from langchain_core.runnables import RunnableConfig
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

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
    AnswerShape,
    Cut,
    Hints,
    ModelFailure,
    StreamIdle,
    content_filter_error,
    error_fields,
    is_content_filter,
    malformed_answer,
    redact,
    translate_error,
)
from .guard import Attempt, Event
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
    """Ends a call without retrying: tokens were delivered (a retry would repeat them), or it was cut (KIND)."""

    def __init__(self, partial: str, cause: BaseException | None, finish_reason: str | None = None,
                 kind: Cut = Cut.BROKEN, detail: str = "") -> None:
        super().__init__(f"stream cut: {kind}")
        self.partial = partial
        self.cause = cause
        self.finish_reason = finish_reason
        self.kind = Cut.FILTER if finish_reason in FILTER_FINISH_REASONS else kind
        self.detail = detail


POLL_S = 0.1  # how often a waiting call looks at its stop event


class _Call:
    """One complete()/list_models() call: its deadline over every attempt and back-off, and its stop."""

    def __init__(self, deadline_s: float, stop: threading.Event | None) -> None:
        self.started = time.monotonic()
        self.deadline = self.started + deadline_s if deadline_s > 0 else None
        self.cancelled = threading.Event()  # ChatClient.abort()
        self.stop = stop  # the caller's own stop (the UI's 停止 button)
        self.out_of_time = False  # the retries ended because the next wait would cross the deadline
        self.last_failure: ModelFailure | None = None  # the latest failed attempt's, for the deadline message

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled.is_set() or (self.stop is not None and self.stop.is_set())

    def past_deadline(self, after_s: float = 0.0) -> bool:
        return self.deadline is not None and time.monotonic() + after_s >= self.deadline

    def stop_retrying(self, state: RetryCallState) -> bool:
        """tenacity stop: the next back-off would end past the deadline (or the call was stopped)."""
        if self.is_cancelled:
            return True
        if self.past_deadline(float(state.upcoming_sleep or 0.0)):
            self.out_of_time = True
            return True
        return False

    def sleep(self, seconds: float) -> None:
        """A back-off that a stop ends at once."""
        until = time.monotonic() + seconds
        while not self.is_cancelled and (left := until - time.monotonic()) > 0:
            self.cancelled.wait(min(left, POLL_S))


def _exception(error: BaseException) -> Exception:
    """An error from a request's thread; one that is not an Exception (SystemExit …) is raised as it is."""
    if not isinstance(error, Exception):
        raise error
    return error


class _OutOfTime(stop_base):
    """tenacity stop for one call: stopped, or the next back-off would end past its deadline."""

    def __init__(self, call: _Call) -> None:
        self.call = call

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self.call.stop_retrying(retry_state)


class ChatClient:
    """Thread-safe: one instance serves concurrent section drafts (the model's HTTP pool is shared).

    `chat_model` injects a ready LangChain chat model instead of building one from `config`;
    `callbacks` are LangChain handlers attached to every call, after those named in SHUZHI_CALLBACKS.
    """

    def __init__(self, config: LLMConfig, *, chat_model: BaseChatModel | None = None,
                 callbacks: Sequence[BaseCallbackHandler] = (), sleep: Callable[[float], None] | None = None) -> None:
        self.config = config
        # Injectable so tests can see back-off delays without waiting them; by default a wait a stop ends.
        self._sleep = sleep
        self._counter = _Counter()
        self._calls: set[_Call] = set()  # in flight, for abort()
        self._calls_lock = threading.Lock()
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
                 temperature: float | None = None, on_retry: RetryNotice | None = None,
                 stop: threading.Event | None = None) -> str:
        """The model's answer; streams through on_token when given. Raises LLMError.

        ON_RETRY(retry number, wait seconds, Chinese message) hears of every retry before its wait.
        STOP, once set, ends the call within a moment (LLMError code "cancelled", the text so far as
        `partial`), even while the stream is stuck. The whole call, retries and back-offs included, ends
        by `section_deadline_s`; a stream that brings nothing new for `stream_idle_timeout_s` fails; an
        answer longer than `max_answer_chars` is cut there (code "too_long").
        """
        model = self._with_temperature(self.config.temperature if temperature is None else temperature)
        lc_messages = convert_to_messages(messages)
        if on_token is None:
            return self._run(lambda call: self._plain(call, model, lc_messages), on_retry, stop)
        delivered: list[str] = []  # shared across attempts: once tokens went out, no retry
        return self._run(lambda call: self._stream(call, model, lc_messages, on_token, delivered), on_retry, stop)

    def abort(self) -> None:
        """End every call in flight now (each raises LLMError code "cancelled"); later calls run as usual.

        For Ctrl-C: the caller's threads stop waiting at once and the stuck requests' sockets are shut.
        """
        with self._calls_lock:
            calls = list(self._calls)
        for call in calls:
            call.cancelled.set()

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
        return self._run(lambda call: self._call(lambda: sorted(m.id for m in root.models.list())))

    # -------------------------------------------------------------- internals
    def _run(self, attempt: Callable[[_Call], T], on_retry: RetryNotice | None = None,
             stop: threading.Event | None = None) -> T:
        self._check_key()
        self._counter.add(calls=1)
        call = _Call(self.config.section_deadline_s, stop)
        tries = 0

        def counted() -> T:
            nonlocal tries
            if call.is_cancelled:
                raise _StreamCut("", None, kind=Cut.CANCELLED, detail="stopped before the attempt")
            if call.past_deadline():
                raise _StreamCut("", None, kind=Cut.DEADLINE, detail="deadline passed before the attempt")
            tries += 1
            self._counter.add(attempts=1, retries=int(tries > 1))
            try:
                return attempt(call)
            except ModelFailure as failure:
                call.last_failure = failure
                raise

        sleep = self._sleep or call.sleep
        retrying = Retrying(stop=stop_after_attempt(self.config.max_retries + 1) | _OutOfTime(call),
                            wait=RetryWait(self.config), retry=retry_if_exception(is_retryable),
                            before_sleep=before_sleep(on_retry), reraise=True, sleep=sleep)
        with self._calls_lock:
            self._calls.add(call)
        try:
            return retrying(counted)
        except _StreamCut as cut:
            self._fail(self._cut_error(cut, tries, call), cut.cause)
        except ModelFailure as failure:
            err = translate_error(failure.cause, self.config, tries)
            if call.is_cancelled:
                err = self._cut_error(_StreamCut("", failure.cause, kind=Cut.CANCELLED,
                                                 detail=f"stopped after {err.code}"), tries, call)
            elif call.out_of_time:
                err = Hints(self.config, tries).deadline(
                    f"deadline {self.config.section_deadline_s:g}s reached after {tries} attempt(s)", "", err)
            self._fail(err, failure.cause)
        finally:
            with self._calls_lock:
                self._calls.discard(call)

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

    def _failure(self, exc: Exception, attempt: Attempt[Any] | None = None) -> ModelFailure:
        # ChatOpenAI parses the answer itself: a proxy's HTML page, an SSE line that is not JSON or an
        # answer without choices surface as plain ValueError/KeyError/TypeError/IndexError/AttributeError.
        parse_error = isinstance(exc, ValueError | KeyError | TypeError | IndexError | AttributeError) \
            and not isinstance(exc, openai.OpenAIError | LangChainException)
        if self._openai and parse_error:
            return ModelFailure(malformed_answer(exc, attempt.response if attempt else None,
                                                 attempt.content_type if attempt else ""))
        return ModelFailure(exc)

    def _guarded(self, call: _Call, attempt: Attempt[Any], idle_s: float, partial: list[str]) -> tuple[Event, Any]:
        """The attempt's next event, waited for no longer than the call allows.

        Raises _StreamCut when the call is stopped or its deadline passes, and, when IDLE_S > 0 and nothing
        came for that long, ModelFailure(StreamIdle) (retried: nothing was shown yet) or, after tokens,
        _StreamCut(IDLE). The caller aborts the attempt afterwards, which ends its blocked read.
        """
        idle_until = time.monotonic() + idle_s if idle_s > 0 else None
        while True:
            if call.is_cancelled:
                raise _StreamCut("".join(partial), None, kind=Cut.CANCELLED, detail="stopped while waiting")
            now = time.monotonic()
            waits = [POLL_S]
            if call.deadline is not None:
                if now >= call.deadline:
                    raise _StreamCut("".join(partial), None, kind=Cut.DEADLINE,
                                     detail=f"deadline {self.config.section_deadline_s:g}s passed mid-answer")
                waits.append(call.deadline - now)
            if idle_until is not None:
                if now >= idle_until:
                    detail = f"no chunk for {idle_s:g}s ({attempt.content_type or 'no response yet'})"
                    if not partial:
                        raise ModelFailure(StreamIdle(detail))
                    raise _StreamCut("".join(partial), None, kind=Cut.IDLE, detail=detail)
                waits.append(idle_until - now)
            try:
                return attempt.next(max(min(waits), 0.0))
            except queue.Empty:
                continue

    def _plain(self, call: _Call, model: BaseChatModel, messages: list[BaseMessage]) -> str:
        attempt: Attempt[Any] = Attempt(lambda: [model.invoke(messages, config=self._run_config())]).start()
        try:
            event, payload = self._guarded(call, attempt, 0.0, [])
        except BaseException:
            attempt.abort()  # given up on (deadline, stop, Ctrl-C): its blocked read ends now
            raise
        if event is Event.ERROR:
            raise self._failure(_exception(payload), attempt) from payload
        answer: BaseMessage = payload
        text = str(answer.text)
        finish = answer.response_metadata.get("finish_reason")
        return self._checked(text, finish, attempt, streamed=False)

    def _stream(self, call: _Call, model: BaseChatModel, messages: list[BaseMessage], on_token: TokenCallback,
                delivered: list[str]) -> str:
        if delivered:  # a retry after tokens reached the caller would duplicate them
            raise _StreamCut("".join(delivered), None)
        finish: str | None = None
        cap = self.config.max_answer_chars
        size = 0
        attempt: Attempt[Any] = Attempt(lambda: model.stream(messages, config=self._run_config())).start()
        try:
            while True:
                event, payload = self._guarded(call, attempt, self.config.stream_idle_timeout_s, delivered)
                if event is Event.END:
                    break
                if event is Event.ERROR:
                    failure = self._failure(_exception(payload), attempt)
                    if not delivered:
                        raise failure from payload  # nothing shown yet: the normal retry policy applies
                    raise _StreamCut("".join(delivered), failure.cause) from payload
                finish = payload.response_metadata.get("finish_reason") or finish
                # `.text` is the text blocks only: reasoning models' thinking is not part of the answer.
                delta = str(payload.text)
                if not delta:
                    continue
                if cap and size + len(delta) > cap:
                    delta = delta[: cap - size]
                    if delta:
                        delivered.append(delta)
                        on_token(delta)
                    raise _StreamCut("".join(delivered), None, kind=Cut.TOO_LONG,
                                     detail=f"answer longer than max_answer_chars={cap}, stream closed")
                size += len(delta)
                delivered.append(delta)
                on_token(delta)  # in the caller's thread: the caller's exceptions are the caller's
        except BaseException:
            # Given up on (idle, deadline, stop, cap, Ctrl-C) or on_token raised: the request ends now, not at
            # its own time-out. (A stream that ended closed its response itself; its connection stays pooled.)
            attempt.abort()
            raise
        return self._checked("".join(delivered), finish, attempt, streamed=True)

    def _checked(self, text: str, finish: str | None, attempt: Attempt[Any], streamed: bool) -> str:
        """TEXT when it is a whole answer; else a _StreamCut saying what it lacks."""
        cap = self.config.max_answer_chars
        if finish in FILTER_FINISH_REASONS:
            raise _StreamCut(text, None, finish)
        if cap and len(text) > cap:
            raise _StreamCut(text[:cap], None, kind=Cut.TOO_LONG,
                             detail=f"answer of {len(text)} chars longer than max_answer_chars={cap}")
        if not text.strip():
            shape = malformed_answer(ValueError("empty answer"), attempt.response, attempt.content_type)
            if shape.shape is AnswerShape.HTML:
                raise ModelFailure(shape)  # a web page where the stream should be: not an empty answer
            raise _StreamCut("", None, kind=Cut.EMPTY, detail=f"empty answer, finish_reason={finish!r}")
        if finish == "length":
            log.warning("LLM answer truncated at the token limit (model=%s)", self.config.model)
            raise _StreamCut(text, None, kind=Cut.TRUNCATED, detail=f"finish_reason='length' after {len(text)} chars")
        if streamed and finish is None and self._openai:
            raise _StreamCut(text, None, detail="stream ended without finish_reason")
        return text

    def _cut_error(self, cut: _StreamCut, attempts: int, call: _Call) -> LLMError:
        hints = Hints(self.config, attempts)
        if cut.kind is Cut.FILTER:
            return content_filter_error(f"finish_reason={cut.finish_reason!r} after {len(cut.partial)} chars",
                                        cut.partial)
        if isinstance(cut.cause, openai.APIError) and is_content_filter(*error_fields(cut.cause)[1:]):
            return content_filter_error(f"in-stream error: {cut.cause.message}", cut.partial)
        if isinstance(cut.cause, ModelRefusalError):
            return content_filter_error(f"in-stream refusal: {cut.cause}", cut.partial)
        elapsed = f"{time.monotonic() - call.started:.1f}s"
        if cut.kind is Cut.IDLE:
            return hints.idle(f"{cut.detail} after {len(cut.partial)} chars, attempt {attempts}", cut.partial)
        if cut.kind is Cut.DEADLINE:
            last = call.last_failure
            return hints.deadline(f"{cut.detail}, {elapsed}, {len(cut.partial)} chars, attempt {attempts}",
                                  cut.partial, translate_error(last.cause, self.config, 1) if last else None)
        cause = f"{type(cut.cause).__name__}" if cut.cause else cut.detail or "stream ended without finish_reason"
        return hints.cut(cut.kind, f"{cut.kind} after {len(cut.partial)} chars, attempt {attempts}, {elapsed}: {cause}",
                         cut.partial)
