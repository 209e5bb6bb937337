"""The model seam: configuration and presets, the chat client, and the Chinese fault mapping."""

from .client import NOT_CONFIGURED_MESSAGE, ChatClient, ChatStats, parse_retry_after, require_llm
from .config import LLMConfig, ProviderPreset, is_local_url, load_presets, resolve_llm_config

__all__ = [
    "NOT_CONFIGURED_MESSAGE",
    "ChatClient",
    "ChatStats",
    "LLMConfig",
    "ProviderPreset",
    "is_local_url",
    "load_presets",
    "parse_retry_after",
    "require_llm",
    "resolve_llm_config",
]
