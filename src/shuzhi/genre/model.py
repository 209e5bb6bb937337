"""A loaded genre: typed, frozen, with its regexes compiled (built by genre.load)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..kinds import Kind, SectionKind, is_builtin_kind
from .numbering import NumberingGrammar
from .text import Punctuation, split_sentences


@dataclass(frozen=True)
class Aspect:
    """One prescribed aspect of a problems section ("在学习贯彻党的创新理论方面")."""

    name: str
    heading: str
    keywords: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SubItems:
    """How the plan splits a section into sub-items: by theme (data/themes.yaml) or by aspect."""

    by: str  # "theme" | "aspect"
    min: int
    max: int
    headings: Mapping[str, str]  # theme → default sub-item heading ("" = the rest)
    order: tuple[str, ...]  # canonical order of themes
    affinity: Mapping[str, str]  # theme → the related theme a small group joins
    aspects: tuple[Aspect, ...]
    aspects_by_year: Mapping[int, tuple[Aspect, ...]]
    required: bool  # every aspect is a sub-item, with notes or not
    other_heading: str  # the sub-item of notes no aspect claims

    def aspects_for(self, year: int | None) -> tuple[Aspect, ...]:
        """The aspects prescribed for YEAR (the default set when the year has none)."""
        return self.aspects_by_year.get(year, self.aspects) if year is not None else self.aspects


@dataclass(frozen=True)
class LengthRule:
    """How long a section is written, from how many facts it has: base + per_fact × facts, within min..max."""

    base: int
    per_fact: int
    min: int
    max: int

    def target(self, facts: int) -> int:
        """The target in characters, rounded to tens (a number the model can aim at)."""
        raw = max(self.min, min(self.max, self.base + self.per_fact * max(facts, 0)))
        return max(10, int(round(raw / 10.0)) * 10)


@dataclass(frozen=True, eq=False)
class KindSpec:
    """One section kind of a genre."""

    kind: Kind
    like: SectionKind  # the built-in role it behaves like (itself for a built-in kind)
    name: str  # Chinese name, in prompts and messages
    heading: str  # default heading in plans and exports ("" for title, opening, closing)
    level: int  # 0 no heading, 1 一、…, 2 （一）… under the previous level 1
    body: bool  # notes are filed under it
    optional: bool  # only when the notes have something for it; not required by the checks
    answers: str  # the kind whose notes it answers (context), "" when none
    under: str  # exported inside that kind's level-1 part, "" when it has its own
    match_priority: int | None  # order in which heading patterns are tried (None: first)
    heading_patterns: tuple[re.Pattern[str], ...]
    fallback_words: tuple[str, ...]
    note_words: tuple[str, ...]
    sub_items: SubItems | None
    guide: str  # "{length}" in it stands for the section's length target
    length: LengthRule | None = None  # None: the guide says how long

    @property
    def builtin(self) -> bool:
        return is_builtin_kind(self.kind)

    @property
    def has_body(self) -> bool:
        return self.body

    @property
    def facts_only(self) -> bool:
        """Written only from its own notes: without any it has nothing true to say."""
        return self.body and not self.answers


@dataclass(frozen=True, eq=False)
class Genre:
    """Everything that makes a report of this genre what it is (genres/<name>.yaml)."""

    name: str
    title: str  # 抓基层党建工作述职报告
    short_title: str  # 述职报告, in messages
    description: str
    kinds: tuple[KindSpec, ...]  # in document order
    numbering: NumberingGrammar
    punctuation: Punctuation
    corpus_kinds: tuple[str, ...] | None  # None: the corpus is of this genre; else the kinds it may borrow
    title_words: tuple[str, ...]
    title_max_chars: int
    title_template: str
    default_role: str
    title_fields: Mapping[str, tuple[str, tuple[str, ...]]]  # field → (default, phrases looked for in the notes)
    closing_patterns: tuple[re.Pattern[str], ...]
    closing_max_chars: int
    causes_leads: tuple[re.Pattern[str], ...]
    default_note_kind: str
    counted_note_kind: str
    person_label: str  # how the opening facts name the writer ("述职人")
    voice: str
    rubric: Mapping[str, Any]  # problems (merged with data/rubric.yaml), voice, structure, messages
    sources: tuple[str, ...]  # the files it was read from

    # ---------------------------------------------------------------- kinds
    @property
    def kind_keys(self) -> tuple[str, ...]:
        """The kinds, in document order."""
        return tuple(str(k.kind) for k in self.kinds)

    def spec(self, kind: str) -> KindSpec | None:
        return next((k for k in self.kinds if k.kind == kind), None)

    def has_kind(self, kind: str) -> bool:
        return self.spec(kind) is not None

    def role(self, kind: str) -> SectionKind | None:
        """The built-in kind KIND behaves like (None when the genre does not know it)."""
        found = self.spec(kind)
        if found is not None:
            return found.like
        return SectionKind(kind) if is_builtin_kind(kind) else None

    def kinds_like(self, role: SectionKind) -> tuple[str, ...]:
        """The kinds that behave like ROLE (the built-in one and any the genre adds), in order."""
        return tuple(str(k.kind) for k in self.kinds if k.like == role)

    def first_like(self, role: SectionKind) -> str | None:
        found = self.kinds_like(role)
        return found[0] if found else None

    def kind_name(self, kind: str) -> str:
        found = self.spec(kind)
        return found.name if found is not None else str(kind)

    def heading(self, kind: str) -> str:
        found = self.spec(kind)
        return found.heading if found is not None else ""

    def guide(self, kind: str, facts: int | None = None) -> str:
        """How to write KIND; with FACTS (the section's count of facts), "{length}" becomes its length target."""
        found = self.spec(kind)
        if found is None:
            return ""
        target = self.target_length(kind, facts) if facts is not None else None
        return found.guide.replace("{length}", str(target)) if target is not None else found.guide

    def target_length(self, kind: str, facts: int) -> int | None:
        """Characters to aim at for a section of KIND with FACTS facts (`kinds.<kind>.length`), None when unset."""
        found = self.spec(kind)
        return found.length.target(facts) if found is not None and found.length is not None else None

    @property
    def body_kinds(self) -> tuple[str, ...]:
        """Kinds notes are filed under."""
        return tuple(str(k.kind) for k in self.kinds if k.body)

    @property
    def required_kinds(self) -> tuple[str, ...]:
        """Kinds a complete report has (all but the optional ones)."""
        return tuple(str(k.kind) for k in self.kinds if not k.optional)

    def classify_heading(self, text: str) -> str | None:
        """The kind whose heading patterns match TEXT (a heading without its label), or None."""
        for spec in self.match_order():
            if any(p.search(text) for p in spec.heading_patterns):
                return str(spec.kind)
        return None

    def match_order(self) -> list[KindSpec]:
        """Kinds in the order their heading patterns and fallback words are tried."""
        position = {k.kind: i for i, k in enumerate(self.kinds)}
        return sorted(self.kinds, key=lambda k: (-1 if k.match_priority is None else k.match_priority, position[k.kind]))

    def note_kind(self, heading: str) -> str | None:
        """The body kind a notes heading or marker announces by the genre's own words ("## 对照检查")."""
        for spec in self.kinds:
            if spec.body and any(w in heading for w in spec.note_words):
                return str(spec.kind)
        return None

    # ---------------------------------------------------------------- corpus
    @property
    def uses_corpus(self) -> bool:
        return self.corpus_kinds is None or bool(self.corpus_kinds)

    def borrows(self, kind: str) -> bool:
        """Whether example passages of KIND (by its role) may come from the corpus."""
        if self.corpus_kinds is None:
            return True
        role = self.role(kind)
        return kind in self.corpus_kinds or (role is not None and role in self.corpus_kinds)

    # ---------------------------------------------------------------- text
    @property
    def sentence_ends(self) -> str:
        return self.punctuation.sentence_ends

    def split_sentences(self, text: str, ends: str | None = None) -> list[str]:
        """Sentences of TEXT (cut after the genre's sentence ends, or ENDS), never inside quotes."""
        return split_sentences(text, self.punctuation.sentence_ends if ends is None else ends)

    def message(self, key: str, **values: object) -> str:
        """An advice text of the rubric (genre file `rubric.messages`), with {placeholders} filled."""
        template = str(self.rubric["messages"][key])
        for name, value in values.items():
            template = template.replace("{" + name + "}", str(value))
        return template
