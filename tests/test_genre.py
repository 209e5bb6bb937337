"""The genre as one data file: two genres load, each drives parsing, planning, checks, prompts and
export; a genre file in the rules folder changes behaviour without code; broken files are explained."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from shuzhi.checks import run_checks
from shuzhi.corpus.parse import classify_heading, parse_text
from shuzhi.datafiles import configure_rules
from shuzhi.errors import ShuzhiError
from shuzhi.export import assemble_report
from shuzhi.genre import (
    Genre,
    SectionKind,
    Severity,
    failed_section_marker,
    find_failed_markers,
    list_genres,
    load_genre,
    split_sentences,
    strip_failed_markers,
    unfinished_markers,
)
from shuzhi.models import Chunk, Finding, Hit, PlanSection, SectionDraft
from shuzhi.notes import parse_notes
from shuzhi.writing.draft import build_section_messages, prepare_jobs
from shuzhi.writing.exemplars import retrieve_for_section
from shuzhi.writing.plan import build_plan, plan_from_json, plan_to_json, plan_warnings

TEXTS = Path(__file__).resolve().parent / "genre_texts"
DUIZHAO_NOTES = (TEXTS / "duizhao_notes.md").read_text(encoding="utf-8")
DUIZHAO_DRAFT = (TEXTS / "duizhao_draft.md").read_text(encoding="utf-8")
DUIZHAO_FAULTY = (TEXTS / "duizhao_draft_faulty.md").read_text(encoding="utf-8")
ASPECTS_2023 = ["在学习贯彻党的创新理论方面", "在党性修养提高方面", "在联系服务群众方面", "在发挥先锋模范作用方面"]


def _distinct(kinds: list[str]) -> list[str]:
    return [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]


def _write_rules(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "rules"
    (folder / "genres").mkdir(parents=True, exist_ok=True)
    (folder / "genres" / f"{name}.yaml").write_text(text, encoding="utf-8")
    configure_rules(folder)
    return folder


# ---------------------------------------------------------------- loading
def test_both_genres_load_and_are_listed() -> None:
    shuzhi, duizhao = load_genre("shuzhi"), load_genre("duizhao")
    assert load_genre().name == "shuzhi" and load_genre(None).title == "抓基层党建工作述职报告"
    assert duizhao.title == "个人对照检查材料"
    infos = {g.name: g for g in list_genres()}
    assert len(infos) >= 2 and infos["duizhao"].title == "个人对照检查材料" and not infos["duizhao"].error
    assert shuzhi.kind_keys == ("title", "opening", "achievements", "rectification", "problems", "causes",
                                "next_steps", "closing")
    assert duizhao.kind_keys == ("title", "opening", "rectification", "problems", "causes", "next_steps", "closing")
    assert duizhao.role("problems") is SectionKind.PROBLEMS and not duizhao.has_kind("achievements")
    assert shuzhi.spec("causes") is not None and shuzhi.spec("causes").under == "problems"  # type: ignore[union-attr]
    assert duizhao.spec("causes") is not None and duizhao.spec("causes").under == ""  # type: ignore[union-attr]


def test_unknown_genre_names_the_available_ones() -> None:
    with pytest.raises(ShuzhiError) as info:
        load_genre("nianzhong")
    assert "nianzhong" in info.value.user_message
    assert "shuzhi" in info.value.user_message and "duizhao" in info.value.user_message


def test_kinds_and_severities_are_string_enums() -> None:
    finding = Finding(check="vague", severity="warn", message="问题空泛")  # type: ignore[arg-type]
    assert finding.severity is Severity.WARN and finding.severity == "warn"
    assert json.loads(json.dumps(asdict(finding), ensure_ascii=False))["severity"] == "warn"
    assert SectionKind.PROBLEMS == "problems" and "next_steps" in list(SectionKind)
    with pytest.raises(ValueError):
        Finding(check="x", severity="fatal", message="")  # type: ignore[arg-type]


# ---------------------------------------------------------------- the second genre end to end
def test_duizhao_draft_parses_into_its_sections_in_order() -> None:
    doc = parse_text(DUIZHAO_DRAFT, "对照检查.txt", genre=load_genre("duizhao"))
    assert _distinct([s.kind for s in doc.sections]) == [
        "title", "opening", "rectification", "problems", "causes", "next_steps", "closing",
    ]
    assert doc.title == "2023年度主题教育专题组织生活会个人对照检查材料" and doc.year == 2023
    assert [s.heading for s in doc.sections if s.kind == "problems" and s.level == 2] == ASPECTS_2023
    causes = next(s for s in doc.sections if s.kind == "causes")
    assert causes.level == 1 and [p.label for p in causes.points][1:] == ["一是", "二是", "三是", "四是"]


def test_the_same_draft_read_as_a_shuzhi_report_misses_its_parts() -> None:
    doc = parse_text(DUIZHAO_DRAFT, "对照检查.txt")  # the default genre does not know its title words
    assert doc.title == ""


def test_duizhao_plan_has_the_genre_sections_with_problems_by_aspect() -> None:
    notes = parse_notes(DUIZHAO_NOTES, genre=load_genre("duizhao"))
    assert notes.genre == "duizhao" and notes.meta.year == 2023 and notes.meta.org == "市统计局机关第二党支部"
    plan = build_plan(notes)  # the notes' genre
    assert plan.genre == "duizhao"
    assert plan.title == "2023年度主题教育专题组织生活会个人对照检查材料"
    assert _distinct([s.kind for s in plan.sections]) == [
        "opening", "rectification", "problems", "causes", "next_steps", "closing",
    ]
    aspects = [s for s in plan.sections if s.key.startswith("problems.")]
    assert [s.heading for s in aspects] == ASPECTS_2023
    assert [len(s.notes) for s in aspects] == [1, 1, 1, 1]
    assert "原著" in aspects[0].notes[0] and "批评" in aspects[1].notes[0]
    assert "走访" in aspects[2].notes[0] and "急难险重" in aspects[3].notes[0]
    causes = next(s for s in plan.sections if s.kind == "causes")
    next_steps = next(s for s in plan.sections if s.kind == "next_steps")
    assert causes.level == 1 and len(causes.notes) == 4 and len(causes.context) == 4
    assert len(next_steps.notes) == 4 and next_steps.context == causes.context
    assert plan_warnings(plan) == []
    assert plan_from_json(plan_to_json(plan)) == plan


def test_an_aspect_the_notes_do_not_cover_is_still_in_the_plan() -> None:
    notes = parse_notes("2023年 对照检查笔记\n## 对照检查\n- 读原著不系统，学了不会用\n", genre=load_genre("duizhao"))
    plan = build_plan(notes)
    assert [s.heading for s in plan.sections if s.key.startswith("problems.")] == ASPECTS_2023
    warnings = plan_warnings(plan)
    assert any("在党性修养提高方面" in w for w in warnings)
    assert not any("在学习贯彻党的创新理论方面" in w for w in warnings)


def test_a_year_may_prescribe_its_own_aspects(tmp_path: Path) -> None:
    _write_rules(tmp_path, "duizhao", """
