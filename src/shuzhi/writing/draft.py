"""Plan → grounded draft: retrieve exemplars per section, build prompts, call the model concurrently."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..config import Settings
from ..datafiles import load_data
from ..errors import LLMError
from ..genre import MISSING_MATERIAL_MARKER, Genre, resolve
from ..models import DraftEvents, Hit, Plan, PlanSection, SectionDraft
from .exemplars import ExemplarTarget, exemplar_query, format_exemplars, redaction_mark, retrieve_for_section
from .plan import drafted_sections, lacks_material, org_type_of
from .prompts import render_prompt

if TYPE_CHECKING:
    from ..index.search import CorpusIndex
    from ..llm.client import ChatClient

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = (
    "未配置大模型接口，只生成了提纲、各节事实和参考范文。"
    "在应用的“设置”页填写模型接口后即可生成正文（命令行：设置环境变量 OPENAI_BASE_URL、OPENAI_API_KEY、SHUZHI_MODEL 或 SHUZHI_PROVIDER）。"
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
def _label_re() -> re.Pattern[str]:
    """A filing label before a note ("理论：", "组织建设方面："), from data/plan.yaml `fact_labels`."""
    labels = load_data("plan").get("fact_labels") or {}
    words = sorted((str(w) for w in labels.get("words", [])), key=len, reverse=True)
    suffixes = sorted((str(w) for w in labels.get("suffixes", [])), key=len, reverse=True)
    if not words:
        return re.compile(r"(?!)")
    suffix = f"(?:{'|'.join(map(re.escape, suffixes))})?" if suffixes else ""
    return re.compile(rf"^\s*(?:{'|'.join(map(re.escape, words))}){suffix}\s*[：:]\s*(?=\S)")


def section_facts(section: PlanSection, genre: Genre | None = None) -> tuple[str, ...]:
    """The section's facts as the prompt shows them: no remark to the writer, no numbering or
    filing label before a note ("一是理论：每月集中学习1次" → "每月集中学习1次")."""
    from ..notes.rules import is_remark

    g = resolve(genre)
    label = _label_re()

    def bare(note: str) -> str:
        note = label.sub("", note.strip(), count=1)
        found = g.numbering.match(note)
        if found is not None and found.end:
            note = label.sub("", note[found.end :].strip(), count=1)
        return note.strip()

    facts = (bare(note) for note in section.notes if not is_remark(note))
    return tuple(f for f in facts if f)


def _format_facts(facts: Sequence[str]) -> str:
    if not facts:
        return "（本节没有具体事实，不写任何数字和名称。）"
    return "\n".join(f"- {note}" for note in facts)


def _format_context(context: Sequence[str]) -> str:
    if not context:
        return "（无）"
    return "\n".join(f"{n}. {line}" for n, line in enumerate(context, start=1))


def _plan_genre(plan: Plan, genre: Genre | None) -> Genre:
    return resolve(genre if genre is not None else plan.genre)


def planned_problems(plan: Plan, section: PlanSection, genre: Genre | None = None) -> tuple[str, ...]:
    """What SECTION answers: the problems as the plan has them (edited or not), else its own context."""
    g = _plan_genre(plan, genre)
    spec = g.spec(section.kind)
    if spec is None or not spec.answers:
        return section.context
    planned = tuple(n for s in plan.sections if s.kind == spec.answers for n in section_facts(s, g))
    return planned or section.context


def _answered_kinds(g: Genre) -> list[str]:
    return list(dict.fromkeys(k.answers for k in g.kinds if k.answers))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 1)] + "…"


def report_brief(plan: Plan, section: PlanSection, genre: Genre | None = None) -> dict[str, str]:
    """The brief of the whole report a section prompt carries (context, never facts): who writes,
    the plan's headings in order with this section marked, and the problems as planned.

    Within data/plan.yaml `brief.max_chars`: a long plan gets shorter lines, then fewer problems,
    never a cut-off outline (the current section stays marked)."""
    g = _plan_genre(plan, genre)
    data = load_data("plan")
    cap = data.get("brief") or {}
    words = data["prompt_words"]
    spec = g.spec(section.kind)
    problems = [] if spec is not None and spec.answers else [
        n for kind in _answered_kinds(g) for s in plan.sections if s.kind == kind for n in section_facts(s, g)]
    person = f"{plan.role}{plan.person}" or str(words["unnamed_person"])
    max_chars = int(cap.get("max_chars", 700))
    item, limit = int(cap.get("max_item_chars", 40)), int(cap.get("max_problems", 6))
    while True:
        outline = "\n".join(
            f"{'  ' * max(s.level - 1, 0)}- {_short(s.heading or g.kind_name(s.kind), item)}"
            f"{words['current'] if s.key == section.key else ''}" for s in plan.sections)
        if spec is not None and spec.answers:
            problems_text = str(words["answer_problems"])
        else:
            lines = [f"{n}. {_short(p, item)}" for n, p in enumerate(problems[:limit], start=1)]
            if len(problems) > limit:
                lines.append(str(words["more_problems"]).replace("{n}", str(len(problems))))
            problems_text = "\n".join(lines) or str(words["no_problems"])
        if len(outline) + len(problems_text) + len(person) <= max_chars or (item <= 12 and limit <= 2):
            return {"outline": outline, "planned_problems": problems_text, "person": person}
        item, limit = max(item - 6, 12), max(limit - 1, 2)


def length_target(plan: Plan, section: PlanSection, genre: Genre | None = None) -> int | None:
    """The section's length target in characters from its facts (its notes, plus the problems it answers)."""
    g = _plan_genre(plan, genre)
    spec = g.spec(section.kind)
    facts = len(section_facts(section, g))
    if spec is not None and spec.answers:
        facts += len(planned_problems(plan, section, g))
    return g.target_length(section.kind, facts)


