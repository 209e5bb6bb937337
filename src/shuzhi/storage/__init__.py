"""Storage: the workspace store, atomic file writes, log set-up."""

from .files import check_target, write_atomic
from .logs import log_file, setup_logging
from .records import (
    CUSTOM_TITLE_META_KEY,
    ImportedLegacyFile,
    LegacyImportReport,
    SectionVersion,
    SessionInfo,
    SkippedLegacyFile,
    StoredSection,
    StoredSession,
    VersionSource,
    section_drafts,
)
from .store import WorkspaceStore

__all__ = [
    "CUSTOM_TITLE_META_KEY",
    "ImportedLegacyFile",
    "LegacyImportReport",
    "SectionVersion",
    "SessionInfo",
    "SkippedLegacyFile",
    "StoredSection",
    "StoredSession",
    "VersionSource",
    "WorkspaceStore",
    "check_target",
    "log_file",
    "section_drafts",
    "setup_logging",
    "write_atomic",
]