kinds:
  problems:
    sub_items:
      aspects_by_year:
        2024:
          - {name: 遵守党的纪律, keywords: [纪律, 规矩, 廉洁]}
          - {name: 学习贯彻党的创新理论, keywords: [学习, 原著]}
""")
    notes = parse_notes("2024年 对照检查笔记\n## 对照检查\n- 读原著不系统\n- 对廉洁纪律要求不严\n",
                        genre=load_genre("duizhao"))
    plan = build_plan(notes)
    items = [s for s in plan.sections if s.key.startswith("problems.")]
    assert [s.heading for s in items] == ["在遵守党的纪律方面", "在学习贯彻党的创新理论方面"]
    assert items[0].notes == ("对廉洁纪律要求不严",) and items[1].notes == ("读原著不系统",)


def test_checks_apply_the_duizhao_rubric_and_are_quiet_on_the_faithful_draft() -> None:
    genre = load_genre("duizhao")
    notes = parse_notes(DUIZHAO_NOTES, genre=genre)
    report = run_checks(DUIZHAO_DRAFT, notes=notes)
    assert [f for f in report.findings if f.severity != Severity.INFO] == []
    assert all(e.status == "found" for e in report.ledger) and len(report.ledger) == 10

    faulty = run_checks(DUIZHAO_FAULTY, notes=notes, genre=genre)
    checks = {f.check for f in faulty.findings}
    assert {"vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes", "others_only",
            "no_matching_measure", "empty_formula", "voice"} <= checks
    excuse = next(f for f in faulty.findings if f.check == "objective_excuse")
    assert "对照检查" in excuse.message and "书记" not in excuse.message
    structure = [f.message for f in faulty.findings if f.check == "structure"]
    assert any("努力方向和整改措施只有2条" in m for m in structure)


def test_shuzhi_rubric_is_unchanged_for_the_default_genre() -> None:
    report = run_checks("二、存在问题及原因\n一是学习不够深入。二是个别党员作用发挥不够。\n", genre=load_genre("shuzhi"))
    messages = " ".join(f.message for f in report.findings)
    assert "书记本人" in messages and "对照检查" not in messages


class _StubIndex:
    """An index that would always answer with a 述职 passage."""

    def __init__(self) -> None:
        self.calls = 0

    def search(self, query: str, filters: Any = None, k: int = 5, diverse: bool = True) -> list[Hit]:
        self.calls += 1
        kind = filters.kind if filters is not None and filters.kind else "problems"
        chunk = Chunk(id=f"c{self.calls}", text="一是理论学习不够深入，抓党建工作精力投入不足。", doc_id="d1",
                      source="000.txt", year=2023, org_type="", kind=kind, theme="", heading_path="存在问题",
                      position=0)
        return [Hit(chunk, 1.0)]


def test_a_genre_without_corpus_gets_no_exemplars_and_drafts_from_its_guides() -> None:
    from shuzhi.config import Settings

    duizhao = load_genre("duizhao")
    section = PlanSection(key="problems.1", kind="problems", heading="在学习贯彻党的创新理论方面", notes=("读原著不系统",),
                          level=2)
    index = _StubIndex()
    assert retrieve_for_section(index, section, genre=duizhao) == () and index.calls == 0  # type: ignore[arg-type]
    assert retrieve_for_section(index, section, genre=load_genre("shuzhi"))  # type: ignore[arg-type]
    plan = build_plan(parse_notes(DUIZHAO_NOTES, genre=duizhao))
    index = _StubIndex()
    jobs = prepare_jobs(plan, index, Settings())  # type: ignore[arg-type]
    assert index.calls == 0 and jobs and all(not j.exemplars for j in jobs)
    user = next(j for j in jobs if j.section.key == "problems.1").messages[1][1]
    assert "《个人对照检查材料》" in user and "见人见事见思想" in user and "对照检查中的一个方面" in user
    assert "述职" not in user and "范文片段1" not in user


def test_prompts_carry_the_genre() -> None:
    plan = build_plan(parse_notes("2024年 第二党支部\n问题：主题党日形式单一\n"))
    section = next(s for s in plan.sections if s.kind == "problems")
    user = build_section_messages(plan, section, ())[1][1]
    assert "《抓基层党建工作述职报告》" in user and "书记本人" in user


def test_export_follows_the_genre_levels() -> None:
    plan = build_plan(parse_notes(DUIZHAO_NOTES, genre=load_genre("duizhao")))
    drafts = [SectionDraft(s.key, s.kind, s.heading, text=f"{s.heading or s.kind}的正文。")
              for s in plan.sections if s.key != "problems"]
    doc = assemble_report(plan.title, drafts, plan)
    headings = [(b.kind, b.text) for b in doc.blocks if b.kind != "paragraph"]
    assert headings == [
        ("heading1", "一、上年度查摆问题整改落实情况"),
        ("heading1", "二、对照检查情况"),
        ("heading2", "（一）在学习贯彻党的创新理论方面"),
        ("heading2", "（二）在党性修养提高方面"),
        ("heading2", "（三）在联系服务群众方面"),
        ("heading2", "（四）在发挥先锋模范作用方面"),
        ("heading1", "三、问题产生的原因"),
        ("heading1", "四、努力方向和整改措施"),
    ]


# ---------------------------------------------------------------- the user's rules change the genre
def test_a_heading_pattern_added_in_the_rules_changes_parsing(tmp_path: Path) -> None:
    assert classify_heading("几点体会") is None
    _write_rules(tmp_path, "shuzhi", "kinds:\n  achievements:\n    heading_patterns: ['几点体会']\n")
    assert classify_heading("几点体会") == "achievements"
    assert classify_heading("存在问题及原因") == "problems"  # the built-in patterns are still there


NEW_KIND = """
kinds:
  highlights:
    like: achievements
    name: 特色亮点
    heading: 特色亮点工作
    after: achievements
    heading_patterns: ['特色亮点|品牌亮点']
    note_words: [亮点, 特色]
