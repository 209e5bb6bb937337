"""shuzhi.langchain.ShuzhiRetriever over the real hybrid index, alone and inside an LCEL chain."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough

from shuzhi.config import Settings
from shuzhi.index.search import CorpusIndex
from shuzhi.langchain import ShuzhiRetriever

QUERY = "理论学习不够深入"
METADATA = {"kind", "theme", "source", "heading_path", "year", "score", "id"}


def format_docs(docs: list[Document]) -> str:
    return "\n\n".join(f"【{d.metadata['source']}】{d.page_content}" for d in docs)


@pytest.fixture
def index(built_index_dir: Path) -> CorpusIndex:
    return CorpusIndex(Settings(data_dir=built_index_dir))


def test_invoke_returns_documents_with_metadata(index: CorpusIndex) -> None:
    docs = ShuzhiRetriever(index=index).invoke(QUERY)
    assert 0 < len(docs) <= 5
    for doc in docs:
        assert isinstance(doc, Document) and doc.page_content
        assert set(doc.metadata) == METADATA
        assert isinstance(doc.metadata["score"], float) and isinstance(doc.metadata["year"], int)
    scores = [d.metadata["score"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    # The same passages, in the same order, as the index itself finds.
    assert [d.metadata["id"] for d in docs] == [h.chunk.id for h in index.search(QUERY, k=5)]


def test_kind_filter_and_k(index: CorpusIndex) -> None:
    docs = ShuzhiRetriever(index=index, kind="problems", k=3).invoke(QUERY)
    assert 0 < len(docs) <= 3
    assert {d.metadata["kind"] for d in docs} == {"problems"}


def test_in_an_lcel_chain(index: CorpusIndex) -> None:
    retriever = ShuzhiRetriever(index=index, kind="problems", k=2)
    prompt = ChatPromptTemplate.from_messages([
        ("system", "你是党建述职报告写作助手，只依据范文片段的写法改写。"),
        ("human", "范文片段：\n{context}\n\n请改写：{question}"),
    ])
    setup = {"context": retriever | RunnableLambda(format_docs), "question": RunnablePassthrough()}
    model = FakeListChatModel(responses=["理论学习的系统性、深入性还不够。"])
    chain = setup | prompt | model | StrOutputParser()

    assert chain.invoke(QUERY) == "理论学习的系统性、深入性还不够。"
    shown = (setup | prompt).invoke(QUERY).to_messages()[-1].text
    assert "请改写：" + QUERY in shown
    assert all(d.page_content in shown for d in retriever.invoke(QUERY))


def test_no_argument_construction_uses_the_environment(use_built_index: Path) -> None:
    retriever = ShuzhiRetriever(k=2)
    assert retriever.index is None  # opened lazily, on first use
    docs = retriever.invoke(QUERY)
    assert 0 < len(docs) <= 2
    assert retriever.corpus_index().settings.data_dir == use_built_index
    assert retriever.corpus_index() is retriever.corpus_index()  # opened once
    assert "index" not in retriever.model_dump()  # not serialised


def test_first_use_builds_the_configured_corpus_index(_isolated_settings: Path, corpus_dir: Path,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # One report, lexical search only: the build path without the seconds of embedding.
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    report = sorted(corpus_dir.glob("*.txt"))[0]
    (corpus / report.name).write_bytes(report.read_bytes())
    monkeypatch.setenv("SHUZHI_CORPUS_DIRS", json.dumps([str(corpus)]))
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")
    retriever = ShuzhiRetriever(kind="problems")
    assert not CorpusIndex(Settings(data_dir=_isolated_settings)).has_index()
    docs = retriever.invoke(QUERY)
    assert docs and {d.metadata["kind"] for d in docs} == {"problems"}
    assert {d.metadata["source"] for d in docs} == {report.name}
    assert CorpusIndex(Settings(data_dir=_isolated_settings)).has_index()
