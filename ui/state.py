"""The app's shared state: which workspace session the browser works on, and the names pages hand over by.

The workspace store (`shuzhi.api.Workspace`) is the one source of truth for the user's work: notes, meta,
outline and every section's versions live there and are written the moment they change. The browser
session (`st.session_state`) only remembers *which* stored session is open and a few hand-over values:

- `SESSION_ID`: the stored session the pages work on. On the first run of a browser session it is the
  most recently changed stored session (F5, a restart or another day lands where the user left off).
- `CURRENT_SECTION`: the section key the user last worked on (search results are inserted there).
- `REWRITE_TARGET`: the section key the 改写 page opens on (default: the draft's 存在问题及原因).
- `MODEL_SETTINGS`: this browser session's model settings, a `ModelOverrides` (held in memory only, never written;
  set on 设置, applied by `ui.common.workspace()`).
- `DRAFT_RUN`: the drafting run going on in a background thread (ui/sections.py), so a rerun does not lose it.

Pages read the session fresh from the store on every rerun (`current_session()`); they never keep
their own copy of the user's text. With several users (SHUZHI_MULTI_USER) "the store" is this user's own
(`ui.common.workspace()` → `Workspace.for_user`), so the landing session is the user's latest, never another's;
everything in `st.session_state` (the model settings included) belongs to this browser session alone.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from shuzhi.api import ShuzhiError, StoredSession

SESSION_ID = "session_id"
CURRENT_SECTION = "current_section"
REWRITE_TARGET = "rewrite_target"
MODEL_SETTINGS = "model_settings"
DRAFT_RUN = "draft_run"
_LANDED = "_landed_in_latest"

PAGE_DRAFT = "ui/draft.py"
PAGE_REWRITE = "ui/rewrite.py"
PAGE_CHECK = "ui/check.py"
PAGE_SEARCH = "ui/search.py"
PAGE_CORPUS = "ui/corpus.py"
PAGE_HISTORY = "ui/history.py"
PAGE_SETTINGS = "ui/settings.py"


def _workspace() -> Any:
    from ui.common import workspace  # late: ui.common imports this module

    return workspace()


def session_id() -> str | None:
    """The open stored session; on a browser session's first run, the most recently changed one."""
    if not st.session_state.get(_LANDED):
        st.session_state[_LANDED] = True
        if st.session_state.get(SESSION_ID) is None:
            try:
                latest = _workspace().store.latest_session_id()
            except ShuzhiError:
                latest = None
            st.session_state[SESSION_ID] = latest
    sid = st.session_state.get(SESSION_ID)
    return str(sid) if sid else None


def set_session(sid: str | None) -> None:
    """Open another stored session (None: none open; the next change creates one)."""
    st.session_state[_LANDED] = True
    st.session_state[SESSION_ID] = sid
    st.session_state.pop(CURRENT_SECTION, None)
    st.session_state.pop(REWRITE_TARGET, None)


def current_session() -> StoredSession | None:
    """The open session read fresh from the store; None when none is open or it was deleted meanwhile."""
    sid = session_id()
    if sid is None:
        return None
    try:
        return _workspace().open_session(sid)  # type: ignore[no-any-return]
    except ShuzhiError:
        st.session_state[SESSION_ID] = None
        return None


def ensure_session(title: str = "", notes: str = "") -> str:
    """The open session's id, creating an empty one first when none is open."""
    sid = session_id()
    if sid is None:
        sid = str(_workspace().create_session(title=title, notes=notes))
        set_session(sid)
    return sid


def current_markdown() -> str:
    """The open session's draft as Markdown (empty without a plan)."""
    sid = session_id()
    if sid is None:
        return ""
    try:
        return str(_workspace().session_markdown(sid))
    except ShuzhiError:
        return ""
