"""The workspace store: every session (notes, meta, plan, each section's versions, the latest check)
in one SQLite file, `Settings.store_path`.

Stdlib `sqlite3`, WAL journal, one transaction per write committed before the call returns, so a
crash or a killed process leaves exactly the last committed state. One connection per store, shared
by threads under a lock (Streamlit reruns and drafting threads write through the same store); other
processes may write the same file at the same time (WAL + busy timeout + `BEGIN IMMEDIATE`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from ..errors import ShuzhiError
from ..models import LastYearReport, NotesMeta, Plan, SectionDraft, to_dict
from ..writing.plan import plan_from_json, plan_to_json
from .legacy import LegacySession, insert_legacy_session, legacy_files, read_legacy_session
from .records import (
    LAST_YEAR_META_KEY,
    ImportedLegacyFile,
    LegacyImportReport,
    SectionVersion,
    SessionInfo,
    SkippedLegacyFile,
    StoredSection,
    StoredSession,
    VersionSource,
)
from .tables import (
    LIST_SQL,
    SCHEMA_VERSION,
    apply_plan,
    create_schema,
    current_version,
    dumps,
    ensure_section,
    insert_session,
    insert_version,
    new_session_id,
    now_iso,
    plain_plan,
    section_exists,
    touch,
    version_from_row,
)

log = logging.getLogger(__name__)

_LEGACY_KEY = "legacy_import"
_PREVIEW_CHARS = 60


def _meta_dict(meta: Mapping[str, Any] | NotesMeta) -> dict[str, Any]:
    raw = {k: v for k, v in to_dict(meta).items() if v not in ("", None)} if isinstance(meta, NotesMeta) else dict(meta)
    try:
        json.dumps(raw)
    except (TypeError, ValueError) as exc:
        raise ShuzhiError("会话信息（单位、姓名、职务、年份）只能是文字或数字。", f"meta not JSON-ready: {exc}") from exc
    return raw


def _year(raw: object) -> int | None:
    try:
        year = int(str(raw).strip())
    except (TypeError, ValueError):
        return None
    return year if year > 0 else None


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat[:_PREVIEW_CHARS] + ("…" if len(flat) > _PREVIEW_CHARS else "")


def _check_plan_keys(plan: Plan) -> None:
    keys = [s.key for s in plan.sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ShuzhiError(f"提纲中有重复的节：{'、'.join(duplicates)}。", f"duplicate plan keys {duplicates}")


class WorkspaceStore:
    """Sessions and their section versions in one SQLite file (see docs/DESIGN.md, "Workspace store").

    `legacy_dir` (normally `Settings.drafts_dir`): the JSON draft files found there are imported on
    the first open that names it, once; `legacy_import` tells what happened. Every failure reaches
    the caller as a `ShuzhiError` with a Chinese message; the file is never replaced or reset.
    """

    def __init__(self, path: Path | str, legacy_dir: Path | str | None = None, *,
                 busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._lock = threading.RLock()
        self._conn = self._open()
        self.legacy_import: LegacyImportReport | None = None
        try:
            self.legacy_import = (self._import_legacy(Path(legacy_dir)) if legacy_dir is not None
                                  else self.legacy_import_report())
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ opening and closing
    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"WorkspaceStore({str(self.path)!r})"

    def _open(self) -> sqlite3.Connection:
        if self.path.is_dir():
            raise ShuzhiError(f"工作区数据库 {self.path} 是一个文件夹，无法打开。", f"store path is a directory: {self.path}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ShuzhiError(f"无法创建工作区数据库所在的文件夹 {self.path.parent}：{exc.strerror or exc}。",
                              f"mkdir {self.path.parent}: {exc!r}") from exc
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(str(self.path), timeout=self._busy_timeout_ms / 1000, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._check_schema(conn)  # reads only: a foreign or damaged file is refused before any write
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("store %s: journal mode %s, not WAL (file system without shared memory?)", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")
            self._create_schema(conn)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise self._store_error(exc, "打开") from exc
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise ShuzhiError(f"工作区数据库 {self.path} 由更新版本的 shuzhi 创建，请升级 shuzhi 后再打开。",
                              f"{self.path}: schema version {version} > {SCHEMA_VERSION}")
        tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'").fetchone()[0]
        if version == 0 and tables:
            raise ShuzhiError(f"文件 {self.path} 不是 shuzhi 的工作区数据库，无法打开（原文件未作改动）。",
                              f"{self.path}: user_version 0 with {tables} schema objects")

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:  # not created by another process meanwhile
                create_schema(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _store_error(self, exc: sqlite3.Error, doing: str) -> ShuzhiError:
        """A Chinese message for an SQLite failure, naming the file."""
        code = getattr(exc, "sqlite_errorname", "") or ""
        where = str(self.path)
        detail = f"{where}: {exc!r} ({code})"
        if code in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in str(exc) or "malformed" in str(exc):
            return ShuzhiError(f"工作区数据库 {where} 已损坏或不是 shuzhi 的数据库，无法{doing}。原文件未作改动；"
                               "请移走或备份该文件后重新打开（将新建一个空的工作区）。", detail)
        if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return ShuzhiError(f"工作区数据库 {where} 正被其他程序占用，暂时无法{doing}，请稍后再试。", detail)
        if code.startswith("SQLITE_FULL"):
            return ShuzhiError(f"磁盘已满，无法{doing}工作区数据库 {where}。", detail)
        if code.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR", "SQLITE_AUTH")):
            return ShuzhiError(f"无法{doing}工作区数据库 {where}：没有读写权限或磁盘出错。", detail)
        return ShuzhiError(f"无法{doing}工作区数据库 {where}：{exc}。", detail)

    # ------------------------------------------------------------ transactions
    @contextmanager
    def _write(self, doing: str = "保存") -> Iterator[sqlite3.Connection]:
        """One write transaction, committed on leaving the block (rolled back on any error)."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")  # take the write lock now: the busy timeout applies
            except sqlite3.Error as exc:
                raise self._store_error(exc, doing) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                if isinstance(exc, sqlite3.Error):
                    raise self._store_error(exc, doing) from exc
                raise

    @contextmanager
    def _read(self, doing: str = "读取") -> Iterator[sqlite3.Connection]:
        """One read transaction: every SELECT in the block sees the same snapshot."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN")
                try:
                    yield conn
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._store_error(exc, doing) from exc

    def _require(self, conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise ShuzhiError(f"找不到会话 {session_id}（可能已被删除）。", f"unknown session {session_id!r} in {self.path}")

    # ------------------------------------------------------------ sessions
    def create_session(self, title: str, genre: str = "shuzhi", notes: str = "",
                       meta: Mapping[str, Any] | NotesMeta | None = None, plan: Plan | None = None) -> str:
        """A new session; returns its id. With a plan, its sections are recorded (no versions yet)."""
        if plan is not None:
            _check_plan_keys(plan)
        title = title.strip() or (plan.title.strip() if plan else "") or "未命名"
        with self._write() as conn:
            session_id = new_session_id()
            insert_session(conn, session_id, title, genre or "shuzhi", notes, _meta_dict(meta or {}), plan, now_iso())
        return session_id

    def list_sessions(self) -> list[SessionInfo]:
        """Every session, most recently changed first."""
        with self._read() as conn:
            rows = conn.execute(LIST_SQL).fetchall()
        return [SessionInfo(id=r["id"], title=r["title"], genre=r["genre"], updated=r["updated"], created=r["created"],
                            preview=_preview(r["first_text"] or r["notes"]), org=str(r["org"] or "").strip(),
                            year=_year(r["year"]), custom_title=str(r["custom_title"] or "").strip()) for r in rows]

    def latest_session_id(self) -> str | None:
        """The most recently changed session, None when there is none."""
        with self._read() as conn:
            row = conn.execute("SELECT id FROM sessions ORDER BY seq DESC LIMIT 1").fetchone()
        return row["id"] if row else None

    def get_session(self, session_id: str) -> StoredSession:
        """The whole session; `ShuzhiError` (找不到会话 …) when there is none with this id."""
        with self._read() as conn:
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row is None:
                self._require(conn, session_id)
            section_rows = conn.execute("SELECT key, kind, heading, position FROM sections WHERE session_id = ? "
                                        "ORDER BY position, key", (session_id,)).fetchall()
            version_rows = conn.execute("SELECT * FROM versions WHERE session_id = ? ORDER BY id",
                                        (session_id,)).fetchall()
        versions: dict[str, list[SectionVersion]] = {}
        for v in version_rows:
            versions.setdefault(v["key"], []).append(version_from_row(v))
        sections = tuple(StoredSection(key=s["key"], kind=s["kind"], heading=s["heading"], position=s["position"],
                                       versions=tuple(versions.get(s["key"], ()))) for s in section_rows)
        return StoredSession(
            id=row["id"], title=row["title"], genre=row["genre"], notes=row["notes"],
            meta=json.loads(row["meta_json"]),
            plan=plan_from_json(row["plan_json"]) if row["plan_json"] is not None else None,
            sections=sections, check=json.loads(row["check_json"]) if row["check_json"] is not None else None,
            created=row["created"], updated=row["updated"], check_at=row["check_at"])

    def rename_session(self, session_id: str, title: str) -> None:
        title = title.strip()
        if not title:
            raise ShuzhiError("会话标题不能为空。", "empty session title")
        with self._write() as conn:
            self._require(conn, session_id)
            conn.execute("UPDATE sessions SET title = ? WHERE id = ?", (title, session_id))
            touch(conn, session_id)

    def delete_session(self, session_id: str) -> None:
        """The session with all its sections, versions and check results."""
        with self._write("删除") as conn:
            self._require(conn, session_id)
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def save_notes(self, session_id: str, notes: str, meta: Mapping[str, Any] | NotesMeta | None = None) -> bool:
        """Replace the notes (and the meta, when given); False when nothing changed (nothing written)."""
        with self._write() as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT notes, meta_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
            meta_json = dumps(_meta_dict(meta)) if meta is not None else row["meta_json"]
            if row["notes"] == notes and row["meta_json"] == meta_json:
                return False
            conn.execute("UPDATE sessions SET notes = ?, meta_json = ? WHERE id = ?", (notes, meta_json, session_id))
            touch(conn, session_id)
        return True

    def save_meta(self, session_id: str, meta: Mapping[str, Any]) -> bool:
        """Merge META's fields (单位 org, 姓名 person, 职务 role, 年度 year …) into the session's meta; a value
        of None or "" removes the field. False when nothing changed (nothing written)."""
        with self._write() as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT meta_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
            merged = json.loads(row["meta_json"])
            merged.update(_meta_dict({k: v for k, v in meta.items() if v not in ("", None)}))
            for key in [k for k, v in meta.items() if v in ("", None)]:
                merged.pop(key, None)
            meta_json = dumps(merged)
            if meta_json == row["meta_json"]:
                return False
            conn.execute("UPDATE sessions SET meta_json = ? WHERE id = ?", (meta_json, session_id))
            touch(conn, session_id)
        return True

    def save_genre(self, session_id: str, genre: str) -> bool:
        """Set the session's genre (文种); False when unchanged (nothing written)."""
        genre = genre.strip()
        if not genre:
            raise ShuzhiError("文种不能为空。", "empty session genre")
        with self._write() as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT genre FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row["genre"] == genre:
                return False
            conn.execute("UPDATE sessions SET genre = ? WHERE id = ?", (genre, session_id))
            touch(conn, session_id)
        return True

    def touch_session(self, session_id: str) -> None:
        """Mark the session as the most recently changed one (where the app lands next time)."""
        with self._write() as conn:
            self._require(conn, session_id)
            touch(conn, session_id)

    def duplicate_session(self, session_id: str, title: str = "") -> str:
        """A copy of the session (notes, meta, plan, every section with all its versions, the latest check)
        under a new id; the copy is the most recently changed session. Returns the new id."""
        with self._write("复制") as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
            new_id = new_session_id()
            at = now_iso()
            conn.execute(
                "INSERT INTO sessions (id, title, genre, notes, meta_json, plan_json, check_json, check_at, created, "
                "updated, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions))",
                (new_id, title.strip() or f"{row['title']}（副本）", row["genre"], row["notes"], row["meta_json"],
                 row["plan_json"], row["check_json"], row["check_at"], at, at))
            conn.execute("INSERT INTO sections (session_id, key, kind, heading, position) "
                         "SELECT ?, key, kind, heading, position FROM sections WHERE session_id = ?", (new_id, session_id))
            conn.execute("INSERT INTO versions (session_id, key, source, text, at, complete, error, citations_json) "
                         "SELECT ?, key, source, text, at, complete, error, citations_json FROM versions "
                         "WHERE session_id = ? ORDER BY id", (new_id, session_id))
        return new_id

    def save_last_year(self, session_id: str, report: LastYearReport | None) -> bool:
        """Keep last year's report with the session (in its meta; None removes it), so that a retry, a
        check and the app answer the same problems. False when nothing changed."""
        with self._write() as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT meta_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
            meta = json.loads(row["meta_json"])
            if report is None:
                meta.pop(LAST_YEAR_META_KEY, None)
            else:
                meta[LAST_YEAR_META_KEY] = report.to_dict()
            meta_json = dumps(meta)
            if meta_json == row["meta_json"]:
                return False
            conn.execute("UPDATE sessions SET meta_json = ? WHERE id = ?", (meta_json, session_id))
            touch(conn, session_id)
        return True

    def save_plan(self, session_id: str, plan: Plan) -> None:
        """Replace the plan. Sections whose key is still in the plan keep their versions (and take the plan's
        kind, heading and order); sections no longer in the plan are dropped with their versions."""
        _check_plan_keys(plan)
        with self._write() as conn:
            self._require(conn, session_id)
            row = conn.execute("SELECT plan_json FROM sessions WHERE id = ?", (session_id,)).fetchone()
            if row["plan_json"] == plan_to_json(plan):  # unchanged: nothing to write
                return
            apply_plan(conn, session_id, plan)
            touch(conn, session_id)

    def save_check(self, session_id: str, report: Mapping[str, Any]) -> None:
        """Keep the latest check results (`CheckReport.to_dict()`), with the time they were saved."""
        try:
            report_json = dumps(dict(report))
        except (TypeError, ValueError) as exc:
            raise ShuzhiError("检查结果无法保存：内容不是可保存的数据。", f"check report not JSON-ready: {exc}") from exc
        with self._write() as conn:
            self._require(conn, session_id)
            conn.execute("UPDATE sessions SET check_json = ?, check_at = ? WHERE id = ?",
                         (report_json, now_iso(), session_id))
            touch(conn, session_id)

    # ------------------------------------------------------------ section versions
    def add_section_version(self, session_id: str, key: str, kind: str, heading: str,
                            source: VersionSource | str, text: str, complete: bool = True, error: str = "",
                            citations: Iterable[str] = ()) -> SectionVersion:
        """Append a version to a section (committed before returning). A section not yet known is added
        after the others with this kind and heading; a known one keeps the plan's."""
        if not key:
            raise ShuzhiError("节的标识不能为空。", "empty section key")
        version = SectionVersion(source=VersionSource(source), text=text, at=now_iso(), complete=bool(complete),
                                 error=error, citations=tuple(citations))
        with self._write() as conn:
            self._require(conn, session_id)
            ensure_section(conn, session_id, key, kind, heading)
            insert_version(conn, session_id, key, version)
            touch(conn, session_id, version.at)
        return version

    def add_section_draft(self, session_id: str, draft: SectionDraft,
                          source: VersionSource | str = VersionSource.GENERATED) -> SectionVersion:
        """`add_section_version` for a drafted `SectionDraft` (generated by default)."""
        return self.add_section_version(session_id, draft.key, draft.kind, draft.heading, source, draft.text,
                                        complete=draft.complete, error=draft.error, citations=draft.citations)

    def save_section_edit(self, session_id: str, key: str, text: str) -> SectionVersion | None:
        """The user's text for a known section as an `edited` version; None (nothing written) when it
        equals the current text. The edit keeps the citations of the text it changed."""
        with self._write() as conn:
            self._require(conn, session_id)
            if not section_exists(conn, session_id, key):
                raise ShuzhiError(f"会话 {session_id} 中没有节 {key}，无法保存修改。", f"unknown section {key!r}")
            current = current_version(conn, session_id, key)
            if (current.text if current else "") == text:
                return None
            version = SectionVersion(source=VersionSource.EDITED, text=text, at=now_iso(),
                                     citations=current.citations if current else ())
            insert_version(conn, session_id, key, version)
            touch(conn, session_id, version.at)
        return version

    # ------------------------------------------------------------ export
    def export_session(self, session_id: str) -> dict[str, Any]:
        """The session as plain JSON-ready data (the CLI's shape): id, title, genre, notes, plan (object or
        null), sections with key, kind, heading, current text, complete and every version (source, text, at);
        `last_year` (LastYearReport.to_dict()) when the session has last year's report."""
        session = self.get_session(session_id)
        exported = {
            "id": session.id, "title": session.title, "genre": session.genre, "notes": session.notes,
            "plan": plain_plan(session.plan),
            "sections": [
                {"key": s.key, "kind": s.kind, "heading": s.heading, "text": s.text, "complete": s.complete,
                 "versions": [{"source": str(v.source), "text": v.text, "at": v.at} for v in s.versions]}
                for s in session.sections
            ],
        }
        if LAST_YEAR_META_KEY in session.meta:  # only sessions drafted against last year's report
            exported[LAST_YEAR_META_KEY] = session.meta[LAST_YEAR_META_KEY]
        return exported

    # ------------------------------------------------------------ legacy import
    def legacy_import_report(self) -> LegacyImportReport | None:
        """What the one-time import of legacy JSON drafts did; None when it never ran."""
        with self._read() as conn:
            row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (_LEGACY_KEY,)).fetchone()
        return LegacyImportReport.from_dict(json.loads(row["value"])) if row else None

    def _import_legacy(self, folder: Path) -> LegacyImportReport:
        done = self.legacy_import_report()
        if done is not None:
            return done
        sessions: list[LegacySession] = []
        skipped: list[SkippedLegacyFile] = []
        for path in legacy_files(folder):
            try:
                sessions.append(read_legacy_session(path))
            except ShuzhiError as exc:
                log.warning("legacy draft %s not imported: %s", path, exc.detail)
                skipped.append(SkippedLegacyFile(path.name, exc.user_message))
        with self._write("导入旧草稿") as conn:
            row = conn.execute("SELECT value FROM store_meta WHERE key = ?", (_LEGACY_KEY,)).fetchone()
            if row is not None:  # another process imported them meanwhile
                return LegacyImportReport.from_dict(json.loads(row["value"]))
            imported = []
            for legacy in sessions:
                session_id = new_session_id()
                insert_legacy_session(conn, session_id, legacy)
                imported.append(ImportedLegacyFile(legacy.path.name, session_id))
            report = LegacyImportReport(at=now_iso(), folder=str(folder), imported=tuple(imported), skipped=tuple(skipped))
            conn.execute("INSERT INTO store_meta (key, value) VALUES (?, ?)", (_LEGACY_KEY, dumps(report.to_dict())))
        if imported or skipped:
            log.info("imported %d legacy drafts from %s (%d skipped)", len(imported), folder, len(skipped))
        return report
