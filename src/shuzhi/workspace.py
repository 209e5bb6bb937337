"""The Workspace: every job of shuzhi on one data directory (see shuzhi.api for the public names)."""


from __future__ import annotations

import hashlib
import logging
import re
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .checks import CheckReport, run_checks
from .config import (
    MODEL_SETTING_NAMES,
    REPO_ROOT,
    ModelField,
    ModelOverrides,
    Settings,
    SettingSource,
    load_settings,
    setting_source,
)
from .corpus.lastyear import read_last_year
from .corpus.load import load_file
from .corpus.parse import parse_file, parse_text
from .datafiles import configure_rules, load_data
from .drafts_io import blocks_to_markdown, joined_sections, split_rewrite
from .errors import InputRejected, LLMError, ShuzhiError
from .export import (
    assemble_report,
    export_docx,
    export_markdown,
    markdown_to_report,
    report_to_html,
    report_to_markdown,
)
from .genre import Genre, GenreInfo, list_genres, load_genre, unfinished_markers
from .index import CorpusIndex, IndexStats
from .index.documents import (
    CorpusDocument,
    CorpusUploadReport,
    add_files,
    list_documents,
    rebuild,
    remove_document,
)
from .kinds import SectionKind
from .llm import LLMConfig, apply_model_overrides, load_presets, resolve_llm_config
from .models import (
    Chunk,
    Citation,
    DraftEvents,
    Hit,
    IndexReport,
    LastYearReport,
    ParsedDocument,
    ParsedNotes,
    Plan,
    PlanSection,
    SearchFilters,
    SectionDraft,
    TextEmbedder,
)
from .notes import file_line, parse_notes, similarity_classifier, similarity_themer
from .storage import (
    CUSTOM_TITLE_META_KEY,
    SessionInfo,
    StoredSession,
    VersionSource,
    WorkspaceStore,
    log_file,
    setup_logging,
    write_atomic,
)
from .writing.draft import (
    NO_MODEL_MESSAGE,
    DraftStopped,
    SectionJob,
    exemplar_queries,
    iter_jobs,
    prepare_jobs,
    section_facts,
    stopped,
    stream_model,
    tidy_model_text,
    with_request,
)
from .writing.plan import (
    build_plan,
    drafted_sections,
    excluded_reason,
    include_line,
    plan_add_section,
    plan_edit_section,
    plan_fact_lines,
    plan_move_fact,
    plan_move_section,
    plan_remove_section,
    plan_warnings,
)
from .writing.prompts import configure_prompts
from .writing.revise import (
    ReviseAction,
    added_figures,
    build_revise_messages,
    dropped_figures,
    regenerate_presets,
    revise_label,
    revise_warnings,
    skeleton_marker,
)
from .writing.rewrite import RewriteResult, rewrite_section
from .writing.runner import DraftOutcome, SessionDrafting, jobs_to_redo, session_drafts

if TYPE_CHECKING:
    from .llm.client import ChatClient

log = logging.getLogger(__name__)
_CLIENTS_LOCK = threading.Lock()

EXAMPLES_DIR = REPO_ROOT / "examples"
_HASHED_NAME = re.compile(r"^(?:\d+_)?[0-9a-f]{8,}$", re.I)  # corpus files named by content hash

# ------------------------------------------------------------------ several users (SHUZHI_MULTI_USER)
USERS_DIR_NAME = "users"  # <data_dir>/users/<user_folder_name(id)>/workspace.sqlite3
USER_STORE_NAME = "workspace.sqlite3"
MAX_USER_ID_CHARS = 256
_USER_STORES_KEPT = 256  # open user stores remembered per process (an evicted one closes when unused)
_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9@._-]+")
NOT_ADMIN_MESSAGE = ("范文库由管理员统一维护，您没有修改权限：可以浏览和检索范文，但不能上传、删除或重新建立索引。"
                     "如需加入范文，请联系管理员（SHUZHI_ADMINS 中列出的用户）。")


def clean_user_id(user_id: str) -> str:
    """A user's identity as kept (surrounding spaces dropped); a Chinese ShuzhiError when it cannot be one."""
    ident = str(user_id or "").strip()
    if not ident:
        raise ShuzhiError("无法识别当前用户，请重新打开页面或重新登录。", "empty user id")
    if len(ident) > MAX_USER_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in ident):
        raise ShuzhiError("无法识别当前用户（用户标识过长或含有控制字符），请重新打开页面或重新登录。",
                          f"unusable user id ({len(ident)} chars)")
    return ident


def user_folder_name(user_id: str) -> str:
    """The one folder name (never a path: no separator, never "." or "..") for a user's identity.

    A readable part (letters, digits, @ . _ - of the identity, at most 40) and the first 16 hex digits of
    the identity's SHA-256, so "a/b" and "a_b" get different folders and "../x" stays inside users/.
    """
    ident = clean_user_id(user_id)
    slug = _SLUG_UNSAFE.sub("_", ident)[:40].strip("._-") or "user"
    return f"{slug}-{hashlib.sha256(ident.encode('utf-8')).hexdigest()[:16]}"


def admin_ids(settings: Settings) -> frozenset[str]:
    """SHUZHI_ADMINS as identities compared without case."""
    return frozenset(a.strip().casefold() for a in settings.admins.split(",") if a.strip())


def may_change_corpus(settings: Settings, user_id: str | None) -> bool:
    """Whether a workspace may change the shared corpus: always without a user (one person, the command
    line, the app's own start-up) or with multi-user off; with it on, only an identity in SHUZHI_ADMINS."""
    if user_id is None or not settings.multi_user:
        return True
    return user_id.strip().casefold() in admin_ids(settings)


class _LazyStore:
    """A workspace's store, opened on first use (so a failure to open it is met where the store is used, and a
    workspace that never needs it does not create it) and shared by the workspaces derived from it."""

    def __init__(self, store: WorkspaceStore | None, opener: Callable[[], WorkspaceStore]) -> None:
        self._lock = threading.Lock()
        self._store = store
        self._opener = opener

    def get(self) -> WorkspaceStore:
        with self._lock:
            if self._store is None:
                self._store = self._opener()
            return self._store


