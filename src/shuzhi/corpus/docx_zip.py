"""The .docx zip, opened without trusting it: members measured while they are decompressed.

A zip's headers say how big each member is, but they can lie. Before this reader, python-docx
read each member whole (`ZipFile.read`, which inflates up to 2 GiB in one call before checking
sizes), so a 2 MB file whose headers claimed a few kilobytes peaked at 2.1 GB before being
refused. Here:
- the header sizes and ratios are checked first (a cheap, early refusal of an honest bomb);
- only Word's own compression (stored, deflate) is accepted: bzip2 and LZMA members inflate a
  whole read at once, unbounded, so they are refused before any byte is inflated;
- only the parts the text needs are read (document, styles, numbering, relationships), each in
  64 KiB reads counting the real bytes: past `max_docx_uncompressed_bytes` in total, or past
  the compression ratio, reading stops at once and the file is refused;
- the document part is parsed while it streams (`docx_reader`), never held whole.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from typing import Any

from lxml import etree

from ..config import FileLimits
from ..errors import InputRejected
from ..models import Block
from .docx_reader import Numbering, Styles, docx_blocks, parse_part

READ_CHUNK = 64 * 1024
_ALLOWED = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})
_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOCUMENT = "word/document.xml"


class ZipBomb(Exception):
    """A member inflated past the cap or the ratio while being read."""


class Budget:
    """Bytes inflated so far for one file, against its cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.used = 0


class MemberReader:
    """A zip member read in bounded pieces, counting real (decompressed) bytes against the budget."""

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: Budget, max_ratio: float) -> None:
        self._stream = zf.open(info)
        self._info = info
        self._budget = budget
        self._max_ratio = max_ratio
        self.count = 0

    def read(self, size: int | None = -1) -> bytes:
        want = READ_CHUNK if size is None or size < 0 else min(size, READ_CHUNK)
        data = self._stream.read(want)
        self.count += len(data)
        self._budget.used += len(data)
        if self._budget.used > self._budget.cap:
            raise ZipBomb(f"inflated {self._budget.used} bytes > max_docx_uncompressed_bytes {self._budget.cap} "
                          f"(at member {self._info.filename})")
        # Tiny members compress badly either way; the ratio means something past a few KiB.
        if self.count > 64 * 1024 and self.count / max(self._info.compress_size, 1) > self._max_ratio:
            raise ZipBomb(f"member {self._info.filename} inflated {self.count} bytes from "
                          f"{self._info.compress_size}: ratio > {self._max_ratio:.0f}")
        return data

    def readall(self) -> bytes:
        parts: list[bytes] = []
        while True:
            data = self.read(READ_CHUNK)
            if not data:
                return b"".join(parts)
            parts.append(data)

    def __enter__(self) -> MemberReader:
        return self

    def __exit__(self, *_: object) -> None:
        self._stream.close()


def _reject(name: str, reason: str, detail: str) -> InputRejected:
    from .load import reject

    messages = {
        "corrupt_docx": f"文件「{name}」不是有效的 Word 文档（.docx），可能已损坏。",
        "zip_bomb": f"文件「{name}」解压后过大或压缩比异常，已拒绝读取（疑似压缩炸弹）。",
        "unsupported_docx": f"文件「{name}」已加密或使用了 Word 不用的压缩方式，无法读取；请在 Word 中另存为 .docx 后再试。",
    }
    return reject(name, reason, messages[reason], detail)


def _check_headers(infos: list[zipfile.ZipInfo], name: str, settings: FileLimits) -> None:
    """What the headers claim: refused early when even they are too big (they are re-checked while reading)."""
    total = sum(info.file_size for info in infos)
    if total > settings.max_docx_uncompressed_bytes:
        raise _reject(name, "zip_bomb", f"headers claim {total} > {settings.max_docx_uncompressed_bytes}")
    for info in infos:
        if info.compress_size and info.file_size / info.compress_size > settings.max_docx_compression_ratio:
            raise _reject(name, "zip_bomb", f"member {info.filename} ratio {info.file_size / info.compress_size:.0f}")
    names = {info.filename for info in infos}
    if _DOCUMENT not in names or "[Content_Types].xml" not in names:
        raise _reject(name, "corrupt_docx", f"zip without word/document.xml: {sorted(names)[:5]}")


def _related(zf: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], read: Any) -> dict[str, str]:
    """Relationship type (its last word: styles, numbering) → part name, from word/_rels/document.xml.rels."""
    rels = infos.get("word/_rels/document.xml.rels")
    found = {"styles": "word/styles.xml", "numbering": "word/numbering.xml"}
    if rels is None:
        return found
    for rel in parse_part(read(rels)).iter(f"{_REL_NS}Relationship"):
        kind = str(rel.get("Type", "")).rsplit("/", 1)[-1]
        target = str(rel.get("Target", ""))
        if kind in found and target and rel.get("TargetMode") != "External":
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("word", target))
            found[kind] = part
    return found


def read_docx(data: bytes, name: str, settings: FileLimits, max_chars: int) -> tuple[tuple[Block, ...], bool]:
    """The Blocks of a .docx's bytes and whether the text was cut at MAX_CHARS; InputRejected otherwise."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _reject(name, "corrupt_docx", f"not a zip archive: {exc}") from exc
    with zf:
        infos = zf.infolist()
        _check_headers(infos, name, settings)
        by_name = {info.filename: info for info in infos}
        budget = Budget(settings.max_docx_uncompressed_bytes)

        def open_member(info: zipfile.ZipInfo) -> MemberReader:
            if info.flag_bits & 0x1:
                raise _reject(name, "unsupported_docx", f"member {info.filename} is encrypted")
            if info.compress_type not in _ALLOWED:
                raise _reject(name, "unsupported_docx",
                              f"member {info.filename} compression type {info.compress_type} (only stored/deflate)")
            return MemberReader(zf, info, budget, settings.max_docx_compression_ratio)

        def read(info: zipfile.ZipInfo) -> bytes:
            with open_member(info) as member:
                return member.readall()

        try:
            parts = _related(zf, by_name, read)
            styles = by_name.get(parts["styles"])
            numbering = by_name.get(parts["numbering"])
            reader_styles = Styles(parse_part(read(styles)) if styles is not None else None)
            reader_numbering = Numbering(parse_part(read(numbering)) if numbering is not None else None)
            with open_member(by_name[_DOCUMENT]) as document:
                return docx_blocks(document, reader_styles, reader_numbering, max_chars)
        except ZipBomb as exc:
            raise _reject(name, "zip_bomb", str(exc)) from exc
        except (zipfile.BadZipFile, zlib.error, etree.XMLSyntaxError, OSError, EOFError, ValueError, RuntimeError,
                NotImplementedError) as exc:  # CRC mismatch, broken or truncated deflate stream, malformed XML …
            raise _reject(name, "corrupt_docx", f"{type(exc).__name__}: {exc}") from exc
