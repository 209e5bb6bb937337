"""All checks on a draft: facts, invented figures, placeholders, leakage, structure,
timeliness, personal voice and the problems rubric. `run_checks` is the one entry point."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from ..genre import Genre, SectionKind, Severity, resolve, strip_failed_markers
from ..models import Finding, LastYearReport, ParsedDocument, ParsedNotes, TextEmbedder
from .formulations import formulation_findings
from .lastyear import repeat_findings, unanswered_findings
from .leakage import leakage_findings, placeholder_findings, typo_findings
from .ledger import (
    InventedFigure,
    LedgerEntry,
    build_ledger,
    filled_placeholders,
    find_invented,
    ledger_findings,
    placeholder_ledger,
)
from .names import name_findings
from .report import CheckReport, format_report_zh, join_evidence, summarise
from .rubric import diagnose_problems
from .structure import kind_name, section_text, structure_findings
from .timeliness import stale_references
from .voice import voice_findings, writer_names

log = logging.getLogger(__name__)

__all__ = [
    "CheckReport",
    "InventedFigure",
    "LedgerEntry",
    "diagnose_problems",
    "failed_sections",
    "format_report_zh",
    "run_checks",
]


def _parse(draft_text: str, g: Genre) -> ParsedDocument | None:
    try:
        from ..corpus.parse import parse_text
    except ImportError:  # pragma: no cover - the parser ships with the package
        return None
    try:
        return parse_text(draft_text, "草稿", genre=g)
    except Exception as exc:  # noqa: BLE001 - a check must report, not crash
        log.warning("could not parse draft for checks: %s", exc)
        return None


def _section_ranges(doc: ParsedDocument | None, draft_text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each section in the draft text, where its text can be located."""
    if doc is None:
        return []
    starts: list[tuple[int, str]] = []
    pos = 0
    for s in doc.sections:
        probe = (s.heading or s.text)[:20]
        if not probe:
            continue
        at = draft_text.find(probe, pos)
        if at >= 0:
            starts.append((at, s.kind))
            pos = at
    return [(a, starts[i + 1][0] if i + 1 < len(starts) else len(draft_text), k) for i, (a, k) in enumerate(starts)]


def failed_sections(draft_text: str) -> tuple[str, list[str]]:
    """(draft without the "〔本节生成失败：…〕" notes, the notes): a note is not report text,
    so its figures ("HTTP 401") must not be taken for invented facts (shuzhi.genre writes and finds them)."""
    return strip_failed_markers(draft_text)


def _failed_finding(notes: list[str]) -> Finding:
    return Finding(
        check="failed_section",
        severity=Severity.WARN,
        message=f"有节未生成：草稿中有{len(notes)}处“本节生成失败”的说明，这些节还没有正文，"
        "检查时已跳过这些说明。请重新生成这些节，或手动补写后再检查。",
        evidence=join_evidence([n[:80] for n in notes[:3]]),
    )


def _merge_missing_causes(findings: list[Finding], g: Genre) -> list[Finding]:
    """One gap, one finding: the structure check's "缺少原因分析" and the rubric's "只列了问题，
    没有分析原因" say the same; keep the structure finding with the rubric's advice."""
    causes = g.first_like(SectionKind.CAUSES) or SectionKind.CAUSES
    structural = next(
        (f for f in findings if f.check == "structure" and f.section == causes and "缺少" in f.message), None
    )
    rubric = next(
        (f for f in findings if f.check == "missing_subjective_causes" and not f.evidence), None
    )
    if structural is None or rubric is None:
        return findings
    merged = replace(structural, message=f"草稿缺少「{kind_name(causes, g)}」部分：{rubric.message}")
    return [merged if f is structural else f for f in findings if f is not rubric]


