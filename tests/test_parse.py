"""Parsing the real seeds (and their GB18030 / UTF-16 / .docx copies) into report sections."""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest

from shuzhi.corpus.parse import (
    classify_heading,
    detect_org_type,
    detect_theme,
    detect_year,
    parse_file,
    parse_text,
    split_points,
)
from shuzhi.models import PLACEHOLDER, ParsedDocument, Point

SEEDS = {
    "000": "000_0130dee73a884878.txt",
    "001": "001_05cd02786ead8f09.txt",
    "002": "002_15f0e8ffb1cae4f6.txt",
    "003": "003_5d70bbfcd06b2305.txt",
    "004": "004_0e8407db99130d67.txt",
}
FORBIDDEN = ("##paid", "QQ", "酷乐", "会员", "订阅", "禁止外传")
LEVEL1 = re.compile(r"^(?:[一二三四五六七八九十]+、)")
LEVEL2 = re.compile(r"^(?:[（(][一二三四五六七八九十]+[）)]|\d{1,2}[.．、])")


def _all_text(doc: ParsedDocument) -> str:
    parts = [doc.title]
    for s in doc.sections:
        parts += [s.heading, s.text, *s.heading_path, *(p.label + p.text for p in s.points)]
    return "\n".join(parts)


def _outline(doc: ParsedDocument) -> list[tuple[str, str]]:
    return [(s.kind, s.heading) for s in doc.sections]


@pytest.fixture(scope="module")
def parsed() -> dict[str, ParsedDocument]:
    corpus = Path(__file__).resolve().parent.parent / "corpus"
    return {key: parse_file(corpus / name) for key, name in SEEDS.items()}


# ---------------------------------------------------------------- acceptance on the seeds
@pytest.mark.parametrize("seed", list(SEEDS))
def test_seed_is_clean_and_complete(parsed: dict[str, ParsedDocument], seed: str) -> None:
    doc = parsed[seed]
    text = _all_text(doc)
    for dirt in FORBIDDEN:
        assert dirt not in text, f"{seed}: {dirt!r} left in the parse"
    kinds = {s.kind for s in doc.sections}
    assert {"title", "opening", "achievements", "problems", "next_steps"} <= kinds
    assert doc.sections[0].kind == "title" and doc.title
    assert not re.search(r"(?<![A-Za-z0-9〔])[xX]+(?![A-Za-z0-9〕])|\*", text), "raw placeholder left"


@pytest.mark.parametrize(
    ("seed", "year"), [("000", 2023), ("001", 2023), ("002", 2022), ("003", 2020), ("004", 2023)]
)
def test_seed_years(parsed: dict[str, ParsedDocument], seed: str, year: int) -> None:
    assert parsed[seed].year == year


def test_seed_000_keeps_words_whole_and_has_causes(parsed: dict[str, ParsedDocument]) -> None:
    doc = parsed["000"]
    assert "机关基层党组织建设" in _all_text(doc)
    causes = doc.sections_of("causes")
    assert len(causes) == 1
    c = causes[0]
    assert c.heading == "分析存在上述问题的主要原因"
    assert c.heading_path == ("存在问题及原因", "分析存在上述问题的主要原因") and c.level == 2
    assert [p.label for p in c.points] == ["一是", "二是", "三是"]
    assert c.points[0].text.startswith("工作思路不够开阔。")
    # Causes sit right after the problems content, and problems no longer hold them.
    kinds = [s.kind for s in doc.sections]
    assert kinds.index("causes") == max(i for i, k in enumerate(kinds) if k == "problems") + 1
    assert all("主要原因" not in s.text for s in doc.sections_of("problems"))


def test_seed_000_inline_headings(parsed: dict[str, ParsedDocument]) -> None:
    first = parsed["000"].sections_of("achievements")[1]
    assert first.heading == "一丝不苟落实机关党建工作责任"
    assert first.heading_path == ("主要做法和成效", "一丝不苟落实机关党建工作责任")
    assert first.text.startswith("一是坚持突出位置。")
    assert [p.label for p in first.points] == ["一是", "二是", "三是", "四是"]
    assert first.theme


