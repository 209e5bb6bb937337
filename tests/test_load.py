"""Loading files: encodings, .docx structure, and every refusal with its reason."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls

from shuzhi.config import Settings
from shuzhi.corpus.docx_reader import format_number
from shuzhi.corpus.load import SUPPORTED_SUFFIXES, decode_bytes, load_file, load_text
from shuzhi.errors import InputRejected

SEED = "000_0130dee73a884878.txt"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _seed_text(corpus_dir: Path) -> str:
    return (corpus_dir / SEED).read_text(encoding="utf-8")


# ---------------------------------------------------------------- text and encodings
def test_loads_utf8_seed_line_by_line(corpus_dir: Path) -> None:
    loaded = load_file(corpus_dir / SEED)
    assert loaded.file_type == "txt"
    assert loaded.encoding == "utf-8"
    assert re.fullmatch(r"[0-9a-f]{16}", loaded.doc_id)
    assert loaded.blocks[0].text == "2023年支部书记抓基层党建工作述职报告"
    assert all(b.origin == "paragraph" for b in loaded.blocks)


@pytest.mark.parametrize(
    ("codec", "expected"),
    [
        pytest.param("gb18030", "gb18030", id="gb18030"),
        pytest.param("gbk", "gb18030", id="gbk-read-as-gb18030"),
        pytest.param("utf-16", "utf-16", id="utf16-bom"),
        pytest.param("utf-16-le", "utf-16-le", id="utf16le-no-bom"),
        pytest.param("utf-16-be", "utf-16-be", id="utf16be-no-bom"),
        pytest.param("utf-8-sig", "utf-8-sig", id="utf8-bom"),
    ],
)
def test_decode_bytes_detects_encodings(corpus_dir: Path, codec: str, expected: str) -> None:
    text = _seed_text(corpus_dir)
    decoded, encoding = decode_bytes(text.encode(codec))
    assert decoded == text
    assert encoding.startswith(expected)


def test_decode_short_gb18030_text() -> None:
    text = "一、主要做法和成效\n全年发展党员2名。\n"
    decoded, encoding = decode_bytes(text.encode("gb18030"))
    assert decoded == text and encoding == "gb18030"


def test_same_doc_id_for_same_bytes_whatever_the_name(corpus_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "renamed.txt"
    copy.write_bytes((corpus_dir / SEED).read_bytes())
    assert load_file(copy).doc_id == load_file(corpus_dir / SEED).doc_id


def test_load_text_for_pasted_text() -> None:
    loaded = load_text("标题\r\n第一段\n")
    assert loaded.path == "粘贴文本"
    assert [b.text for b in loaded.blocks] == ["标题", "第一段", ""]
    assert load_text("# 标题", "draft.md").file_type == "md"


# ---------------------------------------------------------------- refusals
def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _zip_bomb(path: Path) -> None:
    """A .docx-named zip with a 50 MB member of zeros (compresses ~1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        with zf.open("word/document.xml", "w") as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(50):
                member.write(block)


BAD_INPUTS = [
    pytest.param("empty.txt", b"", "empty", id="empty"),
    pytest.param("blank.txt", b" \n\t\r\n\xe3\x80\x80\n", "empty", id="whitespace-only"),
    pytest.param(
        "image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" * 20, "binary", id="png"
    ),
    pytest.param("random.docx", bytes(range(256)) * 8, "corrupt_docx", id="random-docx"),
    pytest.param("notdocx.docx", _zip_bytes({"hello.txt": b"hi"}), "corrupt_docx", id="zip-not-docx"),
    pytest.param("report.pdf", b"%PDF-1.4 ...", "unsupported", id="pdf"),
]


@pytest.mark.parametrize(("name", "data", "reason"), BAD_INPUTS)
def test_bad_inputs_are_refused(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(InputRejected) as info:
        load_file(path)
    assert info.value.reason == reason
    assert name in info.value.user_message
    assert CJK.search(info.value.user_message)


def test_unsupported_message_lists_supported_types(tmp_path: Path) -> None:
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF")
    with pytest.raises(InputRejected) as info:
        load_file(path)
    assert info.value.user_message == "文件「x.pdf」的类型暂不支持，请使用 .txt、.md 或 .docx。"
    assert SUPPORTED_SUFFIXES == (".txt", ".md", ".docx")


def test_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputRejected) as info:
        load_file(tmp_path / "不存在.txt")
    assert info.value.reason == "missing"
    assert "不存在.txt" in info.value.user_message


def test_too_large_is_checked_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.txt"
    path.write_text("党建" * 1000, encoding="utf-8")
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("read before the size check"))
    with pytest.raises(InputRejected) as info:
        load_file(path, Settings(max_file_bytes=1000))
    assert info.value.reason == "too_large"
    assert "big.txt" in info.value.user_message


