"""The JSON draft files of earlier versions (`<data_dir>/drafts/*.json`, one per run), read for the
workspace store's one-time import. Every problem is a `ShuzhiError` naming the file, in Chinese."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ShuzhiError
from ..models import Plan, SectionDraft
from .records import SectionVersion, VersionSource
from .tables import ensure_section, insert_session, insert_version


@dataclass(frozen=True)
class LegacySession:
    """One legacy draft file read back whole."""

    path: Path
    saved_at: str  # ISO timestamp; the file's modification time when the file has none
    notes_text: str
    plan: Plan
    sections: tuple[SectionDraft, ...]


def legacy_files(folder: Path) -> list[Path]:
    """The legacy draft files in FOLDER, oldest first (their names start with a timestamp)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.is_file())


_TEXT_FIELDS = ("key", "kind", "heading", "text", "error")


def _section_from_saved(raw: Any, position: int, name: str) -> SectionDraft:
    where = f"草稿文件 {name} 的第 {position} 节"
    if not isinstance(raw, dict):
        raise ShuzhiError(f"{where}格式不对：应为对象。", f"{name}: section {position} not an object")
    allowed = {f.name for f in fields(SectionDraft)}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ShuzhiError(f"{where}有无法识别的字段：{'、'.join(unknown)}。", f"{name}: section {position} {unknown}")
    for field_name in ("key", "kind", "text"):
        if field_name not in raw:
            raise ShuzhiError(f"{where}缺少 {field_name}。", f"{name}: section {position} without {field_name}")
    for field_name in _TEXT_FIELDS:
        if field_name in raw and not isinstance(raw[field_name], str):
            raise ShuzhiError(f"{where}的 {field_name} 应为文字。", f"{name}: section {position} {field_name} not str")
    citations = raw.get("citations", [])
    if not isinstance(citations, list) or not all(isinstance(c, str) for c in citations):
        raise ShuzhiError(f"{where}的 citations 应为文字列表。", f"{name}: section {position} citations invalid")
    complete = raw.get("complete", True)
    if not isinstance(complete, bool):
        raise ShuzhiError(f"{where}的 complete 应为 true 或 false。", f"{name}: section {position} complete invalid")
    return SectionDraft(**{**raw, "citations": tuple(citations), "complete": complete})


def read_legacy_session(path: Path | str) -> LegacySession:
    """Read one legacy draft file (notes, plan, sections); any problem is a ShuzhiError naming the file."""
    from ..writing.plan import plan_from_json

    path = Path(path)
    name = path.name
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise ShuzhiError(f"无法读取草稿文件 {name}：{exc.strerror or exc}。", f"{path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise ShuzhiError(f"草稿文件 {name} 不是 UTF-8 文本，无法恢复。", f"{path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ShuzhiError(f"草稿文件 {name} 已损坏（第 {exc.lineno} 行第 {exc.colno} 列无法解析），无法恢复。",
                          f"{path}: {exc}") from exc
    if not isinstance(payload, dict) or not {"notes", "plan", "sections"} <= set(payload):
        raise ShuzhiError(f"文件 {name} 不是 shuzhi 保存的草稿（缺少笔记、提纲或各节），无法恢复。",
                          f"{path}: not a saved session")
    notes, saved_at, sections = payload["notes"], payload.get("saved_at", ""), payload["sections"]
    if not isinstance(notes, str) or not isinstance(saved_at, str) or not isinstance(sections, list):
        raise ShuzhiError(f"草稿文件 {name} 的格式不对（笔记应为文字，各节应为列表），无法恢复。",
                          f"{path}: notes/saved_at/sections of the wrong type")
    try:
        plan = plan_from_json(json.dumps(payload["plan"], ensure_ascii=False))
    except ShuzhiError as exc:
        raise ShuzhiError(f"草稿文件 {name} 中的提纲有误：{exc.user_message}", f"{path}: {exc.detail}") from exc
    drafts = tuple(_section_from_saved(raw, n, name) for n, raw in enumerate(sections, start=1))
    keys = [d.key for d in drafts]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ShuzhiError(f"草稿文件 {name} 中有重复的节：{'、'.join(duplicates)}，无法恢复。",
                          f"{path}: duplicate section keys {duplicates}")
    stamp = saved_at.strip() or datetime.fromtimestamp(mtime).astimezone().isoformat(timespec="seconds")
    return LegacySession(path=path, saved_at=stamp, notes_text=notes, plan=plan, sections=drafts)


def insert_legacy_session(conn: sqlite3.Connection, session_id: str, legacy: LegacySession) -> None:
    """One legacy draft as a session (inside the caller's transaction): its notes, plan and sections,
    each section's text as one `imported` version; the file's save time for every timestamp."""
    plan = legacy.plan
    meta = {k: v for k, v in (("org", plan.org), ("year", plan.year)) if v not in ("", None)}
    title = plan.title.strip() or legacy.path.stem
    insert_session(conn, session_id, title, "shuzhi", legacy.notes_text, meta, plan, legacy.saved_at)
    for draft in legacy.sections:
        ensure_section(conn, session_id, draft.key, draft.kind, draft.heading)
        insert_version(conn, session_id, draft.key, SectionVersion(
            source=VersionSource.IMPORTED, text=draft.text, at=legacy.saved_at, complete=draft.complete,
            error=draft.error, citations=draft.citations))
