"""Word (.docx) body → Blocks: paragraphs and tables in order, styles, auto-numbering as text.

The XML is read here directly (lxml, streaming), from bytes `load.py` takes out of the zip under a
hard cap: python-docx looked up each paragraph's style by scanning every style of the document
(a 6,000-paragraph file took 57 s; a table with a 2,000-row vertical merge recursed 147 s into a
RecursionError). Here styles and numbering are read once into dicts, the body is parsed element by
element and freed as it goes, and merged table cells are resolved row by row, so time and memory
grow linearly with the document (and stop at `max_chars` of text).

What is read matches what python-docx's `Paragraph.text` gives (runs and hyperlinks; w:tab → tab,
w:br/w:cr → newline, w:noBreakHyphen → "-"), plus the runs of tracked insertions, smart tags,
fields and inline content controls, which Word shows as text too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree

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
# python-docx shows these built-in style names capitalised (its BabelFish); keep the names it gave.
_UI_NAMES = {"caption": "Caption", "footer": "Footer", "header": "Header",
             **{f"heading {n}": f"Heading {n}" for n in range(1, 10)}}


def _w(tag: str) -> str:
    return f"{{{_W_NS}}}{tag}"


_P, _TBL, _SDT, _SDT_CONTENT, _R, _T = _w("p"), _w("tbl"), _w("sdt"), _w("sdtContent"), _w("r"), _w("t")
_TR, _TC, _BODY = _w("tr"), _w("tc"), _w("body")
# Elements inside a paragraph whose runs are shown as its text.
_RUN_CONTAINERS = frozenset(_w(t) for t in ("hyperlink", "ins", "smartTag", "sdt", "sdtContent", "fldSimple",
                                            "customXml", "moveTo"))
_RUN_TEXT = {_w("tab"): "\t", _w("ptab"): "\t", _w("cr"): "\n", _w("noBreakHyphen"): "-"}


def xml_parser() -> etree.XMLParser:
    """No entities, no DTD, no network, lxml's own size limits: a .docx is data, never a program."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse_part(data: bytes) -> Any:
    """A small XML part (styles, numbering, relationships) as an element; XMLSyntaxError when malformed."""
    return etree.fromstring(data, parser=xml_parser())


def _val(element: Any, tag: str, default: str) -> str:
    child = element.find(_w(tag)) if element is not None else None
    return str(child.get(_w("val"), default)) if child is not None else default


# ---------------------------------------------------------------- styles
@dataclass(frozen=True)
class _Style:
    name: str
    based_on: str
    num_pr: tuple[str, int] | None  # (numId, ilvl) of the style's own w:numPr


def _num_pr_of(ppr: Any) -> tuple[str, int] | None:
    num_pr = ppr.find(_w("numPr")) if ppr is not None else None
    if num_pr is None:
        return None
    ilvl = _val(num_pr, "ilvl", "0")
    return _val(num_pr, "numId", ""), int(ilvl) if ilvl.isdigit() else 0


class Styles:
    """styles.xml read once: paragraph style id → name, base style and numbering."""

    def __init__(self, root: Any | None) -> None:
        self.styles: dict[str, _Style] = {}
        self.paragraph_ids: set[str] = set()
        self.default_id = ""
        if root is None:
            return
        for style in root.iter(_w("style")):
            style_id = str(style.get(_w("styleId"), ""))
            raw_name = _val(style, "name", "")
            self.styles[style_id] = _Style(_UI_NAMES.get(raw_name, raw_name), _val(style, "basedOn", ""),
                                           _num_pr_of(style.find(_w("pPr"))))
            if style.get(_w("type"), "paragraph") == "paragraph":
                self.paragraph_ids.add(style_id)
                if style.get(_w("default")) in ("1", "true", "on"):
                    self.default_id = style_id  # python-docx takes the last default

    def paragraph_style(self, ppr: Any) -> str:
        """The id of a paragraph's style: its w:pStyle when that is a paragraph style, else the default."""
        style_id = _val(ppr, "pStyle", "") if ppr is not None else ""
        return style_id if style_id in self.paragraph_ids else self.default_id

    def name(self, style_id: str) -> str:
        style = self.styles.get(style_id)
        return style.name if style is not None else ""

    def num_pr(self, style_id: str) -> tuple[str, int] | None:
        """numId/ilvl from the style or the styles it is based on (a cycle ends the walk)."""
        seen: set[str] = set()
        while style_id and style_id not in seen:
            seen.add(style_id)
            style = self.styles.get(style_id)
            if style is None:
                return None
            if style.num_pr is not None:
                return style.num_pr
            style_id = style.based_on
        return None


# ---------------------------------------------------------------- numbering
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


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


class Numbering:
    """Word auto-numbering (w:numPr) rendered as text, counting per (numId, ilvl)."""

    def __init__(self, root: Any | None) -> None:
        self.levels: dict[tuple[str, int], tuple[str, str, int]] = {}  # (numId, ilvl) → fmt, text, start
        self.counters: dict[tuple[str, int], int] = {}
        if root is None:
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for absnum in root.findall(_w("abstractNum")):
            levels = {}
            for lvl in absnum.findall(_w("lvl")):
                levels[_int(str(lvl.get(_w("ilvl"), "0")), 0)] = (
                    _val(lvl, "numFmt", "decimal"),
                    _val(lvl, "lvlText", ""),
                    _int(_val(lvl, "start", "1") or "1", 1),
                )
            abstract[str(absnum.get(_w("abstractNumId"), ""))] = levels
        for num in root.findall(_w("num")):
            num_id = str(num.get(_w("numId"), ""))
            for ilvl, spec in abstract.get(_val(num, "abstractNumId", ""), {}).items():
                self.levels[(num_id, ilvl)] = spec

    def label_for(self, num_id: str, ilvl: int) -> str:
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


