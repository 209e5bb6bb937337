"""The workspace store's SQL: the schema, and the statements the store runs inside its transactions
(every function here takes the connection of an open transaction and never commits)."""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from datetime import datetime
from typing import Any

from ..models import Plan
from ..writing.plan import plan_to_json
from .records import SectionVersion, VersionSource

SCHEMA_VERSION = 1  # PRAGMA user_version; 0 = a new, empty file
SCHEMA = (
    # key/value facts about the store itself (the legacy import report)
    "CREATE TABLE store_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        genre TEXT NOT NULL DEFAULT 'shuzhi',
        notes TEXT NOT NULL DEFAULT '',
        meta_json TEXT NOT NULL DEFAULT '{}',
        plan_json TEXT,
        check_json TEXT,
        check_at TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL,
        updated TEXT NOT NULL,
        seq INTEGER NOT NULL
    )""",
    "CREATE INDEX sessions_by_seq ON sessions (seq)",
    """CREATE TABLE sections (
        session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        heading TEXT NOT NULL DEFAULT '',
        position INTEGER NOT NULL,
        PRIMARY KEY (session_id, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE versions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        key TEXT NOT NULL,
        source TEXT NOT NULL,
        text TEXT NOT NULL,
        at TEXT NOT NULL,
        complete INTEGER NOT NULL DEFAULT 1,
        error TEXT NOT NULL DEFAULT '',
        citations_json TEXT NOT NULL DEFAULT '[]',
        FOREIGN KEY (session_id, key) REFERENCES sections (session_id, key) ON DELETE CASCADE
    )""",
    "CREATE INDEX versions_by_section ON versions (session_id, key, id)",
)

# Each session with the current text of its first section that has any (for the preview), newest first.
LIST_SQL = """
WITH current AS (
    SELECT v.session_id, v.text, c.position,
           row_number() OVER (PARTITION BY v.session_id, v.key ORDER BY v.id DESC) AS newest
    FROM versions v JOIN sections c ON c.session_id = v.session_id AND c.key = v.key
), first_written AS (
    SELECT session_id, text, row_number() OVER (PARTITION BY session_id ORDER BY position) AS place
    FROM current WHERE newest = 1 AND text != ''
)
SELECT s.id, s.title, s.genre, s.created, s.updated, s.notes, f.text AS first_text,
       coalesce(nullif(json_extract(s.meta_json, '$.org'), ''), json_extract(s.plan_json, '$.org')) AS org,
       coalesce(nullif(json_extract(s.meta_json, '$.year'), ''), json_extract(s.plan_json, '$.year')) AS year,
       json_extract(s.meta_json, '$.custom_title') AS custom_title
FROM sessions s LEFT JOIN first_written f ON f.session_id = s.id AND f.place = 1
ORDER BY s.seq DESC
"""

_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_session_id() -> str:
    """16 characters: the time in milliseconds (10, so ids sort by creation) and 6 random ones."""
    ms = time.time_ns() // 1_000_000
    stamp = "".join(_ID_ALPHABET[(ms >> shift) & 31] for shift in range(45, -1, -5))
    return stamp + "".join(secrets.choice(_ID_ALPHABET) for _ in range(6))


def now_iso() -> str:
    """Local time with its UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def create_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def version_from_row(row: sqlite3.Row) -> SectionVersion:
    return SectionVersion(source=VersionSource(row["source"]), text=row["text"], at=row["at"],
                          complete=bool(row["complete"]), error=row["error"],
                          citations=tuple(json.loads(row["citations_json"])))


def touch(conn: sqlite3.Connection, session_id: str, at: str | None = None) -> None:
    """Mark the session changed: its time and a store-wide counter (the list order, exact even within a second)."""
    conn.execute("UPDATE sessions SET updated = ?, seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions) "
                 "WHERE id = ?", (at or now_iso(), session_id))


def insert_session(conn: sqlite3.Connection, session_id: str, title: str, genre: str, notes: str,
                   meta: dict[str, Any], plan: Plan | None, at: str) -> None:
    conn.execute(
        "INSERT INTO sessions (id, title, genre, notes, meta_json, created, updated, seq) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM sessions))",
        (session_id, title, genre, notes, dumps(meta), at, at))
    if plan is not None:
        apply_plan(conn, session_id, plan)


def apply_plan(conn: sqlite3.Connection, session_id: str, plan: Plan) -> None:
    """Store the plan; its sections get the plan's kind, heading and order (keeping their versions),
    sections whose key left the plan are deleted with their versions."""
    keys = [s.key for s in plan.sections]
    conn.execute(f"DELETE FROM sections WHERE session_id = ? AND key NOT IN ({', '.join('?' * len(keys))})",
                 (session_id, *keys))
    conn.executemany(
        "INSERT INTO sections (session_id, key, kind, heading, position) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (session_id, key) DO UPDATE SET kind = excluded.kind, heading = excluded.heading, "
        "position = excluded.position",
        [(session_id, s.key, s.kind, s.heading, n) for n, s in enumerate(plan.sections)])
    conn.execute("UPDATE sessions SET plan_json = ? WHERE id = ?", (plan_to_json(plan), session_id))


def ensure_section(conn: sqlite3.Connection, session_id: str, key: str, kind: str, heading: str) -> None:
    """A section row for KEY: a new one goes after the others; an existing one is left as it is."""
    conn.execute(
        "INSERT INTO sections (session_id, key, kind, heading, position) VALUES (?, ?, ?, ?, "
        "(SELECT COALESCE(MAX(position), -1) + 1 FROM sections WHERE session_id = ?)) "
        "ON CONFLICT (session_id, key) DO NOTHING", (session_id, key, kind, heading, session_id))


def section_exists(conn: sqlite3.Connection, session_id: str, key: str) -> bool:
    return conn.execute("SELECT 1 FROM sections WHERE session_id = ? AND key = ?",
                        (session_id, key)).fetchone() is not None


def insert_version(conn: sqlite3.Connection, session_id: str, key: str, version: SectionVersion) -> None:
    conn.execute(
        "INSERT INTO versions (session_id, key, source, text, at, complete, error, citations_json) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (session_id, key, str(version.source), version.text, version.at, int(version.complete), version.error,
         dumps(list(version.citations))))


def current_version(conn: sqlite3.Connection, session_id: str, key: str) -> SectionVersion | None:
    row = conn.execute("SELECT * FROM versions WHERE session_id = ? AND key = ? ORDER BY id DESC LIMIT 1",
                       (session_id, key)).fetchone()
    return version_from_row(row) if row else None


def plain_plan(plan: Plan | None) -> dict[str, Any] | None:
    """The plan as a JSON object (the shape `plan_to_json` writes), None without a plan."""
    return json.loads(plan_to_json(plan)) if plan is not None else None

