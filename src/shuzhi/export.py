"""Export: assemble section drafts into a numbered report; write Markdown and 公文-formatted .docx.

Which parts get a level-1 heading, what sits under what, the default headings and the labels written
(一、 / （一）) are the genre's (genres/<name>.yaml `kinds` and `numbering.export`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .corpus.textsafe import strip_control_chars
from .datafiles import load_data
from .genre import Genre, SectionKind, cn_numeral, failed_section_marker, resolve
from .models import Plan, SectionDraft
from .storage.files import check_target, write_atomic

HEADING1 = "heading1"
HEADING2 = "heading2"
PARAGRAPH = "paragraph"

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_BULLET = re.compile(r"^(?:[-*+•·]|>)\s+")
_RULE = re.compile(r"^(?:[-*_]\s*){3,}$")
_BRACKETED = re.compile(r"(〔[^〔〕]*〕)")


@dataclass(frozen=True)
class ReportBlock:
    kind: str  # "heading1" | "heading2" | "paragraph"
    text: str


@dataclass(frozen=True)
class ReportDocument:
    title: str
    blocks: tuple[ReportBlock, ...]


# ---------------------------------------------------------------- text helpers
def cn_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十 (1–99)."""
    return cn_numeral(n)


def strip_numbering(heading: str, genre: Genre | None = None) -> str:
    """Drop Markdown marks and any leading numbering: "## 一、主要做法" → "主要做法"."""
    # "一、（一）…" from a confused model: every leading label goes.
    return resolve(genre).numbering.strip_labels(clean_line(heading))


def _safe(text: str) -> str:
    """TEXT without control characters (Word refuses them; a line separator inside a line becomes a space)."""
    return strip_control_chars(text).replace("\n", " ")


def clean_line(line: str) -> str:
    """One line of Markdown-ish model output as plain text ("" when nothing is left)."""
    text = _safe(line).strip().strip("\u3000").strip()
    if _RULE.match(text):
        return ""
    match = _MD_HEADING.match(text)
    if match:
        text = match.group(2)
    text = _BULLET.sub("", text)
    return text.replace("**", "").strip().strip("\u3000").strip()


def split_paragraphs(text: str) -> list[str]:
    """Blank lines and single newlines both end a paragraph; Markdown marks are dropped."""
    return [p for p in (clean_line(line) for line in text.splitlines()) if p]


def _same_heading(a: str, b: str, g: Genre) -> bool:
    def norm(s: str) -> str:
        return strip_numbering(s, g).rstrip(g.punctuation.marks + " ")

    return bool(norm(a)) and norm(a) == norm(b)


# ---------------------------------------------------------------- assemble
def _draft_level(draft: SectionDraft, plan_levels: dict[str, int]) -> int:
    if draft.key in plan_levels:
        return plan_levels[draft.key]
    return 2 if "." in draft.key else 1


def _body_paragraphs(draft: SectionDraft, heading: str, g: Genre) -> list[ReportBlock]:
    paragraphs = split_paragraphs(draft.text)
    if paragraphs and heading and _same_heading(paragraphs[0], heading, g):
        paragraphs = paragraphs[1:]  # the model repeated the heading as its first line
    if not paragraphs and draft.error:
        paragraphs = [failed_section_marker(draft.error)]
    return [ReportBlock(PARAGRAPH, p) for p in paragraphs]


def _level1_heading(kind: str, members: list[SectionDraft], plan: Plan | None, levels: dict[str, int],
                    g: Genre) -> str:
    if plan is not None:
        for section in plan.sections:
            if section.kind == kind and section.level == 1 and strip_numbering(section.heading, g):
                return strip_numbering(section.heading, g)
    for draft in members:
        if draft.kind == kind and _draft_level(draft, levels) == 1 and strip_numbering(draft.heading, g):
            return strip_numbering(draft.heading, g)
    heading = g.heading(kind)
    return heading or next((strip_numbering(d.heading, g) for d in members if d.heading), kind)


def _sort_by_plan(drafts: Sequence[SectionDraft], plan: Plan | None) -> list[SectionDraft]:
    if plan is None:
        return list(drafts)
    order = {s.key: i for i, s in enumerate(plan.sections)}
    # Drafts finish concurrently; the plan's order is the report's. Unknown keys keep their place at the end.
    return sorted(drafts, key=lambda d: order.get(d.key, len(order)))


