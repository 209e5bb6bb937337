"""Model failures → one `LLMError` with a distinct `code` and a Chinese message.

Through `ChatOpenAI` the failures are the openai SDK's own errors (langchain-openai re-raises
subclasses of them with the provider's status, headers and body intact), so the provider-specific
mapping below applies unchanged. Any other LangChain chat model is mapped by langchain-core's
provider-neutral `ModelError` classes, and whatever else it raises by a generic message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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


class MalformedAnswer(Exception):
    """The endpoint sent something that is not the OpenAI wire format (a proxy's HTML, broken JSON)."""


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
    err = LLMError(message, detail, code=code)
    err.partial = partial
    return err


def translate_error(exc: BaseException, config: LLMConfig, attempts: int) -> LLMError:
    """Map a model/transport failure to one LLMError with a distinct code and Chinese message."""
    if isinstance(exc, MalformedAnswer):
        return llm_error("大模型接口返回了无法解析的内容：请检查 OPENAI_BASE_URL 是否指向 OpenAI 兼容接口（通常以 /v1 结尾）。",
                          f"malformed answer: {exc}", "server_error")
    hints = _Hints(config, attempts)
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


class _Hints:
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

    def model_not_found(self, detail: str) -> LLMError:
        return llm_error(f"服务商没有名为「{self.config.model}」的模型：请检查 {self.model_setting} 的拼写，或用「测试连接」查看可用模型。",
                          detail, "model_not_found")


def _from_openai(exc: openai.APIError, hints: _Hints) -> LLMError:
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


def _from_langchain(exc: ModelError, hints: _Hints) -> LLMError:
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
