"""The causes lead-ins are one list (the genre file's `causes_leads`): the parser and the problems
rubric find the causes at the same phrases."""

from __future__ import annotations

import pytest

from shuzhi.checks.rubric import cause_start, split_problems
from shuzhi.corpus.parse import parse_text
from shuzhi.genre import SectionKind, load_genre

PROBLEM = "一是我抓理论学习不深，比如全年24次集中学习中我只发言4次。"
DRAFT = "二、存在问题及原因\n\n{problem}\n\n{lead}思想认识不到位，满足于完成规定动作。\n\n三、下一步工作思路和措施\n\n一是每月研讨一次。\n"

LEADS = [
    pytest.param("究其原因，主要是我", id="jiuqi-yuanyin"),
    pytest.param("分析原因：", id="fenxi-yuanyin"),
    pytest.param("产生上述问题的原因主要是", id="chansheng-shangshu-wenti-de-yuanyin"),
    pytest.param("存在上述问题的原因：", id="cunzai-shangshu-wenti"),
    pytest.param("原因是我", id="yuanyin-shi"),
    pytest.param("根源在于我", id="genyuan-zaiyu"),
    pytest.param("问题的根子在于", id="wenti-de-genzi"),
    pytest.param("产生这些问题，根子在我自身：", id="genzi-zai-ziji"),
    pytest.param("原因分析：", id="yuanyin-fenxi"),
]


@pytest.mark.parametrize("lead", LEADS)
def test_parser_and_rubric_agree_on_the_lead_in(lead: str) -> None:
    draft = DRAFT.format(problem=PROBLEM, lead=lead)
    doc = parse_text(draft, "草稿")
    assert any(s.kind == SectionKind.CAUSES for s in doc.sections), [s.kind for s in doc.sections]
    split = split_problems(f"{PROBLEM}\n{lead}思想认识不到位。")
    assert split.problems == (PROBLEM.removeprefix("一是"),) and "思想认识不到位" in split.causes


@pytest.mark.parametrize(
    "text, found",
    [
        pytest.param(f"{PROBLEM}究其原因，是我思想认识不到位。", True, id="after-a-sentence-end"),
        pytest.param("一是问题整改不到位，上年度查摆的问题还有2个没有销号。", False, id="wenti-without-yuanyin"),
        pytest.param("一是我对造成这一问题的原因分析不深，有2次整改走了过场。", False, id="yuanyin-inside-a-clause"),
    ],
)
def test_cause_start_in_running_text(text: str, found: bool) -> None:
    assert (cause_start(text) is not None) is found


def test_each_genre_has_its_own_leads() -> None:
    duizhao = load_genre("duizhao")
    assert cause_start("一是理想信念有所松懈。问题产生的原因：党性修养不够。", duizhao) is not None
