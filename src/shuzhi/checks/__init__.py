"""All checks on a draft: facts, invented figures, placeholders, leakage, structure,
timeliness, personal voice and the problems rubric. `run_checks` is the one entry point."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import replace

from ..models import Finding, ParsedDocument, ParsedNotes
from .leakage import leakage_findings, placeholder_findings, typo_findings
from .ledger import InventedFigure, LedgerEntry, build_ledger, find_invented, ledger_findings
from .names import name_findings
from .report import CheckReport, format_report_zh, join_evidence, summarise
from .rubric import diagnose_problems
from .structure import kind_name, section_text, structure_findings
from .timeliness import stale_references
from .voice import voice_findings

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


def _parse(draft_text: str) -> ParsedDocument | None:
    try:
        from ..corpus.parse import parse_text
    except ImportError:  # pragma: no cover - the parser ships with the package
        return None
    try:
        return parse_text(draft_text, "草稿")
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


# What the draft shell writes where a section failed to generate (export.py, draft.py).
_FAILED_SECTION_RE = re.compile(r"〔本节生成失败[：:][^〕]*〕")


def failed_sections(draft_text: str) -> tuple[str, list[str]]:
    """(draft without the "〔本节生成失败：…〕" notes, the notes): a note is not report text,
    so its figures ("HTTP 401") must not be taken for invented facts."""
    found = [m.group(0) for m in _FAILED_SECTION_RE.finditer(draft_text)]
    return (_FAILED_SECTION_RE.sub("", draft_text) if found else draft_text), found


def _failed_finding(notes: list[str]) -> Finding:
    return Finding(
        check="failed_section",
        severity="warn",
        message=f"有节未生成：草稿中有{len(notes)}处“本节生成失败”的说明，这些节还没有正文，"
        "检查时已跳过这些说明。请重新生成这些节，或手动补写后再检查。",
        evidence=join_evidence([n[:80] for n in notes[:3]]),
    )


def _merge_missing_causes(findings: list[Finding]) -> list[Finding]:
    """One gap, one finding: the structure check's "缺少原因分析" and the rubric's "只列了问题，
    没有分析原因" say the same; keep the structure finding with the rubric's advice."""
    structural = next(
        (f for f in findings if f.check == "structure" and f.section == "causes" and "缺少" in f.message), None
    )
    rubric = next(
        (f for f in findings if f.check == "missing_subjective_causes" and not f.evidence), None
    )
    if structural is None or rubric is None:
        return findings
    merged = replace(structural, message=f"草稿缺少「{kind_name('causes')}」部分：{rubric.message}")
    return [merged if f is structural else f for f in findings if f is not rubric]


def run_checks(
    draft_text: str,
    notes: ParsedNotes | None = None,
    year: int | None = None,
    corpus_texts: Mapping[str, str] | None = None,
) -> CheckReport:
    """Check a draft against its notes (facts), the corpus (copying) and the rubric.

    year: the report's year; defaults to the notes' year, then the draft's own.
    corpus_texts: example document name → cleaned text, for the verbatim-copy check.
    """
    from ..notes.parse import note_figures

    draft_text, failed = failed_sections(draft_text)
    doc = _parse(draft_text)
    if year is None:
        year = (notes.meta.year if notes else None) or (doc.year if doc else None)
    findings: list[Finding] = [_failed_finding(failed)] if failed else []
    ledger: list[LedgerEntry] = []
    invented: list[InventedFigure] = []
    if notes is not None:
        figs = note_figures(notes)
        ledger = build_ledger(draft_text, figs)
        invented = find_invented(draft_text, notes, note_figures(notes, include_years=True), year, _section_ranges(doc, draft_text))
        findings.extend(ledger_findings(ledger, invented))
        findings.extend(name_findings(draft_text, notes))
    else:
        findings.append(Finding(check="invented_figure", severity="info", message="未提供笔记，跳过数字出处核对。"))
    findings.extend(leakage_findings(draft_text, corpus_texts))
    if corpus_texts is None:
        findings.append(Finding(check="leakage", severity="info", message="未提供范文，跳过照抄范文检查（广告水印已检查）。"))
    findings.extend(placeholder_findings(draft_text))
    findings.extend(typo_findings(draft_text))
    if doc is not None:
        findings.extend(structure_findings(doc, draft_text))
    if year is not None:
        findings.extend(stale_references(draft_text, year))
    else:
        findings.append(Finding(check="timeliness", severity="info", message="不知道报告年份，跳过时效检查。"))
    problems = section_text(doc, "problems") if doc else ""
    causes = section_text(doc, "causes") if doc else ""
    next_steps = section_text(doc, "next_steps") if doc else ""
    voice = voice_findings(draft_text, f"{problems}\n{causes}" if problems or causes else None)
    findings.extend(voice)
    if problems.strip():
        rubric = diagnose_problems(problems, next_steps or None, causes or None)
        if voice:
            rubric = [f for f in rubric if f.check != "no_first_person"]
        findings.extend(rubric)
    findings = _merge_missing_causes(findings)
    blocking = any(f.severity == "block" for f in findings)
    return CheckReport(
        findings=tuple(findings),
        ledger=tuple(ledger),
        invented=tuple(invented),
        blocking=blocking,
        summary_zh=summarise(findings, ledger),
    )
