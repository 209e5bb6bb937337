"""Files → decoded paragraphs (Blocks), refusing anything we should not read.

Every refusal is an `InputRejected` with a Chinese message naming the file and a precise
English detail for the logs. Size and zip-bomb checks run before any content is parsed.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import zipfile
from pathlib import Path

from charset_normalizer import from_bytes

from ..config import FileLimits
from ..datafiles import load_data
from ..errors import InputRejected
from ..models import Block, LoadedFile
from .docx_reader import docx_blocks

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = (".txt", ".md", ".docx")


def _reject(name: str, reason: str, message: str, detail: str) -> InputRejected:
    log.warning("rejected %s (%s): %s", name, reason, detail)
    return InputRejected(message, detail, reason=reason)


def _doc_id(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


# ---------------------------------------------------------------- decoding
def _looks_like_text(text: str) -> bool:
    """True when few characters are control characters (a wrong decoding produces many)."""
    if not text:
        return True
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    bad += text.count("\ufffd")
    return bad / len(text) < 0.02


def _utf16_without_bom(data: bytes) -> str | None:
    """Detect BOM-less UTF-16: ASCII characters (newlines, digits) leave NULs on one parity.

    Runs before the binary check, since UTF-16 text is full of NUL bytes.
    """
    if len(data) < 4 or len(data) % 2 or b"\x00" not in data:
        return None
    even = data[0::2].count(0)
    odd = data[1::2].count(0)
    for encoding, nul_here, nul_there in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        # CJK code points ending in 00 put a few NULs on the other parity too; binary is even.
        if nul_here > 2 * nul_there:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                continue
            if _looks_like_text(text) and _mostly_common_chars(text):
                return encoding
    return None


_COMMON_CHARS = re.compile(r"[\s -~\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f]")


def _mostly_common_chars(text: str) -> bool:
    """Random bytes read as UTF-16 scatter over the whole BMP; real text does not."""
    return len(_COMMON_CHARS.findall(text)) / max(len(text), 1) > 0.9


# UTF-32 LE first: its BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; returns (text, encoding). Raises ValueError when binary."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace"), encoding
    # Strict UTF-8 first: short Chinese texts are easily mis-guessed by statistics.
    try:
        text = data.decode("utf-8")
        if "\x00" not in text:
            return text, "utf-8"
    except UnicodeDecodeError:
        pass
    utf16 = _utf16_without_bom(data)
    if utf16:
        return data.decode(utf16), utf16
    if b"\x00" in data:
        raise ValueError("NUL bytes in a file that is not UTF-16")
    best = from_bytes(data).best()
    if best is None or not best.encoding:
        raise ValueError("no text encoding fits")
    encoding = best.encoding.lower().replace("_", "-")
    # GB2312/GBK are subsets of GB18030; decoding with the superset loses nothing.
    if encoding in {"gb2312", "gbk", "hz", "hz-gb-2312", "gb18030", "cp936"}:
        encoding = "gb18030"
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ValueError(f"guessed {encoding} but it does not decode: {exc}") from exc
    if not _looks_like_text(text):
        raise ValueError(f"decoded as {encoding} but it is mostly control characters")
    return text, encoding


def _text_blocks(text: str) -> tuple[Block, ...]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return tuple(Block(text=line) for line in text.split("\n"))


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
    """Wrap pasted text as a LoadedFile (one Block per line).

    Pasted text and model drafts often are Markdown without saying so: "# " headings, "- "
    bullets or **bold** mark them, so that bold is unwrapped, not taken for a placeholder.
    """
    markdown = name.lower().endswith(".md") or _looks_markdown(text)
    file_type = "md" if markdown else "txt"
    return LoadedFile(
        path=name,
        doc_id=_doc_id(text.encode("utf-8")),
        file_type=file_type,
        encoding="utf-8",
        blocks=_text_blocks(text),
    )


def load_file(path: Path | str, limits: FileLimits | None = None) -> LoadedFile:
    """Read a .txt/.md/.docx file into Blocks, or raise InputRejected with a Chinese message."""
    settings = limits or FileLimits()
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise _reject(name, "missing", f"找不到文件「{name}」，请检查路径。", f"not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise _reject(
            name,
            "unsupported",
            f"文件「{name}」的类型暂不支持，请使用 .txt、.md 或 .docx。",
            f"unsupported suffix {suffix!r}: {path}",
        )
    size = path.stat().st_size
    if size > settings.max_file_bytes:
        raise _too_large(name, size, settings, str(path))
    if size == 0:
        raise _reject(name, "empty", f"文件「{name}」是空的。", f"zero bytes: {path}")
    return _load_data(path.read_bytes(), name, suffix, str(path), settings)


def _too_large(name: str, size: int, settings: FileLimits, where: str) -> InputRejected:
    return _reject(
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
    if suffix not in SUPPORTED_SUFFIXES:
        raise _reject(name, "unsupported", f"文件「{name}」的类型暂不支持，请使用 .txt、.md 或 .docx。",
                      f"unsupported suffix {suffix!r} (uploaded)")
    if len(data) > settings.max_file_bytes:
        raise _too_large(name, len(data), settings, "uploaded")
    if not data:
        raise _reject(name, "empty", f"文件「{name}」是空的。", "zero bytes (uploaded)")
    return _load_data(data, name, suffix, name, settings)


def _load_data(data: bytes, name: str, suffix: str, where: str, settings: FileLimits) -> LoadedFile:
    if suffix == ".docx":
        blocks = _load_docx(data, name, settings)
        loaded = LoadedFile(where, _doc_id(data), "docx", "docx", blocks)
    else:
        try:
            text, encoding = decode_bytes(data)
        except ValueError as exc:
            raise _reject(
                name, "binary", f"文件「{name}」不是文本文件，无法读取。", f"undecodable {where}: {exc}"
            ) from exc
        loaded = LoadedFile(where, _doc_id(data), suffix.lstrip("."), encoding, _text_blocks(text))
    if not any(b.text.strip() for b in loaded.blocks):
        raise _reject(name, "empty", f"文件「{name}」没有文字内容。", f"only whitespace: {where}")
    log.info("loaded %s: %s, %s, %d blocks", name, loaded.file_type, loaded.encoding, len(loaded.blocks))
    return loaded


# ---------------------------------------------------------------- docx
def _check_zip(data: bytes, name: str, settings: FileLimits) -> None:
    """Refuse corrupt archives and zip bombs before python-docx inflates anything."""
    corrupt = f"文件「{name}」不是有效的 Word 文档（.docx），可能已损坏。"
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise _reject(name, "corrupt_docx", corrupt, "not a zip archive")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _reject(name, "corrupt_docx", corrupt, f"bad zip: {exc}") from exc
    total = sum(info.file_size for info in infos)
    bomb = f"文件「{name}」解压后过大或压缩比异常，已拒绝读取（疑似压缩炸弹）。"
    if total > settings.max_docx_uncompressed_bytes:
        raise _reject(
            name, "zip_bomb", bomb, f"uncompressed {total} > {settings.max_docx_uncompressed_bytes}"
        )
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > settings.max_docx_compression_ratio:
            ratio = info.file_size / info.compress_size
            raise _reject(name, "zip_bomb", bomb, f"member {info.filename} ratio {ratio:.0f}")
    names = {info.filename for info in infos}
    if "word/document.xml" not in names or "[Content_Types].xml" not in names:
        raise _reject(name, "corrupt_docx", corrupt, f"zip without word/document.xml: {sorted(names)[:5]}")


def _load_docx(data: bytes, name: str, settings: FileLimits) -> tuple[Block, ...]:
    _check_zip(data, name, settings)
    # Local import: python-docx is slow to import and only .docx needs it.
    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many types on malformed parts
        raise _reject(
            name, "corrupt_docx", f"文件「{name}」不是有效的 Word 文档（.docx），可能已损坏。", repr(exc)
        ) from exc
    return docx_blocks(document)
