"""Model failures → one `LLMError` with a distinct `code` and a Chinese message.

Through `ChatOpenAI` the failures are the openai SDK's own errors (langchain-openai re-raises
subclasses of them with the provider's status, headers and body intact), so the provider-specific
mapping below applies unchanged. Any other LangChain chat model is mapped by langchain-core's
provider-neutral `ModelError` classes, and whatever else it raises by a generic message.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import openai
from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAPIError,
    ModelAuthenticationError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
    ModelRateLimitError,
    ModelRefusalError,
    ModelTimeoutError,
)

from ..errors import LLMError

if TYPE_CHECKING:
    from .config import LLMConfig

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


class AnswerShape(StrEnum):
    """What was wrong with an answer that is not the OpenAI wire format."""

    INVALID = "invalid"  # not JSON, or JSON of another shape
    HTML = "html"  # a web page (a proxy's login page, a site's home page)
    EMPTY = "empty"  # well-formed, but without any choice


class MalformedAnswer(Exception):
    """The endpoint sent something that is not the OpenAI wire format (a proxy's HTML, broken JSON)."""

    def __init__(self, detail: str, shape: AnswerShape = AnswerShape.INVALID) -> None:
        super().__init__(detail)
        self.shape = shape


NO_CHUNKS = "No generation chunks were returned"  # langchain-core, when a stream yielded nothing at all


def malformed_answer(exc: BaseException, response: Any = None, content_type: str = "") -> MalformedAnswer:
    """What is wrong with an answer the chat model could not parse, from its HTTP response when known.

    RESPONSE is the httpx response (its body is looked at only when it was already read: a plain answer);
    CONTENT_TYPE its lower-cased Content-Type.
    """
    body = b""
    try:
        body = bytes(response.content) if response is not None else b""
    except Exception:  # httpx's ResponseNotRead: a stream, whose body is the SDK's to read
        body = b""
    head = body.lstrip()[:200].lower()
    detail = f"{type(exc).__name__}: {str(exc)[:200]} (content-type {content_type or 'unknown'}, {len(body)} bytes read)"
    if "html" in content_type or head.startswith((b"<!doctype", b"<html", b"<head", b"<body")):
        return MalformedAnswer(detail, AnswerShape.HTML)
    if NO_CHUNKS in str(exc) and "event-stream" in content_type:
        return MalformedAnswer(detail, AnswerShape.EMPTY)  # a well-formed stream with nothing in it
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("choices") == [] and not data.get("error"):
        return MalformedAnswer(detail, AnswerShape.EMPTY)
    return MalformedAnswer(detail, AnswerShape.INVALID)


class StreamIdle(TimeoutError):
    """A streamed answer brought nothing new (keep-alive lines at most) for the idle time-out."""


class Cut(StrEnum):
    """How a call ended without a usable answer where retrying is not the remedy."""

    BROKEN = "stream_broken"  # the stream stopped without its end (after tokens: a retry would repeat them)
    FILTER = "content_filter"  # the provider's review cut the answer
    IDLE = "stream_idle"  # tokens came, then nothing for the idle time-out
    DEADLINE = "deadline"  # the call's deadline passed (attempts and back-offs together)
    CANCELLED = "cancelled"  # stopped from outside (the user's stop, Ctrl-C)
    TRUNCATED = "truncated"  # finish_reason "length": the model hit its output limit
    TOO_LONG = "too_long"  # longer than max_answer_chars: cut there
    EMPTY = "empty_answer"  # an answer without any text


class ModelFailure(Exception):
    """An exception raised by the chat model, wrapped as `cause`.

    Only these are retried and translated: an exception from the caller's own `on_token` is the
    caller's business and passes through untouched.
    """

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.cause = cause


def error_fields(exc: openai.APIError) -> tuple[int | None, str, str]:
    """(status, code, lower-cased searchable text) from an SDK error, whatever the provider's shape."""
    status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
    body = exc.body if isinstance(exc.body, dict) else {}
    code = str(exc.code or body.get("code") or "")
    text = " ".join(str(x) for x in (code, exc.type or "", body.get("type", ""), exc.message)).lower()
    return status, code, text


def is_content_filter(code: str, text: str) -> bool:
    return code.lower() in CONTENT_FILTER_CODES or any(m in text for m in CONTENT_FILTER_MARKERS)


def is_quota(text: str) -> bool:
    return any(m in text for m in QUOTA_MARKERS)


def content_filter_error(detail: str, partial: str = "") -> LLMError:
    return llm_error(
        "服务商的内容安全审核（内容审核）拒绝了这段文本，这类拦截常是误判：请调整措辞（例如改写敏感表述、去掉具体人名或案件细节）后重试，"
        "或换用其他服务商或本地模型。",
        detail, "content_filter", partial)


def llm_error(message: str, detail: str, code: str, partial: str = "") -> LLMError:
    err = LLMError(message, detail, code=str(code))
    err.partial = partial
    return err


def translate_error(exc: BaseException, config: LLMConfig, attempts: int) -> LLMError:
    """Map a model/transport failure to one LLMError with a distinct code and Chinese message."""
    hints = Hints(config, attempts)
    if isinstance(exc, MalformedAnswer):
        return hints.malformed(exc)
    if isinstance(exc, StreamIdle):
        return hints.idle(f"{exc} after {attempts} attempt(s)", "")
    if isinstance(exc, openai.APIError):
        return _from_openai(exc, hints)
    if isinstance(exc, ModelError):
        return _from_langchain(exc, hints)
    if isinstance(exc, TimeoutError):
        return hints.timeout(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, ConnectionError):
        return hints.unreachable(f"{type(exc).__name__}: {exc}")
    return llm_error(f"模型调用失败：{type(exc).__name__}（详情已写入日志）。请检查模型配置后重试。",
                      f"{type(exc).__name__} after {attempts} attempt(s): {str(exc)[:500]}", "model_error")


class Hints:
    """The Chinese messages, naming the settings of the route in use (endpoint or custom chat model)."""

    def __init__(self, config: LLMConfig, attempts: int) -> None:
        self.config = config
        self.attempts = attempts
        self.after = f"（已尝试 {attempts} 次）" if attempts > 1 else ""
        self.key_setting = "SHUZHI_CHAT_MODEL_KWARGS 中的密钥（或该模型读取的环境变量）" if config.is_custom \
            else "OPENAI_API_KEY"
        self.model_setting = "SHUZHI_CHAT_MODEL_KWARGS 中的 model" if config.is_custom else "SHUZHI_MODEL"

    def timeout(self, detail: str) -> LLMError:
        return llm_error(f"大模型接口在 {self.config.timeout_s:g} 秒内没有响应{self.after}：请稍后再试，或调大 SHUZHI_TIMEOUT_S。",
                          f"timeout after {self.attempts} attempt(s) to {self.config.display_url}: {detail}", "timeout")

    def unreachable(self, detail: str) -> LLMError:
        return llm_error(f"无法连接大模型接口 {self.config.display_url}{self.after}：请检查地址和网络；本地模型（Ollama/vLLM）请确认服务已启动。",
                          f"connection failed to {self.config.display_url}: {detail}", "unreachable")

    def quota(self, detail: str) -> LLMError:
        return llm_error("大模型账户余额不足或额度已用完：请到服务商控制台充值或更换密钥。", detail, "auth")

    def rate_limited(self, detail: str) -> LLMError:
        return llm_error(f"大模型接口请求过于频繁，被限流{self.after}：请稍后再试，或调小并发数 SHUZHI_MAX_CONCURRENCY。",
                          detail, "rate_limited")

    def server(self, status: int | None, detail: str) -> LLMError:
        shown = f"（HTTP {status}）" if status else ""
        return llm_error(f"大模型服务端出错{shown}{self.after}：请稍后再试，或换用其他服务商。", detail, "server_error")

    def context(self, detail: str) -> LLMError:
        return llm_error("输入超出了模型的上下文长度：请减少参考范文或笔记篇幅（可调小 SHUZHI_MAX_PROMPT_CHARS），或换用上下文更长的模型。",
                          detail, "context_too_long")

    def auth(self, status: int | None, detail: str) -> LLMError:
        shown = f"（HTTP {status}）" if status else ""
        return llm_error(f"大模型接口拒绝了 API 密钥{shown}：请检查 {self.key_setting} 是否正确、是否属于当前服务商。",
                          detail, "auth")

    def malformed(self, exc: MalformedAnswer) -> LLMError:
        detail = f"malformed answer ({exc.shape}) after {self.attempts} attempt(s): {exc}"
        if exc.shape is AnswerShape.EMPTY:
            return self.empty(detail)
        if exc.shape is AnswerShape.HTML:
            return llm_error("大模型接口返回了一个网页（HTML）而不是模型的回答，无法解析：OPENAI_BASE_URL 可能指向了网站首页、"
                              "登录页或需要登录的代理网关；请确认它指向 OpenAI 兼容接口（通常以 /v1 结尾）。", detail, "malformed")
        return llm_error("大模型接口返回了无法解析的内容（不是 OpenAI 兼容格式的回答）：请检查 OPENAI_BASE_URL 是否指向 OpenAI "
                          "兼容接口（通常以 /v1 结尾）；地址无误时多半是服务端出错，请稍后再试。", detail, "malformed")

    def empty(self, detail: str) -> LLMError:
        return llm_error(f"模型返回了空回答（没有任何正文）：本节没有生成内容，请重试；如反复出现，请检查 {self.model_setting} "
                          "是否正确、接口是否正常。", detail, Cut.EMPTY)

    def idle(self, detail: str, partial: str) -> LLMError:
        seconds = f"{self.config.stream_idle_timeout_s:g}"
        if partial:
            message = (f"模型接口连续 {seconds} 秒没有输出新内容（可能已卡住），本节已停止，只收到部分内容（已保留）："
                       "可以重试本节；如接口确实较慢，可调大 SHUZHI_STREAM_IDLE_TIMEOUT_S。")
        else:
            message = (f"模型接口连续 {seconds} 秒没有输出任何内容（可能已卡住）{self.after}：本节没有生成内容，"
                       "可以稍后重试本节；如接口确实较慢，可调大 SHUZHI_STREAM_IDLE_TIMEOUT_S。")
        return llm_error(message, detail, Cut.IDLE, partial)

    def deadline(self, detail: str, partial: str, last: LLMError | None) -> LLMError:
        tried = f"，已尝试 {self.attempts} 次" if self.attempts > 1 else ""
        kept = "，已保留收到的部分内容" if partial else "，没有收到内容"
        message = (f"本节生成超时（超过 {self.config.section_deadline_s:g} 秒{tried}）：模型接口没能在时限内给出完整回答，"
                   f"本节已停止{kept}；可以稍后重试本节，如接口确实较慢，可调大 SHUZHI_SECTION_DEADLINE_S。")
        if last is not None:
            message += f"此前的错误：{last.user_message.split('：', 1)[0].rstrip('。')}。"
            detail += f"; last failure [{last.code}]: {last.detail}"
        return llm_error(message, detail, Cut.DEADLINE, partial)

    def cut(self, kind: Cut, detail: str, partial: str) -> LLMError:
        """The message of a call that ended with KIND (not IDLE/DEADLINE, which say how long)."""
        if kind is Cut.FILTER:
            return content_filter_error(detail, partial)
        if kind is Cut.TRUNCATED:
            return llm_error("本节因达到模型输出长度上限被截断，内容可能不完整（已保留已生成的部分）：可以重试本节，"
                              "或在服务商处调大输出长度上限（max_tokens）。", detail, kind, partial)
        if kind is Cut.TOO_LONG:
            cap = self.config.max_answer_chars
            return llm_error(f"模型的回答超过了 {cap} 字的上限，已在 {cap} 字处截断并停止接收：本节内容可能不完整，请核对后重试；"
                              "如确需更长的回答，可调大 SHUZHI_MAX_ANSWER_CHARS。", detail, kind, partial)
        if kind is Cut.EMPTY:
            return self.empty(detail)
        if kind is Cut.CANCELLED:
            return llm_error("已中断本节的生成" + ("，已保留收到的部分内容。" if partial else "。"), detail, kind, partial)
        if partial:
            return llm_error("生成过程中连接中断，只收到部分内容（已保留）：可以重试本节。", detail, Cut.BROKEN, partial)
        return llm_error("生成过程中连接中断，没有收到任何内容：可以重试本节。", detail, Cut.BROKEN)

    def model_not_found(self, detail: str) -> LLMError:
        return llm_error(f"服务商没有名为「{self.config.model}」的模型：请检查 {self.model_setting} 的拼写，或用「测试连接」查看可用模型。",
                          detail, "model_not_found")


def _from_openai(exc: openai.APIError, hints: Hints) -> LLMError:
    if isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base class
        return hints.timeout(type(exc).__name__)
    if isinstance(exc, openai.APIConnectionError):
        return hints.unreachable(repr(exc.__cause__))
    status, code, text = error_fields(exc)
    detail = f"HTTP {status} code={code!r} after {hints.attempts} attempt(s): {exc.message}"
    if is_content_filter(code, text):
        return content_filter_error(detail)
    if status == 402 or is_quota(text):
        return hints.quota(detail)
    if status == 429:
        return hints.rate_limited(detail)
    if status is not None and status >= 500:  # before the text markers: a gateway "took too long" is no 4xx
        return hints.server(status, detail)
    if any(m in text for m in CONTEXT_MARKERS):
        return hints.context(detail)
    if status in (401, 403):
        return hints.auth(status, detail)
    if status == 404 or any(m in text for m in MODEL_MARKERS):
        return hints.model_not_found(detail)
    return llm_error(f"大模型接口拒绝了请求（HTTP {status}）：{exc.message[:200]}", detail, "bad_request")


def _from_langchain(exc: ModelError, hints: Hints) -> LLMError:
    """A non-OpenAI chat model's failure, by langchain-core's provider-neutral classes."""
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None
    text = str(exc).lower()
    detail = f"{type(exc).__name__} status={status} after {hints.attempts} attempt(s): {str(exc)[:500]}"
    if isinstance(exc, ModelRefusalError) or is_content_filter(str(getattr(exc, "code", "") or ""), text):
        return content_filter_error(detail)
    if isinstance(exc, ContextOverflowError):
        return hints.context(detail)
    if isinstance(exc, ModelTimeoutError):
        return hints.timeout(detail)
    if isinstance(exc, ModelConnectionError):
        return hints.unreachable(detail)
    if is_quota(text):
        return hints.quota(detail)
    if isinstance(exc, ModelRateLimitError):
        return hints.rate_limited(detail)
    if isinstance(exc, ModelAPIError):
        return hints.server(status, detail)
    if isinstance(exc, ModelAuthenticationError | ModelPermissionDeniedError):
        return hints.auth(status, detail)
    if isinstance(exc, ModelNotFoundError):
        return hints.model_not_found(detail)
    if any(m in text for m in CONTEXT_MARKERS):
        return hints.context(detail)
    return llm_error(f"模型拒绝了请求：{str(exc)[:200]}", detail, "bad_request")


def redact(err: LLMError, secret: str) -> LLMError:
    """Belt and braces: a provider could echo the key in its error text."""
    if secret and len(secret) >= 6:
        err.user_message = err.user_message.replace(secret, "***")
        err.detail = err.detail.replace(secret, "***")
        err.args = tuple(str(a).replace(secret, "***") for a in err.args)
    return err