"""


def test_a_new_section_kind_in_the_rules_changes_parsing_and_planning(tmp_path: Path) -> None:
    draft = ("2024年党支部书记抓基层党建工作述职报告\n现将情况报告如下：\n一、主要做法和成效\n我带头学习。\n"
             "二、特色亮点工作\n打造“红色统计”品牌。\n三、存在问题及原因\n我抓党建精力投入不够。\n"
             "四、下一步工作思路和措施\n我将加强学习。\n以上是我的述职报告，请批评指正。")
    notes_text = "2024年 第二党支部\n## 主要工作\n- 全年学习12次\n## 亮点\n- 打造“红色统计”党建品牌\n## 问题\n- 主题党日形式单一\n"
    before = parse_text(draft, "草稿.txt")
    assert "highlights" not in {s.kind for s in before.sections}
    plan_json = plan_to_json(build_plan(parse_notes(notes_text)))
    with pytest.raises(ShuzhiError):
        plan_from_json(plan_json.replace('"kind": "achievements"', '"kind": "highlights"', 1))

    _write_rules(tmp_path, "shuzhi", NEW_KIND)
    genre = load_genre()
    assert genre.kind_keys.index("highlights") == genre.kind_keys.index("achievements") + 1
    assert genre.role("highlights") is SectionKind.ACHIEVEMENTS and "highlights" in genre.body_kinds
    after = parse_text(draft, "草稿.txt")
    assert _distinct([s.kind for s in after.sections]) == [
        "title", "opening", "achievements", "highlights", "problems", "next_steps", "closing",
    ]
    notes = parse_notes(notes_text)
    assert [i.section for i in notes.items if "品牌" in i.text] == ["highlights"]
    plan = build_plan(notes)
    kinds = _distinct([s.kind for s in plan.sections])
    assert kinds[:4] == ["opening", "achievements", "highlights", "problems"]
    highlights = next(s for s in plan.sections if s.kind == "highlights")
    assert highlights.key == "highlights" and highlights.heading == "特色亮点工作" and highlights.level == 1
    assert plan_from_json(plan_to_json(plan)) == plan
    doc = assemble_report(plan.title, [SectionDraft(s.key, s.kind, s.heading, "正文。") for s in plan.sections], plan)
    assert ("heading1", "二、特色亮点工作") in [(b.kind, b.text) for b in doc.blocks]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        pytest.param("kinds:\n  problems:\n    heading_patterns: ['(未闭合']\n", "kinds.problems.heading_patterns[3]",
                     id="bad-regex"),
        pytest.param("kinds:\n  highlights:\n    like: nothing\n", "kinds.highlights.like", id="unknown-like"),
        pytest.param("kinds:\n  highlights:\n    name: 亮点\n", "kinds.highlights.like", id="new-kind-without-like"),
        pytest.param("numbering:\n  labels:\n    - {name: x, level: 9, pattern: '{cn}、'}\n", "numbering.labels[9].level",
                     id="bad-level"),
        pytest.param("numbering:\n  labels:\n    - {name: x, level: 2, pattern: '甲、'}\n", "numbering.labels[9].pattern",
                     id="label-without-number"),
        pytest.param("kinds:\n  next_steps:\n    answers: nothing\n", "kinds.next_steps.answers", id="bad-reference"),
        pytest.param("report_title:\n  template: '{year}年{unit}述职报告'\n", "report_title.template", id="bad-template"),
    ],
)
def test_a_broken_genre_file_gives_a_chinese_error_naming_file_and_field(tmp_path: Path, content: str,
                                                                          field: str) -> None:
    folder = _write_rules(tmp_path, "shuzhi", content)
    with pytest.raises(ShuzhiError) as info:
        load_genre()
    message = info.value.user_message
    assert f"「{field}」" in message, message
    assert str(folder / "genres" / "shuzhi.yaml") in message and "文体文件" in message
    with pytest.raises(ShuzhiError):
        parse_text("一、主要做法和成效\n我带头学习。", "草稿.txt")
    assert next(g for g in list_genres() if g.name == "shuzhi").error == message


def test_a_genre_file_that_is_not_yaml_is_refused(tmp_path: Path) -> None:
    _write_rules(tmp_path, "shuzhi", "kinds: [unclosed\n")
    with pytest.raises(ShuzhiError) as info:
        load_genre()
    assert "无法读取" in info.value.user_message and "第 " in info.value.user_message


def test_a_user_only_genre_is_listed(tmp_path: Path) -> None:
    folder = _write_rules(tmp_path, "mine", "title: 我的文体\n")
    assert "mine" in {g.name for g in list_genres()}
    with pytest.raises(ShuzhiError) as info:
        load_genre("mine")
    assert "punctuation" in info.value.user_message and str(folder) in info.value.user_message


def test_a_user_genre_may_extend_a_built_in_one(tmp_path: Path) -> None:
    _write_rules(tmp_path, "zongjie", """
