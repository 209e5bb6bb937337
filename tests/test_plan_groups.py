"""The user's own structure: headings and groupings in the notes become the sub-items, in their order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from shuzhi.notes import parse_notes
from shuzhi.writing.plan import build_plan

HEADER = "2024年 县教育局机关党支部 书记述职笔记\n单位：县教育局机关党支部\n"
TAIL = "## 问题\n- 主题党日形式单一\n## 明年打算\n- 每季度开展一次主题党日创新评比\n"


def _sub_items(notes: str) -> list[tuple[str, tuple[str, ...]]]:
    plan = build_plan(parse_notes(notes))
    return [(s.heading, s.notes) for s in plan.sections if s.kind == "achievements" and s.level == 2]


@pytest.mark.parametrize(("body", "titles"), [
    pytest.param("## 强组织\n- 新设教研党小组2个\n## 凝人心\n- 书记讲党课2次\n## 实作风\n- 走访困难教师18户\n",
                 ["强组织", "凝人心", "实作风"], id="markdown-headings"),
    pytest.param("一、理论武装\n- 中心组学习12次\n二、基层组织\n- 新成立项目党支部3个\n三、队伍建设\n- 培训书记46人次\n",
                 ["理论武装", "基层组织", "队伍建设"], id="numbered-lines"),
    pytest.param("理论武装：\n- 中心组学习12次\n基层组织：\n- 新成立项目党支部3个\n",
                 ["理论武装", "基层组织"], id="colon-lines"),
    pytest.param("## （二）凝人心\n- 书记讲党课2次\n## （一）强组织\n- 新设教研党小组2个\n",
                 ["凝人心", "强组织"], id="user-order-kept"),
])
def test_user_headings_become_sub_items(body: str, titles: list[str]) -> None:
    items = _sub_items(HEADER + body + TAIL)
    assert [t for t, _ in items] == titles
    assert all(notes for _, notes in items)


@pytest.mark.parametrize("body", [
    pytest.param("## 做了什么\n- 中心组学习12次\n- 新成立项目党支部3个\n- 培训书记46人次\n- 发展党员5名\n", id="section-heading"),
    pytest.param("- 中心组学习12次\n- 新成立项目党支部3个\n- 培训书记46人次\n- 发展党员5名\n", id="no-headings"),
])
def test_without_user_groups_the_themes_decide(body: str) -> None:
    titles = [t for t, _ in _sub_items(HEADER + body + TAIL)]
    assert "做了什么" not in titles and len(titles) >= 1


@pytest.mark.parametrize("line", [
    pytest.param("发展党员2名：", id="figure"),
    pytest.param("全年开展了很多工作，效果明显。", id="sentence"),
    pytest.param("这是一条比较长的说明文字不算是用户自己的小标题：", id="too-long"),
])
def test_lines_that_are_not_headings_stay_facts(line: str) -> None:
    notes = parse_notes(HEADER + line + "\n- 书记讲党课2次\n" + TAIL)
    assert not any(i.group for i in notes.items)


def test_notes_outside_the_users_groups_are_kept() -> None:
    items = _sub_items(HEADER + "- 获评“四强”党支部\n## 强组织\n- 新设教研党小组2个\n" + TAIL)
    assert items[0][0] == "强组织"
    assert any("四强" in n for _, notes in items for n in notes)


def test_plan_only_json_keeps_the_users_headings(tmp_path: Path, use_built_index: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(HEADER + "## 强组织\n- 新设教研党小组2个\n## 凝人心\n- 书记讲党课2次\n" + TAIL, encoding="utf-8")
    code, stdout, _ = run_cli(capsys, "draft", str(notes), "--plan-only", "--json")
    plan = json.loads(stdout)
    assert code == 0
    assert [s["heading"] for s in plan["sections"] if s["kind"] == "achievements" and s["level"] == 2] == \
        ["强组织", "凝人心"]


@pytest.mark.parametrize(("line", "excluded"), [
    pytest.param("参考：https://www.example.cn/dangjian/2024.html", True, id="url"),
    pytest.param("开头直接写在局党组的坚强领导下", True, id="note-to-self"),
    pytest.param("注意：通篇用第一人称", True, id="remark"),
    pytest.param("述职材料2024.docx", True, id="file-name"),
    pytest.param("- 开展主题党日12次", False, id="fact"),
    pytest.param("- 书记讲党课2次，开头以习近平总书记重要讲话引入", False, id="fact-with-word"),
])
def test_links_and_remarks_are_not_facts(line: str, excluded: bool) -> None:
    notes = parse_notes(HEADER + line + "\n- 书记讲党课2次\n" + TAIL)
    texts = [i.text for i in notes.items]
    assert (line.lstrip("- ") in notes.excluded) is excluded
    assert not any(line.lstrip("- ") in t for t in texts) if excluded else any(line.lstrip("- ")[:6] in t for t in texts)
    plan = build_plan(notes)
    assert plan.excluded == notes.excluded


def test_plan_json_lists_the_excluded_lines(tmp_path: Path, use_built_index: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(HEADER + "开头直接写在局党组的坚强领导下\n- 书记讲党课2次\n" + TAIL, encoding="utf-8")
    code, stdout, stderr = run_cli(capsys, "draft", str(notes), "--plan-only", "--json")
    plan = json.loads(stdout)
    assert code == 0 and plan["excluded"] == ["开头直接写在局党组的坚强领导下"]
    assert all("开头直接写" not in n for s in plan["sections"] for n in s["notes"])
    assert "未作为事实" in stderr
