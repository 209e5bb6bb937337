"""Which chat model to call: presets, Settings → `LLMConfig`, and `LLMConfig` → a LangChain chat model.

Two routes, both ending in a `BaseChatModel`:
- an OpenAI-compatible endpoint (URL + key + model, or a preset) → `langchain_openai.ChatOpenAI`;
- any other LangChain chat model named in SHUZHI_CHAT_MODEL as `package.module:ClassName`, built
  with the JSON keyword arguments of SHUZHI_CHAT_MODEL_KWARGS. (`init_chat_model`'s "provider:model"
  strings live in the `langchain` meta package, which we do not depend on.)
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr

from ..config import ModelOverrides, Settings
from ..datafiles import load_data
from ..errors import LLMError

if TYPE_CHECKING:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.language_models import BaseChatModel

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
LOCAL_PLACEHOLDER_KEY = "not-needed"  # Ollama/vLLM ignore the key, but the SDK wants one
SECRET_WORDS = ("key", "token", "secret", "password")
SPEC_FORMAT = "包名.模块名:类名（例如 langchain_ollama:ChatOllama）"


@dataclass(frozen=True)
class ProviderPreset:
    name: str
    label: str  # Chinese, for the UI
    base_url: str
    model: str
    notes: str = ""
    api_key: str = ""  # only for local servers that ignore it (Ollama); never a real key
    max_concurrency: int = 0  # sections drafted at once at most (0: the file's default_max_concurrency)


def load_presets() -> dict[str, ProviderPreset]:
    """Presets from data/providers.yaml (merged with the user's rules/providers.yaml)."""
    raw = (load_data("providers") or {}).get("presets") or {}
    fields = ("label", "base_url", "model", "notes", "api_key")
    return {str(name): ProviderPreset(name=str(name), **{f: str(p.get(f) or "") for f in fields},
                                      max_concurrency=_positive_int(p.get("max_concurrency")))
            for name, p in raw.items() if isinstance(p, dict)}


def _positive_int(value: object) -> int:
    try:
        return max(0, int(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def default_concurrency_cap() -> int:
    """data/providers.yaml `default_max_concurrency`: the cap of an endpoint without a preset (at least 1)."""
    return max(1, _positive_int((load_data("providers") or {}).get("default_max_concurrency")) or 1)


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
    stream_idle_timeout_s: float = 60.0  # no chunk for this long: the attempt fails (0: no check)
    section_deadline_s: float = 300.0  # one call with all its retries and waits (0: no deadline)
    max_answer_chars: int = 20000  # longer answers are cut here and reported incomplete (0: no cap)
    provider: str = ""
    # A LangChain chat model class ("package.module:ClassName") instead of the OpenAI-compatible route.
    chat_model: str = ""
    # Its constructor arguments; may hold a key, so not in repr (and unhashable, so not in the hash).
    chat_model_kwargs: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)
    callbacks: tuple[str, ...] = ()  # "package.module:HandlerClass" specs, attached to every call
    concurrency_cap: int = 10  # sections drafted at once at most by default (the preset's max_concurrency)

    @property
    def is_custom(self) -> bool:
        """True when SHUZHI_CHAT_MODEL names the chat model class (not the OpenAI-compatible route)."""
        return bool(self.chat_model)

    @property
    def display_url(self) -> str:
        """The base URL without any user:password part, safe to show and log."""
        if not self.base_url:
            return self.chat_model
        parts = urlsplit(self.base_url)
        return urlunsplit(parts._replace(netloc=parts.hostname or "")) if parts.password else self.base_url


def is_local_url(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOCAL_HOSTS


def resolve_llm_config(settings: Settings) -> LLMConfig | None:
    """Settings (+ preset) → LLMConfig; None when neither a chat model, a base URL nor a provider is set."""
    callbacks = tuple(s.strip() for s in settings.callbacks.split(",") if s.strip())
    for spec in callbacks:  # fail here, where the UI and CLI show configuration errors, not mid-draft
        load_callback_class(spec)
    if settings.chat_model.strip():
        return _custom_config(settings, callbacks)
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
                     provider=provider, callbacks=callbacks,
                     concurrency_cap=(preset.max_concurrency if preset else 0) or default_concurrency_cap(),
                     **_bounds(settings))


def apply_model_overrides(settings: Settings, overrides: ModelOverrides) -> Settings:
    """SETTINGS with one session's model settings over them (the settings themselves are not changed).

    A preset chosen for the session fills the URL and model the session does not give (the environment's
    URL and model belong to the environment's choice, not to the preset). A session that names an endpoint
    or a preset uses the OpenAI-compatible route, even where SHUZHI_CHAT_MODEL names another class.
    """
    if overrides.is_empty:
        return settings
    update: dict[str, object] = {}
    if overrides.provider is not None:
        provider = overrides.provider.strip().lower()
        update["provider"] = provider
        preset = load_presets().get(provider) if provider else None
        if preset is not None:
            update["openai_base_url"] = preset.base_url
            update["model"] = preset.model
    if overrides.base_url is not None:
        update["openai_base_url"] = overrides.base_url.strip()
    if overrides.model is not None:
        update["model"] = overrides.model.strip()
    if overrides.api_key is not None:
        update["openai_api_key"] = SecretStr(overrides.api_key.get_secret_value().strip())
    if overrides.temperature is not None:
        update["temperature"] = min(2.0, max(0.0, float(overrides.temperature)))
    if overrides.max_concurrency is not None:
        update["max_concurrency"] = max(0, int(overrides.max_concurrency))  # 0: automatic
    if overrides.provider is not None or overrides.base_url is not None:
        update["chat_model"] = ""
    return settings.model_copy(update=update)


def _custom_config(settings: Settings, callbacks: tuple[str, ...]) -> LLMConfig:
    spec = settings.chat_model.strip()
    cls = load_chat_model_class(spec)
    kwargs = _parse_kwargs(settings.chat_model_kwargs)
    # Only for display, error messages and redaction: the class itself reads its own arguments.
    model = str(kwargs.get("model") or kwargs.get("model_name") or cls.__name__)
    # Whatever the class calls its key (api_key, anthropic_api_key, token …), it is the secret to redact.
    key = next((v for k, v in kwargs.items() if isinstance(v, str) and v
                and any(w in k.lower() for w in SECRET_WORDS)), "")
    temperature = kwargs.get("temperature")
    return LLMConfig(base_url=str(kwargs.get("base_url") or ""), model=model, api_key=key,
                     temperature=float(temperature) if isinstance(temperature, int | float) else settings.temperature,
                     timeout_s=settings.timeout_s, max_retries=max(0, settings.max_retries),
                     retry_base_delay_s=settings.retry_base_delay_s, retry_max_delay_s=settings.retry_max_delay_s,
                     chat_model=spec, chat_model_kwargs=kwargs, callbacks=callbacks,
                     concurrency_cap=default_concurrency_cap(), **_bounds(settings))


def _bounds(settings: Settings) -> dict[str, Any]:
    """The bounds on one call (idle stream, deadline, answer size); a negative value counts as 0 (off)."""
    return {"stream_idle_timeout_s": max(0.0, settings.stream_idle_timeout_s),
            "section_deadline_s": max(0.0, settings.section_deadline_s),
            "max_answer_chars": max(0, settings.max_answer_chars)}


def _parse_kwargs(raw: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise LLMError("SHUZHI_CHAT_MODEL_KWARGS 不是合法的 JSON：请写成 JSON 对象，例如 {\"model\": \"qwen2.5:7b\"}。",
                       f"SHUZHI_CHAT_MODEL_KWARGS: {exc}", code="not_configured") from exc
    if not isinstance(value, dict):
        raise LLMError("SHUZHI_CHAT_MODEL_KWARGS 应是 JSON 对象（花括号括起的键值对）。",
                       f"SHUZHI_CHAT_MODEL_KWARGS is a {type(value).__name__}", code="not_configured")
    return value


# ------------------------------------------------------------------ loading classes by name
def load_object(spec: str, setting: str) -> Any:
    """The object named by 'package.module:Name' (or 'package.module.Name'); LLMError naming `setting`."""
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    if not module_name or not attr:
        raise LLMError(f"{setting} 的值「{spec}」格式不对：应为 {SPEC_FORMAT}。", f"bad spec {spec!r}",
                       code="not_configured")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as exc:  # a user's module can fail to import in any way
        raise LLMError(f"{setting} 指定的「{spec}」无法导入：请确认已安装相应的包，格式为 {SPEC_FORMAT}。",
                       f"cannot load {spec!r}: {type(exc).__name__}: {exc}", code="not_configured") from exc
    return obj


def load_chat_model_class(spec: str) -> type[BaseChatModel]:
    from langchain_core.language_models import BaseChatModel

    cls = load_object(spec, "SHUZHI_CHAT_MODEL")
    if not (isinstance(cls, type) and issubclass(cls, BaseChatModel)):
        raise LLMError(f"SHUZHI_CHAT_MODEL 指定的「{spec}」不是 LangChain 聊天模型类（BaseChatModel 的子类）。",
                       f"{spec!r} is not a BaseChatModel subclass", code="not_configured")
    return cls


def load_callback_class(spec: str) -> type[BaseCallbackHandler]:
    from langchain_core.callbacks import BaseCallbackHandler

    cls = load_object(spec, "SHUZHI_CALLBACKS")
    if not (isinstance(cls, type) and issubclass(cls, BaseCallbackHandler)):
        raise LLMError(f"SHUZHI_CALLBACKS 中的「{spec}」不是 LangChain 回调类（BaseCallbackHandler 的子类）。",
                       f"{spec!r} is not a BaseCallbackHandler subclass", code="not_configured")
    return cls


# ------------------------------------------------------------------ building
def build_chat_model(config: LLMConfig) -> BaseChatModel:
    """The LangChain chat model for `config`. Retries are ours (tenacity), so the model's own are off."""
    if config.is_custom:
        return _build_custom(config)
    # Imported here: langchain_openai costs seconds of start-up the model-free features never need.
    import openai
    from langchain_openai import ChatOpenAI

    from .guard import watch_response

    return ChatOpenAI(
        base_url=config.base_url, api_key=SecretStr(config.api_key or LOCAL_PLACEHOLDER_KEY), model=config.model,
        temperature=config.temperature, timeout=config.timeout_s, max_retries=0,
        # Compatible endpoints speak Chat Completions only: never route to /responses by model name,
        # and keep the wire format the providers accept (no stream_options).
        use_responses_api=False, stream_usage=False,
        # Our own HTTP client (the SDK's defaults), so that a stuck answer's socket can be shut from the
        # waiting thread: the hook hands each response to the attempt that sent it (see `guard`).
        http_client=openai.DefaultHttpxClient(event_hooks={"response": [watch_response]}),
    )


def _build_custom(config: LLMConfig) -> BaseChatModel:
    cls = load_chat_model_class(config.chat_model)
    kwargs = dict(config.chat_model_kwargs)
    if "max_retries" in cls.model_fields and "max_retries" not in kwargs:
        kwargs["max_retries"] = 0  # retries on top of ours would multiply the attempts
    try:
        return cls(**kwargs)
    except Exception as exc:  # pydantic validation, a missing key, a client that cannot start …
        err = LLMError(f"无法创建 SHUZHI_CHAT_MODEL 指定的聊天模型「{config.chat_model}」：请检查 "
                       "SHUZHI_CHAT_MODEL_KWARGS 中的参数。",
                       f"{config.chat_model}(keys={sorted(kwargs)}) failed: {type(exc).__name__}: {str(exc)[:300]}",
                       code="not_configured")
        from .errors import redact  # imports openai and langchain: only when a model is built

        raise redact(err, config.api_key) from exc


def build_callbacks(config: LLMConfig) -> list[BaseCallbackHandler]:
    """One instance of each handler named in SHUZHI_CALLBACKS (built without arguments)."""
    handlers = []
    for spec in config.callbacks:
        try:
            handlers.append(load_callback_class(spec)())
        except LLMError:
            raise
        except Exception as exc:
            raise LLMError(f"无法创建 SHUZHI_CALLBACKS 中的回调「{spec}」：它需要能不带参数创建。",
                           f"{spec}() failed: {type(exc).__name__}: {exc}", code="not_configured") from exc
    return handlers


def speaks_openai(model: object) -> bool:
    """Whether `model` is a langchain-openai chat model (so finish_reason and /models are reliable).

    Looked up in sys.modules rather than imported: when langchain_openai was never imported, no
    object can be one of its models, and a custom model should not pay for that import.
    """
    base = sys.modules.get("langchain_openai.chat_models.base")
    return base is not None and isinstance(model, base.BaseChatOpenAI)
