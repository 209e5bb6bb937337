"""A 述职 (or an 对照检查) is a first-person account: the writer reports on their own duty."""

from __future__ import annotations

import re

from ..genre import Genre, SectionKind, Severity, resolve
from ..models import Finding


def has_first_person(text: str, genre: Genre | None = None) -> bool:
    return bool(re.search(str(resolve(genre).rubric["voice"]["first_person"]), text))


def voice_findings(draft_text: str, problems_and_causes: str | None, genre: Genre | None = None) -> list[Finding]:
    """Warn when the draft, or its problems and causes, never speak in the first person (我/本人/作为书记)."""
    g = resolve(genre)
    if not has_first_person(draft_text, g):
        return [Finding(check="voice", severity=Severity.WARN, message=g.message("voice_none"))]
    if problems_and_causes is not None and problems_and_causes.strip() and not has_first_person(problems_and_causes, g):
        return [Finding(check="voice", severity=Severity.WARN, message=g.message("voice_problems"),
                        section=g.first_like(SectionKind.PROBLEMS) or SectionKind.PROBLEMS)]
    return []
