"""shuzhi's example-report corpus as a LangChain retriever, for use in your own chains.

    from shuzhi.langchain import ShuzhiRetriever

    retriever = ShuzhiRetriever(k=5, kind="problems")
    docs = retriever.invoke("理论学习不够深入")

Search is the project's hybrid index (Chroma vectors + BM25, fused by reciprocal rank); the
filters are the index's own (section kind, theme, year).
"""

from __future__ import annotations

import threading

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, PrivateAttr

from .index.search import CorpusIndex
from .models import Hit, SearchFilters

__all__ = ["ShuzhiRetriever", "hit_to_document"]


def hit_to_document(hit: Hit) -> Document:
    chunk = hit.chunk
    return Document(
        page_content=chunk.text,
        metadata={"kind": chunk.kind, "theme": chunk.theme, "source": chunk.source,
                  "heading_path": chunk.heading_path, "year": chunk.year, "score": hit.score, "id": chunk.id},
        id=chunk.id,
    )


class ShuzhiRetriever(BaseRetriever):
    """Passages of the example reports for a query, as `Document`s.

    Without `index`, the settings of the environment (SHUZHI_DATA_DIR, .env …) are read once, on
    first use, and the index is opened there, built from the configured corpus if it does not exist
    yet. Pass `index=CorpusIndex(settings)` to choose explicitly.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    k: int = Field(default=5, description="How many passages to return.")
    kind: str | None = Field(default=None, description="Only this section kind (e.g. 'problems', 'achievements').")
    theme: str | None = Field(default=None, description="Only this theme (themes.yaml, e.g. '思想建设/理论学习').")
    year: int | None = Field(default=None, description="Only passages of reports from this year.")
    index: CorpusIndex | None = Field(default=None, exclude=True, description="The index to search.")

    # Opened lazily: constructing a retriever (e.g. while composing a chain) must not load models.
    _opened: CorpusIndex | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    def corpus_index(self) -> CorpusIndex:
        """The index searched: the injected one, or the environment's, opened (or built) once."""
        if self.index is not None:
            return self.index
        with self._lock:
            if self._opened is None:
                # A retriever built with no arguments has nobody to pass settings down: it opens the
                # environment's workspace, which resolves them once (and the user's rules folder).
                from .api import Workspace

                self._opened = Workspace.open().ensure_index()
            return self._opened

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        filters = SearchFilters(kind=self.kind, theme=self.theme, year=self.year)
        return [hit_to_document(hit) for hit in self.corpus_index().search(query, filters, k=self.k)]
