"""Chunks: one per point, sized, clean, with stable ids and metadata."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shuzhi.corpus.chunk import chunk_document, split_long
from shuzhi.corpus.parse import parse_file, parse_text
from shuzhi.models import SECTION_KINDS, ParsedDocument

SEED_FILES = sorted((Path(__file__).resolve().parent.parent / "corpus").glob("*.txt"))
RAW_PLACEHOLDER = re.compile(r"(?<![A-Za-z0-9〔])[xXＸ]+(?![A-Za-z0-9〕])|[*＊]|×{2,}")


@pytest.fixture(scope="module")
def docs() -> list[ParsedDocument]:
    return [parse_file(path) for path in SEED_FILES]


@pytest.mark.parametrize("index", range(5))
def test_seed_chunks_are_clean_sized_and_labelled(docs: list[ParsedDocument], index: int) -> None:
    doc = docs[index]
    chunks = chunk_document(doc, max_chars=320)
    assert chunks
    for chunk in chunks:
        assert 0 < len(chunk.text) <= 320
        for dirt in ("##paid", "QQ", "酷乐", "会员", "订阅", "禁止外传", "用后删除"):
            assert dirt not in chunk.text and dirt not in chunk.heading_path
        assert not RAW_PLACEHOLDER.search(chunk.text), chunk.text
        assert chunk.kind in SECTION_KINDS
        assert chunk.doc_id == doc.doc_id and chunk.source == Path(doc.path).name
        assert chunk.year == doc.year and chunk.org_type == doc.org_type
        assert re.fullmatch(r"[0-9a-f]{32}", chunk.id)
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    assert chunks[0].kind == "title" and chunks[0].text == doc.title and chunks[0].heading_path == ""
    kinds = {c.kind for c in chunks}
    assert {"opening", "achievements", "problems", "next_steps"} <= kinds


def test_one_chunk_per_point_with_heading_path(docs: list[ParsedDocument]) -> None:
    chunks = chunk_document(docs[0])
    first = [c for c in chunks if c.heading_path == "主要做法和成效 > 一丝不苟落实机关党建工作责任"]
    assert [c.text[:7] for c in first] == [
        "一是坚持突出位",
        "二是压实责任体",
        "三是细实责任清",
        "四是狠抓责任落",
    ]
    assert first[0].context_text.startswith("主要做法和成效 > 一丝不苟落实机关党建工作责任\n一是")
    causes = [c for c in chunks if c.kind == "causes"]
    assert len(causes) == 3 and causes[0].heading_path == "存在问题及原因 > 分析存在上述问题的主要原因"
    assert all(c.theme for c in first)


def test_closing_chunk_and_point_themes(docs: list[ParsedDocument]) -> None:
    chunks = chunk_document(docs[2])
    assert chunks[-1].kind == "closing" and chunks[-1].text.startswith("以上就是我的述职报告")
    ideology = [c for c in chunks if "意识形态" in c.heading_path]
    assert ideology and all(c.theme == "意识形态" for c in ideology)


def test_ids_are_stable_and_depend_on_content(docs: list[ParsedDocument]) -> None:
    again = chunk_document(parse_file(SEED_FILES[0]))
    assert [c.id for c in again] == [c.id for c in chunk_document(docs[0])]
    other = chunk_document(
        parse_text("一、主要工作\n全年组织集中学习12次，开展研讨交流8次，撰写心得体会20篇。")
    )
    changed = chunk_document(
        parse_text("一、主要工作\n全年组织集中学习13次，开展研讨交流8次，撰写心得体会20篇。")
    )
    assert other[0].id != changed[0].id


def test_small_budget_splits_at_natural_breaks(docs: list[ParsedDocument]) -> None:
    default = chunk_document(docs[3])
    chunks = chunk_document(docs[3], max_chars=80)
    assert len(chunks) > len(default)
    assert all(len(c.text) <= 80 for c in chunks)
    # Sentence ends first; a sentence longer than the budget breaks at a comma.
    assert all(c.text[-1] in "。；！？，、：" for c in chunks if c.kind not in ("title",))


def test_split_long() -> None:
    text = "第一句话比较长一些。" * 10 + "最后一句。"
    pieces = split_long(text, 35)
    assert "".join(pieces) == text and all(len(p) <= 35 for p in pieces)
    assert all(p.endswith("。") for p in pieces)
    overlong = "很长的一句没有句号，" * 20
    assert (
        all(len(p) <= 30 for p in split_long(overlong, 30)) and "".join(split_long(overlong, 30)) == overlong
    )


def test_short_points_merge_with_the_next() -> None:
    doc = parse_text(
        "一、主要工作\n（一）抓学习\n一是抓好学习。二是全年组织集中学习12次，开展研讨交流8次，撰写心得体会20篇。"
    )
    chunks = [c for c in chunk_document(doc) if c.kind == "achievements"]
    assert [c.text for c in chunks] == [
        "一是抓好学习。二是全年组织集中学习12次，开展研讨交流8次，撰写心得体会20篇。"
    ]
    assert chunks[0].heading_path == "主要工作 > 抓学习"


def test_heading_only_sections_make_no_chunk() -> None:
    doc = parse_text(
        "一、主要工作\n（一）抓组织建设\n全年召开支委会12次，党员大会4次，讲党课4次，主题党日12次。"
    )
    chunks = chunk_document(doc)
    assert [c.heading_path for c in chunks] == ["主要工作 > 抓组织建设"]


def test_unknown_year_is_zero() -> None:
    chunks = chunk_document(
        parse_text("一、主要工作\n全年召开支委会12次，党员大会4次，讲党课4次，主题党日12次。")
    )
    assert chunks and all(c.year == 0 for c in chunks)