# ---------------------------------------------------------------- text
def _run_text(run: Any) -> Iterator[str]:
    for child in run:
        tag = child.tag
        if tag == _T:
            yield child.text or ""
        elif tag == _w("br"):
            if child.get(_w("type"), "textWrapping") == "textWrapping":
                yield "\n"
        elif tag in _RUN_TEXT:
            yield _RUN_TEXT[tag]


def _inline_text(element: Any) -> Iterator[str]:
    for child in element:
        if child.tag == _R:
            yield from _run_text(child)
        elif child.tag in _RUN_CONTAINERS:
            yield from _inline_text(child)


def paragraph_text(p: Any) -> str:
    return "".join(_inline_text(p))


def _style_level(style_name: str) -> int | None:
    if style_name.strip().lower() in _TITLE_STYLES:
        return 0
    match = _HEADING_STYLE.match(style_name.strip())
    return int(match.group(1)) if match else None


class _Reader:
    def __init__(self, styles: Styles, numbering: Numbering) -> None:
        self.styles = styles
        self.numbering = numbering

    def paragraph(self, p: Any) -> list[Block]:
        ppr = p.find(_w("pPr"))
        style_id = self.styles.paragraph_style(ppr)
        style = self.styles.name(style_id)
        text = paragraph_text(p)
        num = _num_pr_of(ppr) or self.styles.num_pr(style_id)
        label = self.numbering.label_for(*num) if num is not None else ""
        if label and text.strip():
            text = label + text.lstrip()
        level = _style_level(style)
        # A soft line break (w:br) separates lines that read as separate paragraphs.
        return [Block(text=line, style=style, heading_level=level) for line in text.split("\n")]

    def table(self, tbl: Any) -> list[Block]:
        """One Block per row; a cell spanning columns or rows (continued w:vMerge) counts once per row."""
        blocks = []
        above: dict[int, tuple[int, str]] = {}  # grid column → (cell identity, text) of the row above
        serial = 0
        for tr in tbl.iterchildren(_TR):
            offset = _int(_val(tr.find(_w("trPr")), "gridBefore", "0"), 0)
            here: dict[int, tuple[int, str]] = {}
            cells: list[str] = []
            seen: set[int] = set()
            for tc in tr.iterchildren(_TC):
                tcpr = tc.find(_w("tcPr"))
                span = max(_int(_val(tcpr, "gridSpan", "1"), 1), 1)
                vmerge = tcpr.find(_w("vMerge")) if tcpr is not None else None
                if vmerge is not None and vmerge.get(_w("val"), "continue") == "continue" and offset in above:
                    cell = above[offset]
                else:
                    serial += 1
                    own = "\n".join(paragraph_text(p) for p in tc.iterchildren(_P))
                    cell = (serial, " ".join(own.split()))
                for column in range(offset, offset + span):
                    here[column] = cell
                offset += span
                if cell[0] not in seen:
                    seen.add(cell[0])
                    if cell[1]:
                        cells.append(cell[1])
            above = here
            blocks.append(Block(text="  ".join(cells), style="table", origin="table"))
        return blocks

    def body_child(self, element: Any) -> list[Block]:
        """A w:p, w:tbl or w:sdt of the body; content controls (w:sdt) are opened, not skipped."""
        if element.tag == _P:
            return self.paragraph(element)
        if element.tag == _TBL:
            return self.table(element)
        if element.tag == _SDT:
            out: list[Block] = []
            content = element.find(_SDT_CONTENT)
            for child in content if content is not None else ():
                out.extend(self.body_child(child))
            return out
        return []


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


def docx_blocks(document_xml: Readable, styles: Styles, numbering: Numbering,
                max_chars: int) -> tuple[tuple[Block, ...], bool]:
    """The Blocks of word/document.xml, streamed; (blocks, truncated): reading stops past MAX_CHARS of text.

    Raises lxml's XMLSyntaxError for malformed XML, and whatever DOCUMENT_XML's read raises (the
    zip cap) as it is.
    """
    reader = _Reader(styles, numbering)
    blocks: list[Block] = []
    chars = 0
    body = None
    for event, element in etree.iterparse(document_xml, events=("start", "end"), resolve_entities=False,
                                          no_network=True, load_dtd=False, huge_tree=False):
        if event == "start":
            if element.tag == _BODY and body is None:
                body = element
            continue
        if body is None or element.getparent() is not body:
            continue
        new = reader.body_child(element)
        blocks.extend(new)
        chars += sum(len(b.text) for b in new)
        # Free what has been read: memory stays that of one body element.
        element.clear()
        while element.getprevious() is not None:
            del body[0]
        if chars > max_chars:
            return tuple(blocks), True
    return tuple(blocks), False
