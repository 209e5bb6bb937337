"""Figures: both spellings compare equal; names and enumeration are not figures."""

from __future__ import annotations

import pytest

from shuzhi.figures import extract_figures, is_year_like, normalise_value, same_figure
from shuzhi.models import Figure


def _raws(text: str) -> list[str]:
    return [f.raw for f in extract_figures(text)]


@pytest.mark.parametrize(
    ("text", "value", "unit", "approx"),
    [
        pytest.param("发展党员2名", 2, "名", False, id="arabic"),
        pytest.param("发展两名党员", 2, "名", False, id="liang"),
        pytest.param("召开十二次", 12, "次", False, id="chinese-12"),
        pytest.param("参加三十余人", 30, "人", True, id="yu-approx"),
        pytest.param("整改1500余条", 1500, "条", True, id="arabic-yu"),
        pytest.param("投入3万元", 3, "万元", False, id="wanyuan"),
        pytest.param("覆盖1.2万人次", 12000, "人次", False, id="decimal-wan"),
        pytest.param("增长8.6%", 8.6, "%", False, id="percent"),
        pytest.param("增长百分之八点六", 8.6, "%", False, id="percent-chinese"),
        pytest.param("提高8.6个百分点", 8.6, "个百分点", False, id="percentage-points"),
        pytest.param("共1,500元", 1500, "元", False, id="thousands-comma"),
        pytest.param("一千五百份", 1500, "份", False, id="chinese-1500"),
        pytest.param("近100人参加", 100, "人", True, id="jin-prefix"),
        pytest.param("100人左右", 100, "人", True, id="zuoyou"),
    ],
)
def test_extract_value_and_unit(text: str, value: float, unit: str, approx: bool) -> None:
    figs = extract_figures(text)
    assert len(figs) == 1, figs
    assert figs[0].value == pytest.approx(value)
    assert figs[0].unit == unit
    assert figs[0].approx is approx
    assert text[figs[0].start : figs[0].end] == figs[0].raw


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("2名", "两名", id="2-liang"),
        pytest.param("十二次", "12次", id="12"),
        pytest.param("百分之八点六", "8.6%", id="percent"),
        pytest.param("2名", "2人", id="ming-ren"),
        pytest.param("5次", "5场", id="ci-chang"),
        pytest.param("3万元", "三万元", id="wanyuan-scaled"),
        pytest.param("三十余人", "30人", id="approx-30"),
    ],
)
def test_spellings_compare_equal(a: str, b: str) -> None:
    assert normalise_value(a) == normalise_value(b)
    assert same_figure(extract_figures(a)[0], extract_figures(b)[0])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("120人次", "120人", id="renci-strict"),
        pytest.param("8.6%", "8.6个百分点", id="pct-vs-points"),
        pytest.param("12次", "12个", id="different-units"),
        pytest.param("2名", "3名", id="different-values"),
    ],
)
def test_different_figures(a: str, b: str) -> None:
    assert not same_figure(extract_figures(a)[0], extract_figures(b)[0])


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("增强四个意识，做到两个维护，落实三会一课和一岗双责", id="political-formulas"),
        pytest.param("坚持第一议题制度，争创“五好”支部，获评四强党支部", id="ordinals-and-titles"),
        pytest.param("部署七项重点任务", id="fixed-list"),
        pytest.param("一是加强学习。二是严格管理。（一）党建引领 一、主要做法", id="enumeration"),
        pytest.param("1.党建工作还有差距\n2、组织生活不规范", id="line-start-numbering"),
        pytest.param("进一步加强，一些党员，一把手，统一思想，一线，一年来，唯一，一次性", id="numeral-words"),
        pytest.param("学习贯彻党的二十大和二十届三中全会精神，十九届四中全会", id="congress-names"),
        pytest.param("建设“两个确立”“三个务必”品牌", id="quoted-names"),
        pytest.param("从三个方面报告，第三党支部", id="structure-words"),
        pytest.param("咨询QQ206157060，5G基站", id="codes"),
        pytest.param("一名党员一面旗帜，安全生产零事故", id="slogans"),
    ],
)
def test_not_figures(text: str) -> None:
    assert extract_figures(text) == []


def test_years_and_dates() -> None:
    figs = extract_figures("2024年6月底完成，2025年继续")
    assert [(f.value, f.unit) for f in figs] == [(2024, "年"), (6, "月"), (2025, "年")]
    assert [is_year_like(f) for f in figs] == [True, False, True]
    assert not is_year_like(Figure(raw="3年", value=3, unit="年"))


def test_several_figures_in_reading_order() -> None:
    assert _raws("支部党员大会5次，支委会12次，党小组会36次，主题党日12次") == ["5次", "12次", "36次", "12次"]
    assert _raws("集中学习《中国共产党纪律处分条例》6次") == ["6次"]


def test_bare_arabic_number_matches_any_unit() -> None:
    assert same_figure(Figure(raw="38", value=38, unit=""), Figure(raw="38名", value=38, unit="名"))


def test_placeholders_are_not_figures() -> None:
    assert extract_figures("全年开展集中学习〔X〕次，发展党员〔X〕名") == []


@pytest.mark.parametrize(
    "text, raws",
    [
        pytest.param("全年查处一起，起到了警示作用。", ["一起"], id="counted-after-verb"),
        pytest.param("发生一起安全生产事故。", ["一起"], id="counted-after-fasheng"),
        pytest.param("立案查办一起违纪案件。", ["一起"], id="before-the-case"),
        pytest.param("和群众一起干，带领党员一起学。", [], id="together-with"),
        pytest.param("做到想在一起、干在一起。", [], id="together-in-idiom"),
        pytest.param("支委一起研究解决办法。", [], id="together-before-verb"),
    ],
)
def test_yiqi_is_a_count_only_as_cases(text: str, raws: list[str]) -> None:
    """一起 is 1 起 when it counts cases ("查处一起"), and "together" otherwise."""
    assert [f.raw for f in extract_figures(text)] == raws


@pytest.mark.parametrize(
    "a, b, synonym",
    [
        pytest.param("3场", "三次", True, id="chang-ci"),
        pytest.param("2名", "两人", False, id="ming-ren-one-unit"),
        pytest.param("12场", "十二次", True, id="chang-ci-12"),
        pytest.param("3位", "三人", False, id="wei-ren-one-unit"),
        pytest.param("3次", "三次", False, id="same-unit"),
        pytest.param("3万元", "30000元", False, id="scaled-unit"),
        pytest.param("3", "三次", False, id="bare-number"),
    ],
)
def test_by_synonym_unit(a: str, b: str, synonym: bool) -> None:
    from shuzhi.figures import by_synonym_unit

    assert by_synonym_unit(extract_figures(a)[0], extract_figures(b)[0]) is synonym
