"""What each subcommand does: `cmd_*(args, settings) -> exit code`, output to stdout/stderr.

The parser that routes to them, and `main`, are in `cli.py`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import ShuzhiError
from ..models import DraftEvents, SearchFilters, SectionDraft, to_dict

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _read_text_file(path: str) -> str:
    from ..corpus.load import load_file

    loaded = load_file(Path(path))
    return "\n".join(b.text for b in loaded.blocks)


# ------------------------------------------------------------------ index / parse / search
def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from ..index.search import CorpusIndex

    index = CorpusIndex(settings)
    if args.add and not args.corpus:
        raise ShuzhiError("--add 要和 --corpus 一起用，例如：shuzhi index --corpus 新目录 --add。")
    if args.if_missing and index.has_index():
        print("范文库索引已存在，跳过。")
        return EXIT_OK
    # --corpus replaces the remembered folders; with --add it extends them; without it the
    # folders of the last build are indexed again (Settings.corpus_dirs for a brand-new index).
    dirs: list[Path] | None = None
    if args.corpus:
        dirs = [Path(p) for p in args.corpus]
        if args.add:
            dirs = [*index.corpus_dirs(), *dirs]
    report = index.build(dirs, rebuild=args.rebuild, on_progress=lambda msg: print(msg, file=sys.stderr))
    indexed = [str(d) for d in index.corpus_dirs()]
    if args.json:
        _print_json({**to_dict(report), "corpus_dirs": indexed})
        return EXIT_OK
    print(f"范文目录：{'、'.join(indexed)}")
    print(f"文档 {report.documents} 篇，章节 {report.sections} 个，片段 {report.chunks} 个；"
          f"本次新嵌入 {report.embedded} 个，移除 {report.removed} 个；用时 {report.seconds:.1f} 秒。")
    if report.embedded == 0:
        print("没有新的或改动的片段需要嵌入。")
    for warning in report.warnings:
        print(f"注意：{warning}", file=sys.stderr)
    for skipped in report.skipped:
        print(f"已跳过：{skipped}", file=sys.stderr)
    return EXIT_OK


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    from ..corpus.parse import parse_file

    doc = parse_file(Path(args.file), settings.file_limits())
    if args.json:
        data = to_dict(doc)
        data["removed"] = [to_dict(r) for r in doc.removed]
        _print_json(data)
        return EXIT_OK
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
    return EXIT_OK


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from ..index import ensure_index

    index = ensure_index(settings, on_progress=lambda msg: print(msg, file=sys.stderr))
    hits = index.search(args.query, SearchFilters(kind=args.kind, theme=args.theme, year=args.year), k=args.k)
    if args.json:
        _print_json([
            {"text": h.chunk.text, "kind": h.chunk.kind, "theme": h.chunk.theme, "source": h.chunk.source,
             "heading_path": h.chunk.heading_path, "year": h.chunk.year, "score": round(h.score, 6),
             "id": h.chunk.id}
            for h in hits
        ])
        return EXIT_OK
    if not hits:
        print("没有找到匹配的范文片段。")
    for n, h in enumerate(hits, start=1):
        print(f"{n}. [{h.chunk.kind}] {h.chunk.source} › {h.chunk.heading_path}  (score {h.score:.4f})")
        print(f"   {h.chunk.text}\n")
    return EXIT_OK


# ------------------------------------------------------------------ draft
class _StreamPrinter:
    """Prints section progress to stderr so stdout stays clean for --json / the draft."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def events(self) -> DraftEvents:
        return DraftEvents(on_section_start=self.start, on_section_done=self.done, on_error=self.error)

    def start(self, key: str) -> None:
        if self.enabled:
            print(f"… 正在撰写 {key}", file=sys.stderr)

    def done(self, draft: SectionDraft) -> None:
        if self.enabled and not draft.error:
            print(f"✓ {draft.key} 完成（{len(draft.text)} 字）", file=sys.stderr)

    def error(self, key: str, message: str) -> None:
        print(f"✗ {key}：{message}", file=sys.stderr)


def _check_output_paths(*paths: str | None) -> None:
    """Refuse a bad output path before any model call, not after ten of them."""
    for path in paths:
        if path and not Path(path).expanduser().resolve().parent.is_dir():
            raise ShuzhiError(f"输出文件夹不存在：{Path(path).parent}，请先建立该文件夹或换一个路径。",
                              f"output dir missing for {path}")


