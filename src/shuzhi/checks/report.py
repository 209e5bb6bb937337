"""The result of all checks on one draft, and its Chinese rendering."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..kinds import Severity
from ..models import Finding
from .ledger import InventedFigure, LedgerEntry

_EVIDENCE_TRIM = " \t\n；;，,、。"


def join_evidence(parts: list[str] | tuple[str, ...], sep: str = "；") -> str:
    """Evidence passages joined once by SEP: a passage's own final "；"/"。" is dropped first,
    so the result never reads "…；；…"."""
    cleaned = [p.strip(_EVIDENCE_TRIM) for p in parts]
    return sep.join(p for p in cleaned if p)


_SEVERITY_ZH = {Severity.BLOCK: "必须处理", Severity.WARN: "建议修改", Severity.INFO: "说明"}
_CHECK_ZH = {
    "ledger": "数字核对",
    "invented_figure": "无出处的数字",
    "unsourced_name": "无出处的名称",
    "placeholder": "占位符",
    "leakage": "照抄范文/广告",
    "structure": "结构",
    "timeliness": "时效",
    "voice": "第一人称",
    "vague": "问题空泛",
    "objective_excuse": "原因找客观",
    "strength_as_weakness": "以优代缺",
    "missing_subjective_causes": "缺少主观原因",
    "causes_restate_problems": "原因重复问题",
    "no_first_person": "没有本人责任",
    "no_matching_measure": "措施不对应",
    "empty_formula": "套话堆砌",
    "others_only": "只讲别人",
    "omitted_shortfall": "回避笔记中的不足",
    "typo": "错别字",
    "formulation": "提法规范",
    "failed_section": "有节未生成",
    "repeat_last_year": "照搬上年度问题",
    "unanswered_last_year": "上年度问题未回应",
}


@dataclass(frozen=True)
class CheckReport:
    findings: tuple[Finding, ...]
    ledger: tuple[LedgerEntry, ...]
    invented: tuple[InventedFigure, ...]
    blocking: bool  # any finding of severity "block": the CLI exits non-zero
    summary_zh: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (lists, not tuples)."""
        return {
            "findings": [asdict(f) for f in self.findings],
            "ledger": [asdict(e) for e in self.ledger],
            "invented": [asdict(i) for i in self.invented],
            "blocking": self.blocking,
            "summary_zh": self.summary_zh,
        }

    def by_severity(self, severity: Severity | str) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]


def check_name_zh(check: str) -> str:
    """The short Chinese name of a check ("strength_as_weakness" → 以优代缺)."""
    return _CHECK_ZH.get(check, check)


def summarise(findings: list[Finding], ledger: list[LedgerEntry]) -> str:
    blocks = sum(f.severity == Severity.BLOCK for f in findings)
    warns = sum(f.severity == Severity.WARN for f in findings)
    parts = []
    if blocks:
        parts.append(f"{blocks}处必须处理")
    if warns:
        parts.append(f"{warns}处建议修改")
    head = "检查未发现问题" if not parts else "检查发现" + "、".join(parts)
    if ledger:
        found = sum(e.status == "found" for e in ledger)
        head += f"；笔记中的{len(ledger)}个数字已写入{found}个"
    return head + "。"


def format_report_zh(report: CheckReport) -> str:
    """Human-readable Chinese report: summary, findings by severity, then the ledger."""
    lines = [report.summary_zh]
    for severity in Severity:
        group = report.by_severity(severity)
        if not group:
            continue
        lines.append("")
        lines.append(f"【{_SEVERITY_ZH[severity]}】")
        for i, f in enumerate(group, 1):
            lines.append(f"{i}. [{_CHECK_ZH.get(f.check, f.check)}] {f.message}")
            if f.evidence:
                lines.append(f"   依据：{f.evidence}")
    if report.ledger:
        lines.append("")
        lines.append("【数字台账】")
        for e in report.ledger:
            mark = "✓" if e.status == "found" else "✗"
            where = f" ← {e.draft_evidence}" if e.draft_evidence else "（草稿中未找到）"
            lines.append(f"{mark} {e.figure_raw}（笔记：{e.note_line[:30]}）{where}")
    return "\n".join(lines)
