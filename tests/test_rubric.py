"""The problems rubric: weak sections get specific findings, a strong one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.checks.rubric import diagnose_problems, split_problems
from shuzhi.models import Finding

STRONG_PROBLEMS = """二、存在的主要问题及原因
一是本人理论学习的深度还不够。全年支部集中学习24次，我只在4次学习中作了交流发言，对党的二十届三中全会精神满足于读原文，结合统计工作实际研究得不深，比如在数据质量整治中没有把学习成果转化为管用的办法。
二是抓组织生活的创新力度不足。主题党日多以集中学习代替，有的党员反映“形式老一套”，全年12次主题党日中只有2次走出机关开展实践活动。
三是对年轻党员的教育关心不够。我与35岁以下党员谈心谈话次数偏少，个别年轻党员参加组织生活积极性不高，我没有及时了解他们的思想动态。
究其原因，一是思想认识不到位，作为支部书记，我“重业务、轻党建”的思想还没有根除，抓党建的主责意识不够强。二是能力本领有欠缺，对新形势下党员教育管理的方法研究不够，创新办法不多。三是担当作为不够，对党建工作标准不高、要求不严，满足于完成规定动作。"""

STRONG_NEXT = """三、下一步工作思路和措施
一是带头深化理论学习，每季度结合统计业务开展一次专题研讨，推动学用结合。
二是创新组织生活形式，主题党日走进社区、走进统计调查一线，增强吸引力。
三是加强对年轻党员的关心关爱，建立支委联系青年党员制度，定期谈心谈话。"""


@pytest.fixture
def weak1(examples_dir: Path) -> str:
    return (examples_dir / "weak_problems_1.md").read_text(encoding="utf-8")


@pytest.fixture
def weak2(examples_dir: Path) -> str:
    return (examples_dir / "weak_problems_2.md").read_text(encoding="utf-8")


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check: f for f in findings}


def test_weak_problems_1(weak1: str) -> None:
    found = _by_check(diagnose_problems(weak1))
    assert {"vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes"} <= set(found)
    assert "任务繁重" in found["objective_excuse"].evidence
    assert "人手紧张" in found["objective_excuse"].evidence
    assert "「任务繁重」" in found["objective_excuse"].message and "主观" in found["objective_excuse"].message
    assert "学习不够深入" in found["vague"].evidence
    assert "要求太严" in found["strength_as_weakness"].evidence
    assert "客观" in found["missing_subjective_causes"].message


def test_weak_problems_2(weak2: str) -> None:
    found = _by_check(diagnose_problems(weak2))
    assert {"vague", "objective_excuse", "missing_subjective_causes"} <= set(found)
    assert {"others_only", "no_first_person"} & set(found)
    for excuse in ("党员分散", "很难集中", "上级要求多", "基层负担重"):
        assert excuse in found["objective_excuse"].evidence
    assert "党建工作还有差距" in found["vague"].evidence


def test_strong_section_is_clean() -> None:
    found = _by_check(diagnose_problems(STRONG_PROBLEMS, STRONG_NEXT))
    for check in ("objective_excuse", "strength_as_weakness", "missing_subjective_causes", "vague"):
        assert check not in found, found.get(check)
    assert "no_first_person" not in found and "no_matching_measure" not in found


def test_split_problems_finds_causes(weak1: str) -> None:
    split = split_problems(STRONG_PROBLEMS)
    assert len(split.problems) == 3 and len(split.cause_items) == 3
    assert split_problems(weak1).causes.startswith("存在这些问题")


@pytest.mark.parametrize(
    ("text", "next_steps", "causes", "check"),
    [
        pytest.param(
            "一是学习不够深入。二是创新不够。", None, None, "missing_subjective_causes", id="no-causes-at-all"
        ),
        pytest.param(
            "一是个别党员作用发挥不够，比如有的党员三次缺席组织生活。二是部分党员学习积极性不高，例如有的党员学习笔记照抄。",
            None,
            "究其原因，是我思想认识不到位。",
            "others_only",
            id="others-only",
        ),
        pytest.param(
            "一是主题党日形式单一，比如全年都在会议室学文件。二是我对年轻党员关心不够，有时一个季度都没有谈心。",
            "一是加强理论学习。",
            "原因是我思想认识不到位。",
            "no_matching_measure",
            id="measure-missing",
        ),
        pytest.param(
            "一是学习不深入，有时只读文件。原因是学习不深入，有时只读文件。",
            None,
            None,
            "causes_restate_problems",
            id="restated",
        ),
        pytest.param(
            "一是进一步加强理论学习，不断提高政治素质，切实增强党性修养，持续深化作风建设，全面提升能力。",
            None,
            "原因是我思想认识不到位。",
            "empty_formula",
            id="empty-formula",
        ),
        pytest.param(
            "一是支部学习不够，比如有的党员缺席。原因是工作忙。", None, None, "no_first_person", id="no-first-person"
        ),
    ],
)
def test_single_rubric_items(text: str, next_steps: str | None, causes: str | None, check: str) -> None:
    findings = diagnose_problems(text, next_steps, causes)
    hit = [f for f in findings if f.check == check]
    assert hit, findings
    assert all(f.severity == "warn" and f.message for f in hit)


def test_excuse_quoted_as_criticism_is_not_an_excuse() -> None:
    text = "一是我学习不够主动，比如全年只参加了3次研讨。究其原因，是我思想认识不到位，借口任务繁重放松了学习。"
    assert "objective_excuse" not in _by_check(diagnose_problems(text))


@pytest.mark.parametrize(
    ("cause", "excuse"),
    [
        pytest.param("工作任务较为繁重", "任务较为繁重", id="jiaowei-fanzhong"),
        pytest.param("任务比较繁重", "任务比较繁重", id="bijiao-fanzhong"),
        pytest.param("人员较少", "人员较少", id="renyuan-jiaoshao"),
        pytest.param("精力有限", "精力有限", id="jingli-youxian"),
        pytest.param("工学矛盾突出", "工学矛盾突出", id="gongxue-maodun"),
    ],
)
def test_objective_excuse_wordings(cause: str, excuse: str) -> None:
    text = f"一是我学习不够主动，比如全年只参加了3次研讨。究其原因，主要是{cause}。"
    found = _by_check(diagnose_problems(text))
    assert "objective_excuse" in found
    assert excuse in found["objective_excuse"].evidence
    assert f"「{excuse}」" in found["objective_excuse"].message


def test_excuse_wording_inside_criticism_is_not_flagged() -> None:
    text = "一是我学习不够主动，比如全年只参加了3次研讨。究其原因，是我思想认识不到位，不能以工作任务较为繁重为借口。"
    assert "objective_excuse" not in _by_check(diagnose_problems(text))


def test_evidence_has_single_separators() -> None:
    found = diagnose_problems("一是学习不够深入；二是创新不够；三是党建工作还有差距；")
    vague = _by_check(found)["vague"]
    assert vague.evidence == "学习不够深入；创新不够；党建工作还有差距"
    assert "；」" not in vague.message


# ------------------------------------------------------------------ gaps of issue 7
CAUSES_OWN_LINE = (
    "一是理论学习不够深入。作为支部书记，我组织集中学习多满足于读原文，全年24次学习中结合业务研讨的不多。\n"
    "二是主题党日形式单一，12次主题党日多是在会议室集中学习。\n"
    "分析存在上述问题的原因：\n"
    "一是思想认识不到位，我对抓党建是最大政绩的认识不深。\n"
    "二是担当作为不够，满足于完成规定动作。"
)
NOTES_WITH_SHORTFALLS = "## 问题\n- 主题党日形式单一\n- 对年轻党员关心不够\n"


@pytest.mark.parametrize(
    ("text", "notes", "check", "present", "evidence"),
    [
        pytest.param(
            "一是个别党员作用发挥不够，比如有的党员三次缺席组织生活。二是本人对自己要求太严，有时忽视了休息。"
            "究其原因，是我思想认识不到位。",
            None, "others_only", True, "个别党员", id="others-blame-despite-benren-in-strength",
        ),
        pytest.param(
            "一是有的同志学习积极性不高，例如学习笔记照抄。二是由于本人工作任务繁重，督促不够。"
            "究其原因，是我思想认识不到位。",
            None, "others_only", True, "有的同志", id="others-blame-despite-benren-in-excuse",
        ),
        pytest.param(
            "一是个别党员作用发挥不够，比如有的党员三次缺席组织生活。二是本人带头学习不够，全年只讲了1次党课。"
            "究其原因，是我思想认识不到位。",
            None, "others_only", False, "", id="own-problem-counts",
        ),
        pytest.param(
            "一是我抓理论学习不深，比如全年只讲了1次党课，推动支部工作再上新台阶的办法不多。究其原因，是我思想认识不到位。",
            None, "empty_formula", True, "再上新台阶", id="slogan-zaishang-xintaijie",
        ),
        pytest.param(
            "一是我抓组织生活不实，比如主题党日12次都在会议室，没有取得新成效、开创新局面。究其原因，是我思想认识不到位。",
            None, "empty_formula", True, "开创新局面", id="slogans-chengxiao-jumian",
        ),
        pytest.param(
            "一是我抓组织生活不实，比如主题党日12次都在会议室开展。究其原因，是我思想认识不到位。",
            None, "empty_formula", False, "", id="no-slogan",
        ),
        pytest.param(
            "（一）部分支委履职不到位。支委分工流于形式，支部工作主要靠书记一人推动。\n"
            "（二）个别党员参加组织生活不积极，有的党员全年三次缺席主题党日。\n原因分析：个别支委责任意识不强。",
            None, "others_only", True, "部分支委", id="others-only-secretary-named-as-the-one-who-works",
        ),
        pytest.param(
            "（一）部分支委履职不到位。支委分工流于形式，我对支委履职督促指导不够。\n"
            "（二）个别党员参加组织生活不积极，有的党员全年三次缺席主题党日。\n原因分析：我责任意识不强。",
            None, "others_only", False, "", id="others-headline-owned-in-first-person",
        ),
        pytest.param(
            "一是支部书记抓党建精力不足，比如全年只参加了2次党小组会。\n究其原因，是我思想认识不到位。",
            None, "others_only", False, "", id="secretary-headline-owns-up",
        ),
        pytest.param(
            "一是政治站位还需进一步提高，“四个意识”还需进一步增强。\n二是理论学习还需进一步深化，学用结合还有差距。\n"
            "究其原因，主要是我理想信念还需进一步坚定。",
            None, "empty_formula", True, "还需进一步提高", id="stacked-hedges",
        ),
        pytest.param(
            "一是政治站位还需进一步提高，“四个意识”还需进一步增强，“两个维护”还需进一步落实到位。\n"
            "究其原因，是我思想认识不到位。",
            None, "vague", True, "政治站位", id="long-item-of-hedges-is-vague",
        ),
        pytest.param(
            "一是理论学习还需进一步深化，比如全年24次集中学习中我只有4次作了发言，学用结合还有差距。\n"
            "究其原因，是我思想认识不到位。",
            None, "vague", False, "", id="hedges-with-an-example-are-not-vague",
        ),
        pytest.param(
            "一是理论学习还需进一步深化，比如全年24次集中学习中我只有4次作了发言。\n"
            "二是我对青年党员关心不够，有的青年党员半年没有谈过心。\n究其原因，是我思想认识不到位。",
            None, "empty_formula", False, "", id="one-hedge-in-a-concrete-section",
        ),
        pytest.param(CAUSES_OWN_LINE, None, "missing_subjective_causes", False, "", id="causes-lead-in-own-line"),
        pytest.param(
            "一是理论学习不够深入。作为支部书记，我组织集中学习多满足于读原文，全年24次学习中结合业务研讨的不多。\n"
            "二是主题党日形式单一，12次主题党日多是在会议室集中学习。",
            None, "missing_subjective_causes", True, "", id="no-causes-still-flagged",
        ),
        pytest.param(CAUSES_OWN_LINE, NOTES_WITH_SHORTFALLS, "omitted_shortfall", True, "对年轻党员关心不够",
                     id="omitted-shortfall"),
        pytest.param(CAUSES_OWN_LINE + "\n三是我对年轻党员关心不够，全年谈心不足3次。", NOTES_WITH_SHORTFALLS,
                     "omitted_shortfall", False, "", id="all-shortfalls-covered"),
        pytest.param(CAUSES_OWN_LINE, "## 做了什么\n- 全年集中学习24次\n", "omitted_shortfall", False, "",
                     id="notes-without-problems"),
    ],
)
def test_rubric_gaps(text: str, notes: str | None, check: str, present: bool, evidence: str) -> None:
    found = _by_check(diagnose_problems(text, notes_text=notes))
    assert (check in found) is present, found
    if present:
        assert evidence in found[check].evidence and found[check].message


def test_causes_lead_in_own_line_is_split() -> None:
    split = split_problems(CAUSES_OWN_LINE)
    assert len(split.problems) == 2 and len(split.cause_items) == 2
    assert split.causes.startswith("分析存在上述问题的原因")


def test_heading_with_causes_word_is_still_a_heading() -> None:
    split = split_problems("二、存在问题及原因分析\n一是我学习不深，比如全年只讲了1次党课。\n究其原因，是我思想认识不到位。")
    assert len(split.problems) == 1 and split.causes.startswith("究其原因")
