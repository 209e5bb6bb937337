"""A drafting run bound to a session of the workspace store: jobs run concurrently, every finished
section is committed before the caller hears of it, and a retry finds what is still missing."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..errors import ShuzhiError
from ..genre import Genre
from ..models import DraftEvents, Plan, SectionDraft
from ..storage import StoredSession, VersionSource, WorkspaceStore
from .draft import SectionJob, run_jobs
from .plan import drafted_sections, kind_name

if TYPE_CHECKING:
    from ..llm.client import ChatClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DraftOutcome:
    """One drafting run (or retry/regeneration): the session it is saved in and every section's state."""

    session_id: str
    plan: Plan
    jobs: tuple[SectionJob, ...]
    sections: tuple[SectionDraft, ...]  # in plan order; empty without a model
    model_configured: bool
    message: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)
    stopped: bool = False  # the user stopped the run: sections that never started are absent

    @property
    def failed(self) -> list[SectionDraft]:
        """Sections that failed or were cut short by the stop (their text so far is kept)."""
        return [s for s in self.sections if s.error]


def session_drafts(session: StoredSession) -> list[SectionDraft]:
    """The session's current text of each drafted section, in plan order (a section never written is absent)."""
    by_key = {s.key: s for s in session.sections if s.versions}
    order = [s.key for s in drafted_sections(session.plan)] if session.plan else list(by_key)
    return [by_key[k].to_draft() for k in order if k in by_key]


def jobs_to_redo(jobs: Sequence[SectionJob], session: StoredSession) -> list[SectionJob]:
    """Jobs whose section is missing from the session (never ran, or the run was killed), failed or cut short."""
    current = {d.key: d for d in session_drafts(session)}
    return [j for j in jobs if j.section.key not in current or current[j.section.key].error
            or (not current[j.section.key].complete and not j.skip)]


class SessionDrafting:
    """Runs section jobs for one session of the store, saving each section as it finishes."""

    def __init__(self, store: WorkspaceStore, session_id: str, max_concurrency: int) -> None:
        self.store = store
        self.session_id = session_id
        self.max_concurrency = max_concurrency

    def run(self, jobs: Iterable[SectionJob], client: ChatClient, source: VersionSource,
            events: DraftEvents | None = None, keys: Sequence[str] | None = None) -> list[SectionDraft]:
        """Run JOBS (a list, or produced lazily with their KEYS given: see `run_jobs`)."""
        workers = self.max_concurrency if source is not VersionSource.REGENERATED else 1
        return run_jobs(jobs, client, workers, self.saving_events(source, events), keys=keys)

    def saving_events(self, source: VersionSource, events: DraftEvents | None) -> DraftEvents:
        """The caller's events, with every finished section committed to the store first."""
        outer = events or DraftEvents()

        def done(draft: SectionDraft) -> None:
            if draft.error and self._has_good_text(draft.key):
                # A failed or stopped (re)generation must not bury the good text it was meant to replace.
                log.warning("%s of %s did not finish; the current text stays: %s", source, draft.key, draft.error)
            else:
                self._save(source, draft)
            if outer.on_section_done is not None:
                outer.on_section_done(draft)

        return replace(outer, on_section_done=done)

    def _has_good_text(self, key: str) -> bool:
        section = self.store.get_session(self.session_id).section(key)
        return section is not None and bool(section.text) and section.complete and not section.error

    def _save(self, source: VersionSource, draft: SectionDraft) -> None:
        try:
            self.store.add_section_draft(self.session_id, draft, source)
        except ShuzhiError as exc:  # the draft still reaches the caller
            log.error("could not save section %s of %s: %s", draft.key, self.session_id, exc.detail)

    def outcome(self, plan: Plan, jobs: Sequence[SectionJob], drafts: Sequence[SectionDraft], genre: Genre,
                warnings: tuple[str, ...] = (), stopped: bool = False) -> DraftOutcome:
        failed = [d for d in drafts if d.error]
        message = ""
        if stopped:
            done = sum(1 for d in drafts if not d.error)
            message = (f"已停止生成：完成的 {done} 节已保存，未写完的节保留了已生成的部分；"
                       "可以点“重试”接着生成其余的节。")
        elif failed:
            def names(sections: Sequence[SectionDraft]) -> str:
                return "、".join(kind_name(d.kind, genre=genre) + (f"（{d.heading}）" if d.heading else "")
                                for d in sections)

            partial = [d for d in failed if d.text]  # cut short (length limit, idle stream …): text kept
            if partial:
                message = (f"{len(failed)} 节未能生成或未写完：{names(failed)}；其中 {names(partial)} 保留了已生成的部分"
                           "（内容可能不完整）。")
            else:
                message = f"{len(failed)} 节未能生成：{names(failed)}。"
            message += f"已完成的 {len(drafts) - len(failed)} 节已保留并保存，可稍后重试失败的节。"
        return DraftOutcome(self.session_id, plan, tuple(jobs), tuple(drafts), True, message, warnings,
                            stopped=stopped)