def build_section_messages(plan: Plan, section: PlanSection, exemplars: Sequence[Hit],
                           genre: Genre | None = None) -> tuple[tuple[str, str], ...]:
    """The system and user messages for one section; the genre (None: the plan's) gives its title,
    voice, the section's name, guide and length; the plan gives the brief of the whole report."""
    g = _plan_genre(plan, genre)
    words = load_data("plan")["prompt_words"]
    heading = f"——{section.heading}" if section.heading else ""
    facts = section_facts(section, g)
    context = planned_problems(plan, section, g)
    target = length_target(plan, section, g)
    spec = g.spec(section.kind)
    counted = len(facts) + (len(context) if spec is not None and spec.answers else 0)
    length = (str(words["length"]).replace("{chars}", str(target)).replace("{facts}", str(counted))
              if target is not None else str(words["length_unset"]))
    guide = g.guide(section.kind)
    if target is not None:
        guide = guide.replace("{length}", str(target))
    user = render_prompt(
        "draft_section",
        genre_title=g.title,
        genre_voice=g.voice or "（无）",
        year=plan.year or "本",
        org=plan.org or "本单位",
        report_title=plan.title,
        section_name=g.kind_name(section.kind),
        section_guide=guide,
        heading=heading,
        length=length,
        facts=_format_facts(facts),
        context=_format_context(context),
        exemplars=format_exemplars(exemplars, g),
        redaction=redaction_mark(),
        person_label=g.person_label,
        **report_brief(plan, section, g),
    )
    return (("system", render_prompt("draft_system")), ("user", user))


def with_request(messages: tuple[tuple[str, str], ...], instruction: str) -> tuple[tuple[str, str], ...]:
    """The section's messages with the user's request for it (更简洁, 更具体, free text) added to the
    last user message; unchanged without one."""
    instruction = instruction.strip()
    if not instruction or not messages:
        return messages
    role, content = messages[-1]
    return (*messages[:-1], (role, content + "\n\n" + render_prompt("section_request", instruction=instruction)))


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
    return list(iter_jobs(plan, index, settings, genre))


def exemplar_queries(plan: Plan, genre: Genre | None = None) -> list[str]:
    """The exemplar query of every drafted section that borrows from the corpus, in outline order."""
    g = _plan_genre(plan, genre)
    return [exemplar_query(s, g) for s in drafted_sections(plan) if not lacks_material(s, g) and g.borrows(s.kind)]


def iter_jobs(plan: Plan, index: CorpusIndex | None, settings: Settings,
              genre: Genre | None = None) -> Iterator[SectionJob]:
    """The jobs of `prepare_jobs`, one at a time, so drafting can start the first model call while the
    later sections' exemplars are still being retrieved.

    The first section's query is embedded alone (its model call starts a few ms later), the others in
    one call while that first call runs (`CorpusIndex.prefetch_queries`; nothing to do for queries the
    outline warmed up already, `Workspace.prepare_draft`, and a query still being warmed up is waited for).
    """
    g = _plan_genre(plan, genre)
    target = ExemplarTarget(year=plan.year, org_type=plan.org_type or org_type_of(plan.org))
    queries = exemplar_queries(plan, g)
    # An index without a batch (a test double, another retriever) embeds each query in its search.
    prefetch = getattr(index, "prefetch_queries", None)
    asked = 0
    for section in drafted_sections(plan):
        if prefetch is not None and asked < 2 and queries:
            prefetch(queries[:1] if asked == 0 else queries[1:])  # the second: once the first call started
            asked += 1
        if lacks_material(section, g):
            yield SectionJob(section, (), (), skip=True)
            continue
        found = retrieve_for_section(index, section, genre=g, target=target) if index is not None else ()
        exemplars, messages = fit_exemplars(plan, section, found, settings.max_prompt_chars, g)
        yield SectionJob(section, exemplars, messages)


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