extends: shuzhi
title: 年度党建工作总结
kinds:
  achievements:
    heading: 主要工作和成效
  problems:
    heading_patterns: ['工作中的不足']
""")
    genre = load_genre("zongjie")
    assert genre.title == "年度党建工作总结" and genre.kind_keys == load_genre("shuzhi").kind_keys
    assert genre.heading("achievements") == "主要工作和成效" and genre.classify_heading("工作中的不足") == "problems"
    assert "zongjie" in {g.name for g in list_genres()}
    _write_rules(tmp_path, "zongjie", "extends: zongjie\ntitle: x\n")
    with pytest.raises(ShuzhiError) as info:
        load_genre("zongjie")
    assert "「extends」" in info.value.user_message


def test_a_plan_without_a_genre_is_a_shuzhi_plan_and_a_plan_names_its_genre() -> None:
    plan = build_plan(parse_notes(DUIZHAO_NOTES, genre=load_genre("duizhao")))
    raw = json.loads(plan_to_json(plan))
    assert raw["genre"] == "duizhao"
    del raw["genre"]
    old = plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert old.genre == "shuzhi"
    raw["genre"] = "nianzhong"
    with pytest.raises(ShuzhiError) as info:
        plan_from_json(json.dumps(raw, ensure_ascii=False))
    assert "duizhao" in info.value.user_message


# ---------------------------------------------------------------- the numbering grammar
@pytest.fixture(scope="module")
def shuzhi() -> Genre:
    return load_genre("shuzhi")


@pytest.mark.parametrize(
    ("label", "level"),
    [
        pytest.param("一、", 1, id="cn-dun"),
        pytest.param("十二、", 1, id="cn-dun-12"),
        pytest.param("第一部分", 1, id="di-bufen"),
        pytest.param("（一）", 2, id="cn-paren"),
        pytest.param("(三)", 2, id="cn-ascii-paren"),
        pytest.param("1.", 2, id="num-dot"),
        pytest.param("1、", 2, id="num-dun"),
        pytest.param("1．", 2, id="num-fullwidth-dot"),
        pytest.param("（1）", 3, id="num-paren"),
        pytest.param("2)", 3, id="num-half-paren"),
        pytest.param("③", 3, id="circled"),
        pytest.param("一是", 4, id="cn-shi"),
        pytest.param("第一，", 4, id="di-comma"),
        pytest.param("第一", None, id="di-alone"),
        pytest.param("一", None, id="bare-numeral"),
        pytest.param("2024年", None, id="year"),
        pytest.param("1.5", None, id="decimal"),
        pytest.param("三会一课", None, id="numeral-word"),
        pytest.param("（甲）", None, id="not-a-numeral"),
    ],
)
def test_level_of(shuzhi: Genre, label: str, level: int | None) -> None:
    assert shuzhi.numbering.level_of(label) == level
    found = shuzhi.numbering.label_re.match(label)
    assert (found is not None and found.group("label") == label) is (level is not None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("一、主要做法和成效", ("一、", "主要做法和成效"), id="cn-dun"),
        pytest.param("（二）夯实组织基础", ("（二）", "夯实组织基础"), id="cn-paren"),
        pytest.param("1. 加强学习", ("1.", "加强学习"), id="num-dot-space"),
        pytest.param("第二部分：存在问题", ("第二部分：", "存在问题"), id="di-bufen"),
        pytest.param("一是抓学习", ("", "一是抓学习"), id="point-is-not-a-heading-label"),
        pytest.param("第一书记抓党建促振兴", ("", "第一书记抓党建促振兴"), id="di-yi-shuji"),
        pytest.param("三会一课规范落实", ("", "三会一课规范落实"), id="numeral-word"),
        pytest.param("2024年重点工作", ("", "2024年重点工作"), id="year"),
        pytest.param("1.5万元经费到位", ("", "1.5万元经费到位"), id="decimal"),
    ],
)
def test_strip_label(shuzhi: Genre, text: str, expected: tuple[str, str]) -> None:
    assert shuzhi.numbering.strip_label(text) == expected


@pytest.mark.parametrize(
    ("line", "heading"),
    [
        pytest.param("一、主要做法和成效", True, id="level1"),
        pytest.param("（三）加强作风建设", True, id="level2"),
        pytest.param("2.完善制度", True, id="num-dot"),
        pytest.param("## 存在问题", True, id="markdown"),
        pytest.param("一是加强学习。", False, id="point"),
        pytest.param("（1）学习不深", False, id="level3"),
        pytest.param("第一书记带头", False, id="looks-like-di"),
        pytest.param("十分重视党建", False, id="shi-fen"),
        pytest.param("2023年共召开会议12次", False, id="year-start"),
    ],
)
def test_is_heading_line(shuzhi: Genre, line: str, heading: bool) -> None:
    assert shuzhi.numbering.is_heading_line(line) is heading


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        pytest.param("总体情况。一是抓学习。二是抓组织。", ["", "一是", "二是"], id="shi"),
        pytest.param("第一，抓学习；第二，抓组织。", ["第一，", "第二，"], id="di-comma"),
        pytest.param("要求：（一）学习；（二）实践。", ["", "（一）", "（二）"], id="cn-paren-inline"),
        pytest.param("主要有：①学习不深；②创新不够。", ["", "①", "②"], id="circled"),
        pytest.param("统一是前提，唯一是标准。", [""], id="words-with-yi-shi"),
        pytest.param("二是抓组织。三是抓作风。", ["二是"], id="series-must-start-at-one"),
        pytest.param("增长1.5倍，2.3万人次。", [""], id="decimals"),
    ],
)
def test_split_points(shuzhi: Genre, text: str, labels: list[str]) -> None:
    points = shuzhi.numbering.split_points(text)
    assert [p.label for p in points] == labels
    assert "".join(p.label + p.text for p in points) == text


def test_labels_export_writes_and_reads_back(shuzhi: Genre) -> None:
    grammar = shuzhi.numbering
    assert [grammar.format_label(1, n) for n in (1, 10, 12, 20)] == ["一、", "十、", "十二、", "二十、"]
    assert grammar.format_label(2, 3) == "（三）"
    assert grammar.export_level("三、问题产生的原因") == 1 and grammar.export_level("（四）在方面") == 2
    assert grammar.export_level("1.完善制度") is None
    assert grammar.strip_labels("一、（一）1.加强学习") == "加强学习"


def test_item_labels_split_enumerations_in_running_text(shuzhi: Genre) -> None:
    text = "主要表现：一是学习不深。二是创新不够；（三）作风不实\n1.落实不够\n2、督促不力"
    assert [m.group(0).strip() for m in shuzhi.numbering.item_labels(text)] == ["一是", "二是", "（三）", "1.", "2、"]
    assert shuzhi.numbering.item_labels("统一是前提，1.5倍") == []


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        pytest.param("开会12次。学习6次！", ["开会12次。", "学习6次！"], id="full-stops"),
        pytest.param("一是学习；二是实践", ["一是学习；", "二是实践"], id="semicolon"),
        pytest.param("学习“两个确立。”的意义。", ["学习“两个确立。”的意义。"], id="inside-quotes"),
        pytest.param("。。", [], id="only-punctuation"),
    ],
)
def test_split_sentences(text: str, sentences: list[str]) -> None:
    assert split_sentences(text) == sentences


# ---------------------------------------------------------------- markers the tool writes
def test_failed_section_markers_round_trip() -> None:
    marker = failed_section_marker(" 模型服务超时〕HTTP 504 ")
    assert marker == "〔本节生成失败：模型服务超时）HTTP 504〕"
    text = f"开头。\n{marker}\n〔待补充：笔记中没有本节的内容〕\n结尾。"
    assert find_failed_markers(text) == [marker]
    cleaned, found = strip_failed_markers(text)
    assert found == [marker] and "本节生成失败" not in cleaned
    assert unfinished_markers(text) == [marker, "〔待补充：笔记中没有本节的内容〕"]
