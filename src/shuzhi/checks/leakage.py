"""What a draft must not carry over from the examples: ads and watermarks, long verbatim
runs of an example report, and placeholders left unfilled."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..datafiles import load_data, rules_cached
from ..kinds import Severity
from ..models import PLACEHOLDER, Finding
from .ledger import context_of
from .report import join_evidence

_MASK = "\x00"
_WS_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class CopiedRun:
    text: str  # the copied run (whitespace removed)
    source: str  # the example document's name


def _leakage_rules() -> dict[str, Any]:
    data: dict[str, Any] = load_data("rubric")["leakage"]
    return data


def _normalise(text: str, allowed: tuple[str, ...]) -> str:
    text = _WS_RE.sub("", text)
    for phrase in allowed:
        text = text.replace(phrase, _MASK)
    return text


class ShingleIndex:
    """Every `n`-character run of a set of documents, for verbatim-copy lookups."""

    def __init__(self, corpus_texts: Mapping[str, str], n: int, allowed: tuple[str, ...],
                 common_run: int = 0, common_min_docs: int = 2) -> None:
        self.n = n
        self.allowed = allowed
        self.common_run = common_run
        self.common_min_docs = common_min_docs
        self.names = list(corpus_texts)
        self.shingles: dict[str, int] = {}
        self.docs: list[str] = []
        for idx, name in enumerate(self.names):
            norm = _normalise(corpus_texts[name], allowed)
            self.docs.append(norm)
            for i in range(len(norm) - n + 1):
                chunk = norm[i : i + n]
                if _MASK not in chunk:
                    self.shingles.setdefault(chunk, idx)

    def find_runs(self, draft_text: str) -> list[CopiedRun]:
        norm = _normalise(draft_text, self.allowed)
        n = self.n
        runs: list[CopiedRun] = []
        i, last = 0, len(norm) - n
        while i <= last:
            doc = self.shingles.get(norm[i : i + n])
            if doc is None:
                i += 1
                continue
            j = i
            while j + 1 <= last and self.shingles.get(norm[j + 1 : j + 1 + n]) == doc:
                j += 1
            run = norm[i : j + n]
            if self._own_chars(run) >= n:
                runs.append(CopiedRun(run, self.names[doc]))
            i = j + n
        return runs

    def _own_chars(self, run: str) -> int:
        """Characters of RUN outside common wording: runs of common_run characters that occur in at
        least common_min_docs example documents (shared official phrasing, not one report's text)."""
        k = self.common_run
        if k <= 0 or len(self.docs) < self.common_min_docs or len(run) < k:
            return len(run)
        common = bytearray(len(run))
        for i in range(len(run) - k + 1):
            gram = run[i : i + k]
            if sum(1 for doc in self.docs if gram in doc) >= self.common_min_docs:
                common[i : i + k] = b"\x01" * k
        return len(run) - sum(common)


@rules_cached(maxsize=4)
def _cached_index(items: tuple[tuple[str, str], ...], n: int, allowed: tuple[str, ...],
                  common_run: int, common_min_docs: int) -> ShingleIndex:
    return ShingleIndex(dict(items), n, allowed, common_run, common_min_docs)


def allowed_phrases() -> tuple[str, ...]:
    """Wording a draft may share with the examples: rubric.yaml leakage.allowed_phrases and the
    lexicon's stock_phrases, longest first (so a longer phrase is masked whole)."""
    stock = (load_data("lexicon") or {}).get("stock_phrases") or []
    phrases = {str(p) for p in [*_leakage_rules()["allowed_phrases"], *stock]}
    return tuple(sorted(phrases, key=len, reverse=True))


def shingle_index(corpus_texts: Mapping[str, str]) -> ShingleIndex:
    """A (cached) index of the corpus; the same texts give the same index object."""
    rules = _leakage_rules()
    items = tuple(sorted(corpus_texts.items()))
    return _cached_index(items, int(rules["min_run"]), allowed_phrases(),
                         int(rules.get("common_run") or 0), int(rules.get("common_min_docs") or 2))


def find_copied_runs(draft_text: str, corpus_texts: Mapping[str, str]) -> list[CopiedRun]:
    if not corpus_texts:
        return []
    return shingle_index(corpus_texts).find_runs(draft_text)


def find_ads(draft_text: str) -> list[str]:
    from ..corpus.clean import find_ad_spans

    return [s for s in find_ad_spans(draft_text) if s.strip()]


def find_placeholders(draft_text: str) -> list[str]:
    """Contexts of every placeholder left in the draft (xx, XXX, **, 〔X〕, 某某 …)."""
    from ..corpus.clean import normalise_placeholders

    normalised, _ = normalise_placeholders(draft_text, markdown=True)
    return [_placeholder_context(normalised, m.start(), m.end()) for m in _draft_placeholder_re().finditer(normalised)]


_PLACEHOLDER_LEFT, _PLACEHOLDER_RIGHT = 10, 12
_CLAUSE_END = re.compile(r"[，,。；;：:、！？!?（）()“”\"\n]")


def _placeholder_context(text: str, start: int, end: int) -> str:
    """The placeholder with the words around it: 10 characters before, and after it up to the end of
    its clause (the next punctuation, at most 12 characters), so the whole name it stands in
    ("某某物业服务有限公司") is quoted."""
    left = text[max(0, start - _PLACEHOLDER_LEFT) : start].split("\n")[-1]
    stop = _CLAUSE_END.search(text, end, end + _PLACEHOLDER_RIGHT)
    right = text[end : stop.start() if stop else min(len(text), end + _PLACEHOLDER_RIGHT)]
    return f"{left}{text[start:end]}{right}".strip()


@rules_cached
def _draft_placeholder_re() -> re.Pattern[str]:
    extra = [str(p) for p in load_data("rubric")["placeholders"]["extra_patterns"]]
    draft_only = [str(p) for p in (load_data("placeholders") or {}).get("draft_patterns") or []]
    return re.compile("|".join([re.escape(PLACEHOLDER), *extra, *draft_only]), re.MULTILINE)


def leakage_findings(draft_text: str, corpus_texts: Mapping[str, str] | None) -> list[Finding]:
    findings = []
    for span in find_ads(draft_text):
        findings.append(
            Finding(
                check="leakage",
                severity=Severity.BLOCK,
                message="草稿中混入了范文里的广告、水印或付费标记，必须删除后才能使用。",
                evidence=span,
            )
        )
    for run in find_copied_runs(draft_text, corpus_texts or {}):
        findings.append(
            Finding(
                check="leakage",
                severity=Severity.BLOCK,
                message=f"有连续{len(run.text)}个字与范文《{run.source}》完全相同，属于照抄范文，请改写成本单位自己的内容。",
                evidence=f"{run.text}（来源：{run.source}）",
            )
        )
    return findings


def placeholder_findings(draft_text: str) -> list[Finding]:
    spots = find_placeholders(draft_text)
    if not spots:
        return []
    return [
        Finding(
            check="placeholder",
            severity=Severity.WARN,
            message=f"草稿中还有{len(spots)}处占位符（如{PLACEHOLDER}、XX、某某），"
            "这是留给您填写的真实数字或名称：笔记里没有的内容不会替您编造，定稿前请逐一填上或删去。",
            evidence=join_evidence(spots[:10]),
        )
    ]


def typo_findings(draft_text: str) -> list[Finding]:
    """Known source typos (data/typos.yaml) in the draft, one finding per wrong form."""
    from ..corpus.clean import fix_typos

    _, applied = fix_typos(draft_text)
    out = []
    for wrong, right in applied:
        at = draft_text.find(wrong)
        out.append(
            Finding(
                check="typo",
                severity=Severity.WARN,
                message=f"草稿中有错别字「{wrong}」，应为「{right}」（范文来源中常见的错字），请改正。",
                evidence=context_of(draft_text, at, at + len(wrong), 10) if at >= 0 else wrong,
            )
        )
    return out