def test_zip_bomb_is_refused_before_python_docx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.docx"
    _zip_bomb(path)
    monkeypatch.setattr(docx, "Document", lambda *a, **k: pytest.fail("python-docx opened a zip bomb"))
    settings = Settings(max_docx_uncompressed_bytes=10 * 1024 * 1024, max_file_bytes=5 * 1024 * 1024)
    with pytest.raises(InputRejected) as info:
        load_file(path, settings)
    assert info.value.reason == "zip_bomb"
    assert "bomb.docx" in info.value.user_message
    # The compression ratio alone is enough, too.
    with pytest.raises(InputRejected) as info:
        load_file(path, Settings(max_docx_compression_ratio=50.0))
    assert info.value.reason == "zip_bomb"


def test_docx_without_text_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "blank.docx"
    docx.Document().save(str(path))
    with pytest.raises(InputRejected) as info:
        load_file(path)
    assert info.value.reason == "empty"


# ---------------------------------------------------------------- docx structure
def test_docx_keeps_tables_in_body_order_and_heading_styles(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_heading("2023年党支部书记述职报告", level=0)
    document.add_heading("一、主要做法和成效", level=1)
    document.add_paragraph("表格之前的段落。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "项目", "次数"
    table.cell(1, 0).text, table.cell(1, 1).text = "主题党日", "12"
    document.add_paragraph("表格之后的段落。")
    document.add_heading("（一）加强政治建设", level=2)
    path = tmp_path / "t.docx"
    document.save(str(path))

    loaded = load_file(path)
    assert loaded.file_type == "docx" and loaded.encoding == "docx"
    texts = [b.text for b in loaded.blocks]
    assert texts == [
        "2023年党支部书记述职报告",
        "一、主要做法和成效",
        "表格之前的段落。",
        "项目  次数",
        "主题党日  12",
        "表格之后的段落。",
        "（一）加强政治建设",
    ]
    levels = [b.heading_level for b in loaded.blocks]
    assert levels == [0, 1, None, None, None, None, 2]
    assert [b.origin for b in loaded.blocks][3:5] == ["table", "table"]
    assert loaded.blocks[1].style == "Heading 1"


def _add_chinese_numbering(document: docx.document.Document) -> str:
    """Add an abstractNum with chineseCounting "%1、" at level 0 and decimal "%2." at level 1."""
    numbering = document.part.numbering_part.element
    numbering.insert(
        0,
        parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="chineseCounting"/>'
            '<w:lvlText w:val="%1、"/></w:lvl>'
            '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
            '<w:lvlText w:val="%2."/></w:lvl></w:abstractNum>'
        ),
    )
    numbering.append(parse_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>'))
    return "90"


def _numbered(document: docx.document.Document, text: str, num_id: str, ilvl: int) -> None:
    paragraph = document.add_paragraph(text)
    paragraph._p.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{ilvl}"/><w:numId w:val="{num_id}"/></w:numPr>')
    )


def test_docx_auto_numbering_is_rendered_as_text(tmp_path: Path) -> None:
    document = docx.Document()
    num_id = _add_chinese_numbering(document)
    _numbered(document, "主要做法和成效", num_id, 0)
    _numbered(document, "一丝不苟落实责任。", num_id, 1)
    _numbered(document, "始终如一抓实学习。", num_id, 1)
    _numbered(document, "存在问题及原因", num_id, 0)
    _numbered(document, "学习不够深入。", num_id, 1)
    document.add_paragraph("第一条", style="List Number")  # numbering from the style (decimal)
    document.add_paragraph("第二条", style="List Number")
    path = tmp_path / "n.docx"
    document.save(str(path))
    texts = [b.text for b in load_file(path).blocks]
    assert texts == [
        "一、主要做法和成效",
        "1.一丝不苟落实责任。",
        "2.始终如一抓实学习。",
        "二、存在问题及原因",
        "1.学习不够深入。",  # a new level-0 item restarts level 1
        "1.第一条",
        "2.第二条",
    ]


@pytest.mark.parametrize(
    ("n", "fmt", "expected"),
    [
        (1, "chineseCounting", "一"),
        (10, "chineseCountingThousand", "十"),
        (12, "ideographTraditional", "十二"),
        (21, "chineseCounting", "二十一"),
        (3, "decimal", "3"),
        (2, "lowerLetter", "b"),
        (4, "upperRoman", "IV"),
        (1, "decimalEnclosedCircle", "①"),
    ],
)
def test_format_number(n: int, fmt: str, expected: str) -> None:
    assert format_number(n, fmt) == expected


@pytest.mark.parametrize(
    ("text", "file_type"),
    [
        pytest.param("## 一、主要做法\n正文。", "md", id="md-heading"),
        pytest.param("- 召开支委会12次\n- 发展党员2名", "md", id="md-bullets"),
        pytest.param("**一是加强学习。**坚持第一议题。", "md", id="md-bold"),
        pytest.param("支部委员会**次，党小组会**次。", "txt", id="star-placeholders"),
        pytest.param("一、主要做法\n正文。", "txt", id="plain"),
    ],
)
def test_load_text_recognises_markdown(text: str, file_type: str) -> None:
    assert load_text(text).file_type == file_type


def test_seeds_are_not_taken_for_markdown(corpus_dir: Path) -> None:
    for path in sorted(corpus_dir.glob("*.txt")):
        assert load_text(path.read_text(encoding="utf-8")).file_type == "txt", path.name
