"""Notes: every bullet becomes an item, in the right section, with its facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.errors import InputRejected
from shuzhi.notes import note_figures, parse_notes


@pytest.fixture
def jiguan(examples_dir: Path) -> str:
    return (examples_dir / "notes_jiguan_2024.md").read_text(encoding="utf-8")


@pytest.fixture
def qiye(examples_dir: Path) -> str:
    return (examples_dir / "notes_qiye_2023.md").read_text(encoding="utf-8")


def _section_of(notes, fragment: str) -> str:  # type: ignore[no-untyped-def]
    matches = [i for i in notes.items if fragment in i.text]
    assert len(matches) == 1, (fragment, notes.items)
    return str(matches[0].section)


def test_jiguan_every_bullet_is_an_item(jiguan: str) -> None:
    notes = parse_notes(jiguan)
    bullets = [ln for ln in jiguan.splitlines() if ln.startswith("- ")]
    assert len(notes.items) == len(bullets) == 13
    assert {i.line_no for i in notes.items} == {n for n, ln in enumerate(jiguan.splitlines(), 1) if ln.startswith("- ")}


@pytest.mark.parametrize(
    ("fragment", "section"),
    [
        pytest.param("开展党纪学习教育", "achievements", id="achievement"),
        pytest.param("发展党员2名", "achievements", id="members-recruited"),
        pytest.param("理论学习有时候走过场", "problems", id="problem-zouguochang"),
        pytest.param("主题党日形式单一", "problems", id="problem-single-form"),
        pytest.param("对年轻党员关心不够", "problems", id="problem-young"),
        pytest.param("搞青年理论学习小组", "next_steps", id="next-youth-group"),
        pytest.param("党员先锋岗", "next_steps", id="next-vanguard"),
    ],
)
def test_jiguan_sections(jiguan: str, fragment: str, section: str) -> None:
    assert _section_of(parse_notes(jiguan), fragment) == section


def test_jiguan_meta_and_facts(jiguan: str) -> None:
    notes = parse_notes(jiguan)
    assert notes.meta.year == 2024
    assert notes.meta.org == "市统计局机关党支部"
    assert notes.meta.person == "王某"
    assert notes.meta.role == "支部书记"
    assert notes.meta.members == "党员38名，其中预备党员2名"
    item = next(i for i in notes.items if "三会一课" in i.text)
    assert [f.raw for f in item.figures] == ["5次", "12次", "36次", "12次"]
    assert "《中国共产党纪律处分条例》" in next(i for i in notes.items if "党纪" in i.text).names
    assert "四强" in next(i for i in notes.items if "获评" in i.text).names
    lines = {(f.raw, line) for f, line in note_figures(notes)}
    assert ("38名", "单位：市统计局机关党支部（党员38名，其中预备党员2名）") in lines
    assert not any(f.raw.startswith("2024") for f, _ in note_figures(notes))


def test_qiye_markers_split_into_items(qiye: str) -> None:
    notes = parse_notes(qiye)
    assert notes.meta.year == 2023
    assert "某国有物流公司" in notes.meta.org and "第三党支部" in notes.meta.org
    problems = notes.items_for("problems")
    assert [p.text for p in problems] == ['党建和生产"两张皮"', "支委作用发挥不够", "创新不够"]
    assert all(p.assigned_by == "marker" for p in problems)
    assert len(notes.items_for("next_steps")) == 3
    assert len(notes.items_for("achievements")) == 7
    assert [f.raw for f in notes.items[0].figures] == ["3期", "10次", "4个", "9件"]
    assert next(i for i in notes.items if "营收" in i.text).figures[0].unit == "%"


def test_explicit_year_wins(qiye: str) -> None:
    assert parse_notes(qiye, year=2024).meta.year == 2024


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("* 支部学习20次\n• 党课3次\n· 主题党日6次", ["achievements"] * 3, id="star-dot-bullets"),
        pytest.param("1. 支部学习20次\n2、党课3次\n（3）主题党日6次\n(4) 谈心谈话9人次\n⑤ 走访5户", ["achievements"] * 5, id="numbered"),
        pytest.param("成绩：学习20次；党课3次", ["achievements", "achievements"], id="marker-achievements"),
        pytest.param("整改：去年学习不深的问题已整改", ["rectification"], id="marker-rectification"),
        pytest.param("明年：建设党建阵地", ["next_steps"], id="marker-mingnian"),
        pytest.param("## 问题\n学习不深入\n## 下一步\n加强学习", ["problems", "next_steps"], id="headings-plain-lines"),
        pytest.param("学习流于形式\n计划明年开展读书班", ["problems", "next_steps"], id="rules"),
    ],
)
def test_input_shapes(text: str, expected: list[str]) -> None:
    notes = parse_notes(text)
    assert [i.section for i in notes.items] == expected


def test_classifier_is_used_after_rules() -> None:
    calls: list[str] = []

    def classify(text: str) -> tuple[str, float]:
        calls.append(text)
        return "rectification", 0.9

    notes = parse_notes("完成巡察反馈意见整改工作\n支部学习不够\n第一议题 传达学习 全年18次", classify=classify)
    assert [(i.section, i.assigned_by) for i in notes.items] == [
        ("rectification", "similarity"), ("problems", "rule"), ("achievements", "rule")]
    # A counted fact is work done: similarity to corpus next steps must not move it.
    assert calls == ["完成巡察反馈意见整改工作"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("  \n\n \t", "empty", id="blank"),
        pytest.param("# 2024年 笔记\n单位：某支部\n---", "empty", id="no-usable-line"),
        pytest.param("- 学习\n" * 6000, "too_large", id="too-large"),
    ],
)
def test_bad_input(text: str, reason: str) -> None:
    with pytest.raises(InputRejected) as exc:
        parse_notes(text)
    assert exc.value.reason == reason
    assert "笔记" in exc.value.user_message
