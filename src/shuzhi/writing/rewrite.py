"""A weak 存在问题及原因 → a specific, self-critical one: diagnose by rubric, then rewrite."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..config import Settings
from ..errors import LLMError
from ..genre import Genre, SectionKind, resolve
from ..models import Finding, Hit, SearchFilters
from .prompts import render_prompt

if TYPE_CHECKING:
    from ..index.search import CorpusIndex
    from ..llm.client import ChatClient

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = "未配置大模型接口，只给出诊断意见；配置 OPENAI_BASE_URL、OPENAI_API_KEY、SHUZHI_MODEL 后可自动改写。"


@dataclass(frozen=True)
class RewriteResult:
    original: str
    diagnosis: tuple[Finding, ...]
    rewritten: str
    diff: str
    kept: tuple[str, ...]  # figures and names of the input found again in the rewrite
    lost: tuple[str, ...]  # figures and names of the input the rewrite dropped (should be empty)
    exemplar_ids: tuple[str, ...]
    model_configured: bool
    message: str = ""
    error: str = ""
    invented: tuple[str, ...] = ()  # figures of the rewrite that neither the input nor the notes have
    problems_before: int = 0
    problems_after: int = 0


def diagnose(text: str, next_steps_text: str | None = None, genre: Genre | None = None) -> list[Finding]:
    """Rubric findings for a problems(+causes) section; the rubric finds inline causes itself."""
    from ..checks.rubric import diagnose_problems

    return diagnose_problems(text, next_steps_text, genre=genre)


def _quoted_names(text: str) -> list[str]:
    """Quoted names as the user sees them (“活动”, 《文件》), found by the notes' own name extractor."""
    from ..notes.parse import extract_names

    return [n if n.startswith("《") else f"“{n}”" for n in extract_names(text)]


def must_keep(text: str) -> list[str]:
    """Figures and quoted names of the input: the rewrite must carry each of them."""
    from ..figures import extract_figures

    items = [f.raw for f in extract_figures(text)] + _quoted_names(text)
    return list(dict.fromkeys(items))


def check_kept(original: str, rewritten: str) -> tuple[list[str], list[str]]:
    from ..figures import extract_figures, same_figure

    new_figures = extract_figures(rewritten)
    kept: list[str] = []
    lost: list[str] = []
    for fig in extract_figures(original):
        (kept if any(same_figure(fig, other) for other in new_figures) else lost).append(fig.raw)
    for name in _quoted_names(original):
        (kept if name[1:-1] in rewritten else lost).append(name)
    return list(dict.fromkeys(kept)), list(dict.fromkeys(lost))


def find_invented(rewritten: str, sources: str) -> list[str]:
    """Figures of the rewrite found neither in the original section nor in the notes (years excepted)."""
    from ..figures import extract_figures, is_year_like, same_figure

    known = extract_figures(sources)
    return list(dict.fromkeys(
        f.raw for f in extract_figures(rewritten)
        if not is_year_like(f) and not any(same_figure(f, k) for k in known)
    ))


def count_problems(text: str, genre: Genre | None = None) -> int:
    from ..checks.rubric import split_problems

    return len(split_problems(text, genre=genre).problems)


def _rewrite_messages(lost: Sequence[str], invented: Sequence[str], before: int, after: int) -> str:
    parts = []
    if invented:
        parts.append(f"改写稿中出现了原文和笔记都没有的数字：{'、'.join(invented)}，可能是模型编造的，请删除或核实。")
    if lost:
        parts.append(f"改写稿遗漏了原文的：{'、'.join(lost)}，请补回。")
    if after < before:
        parts.append(f"原文列了 {before} 个问题，改写稿只有 {after} 个，请检查是否有问题被删掉。")
    return "".join(parts)


def make_diff(original: str, rewritten: str, genre: Genre | None = None) -> str:
    """Sentence-level unified diff, readable for Chinese prose without line breaks."""
    punctuation = resolve(genre).punctuation

    def lines(text: str) -> list[str]:
        return [s.strip() + "\n" for s in punctuation.sentence_pieces(text) if s.strip()]

    return "".join(difflib.unified_diff(lines(original), lines(rewritten), "原文", "改写", n=1))


