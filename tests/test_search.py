"""Retrieval over the built-in corpus: section kinds, filters, diversity, errors."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from shuzhi.config import Settings
from shuzhi.errors import IndexUnavailable, ShuzhiError
from shuzhi.index.search import CorpusIndex, cue_kinds, open_index, select_diverse
from shuzhi.models import Chunk, SearchFilters


@pytest.fixture(scope="module")
def index(built_index_dir: Path) -> CorpusIndex:
    return CorpusIndex(Settings(data_dir=built_index_dir))


def _queries(examples_dir: Path) -> list[tuple[str, str]]:
    with (examples_dir / "queries.tsv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [(row["query"], row["kind"]) for row in rows]


def test_queries_find_their_section_kind_without_a_filter(index: CorpusIndex, examples_dir: Path) -> None:
    queries = _queries(examples_dir)
    assert len(queries) == 8
    right = 0
    for query, kind in queries:
        hits = index.search(query, k=5)
        right += hits[0].chunk.kind == kind
        print(f"{query} [{kind}] -> {[h.chunk.kind for h in hits]}")
    assert right >= 6, f"{right}/8 queries put a chunk of the expected kind first"


@pytest.mark.parametrize("kind", ["problems", "causes", "next_steps", "achievements", "opening"])
def test_kind_filter_returns_only_that_kind(index: CorpusIndex, kind: str) -> None:
    hits = index.search("加强党支部建设，落实三会一课", SearchFilters(kind=kind), k=5)
    assert hits and all(h.chunk.kind == kind for h in hits)


def test_theme_and_year_filters(index: CorpusIndex) -> None:
    themed = index.search("警示教育", SearchFilters(theme="纪律建设/党风廉政"), k=6)
    assert themed and all(h.chunk.theme == "纪律建设/党风廉政" for h in themed)
    old = index.search("主题教育成果", SearchFilters(year=2020), k=6)
    assert old and all(h.chunk.year == 2020 for h in old)
    assert index.search("主题教育", SearchFilters(year=1999), k=5) == []


def test_exclude_doc_ids_applies_to_both_halves(index: CorpusIndex) -> None:
    first = index.search("严格落实三会一课和主题党日制度", k=5)
    excluded = first[0].chunk.doc_id
    again = index.search("严格落实三会一课和主题党日制度", SearchFilters(exclude_doc_ids=(excluded,)), k=20)
    assert again and all(h.chunk.doc_id != excluded for h in again)


def test_results_are_diverse_across_documents(index: CorpusIndex) -> None:
    hits = index.search("加强党员队伍建设和党员教育管理", k=5)
    assert len(hits) == 5
    assert len({h.chunk.doc_id for h in hits}) > 1
    plain = index.search("加强党员队伍建设和党员教育管理", k=5, diverse=False)
    assert len(plain) == 5


def _chunk(n: int, doc: str) -> Chunk:
    return Chunk(id=f"{doc}{n}", text=f"{doc}-{n}", doc_id=doc, source=f"{doc}.txt", year=2023, org_type="",
                 kind="achievements", theme="", heading_path="", position=n)


def test_select_diverse_caps_each_document_and_fills_remaining_slots() -> None:
    chunks = [_chunk(i, "a") for i in range(6)] + [_chunk(0, "b")]
    picked = select_diverse(list(range(7)), chunks, k=5)
    assert 6 in picked and len(picked) == 5  # the one "b" chunk gets in despite ranking last
    only_a = select_diverse(list(range(6)), chunks, k=5)
    assert len(only_a) == 5  # one document only: the cap never leaves slots empty


def test_query_cues_pick_the_head_noun_kind() -> None:
    assert cue_kinds("抓党建精力投入不够的主观原因") == {"causes"}
    assert cue_kinds("理论学习不够深入") == {"problems"}
    assert cue_kinds("党风廉政建设警示教育") == set()


def test_hits_carry_ranks_and_descending_scores(index: CorpusIndex) -> None:
    hits = index.search("党风廉政建设警示教育", k=5, diverse=False)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert hits[0].dense_rank is not None and hits[0].lexical_rank is not None


def test_reading_the_index(index: CorpusIndex) -> None:
    assert len(index.documents()) == 5
    problems = index.chunks("problems")
    assert problems and all(c.kind == "problems" for c in problems)
    ids = [problems[1].id, "missing", problems[0].id]
    assert [c.id for c in index.get_chunks(ids)] == [problems[1].id, problems[0].id]
    texts = index.corpus_texts()
    assert set(texts) == set(index.documents())
    assert all("paidbegin" not in t and "QQ" not in t for t in texts.values())


def test_empty_query_is_refused(index: CorpusIndex) -> None:
    with pytest.raises(ShuzhiError) as info:
        index.search("   ")
    assert info.value.user_message == "请输入检索内容。"


def test_search_before_building_says_what_to_run() -> None:
    fresh = CorpusIndex(Settings(), embedder=None)  # settings from the per-test empty data dir
    assert not fresh.has_index()
    with pytest.raises(IndexUnavailable) as info:
        fresh.search("主题教育")
    assert "shuzhi index" in info.value.user_message
    with pytest.raises(IndexUnavailable):
        open_index(Settings())


def test_very_long_query_is_cut_before_searching(index: CorpusIndex, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from shuzhi.index.search import MAX_QUERY_CHARS

    head = "党风廉政建设警示教育"
    query = head + "加强党支部建设，落实三会一课制度。" * 2500  # ~45,000 characters
    with caplog.at_level(logging.INFO, logger="shuzhi.index.search"):
        hits = index.search(query, k=5)
    assert hits
    assert any("truncated" in r.getMessage() for r in caplog.records)
    assert all(len(q) <= MAX_QUERY_CHARS for q in index._query_vectors)  # only the cut query was embedded
