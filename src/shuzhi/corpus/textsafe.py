"""Text that is safe to keep, print, export and quote in a prompt: one place for every path.

`strip_control_chars` runs where text enters (every loader: files, pasted text, notes, uploaded
drafts) and where it leaves (Word/Markdown/HTML export, the terminal): C0/C1 control characters,
DEL, lone surrogates and the XML non-characters U+FFFE/U+FFFF make lxml refuse a Word file
("All strings must be XML compatible"), print escape sequences into a terminal, and mean nothing
in a report; a terminal escape sequence (ESC [31m) goes whole. Tab and newline stay; the characters that separate lines (\\r, \\v, \\f, U+001C–U+001E,
NEL, U+2028, U+2029) become a newline, so paragraphs stay paragraphs.

`neutralise_block_markers` turns text that mimics the prompt's own passage markers
(【范文片段1｜…】) into a look-alike the prompt never uses (〖范文片段1｜…〗), so a corpus passage or a
note cannot open or close a passage block of its own.
"""

from __future__ import annotations

import re

# Line separators Python's str.splitlines() honours: kept as line breaks.
_LINE_BREAKS = re.compile("\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Everything else in C0 (but \t \n), DEL, C1, surrogates (a lone one cannot be encoded), U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
# A terminal escape sequence goes whole (ESC [ 31 m, ESC ] … BEL), not only its ESC: "[31m" is no text either.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])|\x9b[0-?]*[ -/]*[@-~]")
_ANY = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")

# The passage marker of prompts (writing/exemplars.format_exemplars) and anything dressed like it:
# 【 or [ or 〔 …范文片段… up to its closing bracket, on one line.
_MARKER = re.compile(r"[【\[［](\s*范\s*文\s*片\s*段[^】\]］\n]*)([】\]］]?)")


def has_control_chars(text: str) -> bool:
    """True when `strip_control_chars` would change TEXT."""
    return _ANY.search(text) is not None


def strip_control_chars(text: str) -> str:
    """TEXT without control characters; line separators become "\\n" (tab and newline are kept)."""
    if not has_control_chars(text):
        return text
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", _ANSI.sub("", text)))


def count_control_chars(text: str) -> int:
    """How many characters `strip_control_chars` removes (line separators that become "\\n" do not count)."""
    return len(_CONTROL.findall(_ANSI.sub("\x00", text))) if has_control_chars(text) else 0


def neutralise_block_markers(text: str) -> str:
    """【范文片段…】 (or [范文片段…]) in TEXT as 〖范文片段…〗: it reads the same but is not the prompt's marker."""
    if "范" not in text:
        return text
    return _MARKER.sub(lambda m: "〖" + m.group(1) + ("〗" if m.group(2) else ""), text)
