"""Rewrite of a weak 存在问题及原因: rubric diagnosis, grounded request, figures kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from llm_stub import StubLLMServer

from shuzhi.config import Settings
from shuzhi.index.search import CorpusIndex
from shuzhi.writing.rewrite import check_kept, make_diff, make_pairs, must_keep

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WEAK_1 = EXAMPLES / "weak_problems_1.md"

STRONG_REWRITE = (
    "一是理论学习不够深入。作为支部书记，我组织集中学习多满足于读原文，全年〔X〕次学习中结合业务研讨的不多。"
    "二是工作创新不够。主题党日形式单一，多是传统的集中学习。"
    "分析存在上述问题的原因：一是思想认识不到位，我对抓党建是最大政绩的认识不深。二是担当作为不够，满足于完成规定动作。"
)


def _checks(result: dict[str, Any]) -> set[str]:
    return {d["check"] for d in result["diagnosis"]}


def test_rewrite_without_model_gives_the_diagnosis(use_built_index: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run_cli(capsys, "rewrite", str(WEAK_1), "--json")
    assert code == 0
    result = json.loads(stdout)
    assert result["model_configured"] is False and not result["rewritten"]
    assert {"vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes"} <= _checks(result)
    excuses = " ".join(d["evidence"] + d["message"] for d in result["diagnosis"] if d["check"] == "objective_excuse")
    assert "任务繁重" in excuses and "人手紧张" in excuses
    assert "未配置大模型" in result["message"]
    # Human-readable output too.
    code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1))
    assert code == 0 and "诊断" in stdout and "客观" in stdout


def test_rewrite_with_stub_carries_diagnosis_and_exemplars(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "rewritten.md"
    with StubLLMServer(responder=lambda body: STRONG_REWRITE) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1), "--json", "-o", str(out))
        body = stub.chat_requests[0].body
    assert code == 0
    result = json.loads(stdout)
    assert result["rewritten"].startswith("一是理论学习不够深入")
    assert out.read_text(encoding="utf-8").strip() == result["rewritten"]
    assert all(line[:2] in ("  ", "- ", "+ ") for line in result["diff"].splitlines())
    assert "  二是工作创新不够。" in result["diff"].splitlines()  # a kept sentence is unmarked
    assert result["remaining"] == [] and result["after"] == []
    prompt = body["messages"][-1]["content"]
    assert "任务繁重" in prompt and "人手紧张" in prompt  # the diagnosis travels with the request
    assert "以优代缺" in prompt
    assert prompt.count("【范文片段") >= 2
    kinds = {c.kind for c in CorpusIndex(Settings(data_dir=use_built_index)).get_chunks(result["exemplars"])}
    assert kinds == {"problems", "causes"}


def test_rewrite_reports_lost_figures(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    weak = tmp_path / "weak.md"
    weak.write_text("存在问题：一是全年只开展集中学习6次，学习不够深入。二是“三会一课”有时不规范。"
                    "原因是工作任务繁重。", encoding="utf-8")
    with StubLLMServer(responder=lambda body: "一是学习不够深入，我带头不够。分析存在上述问题的原因：思想认识不到位。") as stub:
        llm_env(stub)
        code, stdout, stderr = run_cli(capsys, "rewrite", str(weak), "--json")
    result = json.loads(stdout)
    assert code == 1  # the rewrite's first problem is still a bare title
    assert result["remaining"] == ["vague"]
    assert "6次" in result["lost"]
    assert "遗漏" in result["message"] and "6次" in result["message"]


def test_rewrite_content_filter_keeps_the_original(use_built_index: Path, llm_env: Any,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    before = WEAK_1.read_bytes()
    with StubLLMServer(faults=["content_filter"]) as stub:
        llm_env(stub)
        code, stdout, stderr = run_cli(capsys, "rewrite", str(WEAK_1), "--json")
    result = json.loads(stdout)
    assert code == 2 and "内容审核" in result["error"]
    assert result["diagnosis"]  # the diagnosis still reaches the user
    assert WEAK_1.read_bytes() == before


@pytest.mark.parametrize(
    ("original", "rewritten", "lost"),
    [
        pytest.param("发展党员2名，开展谈心谈话15人次。", "发展两名党员，开展谈心谈话15人次。", [], id="spelling-change-kept"),
        pytest.param("组织观看《永远在路上》3次。", "组织观看警示片三次。", ["《永远在路上》"], id="name-dropped"),
        pytest.param("完成率达到8.6%。", "完成率达到百分之八点六。", [], id="percent-spelled-out"),
    ],
)
def test_check_kept(original: str, rewritten: str, lost: list[str]) -> None:
    assert check_kept(original, rewritten)[1] == lost


def test_must_keep_and_diff() -> None:
    assert must_keep("开展“四强”党支部创建，集中学习24次") == ["24次", "“四强”"]
    diff = make_diff("一是学习不深入。二是创新不够。", "一是学习不深入。二是主题党日形式单一。")
    assert diff.splitlines() == ["  一是学习不深入。", "- 二是创新不够。", "+ 二是主题党日形式单一。"]


def test_weak_problems_2_diagnosis(use_built_index: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "rewrite", str(EXAMPLES / "weak_problems_2.md"), "--json")
    checks = _checks(json.loads(stdout))
    assert code == 0
    assert {"vague", "objective_excuse", "missing_subjective_causes"} <= checks
    assert checks & {"others_only", "no_first_person"}


def test_rewrite_flags_invented_figures_and_dropped_problems(use_built_index: Path, llm_env: Any,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    invented = "一是理论学习不够深入，全年组织集中学习99次，其中77次只读文件。分析存在上述问题的原因：我思想认识不到位。"
    notes = EXAMPLES / "notes_jiguan_2024.md"
    with StubLLMServer(responder=lambda body: invented) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1), "--notes", str(notes), "--json")
    result = json.loads(stdout)
    assert code == 1
    assert result["invented"] == ["99次", "77次"]
    assert "编造" in result["message"] and "4 个问题" in result["message"]


# ------------------------------------------------------------------ the rewrite checked again
GOOD_REWRITE = (
    "一是理论学习不够深入。作为支部书记，我带头学习多满足于读原文，结合业务研讨得不多，学用结合不紧。\n"
    "二是工作创新不够。主题党日形式单一，多是在会议室集中学习，我没有带头谋划新的载体。\n"
    "三是抓党建精力投入不足。我把主要精力放在业务上，对支部建设过问得少，督促指导不到位。\n"
    "四是对党员的教育管理不够严格。有的党员参加组织生活不积极，我谈心提醒不及时。\n"
    "分析存在上述问题的原因：\n"
    "一是思想认识不到位，我对抓好党建是最大政绩的认识不深，“重业务、轻党建”的思想还没有根除。\n"
    "二是担当作为不够，我对党建工作标准不高、要求不严，满足于完成规定动作。"
)
MEDIOCRE_REWRITE = (
    "一是理论学习不够深入。作为支部书记，我带头学习多满足于读原文，结合业务研讨得不多。\n"
    "二是对自己要求太严，有时忽视了休息，工作节奏过快影响了支部活动安排。\n"
    "分析存在上述问题的原因：\n"
    "一是思想认识不到位，我对抓党建是最大政绩的认识不深。\n"
    "二是业务工作任务繁重，人手紧张，抓党建的时间不多。"
)
WEAK_1_DEFECTS = {"vague", "objective_excuse", "strength_as_weakness", "missing_subjective_causes"}


@pytest.mark.parametrize(
    ("rewritten", "code", "remaining", "named"),
    [
        pytest.param(GOOD_REWRITE, 0, [], ["改写稿已改正", "以优代缺", "原因找客观", "问题空泛"], id="good-rewrite"),
        pytest.param(MEDIOCRE_REWRITE, 1, ["objective_excuse", "strength_as_weakness"],
                     ["改写稿仍有以下问题", "以优代缺（要求太严", "原因找客观（任务繁重"], id="mediocre-rewrite"),
    ],
)
def test_rewrite_is_diagnosed_again(use_built_index: Path, llm_env: Any, capsys: pytest.CaptureFixture[str],
                                    rewritten: str, code: int, remaining: list[str], named: list[str]) -> None:
    with StubLLMServer(responder=lambda body: rewritten) as stub:
        llm_env(stub)
        exit_code, stdout, stderr = run_cli(capsys, "rewrite", str(WEAK_1), "--json")
    result = json.loads(stdout)
    assert exit_code == code, result["message"]
    assert sorted(result["remaining"]) == remaining
    assert {f["check"] for f in result["after"]} == set(remaining)
    assert set(result["fixed"]) == WEAK_1_DEFECTS - set(remaining)
    for words in named:
        assert words in result["message"] and words in stderr
    if remaining:
        assert "改写稿已改正" in result["message"] and "问题空泛" in result["message"]  # fixed ones too
    # The human-readable output shows the second diagnosis too.
    with StubLLMServer(responder=lambda body: rewritten) as stub:
        llm_env(stub)
        exit_code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1))
    assert exit_code == code and "复查改写稿" in stdout


def test_rewrite_that_omits_a_shortfall_of_the_notes_is_defective(use_built_index: Path, llm_env: Any,
                                                                  tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("## 问题\n- 对年轻党员关心不够\n", encoding="utf-8")
    with StubLLMServer(responder=lambda body: GOOD_REWRITE) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1), "--notes", str(notes), "--json")
        prompt = stub.chat_requests[0].body["messages"][-1]["content"]
    result = json.loads(stdout)
    assert "对年轻党员关心不够" in prompt  # the omission is part of the diagnosis sent to the model
    assert code == 1 and result["remaining"] == ["omitted_shortfall"]
    assert "对年轻党员关心不够" in result["message"]


def test_rewrite_without_model_has_no_second_diagnosis(use_built_index: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "rewrite", str(WEAK_1), "--json")
    result = json.loads(stdout)
    assert code == 0 and result["after"] == [] and result["remaining"] == [] and result["fixed"] == []


# ------------------------------------------------------------------ sentence diff
@pytest.mark.parametrize(
    ("original", "rewritten", "lines", "kinds"),
    [
        pytest.param("一是学习不深入。二是创新不够。", "一是学习不深入。二是创新不够。",
                     ["  一是学习不深入。", "  二是创新不够。"], ["same", "same"], id="unchanged"),
        pytest.param("一是学习不深入。二是创新不够。", "一是我带头学习不深入。二是创新不够。",
                     ["- 一是学习不深入。", "+ 一是我带头学习不深入。", "  二是创新不够。"], ["changed", "same"],
                     id="changed-then-kept"),
        pytest.param("一是学习不深入；二是创新不够；", "一是学习不深入；",
                     ["  一是学习不深入；", "- 二是创新不够；"], ["same", "removed"], id="semicolons-removed"),
        pytest.param("一是学习不深入。", "一是学习不深入。\n分析存在上述问题的原因：\n一是我思想认识不到位。",
                     ["  一是学习不深入。", "+ 分析存在上述问题的原因：", "+ 一是我思想认识不到位。"],
                     ["same", "added", "added"], id="lines-added"),
        pytest.param("他说“学习；要深。”我没做到。", "他说“学习；要深。”我没有带头做到。",
                     ["- 他说“学习；要深。”我没做到。", "+ 他说“学习；要深。”我没有带头做到。"], ["changed"],
                     id="quote-kept-whole"),
    ],
)
def test_sentence_diff(original: str, rewritten: str, lines: list[str], kinds: list[str]) -> None:
    diff = make_diff(original, rewritten)
    assert diff.splitlines() == lines
    assert all(line[:2] in ("  ", "- ", "+ ") for line in diff.splitlines())
    assert [p.kind for p in make_pairs(original, rewritten)] == kinds


def test_sentence_diff_pairs_unrelated_sentences_as_removed_and_added() -> None:
    pairs = make_pairs("二、存在问题及原因\n一是学习不够深入。", "一是理论学习不够深入，我带头不够。\n二是主题党日形式单一。")
    assert [(p.kind, p.before[:2], p.after[:2]) for p in pairs] == [
        ("removed", "二、", ""), ("changed", "一是", "一是"), ("added", "", "二是")]
