"""A 述职 (or an 对照检查) is a first-person account: the writer reports on their own duty.

Two checks: the whole draft (or its problems and causes) never speaks in the first person; and a
passage of the body told in the third person (他/她, 该同志, "张某同志" as the subject of a clause),
even when other passages say 我. The patterns are the genre's (`rubric.voice`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..datafiles import rules_cached
from ..genre import Genre, SectionKind, Severity, resolve
from ..models import PLACEHOLDER, Finding

# Quoted text is someone's words or a name, not the report's own voice.
_QUOTED_RE = re.compile(r"“[^”\n]*”|\"[^\"\n]*\"|「[^」\n]*」|『[^』\n]*』|‘[^’\n]*’|《[^》\n]*》")
_EVIDENCE_CHARS = 120


def has_first_person(text: str, genre: Genre | None = None) -> bool:
    return bool(re.search(str(resolve(genre).rubric["voice"]["first_person"]), text))


@dataclass(frozen=True)
class _ThirdPerson:
    pattern: re.Pattern[str] | None
    group_words: tuple[str, ...]
    object_words: tuple[str, ...]
    roles: tuple[str, ...]


@rules_cached
def _third_person_rules(genre_name: str) -> _ThirdPerson:
    voice = resolve(genre_name).rubric["voice"]
    pattern = voice.get("third_person")
    return _ThirdPerson(
        re.compile(str(pattern)) if pattern else None,
        tuple(str(w) for w in voice.get("third_person_not") or []),
        tuple(str(w) for w in voice.get("third_person_object_words") or []),
        tuple(str(w) for w in voice.get("third_person_roles") or []),
    )


def _is_writer(hit: str, rules: _ThirdPerson, person: str) -> bool:
    """A named "…同志" that is the writer: a role word, the writer's name or a placeholder in it."""
    name = hit[:-2]
    if any(w in name for w in rules.group_words) or any(hit.endswith(w) for w in rules.group_words):
        return False
    if any(w in name for w in rules.object_words):
        return False
    if not rules.roles:
        return True
    return (any(w in name for w in rules.roles) or PLACEHOLDER in name or bool(re.search(r"[xX]{2,}", name))
            or bool(person) and any(p and p in name for p in person.split()))


def writer_names(notes_text: str, genre: Genre | None = None) -> str:
    """Names the notes give right after a role word ("党总支书记张振华；"): the writer, space-separated."""
    rules = _third_person_rules(resolve(genre).name)
    if not rules.roles:
        return ""
    roles = "|".join(re.escape(r) for r in sorted(rules.roles, key=len, reverse=True))
    found = re.findall(rf"(?:{roles})\s?([\u4e00-\u9fff]{{2,3}})(?=[\s；;，,。、）)\"”]|$)", notes_text, re.MULTILINE)
    return " ".join(dict.fromkeys(found))


def third_person_hits(paragraph: str, genre: Genre | None = None, person: str = "") -> list[str]:
    """The third-person subjects of PARAGRAPH, outside quotes ("支部书记张某同志", "该同志", "他").

    PERSON: the writer's name(s) from the notes, so that "张某同志" alone counts as the writer."""
    g = resolve(genre)
    rules = _third_person_rules(g.name)
    pattern = rules.pattern
    if pattern is None:
        return []
    text = _QUOTED_RE.sub(lambda m: "\u3000" * len(m.group()), paragraph)
    text = g.numbering.enumeration_re.sub(lambda m: "，" * len(m.group()), text)
    hits: list[str] = []
    for m in pattern.finditer(text):
        hit = m.group().lstrip("，。；：！？、 \t\u3000")
        if hit.endswith("同志") and not hit.startswith("该") and not _is_writer(hit, rules, person):
            continue
        if hit and hit not in hits:
            hits.append(hit)
    return hits


def third_person_findings(draft_text: str, section_at: list[tuple[int, int, str]], genre: Genre | None = None,
                          person: str = "") -> list[Finding]:
    """One warning per body paragraph told in the third person, with the paragraph as evidence."""
    g = resolve(genre)
    if "voice_third_person" not in g.rubric["messages"]:
        return []
    body = set(g.body_kinds)
    out: list[Finding] = []
    for start, end, kind in section_at:
        if kind not in body:
            continue
        for paragraph in draft_text[start:end].split("\n"):
            hits = third_person_hits(paragraph, g, person)
            if not hits:
                continue
            passage = paragraph.strip()
            out.append(Finding(
                check="voice",
                severity=Severity.WARN,
                message=g.message("voice_third_person", quoted="”“".join(hits[:3])),
                evidence=passage if len(passage) <= _EVIDENCE_CHARS else passage[:_EVIDENCE_CHARS] + "…",
                section=kind,
            ))
    return out


def voice_findings(draft_text: str, problems_and_causes: str | None, genre: Genre | None = None,
                   section_at: list[tuple[int, int, str]] | None = None, person: str = "") -> list[Finding]:
    """Warn when the draft, or its problems and causes, never speak in the first person (我/本人/作为书记),
    and for each body passage told in the third person (SECTION_AT: (start, end, kind) of the sections;
    PERSON: the writer's name from the notes)."""
    g = resolve(genre)
    out: list[Finding] = []
    if not has_first_person(draft_text, g):
        out.append(Finding(check="voice", severity=Severity.WARN, message=g.message("voice_none")))
    elif problems_and_causes is not None and problems_and_causes.strip() and not has_first_person(problems_and_causes, g):
        out.append(Finding(check="voice", severity=Severity.WARN, message=g.message("voice_problems"),
                           section=g.first_like(SectionKind.PROBLEMS) or SectionKind.PROBLEMS))
    out.extend(third_person_findings(draft_text, section_at or [], g, person))
    return out