def _under(kind: str, g: Genre) -> str:
    """The level-1 part a kind is exported inside ("" when it has its own)."""
    spec = g.spec(kind)
    return spec.under if spec is not None else ""


def assemble_report(title: str, drafts: Sequence[SectionDraft], plan: Plan | None = None,
                    genre: Genre | None = None) -> ReportDocument:
    """Drafts → numbered report: opening, 一、二、… (with （一）… sub-items; a kind the genre puts `under`
    another — causes under problems in a 述职报告 — as paragraphs at the end of that part), closing.

    genre: None → the plan's genre (or the default).
    """
    g = resolve(genre if genre is not None else (plan.genre if plan is not None else None))
    levels = {s.key: s.level for s in plan.sections} if plan is not None else {}
    openings: list[SectionDraft] = []
    closings: list[SectionDraft] = []
    groups: dict[str, list[SectionDraft]] = {}  # level-1 kind → its drafts, in order of appearance
    for draft in _sort_by_plan(drafts, plan):
        role = g.role(draft.kind)
        if role == SectionKind.TITLE:
            title = title or (split_paragraphs(draft.text) or [""])[0]
        elif role == SectionKind.OPENING:
            openings.append(draft)
        elif role == SectionKind.CLOSING:
            closings.append(draft)
        else:
            groups.setdefault(_under(draft.kind, g) or draft.kind, []).append(draft)

    blocks: list[ReportBlock] = []
    for draft in openings:
        blocks += _body_paragraphs(draft, "", g)
    for number, (kind, members) in enumerate(groups.items(), start=1):
        heading = _level1_heading(kind, members, plan, levels, g)
        blocks.append(ReportBlock(HEADING1, g.numbering.format_label(1, number) + heading))
        # what the genre puts under this part comes after everything else of it, as plain paragraphs
        ordered = [d for d in members if not _under(d.kind, g)] + [d for d in members if _under(d.kind, g)]
        sub_number = 0
        for draft in ordered:
            placed_under = bool(_under(draft.kind, g))
            if placed_under or _draft_level(draft, levels) < 2:
                blocks += _body_paragraphs(draft, "" if placed_under else heading, g)
                continue
            sub_heading = strip_numbering(draft.heading, g)
            if sub_heading:
                sub_number += 1
                blocks.append(ReportBlock(HEADING2, g.numbering.format_label(2, sub_number) + sub_heading))
            blocks += _body_paragraphs(draft, sub_heading, g)
    for draft in closings:
        blocks += _body_paragraphs(draft, "", g)
    return ReportDocument(title=clean_line(title), blocks=tuple(blocks))


# ---------------------------------------------------------------- Markdown
def report_to_markdown(doc: ReportDocument) -> str:
    prefixes = {HEADING1: "## ", HEADING2: "### ", PARAGRAPH: ""}
    parts = [f"# {_safe(doc.title)}"] if doc.title else []
    parts += [prefixes.get(b.kind, "") + _safe(b.text) for b in doc.blocks]
    return "\n\n".join(parts) + "\n"


def _looks_like_heading(line: str, g: Genre) -> bool:
    return len(line) <= 60 and not line.endswith(tuple(g.punctuation.sentence_ends))