STOPPED_MESSAGE = "已停止生成"
EMPTY_TEXT_MESSAGE = "模型的回答去掉代码标记和标题后没有任何正文：本节没有生成内容，请重试本节。"


class DraftStopped(Exception):
    """Raised from the token callback once the run's stop event is set: the stream ends there."""


def stopped(events: DraftEvents | None) -> bool:
    return events is not None and events.stop is not None and events.stop.is_set()


def stream_model(client: ChatClient, messages: Sequence[dict[str, str]], key: str, events: DraftEvents,
                 temperature: float | None = None) -> str:
    """The model's answer for section KEY, streamed through EVENTS (tokens, retry notices); raises
    DraftStopped (with the text so far as its argument) when the stop event is set."""
    received: list[str] = []

    def token(text: str) -> None:
        received.append(text)
        _emit(events.on_token, key, text)
        if stopped(events):
            raise DraftStopped("".join(received))

    kwargs: dict[str, Any] = {}
    if events.on_retry is not None:
        kwargs["on_retry"] = lambda attempt, wait, message: _emit(events.on_retry, key, attempt, wait, message)
    try:
        # STOP ends the call even while no token comes (a stuck stream never reaches `token`).
        return client.complete(list(messages), on_token=token, temperature=temperature, stop=events.stop, **kwargs)
    except LLMError:
        if stopped(events):  # stopped during a retry's wait or a failing attempt
            raise DraftStopped("".join(received)) from None
        raise


def draft_section(job: SectionJob, client: ChatClient, events: DraftEvents | None = None,
                  temperature: float | None = None) -> SectionDraft:
    """One section through the model; failures come back as a SectionDraft with `error` set, a stopped
    section as an incomplete one with its text so far and error STOPPED_MESSAGE."""
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
        text = stream_model(client, messages, key, events, temperature)
    except DraftStopped as stop:
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading,
                              text=tidy_model_text(str(stop.args[0]) if stop.args else ""),
                              citations=citations, error=STOPPED_MESSAGE, complete=False)
        _emit(events.on_section_done, result)
        return result
    except LLMError as exc:
        log.warning("section %s failed: %s", key, exc.detail)
        partial = tidy_model_text(getattr(exc, "partial", "") or "")
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading, text=partial,
                              citations=citations, error=exc.user_message, complete=False)
        _emit(events.on_error, key, exc.user_message)
        _emit(events.on_section_done, result)
        return result
    tidy = tidy_model_text(text)
    if not tidy:  # only fences or a heading: as empty as no answer
        log.warning("section %s: the answer of %d chars had no text once tidied", key, len(text))
        _emit(events.on_error, key, EMPTY_TEXT_MESSAGE)
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading, text="",
                              citations=citations, error=EMPTY_TEXT_MESSAGE, complete=False)
    else:
        result = SectionDraft(key=key, kind=job.section.kind, heading=job.section.heading, text=tidy,
                              citations=citations)
    _emit(events.on_section_done, result)
    return result


def run_jobs(jobs: Iterable[SectionJob], client: ChatClient, max_concurrency: int,
             events: DraftEvents | None = None, keys: Sequence[str] | None = None) -> list[SectionDraft]:
    """Sections run concurrently (bounded); results keep plan order whatever finishes first. After a
    stop (events.stop), sections that never started are absent from the result.

    JOBS may be produced lazily (`iter_jobs`): each starts as soon as it is produced, while the next
    ones are prepared. KEYS (the sections' keys in order, for `on_jobs`) is needed only then.
    """
    lock = threading.Lock()
    results: dict[str, SectionDraft] = {}
    if keys is None:
        jobs = list(jobs)
        keys = [j.section.key for j in jobs]
    _emit(getattr(events, "on_jobs", None), list(keys))
    order: list[str] = []

    def work(job: SectionJob) -> None:
        if stopped(events):  # the user stopped the run: no new section starts
            return
        draft = draft_section(job, client, events)
        with lock:
            results[job.section.key] = draft

    pool = ThreadPoolExecutor(max_workers=max(1, max_concurrency), thread_name_prefix="draft")
    try:
        futures = []
        for job in jobs:
            order.append(job.section.key)
            futures.append(pool.submit(work, job))
        for future in futures:
            future.result()
    except BaseException:
        # Ctrl-C (or a bug) in the waiting thread: sections not started never start, the calls in flight end
        # now (even a stuck stream), and each section that had finished is already saved by its callback.
        pool.shutdown(wait=False, cancel_futures=True)
        client.abort()
        raise
    pool.shutdown()
    return [results[k] for k in order if k in results]
