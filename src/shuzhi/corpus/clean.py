"""Dirt out: paywall markers, reseller ads, watermarks, repeated footers; placeholders normalised.

Every removal is logged as a `Removal` so a person can audit what cleaning took out. The
patterns live in data/ads.yaml and data/placeholders.yaml.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ..datafiles import load_data
from ..genre import Genre, resolve
from ..models import PLACEHOLDER, Block, CleanedFile, LoadedFile, Removal
from .load import load_text
from .textsafe import neutralise_block_markers, strip_control_chars

log = logging.getLogger(__name__)

_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_MD_BULLET = re.compile(r"^\s*[-*+＊]\s+(?=\S)")
_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\n]*\)")
_STAR_RUN = re.compile(r"[*＊]+")


@dataclass(frozen=True)
class _AdRules:
    markers: tuple[re.Pattern[str], ...]
    resellers: tuple[str, ...]
    lines: tuple[tuple[str, re.Pattern[str]], ...]  # (reason, pattern)
    spans: tuple[re.Pattern[str], ...]
    max_line: int
    sandwich_max: int
    repeated_max: int
    repeated_min: int
    repeated_ad_min: int


@dataclass(frozen=True)
class _PlaceholderRules:
    patterns: tuple[re.Pattern[str], ...]
    not_emphasis_start: str


_compiled: dict[str, tuple[Any, Any]] = {}


def _rules(name: str) -> Any:
    """Compile a data file once per loaded version (load_data's cache may be cleared)."""
    data = load_data(name)
    cached = _compiled.get(name)
    if cached is not None and cached[0] is data:
        return cached[1]
    rules: Any
    if name == "ads":
        rules = _AdRules(
            markers=tuple(re.compile(p, re.IGNORECASE) for p in data["paywall_markers"]),
            resellers=tuple(data.get("reseller_names", [])),
            lines=tuple((item["reason"], re.compile(item["pattern"])) for item in data["line_patterns"]),
            spans=tuple(re.compile(p) for p in data.get("span_patterns", [])),
            max_line=int(data.get("max_ad_line_chars", 80)),
            sandwich_max=int(data.get("promo_sandwich_max_chars", 40)),
            repeated_max=int(data.get("repeated_line_max_chars", 40)),
            repeated_min=int(data.get("repeated_line_min_count", 3)),
            repeated_ad_min=int(data.get("repeated_ad_min_count", 2)),
        )
    else:
        rules = _PlaceholderRules(
            patterns=tuple(re.compile(p) for p in data["patterns"]),
            not_emphasis_start=str(data.get("markdown_not_emphasis_start", "")),
        )
    _compiled[name] = (data, rules)
    return rules


# ---------------------------------------------------------------- ads
def _strip_markers(text: str, rules: _AdRules) -> tuple[str, list[tuple[str, str]]]:
    """Remove paywall markers in place (no space inserted, so words stay whole)."""
    found: list[tuple[str, str]] = []
    for pattern in rules.markers:
        found.extend((m.group(0), pattern.pattern) for m in pattern.finditer(text))
        text = pattern.sub("", text)
    return text, found


def match_ad_line(line: str) -> tuple[str, str] | None:
    """(reason, pattern) when a whole line is an ad/watermark/promo, else None.

    Only short lines qualify: a body paragraph mentioning 工会会员 in passing is long.
    """
    rules: _AdRules = _rules("ads")
    line = line.strip()
    if not line or len(line) > rules.max_line:
        return None
    for name in rules.resellers:
        if name in line:
            return "ad", name
    for reason, pattern in rules.lines:
        if pattern.search(line):
            return reason, pattern.pattern
    return None


def _cut_spans(line: str, rules: _AdRules, g: Genre) -> tuple[str, list[tuple[str, str]]]:
    """Inside a long line, drop only clauses carrying a signal no real report has."""
    kept: list[str] = []
    cut: list[tuple[str, str]] = []
    for clause in g.punctuation.sentence_pieces(line):
        hit = next((n for n in rules.resellers if n in clause), None)
        if hit is None:
            hit = next((p.pattern for p in rules.spans if p.search(clause)), None)
        if hit is None:
            kept.append(clause)
        else:
            cut.append((clause, hit))
    return "".join(kept), cut


def find_ad_spans(text: str) -> list[str]:
    """Ad, watermark and paywall-marker text present in `text` (for the leakage check)."""
    rules: _AdRules = _rules("ads")
    found: list[str] = []
    for raw in text.splitlines():
        line, markers = _strip_markers(raw, rules)
        found.extend(m for m, _ in markers)
        found.extend(n for n in rules.resellers if n in line)
        if match_ad_line(line):
            found.append(line.strip())
            continue
        for pattern in rules.spans:
            found.extend(m.group(0) for m in pattern.finditer(line))
    return list(dict.fromkeys(found))


# ---------------------------------------------------------------- placeholders
def _is_emphasis(inner: str, not_start: str) -> bool:
    if not inner or inner[0].isspace() or inner[-1].isspace() or "\n" in inner:
        return False
    if inner[0] in not_start:
        return False
    return any(ch.isalpha() for ch in inner)


def _unwrap_emphasis(text: str, not_start: str) -> str:
    """Markdown **x** / *x* around ordinary prose loses its stars; star placeholders stay."""
    runs = [(m.start(), m.end()) for m in _STAR_RUN.finditer(text)]
    drop: set[int] = set()
    j = 0
    while j < len(runs) - 1:
        (s1, e1), (s2, e2) = runs[j], runs[j + 1]
        if e1 - s1 in (1, 2) and e1 - s1 == e2 - s2 and _is_emphasis(text[e1:s2], not_start):
            drop.update((j, j + 1))
            j += 2
        else:
            j += 1
    out, last = [], 0
    for k in sorted(drop):
        s, e = runs[k]
        out.append(text[last:s])
        last = e
    out.append(text[last:])
    return "".join(out)


def normalise_placeholders(text: str, markdown: bool = False) -> tuple[str, int]:
    """Replace xx/XXX/**/*… with PLACEHOLDER; returns (text, how many were replaced).

    Idempotent: PLACEHOLDER itself contains an X, so existing ones are protected by splitting.
    """
    rules: _PlaceholderRules = _rules("placeholders")
    count = 0
    parts = text.split(PLACEHOLDER)
    for i, part in enumerate(parts):
        if markdown:
            part = _unwrap_emphasis(part, rules.not_emphasis_start)
        for pattern in rules.patterns:
            part, n = pattern.subn(PLACEHOLDER, part)
            count += n
        parts[i] = part
    joined = PLACEHOLDER.join(parts)
    # "XX**" would give two markers in a row; one redacted fact is one marker.
    joined = re.sub(f"(?:{re.escape(PLACEHOLDER)}){{2,}}", PLACEHOLDER, joined)
    return joined, count


def fix_typos(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Correct known source typos (data/typos.yaml); returns the text and the (wrong, right) pairs applied."""
    corrections: dict[str, str] = dict((load_data("typos") or {}).get("corrections") or {})
    applied = []
    for wrong, right in corrections.items():
        if wrong in text:
            text = text.replace(wrong, right)
            applied.append((wrong, right))
    return text, applied


# ---------------------------------------------------------------- whole files
def _normalise_line(text: str, markdown: bool) -> str:
    # Control characters again: notes and hand-made LoadedFiles do not pass through the loader.
    text = neutralise_block_markers(strip_control_chars(text).replace("\n", " "))
    text = _ZERO_WIDTH.sub("", text).replace("\u3000", " ").replace("\xa0", " ").replace("\t", " ")
    if markdown:
        text = _MD_LINK.sub(r"\1", _MD_BULLET.sub("", text))
    return text.strip()


def _classify_lines(lines: list[str], tables: list[bool], rules: _AdRules, g: Genre) -> list[tuple[str, str] | None]:
    """Per line: (reason, pattern) if it is dirt, else None. Table rows may repeat legitimately."""
    verdicts: list[tuple[str, str] | None] = [match_ad_line(line) if line else None for line in lines]
    counts = Counter(line for line in lines if line)
    for i, line in enumerate(lines):
        if not line:
            continue
        verdict = verdicts[i]
        if verdict and counts[line] >= rules.repeated_ad_min:
            verdicts[i] = ("repeated_footer", verdict[1])
        elif (
            verdict is None
            and not tables[i]
            and len(line) <= rules.repeated_max
            and counts[line] >= rules.repeated_min
            and not g.numbering.is_heading_line(line)
        ):
            verdicts[i] = ("repeated_footer", f"repeated {counts[line]}x")
    _mark_sandwiched(lines, verdicts, rules, g)
    return verdicts


def _mark_sandwiched(lines: list[str], verdicts: list[tuple[str, str] | None], rules: _AdRules, g: Genre) -> None:
    """A short line between two ad lines belongs to the same promo block.

    Never the report's own title or a heading, which can directly follow a promo block.
    """
    title_words = g.title_words
    filled = [i for i, line in enumerate(lines) if line]
    for pos in range(1, len(filled) - 1):
        prev, here, nxt = filled[pos - 1], filled[pos], filled[pos + 1]
        line = lines[here]
        if (
            verdicts[here] is None
            and verdicts[prev] is not None
            and verdicts[nxt] is not None
            and len(line) <= rules.sandwich_max
            and not line.endswith("。")
            and not g.numbering.is_heading_line(line)
            and not any(word in line for word in title_words)
        ):
            verdicts[here] = ("promo", "between ad lines")


def clean_file(loaded: LoadedFile, genre: Genre | None = None) -> CleanedFile:
    """Remove dirt from a LoadedFile and normalise placeholders, logging every removal.

    The genre says what a heading and a title look like (those are never taken for footers or promo).
    """
    g = resolve(genre)
    rules: _AdRules = _rules("ads")
    markdown = loaded.file_type == "md"
    removed: list[Removal] = []
    lines: list[str] = []
    for i, block in enumerate(loaded.blocks):
        text, markers = _strip_markers(block.text, rules)
        removed.extend(Removal("paywall_marker", m, i, p) for m, p in markers)
        lines.append(_normalise_line(text, markdown))
    verdicts = _classify_lines(lines, [b.origin == "table" for b in loaded.blocks], rules, g)
    blocks: list[Block] = []
    placeholders = 0
    for i, (block, line, verdict) in enumerate(zip(loaded.blocks, lines, verdicts, strict=True)):
        if not line:
            if block.text.strip() and not _strip_markers(block.text, rules)[0].strip():
                continue  # only a marker: already logged as paywall_marker
            removed.append(Removal("blank", block.text, i))
            continue
        if verdict is not None:
            removed.append(Removal(verdict[0], line, i, verdict[1]))
            continue
        if len(line) > rules.max_line:
            line, cut = _cut_spans(line, rules, g)
            removed.extend(Removal("ad", text, i, pattern) for text, pattern in cut)
        line, n = normalise_placeholders(line, markdown=markdown)
        placeholders += n
        line, typos = fix_typos(line)
        removed.extend(Removal("typo", wrong, i, f"{wrong}→{right}") for wrong, right in typos)
        if line.strip():
            blocks.append(Block(line.strip(), block.style, block.heading_level, block.origin))
    dirt = sum(1 for r in removed if r.reason != "blank")
    log.info(
        "cleaned %s: %d removals (%d non-blank), %d placeholders",
        loaded.path,
        len(removed),
        dirt,
        placeholders,
    )
    return CleanedFile(
        path=loaded.path,
        doc_id=loaded.doc_id,
        file_type=loaded.file_type,
        encoding=loaded.encoding,
        blocks=tuple(blocks),
        removed=tuple(removed),
        placeholders_normalised=placeholders,
        warnings=loaded.warnings,
    )


def clean_text(text: str, markdown: bool | None = None, genre: Genre | None = None) -> str:
    """The same cleaning for a plain string (sanitises anything before it reaches a prompt).

    markdown=None lets load_text recognise Markdown (model output often is).
    """
    loaded = load_text(text)
    if markdown is not None:
        loaded = replace(loaded, file_type="md" if markdown else "txt")
    return "\n".join(block.text for block in clean_file(loaded, genre=genre).blocks)
