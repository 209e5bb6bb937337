"""SDK and transport failures → one `LLMError` with a distinct `code` and a Chinese message."""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai

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
    """Map an SDK/transport failure to one LLMError with a distinct code and Chinese message."""
    after = f"（已尝试 {attempts} 次）" if attempts > 1 else ""
    if isinstance(exc, openai.APITimeoutError):
        return llm_error(f"大模型接口在 {config.timeout_s:g} 秒内没有响应{after}：请稍后再试，或调大 SHUZHI_TIMEOUT_S。",
                          f"timeout after {attempts} attempt(s) to {config.display_url}", "timeout")
    if isinstance(exc, openai.APIConnectionError):
        return llm_error(f"无法连接大模型接口 {config.display_url}{after}：请检查地址和网络；本地模型（Ollama/vLLM）请确认服务已启动。",
                          f"connection failed to {config.display_url}: {exc.__cause__!r}", "unreachable")
    if isinstance(exc, MalformedAnswer):
        return llm_error("大模型接口返回了无法解析的内容：请检查 OPENAI_BASE_URL 是否指向 OpenAI 兼容接口（通常以 /v1 结尾）。",
                          f"malformed answer: {exc}", "server_error")
    if not isinstance(exc, openai.APIError):
        return llm_error("调用大模型时发生意外错误，请重试。", f"{type(exc).__name__}: {exc}", "bad_request")
    status, code, text = error_fields(exc)
    detail = f"HTTP {status} code={code!r} after {attempts} attempt(s): {exc.message}"
    if is_content_filter(code, text):
        return content_filter_error(detail)
    if status == 402 or is_quota(text):
        return llm_error("大模型账户余额不足或额度已用完：请到服务商控制台充值或更换密钥。", detail, "auth")
    if status == 429:
        return llm_error(f"大模型接口请求过于频繁，被限流{after}：请稍后再试，或调小并发数 SHUZHI_MAX_CONCURRENCY。",
                          detail, "rate_limited")
    if status is not None and status >= 500:  # before the text markers: a gateway "took too long" is no 4xx
        return llm_error(f"大模型服务端出错（HTTP {status}）{after}：请稍后再试，或换用其他服务商。", detail, "server_error")
    if any(m in text for m in CONTEXT_MARKERS):
        return llm_error("输入超出了模型的上下文长度：请减少参考范文或笔记篇幅（可调小 SHUZHI_MAX_PROMPT_CHARS），或换用上下文更长的模型。",
                          detail, "context_too_long")
    if status in (401, 403):
        return llm_error(f"大模型接口拒绝了 API 密钥（HTTP {status}）：请检查 OPENAI_API_KEY 是否正确、是否属于当前服务商。",
                          detail, "auth")
    if status == 404 or any(m in text for m in MODEL_MARKERS):
        return llm_error(f"服务商没有名为「{config.model}」的模型：请检查 SHUZHI_MODEL 的拼写，或用「测试连接」查看可用模型。",
                          detail, "model_not_found")
    return llm_error(f"大模型接口拒绝了请求（HTTP {status}）：{exc.message[:200]}", detail, "bad_request")


def redact(err: LLMError, secret: str) -> LLMError:
    """Belt and braces: a provider could echo the key in its error text."""
    if secret and len(secret) >= 6:
        err.user_message = err.user_message.replace(secret, "***")
        err.detail = err.detail.replace(secret, "***")
        err.args = tuple(str(a).replace(secret, "***") for a in err.args)
    return err