def markdown_to_report(text: str, title: str | None = None, genre: Genre | None = None) -> ReportDocument:
    """Markdown ("# ", "## ", "### ") or plain text (first line title, 一、/（一） headings) → report.

    In plain text the headings are lines starting with the labels the genre's export writes.
    """
    g = resolve(genre)
    lines = [line.strip().strip("\u3000").strip() for line in text.lstrip("\ufeff").splitlines()]
    lines = [line for line in lines if line]
    # With Markdown headings present they are the structure; a body line "一、…" stays a paragraph.
    markdown = any(re.match(r"^#{2,3}\s", line) for line in lines)
    found_title = ""
    blocks: list[ReportBlock] = []
    for index, raw in enumerate(lines):
        match = _MD_HEADING.match(raw)
        content = clean_line(raw)
        if not content:
            continue
        if match:
            depth = len(match.group(1))
            if depth == 1 and not found_title and not blocks:
                found_title = content
            elif depth <= 2:
                blocks.append(ReportBlock(HEADING1, content))
            elif depth == 3:
                blocks.append(ReportBlock(HEADING2, content))
            else:
                blocks.append(ReportBlock(PARAGRAPH, content))
            continue
        level = g.numbering.export_level(content) if not markdown and _looks_like_heading(content, g) else None
        if not markdown and index == 0 and not found_title and _looks_like_heading(content, g) \
                and g.numbering.match(content, max_level=3) is None:
            found_title = content
        elif level == 1:
            blocks.append(ReportBlock(HEADING1, content))
        elif level == 2:
            blocks.append(ReportBlock(HEADING2, content))
        else:
            blocks.append(ReportBlock(PARAGRAPH, content))
    return ReportDocument(title=title if title is not None else found_title, blocks=tuple(blocks))


# ---------------------------------------------------------------- writing files
def _write_atomic(path: Path, data: bytes) -> Path:
    return write_atomic(Path(path), data)


def export_markdown(doc: ReportDocument, path: Path) -> Path:
    return _write_atomic(Path(path), report_to_markdown(doc).encode("utf-8"))


# ---------------------------------------------------------------- .docx
def load_docx_style() -> dict[str, Any]:
    return dict(load_data("docx_style"))


def _set_fonts(rpr_owner: Any, east_asian: str, latin: str) -> None:
    """python-docx's font.name sets only ascii/hAnsi; CJK text needs w:eastAsia too."""
    # SEE: https://github.com/python-openxml/python-docx/issues/346
    from docx.oxml.ns import qn

    rfonts = rpr_owner.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        rfonts.attrib.pop(qn(attr), None)  # theme fonts would override the names below
    for attr, value in (("w:ascii", latin), ("w:hAnsi", latin), ("w:cs", latin), ("w:eastAsia", east_asian)):
        rfonts.set(qn(attr), value)


def _format_paragraph(paragraph: Any, *, line_pt: float, indent_pt: float, align: Any) -> None:
    from docx.enum.text import WD_LINE_SPACING
    from docx.shared import Pt

    fmt = paragraph.paragraph_format
    fmt.alignment = align
    fmt.first_line_indent = Pt(indent_pt)  # explicit 0 too: Normal's 2-character indent would shift centred text
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing = Pt(line_pt)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY


def _add_runs(paragraph: Any, text: str, font: str, size_pt: float, style: dict[str, Any],
              bold: bool = False) -> None:
    from docx.enum.text import WD_COLOR_INDEX
    from docx.shared import Pt

    latin = str(style.get("latin_font") or font)
    text = _safe(text)  # the last guard: lxml refuses control characters (ValueError) and the export fails
    parts = _BRACKETED.split(text) if style.get("highlight_placeholders", True) else [text]
    for part in parts:
        if not part:
            continue
        run = paragraph.add_run(part)
        run.font.size = Pt(size_pt)
        run.font.bold = bold
        _set_fonts(run._element, font, latin)
        if _BRACKETED.fullmatch(part):
            run.font.highlight_color = WD_COLOR_INDEX.YELLOW


def _add_page_number(section: Any, style: dict[str, Any]) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt

    conf = dict(style.get("page_number") or {})
    if not conf.get("enabled", True):
        return
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)  # the Footer style inherits Normal's indent
    font, size, latin = str(conf.get("font", "宋体")), float(conf.get("size_pt", 14)), str(conf.get("font", "宋体"))

    def run_with(child: Any = None, text: str = "") -> None:
        run = paragraph.add_run(text)
        run.font.size = Pt(size)
        _set_fonts(run._element, font, latin)
        if child is not None:
            run._element.append(child)

    def fld_char(kind: str) -> Any:
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        return element

    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = " PAGE "
    run_with(text=str(conf.get("prefix", "— ")))
    run_with(fld_char("begin"))
    run_with(instr)
    run_with(fld_char("separate"))
    run_with(text="1")
    run_with(fld_char("end"))
    run_with(text=str(conf.get("suffix", " —")))


