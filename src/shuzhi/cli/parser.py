"""Command line: a thin shell over the core. Errors go to stderr in Chinese with a non-zero exit.

The argument parser and `main` are here; what each subcommand does is in `cli_commands`.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from typing import NoReturn

from shuzhi.api import SECTION_KINDS, ShuzhiError, Workspace, __version__

from .commands import (
    EXIT_ERROR,
    EXIT_OK,
    cmd_check,
    cmd_draft,
    cmd_export,
    cmd_genres,
    cmd_index,
    cmd_parse,
    cmd_rewrite,
    cmd_search,
    cmd_sessions,
)

log = logging.getLogger("shuzhi.cli")


# ------------------------------------------------------------------ wiring
MAX_K = 50


def _top_k(value: str) -> int:
    """argparse type for search -k: an integer from 1 to MAX_K."""
    try:
        k = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为 1 到 {MAX_K} 之间的整数，收到“{value}”") from None
    if not 1 <= k <= MAX_K:
        raise argparse.ArgumentTypeError(f"应为 1 到 {MAX_K} 之间的整数，收到 {k}")
    return k


def _theme(value: str) -> str:
    """argparse type for search --theme: one of the themes in data/themes.yaml (plus user rules)."""
    themes = Workspace.open().themes()
    if value not in themes:
        raise argparse.ArgumentTypeError(f"没有主题“{value}”，可选：{'、'.join(themes)}")
    return value


def report_year(value: str) -> int:
    """argparse type for --year: a four-digit year the genre can have."""
    try:
        year = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"年份应为四位数字，例如 2024（收到：{value}）") from None
    if not 1949 <= year <= 2100:
        raise argparse.ArgumentTypeError(f"年份 {year} 不在 1949—2100 之间")
    return year


_ARGPARSE_ZH = (  # argparse's own messages (Python 3.11), so usage errors read as Chinese
    (re.compile(r"^argument command: "), "命令："),
    (re.compile(r"^argument ([^:]+): "), r"参数 \1："),
    (re.compile(r"the following arguments are required: "), "缺少必需的参数："),
    (re.compile(r"unrecognized arguments: "), "无法识别的参数："),
    (re.compile(r"invalid choice: (.+?) \(choose from (.+)\)$"), r"无效的取值 \1（可选：\2）"),
    (re.compile(r"invalid \w+ value: (.+)$"), r"不是有效的值 \1"),
    (re.compile(r"expected one argument"), "需要一个值"),
    (re.compile(r"not allowed with argument "), "不能与此参数同时使用："),
)


class ChineseArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are Chinese: `错误：参数有误（…）。` on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        for pattern, replacement in _ARGPARSE_ZH:
            message = pattern.sub(replacement, message)
        self.exit(EXIT_ERROR, f"错误：参数有误（{message}）。用 {self.prog} --help 查看用法。\n")


def build_parser() -> argparse.ArgumentParser:
    parser = ChineseArgumentParser(prog="shuzhi", description="述职：抓基层党建工作述职报告起草与检查工具")
    parser.add_argument("--version", action="version", version=f"shuzhi {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="在终端显示详细日志")
    common = ChineseArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="在终端显示详细日志")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=ChineseArgumentParser)

    p = sub.add_parser("index", parents=[common], help="建立或更新范文库索引")
    p.add_argument("--corpus", action="append", metavar="DIR",
                   help="范文目录（可多次给出），取代上次记住的目录；不给出时沿用上次的目录（首次为内置 corpus/）")
    p.add_argument("--add", action="store_true", help="把 --corpus 的目录加到上次记住的目录中，而不是取代它们")
    p.add_argument("--rebuild", action="store_true", help="清空后重建")
    p.add_argument("--if-missing", action="store_true", help="索引已存在时什么也不做")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("parse", parents=[common], help="清洗并解析一篇范文，显示结构")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("search", parents=[common], help="检索范文片段")
    p.add_argument("query")
    p.add_argument("--kind", choices=SECTION_KINDS)
    p.add_argument("--theme", type=_theme, help="只检索这一主题（见 data/themes.yaml）")
    p.add_argument("--year", type=int)
    p.add_argument("-k", type=_top_k, default=5, help=f"返回的片段数（1–{MAX_K}）")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("genres", parents=[common], help="列出可起草的文体（述职报告、对照检查材料……）")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_genres)

    p = sub.add_parser("draft", parents=[common], help="由笔记生成述职报告（或其他文体）初稿")
    p.add_argument("notes")
    p.add_argument("--genre", metavar="NAME", help="文体（见 shuzhi genres；默认 shuzhi 述职报告）")
    p.add_argument("--year", type=report_year)
    p.add_argument("--plan-only", action="store_true", help="只输出提纲")
    p.add_argument("--plan", metavar="PLAN.json", help="使用（修改过的）提纲")
    p.add_argument("--last-year", metavar="FILE",
                   help="上年度的述职报告（.txt/.md/.docx）：提纲增加“上年度问题整改情况”，逐条列出其中的问题")
    p.add_argument("--include", metavar="LINE", action="append", default=[],
                   help="把一行“未作为事实”的笔记（链接、备注）作为事实用上，可写多次；写成 节:该行 指定放入的节")
    p.add_argument("-o", "--output", metavar="OUT.md")
    p.add_argument("--docx", metavar="OUT.docx")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_draft)

    p = sub.add_parser("sessions", parents=[common], help="保存的会话：列出、查看、重试、重命名、删除")
    p.add_argument("action", nargs="?", choices=("list", "show", "retry", "rename", "delete"), default="list",
                   help="list（默认）/ show 编号 / retry 编号 / rename 编号 --title 标题 / delete 编号")
    p.add_argument("id", nargs="?", help="会话编号（见 shuzhi sessions）")
    p.add_argument("--title", help="rename 用的新标题")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sessions)

    p = sub.add_parser("rewrite", parents=[common], help="诊断并改写“存在问题及原因”")
    p.add_argument("file")
    p.add_argument("--notes")
    p.add_argument("--draft", help="整篇草稿，用于核对问题与措施是否对应")
    p.add_argument("--genre", metavar="NAME", help="按哪种文体的要求诊断（默认 shuzhi）")
    p.add_argument("-o", "--output", metavar="OUT.md")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_rewrite)

    p = sub.add_parser("check", parents=[common], help="检查草稿：事实台账、编造数字、无出处的名称、占位符、雷同、结构、时效、口吻、问题部分")
    p.add_argument("draft")
    p.add_argument("--notes")
    p.add_argument("--year", type=report_year)
    p.add_argument("--genre", metavar="NAME", help="按哪种文体的结构和要求检查（默认 shuzhi）")
    p.add_argument("--last-year", metavar="FILE",
                   help="上年度的述职报告：检查今年的问题是否照搬上年度的用语、上年度的问题是否都有回应")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("export", parents=[common], help="把 Markdown 草稿导出为公文格式 Word")
    p.add_argument("draft")
    p.add_argument("--docx", required=True, metavar="OUT.docx")
    p.add_argument("--genre", metavar="NAME", help="草稿的文体（决定标题层级；默认 shuzhi）")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        workspace = Workspace.open()
        workspace.setup_logging(verbose=args.verbose)
        return int(args.func(args, workspace))
    except ShuzhiError as exc:
        log.error("%s failed: %s", args.command, exc.detail)
        print(f"错误：{exc.user_message}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `shuzhi … | head` closed the pipe: not an error worth a message
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130
    except Exception as exc:  # last line of defence: a Chinese message, the traceback in the log
        log.exception("unexpected failure in %s", args.command)
        print(f"错误：程序内部出错（{type(exc).__name__}），详情见日志。", file=sys.stderr)
        return EXIT_ERROR
