"""The fact ledger: every figure of the notes found or missing in the draft, and every
figure of the draft that the notes do not state (invented)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..datafiles import load_data
from ..figures import (
    by_synonym_unit,
    canonical,
    extract_figures,
    is_context_unit,
    is_year_like,
    placeholder_figures,
    same_figure,
    time_spans,
)
from ..genre import Genre, SectionKind, Severity, resolve
from ..models import Figure, Finding, ParsedNotes

_CONTEXT = 14
# Two note lines sharing this many character pairs speak of the same thing ("所里经费审计查出问题4个" and
# "经费审计查出4个问题"): a value repeated across them is one fact.
_RELATED_BIGRAMS = 4


@dataclass(frozen=True)
class LedgerEntry:
    figure_raw: str  # as the notes write it
    value: float
    unit: str
    note_line: str  # the note line (item text or meta line) it comes from
    status: str  # "found" | "missing"
    draft_evidence: str = ""  # the draft passage that states it, when found
    # A fact the notes give with its number left open ("发展党员〔X〕名", value 0): the draft must
    # keep the placeholder or fill it in.
    placeholder: bool = False


@dataclass(frozen=True)
class InventedFigure:
    raw: str
    value: float
    unit: str
    context: str  # the draft passage around it
    start: int = 0
    section: str = ""  # section kind of the draft where it occurs, when known
    severity: Severity = Severity.BLOCK  # WARN for a bare 一 + unit ("一次"), often idiomatic
    # The same number is typed somewhere in the notes (a title, a header line, a file name) but
    # not as a fact: the user wrote it, so it is not called invented.
    typed_in_notes: bool = False
    # It fills a number the notes left as a placeholder ("发展党员〔X〕名" → "4名"): warned, not blocked.
    fills_placeholder: bool = False


def context_of(text: str, start: int, end: int, width: int = _CONTEXT) -> str:
    left = text[max(0, start - width) : start].split("\n")[-1]
    right = text[end : end + width // 2].split("\n")[0]
    return f"{left}{text[start:end]}{right}".strip()


def _bigrams(text: str) -> set[str]:
    s = re.sub(r"[\W\d_]", "", text)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _supports(note_fig: Figure, note_line: str, fig: Figure, draft_text: str) -> bool:
    """NOTE_FIG (of NOTE_LINE) states the draft's FIG: the same figure, and when only through a synonym
    unit ("座谈会十二场" against "支委会12次"), the draft's clause around it shares a word with the note line."""
    if not same_figure(note_fig, fig):
        return False
    if not by_synonym_unit(note_fig, fig):
        return True
    return bool(_bigrams(note_line) & _bigrams(_clause_of(draft_text, fig.start, fig.end)))


_CLAUSE_BREAK = re.compile(r"[，,。；;：:、！？!?\n]")


def _clause_of(text: str, start: int, end: int) -> str:
    """The clause holding text[start:end] (between punctuation marks)."""
    left = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)), default=0)
    right = _CLAUSE_BREAK.search(text, end)
    return text[left : right.start() if right else len(text)]


def _request_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(str(p)) for p in load_data("units").get("request_clause_patterns") or [])


def stated_facts(figures: list[tuple[Figure, str]]) -> list[tuple[Figure, str]]:
    """The note figures that state facts: not those of a clause asking the writer for something
    ("帮我整理成一篇", "字数控制在3000字"; units.yaml request_clause_patterns)."""
    patterns = _request_patterns()
    if not patterns:
        return figures
    return [(fig, line) for fig, line in figures
            if not any(p.search(_note_clause(fig, line) or "") for p in patterns)]


def _note_clause(fig: Figure, line: str) -> str | None:
    """The clause of LINE holding FIG, None when the figure's text is not in the line."""
    at = fig.start if line[fig.start : fig.end] == fig.raw else line.find(fig.raw)
    return _clause_of(line, at, at + len(fig.raw)) if at >= 0 else None


def _similar(a: str, b: str, share: float = 0.6) -> bool:
    """Two clauses say the same thing: most of the shorter one's character pairs are the other's."""
    ba, bb = _bigrams(a), _bigrams(b)
    return bool(ba and bb) and len(ba & bb) >= share * min(len(ba), len(bb))