def _read_plan(path: str) -> Any:
    from ..writing.plan import plan_from_json

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShuzhiError(f"无法读取提纲文件「{Path(path).name}」，请检查路径和编码（应为 UTF-8 的 JSON）。",
                          str(exc)) from exc
    return plan_from_json(text)


def _notes_with_plan_facts(notes_text: str, plan: Any) -> str:
    """Facts the user typed into an edited plan are theirs too: the check must not call them invented."""
    extra = [n for s in plan.sections for n in s.notes if n not in notes_text and "：" not in n[:5]]
    return notes_text + ("\n" + "\n".join(f"- {n}" for n in extra) if extra else "")


def cmd_draft(args: argparse.Namespace, settings: Settings) -> int:
    from ..index import ensure_index
    from ..notes import similarity_classifier
    from ..notes.parse import parse_notes
    from ..writing.draft import draft_report
    from ..writing.plan import build_plan, plan_to_json, plan_warnings

    _check_output_paths(args.output, args.docx)
    notes_text = _read_text_file(args.notes)
    index = ensure_index(settings, on_progress=lambda msg: print(msg, file=sys.stderr))
    notes = parse_notes(notes_text, year=args.year, classify=similarity_classifier(index))
    if args.year and notes.meta.year and notes.meta.year != args.year:
        print(f"注意：--year {args.year} 与笔记中的 {notes.meta.year} 年不一致，按 {args.year} 年起草。", file=sys.stderr)
    if notes.removed:
        print(f"注意：已忽略笔记中的广告、水印等 {len(notes.removed)} 处，它们不会进入提纲和草稿。", file=sys.stderr)
    if notes.looks_like_report:
        print("注意：输入看起来是一篇写好的报告而不是笔记；已按其章节提取事实，请核对提纲。", file=sys.stderr)
    plan = _read_plan(args.plan) if args.plan else build_plan(notes, args.year)
    for warning in plan_warnings(plan):
        print(f"注意：{warning}", file=sys.stderr)
    if args.plan_only:
        if args.json:
            print(plan_to_json(plan))
        else:
            _print_plan(plan)
        return EXIT_OK
    result = draft_report(plan, index=index, settings=settings, notes_text=notes_text,
                          events=_StreamPrinter(not args.json).events())
    if not result.model_configured:
        return _print_no_model(result, args)
    if args.plan:
        notes = parse_notes(_notes_with_plan_facts(notes_text, plan), year=plan.year or args.year)
    return _finish_draft(result, notes, args, index)


def _print_plan(plan: Any) -> None:
    print(f"《{plan.title}》")
    for section in plan.sections:
        indent = "  " if section.level >= 2 else ""
        label = section.heading or {"opening": "（开头）", "closing": "（结束语）"}.get(section.kind, section.kind)
        print(f"{indent}- [{section.kind}] {label}")
        for note in section.notes:
            print(f"{indent}    · {note}")
        for line in section.context:
            print(f"{indent}    ↳ 呼应问题：{line}")


def _print_no_model(result: Any, args: argparse.Namespace) -> int:
    if args.json:
        _print_json({
            "model_configured": False, "message": result.message, "warnings": list(result.warnings),
            "plan": to_dict(result.plan),
            "sections": [
                {"key": j.section.key, "kind": j.section.kind, "heading": j.section.heading,
                 "notes": list(j.section.notes),
                 "exemplars": [{"text": h.chunk.text, "source": h.chunk.source, "heading_path": h.chunk.heading_path,
                                "id": h.chunk.id} for h in j.exemplars]}
                for j in result.jobs
            ],
        })
        return EXIT_OK
    _print_plan(result.plan)
    print("\n各节参考范文：")
    for job in result.jobs:
        print(f"\n== {job.section.key} {job.section.heading}")
        for hit in job.exemplars[:2]:
            print(f"  〔{hit.chunk.source} › {hit.chunk.heading_path}〕{hit.chunk.text[:120]}")
    print(f"\n{result.message}", file=sys.stderr)
    return EXIT_OK


