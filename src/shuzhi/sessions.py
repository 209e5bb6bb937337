"""Every draft run is saved with its notes and plan, so nothing the user typed is ever lost."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from .config import Settings, get_settings
from .errors import ShuzhiError
from .fileio import write_atomic
from .models import Plan, SectionDraft, to_dict

log = logging.getLogger(__name__)


def save_session(notes_text: str, plan: Plan, drafts: Sequence[SectionDraft],
                 settings: Settings | None = None, label: str = "draft") -> Path:
    """Write notes + plan + sections as one JSON file under <data_dir>/drafts/ (history by timestamp)."""
    settings = settings or get_settings()
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


def list_sessions(settings: Settings | None = None) -> list[Path]:
    settings = settings or get_settings()
    if not settings.drafts_dir.is_dir():
        return []
    return sorted(settings.drafts_dir.glob("*.json"), reverse=True)


def load_session(path: Path) -> dict[str, object]:
    return dict(json.loads(path.read_text(encoding="utf-8")))