def build_ledger(draft_text: str, figures: list[tuple[Figure, str]], genre: Genre | None = None) -> list[LedgerEntry]:
    """Match note figures to draft figures one to one, preferring the draft figure whose
    surrounding words best resemble the note line (so two "12次" stay two facts).

    A value the notes repeat ("查摆问题7个, 7个全部整改", or the same 4个问题 in a problem line) is one
    fact: once the draft states it, every occurrence of it in the same or a related note line is found.
    Anniversaries ("建党100周年") date an occasion and are not required (figures.is_context_unit).
    Figures of a request to the writer ("帮我整理成一篇") are no facts and not in the ledger."""
    figures = [(fig, line) for fig, line in stated_facts(figures) if not is_context_unit(fig.unit)]
    drafted = extract_figures(draft_text, genre)
    scored: list[tuple[int, int, int]] = []  # (-score, note index, draft index)
    for ni, (fig, line) in enumerate(figures):
        words = _bigrams(line)
        for di, dfig in enumerate(drafted):
            if _supports(fig, line, dfig, draft_text):
                score = len(words & _bigrams(context_of(draft_text, dfig.start, dfig.end)))
                scored.append((-score, ni, di))
    match: dict[int, int] = {}
    used: set[int] = set()
    for _, ni, di in sorted(scored):
        if ni not in match and di not in used:
            match[ni] = di
            used.add(di)
    # A fact the notes repeat ("发展党员2名" in the year's work and again in a problem, "7个, 7个全部整改")
    # is stated once in the draft: the repetition is found where a found one is, when both stand in the
    # same or a related note line, or their clauses read the same.
    def repeats(ni: int, nj: int) -> bool:
        (fig, line), (other, other_line) = figures[ni], figures[nj]
        if canonical(other) == canonical(fig) and fig.unit and (
                other_line == line or len(_bigrams(other_line) & _bigrams(line)) >= _RELATED_BIGRAMS):
            return True
        return same_figure(fig, other) and _similar(_note_clause(fig, line) or line,
                                                    _note_clause(other, other_line) or other_line)

    for ni in range(len(figures)):
        if ni not in match:
            found = next((d for nj, d in list(match.items()) if repeats(ni, nj)), None)
            if found is not None:
                match[ni] = found
    out = []
    for ni, (fig, line) in enumerate(figures):
        hit = match.get(ni)
        evidence = context_of(draft_text, drafted[hit].start, drafted[hit].end) if hit is not None else ""
        out.append(
            LedgerEntry(
                figure_raw=fig.raw,
                value=fig.value,
                unit=fig.unit,
                note_line=line,
                status="found" if hit is not None else "missing",
                draft_evidence=evidence,
            )
        )
    return out


def placeholder_ledger(draft_text: str, notes: ParsedNotes, genre: Genre | None = None) -> list[LedgerEntry]:
    """Facts the notes state with a placeholder for the number ("发展党员〔X〕名"): found when the draft
    keeps a placeholder of that unit, or fills it in, in a passage resembling the note."""
    return [entry for entry, _ in _placeholder_matches(draft_text, notes, genre)]


def filled_placeholders(draft_text: str, notes: ParsedNotes, genre: Genre | None = None) -> set[int]:
    """Start offsets of the draft figures that fill a placeholder fact of the notes."""
    return {start for _, start in _placeholder_matches(draft_text, notes, genre) if start >= 0}


def _placeholder_matches(draft_text: str, notes: ParsedNotes, genre: Genre | None
                         ) -> list[tuple[LedgerEntry, int]]:
    """(entry, start of the filling draft figure or -1) for each placeholder fact of the notes."""
    g = resolve(genre if genre is not None else notes.genre)
    kept = placeholder_figures(draft_text)
    drafted = [(u, a, b) for _, u, a, b in kept]
    drafted += [(f.unit, f.start, f.end) for f in extract_figures(draft_text, g)]
    used: set[int] = set()
    out = []
    for item in notes.items:
        if g.role(item.section) == SectionKind.CLOSING:
            continue
        for raw, unit, _, _ in placeholder_figures(item.text):
            words = _bigrams(item.text)
            best, best_score = None, 1  # at least two shared bigrams: the same fact, not any "名"
            for di, (dunit, a, b) in enumerate(drafted):
                if di in used or canonical(Figure(raw="", value=0, unit=dunit))[1] != canonical(
                        Figure(raw="", value=0, unit=unit))[1]:
                    continue
                score = len(words & _bigrams(context_of(draft_text, a, b)))
                if score > best_score:
                    best, best_score = di, score
            if best is not None:
                used.add(best)
            evidence = context_of(draft_text, drafted[best][1], drafted[best][2]) if best is not None else ""
            entry = LedgerEntry(figure_raw=raw, value=0.0, unit=unit, note_line=item.text,
                                status="found" if best is not None else "missing",
                                draft_evidence=evidence, placeholder=True)
            filled = drafted[best][1] if best is not None and best >= len(kept) else -1
            out.append((entry, filled))
    return out


