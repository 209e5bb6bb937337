"""The user's uploaded example reports: one folder under the data directory, files named by the code.

An uploaded file is stored as `<sha256 of its bytes, 32 hex>.<txt|md|docx>`: the name the browser sent
is display text only (kept in the hidden registry `.uploads.json` beside the files), never part of a
path, so `../../x.docx`, `/etc/passwd`, `con.txt`, NUL bytes or a 2,000-character name are harmless.
Hidden files are not indexed (`index.build.find_corpus_files` skips names starting with a dot).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..config import Settings
from ..storage.files import write_atomic
from .load import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

UPLOADS_DIRNAME = "corpus_uploads"
REGISTRY_NAME = ".uploads.json"
MAX_DISPLAY_CHARS = 80
UNNAMED = "未命名文件"
_STORED = re.compile(r"^[0-9a-f]{32}\.(txt|md|docx)$")


def uploads_dir(settings: Settings) -> Path:
    """`<data_dir>/corpus_uploads`: the folder of the user's uploaded example reports."""
    return settings.data_dir / UPLOADS_DIRNAME


def display_name(raw: str) -> str:
    """The uploaded name as safe display text: its last path part, no control characters, at most 80 chars."""
    text = "".join(ch for ch in str(raw) if unicodedata.category(ch)[0] != "C")
    text = re.split(r"[\\/]", text)[-1].strip() or text.strip()
    if len(text) > MAX_DISPLAY_CHARS:
        suffix = PurePosixPath(text).suffix
        keep = suffix if 0 < len(suffix) <= 6 else ""
        text = text[: MAX_DISPLAY_CHARS - len(keep) - 1] + "…" + keep
    return text or UNNAMED


def upload_suffix(name: str) -> str:
    """The reader's suffix from a display name (lower case), or "" when no loader accepts it."""
    suffix = PurePosixPath(name).suffix.lower()
    return suffix if suffix in SUPPORTED_SUFFIXES else ""


def stored_name(data: bytes, suffix: str) -> str:
    """The file name the code gives an upload: its content hash and a supported suffix."""
    if suffix not in SUPPORTED_SUFFIXES:
        raise ValueError(f"unsupported suffix {suffix!r}")
    return hashlib.sha256(data).hexdigest()[:32] + suffix


def is_stored_name(name: str) -> bool:
    return bool(_STORED.match(name))


@dataclass(frozen=True)
class UploadRecord:
    stored: str  # the file's name in the uploads folder
    name: str  # the name the user's file had (display text)
    uploaded_at: str  # ISO time, seconds
    sha256: str


class UploadRegistry:
    """stored file name → what the user uploaded (display name, time), in `.uploads.json`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / REGISTRY_NAME
        self.records: dict[str, UploadRecord] = {}
        if self.path.is_file():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                for stored, item in dict(raw.get("files", {})).items():
                    if is_stored_name(stored):
                        self.records[stored] = UploadRecord(stored, str(item.get("name", "")),
                                                            str(item.get("uploaded_at", "")), str(item.get("sha256", "")))
            except (OSError, ValueError, TypeError, AttributeError) as exc:
                log.warning("upload registry %s unreadable, display names lost: %s", self.path, exc)

    def add(self, stored: str, name: str, sha256: str) -> UploadRecord:
        record = UploadRecord(stored, name, datetime.now().isoformat(timespec="seconds"), sha256)
        self.records[stored] = record
        return record

    def remove(self, stored: str) -> None:
        self.records.pop(stored, None)

    def save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "files": {k: {"name": r.name, "uploaded_at": r.uploaded_at, "sha256": r.sha256}
                                        for k, r in sorted(self.records.items())}}
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=1))
