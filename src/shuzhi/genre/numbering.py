"""The numbering grammar of a genre: 一、 / （一） / 1. / （1） / 一是 … with their levels, compiled.

The labels are data (the genre file's `numbering.labels`); this is the only module that turns
them into regular expressions, so every caller recognises, strips, splits and writes labels the
same way. Parse by pattern, never by counting: real documents jump from 一、 to 三、.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..models import Point

# What the placeholders of a label pattern stand for. {cn}: 一 … 九十九; {num}: 1–99; {circled}: ①–⑳.
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"
# Chinese numerals as quantities (两名, 十二次, 百分之八点六): the character classes figures.py reads
# numbers with. They live here so that every Chinese numeral pattern is in this module.
CN_QUANTITY_LEAD = "〇零一二两三四五六七八九十"
CN_QUANTITY_CHARS = CN_QUANTITY_LEAD + "百千万亿"
CN_DECIMAL_DIGITS = "〇零一二三四五六七八九"
_CN_DIGITS = "零一二三四五六七八九"
NUMERALS: Mapping[str, str] = {
    "cn": "[二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九]",
    "num": r"\d{1,2}",
    "circled": f"[{CIRCLED}]",
}
INLINE_CONTEXTS = ("clause", "sentence", "none")


def cn_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (1–99)."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return ("" if tens == 1 else _CN_DIGITS[tens]) + "十" + (_CN_DIGITS[ones] if ones else "")


def numeral_value(token: str) -> int:
    """The number a label's numeral stands for: "3" → 3, "③" → 3, "十二" → 12 (0 when unknown)."""
    if token and token in CIRCLED:
        return CIRCLED.index(token) + 1
    if token.isdecimal():
        return int(token)
    if "十" in token:
        tens, _, ones = token.partition("十")
        return (_CN_DIGITS.index(tens) if tens else 1) * 10 + (_CN_DIGITS.index(ones) if ones else 0)
    return _CN_DIGITS.index(token) if token and token in _CN_DIGITS[1:] else 0


def numeral_token(pattern: str) -> str | None:
    """The one placeholder ({cn}, {num}, {circled}) a label pattern uses, or None."""
    found = [name for name in NUMERALS if "{" + name + "}" in pattern]
    return found[0] if len(found) == 1 else None


def expand(pattern: str, group: bool) -> str:
    """A label pattern with its placeholder replaced (as group "n" when `group`)."""
    for name, source in NUMERALS.items():
        pattern = pattern.replace("{" + name + "}", f"(?P<n>{source})" if group else f"(?:{source})")
    return pattern


def char_class(chars: str, extra: str = "") -> str:
    return "[" + "".join(re.escape(c) for c in chars) + extra + "]"


@dataclass(frozen=True, eq=False)
class LabelStyle:
    """One kind of numbering label ("（一）"), as the genre file declares it."""

    name: str
    level: int  # 1–3: the heading level it gives a line; 4: enumeration inside a paragraph only
    pattern: str  # as written in the genre file, with its placeholder
    heading: bool  # a line starting with it can be a heading
    inline: str  # "clause" | "sentence" | "none": where it counts inside running text
    point: bool  # a series of it splits a paragraph into points
    write: str  # how export writes it ("{cn}、"); "" when never written
    start_re: re.Pattern[str]  # at the start of a text: groups "label" and "n"
    inline_re: re.Pattern[str] | None  # in running text, in its inline context

    def format(self, n: int) -> str:
        numeral = {"cn": cn_numeral(n), "num": str(n), "circled": CIRCLED[n - 1] if 0 < n <= len(CIRCLED) else str(n)}
        out = self.write
        for name, value in numeral.items():
            out = out.replace("{" + name + "}", value)
        return out


@dataclass(frozen=True)
class LabelMatch:
    style: LabelStyle
    label: str  # the label as written, without surrounding spaces
    number: int
    end: int  # where the text after the label (and its spaces) starts

    @property
    def level(self) -> int:
        return self.style.level


def compile_style(name: str, level: int, pattern: str, heading: bool, inline: str, point: bool, write: str,
                  clause_before: str, sentence_before: str) -> LabelStyle:
    """Compile one label (re.error propagates to the loader, which names the field)."""
    body = expand(pattern, group=True)
    start_re = re.compile(r"^\s*(?P<label>" + body + r")\s*")
    inline_re: re.Pattern[str] | None = None
    if inline == "clause":
        inline_re = re.compile(f"(?:^|(?<={clause_before}))(?P<label>{body})")
    elif inline == "sentence":
        inline_re = re.compile(f"(?:^|(?<={sentence_before}))[ \\t]*(?P<label>{body})", re.M)
    return LabelStyle(name, level, pattern, heading, inline, point, write, start_re, inline_re)


