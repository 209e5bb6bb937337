"""Names the draft quotes (《文件》, “活动”) that the notes never mention: the model may have invented them."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

from ..datafiles import load_data, rules_cached
from ..kinds import Severity
from ..models import Finding, ParsedNotes
from .report import join_evidence


@rules_cached
def _standard_names() -> tuple[str, ...]:
    """Names anyone may cite without a source in the notes: fixed formulas, basic Party documents."""
    from ..figures import fixed_phrases

    data = load_data("rubric").get("names", {})
    return tuple(fixed_phrases()) + tuple(str(n) for n in data.get("standard_names", []))


def clear_name_rules() -> None:
    _standard_names.cache_clear()
    _person_rules.cache_clear()


def _is_standard(name: str) -> bool:
    from ..figures import is_lexicon_phrase
    from .timeliness import campaigns

    bare = name.strip("《》“”\"「」『』")
    # Campaigns (data/campaigns.yaml, patterns and aliases) are known names; timeliness dates them.
    return (any(bare == s or (len(s) >= 4 and s in bare) for s in _standard_names())
            or any(c.found_in(bare) for c in campaigns()[0]) or is_lexicon_phrase(bare))


# Quotation marks of any style: “聚人成‘林’” in a draft is "聚人成'林'" in the notes.
_QUOTES_RE = re.compile(r"[“”\"'‘’「」『』]")


_LOOSE_RE = re.compile(r"[\s、·•]")


def _unquoted(text: str) -> str:
    """TEXT without quotation marks, spaces and pauses, full-width forms folded (“党建＋安全” = 党建+安全)."""
    return _LOOSE_RE.sub("", unicodedata.normalize("NFKC", _QUOTES_RE.sub("", text)))


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
    # Sayings' marks on the phrase as written: the pauses _unquoted folds (“重科研、轻监管”) are marks too.
    written = _QUOTES_RE.sub("", name)
    return not any(m in written for m in marks) and not _ordinary_word(bare)


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


@dataclass(frozen=True)
class _PersonRules:
    patterns: tuple[re.Pattern[str], ...]  # each with a group "name"
    surnames: tuple[str, ...]  # longest first
    stop_chars: frozenset[str]
    common_freq: int  # a given name that is a dictionary word this frequent is that word (学生, 群众)
    common_tags: tuple[str, ...]


@rules_cached
def _person_rules() -> _PersonRules | None:
    data = load_data("rubric").get("names", {}).get("persons") or {}

    def alternatives(key: str) -> str:
        return "|".join(re.escape(str(w)) for w in sorted(data.get(key) or [], key=len, reverse=True))

    surnames, titles = alternatives("surnames"), alternatives("titles")
    if not surnames or not titles:
        return None
    name = f"(?P<name>(?:{surnames})[\u4e00-\u9fff]{{1,2}})"
    patterns = [re.compile(f"{name}(?:{titles})"),  # 陈国华教授
                re.compile(rf"(?:{titles}){name}(?=[，,。、；;：:（(\s]|同志|$)")]  # 书记王立群，
    if data.get("cues_before") and data.get("cues_after"):
        patterns.append(re.compile(f"(?:{alternatives('cues_before')}){name}(?:{alternatives('cues_after')})"))
    return _PersonRules(tuple(patterns), tuple(sorted((str(w) for w in data["surnames"]), key=len, reverse=True)),
                        frozenset(str(c) for c in data.get("stop_chars") or []),
                        int(data.get("given_common_freq", 1000)),
                        tuple(str(t) for t in data.get("given_common_tags") or ()))


def _dictionary_tag(word: str) -> str:
    """jieba's part of speech of WORD when it is a dictionary word ("" when it is not)."""
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    if not jieba.dt.FREQ.get(word):
        return ""
    return str(jieba.posseg.dt.word_tag_tab.get(word, "x"))


def _reads_as_person(candidate: str, before: str, rules: _PersonRules) -> bool:
    """CANDIDATE (surname + one or two characters) is a person's name, not the start of an ordinary word:
    not 党委 (党委书记), 全体 (全体教授), 由于 (由 + 于…), 和学生 (老师和学生)."""
    tag = _dictionary_tag(candidate)
    if tag.startswith("nr"):
        return True  # 陈国华, 刘建国: names the dictionary knows
    surname = next((s for s in rules.surnames if candidate.startswith(s)), "")
    given = candidate[len(surname):]
    if not surname or not given or any(c in rules.stop_chars for c in given):
        return False
    for word in (candidate, candidate[:2], candidate[:3], before + candidate[0]):
        if len(word) >= 2 and word != given and (t := _dictionary_tag(word)) and not t.startswith("nr"):
            return False
    # 和学生 (老师和学生): the rest is a common word; 建华, 建国 are rarer words and common given names.
    import jieba

    tag = _dictionary_tag(given)
    return not (len(given) >= 2 and tag in rules.common_tags and jieba.dt.FREQ.get(given, 0) >= rules.common_freq)


def invented_persons(draft_text: str, notes: ParsedNotes) -> list[tuple[str, str]]:
    """(name, passage) of the people the draft names next to a title or a cue that the notes never mention."""
    from .ledger import context_of

    rules = _person_rules()
    if rules is None:
        return []
    notes_text = _unquoted(notes.raw_text)
    found: dict[str, str] = {}
    for pattern in rules.patterns:
        for m in pattern.finditer(draft_text):
            name = m.group("name")
            start = m.start("name")
            before = draft_text[start - 1] if start else ""
            if name in found or name in notes_text or not _reads_as_person(name, before, rules):
                continue
            found[name] = context_of(draft_text, m.start(), m.end())
    return list(found.items())


def name_findings(draft_text: str, notes: ParsedNotes) -> list[Finding]:
    out = []
    persons = invented_persons(draft_text, notes)
    if persons:
        out.append(Finding(
            check="unsourced_name",
            severity=Severity.WARN,
            message=f"草稿提到的人{''.join(f'「{n}」' for n, _ in persons[:8])}在笔记里没有出处。确有其人的，请核对姓名和职务后"
            "补进笔记；没有的，请删去姓名，或改成不点名的写法（如“邀请专家作专题辅导”）。",
            evidence=join_evidence([passage for _, passage in persons]),
        ))
    names = unsourced_names(draft_text, notes)
    if not names:
        return out
    return [*out, Finding(
        check="unsourced_name",
        severity=Severity.WARN,
        message=f"草稿引用的名称{''.join(f'「{n}」' for n in names[:8])}在笔记里没有出处。确有这份文件、这项活动或荣誉的，"
        "请核对名称后把它补进笔记；没有的，请从草稿中删除。",
        evidence=join_evidence(names),
    )]
