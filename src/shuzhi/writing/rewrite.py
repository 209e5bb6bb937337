"""A weak 存在问题及原因 → a specific, self-critical one: diagnose by rubric, then rewrite."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..config import Settings
from ..errors import LLMError
from ..genre import Genre, SectionKind, resolve, split_sentences
from ..models import Finding, Hit, SearchFilters, TextEmbedder
from .prompts import render_prompt

if TYPE_CHECKING:
    from ..index.search import CorpusIndex
    from ..llm.client import ChatClient

log = logging.getLogger(__name__)

NO_MODEL_MESSAGE = "未配置大模型接口，只给出诊断意见；在应用的“设置”页填写模型接口后可自动改写（命令行：设置环境变量 OPENAI_BASE_URL、OPENAI_API_KEY、SHUZHI_MODEL）。"


EMPTY_REWRITE_MESSAGE = "模型的回答去掉代码标记和标题后没有任何正文，没有得到改写稿：请重试。"


DiffKind = Literal["same", "changed", "removed", "added"]


@dataclass(frozen=True)
class DiffPair:
    """One row of the side-by-side view: a sentence of the original and what became of it."""

    kind: DiffKind  # "same" | "changed" | "removed" (before only) | "added" (after only)
    before: str
    after: str


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
    after: tuple[Finding, ...] = ()  # the same rubric on the rewrite
    fixed: tuple[str, ...] = ()  # rubric checks of the original the rewrite no longer has
    remaining: tuple[str, ...] = ()  # rubric checks the rewrite still has (empty: clean)
    pairs: tuple[DiffPair, ...] = ()  # sentence by sentence, for a side-by-side view

    @property
    def fixed_names(self) -> tuple[str, ...]:
        """`fixed` in Chinese (以优代缺, 原因找客观 …)."""
        return tuple(_check_name(c) for c in self.fixed)

    @property
    def remaining_names(self) -> tuple[str, ...]:
        """`remaining` in Chinese."""
        return tuple(_check_name(c) for c in self.remaining)


def diagnose(text: str, next_steps_text: str | None = None, genre: Genre | None = None,
             notes_text: str | None = None, embedder: TextEmbedder | None = None) -> list[Finding]:
    """Rubric findings for a problems(+causes) section; the rubric finds inline causes itself.
    EMBEDDER (optional) lets problems and measures be compared by meaning."""
    from ..checks.rubric import diagnose_problems

    return diagnose_problems(text, next_steps_text, genre=genre, notes_text=notes_text or None, embedder=embedder)


def compare_diagnoses(before: Sequence[Finding], after: Sequence[Finding]) -> tuple[list[str], list[str]]:
    """(fixed, remaining): checks of BEFORE that AFTER no longer has; every check AFTER still has."""
    remaining = list(dict.fromkeys(f.check for f in after))
    fixed = [c for c in dict.fromkeys(f.check for f in before) if c not in remaining]
    return fixed, remaining


def _check_name(check: str) -> str:
    from ..checks.report import check_name_zh

    return check_name_zh(check)


def _recheck_message(after: Sequence[Finding], fixed: Sequence[str], remaining: Sequence[str]) -> str:
    """What the rubric says of the rewrite, in plain Chinese."""
    parts = []
    if remaining:
        named = []
        for check in remaining:
            evidence = "、".join(f.evidence for f in after if f.check == check and f.evidence)
            named.append(_check_name(check) + (f"（{evidence[:40]}）" if evidence else ""))
        parts.append(f"改写稿仍有以下问题：{'、'.join(named)}，请继续修改。")
    if fixed:
        parts.append(f"改写稿已改正：{'、'.join(_check_name(c) for c in fixed)}。")
    return "".join(parts)


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


def diff_sentences(text: str, genre: Genre | None = None) -> list[str]:
    """Sentences of TEXT line by line, cut after 。！？； (never inside quotes), stripped."""
    g = resolve(genre)
    out: list[str] = []
    for line in text.splitlines():
        out += [s.strip() for s in split_sentences(line, g) if s.strip()]
    return out


def make_pairs(original: str, rewritten: str, genre: Genre | None = None) -> list[DiffPair]:
    """The original and the rewrite aligned sentence by sentence."""
    before, after = diff_sentences(original, genre), diff_sentences(rewritten, genre)
    pairs: list[DiffPair] = []
    matcher = difflib.SequenceMatcher(a=before, b=after, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pairs += [DiffPair("same", s, s) for s in before[i1:i2]]
            continue
        pairs += _align(before[i1:i2], after[j1:j2])
    return pairs


_SAME_SENTENCE = 0.35  # character similarity from which a rewritten sentence counts as the old one changed


def _align(old: list[str], new: list[str]) -> list[DiffPair]:
    """A replaced block, sentence by sentence: similar sentences paired (changed) in order, the
    others removed or added (a weighted longest common subsequence)."""
    def sim(a: str, b: str) -> float:
        r = difflib.SequenceMatcher(a=a, b=b, autojunk=False).ratio()
        return r if r >= _SAME_SENTENCE else 0.0

    n, m = len(old), len(new)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            s = sim(old[i], new[j])
            score[i][j] = max(score[i + 1][j], score[i][j + 1], score[i + 1][j + 1] + s if s else 0.0)
    out: list[DiffPair] = []
    i = j = 0
    while i < n and j < m:
        s = sim(old[i], new[j])
        if s and score[i][j] == score[i + 1][j + 1] + s:
            out.append(DiffPair("changed", old[i], new[j]))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            out.append(DiffPair("removed", old[i], ""))
            i += 1
        else:
            out.append(DiffPair("added", "", new[j]))
            j += 1
    out += [DiffPair("removed", s, "") for s in old[i:]]
    out += [DiffPair("added", "", s) for s in new[j:]]
    return out


def format_diff(pairs: Sequence[DiffPair]) -> str:
    """One line per sentence: "  " unchanged, "- " removed, "+ " added (a changed sentence: both)."""
    lines: list[str] = []
    for p in pairs:
        if p.kind == "same":
            lines.append("  " + p.before)
        if p.kind in ("changed", "removed"):
            lines.append("- " + p.before)
        if p.kind in ("changed", "added"):
            lines.append("+ " + p.after)
    return "\n".join(lines) + ("\n" if lines else "")


def make_diff(original: str, rewritten: str, genre: Genre | None = None) -> str:
    """Sentence diff, readable for Chinese prose without line breaks: every line marked."""
    return format_diff(make_pairs(original, rewritten, genre))


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
                    genre: Genre | None = None, embedder: TextEmbedder | None = None) -> RewriteResult:
    """Diagnose (by the genre's rubric), then (with a model) rewrite; figures and names of the input
    are checked afterwards, and the rewrite is diagnosed again by the same rubric (`after`,
    `fixed`, `remaining`). EMBEDDER (optional) compares problems and measures by meaning."""
    from ..llm.client import ChatClient
    from ..llm.config import resolve_llm_config
    from .draft import tidy_model_text
    g = resolve(genre)
    next_steps = _next_steps_of(draft_text, g)
    findings = tuple(diagnose(text, next_steps or None, g, notes_text, embedder))
    exemplars = retrieve_rewrite_exemplars(index, text, genre=g) if index is not None else []
    ids = tuple(h.chunk.id for h in exemplars)
    if client is None:
        config = resolve_llm_config(settings) if use_model else None  # False: diagnosis only
        if config is None:
            return RewriteResult(text, findings, "", "", (), (), ids, False, NO_MODEL_MESSAGE)
        client = ChatClient(config)
    messages = build_rewrite_messages(text, findings, notes_text, next_steps, exemplars, g)
    try:
        answer = client.complete(messages, on_token=on_token, temperature=0.3)
    except LLMError as exc:  # a malformed, empty, cut or stuck answer: its own message, the text so far kept
        log.warning("rewrite failed [%s]: %s", exc.code, exc.detail)
        partial = tidy_model_text(getattr(exc, "partial", "") or "", g)
        return RewriteResult(text, findings, partial, "", (), (), ids, True, "", exc.user_message)
    rewritten = tidy_model_text(answer, g)
    if not rewritten:  # only fences or a heading line: no rewrite at all
        log.warning("rewrite: the answer of %d chars had no text once tidied", len(answer))
        return RewriteResult(text, findings, "", "", (), (), ids, True, "", EMPTY_REWRITE_MESSAGE)
    kept, lost = check_kept(text, rewritten)
    invented = find_invented(rewritten, text + "\n" + notes_text)
    before, after = count_problems(text, g), count_problems(rewritten, g)
    rechecked = tuple(diagnose(rewritten, next_steps or None, g, notes_text, embedder))
    fixed, remaining = compare_diagnoses(findings, rechecked)
    pairs = make_pairs(text, rewritten, g)
    message = _rewrite_messages(lost, invented, before, after) + _recheck_message(rechecked, fixed, remaining)
    return RewriteResult(text, findings, rewritten, format_diff(pairs), tuple(kept), tuple(lost), ids,
                         True, message, "", tuple(invented), before, after,
                         rechecked, tuple(fixed), tuple(remaining), tuple(pairs))


def _next_steps_of(draft_text: str, g: Genre) -> str:
    if not draft_text.strip():
        return ""
    from ..corpus.parse import parse_text

    doc = parse_text(draft_text, name="草稿", genre=g)
    # Heading and body on lines of their own: glued together, the heading swallows the first measure.
    return "\n".join(f"{s.heading}\n{s.text}".strip() for s in doc.sections if g.role(s.kind) == SectionKind.NEXT_STEPS)
