"""What each subcommand does: `cmd_*(args, workspace) -> exit code`. Only `shuzhi.api` is used.

Output goes to stdout (the draft, or JSON with --json); progress and notices to stderr. The parser
that routes here, and `main`, are in `parser.py`; printing helpers in `render.py`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shuzhi.api import (
    DraftEvents,
    DraftOutcome,
    LastYearReport,
    Plan,
    SectionDraft,
    ShuzhiError,
    Workspace,
    plan_from_json,
    plan_to_json,
)

from .render import (
    print_check,
    print_hits,
    print_json,
    print_no_model,
    print_parsed,
    print_plan,
    print_rewrite,
    print_sessions,
    to_dict,
)

EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


# ------------------------------------------------------------------ index / parse / search
def cmd_index(args: argparse.Namespace, ws: Workspace) -> int:
    if args.add and not args.corpus:
        raise ShuzhiError("--add 要和 --corpus 一起用，例如：shuzhi index --corpus 新目录 --add。")
    if args.if_missing and ws.has_index():
        print("范文库索引已存在，跳过。")
        return EXIT_OK
    dirs = [Path(p) for p in args.corpus] if args.corpus else None
    report = ws.build_index(dirs, add=args.add, rebuild=args.rebuild, on_progress=_progress)
    indexed = [str(d) for d in ws.corpus_dirs()]
    if args.json:
        print_json({**to_dict(report), "corpus_dirs": indexed})
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


def cmd_parse(args: argparse.Namespace, ws: Workspace) -> int:
    doc = ws.parse_document(args.file)
    if args.json:
        data = to_dict(doc)
        data["removed"] = [to_dict(r) for r in doc.removed]
        print_json(data)
    else:
        print_parsed(doc)
    return EXIT_OK


def cmd_search(args: argparse.Namespace, ws: Workspace) -> int:
    hits = ws.search(args.query, kind=args.kind, theme=args.theme, year=args.year, k=args.k, on_progress=_progress)
    for warning in ws.index_warnings():  # e.g. the vector store is unreachable: these hits are keyword-only
        print(f"注意：{warning}", file=sys.stderr)
    if args.json:
        print_json([
            {"text": h.chunk.text, "kind": h.chunk.kind, "theme": h.chunk.theme, "source": h.chunk.source,
             "heading_path": h.chunk.heading_path, "year": h.chunk.year, "score": round(h.score, 6),
             "id": h.chunk.id}
            for h in hits
        ])
    else:
        print_hits(hits)
    return EXIT_OK


# ------------------------------------------------------------------ genres / draft
def cmd_genres(args: argparse.Namespace, ws: Workspace) -> int:
    genres = ws.genres()
    if args.json:
        print_json([{"name": g.name, "title": g.title} for g in genres if not g.error])
    else:
        for g in genres:
            print(f"{g.name}\t{g.title}" + (f"\t（不可用：{g.error}）" if g.error else ""))
    return EXIT_OK


class _StreamPrinter:
    """Section progress to stderr so stdout stays clean for --json / the draft."""

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


def _read_plan(path: str) -> Plan:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShuzhiError(f"无法读取提纲文件「{Path(path).name}」，请检查路径和编码（应为 UTF-8 的 JSON）。",
                          str(exc)) from exc
    return plan_from_json(text)


def _read_last_year(ws: Workspace, path: str | None, genre: str | None) -> LastYearReport | None:
    """--last-year FILE: last year's report, or a Chinese error naming the file."""
    if not path:
        return None
    if not Path(path).expanduser().is_file():
        raise ShuzhiError(f"找不到上年度述职报告「{path}」，请检查 --last-year 给出的路径。",
                          f"--last-year file missing: {path}")
    return ws.read_last_year(Path(path).expanduser(), genre=genre)


def _include_lines(ws: Workspace, plan: Plan, lines: list[str]) -> Plan:
    """--include LINE / --include KEY:LINE: bring excluded lines back as facts."""
    keys = {s.key for s in plan.sections}
    for raw in lines:
        key, sep, rest = raw.partition(":")
        if sep and key in keys and rest.strip() in plan.excluded:
            plan = ws.include_excluded(plan, rest.strip(), key)
        else:
            plan = ws.include_excluded(plan, raw.strip())
    return plan