def run_checks(
    draft_text: str,
    notes: ParsedNotes | None = None,
    year: int | None = None,
    corpus_texts: Mapping[str, str] | None = None,
    genre: Genre | None = None,
    embedder: TextEmbedder | None = None,
    last_year: LastYearReport | None = None,
) -> CheckReport:
    """Check a draft against its notes (facts), the corpus (copying) and the genre's rubric.

    year: the report's year; defaults to the notes' year, then the draft's own.
    corpus_texts: example document name → cleaned text, for the verbatim-copy check.
    genre: the draft's genre; None: the notes' genre, else the default.
    embedder: optional; problems and measures are then compared by meaning as well as by keywords.
    last_year: last year's report: this year's problems must not copy its wording, and each of its
    problems must be answered somewhere in the draft (repeat_last_year, unanswered_last_year).
    """
    from ..notes.parse import note_figures

    g = resolve(genre if genre is not None else (notes.genre if notes is not None else None))
    draft_text, failed = failed_sections(draft_text)
    doc = _parse(draft_text, g)
    if year is None:
        year = (notes.meta.year if notes else None) or (doc.year if doc else None)
    findings: list[Finding] = [_failed_finding(failed)] if failed else []
    ledger: list[LedgerEntry] = []
    invented: list[InventedFigure] = []
    ranges = _section_ranges(doc, draft_text)
    if notes is not None:
        figs = note_figures(notes, genre=g)
        ledger = build_ledger(draft_text, figs, g) + placeholder_ledger(draft_text, notes, g)
        invented = find_invented(draft_text, notes, note_figures(notes, include_years=True, genre=g), year,
                                 ranges, g, filled_placeholders(draft_text, notes, g))
        findings.extend(ledger_findings(ledger, invented, g))
        # Last year's problems are the user's own material: the rectification part may name them.
        known = notes if last_year is None else replace(
            notes, raw_text="\n".join([notes.raw_text, *(p.title for p in last_year.problems)]))
        findings.extend(name_findings(draft_text, known))
    else:
        findings.append(Finding(check="invented_figure", severity=Severity.INFO, message="未提供笔记，跳过数字出处核对。"))
    findings.extend(leakage_findings(draft_text, corpus_texts))
    if corpus_texts is None:
        findings.append(Finding(check="leakage", severity=Severity.INFO,
                                message="未提供范文，跳过照抄范文检查（广告水印已检查）。"))
    findings.extend(placeholder_findings(draft_text))
    findings.extend(typo_findings(draft_text))
    findings.extend(formulation_findings(draft_text))
    if doc is not None:
        findings.extend(structure_findings(doc, draft_text, g))
    if year is not None:
        findings.extend(stale_references(draft_text, year, g))
    else:
        findings.append(Finding(check="timeliness", severity=Severity.INFO, message="不知道报告年份，跳过时效检查。"))
    problems = section_text(doc, SectionKind.PROBLEMS, g) if doc else ""
    causes = section_text(doc, SectionKind.CAUSES, g) if doc else ""
    next_steps = section_text(doc, SectionKind.NEXT_STEPS, g) if doc else ""
    voice = voice_findings(draft_text, f"{problems}\n{causes}" if problems or causes else None, g, ranges,
                           f"{notes.meta.person} {writer_names(notes.raw_text, g)}" if notes is not None else "")
    findings.extend(voice)
    if problems.strip():
        rubric = diagnose_problems(problems, next_steps or None, causes or None, genre=g, embedder=embedder)
        if any(not f.evidence for f in voice):  # "no first person" said once, not per passage
            rubric = [f for f in rubric if f.check != "no_first_person"]
        findings.extend(rubric)
    if last_year is not None and doc is not None:
        findings.extend(repeat_findings(problems, causes, last_year, g))
        findings.extend(unanswered_findings(section_text(doc, SectionKind.RECTIFICATION, g),
                                            section_text(doc, SectionKind.ACHIEVEMENTS, g), last_year, g))
    findings = _merge_missing_causes(findings, g)
    blocking = any(f.severity == Severity.BLOCK for f in findings)
    return CheckReport(
        findings=tuple(findings),
        ledger=tuple(ledger),
        invented=tuple(invented),
        blocking=blocking,
        summary_zh=summarise(findings, ledger),
    )
