"""The one core API: a `Workspace` opened on a data directory offers every job as a method.

The command line (`shuzhi.cli`) and the Streamlit pages (`app.py`, `ui/`) call this module and
nothing else of `shuzhi`; everything they need (result types, errors, enums) is re-exported here.

Settings are resolved once, when the workspace opens, and passed down to every stage; the rules
folder and the prompt folder are handed to the data loaders at the same moment. Collaborators
(the corpus index, the chat client, the store) are opened lazily, once, and can be injected.
"""

from __future__ import annotations

from . import __version__
from .checks import CheckReport, format_report_zh
from .config import ModelField, ModelOverrides, Settings, SettingSource, load_settings
from .corpus.textsafe import strip_control_chars
from .errors import IndexUnavailable, InputRejected, LLMError, ShuzhiError
from .export import (
    ReportDocument,
)
from .genre import Genre, GenreInfo
from .index import IndexStats
from .index.documents import (
    CorpusDocument,
    CorpusRemoval,
    CorpusSection,
    CorpusSource,
    CorpusUploadReport,
    UploadResult,
    UploadStatus,
)
from .kinds import SectionKind, Severity
from .llm import LLMConfig, ProviderPreset, load_presets
from .models import (
    SECTION_KINDS,
    Chunk,
    Citation,
    DraftEvents,
    Finding,
    Hit,
    IndexReport,
    LastYearProblem,
    LastYearReport,
    ParsedDocument,
    ParsedNotes,
    Plan,
    PlanSection,
    SearchFilters,
    SectionDraft,
    TextEmbedder,
)
from .storage import (
    SectionVersion,
    SessionInfo,
    StoredSection,
    StoredSession,
    VersionSource,
)
from .workspace import (
    EXAMPLES_DIR,
    NOT_ADMIN_MESSAGE,
    ModelSetting,
    ModelSettingsView,
    ModelStatus,
    Workspace,
    user_folder_name,
)
from .writing.draft import (
    MISSING_MATERIAL_TEXT,
    NO_MODEL_MESSAGE,
    SectionJob,
)
from .writing.plan import (
    kind_name,
    plan_from_json,
    plan_to_json,
)
from .writing.revise import ReviseAction
from .writing.rewrite import DiffPair, RewriteResult
from .writing.runner import DraftOutcome

__all__ = [
    "EXAMPLES_DIR",
    "MISSING_MATERIAL_TEXT",
    "NOT_ADMIN_MESSAGE",
    "NO_MODEL_MESSAGE",
    "SECTION_KINDS",
    "CheckReport",
    "Chunk",
    "CorpusDocument",
    "CorpusRemoval",
    "CorpusSection",
    "CorpusSource",
    "CorpusUploadReport",
    "Citation",
    "DiffPair",
    "DraftEvents",
    "DraftOutcome",
    "Finding",
    "Genre",
    "GenreInfo",
    "Hit",
    "IndexReport",
    "IndexStats",
    "IndexUnavailable",
    "InputRejected",
    "LLMConfig",
    "LLMError",
    "LastYearProblem",
    "LastYearReport",
    "ModelField",
    "ModelOverrides",
    "ModelSetting",
    "ModelSettingsView",
    "ModelStatus",
    "ParsedDocument",
    "ParsedNotes",
    "Plan",
    "PlanSection",
    "ProviderPreset",
    "ReportDocument",
    "ReviseAction",
    "RewriteResult",
    "SearchFilters",
    "SectionDraft",
    "SectionJob",
    "SectionKind",
    "SectionVersion",
    "SessionInfo",
    "SettingSource",
    "Settings",
    "Severity",
    "ShuzhiError",
    "StoredSection",
    "StoredSession",
    "TextEmbedder",
    "UploadResult",
    "UploadStatus",
    "VersionSource",
    "Workspace",
    "__version__",
    "format_report_zh",
    "kind_name",
    "load_presets",
    "load_settings",
    "plan_from_json",
    "plan_to_json",
    "strip_control_chars",
    "user_folder_name",
]