def test_seed_001_rectification_and_intro_paragraphs(parsed: dict[str, ParsedDocument]) -> None:
    doc = parsed["001"]
    rect = doc.sections_of("rectification")
    assert [s.heading for s in rect] == ["2022年度问题整改情况"]
    assert [p.label for p in rect[0].points] == ["", "一是", "二是", "三是"]
    achievements = doc.sections_of("achievements")
    assert achievements[0].heading == "履职工作情况" and achievements[0].text.startswith("2023年在")
    assert doc.sections_of("next_steps")[0].text.startswith("下一步，我将以此次")
    assert doc.org_type == "企业"


def test_seed_002_closing(parsed: dict[str, ParsedDocument]) -> None:
    closing = parsed["002"].sections_of("closing")
    assert len(closing) == 1 and closing[0].text.startswith("以上就是我的述职报告")
    assert parsed["002"].sections[-1].kind == "closing"


def test_seed_003_causes_and_problems_intro(parsed: dict[str, ParsedDocument]) -> None:
    doc = parsed["003"]
    assert doc.title == "政府办党组书记抓基层党建工作述职报告"
    problems = doc.sections_of("problems")[0]
    assert problems.text.startswith("2020年，在抓基层党建方面")
    assert [p.label for p in problems.points] == ["", "一是", "二是", "三是", "四是"]
    causes = doc.sections_of("causes")
    assert [c.heading for c in causes] == ["究其主要原因"]
    assert [p.label for p in causes[0].points] == ["一是", "二是", "三是", "四是", "五是"]
    assert doc.org_type == "政府部门"


def test_seed_004_numbering_jump_and_heading_lines(parsed: dict[str, ParsedDocument]) -> None:
    doc = parsed["004"]
    level1 = [(s.kind, s.heading) for s in doc.sections if s.level == 1]
    assert level1 == [
        ("achievements", "2023履职情况"),
        ("problems", "存在不足"),
        ("next_steps", "下步工作打算"),
    ]
    own_line = next(s for s in doc.sections if s.heading == "强化政治担当，履行抓基层党建主体责任")
    assert own_line.kind == "achievements" and own_line.level == 2
    assert own_line.text.startswith("坚持和加强党的全面领导")
    assert doc.title.startswith(PLACEHOLDER)


# ---------------------------------------------------------------- the same outline from other encodings and .docx
def _outline_of(path: Path) -> list[tuple[str, str]]:
    return _outline(parse_file(path))


@pytest.mark.parametrize("codec", ["gb18030", "utf-16", "utf-16-le", "utf-8-sig"])
@pytest.mark.parametrize("seed", ["000", "003"])
def test_encoded_copies_parse_the_same(corpus_dir: Path, tmp_path: Path, codec: str, seed: str) -> None:
    source = corpus_dir / SEEDS[seed]
    copy = tmp_path / f"copy-{codec}.txt"
    copy.write_bytes(source.read_text(encoding="utf-8").encode(codec))
    assert _outline_of(copy) == _outline_of(source)


def _write_docx(lines: list[str], path: Path, styled: bool) -> None:
    document = docx.Document()
    title_done = False
    for line in lines:
        if not line.strip():
            continue
        if styled and not title_done and "述职报告" in line:
            document.add_heading(line, level=0)
            title_done = True
        elif styled and LEVEL1.match(line):
            document.add_heading(line, level=1)
        elif styled and LEVEL2.match(line):
            document.add_heading(line, level=2)
        else:
            document.add_paragraph(line)
    document.save(str(path))


