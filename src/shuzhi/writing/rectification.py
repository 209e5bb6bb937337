"""The plan's rectification part when last year's report is given: each of last year's problems,
with the notes that speak to its rectification, and a visible gap where the notes are silent.

Facts are only the user's notes: the notes filed under rectification (整改…, 去年问题…), and notes of
work done that clearly answer one of last year's problems (they share much with its headline:
data/rubric.yaml `last_year.note_match_min`, kept high). Last year's problems travel as context
(what the part answers, not facts); a problem no note answers gets the `gap_line` with 〔X〕.
"""

from __future__ import annotations

from ..checks.lastyear import last_year_rules, note_answers
from ..genre import Genre, KindSpec, SectionKind
from ..models import LastYearReport, NoteItem, ParsedNotes, PlanSection


def _best_problem(note: str, last: LastYearReport, g: Genre) -> tuple[int, float]:
    scores = [note_answers(note, p, g) for p in last.problems]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best, scores[best]


def rectification_section(spec: KindSpec, notes: ParsedNotes, last: LastYearReport, g: Genre) -> PlanSection:
    """The rectification section: context = last year's problems (headlines), notes = the notes
    answering each, in the problems' order, then any other rectification notes; gap lines for the rest."""
    r = last_year_rules()
    enough = float(r["note_match_min"])
    by_problem: dict[int, list[str]] = {i: [] for i in range(len(last.problems))}
    loose: list[str] = []
    own: list[NoteItem] = notes.items_for(spec.kind)
    for item in own:  # the user filed it as rectification: it goes in, under the problem it fits best
        best, score = _best_problem(item.text, last, g)
        (by_problem[best] if score > 0 else loose).append(item.text)
    for item in notes.items:
        if g.role(item.section) != SectionKind.ACHIEVEMENTS:
            continue
        best, score = _best_problem(item.text, last, g)
        if score >= enough:
            by_problem[best].append(item.text)
    facts: list[str] = []
    template = str(r["gap_line"])
    for i, problem in enumerate(last.problems):
        title = problem.title.replace("“", "‘").replace("”", "’")  # quoted inside “…” of the line
        facts.extend(by_problem[i] or [template.replace("{problem}", title)])
    facts.extend(loose)
    context = tuple(p.title for p in last.problems)
    return PlanSection(key=str(spec.kind), kind=spec.kind, heading=spec.heading,
                       notes=tuple(dict.fromkeys(facts)), context=context, level=max(spec.level, 1))
