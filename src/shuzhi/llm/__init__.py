"""The model seam: configuration and presets, the chat client over LangChain, and the Chinese fault mapping."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .client import NOT_CONFIGURED_MESSAGE, ChatClient, require_llm
    from .retry import parse_retry_after

# The client and the retry rules import openai and langchain (about a second): only a model call needs
# them, so `shuzhi search`, `check` and the like start without (PEP 562).
_LAZY = {"NOT_CONFIGURED_MESSAGE": "client", "ChatClient": "client", "require_llm": "client",
         "parse_retry_after": "retry"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value

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
