"""The built-in section kinds and the finding severities, as string enums.

A `StrEnum` member equals its string value ("problems" == SectionKind.PROBLEMS), so JSON, the
CLI and existing tests keep working with plain strings. A genre file may declare further kinds
(plain strings), each behaving like one of these (shuzhi.genre); `Kind` is the type of a field
that holds either.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TypeAlias


class SectionKind(StrEnum):
    TITLE = "title"
    OPENING = "opening"
    ACHIEVEMENTS = "achievements"
    RECTIFICATION = "rectification"
    PROBLEMS = "problems"
    CAUSES = "causes"
    NEXT_STEPS = "next_steps"
    CLOSING = "closing"


class Severity(StrEnum):
    BLOCK = "block"  # the draft must not be used as is (invented figure, ad, copied text)
    WARN = "warn"  # should be revised
    INFO = "info"  # for information (a check was skipped)


# A built-in SectionKind or a kind a genre file adds (a plain string).
Kind: TypeAlias = SectionKind | str

BUILTIN_KINDS: tuple[SectionKind, ...] = tuple(SectionKind)
_BUILTIN_VALUES = frozenset(k.value for k in SectionKind)


def is_builtin_kind(kind: str) -> bool:
    """True for one of the built-in kinds ("problems"), False for a kind a genre adds."""
    return kind in _BUILTIN_VALUES