@dataclass(frozen=True, eq=False)
class NumberingGrammar:
    """All labels of a genre, with the operations the pipeline needs."""

    styles: tuple[LabelStyle, ...]  # by level, then as declared
    export_styles: Mapping[int, LabelStyle]  # level → the label export writes
    enumeration_re: re.Pattern[str]  # any label in its inline context (item splitting, figure masking)
    heading_label_pattern: str  # regex source: any heading label (no groups), to compose with
    label_re: re.Pattern[str]  # any label at the start of a text (group "label")

    # ---------------------------------------------------------------- labels at the start of a text
    def match(self, text: str, *, heading: bool = False, max_level: int = 4) -> LabelMatch | None:
        """The label TEXT starts with (lowest level first); heading=True: only heading labels."""
        for style in self.styles:
            if style.level > max_level or (heading and not style.heading):
                continue
            m = style.start_re.match(text)
            if m:
                return LabelMatch(style, m.group("label"), numeral_value(m.group("n")), m.end())
        return None

    def heading_label(self, text: str, levels: tuple[int, ...] = (1, 2)) -> LabelMatch | None:
        """The heading label of one of LEVELS that TEXT starts with."""
        found = self.match(text, heading=True)
        return found if found is not None and found.level in levels else None

    def is_heading_line(self, line: str, levels: tuple[int, ...] = (1, 2)) -> bool:
        """True when LINE starts with a heading label of one of LEVELS (a Markdown '#' counts too)."""
        return line.lstrip().startswith("#") or self.heading_label(line, levels) is not None

    def level_of(self, label: str) -> int | None:
        """The level of a label on its own ("（一）" → 2, "一是" → 4); None when it is not one."""
        found = self.match(label.strip())
        return found.level if found is not None and found.end == len(label.strip()) else None

    def strip_label(self, text: str) -> tuple[str, str]:
        """(label, rest) for a level-1/2 heading label at the start; ("", text) when there is none."""
        found = self.heading_label(text)
        return (found.label, text[found.end :]) if found is not None else ("", text)

    def strip_labels(self, text: str) -> str:
        """TEXT without any leading labels of level 1–3 ("一、（一）…" from a confused model)."""
        while (found := self.match(text, max_level=3)) is not None and found.end:
            text = text[found.end :]
        return text.strip()

    def starts_with_point(self, text: str) -> bool:
        """True when TEXT starts with the label of an enumerated point ("一是", "（1）" …)."""
        return any(s.point and s.start_re.match(text) for s in self.styles)

    # ---------------------------------------------------------------- writing
    def format_label(self, level: int, n: int) -> str:
        """The label export writes for the Nth heading of LEVEL (1 → "一、", 2 → "（一）")."""
        return self.export_styles[level].format(n)

    def export_level(self, line: str) -> int | None:
        """The level of the export label LINE starts with (what assemble_report writes), else None."""
        for level, style in sorted(self.export_styles.items()):
            if style.start_re.match(line):
                return level
        return None

    # ---------------------------------------------------------------- points
    def split_points(self, paragraph: str) -> list[Point]:
        """Split "一是…二是…" (or （1）…, 1)…, ①…, inline 1.…) into Points; the intro gets label "".

        A series counts only by sequence (1, 2, 3 …), so a stray "二是" is text; the series that
        starts first wins. A lone "一是…" at the start labels the whole paragraph (the series runs
        across paragraphs).
        """
        best: list[re.Match[str]] = []
        for style in self.styles:
            if not style.point or style.inline_re is None:
                continue
            accepted: list[re.Match[str]] = []
            for m in style.inline_re.finditer(paragraph):
                if numeral_value(m.group("n")) == len(accepted) + 1:
                    accepted.append(m)
            if len(accepted) >= 2 and (not best or accepted[0].start() < best[0].start()):
                best = accepted
        if not best:
            for style in self.styles:
                if style.point and style.inline == "clause" and style.inline_re is not None:
                    start = style.inline_re.match(paragraph)
                    if start:
                        return [Point(start.group("label"), paragraph[start.end() :].strip())]
            return [Point("", paragraph)] if paragraph.strip() else []
        points = []
        intro = paragraph[: best[0].start()].strip()
        if intro:
            points.append(Point("", intro))
        for m, nxt in zip(best, [*best[1:], None], strict=True):
            end = nxt.start() if nxt else len(paragraph)
            points.append(Point(m.group("label"), paragraph[m.end() : end].strip()))
        return points

    def item_labels(self, text: str) -> list[re.Match[str]]:
        """Every label that starts an enumerated item of TEXT, in order (for splitting items)."""
        return list(self.enumeration_re.finditer(text))


def build_grammar(styles: list[LabelStyle], export: Mapping[int, LabelStyle],
                  clause_before: str, sentence_before: str) -> NumberingGrammar:
    ordered = tuple(sorted(styles, key=lambda s: s.level))  # stable: declared order within a level
    alternatives = []
    for style in ordered:
        body = expand(style.pattern, group=False)
        if style.inline == "clause":
            alternatives.append(f"(?:^|(?<={clause_before}))(?:{body})")
        elif style.inline == "sentence":
            alternatives.append(f"(?:^|(?<={sentence_before}))[ \\t]*(?:{body})")
    enumeration = re.compile("|".join(alternatives) or "(?!)", re.M)
    heading = "|".join(f"(?:{expand(s.pattern, group=False)})" for s in ordered if s.heading) or "(?!)"
    any_label = "|".join(f"(?:{expand(s.pattern, group=False)})" for s in ordered) or "(?!)"
    label = re.compile(rf"^\s*(?P<label>{any_label})\s*")
    return NumberingGrammar(ordered, dict(export), enumeration, heading, label)
