"""Names the draft quotes (《文件》, “活动”) that the notes never mention: the model may have invented them."""

from __future__ import annotations

import logging
import re

from ..datafiles import load_data, rules_cached
from ..kinds import Severity
from ..models import Finding, ParsedNotes
from .report import join_evidence


@rules_cached
def _standard_names() -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    """Names anyone may cite without a source in the notes: fixed formulas, basic Party documents, campaigns."""
    from ..figures import fixed_phrases

    data = load_data("rubric").get("names", {})
    # data/campaigns.yaml lists its campaigns under `entries` (shuzhi.checks.timeliness reads the same).
    campaigns = tuple(re.compile(str(c["pattern"])) for c in load_data("campaigns").get("entries", [])
                      if isinstance(c, dict) and c.get("pattern"))
    return tuple(fixed_phrases()) + tuple(str(n) for n in data.get("standard_names", [])), campaigns


def clear_name_rules() -> None:
    _standard_names.cache_clear()


def _is_standard(name: str) -> bool:
    from ..figures import is_lexicon_phrase

    bare = name.strip("《》“”\"「」『』")
    phrases, campaigns = _standard_names()
    return (any(bare == s or (len(s) >= 4 and s in bare) for s in phrases) or any(c.search(bare) for c in campaigns)
            or is_lexicon_phrase(bare))


# Quotation marks of any style: “聚人成‘林’” in a draft is "聚人成'林'" in the notes.
_QUOTES_RE = re.compile(r"[“”\"'‘’「」『』]")


def _unquoted(text: str) -> str:
    return _QUOTES_RE.sub("", text)


@rules_cached
def _name_words() -> tuple[tuple[str, ...], tuple[str, ...]]:
    data = load_data("rubric").get("names", {})
    return (tuple(str(w) for w in data.get("quoted_name_endings", [])),
            tuple(str(w) for w in data.get("saying_marks", [])))


def _ordinary_word(text: str) -> bool:
    """TEXT is one word of the general dictionary (jieba's): “薄弱环节”, “急难险重” in quotation marks
    are emphasis on an ordinary word, not the name of a document, activity or honour."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba.lcut(text, HMM=False) == [text] and jieba.dt.FREQ.get(text, 0) > 0


def _names_something(name: str, draft_text: str) -> bool:
    """《…》 always; “…” unless it reads as a saying or is an ordinary word, and does not end like a name."""
    if f"《{name}》" in draft_text or name.startswith("《"):
        return True
    endings, marks = _name_words()
    bare = _unquoted(name)
    if bare.endswith(endings):
        return True
    return not any(m in bare for m in marks) and not _ordinary_word(bare)


def unsourced_names(draft_text: str, notes: ParsedNotes) -> list[str]:
    from ..notes.parse import extract_names

    notes_text = _unquoted(notes.raw_text)
    min_chars = int(load_data("rubric").get("names", {}).get("min_chars", 4))
    found = []
    for name in extract_names(draft_text):
        bare = name.strip("《》")
        if len(bare) < min_chars or _unquoted(bare) in notes_text or _is_standard(name) \
                or not _names_something(name, draft_text):
            continue
        found.append(name if name.startswith("《") else f"“{name}”")
    return found


def name_findings(draft_text: str, notes: ParsedNotes) -> list[Finding]:
    names = unsourced_names(draft_text, notes)
    if not names:
        return []
    return [Finding(
        check="unsourced_name",
        severity=Severity.WARN,
        message=f"草稿引用的名称{''.join(f'「{n}」' for n in names[:8])}在笔记里没有出处。确有这份文件、这项活动或荣誉的，"
        "请核对名称后把它补进笔记；没有的，请从草稿中删除。",
        evidence=join_evidence(names),
    )]
