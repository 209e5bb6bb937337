"""Export: numbering of the assembled report, Markdown round trip, 公文 .docx formatting, safe writes."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Pt

from shuzhi.datafiles import configure_rules
from shuzhi.errors import ShuzhiError
from shuzhi.export import (
    ReportBlock,
    ReportDocument,
    assemble_report,
    export_docx,
    export_markdown,
    markdown_to_report,
    report_to_markdown,
    strip_numbering,
)
from shuzhi.models import Plan, PlanSection, SectionDraft

TITLE = "2024年某局机关党委书记抓基层党建工作述职报告"


def _draft(key: str, kind: str, heading: str = "", text: str = "正文。", error: str = "") -> SectionDraft:
    return SectionDraft(key=key, kind=kind, heading=heading, text=text, error=error)


def _full_drafts() -> list[SectionDraft]:
    return [
        _draft("opening", "opening", text="根据安排，现将2024年抓基层党建工作情况报告如下。"),
        _draft("achievements.1", "achievements", "加强政治建设，压实管党治党责任", "一是召开党委会12次。\n二是……"),
        _draft("achievements.2", "achievements", "（二）深化理论武装，筑牢思想根基", "开展集中学习20次。"),
        _draft("achievements.3", "achievements", "3. 夯实组织基础", "**发展党员2名**。\n\n- 新建活动阵地1处"),
        _draft("problems", "problems", "存在问题及原因", "一是理论学习不够深入。"),
        _draft("causes", "causes", "分析存在上述问题的原因", "究其原因，主要是思想认识还有差距。"),
        _draft("next_steps", "next_steps", "下一步工作思路和措施", "一是持续强化理论武装。"),
        _draft("closing", "closing", text="我将以更高标准推动工作。"),
    ]


def _plan(with_rectification: bool) -> Plan:
    sections = [
        PlanSection("opening", "opening", "", level=0),
        PlanSection("achievements", "achievements", "主要做法和成效", level=1),
        PlanSection("achievements.1", "achievements", "加强政治建设", level=2),
        PlanSection("achievements.2", "achievements", "深化理论武装", level=2),
    ]
    if with_rectification:
        sections.append(PlanSection("rectification", "rectification", "上年度问题整改情况", level=1))
    sections += [
        PlanSection("problems", "problems", "存在问题及原因", level=1),
        PlanSection("causes", "causes", "分析存在上述问题的原因", level=2),
        PlanSection("next_steps", "next_steps", "下一步工作思路和措施", level=1),
        PlanSection("closing", "closing", "", level=0),
    ]
    return Plan(title=TITLE, year=2024, org="某局机关党委", sections=tuple(sections))


def _headings(doc: ReportDocument, kind: str) -> list[str]:
    return [b.text for b in doc.blocks if b.kind == kind]


# ---------------------------------------------------------------- assemble
def test_full_report_numbering_and_order() -> None:
    doc = assemble_report(TITLE, _full_drafts())
    assert doc.title == TITLE
    assert _headings(doc, "heading1") == ["一、主要做法和成效", "二、存在问题及原因", "三、下一步工作思路和措施"]
    assert _headings(doc, "heading2") == [
        "（一）加强政治建设，压实管党治党责任",
        "（二）深化理论武装，筑牢思想根基",
        "（三）夯实组织基础",
    ]
    assert doc.blocks[0] == ReportBlock("paragraph", "根据安排，现将2024年抓基层党建工作情况报告如下。")
    assert doc.blocks[-1] == ReportBlock("paragraph", "我将以更高标准推动工作。")
    texts = [b.text for b in doc.blocks]
    # causes: a paragraph right after the problems text, no number and no heading of its own
    problems_at = texts.index("一是理论学习不够深入。")
    assert texts[problems_at + 1] == "究其原因，主要是思想认识还有差距。"
    assert doc.blocks[problems_at + 2] == ReportBlock("heading1", "三、下一步工作思路和措施")
    assert not any("原因" in t for t in _headings(doc, "heading2"))


def test_markdown_marks_dropped_and_lines_split() -> None:
    doc = assemble_report(TITLE, _full_drafts())
    texts = [b.text for b in doc.blocks if b.kind == "paragraph"]
    assert "发展党员2名。" in texts
    assert "新建活动阵地1处" in texts
    assert "一是召开党委会12次。" in texts and "二是……" in texts
    assert not any("*" in t or t.startswith(("-", "#")) for t in texts)


def test_plan_without_rectification_leaves_no_gap() -> None:
    drafts = [d for d in _full_drafts() if d.key != "achievements.3"]
    doc = assemble_report(TITLE, drafts, _plan(with_rectification=False))
    assert _headings(doc, "heading1") == ["一、主要做法和成效", "二、存在问题及原因", "三、下一步工作思路和措施"]


def test_rectification_present_is_numbered_in_place() -> None:
    drafts = _full_drafts()
    drafts.insert(4, _draft("rectification", "rectification", "上年度问题整改情况", "整改问题5个。"))
    doc = assemble_report(TITLE, drafts, _plan(with_rectification=True))
    assert _headings(doc, "heading1") == [
        "一、主要做法和成效", "二、上年度问题整改情况", "三、存在问题及原因", "四、下一步工作思路和措施",
    ]


def test_plan_order_wins_over_completion_order() -> None:
    drafts = list(reversed(_full_drafts()))
    doc = assemble_report(TITLE, drafts, _plan(with_rectification=False))
    assert doc.blocks[0].text.startswith("根据安排")
    assert doc.blocks[-1].text == "我将以更高标准推动工作。"
    assert _headings(doc, "heading1")[0] == "一、主要做法和成效"
    assert _headings(doc, "heading2")[:2] == ["（一）加强政治建设，压实管党治党责任", "（二）深化理论武装，筑牢思想根基"]


def test_model_numbering_is_not_doubled() -> None:
    drafts = [
        _draft("problems", "problems", "一、存在问题及原因", "## 一、存在问题及原因\n一、学习不够深入。"),
        _draft("next_steps", "next_steps", "二、下一步工作思路和措施", "一是强化学习。"),
    ]
    doc = assemble_report(TITLE, drafts)
    assert _headings(doc, "heading1") == ["一、存在问题及原因", "二、下一步工作思路和措施"]
    # the repeated heading line is dropped; a numbered body paragraph is left alone
    assert [b.text for b in doc.blocks if b.kind == "paragraph"] == ["一、学习不够深入。", "一是强化学习。"]


def test_absent_sections_skip_numbers() -> None:
    drafts = [_draft("opening", "opening", text="开头。"), _draft("next_steps", "next_steps", "下一步工作思路和措施")]
    doc = assemble_report(TITLE, drafts)
    assert _headings(doc, "heading1") == ["一、下一步工作思路和措施"]


def test_level1_heading_from_plan_when_only_sub_items_drafted() -> None:
    plan = _plan(with_rectification=False)
    plan = Plan(plan.title, plan.year, plan.org, tuple(
        PlanSection(s.key, s.kind, "主要做法及成效" if s.key == "achievements" else s.heading, level=s.level)
        for s in plan.sections))
    doc = assemble_report(TITLE, _full_drafts()[:3], plan)
    assert _headings(doc, "heading1") == ["一、主要做法及成效"]


def test_failed_section_shows_placeholder() -> None:
    drafts = [
        _draft("achievements.1", "achievements", "加强政治建设", text="", error="模型服务超时"),
        _draft("problems", "problems", "存在问题及原因", "一是……"),
    ]
    doc = assemble_report(TITLE, drafts)
    assert ReportBlock("heading2", "（一）加强政治建设") in doc.blocks
    assert ReportBlock("paragraph", "〔本节生成失败：模型服务超时〕") in doc.blocks


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("一、主要做法和成效", "主要做法和成效", id="cn-dun"),
        pytest.param("（三）夯实组织基础", "夯实组织基础", id="cn-paren"),
        pytest.param("(2) 夯实组织基础", "夯实组织基础", id="ascii-paren"),
        pytest.param("## 二、**存在问题**", "存在问题", id="markdown"),
        pytest.param("第一部分：主要做法", "主要做法", id="di-bufen"),
        pytest.param("第一书记抓党建促振兴", "第一书记抓党建促振兴", id="not-numbering"),
        pytest.param("2024年重点工作", "2024年重点工作", id="year"),
        pytest.param("三会一课规范落实", "三会一课规范落实", id="numeral-word"),
    ],
)
def test_strip_numbering(raw: str, expected: str) -> None:
    assert strip_numbering(raw) == expected


# ---------------------------------------------------------------- Markdown
def test_markdown_round_trip() -> None:
    doc = assemble_report(TITLE, _full_drafts())
    text = report_to_markdown(doc)
    assert text.startswith(f"# {TITLE}\n")
    assert "\n## 一、主要做法和成效\n" in text and "\n### （一）加强政治建设，压实管党治党责任\n" in text
    assert markdown_to_report(text) == doc


def test_plain_text_draft_is_read() -> None:
    text = f"{TITLE}\n\n开头。\n一、主要做法和成效\n（一）加强政治建设\n一是召开会议。\n二、存在问题及原因\n一、学习不够深入。\n"
    doc = markdown_to_report(text)
    assert doc.title == TITLE
    assert [(b.kind, b.text) for b in doc.blocks] == [
        ("paragraph", "开头。"),
        ("heading1", "一、主要做法和成效"),
        ("heading2", "（一）加强政治建设"),
        ("paragraph", "一是召开会议。"),
        ("heading1", "二、存在问题及原因"),
        ("paragraph", "一、学习不够深入。"),
    ]
    assert markdown_to_report(text, title="别的标题").title == "别的标题"


def test_export_markdown_writes_utf8(tmp_path: Path) -> None:
    doc = assemble_report(TITLE, _full_drafts())
    out = export_markdown(doc, tmp_path / "report.md")
    assert out.read_text(encoding="utf-8") == report_to_markdown(doc)


# ---------------------------------------------------------------- .docx
def _east_asia(run) -> str | None:  # type: ignore[no-untyped-def]
    return run._element.rPr.rFonts.get(qn("w:eastAsia"))


@pytest.fixture(scope="module")
def docx_bytes() -> bytes:
    return export_docx(assemble_report(TITLE, _full_drafts()))


def test_docx_title(docx_bytes: bytes) -> None:
    document = Document(io.BytesIO(docx_bytes))
    title = document.paragraphs[0]
    assert title.text == TITLE
    assert title.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert not title.paragraph_format.first_line_indent  # an indent would push the title off centre
    run = title.runs[0]
    assert run.font.size == Pt(22)
    assert _east_asia(run) == "方正小标宋简体"
    assert run.font.name == "Times New Roman"
    assert not run.font.bold
    assert document.core_properties.title == TITLE
    assert document.core_properties.author == ""


def test_docx_headings_and_body(docx_bytes: bytes) -> None:
    document = Document(io.BytesIO(docx_bytes))
    by_text = {p.text: p for p in document.paragraphs}
    heading1 = by_text["一、主要做法和成效"]
    assert _east_asia(heading1.runs[0]) == "黑体"
    assert heading1.paragraph_format.first_line_indent == Pt(32)
    heading2 = by_text["（一）加强政治建设，压实管党治党责任"]
    assert _east_asia(heading2.runs[0]) == "楷体_GB2312"
    body = by_text["一是理论学习不够深入。"]
    fmt = body.paragraph_format
    assert fmt.first_line_indent == Pt(32)
    assert fmt.line_spacing_rule == WD_LINE_SPACING.EXACTLY and fmt.line_spacing == Pt(28)
    assert fmt.space_before == Pt(0) and fmt.space_after == Pt(0)
    assert body.alignment == WD_ALIGN_PARAGRAPH.JUSTIFY
    for run in body.runs:
        assert _east_asia(run) == "仿宋_GB2312" and run.font.size == Pt(16)
    normal = document.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_docx_page_setup_and_page_number(docx_bytes: bytes) -> None:
    document = Document(io.BytesIO(docx_bytes))
    section = document.sections[0]
    for value, expected in ((section.page_width, 210), (section.page_height, 297), (section.top_margin, 37),
                            (section.bottom_margin, 35), (section.left_margin, 28), (section.right_margin, 26)):
        assert value is not None and value.mm == pytest.approx(expected, abs=0.1)
    footer_xml = section.footer._element.xml
    assert "PAGE" in footer_xml and "fldChar" in footer_xml
    footer = section.footer.paragraphs[0]
    assert footer.alignment == WD_ALIGN_PARAGRAPH.CENTER and not footer.paragraph_format.first_line_indent
    assert footer.text == "— 1 —"


def test_docx_title_falls_back_to_bold_songti(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "docx_style.yaml").write_text("title_font: 宋体\nline_spacing_pt: 29\n", encoding="utf-8")
    configure_rules(rules)
    document = Document(io.BytesIO(export_docx(ReportDocument(TITLE, (ReportBlock("paragraph", "正文。"),)))))
    run = document.paragraphs[0].runs[0]
    assert _east_asia(run) == "宋体" and run.font.bold
    assert document.paragraphs[-1].paragraph_format.line_spacing == Pt(29)


def test_placeholder_highlighted(tmp_path: Path) -> None:
    doc = ReportDocument(TITLE, (ReportBlock("paragraph", "发展党员〔X〕名。"),))
    paragraph = Document(io.BytesIO(export_docx(doc))).paragraphs[-1]
    assert paragraph.text == "发展党员〔X〕名。"
    assert [r.font.highlight_color is not None for r in paragraph.runs] == [False, True, False]
    assert all(_east_asia(r) == "仿宋_GB2312" for r in paragraph.runs)


# ---------------------------------------------------------------- writing
def test_export_docx_writes_and_returns_bytes(tmp_path: Path) -> None:
    target = tmp_path / "述职报告.docx"
    data = export_docx(assemble_report(TITLE, _full_drafts()), target)
    assert target.read_bytes() == data
    assert data[:2] == b"PK"


@pytest.mark.parametrize("name", ["report.docx", "report.md"])
def test_missing_folder_refused_in_chinese(tmp_path: Path, name: str) -> None:
    doc = ReportDocument(TITLE, ())
    target = tmp_path / "没有这个文件夹" / name
    with pytest.raises(ShuzhiError) as info:
        if name.endswith(".md"):
            export_markdown(doc, target)
        else:
            export_docx(doc, target)
    assert "文件夹不存在" in info.value.user_message
    assert not target.parent.exists()


def test_existing_file_replaced_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "report.docx"
    target.write_bytes(b"old report")
    doc = assemble_report(TITLE, _full_drafts())

    def broken_replace(src: str, dst: str) -> None:
        raise PermissionError("file is open in Word")

    with monkeypatch.context() as patched:
        patched.setattr(os, "replace", broken_replace)
        with pytest.raises(ShuzhiError) as info:
            export_docx(doc, target)
    assert "无法写入" in info.value.user_message
    assert target.read_bytes() == b"old report"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.docx"]  # no temp file left behind

    data = export_docx(doc, target)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.docx"]
