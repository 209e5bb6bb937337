"""Word (.docx) body → Blocks: paragraphs and tables in order, styles, auto-numbering as text.

Only the walk over an opened python-docx Document lives here; the zip-bomb and corruption
checks run in `load.py` before python-docx inflates anything.
"""

from __future__ import annotations

import re
from typing import Any

from ..genre import cn_numeral
from ..models import Block

# Word number formats that render as Chinese numerals.
_CHINESE_FORMATS = frozenset(
    "chineseCounting chineseCountingThousand chineseLegalSimplified ideographTraditional ideographDigital "
    "japaneseCounting taiwaneseCounting taiwaneseCountingThousand".split()
)
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*(\d)$", re.IGNORECASE)
_TITLE_STYLES = {"title", "标题"}
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _w(tag: str) -> str:
    return f"{{{_W_NS}}}{tag}"


def docx_blocks(document: Any) -> tuple[Block, ...]:
    """The Blocks of an opened python-docx Document, in body order."""
    # Local imports: python-docx is slow to import and only .docx needs it.
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    numbering = _Numbering(document)
    blocks: list[Block] = []
    for child in _body_children(document.element.body):
        if child.tag == _w("p"):
            blocks.extend(_paragraph_blocks(Paragraph(child, document), numbering))
        elif child.tag == _w("tbl"):
            blocks.extend(_table_blocks(Table(child, document)))
    return tuple(blocks)


def _body_children(body: Any) -> list[Any]:
    """w:p and w:tbl in body order; content controls (w:sdt) are opened, not skipped."""
    out: list[Any] = []
    for child in body.iterchildren():
        if child.tag == _w("sdt"):
            content = child.find(_w("sdtContent"))
            if content is not None:
                out.extend(_body_children(content))
        elif child.tag in (_w("p"), _w("tbl")):
            out.append(child)
    return out


def _style_level(style_name: str) -> int | None:
    if style_name.strip().lower() in _TITLE_STYLES:
        return 0
    match = _HEADING_STYLE.match(style_name.strip())
    return int(match.group(1)) if match else None


def _paragraph_blocks(paragraph: Any, numbering: _Numbering) -> list[Block]:
    style = paragraph.style.name if paragraph.style is not None else ""
    text = paragraph.text
    label = numbering.label_for(paragraph)
    if label and text.strip():
        text = label + text.lstrip()
    level = _style_level(style or "")
    # A soft line break (w:br) separates lines that read as separate paragraphs.
    return [Block(text=line, style=style or "", heading_level=level) for line in text.split("\n")]


def _table_blocks(table: Any) -> list[Block]:
    blocks = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # Merged cells come back once per grid column; keep each underlying cell once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            if text:
                cells.append(text)
        blocks.append(Block(text="  ".join(cells), style="table", origin="table"))
    return blocks


def _chinese_numeral(n: int) -> str:
    return cn_numeral(n) if 0 < n < 100 else str(n)


_ROMAN = tuple(
    zip(
        (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1),
        "M CM D CD C XC L XL X IX V IV I".split(),
        strict=True,
    )
)


def _roman(n: int) -> str:
    out = ""
    for value, sym in _ROMAN:
        count, n = divmod(n, value)
        out += sym * count
    return out


def format_number(n: int, fmt: str) -> str:
    """Render counter n in a Word numFmt (an approximation of what Word displays)."""
    if fmt in _CHINESE_FORMATS:
        return _chinese_numeral(n)
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "lowerRoman":
        return _roman(n).lower()
    if fmt == "upperRoman":
        return _roman(n)
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n)
    return str(n)


class _Numbering:
    """Word auto-numbering (w:numPr) rendered as text, counting per (numId, ilvl)."""

    def __init__(self, document: Any) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) → fmt, text, start
        self.counters: dict[tuple[str, int], int] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for absnum in root.findall(_w("abstractNum")):
            levels = {}
            for lvl in absnum.findall(_w("lvl")):
                levels[int(lvl.get(_w("ilvl"), "0"))] = (
                    _val(lvl, "numFmt", "decimal"),
                    _val(lvl, "lvlText", ""),
                    int(_val(lvl, "start", "1") or 1),
                )
            abstract[absnum.get(_w("abstractNumId"), "")] = levels
        for num in root.findall(_w("num")):
            num_id = num.get(_w("numId"), "")
            abs_id = _val(num, "abstractNumId", "")
            for ilvl, spec in abstract.get(abs_id, {}).items():
                self.levels[(num_id, ilvl)] = spec

    def label_for(self, paragraph: Any) -> str:
        num_id, ilvl = _num_pr(paragraph)
        if not num_id or num_id == "0" or (num_id, ilvl) not in self.levels:
            return ""
        fmt, lvl_text, start = self.levels[(num_id, ilvl)]
        if fmt in ("bullet", "none"):
            return ""
        key = (num_id, ilvl)
        self.counters[key] = self.counters.get(key, start - 1) + 1
        for other_id, other_lvl in list(self.counters):  # a new item restarts deeper levels
            if other_id == num_id and other_lvl > ilvl:
                del self.counters[(other_id, other_lvl)]
        if not lvl_text:
            lvl_text = f"%{ilvl + 1}、" if fmt in _CHINESE_FORMATS else f"%{ilvl + 1}."

        def render(match: re.Match[str]) -> str:
            level = int(match.group(1)) - 1
            spec = self.levels.get((num_id, level))
            count = self.counters.get((num_id, level), spec[2] if spec else 1)
            return format_number(count, spec[0] if spec else "decimal")

        return re.sub(r"%(\d)", render, lvl_text)


def _val(element: Any, tag: str, default: str) -> str:
    child = element.find(_w(tag))
    return child.get(_w("val"), default) if child is not None else default


def _num_pr(paragraph: Any) -> tuple[str, int]:
    """numId/ilvl from the paragraph, else from its style (headings are often numbered by style)."""
    candidates = [paragraph._p.pPr]
    style = paragraph.style
    while style is not None:
        candidates.append(style.element.pPr)
        style = style.base_style
    for ppr in candidates:
        if ppr is None:
            continue
        num_pr = ppr.find(_w("numPr"))
        if num_pr is not None:
            num_id = _val(num_pr, "numId", "")
            ilvl = int(_val(num_pr, "ilvl", "0") or 0)
            return num_id, ilvl
    return "", 0