def _read_file(ws: Workspace, path: str) -> str:
    """A file's text; what loading repaired (bad encoding lines, control characters) is said on stderr."""
    warnings: list[str] = []
    text = ws.read_text_file(path, warnings=warnings)
    for warning in warnings:
        print(f"注意：{warning}", file=sys.stderr)
    return text


def cmd_draft(args: argparse.Namespace, ws: Workspace) -> int:
    _check_output_paths(args.output, args.docx)
    last_year = _read_last_year(ws, args.last_year, args.genre)
    notes_text = _read_file(ws, args.notes)
    ws.ensure_index(on_progress=_progress)
    notes = ws.parse_notes(notes_text, year=args.year, genre=args.genre)
    if args.year and notes.meta.year and notes.meta.year != args.year:
        print(f"注意：--year {args.year} 与笔记中的 {notes.meta.year} 年不一致，按 {args.year} 年起草。", file=sys.stderr)
    if notes.removed:
        print(f"注意：已忽略笔记中的广告、水印等 {len(notes.removed)} 处，它们不会进入提纲和草稿。", file=sys.stderr)
    if notes.looks_like_report:
        print("注意：输入看起来是一篇写好的报告而不是笔记；已按其章节提取事实，请核对提纲。", file=sys.stderr)
    if notes.excluded:
        print(f"注意：{len(notes.excluded)} 行看作链接或写给自己的备注，未作为事实：" + "；".join(notes.excluded)
              + "。如需使用，请用 --include \"该行文字\"（或写进提纲中相应的节）。", file=sys.stderr)
    plan = _read_plan(args.plan) if args.plan else ws.plan(notes, args.year, last_year=last_year)
    if last_year is not None and not args.plan:
        print(f"上年度报告「{last_year.source}」中有 {len(last_year.problems)} 个问题，已列入“上年度问题整改情况”。",
              file=sys.stderr)
    plan = _include_lines(ws, plan, args.include)
    for warning in ws.plan_warnings(plan, last_year):
        print(f"注意：{warning}", file=sys.stderr)
    if args.plan_only:
        if args.json:
            print(plan_to_json(plan))
        else:
            print_plan(plan)
        return EXIT_OK
    outcome = ws.draft(plan, notes_text, events=_StreamPrinter(not args.json).events(), last_year=last_year)
    if not outcome.model_configured:
        print_no_model(outcome, args.json)
        return EXIT_OK
    return _finish_draft(ws, outcome, notes_text, args)


def _finish_draft(ws: Workspace, outcome: DraftOutcome, notes_text: str, args: argparse.Namespace) -> int:
    markdown = ws.assemble(outcome.plan, outcome.sections)
    if args.output:
        ws.export_markdown(markdown, args.output, genre=outcome.plan.genre)
    if args.docx:
        ws.export_docx(markdown, args.docx, genre=outcome.plan.genre)
    check = ws.check(markdown, notes_text, plan=outcome.plan, session_id=outcome.session_id)
    if args.json:
        print_json({
            "model_configured": True, "title": outcome.plan.title, "year": outcome.plan.year,
            "warnings": list(outcome.warnings), "plan": to_dict(outcome.plan),
            "sections": [to_dict(s) for s in outcome.sections],
            "markdown": markdown, "message": outcome.message, "session_id": outcome.session_id,
            "check": check.to_dict(),
        })
    else:
        if not args.output:
            print(markdown)
        print_check(check, stream=sys.stderr)
        print(f"已保存为会话 {outcome.session_id}（shuzhi sessions show {outcome.session_id}）。", file=sys.stderr)
    if outcome.message:
        print(outcome.message, file=sys.stderr)
    return EXIT_ERROR if outcome.failed else EXIT_OK