def _style_document(document: Any, style: dict[str, Any]) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt, RGBColor

    page = dict(style.get("page") or {})
    for section in document.sections:
        section.page_width = Mm(float(page.get("width_mm", 210)))
        section.page_height = Mm(float(page.get("height_mm", 297)))
        section.top_margin = Mm(float(page.get("margin_top_mm", 37)))
        section.bottom_margin = Mm(float(page.get("margin_bottom_mm", 35)))
        section.left_margin = Mm(float(page.get("margin_left_mm", 28)))
        section.right_margin = Mm(float(page.get("margin_right_mm", 26)))
        _add_page_number(section, style)
    latin = str(style.get("latin_font", "Times New Roman"))
    body_size = float(style.get("body_size_pt", 16))
    line_pt = float(style.get("line_spacing_pt", 28))
    indent_chars = float(style.get("first_line_indent_chars", 2))
    # Normal and the heading styles agree with the direct formatting, so empty paragraphs and
    # text a user types later look the same; heading styles keep Word's navigation pane working.
    for name, font_key, size_key in (("Normal", "body_font", "body_size_pt"),
                                     ("Heading 1", "heading1_font", "heading1_size_pt"),
                                     ("Heading 2", "heading2_font", "heading2_size_pt")):
        doc_style = document.styles[name]
        size = float(style.get(size_key, body_size))
        doc_style.font.size = Pt(size)
        doc_style.font.bold = False
        doc_style.font.italic = False
        doc_style.font.color.rgb = RGBColor(0, 0, 0)
        _set_fonts(doc_style.element, str(style.get(font_key, "仿宋_GB2312")), latin)
        _format_paragraph(doc_style, line_pt=line_pt, indent_pt=indent_chars * size,
                          align=WD_ALIGN_PARAGRAPH.JUSTIFY)


