"""Last year's report → the problems (causes, measures) this year's report must answer.

The file goes through the same load → clean → parse as an example report; its 存在问题 become one
`LastYearProblem` each: a sub-heading with its paragraph ("（一）落实党内政治生活制度有差距"), or a
labelled point of the section ("一是政治理论学习不够主动、深入。……"). An unlabelled lead-in
("虽然做了一些工作，但仍存在不足：") is not a problem.
"""

from __future__ import annotations

from pathlib import Path

from ..config import FileLimits
from ..errors import InputRejected
from ..genre import Genre, SectionKind, resolve
from ..models import LastYearProblem, LastYearReport, ParsedDocument, Section
from .parse import parse_file

_TITLE_MAX_CHARS = 40  # a first sentence longer than this is cut at its first comma for the headline


def _headline(text: str, g: Genre) -> str:
    """The first sentence of a point, without its end mark (cut at a comma when it runs long)."""
    first = (g.split_sentences(text) or [text])[0].strip()
    first = first.rstrip(g.punctuation.sentence_ends + g.punctuation.colons).strip()
    if len(first) > _TITLE_MAX_CHARS:
        for comma in g.punctuation.commas:
            at = first.find(comma)
            if 0 < at <= _TITLE_MAX_CHARS:
                return first[:at]
        return first[:_TITLE_MAX_CHARS]
    return first


def _point_items(sections: list[Section], g: Genre) -> list[LastYearProblem]:
    points = [p for s in sections for p in s.points if p.text.strip()]
    labelled = [p for p in points if p.label]
    return [LastYearProblem(_headline(p.text, g), p.text.strip()) for p in labelled or points]


def _items(sections: list[Section], g: Genre) -> list[LastYearProblem]:
    """One item per sub-heading (level ≥ 2) when the part has sub-headings, else per labelled point."""
    subs = [s for s in sections if s.level >= 2 and s.heading]
    if subs:
        return [LastYearProblem(s.heading, f"{s.heading}。{s.text}".strip() if s.text else s.heading) for s in subs]
    return _point_items(sections, g)


def _cause_texts(sections: list[Section], g: Genre) -> tuple[str, ...]:
    """Causes: the labelled points ("一是思想认识不到位……"); their heading is only a lead-in."""
    labelled = [p.text.strip() for s in sections for p in s.points if p.label and p.text.strip()]
    return tuple(labelled) if labelled else tuple(p.text for p in _items(sections, g))


def _texts(sections: list[Section], g: Genre) -> tuple[str, ...]:
    return tuple(p.text for p in _items(sections, g))


def last_year_from_document(doc: ParsedDocument, genre: Genre | None = None) -> LastYearReport:
    """The problems, causes and measures of a parsed report. InputRejected (Chinese) without problems."""
    g = resolve(genre)

    def like(role: SectionKind) -> list[Section]:
        kinds = {str(role), *g.kinds_like(role)}
        return [s for s in doc.sections if s.kind in kinds]

    problems = tuple(_items(like(SectionKind.PROBLEMS), g))
    name = Path(doc.path).name
    if not problems:
        raise InputRejected(
            f"「{name}」中没有找到“存在问题”部分（如“二、存在的问题及原因”下的“一是……二是……”），"
            "无法列出上年度的问题。请确认给的是上一年度的述职报告，或在文中补上问题部分的标题后再试。",
            f"no problems section in last year's report {doc.path}",
        )
    return LastYearReport(year=doc.year, problems=problems, causes=_cause_texts(like(SectionKind.CAUSES), g),
                          next_steps=_texts(like(SectionKind.NEXT_STEPS), g), source=name)


def read_last_year(path: Path | str, limits: FileLimits | None = None, genre: Genre | None = None) -> LastYearReport:
    """Last year's report from a .txt/.md/.docx file (InputRejected with a Chinese message otherwise)."""
    return last_year_from_document(parse_file(Path(path), limits, genre=resolve(genre)), genre)
