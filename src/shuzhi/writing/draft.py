"""Plan → grounded draft: retrieve exemplars per section, build prompts, call the model concurrently."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..errors import LLMError
from ..genre import MISSING_MATERIAL_MARKER, Genre, resolve
from ..models import DraftEvents, Hit, Plan, PlanSection, SectionDraft
from .exemplars import format_exemplars, retrieve_for_section
from .plan import drafted_sections, lacks_material
from .prompts import render_prompt

if TYPE_CHECKING:
    from ..index.search import CorpusIndex
    from ..llm.client import ChatClient

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = (
    "未配置大模型接口，只生成了提纲、各节事实和参考范文。"
    "配置 OPENAI_BASE_URL、OPENAI_API_KEY、SHUZHI_MODEL（或 SHUZHI_PROVIDER）后即可生成正文。"
)
_FENCE_LINE = re.compile(r"^\s*```[\w-]*\s*$", re.M)


def _leading_heading(g: Genre) -> re.Pattern[str]:
    """A first line the model added as a numbered heading ("（一）扎实开展…", "一、…", "## …") despite the
    prompt: a heading label of the genre's grammar, a short line without a full stop."""
    stops = re.escape(g.punctuation.full_stops)
    return re.compile(rf"^\s*(?:#{{1,6}}\s*|{g.numbering.heading_label_pattern})[^\n{stops}]{{0,40}}[。]?\s*\n")


MISSING_MATERIAL_TEXT = MISSING_MATERIAL_MARKER


@dataclass(frozen=True)
class SectionJob:
    section: PlanSection
    exemplars: tuple[Hit, ...]
    messages: tuple[tuple[str, str], ...]  # (role, content)
    skip: bool = False  # nothing true to write from: no model call, a visible gap instead


# ------------------------------------------------------------------ prompts
def _format_facts(section: PlanSection) -> str:
    if not section.notes:
        return "（本节没有具体事实，不写任何数字和名称。）"
    return "\n".join(f"- {note}" for note in section.notes)


def _format_context(section: PlanSection) -> str:
    if not section.context:
        return "（无）"
    return "\n".join(f"{n}. {line}" for n, line in enumerate(section.context, start=1))


def _plan_genre(plan: Plan, genre: Genre | None) -> Genre:
    return resolve(genre if genre is not None else plan.genre)


def build_section_messages(plan: Plan, section: PlanSection, exemplars: Sequence[Hit],
                           genre: Genre | None = None) -> tuple[tuple[str, str], ...]:
    """The system and user messages for one section; the genre (None: the plan's) gives its title,
    voice, the section's name and guide."""
    g = _plan_genre(plan, genre)
    heading = f"——{section.heading}" if section.heading else ""
    user = render_prompt(
        "draft_section",
        genre_title=g.title,
        genre_voice=g.voice or "（无）",
        year=plan.year or "本",
        org=plan.org or "本单位",
        report_title=plan.title,
        section_name=g.kind_name(section.kind),
        section_guide=g.guide(section.kind),
        heading=heading,
        facts=_format_facts(section),
        context=_format_context(section),
        exemplars=format_exemplars(exemplars, g),
    )
    return (("system", render_prompt("draft_system")), ("user", user))


def fit_exemplars(plan: Plan, section: PlanSection, exemplars: Sequence[Hit],
                  max_chars: int, genre: Genre | None = None) -> tuple[tuple[Hit, ...], tuple[tuple[str, str], ...]]:
    """Drop exemplars from the least relevant end until the prompt fits the character budget.

    No tokenizer offline (tiktoken downloads); for Chinese ~1 token per 1–1.5 characters, so a
    character budget is a safe stand-in. The notes are never cut: they are the facts.
    """
    g = _plan_genre(plan, genre)
    kept = tuple(exemplars)
    while True:
        messages = build_section_messages(plan, section, kept, g)
        if not kept or sum(len(c) for _, c in messages) <= max_chars:
            return kept, messages
        kept = kept[:-1]


def prepare_jobs(plan: Plan, index: CorpusIndex | None, settings: Settings,
                 genre: Genre | None = None) -> list[SectionJob]:
    """One job per drafted section: exemplars (those the genre may borrow) and messages, or a skip."""
    g = _plan_genre(plan, genre)
    jobs = []
    for section in drafted_sections(plan):
        if lacks_material(section, g):
            jobs.append(SectionJob(section, (), (), skip=True))
            continue
        found = retrieve_for_section(index, section, genre=g) if index is not None else ()
        exemplars, messages = fit_exemplars(plan, section, found, settings.max_prompt_chars, g)
        jobs.append(SectionJob(section, exemplars, messages))
    return jobs


# ------------------------------------------------------------------ model calls
def tidy_model_text(text: str, genre: Genre | None = None) -> str:
    """Strip code fences, a numbered heading line the model added, and any ad/marker text it might echo."""
    from ..corpus.clean import clean_text

    g = resolve(genre)
    text = _FENCE_LINE.sub("", text.strip()).strip()
    text = _leading_heading(g).sub("", text, count=1)
    return clean_text(text, genre=g).strip()


def _emit(callback: Any, *args: Any) -> None:
    if callback is not None:
        try:
            callback(*args)
        except Exception:  # a broken UI callback must not lose the draft
            log.exception("progress callback failed")


def draft_section(job: SectionJob, client: ChatClient, events: DraftEvents | None = None,
                  temperature: float | None = None) -> SectionDraft:
    """One section through the model; failures come back as a SectionDraft with `error` set."""
    key = job.section.key
    events = events or DraftEvents()
    if job.skip:
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading,
                              text=MISSING_MATERIAL_TEXT, complete=False)
        _emit(events.on_section_done, result)
        return result
    _emit(events.on_section_start, key)
    messages = [{"role": role, "content": content} for role, content in job.messages]
    citations = tuple(h.chunk.id for h in job.exemplars)
    try:
        text = client.complete(messages, on_token=lambda token: _emit(events.on_token, key, token),
                               temperature=temperature)
    except LLMError as exc:
        log.warning("section %s failed: %s", key, exc.detail)
        partial = tidy_model_text(getattr(exc, "partial", "") or "")
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading, text=partial,
                              citations=citations, error=exc.user_message, complete=False)
        _emit(events.on_error, key, exc.user_message)
        _emit(events.on_section_done, result)
        return result
    result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading,
                          text=tidy_model_text(text), citations=citations)
    _emit(events.on_section_done, result)
    return result


def run_jobs(jobs: Sequence[SectionJob], client: ChatClient, max_concurrency: int,
             events: DraftEvents | None = None) -> list[SectionDraft]:
    """Sections run concurrently (bounded); results keep plan order whatever finishes first."""
    lock = threading.Lock()
    results: dict[str, SectionDraft] = {}

    def work(job: SectionJob) -> None:
        draft = draft_section(job, client, events)
        with lock:
            results[job.section.key] = draft

    with ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="draft") as pool:
        list(pool.map(work, jobs))
    return [results[j.section.key] for j in jobs]
