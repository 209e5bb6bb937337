"""Who is writing, and for which year, said in a sentence instead of a header line."""

from __future__ import annotations

import pytest

from shuzhi.notes import parse_notes

BODY = "\n- 开展主题党日12次\n- 发展党员2名\n问题：理论学习不深入\n"


@pytest.mark.parametrize(("first", "org", "role", "person", "year"), [
    pytest.param("我是县教育局机关党支部书记张华，2024年支部主要做了这些事：", "县教育局机关党支部", "书记", "张华", 2024,
                 id="i-am"),
    pytest.param("- 作为幸福里社区党委书记，我带头讲党课3次", "幸福里社区党委", "书记", "", None, id="as-secretary"),
    pytest.param("- 本人是市第三中学党委副书记，2025年以来分管党建", "市第三中学党委", "副书记", "", 2025, id="deputy"),
])
def test_unit_role_person_year_from_prose(first: str, org: str, role: str, person: str, year: int | None) -> None:
    meta = parse_notes(first + BODY).meta
    assert (meta.org, meta.role, meta.person) == (org, role, person)
    if year is not None:
        assert meta.year == year


@pytest.mark.parametrize("first", [
    pytest.param("- 支部书记带头讲党课3次", id="no-unit"),
    pytest.param("- 我们和社区党委开展共建", id="not-self"),
])
def test_prose_without_a_self_statement_names_no_unit(first: str) -> None:
    assert parse_notes(first + BODY).meta.org == ""


def test_a_header_line_beats_the_prose() -> None:
    meta = parse_notes("单位：机关第一党支部\n- 作为幸福里社区党委书记，我讲党课3次" + BODY).meta
    assert meta.org == "机关第一党支部"
