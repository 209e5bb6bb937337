"""Numbers with their units, in both spellings: "发展党员2名" and "发展两名党员" are one fact.

Chinese numerals are converted by `cn2an`; what counts as a unit, which units are
synonyms, and which numerals are names ("四个意识", "三会一课") is data (data/units.yaml).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .datafiles import load_data, rules_cached
from .genre import Genre, resolve
from .genre.numbering import CN_DECIMAL_DIGITS, CN_QUANTITY_CHARS, CN_QUANTITY_LEAD
from .models import PLACEHOLDER, Figure

_CN_NUM = CN_QUANTITY_CHARS
_NUM_RE = re.compile(
    rf"(?P<pct>百分之(?P<pctnum>\d+(?:\.\d+)?|[{CN_QUANTITY_LEAD}百千点]+))"
    r"|(?P<ar>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?P<armul>[万亿](?!元|人(?!次)))?"
    rf"|(?P<cn>[{CN_QUANTITY_LEAD}][{CN_QUANTITY_CHARS}]*(?:点[{CN_DECIMAL_DIGITS}]+[万亿]?)?)"
)
# Quoted names and titles: numerals inside are part of a name ("四强"党支部, 《…2023年工作要点》).
_QUOTED_RE = re.compile(r"“[^”\n]{1,20}”|\"[^\"\n]{1,20}\"|「[^」\n]{1,20}」|‘[^’\n]{1,20}’|《[^》\n]{1,40}》")
_YEAR_MIN, _YEAR_MAX = 1949, 2100


@dataclass(frozen=True)
class _Rules:
    units: tuple[str, ...]  # longest first
    groups: dict[str, str]  # unit -> canonical unit of its group
    free_groups: dict[str, int]  # unit -> index of its free group (written either way, no context check)
    not_before: dict[str, str]  # unit -> characters after it that make it part of a word (一成不变)
    context_units: frozenset[str]  # units dating an occasion (周年), matched anywhere in the notes
    range_connectors: tuple[str, ...]  # 到, 至, — in "1到2个", "一至两个"
    phrase_words: tuple[str, ...]  # the masked words that are phrases (fixed_phrases, lexicon phrases)
    scales: dict[str, tuple[str, float]]
    approx_prefixes: tuple[str, ...]
    approx_suffixes: tuple[str, ...]
    approx_after_unit: tuple[str, ...]
    masked_words: tuple[str, ...]
    masked_patterns: tuple[re.Pattern[str], ...]
    time_patterns: tuple[re.Pattern[str], ...]
    unit_guards: dict[str, re.Pattern[str]]
    half_after: tuple[str, ...]


@rules_cached
def _rules() -> _Rules:
    data = load_data("units")
    groups: dict[str, str] = {}
    for group in data.get("unit_groups", []):
        for unit in group:
            groups[str(unit)] = str(group[0])
    free = {str(u): i for i, group in enumerate(data.get("free_unit_groups") or []) for u in group}
    not_before = {str(k): "".join(str(c) for c in v) for k, v in (data.get("unit_not_before") or {}).items()}
    scales = {str(k): (str(v[0]), float(v[1])) for k, v in (data.get("unit_scales") or {}).items()}
    lexicon = load_data("lexicon") or {}
    words = [str(w) for w in data.get("fixed_phrases", []) + data.get("non_figure_words", [])
             + (lexicon.get("phrases") or [])]
    patterns = [str(p) for p in (data.get("non_figure_patterns") or []) + (lexicon.get("patterns") or [])]
    return _Rules(
        units=tuple(sorted({str(u) for u in data["units"]}, key=len, reverse=True)),
        groups=groups,
        free_groups=free,
        not_before=not_before,
        context_units=frozenset(str(u) for u in data.get("context_units") or []),
        range_connectors=tuple(sorted((str(c) for c in data.get("range_connectors") or []), key=len, reverse=True)),
        phrase_words=tuple(sorted({str(w) for w in data.get("fixed_phrases", []) + (lexicon.get("phrases") or [])},
                                  key=len, reverse=True)),
        scales=scales,
        approx_prefixes=tuple(sorted(data.get("approx_prefixes", []), key=len, reverse=True)),
        approx_suffixes=tuple(data.get("approx_suffixes", [])),
        approx_after_unit=tuple(data.get("approx_after_unit", [])),
        masked_words=tuple(sorted(set(words), key=len, reverse=True)),
        masked_patterns=tuple(re.compile(p) for p in patterns),
        time_patterns=tuple(re.compile(str(p)) for p in lexicon.get("time_patterns") or []),
        unit_guards={str(k): re.compile(str(v)) for k, v in (data.get("unit_guards") or {}).items()},
        half_after=tuple(str(u) for u in data.get("half_after") or []),
    )


def clear_figure_rules() -> None:
    """Forget cached rules (after the user's rules directory changed)."""
    _rules.cache_clear()


def fixed_phrases() -> tuple[str, ...]:
    """The genre's fixed phrases: units.yaml fixed_phrases and lexicon.yaml phrases."""
    lexicon = load_data("lexicon") or {}
    return tuple(str(p) for p in load_data("units").get("fixed_phrases", []) + (lexicon.get("phrases") or []))


def lexicon_patterns() -> tuple[re.Pattern[str], ...]:
    """The lexicon's phrase families (党的二十大, 二十届三中全会, 整顿一个、巩固一个)."""
    return tuple(p for p in _rules().masked_patterns)


def is_lexicon_phrase(text: str) -> bool:
    """TEXT (without quotes) is one of the genre's fixed phrases or phrase families, or made of them."""
    bare = text.strip("“”\"「」『』‘’'《》")
    if not bare:
        return False
    rest = bare
    for word in sorted(fixed_phrases(), key=len, reverse=True):
        rest = rest.replace(word, "")
    for pattern in _rules().masked_patterns:
        rest = pattern.sub("", rest)
    return not re.sub(r"[\s、，,和与及“”\"]", "", rest)


def time_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the time and frequency expressions of TEXT (6月底前, 近两年来, 每季度一次)."""
    return [(m.start(), m.end()) for p in _rules().time_patterns for m in p.finditer(text)]


def cn_to_number(text: str) -> float | None:
    """Chinese (or Arabic) numeral → number via cn2an; None when it is not one number."""
    import cn2an  # deferred: its import compiles its patterns (0.3 s), which a search never needs

    s = text.replace("两", "二")
    mult = 1.0
    try:
        return float(cn2an.cn2an(s, "normal"))
    except (ValueError, KeyError, IndexError):
        pass
    # cn2an refuses "一点二万"; split the trailing multiplier and retry once.
    if s and s[-1] in "万亿" and len(s) > 1:
        mult = 1e4 if s[-1] == "万" else 1e8
        try:
            return float(cn2an.cn2an(s[:-1], "normal")) * mult
        except (ValueError, KeyError, IndexError):
            return None
    return None


def _mask(text: str, genre: Genre, phrases: bool = True) -> bytearray:
    """Characters that cannot be figures: fixed phrases, quoted names, the genre's enumeration labels.
    PHRASES=False keeps the numerals of fixed phrases ("建党100周年"), masking only the words that never count."""
    rules = _rules()
    mask = bytearray(len(text))

    def mark(start: int, end: int) -> None:
        mask[start:end] = b"\x01" * (end - start)

    phrase_words = set(rules.phrase_words)
    for word in rules.masked_words:
        if not phrases and word in phrase_words:
            continue
        start = text.find(word)
        while start >= 0:
            mark(start, start + len(word))
            start = text.find(word, start + len(word))
    for pattern in (*rules.masked_patterns, _QUOTED_RE, genre.numbering.enumeration_re):
        for m in pattern.finditer(text):
            mark(m.start(), m.end())
    return mask


def _match_unit(text: str, pos: int) -> str:
    rules = _rules()
    for unit in rules.units:
        if text.startswith(unit, pos):
            after = text[pos + len(unit) : pos + len(unit) + 1]
            if after and after in rules.not_before.get(unit, ""):
                continue  # 一成不变, 3成员: a word, not a unit
            guard = rules.unit_guards.get(unit)
            if guard is not None and guard.match(text, pos + len(unit)):
                continue  # 成员, 成为: a word that starts with the unit's character
            return unit
    return ""


def _range_unit(text: str, pos: int) -> tuple[str, int]:
    """(unit, end) when text[pos:] continues a range with its upper bound ("到2个", "至两个"): the lower
    bound takes the upper one's unit. ("", pos) otherwise."""
    rules = _rules()
    for conn in rules.range_connectors:
        if not text.startswith(conn, pos):
            continue
        m = _NUM_RE.match(text, pos + len(conn))
        if not m or m.group("pct"):
            return "", pos
        after = m.end()
        for suffix in rules.approx_suffixes:
            if text.startswith(suffix, after):
                after += len(suffix)
                break
        if text.startswith(("%", "％"), after):
            return "%", pos
        unit = _match_unit(text, after)
        return (unit, after + len(unit)) if unit else ("", pos)
    return "", pos


def is_context_unit(unit: str) -> bool:
    """UNIT dates an occasion ("100周年"): matched anywhere in the notes, not required in the draft."""
    return unit in _rules().context_units


def extract_figures(text: str, genre: Genre | None = None, phrases: bool = True) -> list[Figure]:
    """Every number of TEXT that states a quantity, with its unit, in reading order.

    Enumeration labels ("一是", "（一）", "1.") are the genre's (None: the default genre). PHRASES=False
    also reads the numerals of fixed phrases ("建党100周年" → 100周年).
    A range ("1到2个", "一至两个") gives two figures of one unit; the lower one's raw is the whole range.
    """
    rules = _rules()
    mask = _mask(text, resolve(genre), phrases)
    figures: list[Figure] = []
    for m in _NUM_RE.finditer(text):
        start, end = m.start(), m.end()
        if any(mask[start:end]):
            continue
        approx = False
        unit = ""
        if m.group("pct"):
            num = m.group("pctnum")
            value = float(num) if num[0].isdigit() else cn_to_number(num)
            unit = "%"
        elif m.group("ar"):
            before = text[start - 1] if start else ""
            after = text[end] if end < len(text) else ""
            if before.isascii() and before.isalnum() or after.isascii() and after.isalpha():
                continue  # QQ号, 5G, a code: not a quantity
            value = float(m.group("ar").replace(",", ""))
            if m.group("armul"):
                value *= 1e4 if m.group("armul") == "万" else 1e8
        else:
            cn = m.group("cn")
            range_unit, range_end = _range_unit(text, end)
            if range_unit and not any(mask[end:range_end]) and cn_to_number(cn) is not None:
                figures.append(Figure(raw=text[start:range_end], value=float(cn_to_number(cn) or 0),
                                      unit=range_unit, start=start, end=range_end, approx=False))
                continue
            if len(cn) > 1 and not any(c in "十百千万亿点" for c in cn) and len(cn) != 4:
                continue  # "两三次", "五六个": a range, not a figure (4 digits: 二〇二四年)
            value = cn_to_number(cn)
        if value is None:
            continue
        pos = end
        for suffix in rules.approx_suffixes:
            if text.startswith(suffix, pos) and (_match_unit(text, pos + len(suffix)) or m.group("ar")):
                approx = True
                pos += len(suffix)
                break
        if not unit:
            if text.startswith(("%", "％"), pos):
                unit = "%"
                pos += 1
            else:
                unit = _match_unit(text, pos)
                pos += len(unit)
        if not unit and not approx and m.group("ar"):
            range_unit, range_end = _range_unit(text, pos)
            if range_unit and not any(mask[pos:range_end]):
                figures.append(Figure(raw=text[start:range_end], value=value, unit=range_unit,
                                      start=start, end=range_end, approx=False))
                continue
        if not unit and not m.group("ar"):
            continue  # a Chinese numeral without a unit is a word (四强, 五好), not a figure
        if unit in rules.half_after and text.startswith("半", pos):
            value += 0.5  # 两成半
            pos += 1
        for after_unit in rules.approx_after_unit:
            if unit and text.startswith(after_unit, pos):
                approx = True
                pos += len(after_unit)
                break
        for prefix in rules.approx_prefixes:
            if text.endswith(prefix, 0, start):
                approx = True
                start -= len(prefix)
                break
        if unit == "％":
            unit = "%"
        figures.append(Figure(raw=text[start:pos], value=value, unit=unit, start=start, end=pos, approx=approx))
    return figures


def placeholder_figures(text: str) -> list[tuple[str, str, int, int]]:
    """(raw, unit, start, end) of every redacted count of TEXT: the placeholder and its unit ("〔X〕名")."""
    out = []
    pos = text.find(PLACEHOLDER)
    while pos >= 0:
        end = pos + len(PLACEHOLDER)
        for suffix in _rules().approx_suffixes:
            if text.startswith(suffix, end) and _match_unit(text, end + len(suffix)):
                end += len(suffix)
                break
        unit = _match_unit(text, end)
        if unit:
            out.append((text[pos : end + len(unit)], unit, pos, end + len(unit)))
        pos = text.find(PLACEHOLDER, end)
    return out


def canonical(fig: Figure) -> tuple[float, str]:
    """(value, unit) with scaled units resolved ("3万元" → 30000 元) and synonyms merged."""
    rules = _rules()
    value, unit = fig.value, fig.unit
    if unit in rules.scales:
        unit, factor = rules.scales[unit]
        value *= factor
    return value, rules.groups.get(unit, unit)


def normalise_value(raw: str) -> tuple[float, str] | None:
    """The canonical (value, unit) of the first figure in RAW: "两名" and "2人" both give (2.0, "名")."""
    figs = extract_figures(raw)
    return canonical(figs[0]) if figs else None


def units_compatible(a: str, b: str) -> bool:
    return a == "" or b == "" or a == b


def same_figure(a: Figure, b: Figure) -> bool:
    """Same value (within 1e-6) in compatible units; a bare number matches any unit."""
    va, ua = canonical(a)
    vb, ub = canonical(b)
    return abs(va - vb) < 1e-6 and units_compatible(ua, ub)


def by_synonym_unit(a: Figure, b: Figure) -> bool:
    """A and B are the same figure only through synonym units (3场 and 三次, 2名 and 两人): a
    weaker match, which the ledger accepts only when the words around it fit (checks.ledger)."""
    rules = _rules()
    ua = rules.scales[a.unit][0] if a.unit in rules.scales else a.unit
    ub = rules.scales[b.unit][0] if b.unit in rules.scales else b.unit
    if ua in rules.free_groups and rules.free_groups.get(ub) == rules.free_groups[ua]:
        return False  # 人/名/位: the same unit written two ways
    return same_figure(a, b) and bool(ua) and bool(ub) and ua != ub


def is_year_like(fig: Figure) -> bool:
    """A calendar year: "2024年", or a bare 2024."""
    return (
        fig.unit in ("年", "")
        and not fig.approx
        and float(fig.value).is_integer()
        and _YEAR_MIN <= fig.value <= _YEAR_MAX
    )


def is_date_part(fig: Figure) -> bool:
    """A month or day of a date ("6月底", "15日")."""
    return fig.unit in ("月", "日") and float(fig.value).is_integer() and 1 <= fig.value <= 31


def find_years(text: str) -> list[int]:
    return [int(f.value) for f in extract_figures(text) if is_year_like(f)]


def format_value(fig: Figure) -> str:
    value = int(fig.value) if float(fig.value).is_integer() else fig.value
    return f"{value}{fig.unit}"
