"""Who may write the index, and when a reader may read it: two file locks in the index folder.

    .build.lock   held (exclusive) by a build from its first step to its last. A second build,
                  in this process or another, waits for it up to `Settings.index_lock_wait_s`,
                  saying so once ("另一个索引任务正在进行，等待其完成…"), then fails with a
                  Chinese message; it never runs beside the first.
    .commit.lock  held exclusively by a build only while it replaces chunks.jsonl, bm25/ and
                  manifest.json (its last step); readers take it shared while they load those
                  files, so a reader sees either the old complete index or the new one.

Both are `flock` locks: the kernel releases them when their process dies, so a build killed with
`kill -9` never leaves a lock that blocks the next one (the lock files themselves stay; they are
empty apart from the holder's pid, which the message shows). Locks of two open files conflict even
inside one process, so two threads building through two `CorpusIndex` objects wait for each other
as well. Without `fcntl` (Windows) the locks do nothing and a warning is logged once.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ..errors import IndexUnavailable, ShuzhiError

log = logging.getLogger(__name__)

BUILD_LOCK = ".build.lock"
COMMIT_LOCK = ".commit.lock"
WAIT_MESSAGE = "另一个索引任务正在进行，等待其完成…"
POLL_S = 0.1

if sys.platform != "win32":
    import fcntl

    def _try_lock(fh: IO[str], shared: bool) -> bool:
        try:
            fcntl.flock(fh.fileno(), (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fh: IO[str]) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
else:  # pragma: no cover - shuzhi runs on Linux and macOS
    _warned: list[bool] = []

    def _try_lock(fh: IO[str], shared: bool) -> bool:
        if not _warned:
            _warned.append(True)
            log.warning("no fcntl on this platform: concurrent index builds are not locked")
        return True

    def _unlock(fh: IO[str]) -> None:
        return None


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("a+", encoding="utf-8")


def _holder(fh: IO[str]) -> str:
    try:
        fh.seek(0)
        return fh.read(40).strip()
    except OSError:
        return ""


def _acquire(path: Path, shared: bool, wait_s: float, on_wait: Callable[[str], None] | None,
             timeout: Callable[[str], ShuzhiError], waited: list[bool] | None = None) -> IO[str]:
    fh = _open(path)
    try:
        if _try_lock(fh, shared):
            return fh
        if waited is not None:
            waited.append(True)
        holder = _holder(fh)
        log.info("%s held by %s; waiting up to %.0f s", path, holder or "another process", wait_s)
        if on_wait is not None:
            on_wait(WAIT_MESSAGE)
        deadline = time.monotonic() + max(0.0, wait_s)
        while time.monotonic() < deadline:
            time.sleep(POLL_S)
            if _try_lock(fh, shared):
                return fh
        raise timeout(_holder(fh) or holder)
    except BaseException:
        fh.close()
        raise


@contextmanager
def build_lock(index_dir: Path, wait_s: float, on_wait: Callable[[str], None] | None = None) -> Iterator[bool]:
    """Hold the build lock for the block; ShuzhiError when another build holds it longer than WAIT_S.

    Yields True when another build held the lock first (this one waited for it to finish).
    """

    def timeout(holder: str) -> ShuzhiError:
        who = f"（进程 {holder}）" if holder.isdigit() else ""
        return ShuzhiError(
            f"另一个索引任务{who}已进行超过 {wait_s:.0f} 秒仍未结束，本次没有改动索引。"
            "请等它完成后再运行 `shuzhi index`；如果它已卡住，结束那个进程后重新运行即可"
            "（中途结束不会留下残缺的索引）。",
            f"index build lock {index_dir / BUILD_LOCK} held by pid {holder or '?'} for more than {wait_s} s")

    waited: list[bool] = []
    fh = _acquire(index_dir / BUILD_LOCK, False, wait_s, on_wait, timeout, waited)
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield bool(waited)
    finally:
        _unlock(fh)
        fh.close()


def build_running(index_dir: Path) -> bool:
    """True while some build (this process included) holds the build lock."""
    path = index_dir / BUILD_LOCK
    if not path.is_file():
        return False
    with path.open("r", encoding="utf-8") as fh:
        if _try_lock(fh, shared=True):
            _unlock(fh)
            return False
        return True


@contextmanager
def commit_lock(index_dir: Path, shared: bool, wait_s: float) -> Iterator[None]:
    """Readers (shared) load the index files; a build (exclusive) replaces them.

    A reader of an index folder it cannot write (a read-only copy) reads without the lock: no
    build can run there either.
    """

    def timeout(holder: str) -> ShuzhiError:
        return IndexUnavailable("范文库索引正在更新，请稍后再试。",
                                f"index commit lock {index_dir / COMMIT_LOCK} held by pid {holder or '?'} "
                                f"for more than {wait_s} s")

    try:
        fh = _acquire(index_dir / COMMIT_LOCK, shared, wait_s, None, timeout)
    except OSError as exc:
        if not shared:
            raise
        log.info("reading %s without the commit lock: %s", index_dir, exc)
        yield
        return
    try:
        yield
    finally:
        _unlock(fh)
        fh.close()
