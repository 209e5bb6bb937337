"""Files → decoded paragraphs (Blocks), refusing anything we should not read.

Every refusal is an `InputRejected` with a Chinese message naming the file and a precise
English detail for the logs. What a path is (folder, pipe, device) is checked with stat before
anything is opened (a FIFO is never opened: that would block), and size and zip-bomb checks run
before any content is parsed. Every path strips control characters (`textsafe`); what loading had
to repair or leave out (lines in another encoding, control characters, an overlong text) is in
`LoadedFile.warnings`, in Chinese.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from pathlib import Path

from ..config import FileLimits
from ..datafiles import load_data
from ..errors import InputRejected
from ..models import Block, LoadedFile
from .decode import decode_bytes, decode_text
from .docx_zip import read_docx
from .textsafe import count_control_chars, strip_control_chars

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx")
# Far above any real report (5,000–20,000 characters; a bound volume of 50 is ~1,000,000): past this
# the rest of a file is not read, with a warning, so a monster costs seconds, not minutes.
MAX_TEXT_CHARS = 1_000_000
MAX_LINES_NAMED = 10

__all__ = ["MAX_TEXT_CHARS", "SUPPORTED_SUFFIXES", "decode_bytes", "load_bytes", "load_file", "load_text",
           "reject"]


def reject(name: str, reason: str, message: str, detail: str) -> InputRejected:
    """An InputRejected for file NAME, logged with its English detail."""
    log.warning("rejected %s (%s): %s", name, reason, detail)
    return InputRejected(message, detail, reason=reason)


def _doc_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _named_lines(numbers: tuple[int, ...]) -> str:
    shown = "、".join(str(n) for n in numbers[:MAX_LINES_NAMED])
    return shown + (f" 等 {len(numbers)} 行" if len(numbers) > MAX_LINES_NAMED else " 行")


# ---------------------------------------------------------------- blocks and their repairs
def _text_blocks(text: str) -> tuple[Block, ...]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return tuple(Block(text=line) for line in text.split("\n"))


def _too_long(name: str) -> str:
    return (f"文件「{name}」文字过长，只读取了前 {MAX_TEXT_CHARS // 10000} 万字；"
            "如是多篇报告的合集，请拆成单篇文件。")


def _safe_blocks(blocks: tuple[Block, ...], name: str, warnings: list[str]) -> tuple[tuple[Block, ...], bool]:
    """Blocks without control characters, cut after MAX_TEXT_CHARS (then True); a count goes into WARNINGS."""
    removed = 0
    out: list[Block] = []
    chars = 0
    for index, block in enumerate(blocks):
        n = count_control_chars(block.text)
        safe = strip_control_chars(block.text)
        if n or safe != block.text:
            removed += n
            # \v, \f, U+2028 … ended a line: each piece is a line of its own.
            out.extend(Block(p, block.style, block.heading_level, block.origin) for p in safe.split("\n"))
        else:
            out.append(block)
        chars += len(safe)
        if chars > MAX_TEXT_CHARS and index < len(blocks) - 1:
            return tuple(out), True
    if removed:
        warnings.append(f"文件「{name}」含 {removed} 个控制字符（不可见的特殊字符），已删除。")
    return tuple(out), False


def _finish(loaded: LoadedFile, name: str, warnings: list[str], truncated: bool = False) -> LoadedFile:
    blocks, cut = _safe_blocks(loaded.blocks, name, warnings)
    if truncated or cut:
        warnings.append(_too_long(name))
    for warning in warnings:
        log.warning("%s: %s", loaded.path, warning)
    return LoadedFile(loaded.path, loaded.doc_id, loaded.file_type, loaded.encoding, blocks, tuple(warnings))


# ---------------------------------------------------------------- public entry points
_MD_BLOCKS = re.compile(r"^#{1,6}\s+\S|^\s*[-+]\s+\S", re.MULTILINE)
_MD_BOLD = re.compile(r"\*\*([^\s*][^*\n]{0,80}?)\*\*")


def _looks_markdown(text: str) -> bool:
    """Headings, bullets, or a **bold** pair that is not two redacted numbers ("**次，…**")."""
    if _MD_BLOCKS.search(text):
        return True
    not_start = str(load_data("placeholders").get("markdown_not_emphasis_start", ""))
    return any(m.group(1)[0] not in not_start for m in _MD_BOLD.finditer(text))


def load_text(text: str, name: str = "粘贴文本") -> LoadedFile:
    """Wrap pasted text as a LoadedFile (one Block per line), control characters stripped.

    Pasted text and model drafts often are Markdown without saying so: "# " headings, "- "
    bullets or **bold** mark them, so that bold is unwrapped, not taken for a placeholder.
    """
    markdown = name.lower().endswith(".md") or _looks_markdown(text)
    file_type = "md" if markdown else "txt"
    # surrogatepass: pasted text may hold a lone surrogate, which plain UTF-8 cannot encode.
    loaded = LoadedFile(path=name, doc_id=_doc_id(text.encode("utf-8", "surrogatepass")), file_type=file_type,
                        encoding="utf-8", blocks=_text_blocks(text))
    return _finish(loaded, name, [])


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device"


def _read_regular(path: Path, name: str, settings: FileLimits) -> bytes:
    """The bytes of a regular file, or InputRejected: stat first, and open without blocking.

    O_NONBLOCK: a file swapped for a FIFO between stat and open must not hang the reader (open
    returns at once, fstat then refuses it).
    """
    shown = str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise reject(name, "missing", f"找不到文件「{name}」，请检查路径。", f"not found: {shown}") from None
    except OSError as exc:  # permission on a parent folder, a symlink loop, a name too long …
        raise reject(name, "unreadable", f"无法读取文件「{name}」（{_os_reason(exc)}）。", f"stat {shown}: {exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise reject(name, "directory", f"「{name}」这是一个文件夹，不是文件；请选择其中的 .txt、.md 或 .docx 文件。",
                     f"a directory: {shown}")
    if not stat.S_ISREG(info.st_mode):
        kind = _special_kind(info.st_mode)
        raise reject(name, "special", f"「{name}」不是普通文件（管道/设备），无法读取。", f"a {kind}, not a regular file: {shown}")
    _check_suffix(name, path.suffix.lower(), shown)
    _check_size(info.st_size, name, settings, shown)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise reject(name, "unreadable", f"无法读取文件「{name}」（{_os_reason(exc)}）。", f"open {shown}: {exc}") from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise reject(name, "special", f"「{name}」不是普通文件（管道/设备），无法读取。", f"not regular after open: {shown}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(settings.max_file_bytes + 1)  # a file growing while read stops at the limit
    except OSError as exc:
        raise reject(name, "unreadable", f"无法读取文件「{name}」（{_os_reason(exc)}）。", f"read {shown}: {exc}") from exc
    finally:
        os.close(fd)
    _check_size(len(data), name, settings, shown)
    return data


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    return "读取出错"


def _check_size(size: int, name: str, settings: FileLimits, where: str) -> None:
    if size > settings.max_file_bytes:
        raise _too_large(name, size, settings, where)
    if size == 0:
        raise reject(name, "empty", f"文件「{name}」是空的。", f"zero bytes: {where}")


def _check_suffix(name: str, suffix: str, where: str) -> None:
    if suffix not in SUPPORTED_SUFFIXES:
        raise reject(name, "unsupported", f"文件「{name}」的类型暂不支持，请使用 .txt、.md 或 .docx。",
                     f"unsupported suffix {suffix!r}: {where}")


def load_file(path: Path | str, limits: FileLimits | None = None) -> LoadedFile:
    """Read a .txt/.md/.docx file into Blocks, or raise InputRejected with a Chinese message."""
    settings = limits or FileLimits()
    path = Path(path)
    data = _read_regular(path, path.name, settings)
    return _load_data(data, path.name, path.suffix.lower(), str(path), settings)


def _too_large(name: str, size: int, settings: FileLimits, where: str) -> InputRejected:
    return reject(
        name,
        "too_large",
        f"文件「{name}」太大（{size / 1024 / 1024:.1f} MB），上限为 {settings.max_file_bytes / 1024 / 1024:.1f} MB。",
        f"{size} bytes > max_file_bytes {settings.max_file_bytes}: {where}",
    )


def load_bytes(data: bytes, name: str, limits: FileLimits | None = None) -> LoadedFile:
    """`load_file` for bytes received from a browser: NAME is display text only (its suffix picks the reader).

    The LoadedFile's `path` is NAME; nothing is read from or written to disk.
    """
    settings = limits or FileLimits()
    suffix = Path(name.replace("\\", "/")).suffix.lower() if name else ""
    _check_suffix(name, suffix, "uploaded")
    _check_size(len(data), name, settings, "uploaded")
    return _load_data(data, name, suffix, name, settings)


def _load_data(data: bytes, name: str, suffix: str, where: str, settings: FileLimits) -> LoadedFile:
    warnings: list[str] = []
    truncated = False
    if suffix == ".docx":
        blocks, truncated = read_docx(data, name, settings, MAX_TEXT_CHARS)
        loaded = LoadedFile(where, _doc_id(data), "docx", "docx", blocks)
    else:
        try:
            decoded = decode_text(data)
        except ValueError as exc:
            raise reject(
                name, "binary", f"文件「{name}」不是文本文件，无法读取。", f"undecodable {where}: {exc}"
            ) from exc
        if decoded.odd_lines:
            warnings.append(f"文件「{name}」第 {_named_lines(decoded.odd_lines)}编码有误，已尽量识别"
                            "（无法识别的字显示为 �）；请核对这几行的文字。")
        loaded = LoadedFile(where, _doc_id(data), suffix.lstrip("."), decoded.encoding, _text_blocks(decoded.text))
    loaded = _finish(loaded, name, warnings, truncated)
    if not any(b.text.strip() for b in loaded.blocks):
        raise reject(name, "empty", f"文件「{name}」没有文字内容。", f"only whitespace: {where}")
    log.info("loaded %s: %s, %s, %d blocks", name, loaded.file_type, loaded.encoding, len(loaded.blocks))
    return loaded
