"""Errors that carry a Chinese message for the user and a precise one for the logs."""

from __future__ import annotations


class ShuzhiError(Exception):
    """Base error. `user_message` is Chinese and shown to people; `detail` goes to logs."""

    def __init__(self, user_message: str, detail: str = "") -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.detail = detail or user_message


class InputRejected(ShuzhiError):
    """A file or text we refuse to read (empty, binary, too large, corrupt, zip bomb, wrong type)."""

    def __init__(self, user_message: str, detail: str = "", reason: str = "") -> None:
        super().__init__(user_message, detail)
        self.reason = reason  # machine-readable: "empty", "binary", "too_large", "corrupt_docx", "zip_bomb", "unsupported"


class IndexUnavailable(ShuzhiError):
    """The index has not been built or cannot be opened."""


class LLMError(ShuzhiError):
    """A failure talking to the model endpoint."""

    def __init__(self, user_message: str, detail: str = "", code: str = "") -> None:
        super().__init__(user_message, detail)
        # machine-readable: "not_configured", "auth", "model_not_found", "content_filter",
        # "context_too_long", "unreachable", "rate_limited", "server_error", "timeout", "stream_broken", "bad_request",
        # "model_error" (anything else a custom LangChain chat model raised)
        self.code = code
        self.partial = ""  # text already streamed before the failure (kept for the user)
