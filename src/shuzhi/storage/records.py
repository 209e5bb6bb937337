"""What the workspace store hands back: frozen dataclasses and enums, never rows or dicts of rows."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..models import LastYearReport, Plan, SectionDraft

LAST_YEAR_META_KEY = "last_year"  # the session meta's field holding `LastYearReport.to_dict()`
CUSTOM_TITLE_META_KEY = "custom_title"  # the session meta's field holding a title the user gave (改名)


class VersionSource(StrEnum):
    """Where a section version came from."""

    GENERATED = "generated"  # drafted by the model
    EDITED = "edited"  # typed by the user
    REWRITTEN = "rewritten"  # a rewrite of the section the user accepted
    REGENERATED = "regenerated"  # drafted again (a retry of a failed section, or on request)
    IMPORTED = "imported"  # read from a legacy JSON draft file
    REVISED = "revised"  # polished, expanded or shortened by the model on request (润色/扩写/缩写)
    RESTORED = "restored"  # an earlier version brought back by the user (itself undoable)


@dataclass(frozen=True)
class SectionVersion:
    """One text of a section. `complete`/`error`/`citations` matter for model output; an edit carries
    the citations of the text it changed."""

    source: VersionSource
    text: str
    at: str  # ISO timestamp
    complete: bool = True
    error: str = ""  # Chinese message when the section failed
    citations: tuple[str, ...] = ()  # chunk ids given to the model as exemplars


@dataclass(frozen=True)
class StoredSection:
    """A section of a session with its versions, oldest first; the latest one is the current text."""

    key: str  # the plan section key: "opening", "achievements.1" …
    kind: str
    heading: str
    position: int  # order in the report (the plan's order; sections outside the plan follow it)
    versions: tuple[SectionVersion, ...] = ()

    @property
    def latest(self) -> SectionVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def text(self) -> str:
        return self.versions[-1].text if self.versions else ""

    @property
    def complete(self) -> bool:
        """False for a section never written and for one whose latest version failed or stopped early."""
        return self.versions[-1].complete if self.versions else False

    @property
    def error(self) -> str:
        return self.versions[-1].error if self.versions else ""

    @property
    def citations(self) -> tuple[str, ...]:
        return self.versions[-1].citations if self.versions else ()

    def to_draft(self) -> SectionDraft:
        """The current text as the drafting code's `SectionDraft`."""
        return SectionDraft(key=self.key, kind=self.kind, heading=self.heading, text=self.text,
                            citations=self.citations, error=self.error, complete=self.complete)


@dataclass(frozen=True)
class StoredSession:
    """A whole session read back: notes, meta, plan, sections in report order, the latest check."""

    id: str
    title: str
    genre: str
    notes: str
    meta: dict[str, Any]  # small JSON object: org, person, role, year …
    plan: Plan | None
    sections: tuple[StoredSection, ...]
    check: dict[str, Any] | None  # `CheckReport.to_dict()` of the latest check, None before any
    created: str
    updated: str
    check_at: str = ""  # when `check` was saved

    def section(self, key: str) -> StoredSection | None:
        return next((s for s in self.sections if s.key == key), None)

    @property
    def last_year(self) -> LastYearReport | None:
        """Last year's report the session was drafted against (kept in its meta), None without one."""
        raw = self.meta.get(LAST_YEAR_META_KEY)
        return LastYearReport.from_dict(raw) if isinstance(raw, dict) else None


def section_drafts(session: StoredSession) -> tuple[SectionDraft, ...]:
    """The session's written sections (those with at least one version) as `SectionDraft`s, in report
    order, so drafting code (retry, export, checks) can take them as they are."""
    return tuple(s.to_draft() for s in session.sections if s.versions)


@dataclass(frozen=True)
class SessionInfo:
    """One line of the session list."""

    id: str
    title: str
    genre: str
    updated: str
    created: str
    preview: str  # the start of the first written section, else of the notes
    org: str = ""  # 单位: the session's meta, else its plan's
    year: int | None = None  # 年度: the session's meta, else its plan's
    custom_title: str = ""  # a title the user gave the session (改名), "" when never renamed


@dataclass(frozen=True)
class ImportedLegacyFile:
    name: str  # file name under the legacy drafts folder
    session_id: str


@dataclass(frozen=True)
class SkippedLegacyFile:
    name: str
    message: str  # Chinese: why the file could not be imported


@dataclass(frozen=True)
class LegacyImportReport:
    """What the one-time import of `<data_dir>/drafts/*.json` did."""

    at: str
    folder: str
    imported: tuple[ImportedLegacyFile, ...] = ()
    skipped: tuple[SkippedLegacyFile, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"at": self.at, "folder": self.folder,
                "imported": [{"name": f.name, "session_id": f.session_id} for f in self.imported],
                "skipped": [{"name": f.name, "message": f.message} for f in self.skipped]}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LegacyImportReport:
        return cls(at=str(raw.get("at", "")), folder=str(raw.get("folder", "")),
                   imported=tuple(ImportedLegacyFile(str(f["name"]), str(f["session_id"]))
                                  for f in raw.get("imported", [])),
                   skipped=tuple(SkippedLegacyFile(str(f["name"]), str(f["message"]))
                                 for f in raw.get("skipped", [])))
