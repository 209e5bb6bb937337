"""Every draft run is saved with its notes and plan, so nothing the user typed is ever lost."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ShuzhiError
from ..models import Plan, SectionDraft, to_dict
from .files import write_atomic

log = logging.getLogger(__name__)


def save_session(notes_text: str, plan: Plan, drafts: Sequence[SectionDraft],
                 settings: Settings, label: str = "draft") -> Path:
    """Write notes + plan + sections as one JSON file under <data_dir>/drafts/ (history by timestamp)."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    path = settings.drafts_dir / f"{stamp}-{label}.json"
    payload = {
        "saved_at": datetime.now().isoformat(timespec="seconds"),
        "notes": notes_text,
        "plan": to_dict(plan),
        "sections": [to_dict(d) for d in drafts],
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(payload, ensure_ascii=False, indent=2))
    except (OSError, ShuzhiError) as exc:  # saving history must never break drafting
        log.error("could not save session to %s: %s", path, exc)
        return Path()
    return path


def list_sessions(settings: Settings) -> list[Path]:
    if not settings.drafts_dir.is_dir():
        return []
    return sorted(settings.drafts_dir.glob("*.json"), reverse=True)


def load_session(path: Path) -> dict[str, object]:
    """The raw saved JSON; ValueError when the file is not a saved session (not a JSON object)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} is not a saved session (JSON {type(data).__name__})")
    return data


@dataclass(frozen=True)
class SavedDraft:
    """A saved session read back whole: the notes, the plan and the drafted sections."""

    path: Path
    saved_at: str
    notes_text: str
    plan: Plan
    sections: tuple[SectionDraft, ...]


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


def load_saved_draft(path: Path | str) -> SavedDraft:
    """Read a saved session back (notes, plan, sections); any problem is a ShuzhiError naming the file."""
    from ..writing.plan import plan_from_json

    path = Path(path)
    name = path.name
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
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
    return SavedDraft(path=path, saved_at=saved_at, notes_text=notes, plan=plan, sections=drafts)
