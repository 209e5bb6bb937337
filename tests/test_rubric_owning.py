"""The rubric on kinds of section the first cases did not have (issue 7, item 4, round 2): 自我 is not
the writer, problems all about other people however they are worded, causes named after the problems
("以上问题，主要原因是…"), and measures that answer a problem by its remedy."""

from __future__ import annotations

import pytest

from shuzhi.checks.rubric import diagnose_problems, split_problems, unmatched_problems

HEAD = "二、存在问题及原因\n"


def _checks(section: str) -> set[str]:
    return {f.check for f in diagnose_problems(HEAD + section)}


@pytest.mark.parametrize(
    "section, first_person",
    [
        pytest.param("一是个别党员自我要求放松，组织生活请假多。原因是党员党性修养不够。", False, id="ziwo-is-not-me"),
        pytest.param("一是个别党员开展批评和自我批评不够。原因是党员党性修养不够。", False, id="ziwo-piping"),
        pytest.param("一是个别党员自我要求放松，我督促不够。原因是我思想认识不到位。", True, id="me-besides-ziwo"),
        pytest.param("一是支部活动形式单一，本人研究不够。原因是本人思想认识不到位。", True, id="benren"),
    ],
)
def test_first_person(section: str, first_person: bool) -> None:
    assert ("no_first_person" not in _checks(section)) is first_person


@pytest.mark.parametrize(
    "section, flagged",
    [
        pytest.param("1.部分年轻党员理想信念淡薄，入党后放松了要求。\n2.少数退休党员长期不参加组织生活。\n"
                     "究其原因，是我思想认识不到位。", True, id="freely-worded-others"),
        pytest.param("1.有的青年教师学习不主动，我督促检查不够。\n2.少数退休党员长期不参加组织生活，我上门走访少。\n"
                     "究其原因，是我思想认识不到位。", False, id="others-but-owned-in-first-person"),
        pytest.param("1.有的支委抓党建主动性不强，支部工作等着书记来布置。\n2.部分党员作用发挥不明显。\n"
                     "究其原因，是我思想认识不到位。", True, id="waiting-for-the-secretary-is-not-owning"),
        pytest.param("1.我抓支部工作精力投入不足。\n2.部分党员作用发挥不明显，我搭建平台不够。\n"
                     "究其原因，是我思想认识不到位。", False, id="own-problem"),
        pytest.param("（一）部分在职党员报到不报岗，认为社区的事与自己无关。\n（二）少数老党员组织观念淡薄。\n"
                     "（三）有的楼栋长责任心不强。\n究其原因，是我思想认识不到位。", True,
                     id="their-own-reflexive-is-not-the-writer"),
        pytest.param("（一）部分党员学习不主动，我自己督促不够。\n（二）少数老党员组织观念淡薄。\n"
                     "究其原因，是我思想认识不到位。", False, id="reflexive-beside-me"),
    ],
)
def test_others_only(section: str, flagged: bool) -> None:
    assert ("others_only" in _checks(section)) is flagged


@pytest.mark.parametrize(
    "section, causes_start",
    [
        pytest.param("1.部分党员学习不主动。\n2.少数党员不参加组织生活。\n\n以上问题，主要原因是我思想认识不到位。",
                     "我思想认识不到位", id="after-the-problems-comma"),
        pytest.param("1.部分党员学习不主动。\n2.少数党员不参加组织生活。\n\n这些问题，根源在于我督促不够。",
                     "我督促不够", id="genyuan-zaiyu"),
        pytest.param("1.部分党员学习不主动，主要原因是我督促检查不够。", "我督促检查不够", id="inside-a-problem"),
    ],
)
def test_causes_named_after_the_problems(section: str, causes_start: str) -> None:
    split = split_problems(HEAD + section)
    assert causes_start in split.causes
    assert all(causes_start not in p for p in split.problems[1:])
    assert "missing_subjective_causes" not in _checks(section)


@pytest.mark.parametrize(
    "section, excuse",
    [
        pytest.param("1.楼栋长队伍作用发挥参差不齐，有的楼栋长年纪偏大、精力有限。\n究其原因，是我思想认识不到位。",
                     False, id="others-state-is-no-excuse"),
        pytest.param("1.支部学习不经常，我精力有限，抓得不紧。\n究其原因，是我思想认识不到位。",
                     True, id="writers-own-excuse"),
        pytest.param("1.由于工作任务重，部分党员参加学习不积极。\n究其原因，是我思想认识不到位。",
                     True, id="excuse-before-others"),
    ],
)
def test_objective_excuse_is_the_writers(section: str, excuse: bool) -> None:
    assert ("objective_excuse" in _checks(section)) is excuse


def test_causes_lead_with_its_own_clause() -> None:
    section = ("一是集中学习开展少，我多次缺席。\n二是谈心谈话开展少。\n"
               "上述问题的产生，我认为主要是客观原因造成的：一是任务叠加；二是专项行动多。")
    split = split_problems(HEAD + section)
    assert len(split.problems) == 2
    assert "任务叠加" in split.causes


def test_problems_without_causes_still_miss_them() -> None:
    assert "missing_subjective_causes" in _checks("1.部分党员学习不主动。\n2.少数党员不参加组织生活，以上问题要重视。")


@pytest.mark.parametrize(
    "problem, measure, answered",
    [
        pytest.param("抓党务的精力投入不足。我兼任行政部经理，平时把主要精力放在行政事务上。",
                     "加强支部班子建设。培养一名专职党务工作者，分担支部日常工作。", True, id="part-time-by-full-time"),
        pytest.param("农民工党员底数不清，分包单位的党员流动大、管理有盲区。",
                     "对分包单位开展摸排，建立党员档案。", True, id="unknown-numbers-by-survey"),
        pytest.param("支部书记党务能力不足，不熟悉发展党员程序。",
                     "开展支部书记轮训，每季度以会代训一次。", True, id="skill-by-training"),
        pytest.param("抓党务的精力投入不足。我兼任行政部经理，平时把主要精力放在行政事务上。",
                     "丰富党员活动形式。开展技能比武、志愿服务等活动。", False, id="unrelated-measure"),
        pytest.param("意识形态阵地管理存在漏洞，有一次讲座报备晚了。",
                     "加强学院文化建设。举办科技文化节，营造育人氛围。", False, id="culture-is-no-remedy"),
    ],
)
def test_measure_answers_by_remedy(problem: str, measure: str, answered: bool) -> None:
    assert (unmatched_problems([problem], [measure]) == []) is answered


@pytest.mark.parametrize(
    "problem, measure, answered",
    [
        pytest.param("在职党员作用发挥不经常，经常参加活动的只有一半左右。",
                     "实行在职党员积分管理，每名在职党员每年至少认领2个服务项目。", True, id="compound-group-name"),
        pytest.param("统筹协调不够有力，“三方联席会”定下的事项有2件没有落实。",
                     "建立联席会议定事项台账，实行销号管理。", True, id="one-term-two-spellings"),
        pytest.param("在职党员作用发挥不经常，经常参加活动的只有一半左右。",
                     "开展支部书记轮训，全年不少于2次。", False, id="other-group"),
    ],
)
def test_measure_shares_a_specific_term(problem: str, measure: str, answered: bool) -> None:
    assert (unmatched_problems([problem], [measure]) == []) is answered