class _UserStores:
    """The open stores of the users, shared by every workspace derived from one base (one per process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: OrderedDict[Path, WorkspaceStore] = OrderedDict()

    def get(self, path: Path) -> WorkspaceStore:
        with self._lock:
            store = self._stores.get(path)
            if store is None:
                store = WorkspaceStore(path)
                self._stores[path] = store
                while len(self._stores) > _USER_STORES_KEPT:
                    # Not closed here: a drafting thread may still hold it; the connection closes with its last user.
                    self._stores.popitem(last=False)
            self._stores.move_to_end(path)
            return store


@dataclass(frozen=True)
class ModelStatus:
    """Whether a model can be called, and if not, why (Chinese)."""

    configured: bool
    model: str = ""
    display_url: str = ""
    error: str = ""  # a broken configuration (unknown preset, URL without a model …)


@dataclass(frozen=True)
class ModelSetting:
    """One model setting as a front end shows it: its value and where the value came from.

    For the key, `value` is always "" and `is_set` tells whether there is one: the key itself is never shown.
    """

    field: ModelField
    value: str | float | int
    source: SettingSource
    is_set: bool = True

    @property
    def shown(self) -> str:
        if self.field is ModelField.API_KEY:
            return "已设置" if self.is_set else "未设置"
        return str(self.value)


@dataclass(frozen=True)
class ModelSettingsView:
    """Every model setting in use, with its source, and whether a model can be called."""

    settings: tuple[ModelSetting, ...]
    status: ModelStatus
    session_overrides: bool  # True when this session has its own model settings

    def get(self, name: ModelField) -> ModelSetting:
        return next(s for s in self.settings if s.field is name)


class Workspace:
    """Every job of shuzhi on one data directory. Thread-safe for the app's worker threads."""

    def __init__(self, settings: Settings | None = None, *, index: CorpusIndex | None = None,
                 client: ChatClient | None = None, store: WorkspaceStore | None = None,
                 clients: dict[LLMConfig, ChatClient] | None = None) -> None:
        self.settings = settings if settings is not None else load_settings()
        configure_rules(self.settings.user_rules_dir)
        configure_prompts(self.settings.prompts_dir)
        self._lock = threading.RLock()
        self._index = index
        self._client = client
        self._clients: dict[LLMConfig, ChatClient] = clients if clients is not None else {}
        settings_now = self.settings
        self._store = _LazyStore(store, lambda: WorkspaceStore(settings_now.store_path,
                                                               legacy_dir=settings_now.drafts_dir))
        self._startup_settings = self.settings  # before any session's model settings (`with_model`)
        self._overrides = ModelOverrides()
        self._user_id: str | None = None  # None: the one person of a single-user data dir (or the command line)
        self._user_stores = _UserStores()

    @classmethod
    def open(cls, data_dir: Path | str | None = None, **overrides: Any) -> Workspace:
        """The workspace for the environment's settings (and .env), optionally on another data dir."""
        if data_dir is not None:
            overrides["data_dir"] = Path(data_dir)
        return cls(load_settings(**overrides))

    def with_settings(self, settings: Settings) -> Workspace:
        """A workspace with other settings (e.g. a session's own model) sharing this one's index and store.

        The data directory must stay the same: the index and the store belong to it.
        """
        if settings.data_dir != self.settings.data_dir:
            fresh = Workspace(settings)
            return fresh.for_user(self._user_id) if self._user_id is not None else fresh
        workspace = Workspace(settings, index=self.corpus_index, clients=self._clients)
        workspace._store = self._store  # opened when first used, by whichever workspace needs it
        workspace._user_id = self._user_id
        workspace._user_stores = self._user_stores
        return workspace

    # ------------------------------------------------------------ users (SHUZHI_MULTI_USER)
    def for_user(self, user_id: str) -> Workspace:
        """The workspace of one user: the same settings, corpus index and embedding model as this one, but
        the user's own store, `<data_dir>/users/<user_folder_name(user_id)>/workspace.sqlite3` (opened once
        per process). Corpus changes are refused unless the user may make them (`is_admin`).
        A Chinese ShuzhiError for an unusable identity (empty, too long, control characters)."""
        ident = clean_user_id(user_id)
        path, stores = self.user_dir(ident) / USER_STORE_NAME, self._user_stores
        workspace = Workspace(self.settings, index=self.corpus_index, clients=self._clients)
        workspace._store = _LazyStore(None, lambda: stores.get(path))  # opened (once per process) when first used
        workspace._user_id = ident
        workspace._user_stores = self._user_stores
        workspace._startup_settings = self._startup_settings
        workspace._overrides = self._overrides
        return workspace

    def user_dir(self, user_id: str) -> Path:
        """The folder of a user's own files: always directly inside `<data_dir>/users/`."""
        return self.settings.data_dir / USERS_DIR_NAME / user_folder_name(user_id)

    @property
    def user_id(self) -> str | None:
        """The user this workspace belongs to; None for the single-user workspace (and the command line)."""
        return self._user_id

    @property
    def is_admin(self) -> bool:
        """Whether this workspace may change the shared corpus (upload, remove, re-index); see `may_change_corpus`."""
        return may_change_corpus(self.settings, self._user_id)

    def _require_admin(self, action: str) -> None:
        if not self.is_admin:
            raise ShuzhiError(NOT_ADMIN_MESSAGE, f"corpus change refused ({action}) for non-admin user {self._user_id!r}")

    def with_model(self, overrides: ModelOverrides) -> Workspace:
        """A workspace using one session's model settings over the settings it started with, sharing
        this one's index and store. Nothing of OVERRIDES is written anywhere (the key stays in memory)."""
        base = self._startup_settings
        workspace = self.with_settings(apply_model_overrides(base, overrides))
        workspace._startup_settings = base
        workspace._overrides = overrides
        return workspace

    @property
    def model_overrides(self) -> ModelOverrides:
        """The session's model settings this workspace applies (empty: the started-with settings)."""
        return self._overrides

    # ------------------------------------------------------------ collaborators
    @property
    def store(self) -> WorkspaceStore:
        return self._store.get()

    @property
    def corpus_index(self) -> CorpusIndex:
        """The index object (not necessarily built: see `has_index`, `ensure_index`)."""
        with self._lock:
            if self._index is None:
                self._index = CorpusIndex(self.settings)
            return self._index

    def setup_logging(self, verbose: bool = False) -> Path:
        setup_logging(self.settings, verbose=verbose)
        return log_file(self.settings)

    @property
    def log_path(self) -> Path:
        return log_file(self.settings)

    # ------------------------------------------------------------ index
    def has_index(self) -> bool:
        return self.corpus_index.has_index()

    def text_embedder(self) -> TextEmbedder | None:
        """The index's sentence embedder, for checks that compare meanings (problems with measures).

        None when embedding is switched off (SHUZHI_EMBEDDER=none); the model loads on first use, and a
        check whose embedder cannot load falls back to keywords.
        """
        name = (self.settings.embedder or "none").strip().lower()
        if name in ("none", "off", "", "bm25"):
            return None
        index = self.corpus_index

        def embed(texts: Sequence[str]) -> Sequence[Sequence[float]]:
            function = index.embedder()
            if function is None:
                raise RuntimeError("no embedder")
            return [list(map(float, v)) for v in function.embed_query(list(texts))]

        return TextEmbedder(name, embed)

    def ensure_index(self, on_progress: Callable[[str], None] | None = None) -> CorpusIndex:
        """The index, built from the remembered (or configured) corpus folders first when missing."""
        index = self.corpus_index
        if not index.has_index():
            if on_progress is not None and index.interrupted() is None:  # a resumed build says so itself
                on_progress("首次使用：正在建立范文库索引……")
            index.build(on_progress=on_progress)
        return index

    def build_index(self, corpus_dirs: Sequence[Path] | None = None, *, add: bool = False, rebuild: bool = False,
                    on_progress: Callable[[str], None] | None = None) -> IndexReport:
        """Index `corpus_dirs` (replacing the remembered folders, or extending them with `add`).

        The remembered folders that `add` extends are read once this build holds the index lock,
        so two `--add` runs at once keep both folders.
        """
        self._require_admin("build_index")
        if add and not corpus_dirs:
            raise ShuzhiError("追加范文目录时要给出目录，例如：shuzhi index --corpus 新目录 --add。")
        dirs = list(corpus_dirs) if corpus_dirs else None
        return self.corpus_index.build(dirs, rebuild=rebuild, on_progress=on_progress, add=add)

    def corpus_dirs(self) -> list[Path]:
        return self.corpus_index.corpus_dirs()

    def index_stats(self) -> IndexStats:
        return self.corpus_index.stats()

    def index_warnings(self) -> list[str]:
        return list(self.corpus_index.warnings)

    # ------------------------------------------------------------ corpus documents (the 语料库 page)
    def corpus_documents(self) -> list[CorpusDocument]:
        """Every indexed example report: title, year, unit type, source, passages, sections, what cleaning removed.

        Empty when no index is built yet. Uploads come first (newest first), then by year.
        """
        return list_documents(self.corpus_index) if self.has_index() else []

    def add_corpus_files(self, files: Sequence[tuple[str, bytes]],
                         on_progress: Callable[[int, int, str], None] | None = None) -> CorpusUploadReport:
        """Uploaded example reports (name, bytes) into the user's corpus, indexed incrementally.

        Each file is parsed first; a bad one (corrupt, binary, empty, too big, no report headings) gets
        its own Chinese message and is not kept, the others are stored under names the code makes
        (content hash) in `<data_dir>/corpus_uploads/` and indexed; the name is display text only. A file
        whose content is already in the corpus is reported as a duplicate. `on_progress(done, total, message)`.
        Refused (Chinese ShuzhiError) for a user who may not change the corpus (`is_admin`); so are the next two.
        """
        self._require_admin("add_corpus_files")
        return add_files(self.corpus_index, files, on_progress)

    def remove_corpus_document(self, doc_id: str, on_progress: Callable[[str], None] | None = None) -> IndexReport:
        """Remove an uploaded document (its file and every passage of it); built-in and `--corpus` folder
        documents are refused with a Chinese ShuzhiError (they are managed as folders)."""
        self._require_admin("remove_corpus_document")
        return remove_document(self.corpus_index, doc_id, on_progress)

    def rebuild_index(self, on_progress: Callable[[str], None] | None = None) -> IndexReport:
        """Parse and embed every remembered corpus folder (uploads included) again from scratch."""
        self._require_admin("rebuild_index")
        return rebuild(self.corpus_index, on_progress)

    def search(self, query: str, *, kind: str | None = None, theme: str | None = None, year: int | None = None,
               k: int = 5, on_progress: Callable[[str], None] | None = None) -> list[Hit]:
        index = self.ensure_index(on_progress)
        return index.search(query, SearchFilters(kind=kind, theme=theme, year=year), k=k)

    def themes(self) -> list[str]:
        return [str(t) for t in (load_data("themes") or {})]

    def document_title(self, chunk: Chunk) -> str:
        """A readable name for the example document a passage comes from: its title as parsed, else its
        first heading; never the stored file name."""
        title_kinds = set(self.genre().kinds_like(SectionKind.TITLE)) or {str(SectionKind.TITLE)}
        if self.has_index():
            for kind in sorted(title_kinds):
                for other in self.corpus_index.chunks(kind):
                    if other.doc_id == chunk.doc_id and other.text.strip():
                        return other.text.strip().splitlines()[0]
        head = chunk.heading_path.split(" > ")[0].strip() if chunk.heading_path else ""
        return head or "范文"

    def chunks(self, ids: Sequence[str]) -> list[Chunk]:
        return self.corpus_index.get_chunks(ids) if ids and self.has_index() else []

    def corpus_texts(self) -> dict[str, str] | None:
        """Example document → cleaned text, for the copying check; None without an index."""
        return self.corpus_index.corpus_texts() if self.has_index() else None

    # ------------------------------------------------------------ genres
    def genres(self) -> list[GenreInfo]:
        """Every report genre (built in, and the user's in <rules_dir>/genres/) with its title."""
        return list_genres()

    def genre(self, name: str | None = None) -> Genre:
        """A genre by name (default: Settings.genre); a Chinese ShuzhiError lists the genres otherwise."""
        return load_genre(name or self.settings.genre)

    def _genre_of(self, plan: Plan | None, name: str | None = None) -> Genre:
        return self.genre(name or (plan.genre if plan is not None else None))

    # ------------------------------------------------------------ files and notes
    def read_text_file(self, path: Path | str, *, warnings: list[str] | None = None) -> str:
        """A .txt/.md/.docx file as text (InputRejected with a Chinese message when unreadable); what loading
        repaired (lines in another encoding, control characters) is added to WARNINGS, in Chinese."""
        loaded = load_file(Path(path), self.settings.file_limits())
        if warnings is not None:
            warnings.extend(loaded.warnings)
        return "\n".join(b.text for b in loaded.blocks)

    def parse_document(self, path: Path | str) -> ParsedDocument:
        return parse_file(Path(path), self.settings.file_limits())

    def parse_notes(self, text: str, year: int | None = None, *, genre: str | None = None,
                    classify: bool = True) -> ParsedNotes:
        """Notes → facts with their sections in GENRE; `classify` uses the corpus for lines no rule places."""
        g = self.genre(genre)
        index = self._exemplar_index() if classify and g.uses_corpus else None
        classifier = similarity_classifier(index, g) if index is not None else None
        themer = similarity_themer(index, g) if index is not None else None
        return parse_notes(text, year=year, classify=classifier, genre=g, classify_theme=themer)

    def read_last_year(self, path: Path | str, *, genre: str | None = None) -> LastYearReport:
        """Last year's report (.txt/.md/.docx) → its problems, causes and measures; a Chinese
        InputRejected when the file cannot be read or has no 存在问题 part."""
        return read_last_year(Path(path), self.settings.file_limits(), genre=self.genre(genre))

    def read_last_year_data(self, name: str, data: bytes, *, genre: str | None = None) -> LastYearReport:
        """`read_last_year` for an uploaded file (its name and bytes), as the app receives it."""
        safe = Path(name).name or "上年度述职报告.txt"
        with tempfile.TemporaryDirectory(prefix="shuzhi-last-year-") as folder:
            path = Path(folder) / safe
            path.write_bytes(data)
            return self.read_last_year(path, genre=genre)

    def read_draft_data(self, name: str, data: bytes, *, warnings: list[str] | None = None) -> str:
        """An uploaded draft (.md/.txt/.docx, its name and bytes) as Markdown with its headings; a Chinese
        InputRejected when the file is empty, corrupt, too large or of another type."""
        safe = Path(name).name or "草稿.txt"
        with tempfile.TemporaryDirectory(prefix="shuzhi-draft-") as folder:
            path = Path(folder) / safe
            path.write_bytes(data)
            loaded = load_file(path, self.settings.file_limits())
        if warnings is not None:
            warnings.extend(loaded.warnings)
        return blocks_to_markdown(loaded)

    def parse_draft(self, text: str, *, genre: str | None = None) -> ParsedDocument:
        """A pasted or uploaded draft split into its sections (each with its kind), as the checks read it."""
        return parse_text(text, "草稿.md" if text.lstrip().startswith("#") else "草稿.txt", genre=self.genre(genre))

    def draft_problems_text(self, text: str, *, genre: str | None = None) -> str:
        """The 存在问题及原因 of a draft (its problems and causes parts, in order), "" when it has none."""
        g = self.genre(genre)
        roles = (SectionKind.PROBLEMS, SectionKind.CAUSES)
        doc = self.parse_draft(text, genre=g.name)
        return joined_sections([s.text for s in doc.sections if g.role(str(s.kind)) in roles])
    def read_notes_data(self, name: str, data: bytes, *, warnings: list[str] | None = None) -> str:
        """An uploaded notes file (.txt/.md/.docx: its name and bytes) as text, read like any input file
        (encoding detected, Word paragraphs, size limits); a Chinese InputRejected for a bad file."""
        safe = Path(name).name or "笔记.txt"
        with tempfile.TemporaryDirectory(prefix="shuzhi-notes-") as folder:
            path = Path(folder) / safe
            path.write_bytes(data)
            text = self.read_text_file(path, warnings=warnings)
        if not text.strip():
            raise InputRejected(f"文件「{safe}」中没有文字，请检查是否选错了文件。", f"no text in {safe!r}",
                                reason="empty")
        return text

    def notes_meta(self, text: str, genre: str | None = None) -> dict[str, Any]:
        """What the notes say of the unit (org), name (person), role and year, for prefilling the form;
        {} when the notes are empty."""
        try:
            meta = parse_notes(text, genre=self.genre(genre)).meta
        except InputRejected:
            return {}
        found = {"org": meta.org, "person": meta.person, "role": meta.role, "year": meta.year}
        return {k: v for k, v in found.items() if v not in ("", None)}

    def plan_session(self, session_id: str, *, last_year: LastYearReport | None = None,
                     keep_copy_title: str = "") -> Plan:
        """A new outline for a stored session from its notes, genre and meta fields (单位, 姓名, 职务, 年度
        override what the notes say), saved as the session's plan. With KEEP_COPY_TITLE, the session as it
        was (old plan and every written section) is first copied under that title. LAST_YEAR is kept with
        the session. A Chinese ShuzhiError (e.g. empty notes) changes nothing."""
        session = self.store.get_session(session_id)
        meta = session.meta
        year = meta.get("year") if isinstance(meta.get("year"), int) else None
        notes = self.parse_notes(session.notes, year, genre=session.genre)
        fields = {k: str(meta[k]).strip() for k in ("org", "person", "role") if str(meta.get(k) or "").strip()}
        notes = replace(notes, meta=replace(notes.meta, **fields, year=year or notes.meta.year))
        plan = self.plan(notes, year, last_year=last_year)
        if keep_copy_title:
            self.duplicate_session(session_id, keep_copy_title)
        self.store.save_plan(session_id, plan)
        if last_year is not None:
            self.store.save_last_year(session_id, last_year)
        if session.title in ("", "未命名") and plan.title:
            self.store.rename_session(session_id, plan.title)
        self.store.touch_session(session_id)  # the copy is older: the app lands in the session worked on
        return plan

    def plan_add_section(self, plan: Plan, kind: str, heading: str, *, after: str | None = None,
                         sub_item: bool = False) -> Plan:
        """PLAN with a new empty section (or, with SUB_ITEM, a sub-item under the section KIND) after AFTER."""
        return plan_add_section(plan, kind, heading, after=after, sub_item=sub_item, genre=self._genre_of(plan))

    def plan_remove_section(self, plan: Plan, key: str) -> Plan:
        """PLAN without section KEY (and its sub-items); its facts join the excluded lines (restorable)."""
        return plan_remove_section(plan, key, genre=self._genre_of(plan))

    def plan_move_section(self, plan: Plan, key: str, offset: int) -> Plan:
        """PLAN with section KEY moved OFFSET places among its siblings (-1 up, +1 down)."""
        return plan_move_section(plan, key, offset)

    def plan_move_fact(self, plan: Plan, line: str, from_key: str, to_key: str) -> Plan:
        """PLAN with one fact line moved to another section (its reason: moved by the user)."""
        return plan_move_fact(plan, line, from_key, to_key, genre=self._genre_of(plan))

    def plan_edit_section(self, plan: Plan, key: str, *, heading: str | None = None,
                          notes: Sequence[str] | None = None) -> Plan:
        """PLAN with section KEY's heading and/or facts (one per line) replaced."""
        return plan_edit_section(plan, key, heading=heading, notes=tuple(notes) if notes is not None else None,
                                 genre=self._genre_of(plan))

    @staticmethod
    def excluded_reason(line: str) -> str:
        """Why an excluded line of a plan is not used as a fact (plain Chinese)."""
        return excluded_reason(line)

    def plan(self, notes: ParsedNotes, year: int | None = None, *,
             last_year: LastYearReport | None = None) -> Plan:
        """The outline in the notes' genre (its sections in order). With LAST_YEAR, the rectification
        part lists each of last year's problems with the notes that answer it (〔X〕 where none does)."""
        return build_plan(notes, year, genre=self.genre(notes.genre), last_year=last_year)

    def include_excluded(self, plan: Plan, line: str, key: str | None = None) -> Plan:
        """The plan with one of its excluded lines (a link or remark, `plan.excluded`) used as a fact:
        in section KEY, or where the normal rules file it (similarity to the corpus included)."""
        g = self._genre_of(plan)
        index = self._exemplar_index() if key is None and g.uses_corpus else None
        classifier = similarity_classifier(index, g) if index is not None else None
        return include_line(plan, file_line(line, classifier, g), key, genre=g)

    def plan_warnings(self, plan: Plan, last_year: LastYearReport | None = None) -> list[str]:
        """What to know before drafting; also says when the genre has no example passages to draw on,
        and when last year's report is not of the year before the plan's."""
        genre = self._genre_of(plan)
        warnings = plan_warnings(plan, genre=genre)
        if last_year is not None and last_year.year and plan.year and last_year.year != plan.year - 1:
            warnings.append(f"给出的上年度报告「{last_year.source}」是{last_year.year}年的，本次述职是{plan.year}年："
                            f"请确认它是{plan.year - 1}年的报告。")
        if not genre.uses_corpus:
            warnings.append(f"范文库中没有「{genre.title}」的范文片段：将只按该文体的写法说明起草，不参照范文。")
        return warnings

    # ------------------------------------------------------------ model
    def model_config(self) -> LLMConfig | None:
        return resolve_llm_config(self.settings)

    def model_status(self) -> ModelStatus:
        try:
            config = resolve_llm_config(self.settings)
        except ShuzhiError as exc:
            return ModelStatus(False, error=exc.user_message)
        if config is None:
            return ModelStatus(False)
        return ModelStatus(True, model=config.model, display_url=config.display_url)

    def model_settings_view(self, env_file: Path | str | None = None) -> ModelSettingsView:
        """Each model setting's value in use and its source (环境变量, .env 文件, 预设, 默认, 本次会话设置).
        The key is only told as set or not set."""
        settings, overrides = self.settings, self._overrides
        preset = load_presets().get(settings.provider.strip().lower()) if settings.provider.strip() else None
        rows = []
        for name, (attr, env_names) in MODEL_SETTING_NAMES.items():
            value = getattr(settings, attr)
            if name in overrides.fields_set:
                source = SettingSource.SESSION
            elif ModelField.PROVIDER in overrides.fields_set and name in (ModelField.BASE_URL, ModelField.MODEL):
                source = SettingSource.PRESET  # the session's preset filled it
            else:
                source = setting_source(env_names, env_file)
            if name is ModelField.API_KEY:
                rows.append(ModelSetting(name, "", source, is_set=bool(value.get_secret_value().strip())))
                continue
            if isinstance(value, str) and not value.strip() and preset is not None \
                    and name in (ModelField.BASE_URL, ModelField.MODEL):
                value, source = (preset.base_url if name is ModelField.BASE_URL else preset.model), SettingSource.PRESET
            rows.append(ModelSetting(name, value, source, is_set=bool(str(value).strip())))
        return ModelSettingsView(tuple(rows), self.model_status(), session_overrides=not overrides.is_empty)

    def chat_client(self) -> ChatClient | None:
        """The client for the configured model, opened once; None when no (valid) model is configured."""
        with self._lock:
            if self._client is None:
                try:
                    config = resolve_llm_config(self.settings)
                except ShuzhiError:
                    return None
                if config is None:
                    return None
                # Workspaces derived from one another (the app's per-rerun settings) share their clients:
                # the same model settings reuse one client and its open connections.
                with _CLIENTS_LOCK:
                    client = self._clients.get(config)
                    if client is None:
                        from .llm.client import ChatClient  # openai and langchain: only when a model is used

                        client = self._clients[config] = ChatClient(config)
                self._client = client
            return self._client

    def test_connection(self) -> list[str]:
        """Models the endpoint lists (LLMError with a Chinese message when it cannot be reached).

        A chat model without a model listing (a custom LangChain model) is tested with one short call.
        """
        client = self.chat_client()
        if client is None:
            raise LLMError("尚未配置大模型接口。", "test_connection without a model", code="not_configured")
        if not client.lists_models:
            client.complete([{"role": "user", "content": "请回复“好”。"}])
        return client.list_models()

    # ------------------------------------------------------------ drafting
    def _exemplar_index(self) -> CorpusIndex | None:
        """The index for exemplars; drafting goes on without examples when none can be built."""
        try:
            return self.ensure_index()
        except ShuzhiError as exc:
            log.warning("drafting without exemplars: %s", exc.detail)
            return None

    def prepare_draft(self, plan: Plan) -> Future[None] | None:
        """Start embedding PLAN's exemplar queries in the background, so 生成初稿 finds them ready: the
        app calls it when an outline is made or shown (the user reads it meanwhile; a draft of ten sections
        otherwise spends about 0.2 s of its start on them). Returns at once, the future of that work (None:
        nothing to do: no built index, a genre without corpus, all ready); it never raises, and a draft that
        starts before it ends waits for it rather than embedding the same queries again."""
        genre = self._genre_of(plan)
        try:
            if not genre.uses_corpus or not self.has_index():
                return None
            queries = exemplar_queries(plan, genre)
            # The first section's query alone (a draft's first model call waits only for it), then the rest.
            first = self.corpus_index.warm_queries(queries[:1])
            return self.corpus_index.warm_queries(queries[1:]) or first
        except Exception as exc:  # a warm-up is an optimisation: drafting embeds whatever it still needs
            log.info("outline warm-up skipped: %r", exc)
            return None

    def prepare(self, plan: Plan) -> list[SectionJob]:
        """Per section: its facts, its exemplars and the prompt, without calling a model."""
        genre = self._genre_of(plan)
        return prepare_jobs(plan, self._exemplar_index() if genre.uses_corpus else None, self.settings, genre=genre)

    def _session_for(self, plan: Plan, notes_text: str, session_id: str | None,
                     last_year: LastYearReport | None = None) -> str:
        if session_id is None:
            session_id = self.store.create_session(title=plan.title, genre=plan.genre,
                                                   notes=notes_text, plan=plan)
        else:
            self.store.save_notes(session_id, notes_text)
            self.store.save_plan(session_id, plan)
        if last_year is not None:
            self.store.save_last_year(session_id, last_year)
        return session_id

    def draft(self, plan: Plan, notes_text: str = "", *, session_id: str | None = None,
              events: DraftEvents | None = None, last_year: LastYearReport | None = None) -> DraftOutcome:
        """Draft every section; each is saved in the session the moment it finishes. LAST_YEAR (the
        report the plan's rectification part answers) is kept with the session for its checks."""
        session_id = self._session_for(plan, notes_text, session_id, last_year)
        warnings = tuple(self.plan_warnings(plan, last_year))
        client = self.chat_client()
        if client is None:
            return DraftOutcome(session_id, plan, tuple(self.prepare(plan)), (), False, NO_MODEL_MESSAGE, warnings)
        # Each section's model call starts as soon as its exemplars are retrieved (the first query embedded
        # alone, the others in one call after it), so retrieval for the later sections overlaps the first calls.
        genre = self._genre_of(plan)
        keys = [s.key for s in drafted_sections(plan)]
        jobs: list[SectionJob] = []

        def produced() -> Iterator[SectionJob]:
            for job in iter_jobs(plan, self._exemplar_index() if genre.uses_corpus else None, self.settings,
                                 genre=genre):
                jobs.append(job)
                yield job

        run = SessionDrafting(self.store, session_id, self.draft_concurrency(len(keys)))
        drafts = run.run(produced(), client, VersionSource.GENERATED, events, keys=keys)
        return run.outcome(plan, jobs, drafts, genre, warnings, stopped=stopped(events))

    def draft_concurrency(self, sections: int) -> int:
        """How many of SECTIONS are drafted at once: SHUZHI_MAX_CONCURRENCY when set (> 0), else all of
        them, up to the endpoint's cap (its preset's `max_concurrency` in data/providers.yaml)."""
        if self.settings.max_concurrency > 0:
            return self.settings.max_concurrency
        config = self.model_config()
        cap = config.concurrency_cap if config is not None else 1
        return max(1, min(sections, cap))

    def session_drafts(self, session: StoredSession) -> list[SectionDraft]:
        """The session's current text of each drafted section, in plan order."""
        return session_drafts(session)

    def _planned_session(self, session_id: str) -> tuple[StoredSession, Plan]:
        session = self.store.get_session(session_id)
        if session.plan is None:
            raise ShuzhiError("这个会话还没有提纲，请先生成提纲。", f"session {session_id} has no plan")
        return session, session.plan

    def _required_client(self, doing: str) -> ChatClient:
        client = self.chat_client()
        if client is None:
            raise LLMError(f"尚未配置大模型接口，无法{doing}。", f"{doing} without a model", code="not_configured")
        return client

    def retry(self, session_id: str, events: DraftEvents | None = None) -> DraftOutcome:
        """Draft the sections of a saved session that failed, stopped half-way or never ran."""
        session, plan = self._planned_session(session_id)
        client = self._required_client("重试")
        jobs = self.prepare(plan)
        todo = jobs_to_redo(jobs, session)
        run = SessionDrafting(self.store, session_id, self.draft_concurrency(len(todo)))
        redone = {d.key: d for d in run.run(todo, client, VersionSource.GENERATED, events)}
        current = {d.key: d for d in session_drafts(session)} | redone
        drafts = [current[j.section.key] for j in jobs if j.section.key in current]
        outcome = run.outcome(plan, jobs, drafts, self._genre_of(plan), stopped=stopped(events))
        still = outcome.failed
        if outcome.stopped:
            return outcome
        return replace(outcome, message=f"仍有 {len(still)} 节未能生成。" if still else "")

    def regenerate_section(self, session_id: str, key: str, events: DraftEvents | None = None,
                           instruction: str = "") -> SectionDraft:
        """Write one section again; the text it replaces stays in the section's history.

        INSTRUCTION (a preset of `regenerate_presets`, or the user's own words) goes into the prompt as the
        user's request for this section; the facts stay the plan's.
        """
        _, plan = self._planned_session(session_id)
        client = self._required_client("重新生成")
        jobs = [replace(j, messages=with_request(j.messages, instruction))
                for j in self.prepare(plan) if j.section.key == key]
        if not jobs:
            raise ShuzhiError(f"提纲中没有「{key}」这一节。", f"no section {key} in session {session_id}")
        run = SessionDrafting(self.store, session_id, 1)
        drafts = run.run(jobs, client, VersionSource.REGENERATED, events)
        if not drafts:  # stopped before it started
            raise ShuzhiError("已停止生成，这一节没有改动。", f"regeneration of {key} stopped before it started")
        return drafts[0]

    def regenerate_presets(self) -> dict[str, str]:
        """Ready-made requests for 重新生成: label (更简洁, 更具体) → what the model is asked."""
        return regenerate_presets()

    @staticmethod
    def revise_label(action: ReviseAction) -> str:
        """润色, 扩写 or 缩写."""
        return revise_label(action)

    def revise_section(self, session_id: str, key: str, action: ReviseAction, instruction: str = "",
                       events: DraftEvents | None = None) -> SectionDraft:
        """润色/扩写/缩写 the section's current text through the model, saved as a new `revised` version.

        The model is given only the section's plan notes and its current text as facts. The result's
        `dropped_figures` lists figures of the old text the new one lacks and `warnings` says so in
        Chinese (also for figures found in neither). A failed or stopped revision saves nothing.
        """
        session, plan = self._planned_session(session_id)
        stored = session.section(key)
        section = next((s for s in plan.sections if s.key == key), None)
        if section is None:
            raise ShuzhiError(f"提纲中没有「{key}」这一节。", f"no section {key} in session {session_id}")
        if stored is None or not stored.text.strip():
            raise ShuzhiError("这一节还没有正文，请先生成或填写正文再修改。", f"section {key} has no text")
        client = self._required_client(revise_label(action))
        genre = self._genre_of(plan)
        old = stored.text
        messages = [{"role": r, "content": c}
                    for r, c in build_revise_messages(section, old, action, instruction, genre)]
        events = events or DraftEvents()
        try:
            new = tidy_model_text(stream_model(client, messages, key, events), genre)
        except DraftStopped:
            raise ShuzhiError("已停止修改，这一节没有改动。", f"revision of {key} stopped") from None
        if not new:
            raise LLMError("模型没有返回内容，这一节没有改动：请稍后再试。", f"empty revision of {key}", code="empty")
        dropped = dropped_figures(old, new, genre)
        added = added_figures(old, new, section_facts(section, genre), genre)
        self.store.add_section_version(session_id, key, stored.kind, stored.heading, VersionSource.REVISED, new,
                                       citations=stored.citations)
        return SectionDraft(key=key, kind=stored.kind, heading=stored.heading, text=new, citations=stored.citations,
                            dropped_figures=dropped, warnings=revise_warnings(dropped, added))

    def restore_section_version(self, session_id: str, key: str, index: int) -> SectionDraft:
        """Bring back version INDEX (0 = oldest) of a section as its newest version (`restored`), so the
        undo is itself undoable."""
        section = self.store.get_session(session_id).section(key)
        if section is None or not section.versions:
            raise ShuzhiError("这一节还没有历史版本。", f"no versions of {key} in {session_id}")
        if not 0 <= index < len(section.versions):
            raise ShuzhiError("找不到这个历史版本，请刷新页面后重试。", f"version {index} of {key} out of range")
        old = section.versions[index]
        self.store.add_section_version(session_id, key, section.kind, section.heading, VersionSource.RESTORED,
                                       old.text, complete=old.complete, error=old.error, citations=old.citations)
        return SectionDraft(key=key, kind=section.kind, heading=section.heading, text=old.text,
                            citations=old.citations, error=old.error, complete=old.complete)

    def citations(self, ids: Sequence[str]) -> list[Citation]:
        """The example passages with these chunk ids, in that order, each with its report's own title
        (its title line, else its first heading, else the file's name when that is not a hash), year,
        kind and heading path. Ids no longer in the index are left out."""
        chunks = self.chunks(ids)
        if not chunks:
            return []
        wanted = {c.doc_id for c in chunks}
        titles: dict[str, str] = {}
        firsts: dict[str, tuple[int, str]] = {}
        genre = self.genre()
        for chunk in self.corpus_index.chunks():
            if chunk.doc_id not in wanted:
                continue
            if genre.role(chunk.kind) == SectionKind.TITLE and chunk.text.strip():
                titles.setdefault(chunk.doc_id, chunk.text.strip().splitlines()[0])
            head = chunk.heading_path.split(" > ")[0].strip()
            if head and chunk.position < firsts.get(chunk.doc_id, (1 << 30, ""))[0]:
                firsts[chunk.doc_id] = (chunk.position, head)
        out = []
        for chunk in chunks:
            title = titles.get(chunk.doc_id) or self._title_from_source(chunk, firsts.get(chunk.doc_id, (0, ""))[1])
            out.append(Citation(chunk_id=chunk.id, title=title, year=chunk.year or None, kind=chunk.kind,
                                heading_path=chunk.heading_path, text=chunk.text))
        return out

    @staticmethod
    def _title_from_source(chunk: Chunk, first_heading: str) -> str:
        stem = Path(chunk.source).stem
        if stem and not _HASHED_NAME.match(stem):
            return stem
        year = f"{chunk.year}年" if chunk.year else ""
        return f"{year}范文（{first_heading}）" if first_heading else f"{year}范文"

    def skeleton_markdown(self, plan: Plan) -> str:
        """The report without a model: the title, every heading numbered as in a draft, and under each the
        section's facts as plain lines with a visible 〔待写〕 mark, ready for .docx and .md export."""
        genre = self._genre_of(plan)
        marker = skeleton_marker()
        ends = tuple(genre.punctuation.sentence_ends)
        drafts = []
        for section in drafted_sections(plan):
            facts = [f if f.endswith(ends) else f + "。" for f in section_facts(section, genre)]
            drafts.append(SectionDraft(key=section.key, kind=section.kind, heading=section.heading,
                                       text="\n".join([*facts, marker]), complete=False))
        return self.assemble(plan, drafts)

    def preview_html(self, markdown: str, *, genre: str | None = None) -> str:
        """The whole document as self-contained HTML laid out like the Word file (公文 fonts and sizes,
        A4 width); every text is escaped, no script, image or outside resource."""
        from .export import load_docx_style

        return report_to_html(markdown_to_report(markdown, genre=self.genre(genre)), load_docx_style())

    # ------------------------------------------------------------ rewrite, check, export
    def rewrite(self, text: str, notes_text: str = "", draft_text: str = "", *, genre: str | None = None,
                on_token: Callable[[str], None] | None = None, use_model: bool = True) -> RewriteResult:
        """Diagnose a problems section by the genre's rubric; with a model, rewrite it and check the rewrite."""
        g = self.genre(genre)
        client = self.chat_client() if use_model else None
        return rewrite_section(text, notes_text=notes_text, draft_text=draft_text,
                               index=self._exemplar_index() if g.uses_corpus else None, client=client,
                               settings=self.settings, on_token=on_token, use_model=client is not None, genre=g,
                               embedder=self.text_embedder())

    def apply_rewrite(self, session_id: str, key: str, text: str) -> None:
        section = next((s for s in self.store.get_session(session_id).sections if s.key == key), None)
        kind, heading = (section.kind, section.heading) if section else (key.split(".")[0], "")
        self.store.add_section_version(session_id, key, kind, heading, VersionSource.REWRITTEN, text)

    def problem_keys(self, session: StoredSession) -> tuple[str, ...]:
        """The session's 存在问题及原因: its sections behaving like problems, then like causes (when the
        genre keeps them apart), in report order; () when the draft has none."""
        g = self.genre(session.genre)
        keys = [s.key for s in session.sections if g.role(s.kind) == SectionKind.PROBLEMS]
        keys += [s.key for s in session.sections if g.role(s.kind) == SectionKind.CAUSES]
        return tuple(keys)

    def section_key_for(self, session: StoredSession, kind: str) -> str | None:
        """The session section a check finding about KIND (a section kind) points at: the first section
        of that kind, else of a kind behaving like it; None when the draft has none."""
        if not kind:
            return None
        found = next((s.key for s in session.sections if s.kind == kind), None)
        if found is not None:
            return found
        g = self.genre(session.genre)
        role = g.role(kind)
        return next((s.key for s in session.sections if role is not None and g.role(s.kind) == role), None)

    def sections_text(self, session: StoredSession, keys: Sequence[str]) -> str:
        """The current text of the sections KEYS as one passage (what the 改写 page rewrites)."""
        texts = [s.text for k in keys if (s := session.section(k)) is not None]
        return joined_sections(texts)

    def apply_rewrite_to(self, session_id: str, keys: Sequence[str], text: str) -> tuple[str, ...]:
        """Put a rewrite of the sections KEYS back into the session as REWRITTEN versions (the old text
        stays in each section's history). With problems and causes apart, the rewrite is cut where its
        causes start; a part that comes out empty leaves its section as it was. Returns the keys written."""
        if not keys:
            raise ShuzhiError("没有指定要替换的部分。", "apply_rewrite_to without keys")
        session = self.store.get_session(session_id)
        parts = split_rewrite(text, len(keys), self.genre(session.genre))
        written = []
        for key, part in zip(keys, parts, strict=True):
            if part:
                self.apply_rewrite(session_id, key, part)
                written.append(key)
        return tuple(written)

    def markdown_with_rewrite(self, session_id: str, keys: Sequence[str], text: str) -> str:
        """The session's draft as Markdown with a rewrite of the sections KEYS in place (nothing is saved):
        what `apply_rewrite_to` would make of it, for a download before deciding."""
        session, plan = self._planned_session(session_id)
        parts = dict(zip(keys, split_rewrite(text, len(keys), self.genre(session.genre)), strict=True))
        drafts = [replace(d, text=parts[d.key]) if parts.get(d.key) else d for d in self.session_drafts(session)]
        return self.assemble(plan, drafts)

    def insert_passage(self, session_id: str, key: str, passage: str) -> None:
        """Append PASSAGE (e.g. an example passage to rework) to section KEY as the user's edit; the text
        before stays in the section's history."""
        section = self.store.get_session(session_id).section(key)
        if section is None:
            raise ShuzhiError("当前草稿中没有这一节，请先在「起草初稿」页选一节。", f"insert into unknown section {key!r}")
        current = section.text.rstrip()
        self.store.save_section_edit(session_id, key, f"{current}\n\n{passage.strip()}" if current else passage.strip())

    def notes_for_check(self, notes_text: str, plan: Plan | None = None, year: int | None = None,
                        genre: Genre | None = None) -> ParsedNotes:
        """The notes a draft is checked against: the user's notes plus facts typed into an edited plan."""
        year = year or (plan.year if plan else None)
        g = genre or self._genre_of(plan)
        notes = parse_notes(notes_text, year=year, genre=g)
        extra = plan_fact_lines(plan, notes_text, {i.text for i in notes.items}, notes.excluded) \
            if plan is not None else []
        if not extra:
            return notes
        full = parse_notes(notes_text + "\n" + "\n".join(f"- {line}" for line in extra), year=year, genre=g)
        # A line the notes read as a remark that the user moved into the plan is a fact all the same.
        brought_back = tuple(file_line(line, None, g) for line in extra if line in full.excluded)
        return replace(full, items=full.items + brought_back) if brought_back else full

    def check(self, draft_text: str, notes_text: str | None = None, *, plan: Plan | None = None,
              year: int | None = None, genre: str | None = None, session_id: str | None = None,
              last_year: LastYearReport | None = None) -> CheckReport:
        """All checks on a draft, by its genre's rules. With a plan, facts the user added to it count as theirs.

        LAST_YEAR (else the one kept with the session): this year's problems must not copy its wording,
        and each of its problems must be answered in the draft.
        """
        g = self._genre_of(plan, genre)
        notes = self.notes_for_check(notes_text or "", plan, year, g) if notes_text is not None or plan else None
        year = year or (plan.year if plan else None)
        if last_year is None and session_id is not None:
            last_year = self.session_last_year(session_id)
        report = run_checks(draft_text, notes=notes, year=year, corpus_texts=self.corpus_texts(), genre=g,
                            embedder=self.text_embedder(), last_year=last_year)
        if session_id is not None:
            self.store.save_check(session_id, report.to_dict())
        return report

    def assemble(self, plan: Plan, sections: Sequence[SectionDraft]) -> str:
        """The Markdown of a drafted report, headings numbered by the plan."""
        return report_to_markdown(assemble_report(plan.title, sections, plan, genre=self._genre_of(plan)))

    def session_markdown(self, session_id: str) -> str:
        session = self.store.get_session(session_id)
        if session.plan is None:
            return ""
        return self.assemble(session.plan, self.session_drafts(session))

    def export_docx(self, markdown: str, path: Path | str | None = None, *, genre: str | None = None) -> bytes:
        """公文-formatted Word bytes (also written to PATH when given)."""
        report = markdown_to_report(markdown, genre=self.genre(genre))
        return export_docx(report, Path(path) if path is not None else None)

    def export_markdown(self, markdown: str, path: Path | str, *, genre: str | None = None) -> Path:
        return export_markdown(markdown_to_report(markdown, genre=self.genre(genre)), Path(path))

    def save_text(self, path: Path | str, text: str) -> Path:
        """Write a text file atomically (a crash never leaves half a file)."""
        return write_atomic(Path(path), text if text.endswith("\n") else text + "\n")

    @staticmethod
    def unfinished_count(markdown: str) -> int:
        """Sections still marked as failed or waiting for material in a draft."""
        return len(unfinished_markers(markdown))

    # ------------------------------------------------------------ sessions
    def list_sessions(self) -> list[SessionInfo]:
        return self.store.list_sessions()

    def open_session(self, session_id: str) -> StoredSession:
        return self.store.get_session(session_id)

    def latest_session(self) -> StoredSession | None:
        latest = self.store.latest_session_id()
        return self.store.get_session(latest) if latest else None

    def session_json(self, session_id: str) -> dict[str, Any]:
        return self.store.export_session(session_id)

    def create_session(self, title: str = "", notes: str = "", plan: Plan | None = None) -> str:
        return self.store.create_session(title=title or (plan.title if plan else "未命名"),
                                         genre=plan.genre if plan else self.settings.genre,
                                         notes=notes, plan=plan)

    def session_display_title(self, info: SessionInfo) -> str:
        """A session's title for a list: the title the user gave it (改名); else 单位, 年度 and the genre
        ("某社区党委 2024年度 述职报告") when the session knows its unit or year; else its stored title."""
        if info.custom_title:
            return info.custom_title
        if not (info.org or info.year):
            return info.title or "未命名"
        try:
            genre = self.genre(info.genre).short_title
        except ShuzhiError:
            genre = info.genre
        parts = [info.org, f"{info.year}年度" if info.year else "", genre]
        return " ".join(p for p in parts if p)

    def rename_session(self, session_id: str, title: str) -> None:
        """Give a session a title of the user's (shown in lists instead of 单位/年度/文种)."""
        self.store.rename_session(session_id, title)
        self.store.save_meta(session_id, {CUSTOM_TITLE_META_KEY: title.strip()})

    def delete_session(self, session_id: str) -> None:
        self.store.delete_session(session_id)

    def save_notes(self, session_id: str, notes: str) -> None:
        self.store.save_notes(session_id, notes)

    def save_meta(self, session_id: str, meta: Mapping[str, Any]) -> None:
        """Merge the session's meta fields (org 单位, person 姓名, role 职务, year 年度); "" or None removes one."""
        self.store.save_meta(session_id, meta)

    def set_session_genre(self, session_id: str, genre: str) -> None:
        """The session's genre (文种); a Chinese ShuzhiError lists the genres for an unknown name."""
        self.store.save_genre(session_id, self.genre(genre).name)

    def duplicate_session(self, session_id: str, title: str = "") -> str:
        """A full copy of a session (notes, meta, plan, every section version); returns the copy's id."""
        copy = self.store.duplicate_session(session_id, title)
        if title.strip():
            self.store.save_meta(copy, {CUSTOM_TITLE_META_KEY: title.strip()})
        return copy

    def save_plan(self, session_id: str, plan: Plan) -> None:
        self.store.save_plan(session_id, plan)

    def save_last_year(self, session_id: str, last_year: LastYearReport | None) -> None:
        """Keep (or, with None, forget) last year's report with a session."""
        self.store.save_last_year(session_id, last_year)

    def session_last_year(self, session_id: str) -> LastYearReport | None:
        """Last year's report kept with a session, None when it has none."""
        return self.store.get_session(session_id).last_year

    def save_section_edit(self, session_id: str, key: str, text: str) -> None:
        """The user's text of a section as an `edited` version (nothing when unchanged). A section of the
        plan never drafted yet gets its first version from the user."""
        session = self.store.get_session(session_id)
        if session.section(key) is None and session.plan is not None:
            planned = next((s for s in session.plan.sections if s.key == key), None)
            if planned is not None:
                if text:
                    self.store.add_section_version(session_id, key, planned.kind, planned.heading,
                                                   VersionSource.EDITED, text)
                return
        self.store.save_section_edit(session_id, key, text)

    @staticmethod
    def drafted_sections(plan: Plan) -> list[PlanSection]:
        """The plan's sections that get text of their own, in order (not a bare heading over sub-items)."""
        return drafted_sections(plan)
