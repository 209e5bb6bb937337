"""Stale or premature references to campaigns and meetings, for the report's year.

A hint, never a change: data/campaigns.yaml says which year each campaign or meeting
belongs to and until when citing it as this year's work is normal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..datafiles import load_data, rules_cached
from ..genre import Genre, Severity, resolve
from ..models import Finding


@dataclass(frozen=True)
class Campaign:
    name: str
    pattern: re.Pattern[str]
    year: int
    valid_until: int
    ok_if: tuple[str, ...]
    series: str = ""
    short: re.Pattern[str] | None = None  # the short name a text of its own years uses ("主题教育")
    # Wordings of the same campaign, compared with quotation marks, pauses and spaces removed
    # (“喜迎二十大、奋进新征程” and 喜迎党的二十大 are one 2022 activity).
    aliases: tuple[str, ...] = ()

    def valid_in(self, year: int, sentence: str) -> bool:
        """Whether a report for YEAR may cite it as SENTENCE does (not before it, not stale unless ok_if)."""
        if self.year > year:
            return False
        return self.valid_until >= year or any(w in sentence for w in self.ok_if)

    def found_in(self, sentence: str, flat: str | None = None) -> bool:
        """Whether SENTENCE cites it (FLAT: the sentence already `flatten`ed, when checking many entries)."""
        if self.pattern.pattern and self.pattern.search(sentence):
            return True
        if not self.aliases:
            return False
        flat = flatten(sentence) if flat is None else flat
        return any(a in flat for a in self.aliases)


_FLATTEN_RE = re.compile(r"[\s“”\"'‘’「」『』、，,·]")


def flatten(text: str) -> str:
    """TEXT without quotation marks, pauses and spaces: the form campaign aliases are written in."""
    return _FLATTEN_RE.sub("", text)


@rules_cached
def campaigns() -> tuple[tuple[Campaign, ...], tuple[str, ...]]:
    data: dict[str, Any] = load_data("campaigns")
    default_ok = tuple(data.get("ok_if_default", []))
    entries = tuple(
        Campaign(
            name=str(e["name"]),
            pattern=re.compile(e.get("pattern") or ""),
            year=int(e["year"]),
            valid_until=int(e.get("valid_until", e["year"])),
            ok_if=tuple(e.get("ok_if", default_ok)),
            series=str(e.get("series", "")),
            short=re.compile(e["short_pattern"]) if e.get("short_pattern") else None,
            aliases=tuple(flatten(str(a)) for a in e.get("aliases") or []),
        )
        for e in data["entries"]
    )
    return entries, tuple(data.get("latest_words", []))


def clear_campaigns_cache() -> None:
    campaigns.cache_clear()


def out_of_time(sentence: str, year: int, source_year: int = 0) -> list[Campaign]:
    """The campaigns SENTENCE cites that a report for YEAR may not cite so.

    SOURCE_YEAR is the year of the text the sentence comes from (0: unknown): its short names
    ("主题教育") are the campaign of that year; of an unknown year, a short name no entry valid for
    YEAR carries counts as out of time.
    """
    entries, _ = campaigns()
    flat = flatten(sentence)
    cited = [e for e in entries if e.found_in(sentence, flat)]
    shorts = [e for e in entries if e.short is not None and e not in cited and e.short.search(sentence)]
    if source_year:
        cited += [e for e in shorts if e.year <= source_year <= e.valid_until]
    elif shorts and not any(e.valid_in(year, sentence) for e in shorts):
        cited += shorts
    return [e for e in cited if not e.valid_in(year, sentence)]


def stale_references(draft_text: str, year: int, genre: Genre | None = None) -> list[Finding]:
    """Campaigns and meetings cited out of their time, sentence by sentence (the genre's full stops)."""
    g = resolve(genre)
    entries, latest_words = campaigns()
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, entry: Campaign, sentence: str, message: str) -> None:
        if (kind, entry.name) in seen:
            return
        seen.add((kind, entry.name))
        out.append(Finding(check="timeliness", severity=Severity.WARN, message=message, evidence=sentence.strip()[:120]))

    for sentence in g.split_sentences(draft_text, g.punctuation.full_stops + "\n"):
        flat = flatten(sentence)
        for entry in entries:
            if not entry.found_in(sentence, flat):
                continue
            if entry.year > year:
                add(
                    "future",
                    entry,
                    sentence,
                    f"「{entry.name}」是{entry.year}年的事，{year}年的{g.short_title}不应提到它，请核对年份。",
                )
            elif entry.valid_until < year and not any(w in sentence for w in entry.ok_if):
                add(
                    "stale",
                    entry,
                    sentence,
                    f"「{entry.name}」是{entry.year}年的工作，写进{year}年的{g.short_title}显得过时；"
                    "如确需提及，请写成“巩固…成果”等延续性表述，或换成本年度的重点工作（仅提示，未修改）。",
                )
            if entry.series and any(w in sentence for w in latest_words):
                newer = [e for e in entries if e.series == entry.series and entry.year < e.year <= year]
                if newer:
                    add(
                        "latest",
                        entry,
                        sentence,
                        f"把「{entry.name}」称为“最新”不准确：到{year}年已召开「{newer[-1].name}」（仅提示，未修改）。",
                    )
    return out
