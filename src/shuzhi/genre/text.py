"""Sentences and the markers the tool itself writes into a draft (not genre grammar, but one place)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .numbering import char_class


@dataclass(frozen=True, eq=False)
class Punctuation:
    """The punctuation a genre's text is cut at (genre file `punctuation:`)."""

    sentence_ends: str  # a sentence or an enumerated clause ends here: 。！？!?；;
    full_stops: str  # a sentence proper ends here (not at a semicolon): 。！？!?
    commas: str  # ，,、
    colons: str  # ：:
    sentence_end_re: re.Pattern[str]  # one sentence end
    sentence_re: re.Pattern[str]  # a run up to and including a sentence end
    comma_re: re.Pattern[str]  # a run up to and including a comma

    @property
    def marks(self) -> str:
        """Every mark that may end a heading or a clause (for trimming)."""
        return self.sentence_ends + self.commas + self.colons

    def sentence_pieces(self, text: str) -> list[str]:
        """TEXT cut after every sentence end (the end stays with its sentence); nothing is lost."""
        return [s for s in self.sentence_re.findall(text) if s]

    def comma_pieces(self, text: str) -> list[str]:
        return [c for c in self.comma_re.findall(text) if c]


def make_punctuation(sentence_ends: str, full_stops: str, commas: str, colons: str) -> Punctuation:
    ends = char_class(sentence_ends)
    not_ends = "[^" + ends[1:]
    comma = char_class(commas)
    return Punctuation(
        sentence_ends, full_stops, commas, colons,
        sentence_end_re=re.compile(ends),
        sentence_re=re.compile(f"{not_ends}*{ends}?"),
        comma_re=re.compile(f"[^{comma[1:]}*{comma}?"),
    )


_PAIRS = {"“": "”", "《": "》", "「": "」", "『": "』", "‘": "’", "（": "）", "(": ")", "【": "】"}
_TRIM = " \t，,、：:。.；;！!？?"


def split_sentences(text: str, ends: str) -> list[str]:
    """Sentences of TEXT, cut after any of ENDS, never inside quotes or brackets (“…；…” 《…》 （…）).

    Unbalanced quotes fall back to cutting at every end. Pieces that are only punctuation are dropped.
    """
    out: list[str] = []
    buf: list[str] = []
    stack: list[str] = []
    for ch in text:
        buf.append(ch)
        if stack and ch == stack[-1]:
            stack.pop()
        elif ch == '"':
            stack.append('"')
        elif ch in _PAIRS:
            stack.append(_PAIRS[ch])
        elif not stack and ch in ends:
            out.append("".join(buf))
            buf = []
    if buf:
        out.append("".join(buf))
    if stack:  # an opening quote never closed: do not swallow the rest of the line
        out = re.split(f"(?<={char_class(ends)})", text)
    return [s for s in out if s.strip(_TRIM + ends)]


# ---------------------------------------------------------------- markers the tool writes
# Where a section failed to generate, the assembled draft says so (export.assemble_report); the
# checks skip these notes (their figures, "HTTP 401", are not facts) and a shell can count them.
FAILED_SECTION_PREFIX = "〔本节生成失败："
_FAILED_SECTION_RE = re.compile(r"〔本节生成失败[：:][^〕]*〕")
# Where the notes had nothing for a section: a visible gap instead of a model call.
MISSING_MATERIAL_MARKER = "〔待补充：笔记中没有本节的内容，请补充笔记后重新生成，或直接在此填写。〕"
_MISSING_MATERIAL_RE = re.compile(r"〔待补充[：:][^〕]*〕")


def failed_section_marker(error: str) -> str:
    """The note written in place of a section that failed: "〔本节生成失败：模型服务超时〕"."""
    return f"{FAILED_SECTION_PREFIX}{error.strip().replace('〕', '）')}〕"


def find_failed_markers(text: str) -> list[str]:
    """Every "〔本节生成失败：…〕" note in TEXT, in order."""
    return [m.group(0) for m in _FAILED_SECTION_RE.finditer(text)]


def strip_failed_markers(text: str) -> tuple[str, list[str]]:
    """(TEXT without the failed-section notes, the notes)."""
    found = find_failed_markers(text)
    return (_FAILED_SECTION_RE.sub("", text) if found else text), found


def unfinished_markers(text: str) -> list[str]:
    """Every mark of an unfinished section: failed ("〔本节生成失败：…〕") or without material ("〔待补充：…〕")."""
    found = [(m.start(), m.group(0)) for r in (_FAILED_SECTION_RE, _MISSING_MATERIAL_RE) for m in r.finditer(text)]
    return [marker for _, marker in sorted(found)]