def export_docx(doc: ReportDocument, path: Path | None = None) -> bytes:
    """The report as .docx bytes in 公文 formatting; also written (atomically) when `path` is given."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    if path is not None:
        check_target(Path(path))  # fail before building the document
    style = load_docx_style()
    document = Document()
    _style_document(document, style)
    body_font = str(style.get("body_font", "仿宋_GB2312"))
    body_size = float(style.get("body_size_pt", 16))
    line_pt = float(style.get("line_spacing_pt", 28))
    indent_chars = float(style.get("first_line_indent_chars", 2))

    if doc.title:
        title_font = str(style.get("title_font", "方正小标宋简体"))
        bold = bool(style.get("title_bold", False)) or title_font in ("宋体", "SimSun")
        paragraph = document.add_paragraph()
        _format_paragraph(paragraph, line_pt=float(style.get("title_line_spacing_pt", 36)), indent_pt=0,
                          align=WD_ALIGN_PARAGRAPH.CENTER)
        _add_runs(paragraph, doc.title, title_font, float(style.get("title_size_pt", 22)), style, bold=bold)
        if style.get("blank_line_after_title", True):
            blank = document.add_paragraph()
            _format_paragraph(blank, line_pt=line_pt, indent_pt=0, align=WD_ALIGN_PARAGRAPH.JUSTIFY)

    kinds = {HEADING1: ("Heading 1", "heading1_font", "heading1_size_pt"),
             HEADING2: ("Heading 2", "heading2_font", "heading2_size_pt")}
    for block in doc.blocks:
        style_name, font_key, size_key = kinds.get(block.kind, ("Normal", "body_font", "body_size_pt"))
        size = float(style.get(size_key, body_size))
        paragraph = document.add_paragraph(style=style_name)
        _format_paragraph(paragraph, line_pt=line_pt, indent_pt=indent_chars * size,
                          align=WD_ALIGN_PARAGRAPH.JUSTIFY)
        if block.kind in kinds:
            paragraph.paragraph_format.keep_with_next = True
        _add_runs(paragraph, block.text, str(style.get(font_key, body_font)), size, style)

    props = document.core_properties
    now = datetime.now(UTC).replace(microsecond=0, tzinfo=None)
    props.title = _safe(doc.title)
    for attr in ("author", "last_modified_by", "comments", "subject", "keywords", "category"):
        setattr(props, attr, "")
    props.created = now
    props.modified = now
    props.revision = 1

    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()
    if path is not None:
        _write_atomic(Path(path), data)
    return data


# ---------------------------------------------------------------- HTML preview
def _css_fonts(*names: str) -> str:
    """A font-family list of local font names only (quoted; no web fonts, nothing fetched)."""
    fallbacks = {"方正小标宋简体": ("宋体", "SimSun", "Songti SC"), "仿宋_GB2312": ("仿宋", "FangSong", "STFangsong"),
                 "楷体_GB2312": ("楷体", "KaiTi", "STKaiti"), "黑体": ("SimHei", "Heiti SC", "STHeiti"),
                 "宋体": ("SimSun", "Songti SC")}
    seen: list[str] = []
    for name in names:
        for font in (name, *fallbacks.get(name, ())):
            clean = re.sub(r"[^\w\u4e00-\u9fff \-]", "", str(font)).strip()
            if clean and clean not in seen:
                seen.append(clean)
    return ", ".join(f'"{f}"' for f in seen) + ", serif"


def report_to_html(doc: ReportDocument, style: dict[str, Any] | None = None) -> str:
    """The report as one self-contained HTML fragment laid out like the Word file (公文: centred title,
    一、 headings in 黑体, （一） in 楷体, body in 仿宋 with a first-line indent, an A4-wide page).

    Every piece of text is HTML-escaped; no script, no image, no external resource (fonts are local
    names in font-family lists)."""
    from html import escape

    s = style if style is not None else load_docx_style()
    page = s.get("page") or {}
    width = float(page.get("width_mm", 210))
    left, right = float(page.get("margin_left_mm", 28)), float(page.get("margin_right_mm", 26))
    body_pt = float(s.get("body_size_pt", 16))
    line_pt = float(s.get("line_spacing_pt", 28))
    indent = float(s.get("first_line_indent_chars", 2))
    latin = str(s.get("latin_font", "Times New Roman"))
    css = (
        f".shuzhi-page{{box-sizing:border-box;max-width:{width:.0f}mm;margin:0 auto;padding:16mm {right:.0f}mm 20mm "
        f"{left:.0f}mm;background:#fff;color:#000;box-shadow:0 0 4px rgba(0,0,0,.25);"
        f"font-family:{_css_fonts(str(s.get('body_font', '仿宋_GB2312')), latin)};font-size:{body_pt:.0f}pt;"
        f"line-height:{line_pt:.0f}pt}}"
        f".shuzhi-page p{{margin:0;text-indent:{indent:g}em;text-align:justify}}"
        f".shuzhi-page .title{{text-align:center;text-indent:0;font-size:{float(s.get('title_size_pt', 22)):.0f}pt;"
        f"line-height:{float(s.get('title_line_spacing_pt', 36)):.0f}pt;"
        f"font-family:{_css_fonts(str(s.get('title_font', '方正小标宋简体')), latin)};"
        f"font-weight:{'bold' if s.get('title_bold') else 'normal'};margin-bottom:{line_pt:.0f}pt}}"
        f".shuzhi-page .h1{{font-family:{_css_fonts(str(s.get('heading1_font', '黑体')), latin)};"
        f"font-size:{float(s.get('heading1_size_pt', 16)):.0f}pt}}"
        f".shuzhi-page .h2{{font-family:{_css_fonts(str(s.get('heading2_font', '楷体_GB2312')), latin)};"
        f"font-size:{float(s.get('heading2_size_pt', 16)):.0f}pt}}"
        ".shuzhi-page mark{background:#ff0}"
    )
    classes = {HEADING1: "h1", HEADING2: "h2", PARAGRAPH: "body"}
    highlight = bool(s.get("highlight_placeholders", True))

    def inline(text: str) -> str:
        text = _safe(text)
        parts = _BRACKETED.split(text) if highlight else [text]
        return "".join(f"<mark>{escape(p)}</mark>" if highlight and _BRACKETED.fullmatch(p) else escape(p)
                       for p in parts if p)

    lines = [f'<p class="title">{inline(doc.title)}</p>'] if doc.title else []
    lines += [f'<p class="{classes.get(b.kind, "body")}">{inline(b.text)}</p>' for b in doc.blocks]
    return f'<style>{css}</style><div class="shuzhi-page">' + "".join(lines) + "</div>"