def _format_findings(findings: Sequence[Finding]) -> str:
    if not findings:
        return "（未发现明显问题，请在保持事实不变的前提下使表述更具体。）"
    return "\n".join(f"- {f.message}" + (f"（原文：{f.evidence}）" if f.evidence else "") for f in findings)


def retrieve_rewrite_exemplars(index: CorpusIndex, text: str, k_each: int = 2,
                               genre: Genre | None = None) -> list[Hit]:
    """Corpus passages of problems and causes (only those the genre may borrow)."""
    g = resolve(genre)
    hits: list[Hit] = []
    for kind in (SectionKind.PROBLEMS, SectionKind.CAUSES):
        if g.borrows(kind):
            hits += index.search(text[:400], SearchFilters(kind=kind), k=k_each)
    return hits


def build_rewrite_messages(text: str, diagnosis: Sequence[Finding], notes_text: str, next_steps_text: str,
                           exemplars: Sequence[Hit], genre: Genre | None = None) -> list[dict[str, str]]:
    from .exemplars import format_exemplars

    g = resolve(genre)
    keep = must_keep(text)
    user = render_prompt(
        "rewrite_problems",
        genre_title=g.title,
        genre_voice=g.voice or "（无）",
        original=text.strip(),
        diagnosis=_format_findings(diagnosis),
        keep="、".join(keep) if keep else "（无）",
        notes=notes_text.strip() or "（未提供）",
        next_steps=next_steps_text.strip() or "（未提供）",
        exemplars=format_exemplars(exemplars, g),
    )
    return [{"role": "system", "content": render_prompt("rewrite_system")}, {"role": "user", "content": user}]


def rewrite_section(text: str, notes_text: str = "", draft_text: str = "", index: CorpusIndex | None = None,
                    client: ChatClient | None = None, *, settings: Settings,
                    on_token: Callable[[str], None] | None = None, use_model: bool = True,
                    genre: Genre | None = None) -> RewriteResult:
    """Diagnose (by the genre's rubric), then (with a model) rewrite; figures and names of the input
    are checked afterwards."""
    from ..llm.client import ChatClient, resolve_llm_config
    from .draft import tidy_model_text
    g = resolve(genre)
    next_steps = _next_steps_of(draft_text, g)
    findings = tuple(diagnose(text, next_steps or None, g))
    exemplars = retrieve_rewrite_exemplars(index, text, genre=g) if index is not None else []
    ids = tuple(h.chunk.id for h in exemplars)
    if client is None:
        config = resolve_llm_config(settings) if use_model else None  # False: diagnosis only
        if config is None:
            return RewriteResult(text, findings, "", "", (), (), ids, False, NO_MODEL_MESSAGE)
        client = ChatClient(config)
    messages = build_rewrite_messages(text, findings, notes_text, next_steps, exemplars, g)
    try:
        rewritten = tidy_model_text(client.complete(messages, on_token=on_token, temperature=0.3), g)
    except LLMError as exc:
        log.warning("rewrite failed: %s", exc.detail)
        partial = tidy_model_text(getattr(exc, "partial", "") or "", g)
        return RewriteResult(text, findings, partial, "", (), (), ids, True, "", exc.user_message)
    kept, lost = check_kept(text, rewritten)
    invented = find_invented(rewritten, text + "\n" + notes_text)
    before, after = count_problems(text, g), count_problems(rewritten, g)
    return RewriteResult(text, findings, rewritten, make_diff(text, rewritten, g), tuple(kept), tuple(lost), ids,
                         True, _rewrite_messages(lost, invented, before, after), "", tuple(invented), before, after)


def _next_steps_of(draft_text: str, g: Genre) -> str:
    if not draft_text.strip():
        return ""
    from ..corpus.parse import parse_text

    doc = parse_text(draft_text, name="草稿", genre=g)
    return "\n".join((s.heading + s.text) for s in doc.sections if g.role(s.kind) == SectionKind.NEXT_STEPS)