@pytest.mark.parametrize("styled", [True, False], ids=["heading-styles", "plain-paragraphs"])
@pytest.mark.parametrize("seed", list(SEEDS))
def test_docx_copies_parse_the_same(corpus_dir: Path, tmp_path: Path, seed: str, styled: bool) -> None:
    source = corpus_dir / SEEDS[seed]
    path = tmp_path / "copy.docx"
    _write_docx(source.read_text(encoding="utf-8").splitlines(), path, styled)
    doc = parse_file(path)
    assert _outline(doc) == _outline_of(source)
    assert doc.file_type == "docx"


def test_markdown_headings() -> None:
    text = "\n".join(
        [
            "# 2024年党支部书记抓基层党建工作述职报告",
            "今年以来，支部在上级党委领导下认真履职，现报告如下：",
            "## 一、主要做法和成效",
            "### （一）加强政治建设",
            "一是坚持第一议题制度，全年学习12次。二是开展专题研讨4次，撰写心得体会。",
            "## 二、存在的问题",
            "学习不够深入，有的党员满足于读读文件。",
            "## 三、下一步打算",
            "持续加强理论学习。",
        ]
    )
    doc = parse_text(text, "draft.md")
    assert doc.title == "2024年党支部书记抓基层党建工作述职报告" and doc.year == 2024
    assert _outline(doc) == [
        ("title", doc.title),
        ("opening", ""),
        ("achievements", "主要做法和成效"),
        ("achievements", "加强政治建设"),
        ("problems", "存在的问题"),
        ("next_steps", "下一步打算"),
    ]
    assert doc.sections[3].level == 2 and [p.label for p in doc.sections[3].points] == ["一是", "二是"]


def test_unknown_headings_fall_back_by_words_and_position() -> None:
    text = "\n".join(
        [
            "一、主要做法和成效",
            "（一）抓学习。全年学习12次，研讨4次，党员参学率达到百分之百，学习效果明显。",
            "二、几点体会",
            "坚持党建引领是做好各项工作的根本保证，必须始终把党建放在首位。",
            "三、需要正视的方面",
            "理论学习还有差距，学用结合不够紧密，有的党员学习停留在表面。",
            "第四部分 明年打算",
            "持续加强理论学习。",
            "以上报告，请予审议。",
        ]
    )
    kinds = [(s.kind, s.heading) for s in parse_text(text).sections]
    assert kinds == [
        ("achievements", "主要做法和成效"),
        ("achievements", "抓学习"),
        ("achievements", "几点体会"),  # no pattern, no telling words: the previous kind
        ("problems", "需要正视的方面"),  # 差距 in its first line, after achievements
        ("next_steps", "明年打算"),
        ("closing", ""),
    ]


def test_level3_numbering_under_level2() -> None:
    text = (
        "一、主要工作\n（一）抓组织建设\n1.规范组织生活。全年召开支委会12次。\n2.发展党员。发展预备党员2名。"
    )
    doc = parse_text(text)
    assert [(s.level, s.heading) for s in doc.sections] == [
        (1, "主要工作"),
        (2, "抓组织建设"),
        (3, "规范组织生活"),
        (3, "发展党员"),
    ]
    assert doc.sections[2].heading_path == ("主要工作", "抓组织建设", "规范组织生活")


# ---------------------------------------------------------------- detectors
@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("一、主要做法和成效", "achievements"),
        ("履职工作情况", "achievements"),
        ("履行党建工作责任情况", "achievements"),
        ("主要工作", "achievements"),
        ("2023履职情况", "achievements"),
        ("二、2022年度问题整改情况", "rectification"),
        ("存在问题及原因", "problems"),
        ("存在的短板不足", "problems"),
        ("存在的主要问题及原因", "problems"),
        ("存在不足", "problems"),
        ("存在的问题不足", "problems"),
        ("下一步工作思路和措施", "next_steps"),
        ("下一步思路和改进措施", "next_steps"),
        ("下步工作打算", "next_steps"),
        ("下一步工作思路", "next_steps"),
        ("下步工作思路和主要措施", "next_steps"),
        ("原因分析", "causes"),
        ("几点体会", None),
    ],
)
def test_classify_heading(heading: str, kind: str | None) -> None:
    assert classify_heading(heading) == kind


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("严格落实“三会一课”制度，发展预备党员2名", "组织建设"),
        ("开展警示教育，筑牢廉洁防线", "纪律建设/党风廉政"),
        ("扎实开展主题教育", "主题教育/学习教育"),
        ("落实意识形态工作责任制", "意识形态"),
        ("认真整改落实市委巡察反馈意见", "巡视巡察整改"),
        ("天气很好", ""),
    ],
)
def test_detect_theme(text: str, theme: str) -> None:
    assert detect_theme(text) == theme