def find_invented(
    draft_text: str,
    notes: ParsedNotes,
    note_figs: list[tuple[Figure, str]],
    year: int | None,
    section_at: list[tuple[int, int, str]] | None = None,
    genre: Genre | None = None,
    filled: set[int] | None = None,
) -> list[InventedFigure]:
    """Draft figures the notes do not state (FILLED: starts of figures that fill a placeholder fact). Years Y-1..Y+1 (any year when Y is unknown),
    enumeration and fixed phrases are not figures and never flagged."""
    g = resolve(genre)
    known = [f for f, _ in note_figs]
    note_years = {int(f.value) for f in known if is_year_like(f)}
    if notes.meta.year:
        note_years.add(notes.meta.year)
    timed = time_spans(draft_text)
    typed = extract_figures(notes.raw_text, genre)
    # Anniversaries are matched against the whole notes, fixed phrases included ("建党100周年").
    occasions = [f for f in extract_figures(notes.raw_text, genre, phrases=False) if is_context_unit(f.unit)]
    fact_cues = tuple(str(w) for w in (load_data("lexicon") or {}).get("plan_fact_cues") or [])
    out = []
    for fig in extract_figures(draft_text, genre):
        year_like = is_year_like(fig)
        if year_like:
            v = int(fig.value)
            if year is None or abs(v - year) <= 1 or v in note_years:
                continue
        if any(_supports(k, line, fig, draft_text) for k, line in note_figs):
            continue
        if is_context_unit(fig.unit) and any(same_figure(k, fig) for k in occasions):
            continue
        # A year out of range stays flagged wherever it is ("2021年底前" in a 2024 plan is a slip).
        if not year_like and any(a <= fig.start and fig.end <= b for a, b in timed):
            continue  # 6月底前, 近两年来, 每季度一次: a time or a rhythm, not a claim of fact
        section = ""
        for start, end, kind in section_at or []:
            if start <= fig.start < end:
                section = kind
                break
        idiomatic = fig.raw.startswith("一") and canonical(fig)[0] == 1
        if not year_like and section and g.role(section) == SectionKind.NEXT_STEPS:
            # A commitment ("每名党员每年至少讲2次党课") is a plan, not a fact; only a count stated
            # as already done ("已", "累计") is worth a look, and never blocks.
            sentence = _sentence_at(draft_text, fig.start, g)
            if not any(w in sentence for w in fact_cues):
                continue
            idiomatic = True
        out.append(
            InventedFigure(
                raw=fig.raw,
                value=fig.value,
                unit=fig.unit,
                context=context_of(draft_text, fig.start, fig.end),
                start=fig.start,
                section=section,
                severity=Severity.WARN if idiomatic or fig.start in (filled or set()) else Severity.BLOCK,
                typed_in_notes=any(abs(canonical(fig)[0] - canonical(t)[0]) < 1e-6 for t in typed),
                fills_placeholder=fig.start in (filled or set()),
            )
        )
    return out


def _sentence_at(text: str, pos: int, g: Genre) -> str:
    stops = g.punctuation.full_stops + "\n"
    start = max((text.rfind(c, 0, pos) for c in stops), default=-1) + 1
    ends = [i for i in (text.find(c, pos) for c in stops) if i >= 0]
    return text[start : min(ends) if ends else len(text)]


def ledger_findings(ledger: list[LedgerEntry], invented: list[InventedFigure], genre: Genre | None = None
                    ) -> list[Finding]:
    g = resolve(genre)
    findings = []
    # One finding per note line, not per figure: "this note's 5次、12次 are missing" is what the user acts on.
    missing_by_line: dict[str, list[str]] = {}
    for entry in ledger:
        if entry.status == "missing" and entry.placeholder:
            findings.append(
                Finding(
                    check="ledger",
                    severity=Severity.WARN,
                    message=f"笔记中的「{entry.figure_raw}」是一项数字待填的事实，草稿里没有写到。"
                    "请在草稿中补上这件事：知道数字就填上，暂时不知道就保留占位符，定稿前再填。",
                    evidence=entry.note_line,
                )
            )
        elif entry.status == "missing":
            missing_by_line.setdefault(entry.note_line, []).append(entry.figure_raw)
    for note_line, raws in missing_by_line.items():
        quoted = "".join(f"「{raw}」" for raw in raws)
        findings.append(
            Finding(
                check="ledger",
                severity=Severity.WARN,
                message=f"笔记中的数字{quoted}没有写进草稿，请确认是否需要补上。",
                evidence=note_line,
            )
        )
    for inv in invented:
        if inv.fills_placeholder:
            message = (
                f"笔记里这项事实的数字是占位符，草稿写成了「{inv.raw}」。如果是您核实后填的真实数字，可以保留"
                "（最好也补进笔记）；如果不是，请改回占位符〔X〕，定稿前再填。"
            )
        elif inv.section and g.role(inv.section) == SectionKind.NEXT_STEPS and inv.severity == Severity.WARN:
            message = (
                f"“{g.kind_name(inv.section)}”中的「{inv.raw}」写成了已经完成的数字，"
                "但笔记里没有出处。如果属实，请把它作为一条事实补进笔记；如果只是打算，请改成打算的写法或删去这个数字。"
            )
        elif inv.typed_in_notes:
            message = (
                f"草稿中的「{inv.raw}」在笔记的事实条目里找不到：笔记中虽有同样的数字，但出现在标题、说明行、文件名"
                "或别的事项里，不能作为这句话的依据。请核对是否属实：属实就把它作为一条事实写进笔记，否则删除。"
            )
        elif inv.severity == Severity.BLOCK:
            message = (
                f"草稿中的数字「{inv.raw}」在笔记里找不到出处。"
                "如果属实，请把它作为一条事实补进笔记再重新检查或生成；如果不属实或拿不准，请从草稿中删除。"
            )
        else:
            message = f"草稿中的「{inv.raw}」在笔记里没有出处；如果只是习惯说法可以保留，如果是事实请核实。"
        findings.append(
            Finding(check="invented_figure", severity=inv.severity, message=message, evidence=inv.context, section=inv.section)
        )
    return findings
