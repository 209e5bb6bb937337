"""Logging: precise English detail to a rotating file under the data dir; stderr only when asked."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from ..config import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FILE_HANDLER: logging.Handler | None = None
_STREAM_HANDLER: logging.Handler | None = None


def log_file(settings: Settings) -> Path:
    return settings.data_dir / "logs" / "shuzhi.log"


def setup_logging(settings: Settings, verbose: bool = False) -> None:
    """Idempotent; re-targets the file when the data dir changed (tests, a second project)."""
    global _FILE_HANDLER, _STREAM_HANDLER
    root = logging.getLogger("shuzhi")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    path = log_file(settings)
    if _FILE_HANDLER is None or getattr(_FILE_HANDLER, "baseFilename", "") != str(path):
        if _FILE_HANDLER is not None:
            root.removeHandler(_FILE_HANDLER)
            _FILE_HANDLER.close()
            _FILE_HANDLER = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _FILE_HANDLER = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3,
                                                                 encoding="utf-8")
            _FILE_HANDLER.setFormatter(logging.Formatter(_FORMAT))
            root.addHandler(_FILE_HANDLER)
        except OSError:
            pass  # an unwritable data dir must not stop the command; the error surfaces where it matters
    if verbose and _STREAM_HANDLER is None:
        _STREAM_HANDLER = logging.StreamHandler()
        _STREAM_HANDLER.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(_STREAM_HANDLER)