def _finish_draft(result: Any, notes: Any, args: argparse.Namespace, index: Any) -> int:
    from ..checks import run_checks
    from ..export import assemble_report, export_docx, export_markdown, report_to_markdown

    report_doc = assemble_report(result.plan.title, result.sections, result.plan)
    markdown = report_to_markdown(report_doc)
    if args.output:
        export_markdown(report_doc, Path(args.output))
    if args.docx:
        export_docx(report_doc, Path(args.docx))
    check = run_checks(markdown, notes=notes, year=result.plan.year, corpus_texts=index.corpus_texts())
    if args.json:
        _print_json({
            "model_configured": True, "title": result.plan.title, "year": result.plan.year,
            "warnings": list(result.warnings),
            "plan": to_dict(result.plan),
            "sections": [to_dict(s) for s in result.sections],
            "markdown": markdown, "message": result.message, "saved_to": result.saved_to,
            "check": check.to_dict(),
        })
    else:
        if not args.output:
            print(markdown)
        from ..checks import format_report_zh

        print("\n" + format_report_zh(check), file=sys.stderr)
    if result.message:
        print(result.message, file=sys.stderr)
    return EXIT_ERROR if result.failed else EXIT_OK


# ------------------------------------------------------------------ rewrite / check / export
def cmd_rewrite(args: argparse.Namespace, settings: Settings) -> int:
    from ..index import ensure_index
    from ..writing.rewrite import rewrite_section

    text = _read_text_file(args.file)
    notes_text = _read_text_file(args.notes) if args.notes else ""
    draft_text = _read_text_file(args.draft) if args.draft else ""
    index = ensure_index(settings, on_progress=lambda msg: print(msg, file=sys.stderr))
    result = rewrite_section(text, notes_text=notes_text, draft_text=draft_text, index=index, settings=settings)
    if args.output and result.rewritten:
        from ..storage.files import write_atomic

        write_atomic(Path(args.output), result.rewritten + "\n")
    if args.json:
        _print_json({
            "diagnosis": [to_dict(f) for f in result.diagnosis], "rewritten": result.rewritten,
            "diff": result.diff, "kept": list(result.kept), "lost": list(result.lost),
            "invented": list(result.invented),
            "exemplars": list(result.exemplar_ids), "model_configured": result.model_configured,
            "message": result.message, "error": result.error,
        })
    else:
        print("诊断：")
        for f in result.diagnosis:
            print(f"  - {f.message}" + (f"（{f.evidence}）" if f.evidence else ""))
        if not result.diagnosis:
            print("  未发现明显问题。")
        if result.rewritten:
            print("\n改写稿：\n" + result.rewritten)
            print("\n修改对照：\n" + result.diff)
    for message in (result.message, result.error):
        if message:
            print(message, file=sys.stderr)
    if result.error:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.invented else EXIT_OK


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from ..checks import format_report_zh, run_checks
    from ..index.search import CorpusIndex
    from ..notes.parse import parse_notes

    draft_text = _read_text_file(args.draft)
    notes = parse_notes(_read_text_file(args.notes), year=args.year) if args.notes else None
    year = args.year or (notes.meta.year if notes else None)
    index = CorpusIndex(settings)
    corpus_texts = index.corpus_texts() if index.has_index() else None
    report = run_checks(draft_text, notes=notes, year=year, corpus_texts=corpus_texts)
    if args.json:
        _print_json(report.to_dict())
    else:
        print(format_report_zh(report))
        if corpus_texts is None:
            print("注意：范文库索引尚未建立，未检查与范文的雷同；运行 `shuzhi index` 后可检查。", file=sys.stderr)
    return EXIT_FINDINGS if report.blocking else EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from ..export import export_docx, markdown_to_report

    if Path(args.docx).suffix.lower() != ".docx":
        raise ShuzhiError(f"Word 文件名应以 .docx 结尾（收到：{Path(args.docx).name}）。", f"bad docx name {args.docx}")
    text = _read_text_file(args.draft)
    report_doc = markdown_to_report(text)
    export_docx(report_doc, Path(args.docx))
    print(f"已导出：{args.docx}")
    gaps = text.count("〔本节生成失败") + text.count("〔待补充")
    if gaps:
        print(f"注意：草稿中还有 {gaps} 处未完成的节（〔本节生成失败…〕/〔待补充…〕），导出的 Word 中也保留了这些标记。",
              file=sys.stderr)
    return EXIT_OK
