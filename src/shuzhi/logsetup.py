"""Logging: precise English detail to a rotating file under the data dir; stderr only when asked."""

from __future__ import annotations

import logging
import logging.handlers

from .config import Settings

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(settings: Settings, verbose: bool = False) -> None:
    root = logging.getLogger("shuzhi")
    if getattr(root, "_shuzhi_configured", False):
        return
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    try:
        log_dir = settings.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            log_dir / "shuzhi.log", maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(handler)
    except OSError:
        pass  # an unwritable data dir must not stop the command; the error surfaces where it matters
    if verbose:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(_FORMAT))
        root.addHandler(stream)
    root._shuzhi_configured = True  # type: ignore[attr-defined]
