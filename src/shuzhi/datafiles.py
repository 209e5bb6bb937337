"""Domain knowledge as data: YAML files under shuzhi/data (and shuzhi/genres), extendable by the user.

A user extends a file without editing code by placing a YAML file of the same name in the rules
directory (`Settings.rules_dir`, default `<data_dir>/rules/`; genres in its `genres/` folder): its
lists are appended to the built-in lists and its mappings merged over them.

The rules directory is not read from the environment here: the `Workspace` resolves the settings
once and hands the folder over with `configure_rules`. Everything derived from the data (compiled
regexes, rule tables) is cached with `rules_cached`, keyed on the rules folder's state, so a rule
the user adds or edits takes effect without a restart: the folder is looked at again at most once
every RULES_RECHECK_S (one draft asks for rule tables about a thousand times; scanning the folder for
each took a third of its retrieval time).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import yaml

from .config import DATA_FILES_DIR, GENRES_DIR

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.RLock()
_rules_dir: Path | None = None
RULES_RECHECK_S = 1.0
_checked: tuple[float, Path, tuple[object, ...]] | None = None  # (when, folder, its state)


def configure_rules(rules_dir: Path | None) -> None:
    """Use `rules_dir` for the user's additions from now on (None: built-in data only)."""
    global _rules_dir, _checked
    with _lock:
        _rules_dir = Path(rules_dir) if rules_dir is not None else None
        _checked = None


def rules_dir() -> Path | None:
    return _rules_dir


def _stat_key(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError:
        return (path.name, 0, 0)
    return (path.name, st.st_mtime_ns, st.st_size)


def rules_version() -> tuple[object, ...]:
    """Changes whenever the rules folder or any YAML file in it (or in its genres/) changes (seen at most
    RULES_RECHECK_S later; `configure_rules` and `clear_data_cache` look again at once)."""
    global _checked
    folder = _rules_dir
    if folder is None:
        return ("builtin",)
    now = time.monotonic()
    checked = _checked
    if checked is not None and checked[1] == folder and now - checked[0] < RULES_RECHECK_S:
        return checked[2]
    version = _scan_rules(folder)
    _checked = (now, folder, version)
    return version


def _scan_rules(folder: Path) -> tuple[object, ...]:
    key: list[object] = [str(folder)]
    for sub in (folder, folder / "genres"):
        try:
            entries = sorted(os.scandir(sub), key=lambda e: e.name)
        except OSError:
            key.append((sub.name, None))
            continue
        for entry in entries:
            if entry.name.endswith((".yaml", ".yml")) and entry.is_file():
                st = entry.stat()
                key.append((sub.name, entry.name, st.st_mtime_ns, st.st_size))
    return tuple(key)


def rules_cached(fn: Callable[P, R] | None = None, *, maxsize: int = 256) -> Any:
    """Cache `fn`'s results (per hashable arguments) until the user's rules change.

    Use bare (`@rules_cached`) or with a bound (`@rules_cached(maxsize=16)`).
    """
    if fn is None:
        return lambda f: _rules_cached(f, maxsize)
    return _rules_cached(fn, maxsize)


def _rules_cached(fn: Callable[P, R], maxsize: int) -> Callable[P, R]:
    cache: dict[object, R] = {}
    state: dict[str, object] = {"version": None}
    guard = threading.Lock()

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        version = rules_version()
        key = (args, tuple(sorted(kwargs.items())))
        with guard:
            if state["version"] != version:
                cache.clear()
                state["version"] = version
            if key in cache:
                return cache[key]
        value = fn(*args, **kwargs)
        with guard:
            if state["version"] == version:
                if len(cache) >= maxsize:
                    cache.clear()
                cache[key] = value
        return value

    def cache_clear() -> None:
        with guard:
            cache.clear()
            state["version"] = None

    wrapper.cache_clear = cache_clear  # type: ignore[attr-defined]
    return wrapper


def merge_data(base: Any, extra: Any) -> Any:
    """Lists are appended, mappings merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(extra, dict):
        out = dict(base)
        for key, value in extra.items():
            out[key] = merge_data(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(extra, list):
        return base + extra
    return extra


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _with_user_file(data: Any, user_path: Path | None) -> Any:
    if user_path is None or not user_path.is_file():
        return data
    try:
        extra = read_yaml(user_path) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        log.warning("ignoring unreadable user rules %s: %s", user_path, exc)
        return data
    log.info("merged user rules from %s", user_path)
    return merge_data(data, extra) if data is not None else extra


@rules_cached
def load_data(name: str) -> Any:
    """Load data/NAME.yaml merged with the user's rules/NAME.yaml, if any."""
    data = read_yaml(DATA_FILES_DIR / f"{name}.yaml")
    folder = _rules_dir
    return _with_user_file(data, folder / f"{name}.yaml" if folder else None)


def genre_names() -> list[str]:
    """Names of the built-in genres and of those the user added in rules/genres/."""
    names = {p.stem for p in GENRES_DIR.glob("*.yaml")}
    folder = _rules_dir
    if folder is not None and (folder / "genres").is_dir():
        names |= {p.stem for p in (folder / "genres").glob("*.yaml")}
    return sorted(names)


@rules_cached
def load_genre_data(name: str) -> Any:
    """genres/NAME.yaml (built in) merged with rules/genres/NAME.yaml; a user-only genre is allowed."""
    builtin = GENRES_DIR / f"{name}.yaml"
    data = read_yaml(builtin) if builtin.is_file() else None
    folder = _rules_dir
    return _with_user_file(data, folder / "genres" / f"{name}.yaml" if folder else None)


def clear_data_cache() -> None:
    global _checked
    _checked = None
    load_data.cache_clear()  # type: ignore[attr-defined]
    load_genre_data.cache_clear()  # type: ignore[attr-defined]
