"""The corpus as documents (the 语料库 page): list them, add uploaded reports, remove an upload.

Every change goes through `CorpusIndex.build` on the remembered folders, so the chunk file, BM25 and
the Chroma collection change together (a removed file's chunks leave all three; a new file's passages
are embedded once). The uploads folder (`corpus.uploads`) joins the remembered folders with the first
upload, so a later bare `shuzhi index` keeps the uploads.

Built-in documents and those of a folder given with `--corpus` are not removed here (they are the
user's own files or ship with shuzhi): `remove` refuses them with a Chinese message.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ..config import REPO_ROOT
from ..corpus.chunk import chunk_document
from ..corpus.parse import parse_bytes
from ..corpus.uploads import UploadRegistry, display_name, stored_name, upload_suffix, uploads_dir
from ..datafiles import load_data
from ..errors import InputRejected, ShuzhiError
from ..models import IndexReport, ParsedDocument
from ..storage.files import write_atomic
from .build import index_paths
from .search import CorpusIndex
from .store import FileEntry, Manifest

log = logging.getLogger(__name__)

BUILTIN_CORPUS = REPO_ROOT / "corpus"
UploadProgress = Callable[[int, int, str], None]
_change_lock = threading.Lock()  # one corpus change at a time (two browser tabs uploading)


class CorpusSource(StrEnum):
    BUILTIN = "builtin"  # shipped with shuzhi
    UPLOAD = "upload"  # uploaded in the app
    FOLDER = "folder"  # a folder given with `shuzhi index --corpus`


SOURCE_LABELS = {CorpusSource.BUILTIN: "内置范文", CorpusSource.UPLOAD: "我上传的", CorpusSource.FOLDER: "自选文件夹"}


@dataclass(frozen=True)
class CorpusSection:
    kind: str
    heading_path: tuple[str, ...]  # ancestors then this heading; () for the opening and closing


@dataclass(frozen=True)
class CorpusRemoval:
    reason: str  # the cleaning log's reason ("ad", "watermark", "repeated_footer", …)
    label: str  # its Chinese name (data/cleaning_labels.yaml)
    text: str  # what was taken out (plain text: show it escaped)


@dataclass(frozen=True)
class CorpusDocument:
    """One indexed example report."""

    doc_id: str  # content hash (stable while the file is unchanged)
    title: str  # the report's title line; else the uploaded name, the file name or its first words
    year: int | None
    org_type: str  # unit type ("机关", "企业", …; "" when unknown)
    source: CorpusSource
    source_label: str  # Chinese: 内置范文 / 我上传的 / 自选文件夹
    origin: str  # the uploaded file's name (uploads), the folder (folders); "" for built-in
    passages: int
    sections: tuple[CorpusSection, ...]
    removed: tuple[CorpusRemoval, ...]
    uploaded_at: str = ""  # uploads only (ISO time)

    @property
    def removable(self) -> bool:
        return self.source == CorpusSource.UPLOAD


class UploadStatus(StrEnum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class UploadResult:
    name: str  # the uploaded file's name (display text)
    status: UploadStatus
    message: str  # Chinese, for the user
    doc_id: str = ""
    title: str = ""


@dataclass(frozen=True)
class CorpusUploadReport:
    results: tuple[UploadResult, ...]
    index: IndexReport | None = None  # None when nothing was indexed

    @property
    def added(self) -> tuple[UploadResult, ...]:
        return tuple(r for r in self.results if r.status == UploadStatus.ADDED)

    @property
    def failed(self) -> tuple[UploadResult, ...]:
        return tuple(r for r in self.results if r.status == UploadStatus.REJECTED)


# ---------------------------------------------------------------- listing
def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError):
        return False
    return True


def _removal_labels() -> tuple[dict[str, str], str, set[str]]:
    data = load_data("cleaning_labels") or {}
    return ({str(k): str(v) for k, v in (data.get("labels") or {}).items()}, str(data.get("other", "")),
            {str(h) for h in data.get("hidden") or []})


def _folder_of(path: Path, dirs: Sequence[Path]) -> str:
    for folder in dirs:
        if _inside(path, folder):
            return str(folder)
    return str(path.parent)


def _describe_old_entries(index: CorpusIndex, manifest: Manifest) -> Manifest:
    """A manifest written before documents were described: one incremental build describes them.

    Only parsing runs again (every vector is reused); when the build fails the old listing is shown.
    """
    if all(entry.outline is not None for entry in manifest.files.values()):
        return manifest
    with _change_lock:
        try:
            index.build()
        except ShuzhiError as exc:
            log.warning("describing the corpus documents failed: %s", exc.detail)
            return manifest
    return Manifest.load(index_paths(index.settings)["manifest"])


def list_documents(index: CorpusIndex) -> list[CorpusDocument]:
    """Every indexed document: uploads first (newest first), then the others by year (newest first), title."""
    settings = index.settings
    manifest = _describe_old_entries(index, Manifest.load(index_paths(settings)["manifest"]))
    uploads = uploads_dir(settings)
    registry = UploadRegistry(uploads)
    labels, other, hidden = _removal_labels()
    dirs = [Path(d) for d in manifest.corpus_dirs]
    seen: set[str] = set()
    docs: list[CorpusDocument] = []
    for key, entry in manifest.files.items():
        if entry.doc_id in seen:
            continue
        seen.add(entry.doc_id)
        path = Path(key)
        origin, uploaded_at = "", ""
        if _inside(path, uploads):
            source = CorpusSource.UPLOAD
            record = registry.records.get(path.name)
            origin = record.name if record else ""
            uploaded_at = record.uploaded_at if record else ""
            fallback = Path(origin).stem if origin else ""
        elif _inside(path, BUILTIN_CORPUS):
            source, fallback = CorpusSource.BUILTIN, ""
        else:
            source, fallback = CorpusSource.FOLDER, path.stem
            origin = _folder_of(path, dirs)
        title = entry.title or fallback or (f"（无标题）{entry.lead}…" if entry.lead else "（无标题）")
        docs.append(CorpusDocument(
            doc_id=entry.doc_id, title=title, year=entry.year or None, org_type=entry.org_type, source=source,
            source_label=SOURCE_LABELS[source], origin=origin, passages=len(entry.chunk_ids),
            sections=tuple(CorpusSection(str(kind), tuple(str(h) for h in path_)) for kind, path_ in entry.outline or []),
            removed=tuple(CorpusRemoval(reason, labels.get(reason, other or reason), text)
                          for reason, text in entry.removed if reason not in hidden),
            uploaded_at=uploaded_at,
        ))
    uploads_first = sorted((d for d in docs if d.source == CorpusSource.UPLOAD), key=lambda d: d.uploaded_at,
                           reverse=True)
    others = sorted((d for d in docs if d.source != CorpusSource.UPLOAD), key=lambda d: (-(d.year or 0), d.title))
    return uploads_first + others


# ---------------------------------------------------------------- uploading
def _has_structure(doc: ParsedDocument) -> bool:
    """A report has headed parts (一、… or Word/Markdown headings); a letter or a list does not."""
    return any(s.level >= 1 for s in doc.sections)


def _quiet(done: int, total: int, message: str) -> None:
    return None


def add_files(index: CorpusIndex, files: Sequence[tuple[str, bytes]],
              on_progress: UploadProgress | None = None) -> CorpusUploadReport:
    """Parse each uploaded file; keep and index the good ones; say per file what happened (Chinese)."""
    progress = on_progress or _quiet
    settings = index.settings
    total = len(files) + 1
    with _change_lock:
        manifest = Manifest.load(index_paths(settings)["manifest"])
        known = {entry.sha256 for entry in manifest.files.values()}
        results: list[UploadResult | None] = []
        accepted: list[tuple[int, str, bytes, str, ParsedDocument]] = []  # (result slot, name, data, stored, doc)
        for n, (raw_name, data) in enumerate(files):
            name = display_name(raw_name)
            progress(n, total, f"正在解析「{name}」（{n + 1}/{len(files)}）")
            digest = hashlib.sha256(data).hexdigest()
            if digest in known:
                results.append(UploadResult(name, UploadStatus.DUPLICATE,
                                            f"「{name}」与范文库中已有的一篇内容完全相同，没有重复加入。"))
                continue
            try:
                doc = parse_bytes(data, name, settings.file_limits())
                if not _has_structure(doc) or not chunk_document(doc, settings.chunk_max_chars):
                    raise InputRejected(
                        f"「{name}」里没有找到述职报告的小标题（如“一、主要做法和成效”），看起来不是一篇述职报告，没有加入范文库。",
                        "no headed sections", reason="no_structure")
            except InputRejected as exc:
                results.append(UploadResult(name, UploadStatus.REJECTED, f"{exc.user_message}没有加入范文库。"
                                            if "范文库" not in exc.user_message else exc.user_message))
                continue
            except Exception:  # one bad file must not stop the others
                log.exception("uploaded file %r could not be parsed", name)
                results.append(UploadResult(name, UploadStatus.REJECTED,
                                            f"「{name}」无法解析，没有加入范文库。请确认它是能正常打开的 .txt、.md 或 .docx 文件。"))
                continue
            known.add(digest)
            accepted.append((len(results), name, data, stored_name(data, upload_suffix(name)), doc))
            results.append(None)
        report: IndexReport | None = None
        if accepted:
            report = _index_accepted(index, accepted, results, lambda m: progress(len(files), total, m))
        progress(total, total, "完成")
    return CorpusUploadReport(tuple(r for r in results if r is not None), report)


def _index_accepted(index: CorpusIndex, accepted: list[tuple[int, str, bytes, str, ParsedDocument]],
                    results: list[UploadResult | None], progress: Callable[[str], None]) -> IndexReport | None:
    folder = uploads_dir(index.settings)
    folder.mkdir(parents=True, exist_ok=True)
    registry = UploadRegistry(folder)
    written: list[Path] = []
    try:
        for _, name, data, stored, _doc in accepted:
            path = folder / stored
            write_atomic(path, data)
            written.append(path)
            registry.add(stored, name, hashlib.sha256(data).hexdigest())
        registry.save()
        report = index.build(on_progress=progress)
    except ShuzhiError as exc:
        log.warning("indexing uploads failed: %s", exc.detail)
        for path in written:
            path.unlink(missing_ok=True)
            registry.remove(path.name)
        registry.save()
        for slot, name, *_ in accepted:
            results[slot] = UploadResult(name, UploadStatus.REJECTED, f"「{name}」没有加入范文库：{exc.user_message}")
        return None
    for slot, name, _data, _stored, doc in accepted:
        results[slot] = UploadResult(name, UploadStatus.ADDED, f"「{name}」已加入范文库。", doc.doc_id,
                                     doc.title or Path(name).stem)
    return report


# ---------------------------------------------------------------- removing
NOT_FOUND_MESSAGE = "范文库中没有这篇文档，可能已经删除。请刷新页面后再看。"
NOT_REMOVABLE_MESSAGE = ("这篇是{label}，不能在这里删除；这里只能删除自己上传的范文。"
                         "内置范文和命令行指定文件夹中的范文随文件夹一起管理。")


def _entry_of(index: CorpusIndex, doc_id: str) -> list[tuple[Path, FileEntry]]:
    manifest = Manifest.load(index_paths(index.settings)["manifest"])
    return [(Path(key), entry) for key, entry in manifest.files.items() if entry.doc_id == doc_id]


def remove_document(index: CorpusIndex, doc_id: str,
                    on_progress: Callable[[str], None] | None = None) -> IndexReport:
    """Remove an uploaded document (its file and its passages); refuse built-in and folder documents."""
    with _change_lock:
        entries = _entry_of(index, doc_id)
        if not entries:
            raise ShuzhiError(NOT_FOUND_MESSAGE, f"no document {doc_id!r} in the manifest")
        folder = uploads_dir(index.settings)
        outside = [path for path, _ in entries if not _inside(path, folder)]
        if outside:
            label = SOURCE_LABELS[CorpusSource.BUILTIN if _inside(outside[0], BUILTIN_CORPUS) else CorpusSource.FOLDER]
            raise ShuzhiError(NOT_REMOVABLE_MESSAGE.format(label=label), f"{doc_id} is not an upload: {outside[0]}")
        registry = UploadRegistry(folder)
        parked: list[tuple[Path, Path]] = []
        for path, _ in entries:
            if path.is_file():
                aside = path.with_name(f".removing-{path.name}")
                path.replace(aside)
                parked.append((path, aside))
        try:
            report = index.build(on_progress=on_progress)
        except ShuzhiError as exc:
            for path, aside in parked:
                aside.replace(path)
            raise ShuzhiError(f"没有删除：{exc.user_message}", exc.detail) from exc
        for path, aside in parked:
            aside.unlink(missing_ok=True)
            registry.remove(path.name)
        registry.save()
    return report


def rebuild(index: CorpusIndex, on_progress: Callable[[str], None] | None = None) -> IndexReport:
    """Parse and embed every remembered folder again (the uploads folder included when it has files)."""
    with _change_lock:
        return index.build(rebuild=True, on_progress=on_progress)
