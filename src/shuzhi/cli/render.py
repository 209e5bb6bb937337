"""How the CLI prints results for people (the JSON shapes are built in `commands`)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, is_dataclass
from typing import Any, TextIO

from shuzhi.api import (
    CheckReport,
    DraftOutcome,
    Hit,
    ParsedDocument,
    Plan,
    RewriteResult,
    SessionInfo,
    format_report_zh,
    strip_control_chars,
)


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-data view of a result dataclass, for JSON output."""
    if not is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"not a dataclass instance: {type(obj).__name__}")
    return asdict(obj)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def print_parsed(doc: ParsedDocument) -> None:
    print(f"标题：{doc.title or '（无）'}\n年度：{doc.year or '未识别'}\n单位类型：{doc.org_type or '未识别'}")
    for section in doc.sections:
        indent = "  " * max(section.level - 1, 0)
        theme = f"［{section.theme}］" if section.theme else ""
        print(f"{indent}- {section.kind}{theme} {section.heading}")
        for point in section.points:
            print(f"{indent}    {point.label}{point.text[:60]}")
    print(f"\n清洗移除 {len(doc.removed)} 处：")
    for removal in doc.removed:
        print(f"  [{removal.reason}] {removal.text[:60]}")


def _plain(text: str) -> str:
    """Corpus text for a terminal: an index built before loading stripped them may still hold ESC sequences."""
    return strip_control_chars(str(text))


def print_hits(hits: list[Hit]) -> None:
    if not hits:
        print("没有找到匹配的范文片段。")
    for n, h in enumerate(hits, start=1):
        print(f"{n}. [{_plain(h.chunk.kind)}] {_plain(h.chunk.source)} › {_plain(h.chunk.heading_path)}"
              f"  (score {h.score:.4f})")
        print(f"   {_plain(h.chunk.text)}\n")


def print_plan(plan: Plan) -> None:
    print(f"《{plan.title}》")
    for section in plan.sections:
        indent = "  " if section.level >= 2 else ""
        label = section.heading or {"opening": "（开头）", "closing": "（结束语）"}.get(section.kind, section.kind)
        print(f"{indent}- [{section.kind}] {label}")
        for note in section.notes:
            print(f"{indent}    · {note}")
            reason = plan.assignment_for(note, section.key)
            if reason is not None and reason.why:
                print(f"{indent}      （{reason.why}）")
        for line in section.context:
            print(f"{indent}    ↳ 呼应问题：{line}")
    for line in plan.excluded:
        print(f"- [未作为事实] {line}")
    if plan.excluded:
        print("  如需把其中一行作为事实，请用 --plan-only --json 导出提纲，把该行从 excluded 移到相应节的 notes，"
              "再用 --plan 使用该提纲；或用 --include \"该行文字\"。")


def print_no_model(outcome: DraftOutcome, as_json: bool) -> None:
    if as_json:
        print_json({
            "model_configured": False, "message": outcome.message, "warnings": list(outcome.warnings),
            "plan": to_dict(outcome.plan), "session_id": outcome.session_id,
            "sections": [
                {"key": j.section.key, "kind": j.section.kind, "heading": j.section.heading,
                 "notes": list(j.section.notes),
                 "exemplars": [{"text": h.chunk.text, "source": h.chunk.source, "heading_path": h.chunk.heading_path,
                                "id": h.chunk.id} for h in j.exemplars]}
                for j in outcome.jobs
            ],
        })
        return
    print_plan(outcome.plan)
    print("\n各节参考范文：")
    for job in outcome.jobs:
        print(f"\n== {job.section.key} {job.section.heading}")
        for hit in job.exemplars[:2]:
            print(f"  〔{hit.chunk.source} › {hit.chunk.heading_path}〕{hit.chunk.text[:120]}")
    print(f"\n{outcome.message}", file=sys.stderr)
    print(f"笔记和提纲已保存为会话 {outcome.session_id}。", file=sys.stderr)


def print_check(report: CheckReport, stream: TextIO | None = None) -> None:
    print(("\n" if stream is not None else "") + format_report_zh(report), file=stream or sys.stdout)


def print_rewrite(result: RewriteResult) -> None:
    print("诊断：")
    for f in result.diagnosis:
        print(f"  - {f.message}" + (f"（{f.evidence}）" if f.evidence else ""))
    if not result.diagnosis:
        print("  未发现明显问题。")
    if result.rewritten:
        print("\n改写稿：\n" + result.rewritten)
        print("\n修改对照（逐句；- 原文，+ 改写稿，空格开头为未改动）：\n" + result.diff)
        print("\n复查改写稿：")
        for f in result.after:
            print(f"  - {f.message}" + (f"（{f.evidence}）" if f.evidence else ""))
        if not result.after:
            print("  未发现明显问题。")


def print_sessions(sessions: list[SessionInfo]) -> None:
    if not sessions:
        print("还没有保存的会话。")
    for s in sessions:
        print(f"{s.id}  {s.updated}  {s.title}")
