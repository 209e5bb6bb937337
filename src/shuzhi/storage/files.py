"""One way to write a file: never half-written, with a Chinese message when it cannot be."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import ShuzhiError


def check_target(path: Path) -> None:
    """Refuse a target whose folder is missing or that is a folder, before any work is done."""
    folder = Path(path).parent
    if not folder.is_dir():
        raise ShuzhiError(f"保存失败：目标文件夹不存在（{folder}），请先创建该文件夹或另选位置。",
                          f"target folder does not exist: {folder}")
    if Path(path).is_dir():
        raise ShuzhiError(f"保存失败：{Path(path).name} 是一个文件夹，请指定文件名。", f"target is a directory: {path}")


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write through a temporary file in the same folder and os.replace it over the target.

    An existing file is either kept whole or replaced whole (a crash, a full disk or a file
    locked by Word never leaves a truncated draft behind).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    check_target(path)
    folder = path.parent
    tmp_name = ""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{path.name}.", suffix=".tmp", delete=False) as fh:
            tmp_name = fh.name
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
    except OSError as exc:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)
        raise ShuzhiError(f"保存失败：无法写入 {path.name}（文件可能正被 Word 打开，或没有写入权限）。",
                          f"writing {path} failed: {exc!r}") from exc
    return path
