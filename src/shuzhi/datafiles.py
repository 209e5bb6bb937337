"""Domain knowledge as data: YAML files under shuzhi/data, extendable by the user.

A user extends a file without editing code by placing a YAML file of the same name in
`$SHUZHI_RULES_DIR` (default `<data_dir>/rules/`): its lists are appended to the built-in
lists and its mappings merged over them.
"""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .config import DATA_FILES_DIR, get_settings

log = logging.getLogger(__name__)


def _user_rules_dir() -> Path:
    env = os.environ.get("SHUZHI_RULES_DIR")
    return Path(env) if env else get_settings().data_dir / "rules"


def _merge(base: Any, extra: Any) -> Any:
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return base + extra
    return extra


@cache
def load_data(name: str) -> Any:
    """Load data/NAME.yaml merged with the user's rules/NAME.yaml, if any."""
    path = DATA_FILES_DIR / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    user_path = _user_rules_dir() / f"{name}.yaml"
    if user_path.is_file():
        try:
            with user_path.open(encoding="utf-8") as fh:
                data = _merge(data, yaml.safe_load(fh) or {})
            log.info("merged user rules from %s", user_path)
        except yaml.YAMLError as exc:
            log.warning("ignoring unreadable user rules %s: %s", user_path, exc)
    return data


def clear_data_cache() -> None:
    load_data.cache_clear()
