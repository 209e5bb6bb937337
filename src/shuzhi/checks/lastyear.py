"""Checks against last year's report: this year's problems copied from it, and last year's problems
this year's draft never answers. Thresholds and messages: data/rubric.yaml `last_year:`.

- repeat_last_year: a sentence of this year's 存在问题 or 原因 whose wording is last year's
  (most of its character trigrams are in one sentence of last year's problems or causes, or a
  long run is shared). Tolerant of small edits; a shared topic word (理论学习) is not enough.
- unanswered_last_year: a problem of last year's report that nothing in this year's draft answers —
  neither an item of the rectification part that says more than the problem's own words, nor a
  sentence elsewhere that shares the problem's topics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from ..datafiles import load_data
from ..genre import Genre, SectionKind, Severity, resolve
from ..models import PLACEHOLDER, Finding, LastYearProblem, LastYearReport
from .report import join_evidence
from .rubric import split_items, topics


def last_year_rules() -> dict[str, Any]:
    data: dict[str, Any] = dict(load_data("rubric").get("last_year") or {})
    return data


# ------------------------------------------------------------------ wording
def _plain(text: str, g: Genre) -> str:
    """TEXT without numbering labels, placeholders, punctuation and spaces: the wording only."""
    text = text.replace(PLACEHOLDER, "")
    text = g.numbering.enumeration_re.sub("", text)
    return re.sub(r"[\W_]", "", text)


def _trigrams(s: str) -> set[str]:
    return {s[i : i + 3] for i in range(len(s) - 2)}


def _longest_run(a: str, b: str) -> int:
    if not a or not b:
        return 0
    return SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b)).size


def _sentences(text: str, g: Genre) -> list[str]:
    return [s.strip() for line in text.splitlines() for s in g.split_sentences(line) if s.strip()]


@dataclass(frozen=True)
class Repeat:
    this: str  # this year's sentence
    last: str  # the sentence of last year's report it repeats


def repeated_wording(sentence: str, last_sentences: Sequence[str], genre: Genre | None = None) -> str | None:
    """The sentence of LAST_SENTENCES whose wording SENTENCE repeats, None when it repeats none."""
    g = resolve(genre)
    r = last_year_rules()
    plain = _plain(sentence, g)
    if len(plain) < int(r["repeat_short_min_chars"]):
        return None
    grams = _trigrams(plain)
    best: tuple[float, str] | None = None
    for last in last_sentences:
        other = _plain(last, g)
        if not other:
            continue
        run = _longest_run(plain, other)
        if len(plain) < int(r["repeat_min_chars"]):
            hit = plain == other  # a short sentence counts only as one of last year's, whole (not a stock phrase in one)
            share = 1.0 if hit else 0.0
        else:
            share = len(grams & _trigrams(other)) / len(grams) if grams else 0.0
            hit = share >= float(r["repeat_containment"]) or run >= int(r["repeat_min_run"])
        if hit and (best is None or share > best[0]):
            best = (share, last)
    return best[1] if best else None


def _last_sentences(last: LastYearReport, g: Genre) -> list[str]:
    out: list[str] = []
    for p in last.problems:
        out.append(p.title)
        out.extend(_sentences(p.text, g))
    for c in last.causes:
        out.extend(_sentences(c, g))
    return list(dict.fromkeys(s for s in out if s))


def find_repeats(text: str, last: LastYearReport, genre: Genre | None = None) -> list[Repeat]:
    """Sentences of TEXT (this year's problems or causes) that repeat last year's wording."""
    g = resolve(genre)
    pool = _last_sentences(last, g)
    out: list[Repeat] = []
    for sentence in dict.fromkeys(_sentences(text, g)):
        found = repeated_wording(sentence, pool, g)
        if found is not None:
            out.append(Repeat(sentence, found))
    return out


def _quote(text: str, limit: int = 50, genre: Genre | None = None) -> str:
    label = resolve(genre).numbering.enumeration_re.match(text.strip())
    text = (text.strip()[label.end() :] if label else text).strip(" 。；;，,")
    return f"「{text[:limit]}{'…' if len(text) > limit else ''}」"


def repeat_findings(problems_text: str, causes_text: str, last: LastYearReport,
                    genre: Genre | None = None) -> list[Finding]:
    g = resolve(genre)
    r = last_year_rules()
    template = str(r["messages"]["repeat_last_year"])
    source = last.source or "上年度报告"
    out: list[Finding] = []
    for kind, text in ((SectionKind.PROBLEMS, problems_text), (SectionKind.CAUSES, causes_text)):
        if not text.strip():
            continue
        section = g.first_like(kind) or kind
        for rep in find_repeats(text, last, g):
            if len(out) >= int(r["repeat_max_findings"]):
                return out
            message = (template.replace("{source}", source).replace("{this}", _quote(rep.this, genre=g))
                       .replace("{last}", _quote(rep.last, genre=g)))
            out.append(Finding(check="repeat_last_year", severity=Severity.WARN, message=message,
                               evidence=join_evidence([rep.this[:80], rep.last[:80]], " ← 上年度："),
                               section=section))
    return out


# ------------------------------------------------------------------ answering last year's problems
def _weight(a: set[str], b: set[str]) -> float:
    return sum(1.0 if len(w) >= 3 else 0.5 for w in a & b)


def headline_topics(problem: LastYearProblem, genre: Genre | None = None) -> set[str]:
    """What a problem is about: the topic words of its headline."""
    return topics(problem.title or problem.text[:40], genre)


def _core_pairs(problem: LastYearProblem, g: Genre) -> set[str]:
    """Character pairs of the headline's core: the headline without shortfall words and stopwords."""
    r = last_year_rules()
    stop = [str(w) for w in [*(r.get("headline_filler") or ()), *g.rubric["problems"]["topic_stopwords"]]]
    pattern = "|".join(re.escape(w) for w in sorted(stop, key=len, reverse=True) if w)
    title = problem.title.replace(PLACEHOLDER, " ")
    core = re.sub(pattern, " ", title) if pattern else title
    return {pair for part in re.split(r"[\W_]+", core) for pair in (part[i : i + 2] for i in range(len(part) - 1))}


def _core_share(text: str, problem: LastYearProblem, g: Genre) -> float:
    pairs = _core_pairs(problem, g)
    if len(pairs) < 2:
        return 0.0
    plain = _plain(text, g)
    return sum(p in plain for p in pairs) / len(pairs)


def speaks_to(text: str, problem: LastYearProblem, topic_min: float, core_min: float,
              genre: Genre | None = None) -> bool:
    """TEXT is on PROBLEM: it shares TOPIC_MIN of the headline's topics, or CORE_MIN of its core."""
    g = resolve(genre)
    return (_weight(topics(text, g), headline_topics(problem, g)) >= topic_min
            or _core_share(text, problem, g) >= core_min)


def note_answers(note: str, problem: LastYearProblem, genre: Genre | None = None) -> float:
    """How much a note shares with a problem's headline (topic weight; a note holding most of the
    headline's core counts as data/rubric.yaml last_year.note_match_min)."""
    g = resolve(genre)
    r = last_year_rules()
    weight = _weight(topics(note, g), headline_topics(problem, g))
    if _core_share(note, problem, g) >= float(r["note_core_min"]):
        weight = max(weight, float(r["note_match_min"]))
    return weight


def _names(text: str, problem: LastYearProblem, g: Genre) -> bool:
    """TEXT quotes the problem: most of the headline's trigrams are in it."""
    title = _plain(problem.title, g)
    grams = _trigrams(title)
    if not grams:
        return bool(title) and title in _plain(text, g)
    return len(grams & _trigrams(_plain(text, g))) / len(grams) >= float(last_year_rules()["repeat_containment"])


def _beyond_problem(text: str, problem: LastYearProblem, g: Genre) -> str:
    """TEXT without the problem's own words (its headline and sentences), placeholders and filler."""
    r = last_year_rules()
    rest = text
    for own in [problem.title, *_sentences(problem.text, g)]:
        if own:
            rest = rest.replace(own.rstrip(g.punctuation.sentence_ends), "")
    for word in sorted(r.get("address_filler") or (), key=len, reverse=True):
        rest = rest.replace(str(word), "")
    plain = _plain(rest, g)
    title = _plain(problem.title, g)
    if title and len(title) >= 3:  # the headline slightly reworded still is the problem, not the answer
        run = SequenceMatcher(None, plain, title, autojunk=False).find_longest_match(0, len(plain), 0, len(title))
        if run.size >= max(3, int(len(title) * 0.6)):
            plain = plain[: run.a] + plain[run.a + run.size :]
    return plain


def is_addressed(problem: LastYearProblem, rectification_text: str, other_text: str,
                 genre: Genre | None = None) -> bool:
    """Whether this year's draft answers PROBLEM: in its rectification part (an item naming it that
    says more than the problem, or a sentence on its topics), or elsewhere (a sentence sharing much)."""
    g = resolve(genre)
    r = last_year_rules()
    min_chars = int(r["address_min_chars"])
    if rectification_text.strip():
        _, items = split_items(rectification_text, g)
        for item in items or [rectification_text]:
            if _names(item, problem, g):
                if len(_beyond_problem(item, problem, g)) >= min_chars:
                    return True
                continue  # the item names the problem and says nothing more: not answered here
            for sentence in _sentences(item, g):
                if speaks_to(sentence, problem, float(r["address_rectification_min"]),
                             float(r["address_rectification_core_min"]), g) \
                        and len(_beyond_problem(sentence, problem, g)) >= min_chars:
                    return True
    for sentence in _sentences(other_text, g):
        if speaks_to(sentence, problem, float(r["address_elsewhere_min"]), float(r["address_elsewhere_core_min"]), g) \
                and len(_beyond_problem(sentence, problem, g)) >= min_chars:
            return True
    return False


def unanswered_findings(rectification_text: str, other_text: str, last: LastYearReport,
                        genre: Genre | None = None) -> list[Finding]:
    g = resolve(genre)
    missing = [p for p in last.problems if not is_addressed(p, rectification_text, other_text, g)]
    if not missing:
        return []
    template = str(last_year_rules()["messages"]["unanswered_last_year"])
    message = (template.replace("{source}", last.source or "上年度报告")
               .replace("{problems}", "".join(_quote(p.title, 40) for p in missing)))
    return [Finding(check="unanswered_last_year", severity=Severity.WARN, message=message,
                    evidence=join_evidence([p.title for p in missing]),
                    section=g.first_like(SectionKind.RECTIFICATION) or SectionKind.RECTIFICATION)]