# ------------------------------------------------------------------ sessions
def cmd_sessions(args: argparse.Namespace, ws: Workspace) -> int:
    action = args.action or "list"
    if action == "list":
        sessions = ws.list_sessions()
        if args.json:
            print_json([{"id": s.id, "title": s.title, "genre": s.genre, "updated": s.updated} for s in sessions])
        else:
            print_sessions(sessions)
        return EXIT_OK
    if not args.id:
        raise ShuzhiError(f"请给出会话编号，例如：shuzhi sessions {action} 编号（用 shuzhi sessions 查看）。")
    if action == "show":
        if args.json:
            print_json(ws.session_json(args.id))
        else:
            print(ws.session_markdown(args.id) or "（这个会话还没有正文）")
        return EXIT_OK
    if action == "rename":
        if not args.title:
            raise ShuzhiError("请给出新标题：shuzhi sessions rename 编号 --title 新标题。")
        ws.rename_session(args.id, args.title)
        print(f"已重命名：{args.title}")
        return EXIT_OK
    if action == "delete":
        ws.delete_session(args.id)
        print(f"已删除会话 {args.id}。")
        return EXIT_OK
    # retry
    outcome = ws.retry(args.id, events=_StreamPrinter(not args.json).events())
    if args.json:
        print_json({"session_id": outcome.session_id, "sections": [to_dict(s) for s in outcome.sections],
                    "message": outcome.message, "markdown": ws.assemble(outcome.plan, outcome.sections)})
    else:
        print(ws.assemble(outcome.plan, outcome.sections))
    if outcome.message:
        print(outcome.message, file=sys.stderr)
    return EXIT_ERROR if outcome.failed else EXIT_OK


# ------------------------------------------------------------------ rewrite / check / export
def cmd_rewrite(args: argparse.Namespace, ws: Workspace) -> int:
    text = _read_file(ws, args.file)
    notes_text = _read_file(ws, args.notes) if args.notes else ""
    draft_text = _read_file(ws, args.draft) if args.draft else ""
    ws.ensure_index(on_progress=_progress)
    result = ws.rewrite(text, notes_text=notes_text, draft_text=draft_text, genre=args.genre)
    if args.output and result.rewritten:
        ws.save_text(args.output, result.rewritten)
    if args.json:
        print_json({
            "diagnosis": [to_dict(f) for f in result.diagnosis], "rewritten": result.rewritten,
            "diff": result.diff, "kept": list(result.kept), "lost": list(result.lost),
            "invented": list(result.invented),
            "after": [to_dict(f) for f in result.after], "fixed": list(result.fixed),
            "remaining": list(result.remaining), "pairs": [to_dict(p) for p in result.pairs],
            "exemplars": list(result.exemplar_ids), "model_configured": result.model_configured,
            "message": result.message, "error": result.error,
        })
    else:
        print_rewrite(result)
    for message in (result.message, result.error):
        if message:
            print(message, file=sys.stderr)
    if result.error:
        return EXIT_ERROR
    return EXIT_FINDINGS if result.invented or result.remaining else EXIT_OK


def cmd_check(args: argparse.Namespace, ws: Workspace) -> int:
    draft_text = _read_file(ws, args.draft)
    notes_text = _read_file(ws, args.notes) if args.notes else None
    last_year = _read_last_year(ws, args.last_year, args.genre)
    report = ws.check(draft_text, notes_text, year=args.year, genre=args.genre, last_year=last_year)
    if args.json:
        print_json(report.to_dict())
    else:
        print_check(report)
        if not ws.has_index():
            print("注意：范文库索引尚未建立，未检查与范文的雷同；运行 `shuzhi index` 后可检查。", file=sys.stderr)
    return EXIT_FINDINGS if report.blocking else EXIT_OK


def cmd_export(args: argparse.Namespace, ws: Workspace) -> int:
    if Path(args.docx).suffix.lower() != ".docx":
        raise ShuzhiError(f"Word 文件名应以 .docx 结尾（收到：{Path(args.docx).name}）。", f"bad docx name {args.docx}")
    text = _read_file(ws, args.draft)
    ws.export_docx(text, args.docx, genre=args.genre)
    print(f"已导出：{args.docx}")
    gaps = ws.unfinished_count(text)
    if gaps:
        print(f"注意：草稿中还有 {gaps} 处未完成的节（〔本节生成失败…〕/〔待补充…〕），导出的 Word 中也保留了这些标记。",
              file=sys.stderr)
    return EXIT_OK
