"""Which OpenAI-compatible endpoint to call: provider presets and Settings → `LLMConfig`."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ..config import Settings
from ..datafiles import load_data
from ..errors import LLMError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
LOCAL_PLACEHOLDER_KEY = "not-needed"  # Ollama/vLLM ignore the key, but the SDK wants one


@dataclass(frozen=True)
class ProviderPreset:
    name: str
    label: str  # Chinese, for the UI
    base_url: str
    model: str
    notes: str = ""
    api_key: str = ""  # only for local servers that ignore it (Ollama); never a real key


def load_presets() -> dict[str, ProviderPreset]:
    """Presets from data/providers.yaml (merged with the user's rules/providers.yaml)."""
    raw = (load_data("providers") or {}).get("presets") or {}
    fields = ("label", "base_url", "model", "notes", "api_key")
    return {str(name): ProviderPreset(name=str(name), **{f: str(p.get(f) or "") for f in fields})
            for name, p in raw.items() if isinstance(p, dict)}


@dataclass(frozen=True)
class LLMConfig:
    base_url: str
    model: str
    api_key: str = field(default="", repr=False)  # never in repr, logs or messages
    temperature: float = 0.4
    timeout_s: float = 120.0
    max_retries: int = 3
    retry_base_delay_s: float = 1.0
    retry_max_delay_s: float = 30.0
    provider: str = ""

    @property
    def display_url(self) -> str:
        """The base URL without any user:password part, safe to show and log."""
        parts = urlsplit(self.base_url)
        return urlunsplit(parts._replace(netloc=parts.hostname or "")) if parts.password else self.base_url


def is_local_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def resolve_llm_config(settings: Settings) -> LLMConfig | None:
    """Settings (+ preset) → LLMConfig; None when neither a base URL nor a provider is set."""
    provider = settings.provider.strip().lower()
    preset: ProviderPreset | None = None
    if provider:
        presets = load_presets()
        preset = presets.get(provider)
        if preset is None:
            names = "、".join(sorted(presets))
            raise LLMError(f"未知的大模型预设「{provider}」：可选 {names}。", f"unknown provider {provider!r}",
                           code="not_configured")
    base_url = settings.openai_base_url.strip() or (preset.base_url if preset else "")
    if not base_url:
        return None
    model = settings.model.strip() or (preset.model if preset else "")
    if not model:
        raise LLMError("已设置接口地址但未设置模型名称：请设置 SHUZHI_MODEL（例如 deepseek-chat）。",
                       "no model configured", code="not_configured")
    api_key = settings.openai_api_key.get_secret_value().strip()
    if not api_key and preset and preset.api_key:
        api_key = preset.api_key
    if not api_key and is_local_url(base_url):
        api_key = LOCAL_PLACEHOLDER_KEY
    return LLMConfig(base_url=base_url.rstrip("/"), model=model, api_key=api_key, temperature=settings.temperature,
                     timeout_s=settings.timeout_s, max_retries=max(0, settings.max_retries),
                     retry_base_delay_s=settings.retry_base_delay_s, retry_max_delay_s=settings.retry_max_delay_s,
                     provider=provider)