def test_detect_year_ignores_next_year_plans() -> None:
    text = (
        "今年以来支部认真履职。2023年共召开会议12次。"
        + "正文。" * 200
        + "下一步，2024年将召开党建工作会议，2024年底前完成。"
    )
    assert detect_year("党支部书记述职报告", text) == 2023
    assert detect_year("2021年度述职报告", text) == 2021
    assert detect_year("述职报告", "没有年份") is None


def test_detect_org_type() -> None:
    assert detect_org_type("某某中学党支部书记述职报告", "") == "学校"
    assert detect_org_type("述职报告", "社区党委带领居民……社区网格化管理") == "街道社区"
    assert detect_org_type("述职报告", "无从判断") == ""


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("总体情况。一是抓学习。二是抓组织。三是抓作风。", ["", "一是", "二是", "三是"]),
        ("统一是前提。一是抓学习。", [""]),  # "统一是" is a word; a lone 一是 is not a series
        ("一是抓学习，二是抓制度", ["一是", "二是"]),
        ("主要有：（1）学习不深；（2）创新不够。", ["", "（1）", "（2）"]),
        ("主要有：1)学习不深；2)创新不够。", ["", "1)", "2)"]),
        ("措施如下：1.加强学习。2.完善制度。增长1.5倍。", ["", "1.", "2."]),
        ("没有列举的普通段落。", [""]),
    ],
)
def test_split_points(text: str, labels: list[str]) -> None:
    points = split_points(text)
    assert [p.label for p in points] == labels
    assert "".join(p.label + p.text for p in points).replace(" ", "") == text.replace(" ", "")


def test_single_leading_marker_labels_a_paragraph() -> None:
    assert split_points("二是抓组织。全年发展党员2名。") == [Point("二是", "抓组织。全年发展党员2名。")]


def test_generated_draft_with_bold_markdown() -> None:
    draft = "\n".join(
        [
            "2024年党支部书记抓基层党建工作述职报告",
            "一、主要做法和成效",
            "**（一）加强政治建设。**一是坚持第一议题制度，全年学习12次。二是开展专题研讨4次。",
            "二、存在问题及原因",
            "学习不够深入，有的党员满足于读读文件。",
            "分析存在上述问题的主要原因：一是思想认识不到位。二是学用结合不紧。",
            "三、下一步工作思路和措施",
            "持续加强理论学习，每季度开展1次专题研讨。",
        ]
    )
    doc = parse_text(draft)
    assert doc.file_type == "md" and PLACEHOLDER not in _all_text(doc)
    assert [(s.kind, s.heading) for s in doc.sections][1:3] == [
        ("achievements", "主要做法和成效"),
        ("achievements", "加强政治建设"),
    ]
    assert [s.kind for s in doc.sections][-3:] == ["problems", "causes", "next_steps"]


def test_fragment_without_headings_still_splits_causes() -> None:
    fragment = "理论学习不够深入，有的党员满足于读读文件。\n究其原因，一是思想认识不到位。二是学用结合不紧。"
    doc = parse_text(fragment)
    assert [s.kind for s in doc.sections] == ["opening", "causes"]
    assert doc.sections[1].heading == "究其原因" and doc.sections[1].heading_path == ("究其原因",)
    assert [p.label for p in doc.sections[1].points] == ["一是", "二是"]
