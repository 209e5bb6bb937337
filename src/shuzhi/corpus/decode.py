"""File bytes → text: BOMs, UTF-8, UTF-16 without BOM, legacy Chinese encodings, and files that mix them.

A file that is not clean UTF-8 is decoded line by line: each line in UTF-8 when it is (mostly)
UTF-8, else in the file's legacy encoding (charset-normalizer's guess over the odd lines; GB2312/GBK
read as GB18030), else GB18030, with U+FFFD for bytes nothing fits. The lines that needed
replacement, or that are in another encoding than the rest, are returned so the loader can name
them in a warning. A file is refused as binary only when the result is mostly control characters
or replacement marks (a few control characters in a text file are stripped later, not a refusal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from charset_normalizer import from_bytes


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the encoding of most lines ("utf-8", "gb18030", …)
    odd_lines: tuple[int, ...] = ()  # 1-based numbers of lines decoded with replacement or in another encoding


def _looks_like_text(text: str, share: float = 0.02) -> bool:
    """True when few characters are control characters or U+FFFD (a wrong decoding produces many).

    A handful is always allowed: a short draft with a stray \\x07 or ESC is text (they are stripped).
    """
    if not text:
        return True
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    bad += text.count("\ufffd")
    return bad <= 8 or bad / len(text) < share


_COMMON_CHARS = re.compile(r"[\s -~\u4e00-\u9fff\u3000-\u303f\uff00-\uffef\u2000-\u206f]")


def _mostly_common_chars(text: str) -> bool:
    """Random bytes read as UTF-16 scatter over the whole BMP; real text does not."""
    return len(_COMMON_CHARS.findall(text)) / max(len(text), 1) > 0.9


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


# UTF-32 LE first: its BOM starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_GB = {"gb2312", "gbk", "hz", "hz-gb-2312", "gb18030", "cp936"}
_DETECT_BYTES = 256 * 1024  # charset-normalizer looks at this much of the odd lines
_SHORT_SAMPLE = 64


def _normalise_encoding(name: str) -> str:
    encoding = name.lower().replace("_", "-")
    # GB2312/GBK are subsets of GB18030; decoding with the superset loses nothing.
    return "gb18030" if encoding in _GB else encoding


def _strict(line: bytes, encoding: str) -> str | None:
    try:
        return line.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_utf8(line: bytes) -> str | None:
    """LINE in UTF-8 with U+FFFD for a few bad bytes, when most of its non-ASCII text is valid UTF-8."""
    text = line.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ord(ch) > 127) - bad
    return text if good >= 4 * bad else None


def _legacy_encoding(odd: list[bytes]) -> str:
    sample = b"\n".join(odd)[:_DETECT_BYTES]
    if len(sample) < _SHORT_SAMPLE and _strict(sample, "gb18030") is not None:
        return "gb18030"  # a few bytes are too few for statistics; GB18030 is the likely one here
    best = from_bytes(sample).best()
    if best is None or not best.encoding:
        return "gb18030"
    return _normalise_encoding(best.encoding)


def _decode_lines(data: bytes) -> Decoded:
    """Each line in the encoding that fits it (see the module docstring)."""
    lines = data.split(b"\n")  # no multi-byte UTF-8/GB18030/Big5/Shift-JIS sequence contains 0x0A
    utf8 = [_strict(line, "utf-8") for line in lines]
    mostly = [_mostly_utf8(line) if text is None else None for line, text in zip(lines, utf8, strict=True)]
    foreign = [line for line, u, m in zip(lines, utf8, mostly, strict=True) if u is None and m is None]
    legacy = _legacy_encoding(foreign) if foreign else "gb18030"
    in_legacy = [_strict(line, legacy) if u is None and m is None else None
                 for line, u, m in zip(lines, utf8, mostly, strict=True)]
    utf8_lines = sum(1 for line, u, m in zip(lines, utf8, mostly, strict=True)
                     if (u is not None or m is not None) and not line.isascii())
    main = "utf-8" if utf8_lines >= sum(1 for g in in_legacy if g is not None) else legacy
    out: list[str] = []
    odd_lines: list[int] = []
    for number, (line, u, m, g) in enumerate(zip(lines, utf8, mostly, in_legacy, strict=True), start=1):
        if u is not None:
            text, used = u, "utf-8"
            # A short run of legacy bytes can happen to be valid UTF-8; in a legacy file it is legacy.
            if main != "utf-8" and sum(1 for b in line if b > 127) < 6:
                short = _strict(line, main)
                text, used = (short, main) if short is not None else (u, "utf-8")
        elif m is not None:
            text, used = m, "replaced"
        elif g is not None:
            text, used = g, legacy
        else:
            gb = _strict(line, "gb18030")
            text, used = (gb, "gb18030") if gb is not None else (line.decode(main, errors="replace"), "replaced")
        if used != main and not line.isascii():
            odd_lines.append(number)
        out.append(text)
    return Decoded("\n".join(out), main, tuple(odd_lines))


def decode_text(data: bytes) -> Decoded:
    """Decode file bytes to text, line by line when the file mixes encodings. ValueError when binary."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            text = data[len(bom):].decode(encoding, errors="replace")
            if not _looks_like_text(text):
                raise ValueError(f"{encoding} byte order mark, but mostly undecodable or control characters")
            bad = tuple(n for n, line in enumerate(text.split("\n"), start=1) if "\ufffd" in line)
            return Decoded(text, encoding, bad)
    # Strict UTF-8 first: short Chinese texts are easily mis-guessed by statistics.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        # Valid UTF-8 is itself strong evidence of text; binary data is not, beyond a few bytes.
        if _looks_like_text(text, share=0.1):
            return Decoded(text, "utf-8")
    utf16 = _utf16_without_bom(data)
    if utf16:
        return Decoded(data.decode(utf16), utf16)
    if data.count(0) > max(4, len(data) // 200):
        raise ValueError("NUL bytes in a file that is not UTF-16")
    decoded = _decode_lines(data)
    if not _looks_like_text(decoded.text):
        raise ValueError(f"decoded as {decoded.encoding} but it is mostly control characters or undecodable")
    return decoded


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode file bytes to text; returns (text, encoding). Raises ValueError when binary."""
    decoded = decode_text(data)
    return decoded.text, decoded.encoding
