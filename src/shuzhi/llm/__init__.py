"""The model seam: configuration and presets, the chat client over LangChain, and the Chinese fault mapping."""

from .client import NOT_CONFIGURED_MESSAGE, ChatClient, require_llm
from .config import (
    LLMConfig,
    ProviderPreset,
    apply_model_overrides,
    build_chat_model,
    is_local_url,
    load_presets,
    resolve_llm_config,
)
from .protocol import ChatStats, Completer, Messages, TokenCallback
from .retry import parse_retry_after

__all__ = [
    "NOT_CONFIGURED_MESSAGE",
    "ChatClient",
    "ChatStats",
    "Completer",
    "LLMConfig",
    "Messages",
    "ProviderPreset",
    "TokenCallback",
    "apply_model_overrides",
    "build_chat_model",
    "is_local_url",
    "load_presets",
    "parse_retry_after",
    "require_llm",
    "resolve_llm_config",
]
