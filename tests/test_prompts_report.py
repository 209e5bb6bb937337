"""Section prompts that see the whole report (issue 7, item 2): the brief, length from the facts,
exemplars chosen for the report's unit and year, visible redactions, no labels or remarks as facts."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from llm_stub import StubLLMServer

from shuzhi.api import Workspace
from shuzhi.checks.timeliness import campaigns
from shuzhi.models import Chunk, Hit, Plan, PlanSection, SearchFilters
from shuzhi.writing.draft import build_section_messages, section_facts
from shuzhi.writing.exemplars import ExemplarTarget, retrieve_for_section, timely_hit

NOTES_2020 = """单位：县政府办公室党支部
本人：支部书记 李明
2020年
- 一是理论：每月集中学习1次，全年12次
- 组织建设方面：发展党员2名，按期转正预备党员1名
- 主题党日：每月开展1次，全年12次
- 开展志愿服务8次，走访困难群众15户
- 备注：这里写得生动些，参考去年的
问题：
- 理论学习不够深入，学用结合不紧
- 主题党日形式单一
- 党建与业务融合不够
明年：
- 每季度开展1次专题党课
"""


def _user(job: Any) -> str:
    return str(job.messages[1][1])


def _block(prompt: str, start: str, end: str) -> str:
    return prompt.split(start, 1)[1].split(end, 1)[0]


def _facts(prompt: str) -> list[str]:
    block = _block(prompt, "本节事实（", "本节要呼应的问题")
    return [ln[2:] for ln in block.splitlines() if ln.startswith("- ")]


def _target(prompt: str) -> int:
    found = re.search(r"篇幅：约(\d+)字", prompt)
    assert found, prompt
    return int(found.group(1))


@pytest.fixture
def prepared(use_built_index: Path, tmp_path: Path) -> tuple[Plan, list[Any]]:
    notes_file = tmp_path / "notes.md"
    notes_file.write_text(NOTES_2020, encoding="utf-8")
    ws = Workspace.open()
    plan = ws.plan(ws.parse_notes(ws.read_text_file(notes_file)))
    return plan, ws.prepare(plan)


# ------------------------------------------------------------------ the brief
def test_every_section_prompt_carries_the_brief_of_the_whole_report(prepared: tuple[Plan, list[Any]]) -> None:
    plan, jobs = prepared
    assert plan.year == 2020 and plan.org_type == "政府部门" and plan.role == "支部书记" and plan.person == "李明"
    headings = [s.heading for s in plan.sections if s.heading]
    assert len(headings) >= 5
    drafted = [j for j in jobs if not j.skip]
    assert len(drafted) >= 6
    for job in drafted:
        prompt = _user(job)
        brief = _block(prompt, "全文概况", "现在起草的部分")
        assert plan.title in brief and "县政府办公室党支部" in brief and "2020" in brief and "支部书记李明" in brief
        positions = [brief.index(h) for h in headings]
        assert positions == sorted(positions)  # every planned heading, in plan order
        marked = [ln for ln in brief.splitlines() if ln.endswith("← 本节")]
        assert len(marked) == 1 and (job.section.heading or "开头" if job.section.kind == "opening" else
                                     job.section.heading or "结束语") in marked[0]
        assert len(brief) <= 700
    opening = _user(next(j for j in drafted if j.section.kind == "opening"))
    sub_items = [s.heading for s in plan.sections if s.key.startswith("achievements.")]
    assert all(h in opening for h in sub_items)  # the opening can name the report's themes
    assert "主题党日形式单一" in _block(opening, "全文概况", "现在起草的部分")


def test_next_steps_answer_the_problems_as_planned(prepared: tuple[Plan, list[Any]]) -> None:
    plan, _ = prepared
    edited_problems = ("支部书记带头讲党课偏少", "主题党日形式单一")
    edited = replace(plan, sections=tuple(replace(s, notes=edited_problems) if s.kind == "problems" else s
                                          for s in plan.sections))
    for kind in ("next_steps", "causes"):
        section = next(s for s in edited.sections if s.kind == kind)
        prompt = build_section_messages(edited, section, ())[1][1]
        answered = _block(prompt, "本节要呼应的问题", "范文片段")
        assert "支部书记带头讲党课偏少" in answered and "理论学习不够深入" not in answered
        assert "逐条回应" in _block(prompt, "全文概况", "现在起草的部分")
        assert "理论学习不够深入" not in prompt


def test_the_brief_stays_short_for_a_long_plan() -> None:
    problems = PlanSection(key="problems", kind="problems", heading="存在问题及原因",
                           notes=tuple(f"第{n}个问题：" + "表现具体而且写得很长" * 8 for n in range(30)))
    subs = tuple(PlanSection(key=f"achievements.{n}", kind="achievements", heading="很长的小标题" * 8,
                             notes=("开展活动3次",), level=2) for n in range(1, 12))
    plan = Plan(title="2024年某支部书记抓基层党建工作述职报告", year=2024, org="某支部",
                sections=(PlanSection(key="opening", kind="opening", heading="", level=0), *subs, problems))
    prompt = build_section_messages(plan, subs[0], ())[1][1]
    brief = _block(prompt, "全文概况", "现在起草的部分")
    assert len(brief) <= 700 + 200  # data/plan.yaml brief.max_chars, plus the template's own words
    assert "很长的小标题" * 7 not in brief and brief.count("← 本节") == 1  # lines shortened, none cut off
    assert "等30条" in prompt and "第1个问题" in brief and "开展活动3次" in _block(prompt, "本节事实（", "本节要呼应的问题")


# ------------------------------------------------------------------ length from the facts
@pytest.mark.parametrize(
    "kind, few, many",
    [
        pytest.param("achievements", 2, 8, id="achievements"),
        pytest.param("problems", 1, 5, id="problems"),
        pytest.param("rectification", 1, 4, id="rectification"),
    ],
)
def test_length_target_scales_with_the_facts(kind: str, few: int, many: int) -> None:
    def target(n: int) -> int:
        section = PlanSection(key=kind, kind=kind, heading="小标题", notes=tuple(f"开展活动{i}次" for i in range(1, n + 1)))
        plan = Plan(title="2024年某支部书记抓基层党建工作述职报告", year=2024, org="某支部", sections=(section,))
        prompt = build_section_messages(plan, section, ())[1][1]
        assert "事实少就写短，不要补充笔记里没有的做法" in prompt
        assert f"约{_target(prompt)}字" in _block(prompt, "本节写法", "篇幅")  # the guide has the number too
        return _target(prompt)

    assert target(few) < target(many) <= target(many + 30) == target(many + 60) <= 450  # capped, never an essay


def test_length_of_next_steps_counts_the_problems_it_answers(prepared: tuple[Plan, list[Any]]) -> None:
    plan, _ = prepared
    section = next(s for s in plan.sections if s.kind == "next_steps")
    base = _target(build_section_messages(plan, section, ())[1][1])
    fewer = replace(plan, sections=tuple(replace(s, notes=s.notes[:1]) if s.kind == "problems" else s
                                         for s in plan.sections))
    assert _target(build_section_messages(fewer, section, ())[1][1]) < base


# ------------------------------------------------------------------ labels and remarks
@pytest.mark.parametrize(
    "note, fact",
    [
        pytest.param("理论：每月集中学习1次", "每月集中学习1次", id="theme-label"),
        pytest.param("组织建设方面：发展党员2名", "发展党员2名", id="label-with-suffix"),
        pytest.param("廉政上：开展警示教育2次", "开展警示教育2次", id="label-shang"),
        pytest.param("主题党日：每月开展1次", "主题党日：每月开展1次", id="meaningful-label-kept"),
        pytest.param("单位：县政府办公室党支部", "单位：县政府办公室党支部", id="opening-field-kept"),
        pytest.param("理论学习不够深入", "理论学习不够深入", id="no-label"),
        pytest.param("一是理论：每月集中学习1次", "每月集中学习1次", id="numbered-label"),
        pytest.param("（二）服务：开展志愿服务8次", "开展志愿服务8次", id="paren-numbered-label"),
        pytest.param("备注：这里写得生动些", None, id="remark"),
        pytest.param("开头直接写总体情况", None, id="remark-to-writer"),
    ],
)
def test_facts_block_has_no_filing_labels_or_remarks(note: str, fact: str | None) -> None:
    section = PlanSection(key="achievements.1", kind="achievements", heading="小标题", notes=(note,))
    assert section_facts(section) == ((fact,) if fact else ())


def test_labels_and_remarks_never_reach_a_prompt(prepared: tuple[Plan, list[Any]]) -> None:
    plan, jobs = prepared
    assert any("写得生动" in e for e in plan.excluded)
    facts = [f for j in jobs if not j.skip for f in _facts(_user(j))]
    assert "每月集中学习1次，全年12次" in facts and "发展党员2名，按期转正预备党员1名" in facts
    assert not any(f.startswith(("理论：", "组织建设方面：", "一是")) for f in facts)
    assert not any("写得生动" in _user(j) or "参考去年" in _user(j) for j in jobs if not j.skip)


# ------------------------------------------------------------------ exemplars: year, campaigns, org type
def test_a_2020_plan_never_sees_a_later_campaign(prepared: tuple[Plan, list[Any]]) -> None:
    _, jobs = prepared
    later = [e for e in campaigns()[0] if e.year > 2020]
    prompts = [_user(j) for j in jobs if not j.skip]
    assert sum(len(j.exemplars) for j in jobs) >= 10  # the corpus still teaches style
    for prompt in prompts:
        exemplars = prompt.split("范文片段（", 1)[1]
        assert "主题教育" not in exemplars  # the 2023 campaign of the corpus, by full or short name
        assert not [e.name for e in later if e.found_in(exemplars)]
        assert not re.search(r"20(?:2[1-9])年", exemplars)  # other reports' years are redacted


def test_exemplar_redactions_stay_visible(prepared: tuple[Plan, list[Any]]) -> None:
    _, jobs = prepared
    blocks = [_user(j).split("范文片段（", 1)[1] for j in jobs if j.exemplars]
    assert all("〔X〕" not in b for b in blocks)  # the model's own fill-in slot never comes from the corpus
    assert any("××" in b for b in blocks)
    assert all("“××”是原文隐去的内容，不要照抄" in _user(j) for j in jobs if not j.skip)


@pytest.mark.parametrize(
    "notes_head, org_type",
    [
        pytest.param("单位：县政府办公室党支部\n2020年\n", "政府部门", id="government-2020"),
        pytest.param("单位：某某集团有限公司第一党支部\n2023年\n", "企业", id="enterprise-2023"),
        pytest.param("单位：市统计局机关党支部\n2023年\n", "机关", id="organ-2023"),
    ],
)
def test_exemplars_prefer_the_reports_kind_of_unit(use_built_index: Path, notes_head: str, org_type: str) -> None:
    ws = Workspace.open()
    plan = ws.plan(ws.parse_notes(notes_head + "- 每月集中学习1次\n问题：\n- 理论学习不够深入\n"))
    assert plan.org_type == org_type
    opening = next(j for j in ws.prepare(plan) if j.section.kind == "opening")
    assert opening.exemplars and opening.exemplars[0].chunk.org_type == org_type


def _chunk(n: int, text: str, year: int, org_type: str, kind: str = "achievements") -> Chunk:
    return Chunk(id=f"c{n}", text=text, doc_id=f"d{n}", source=f"{n}.txt", year=year, org_type=org_type,
                 kind=kind, theme="", heading_path="", position=0)


class _FakeIndex:
    def __init__(self, chunks: list[Chunk]) -> None:
        self.chunks = chunks

    def search(self, query: str, filters: SearchFilters | None = None, k: int = 5) -> list[Hit]:
        kind = filters.kind if filters else None
        found = [c for c in self.chunks if kind is None or c.kind == kind]
        return [Hit(chunk=c, score=1.0 / (i + 1)) for i, c in enumerate(found[:k])]


BODY = "坚持每月开展集中学习，组织党员深入研讨交流，推动理论学习走深走实，学习成果转化为推动工作的实际成效。"


@pytest.mark.parametrize(
    "target, first",
    [
        pytest.param(ExemplarTarget(2020, "政府部门"), "d3", id="same-type-same-year"),
        pytest.param(ExemplarTarget(2023, "企业"), "d1", id="enterprise"),
        pytest.param(ExemplarTarget(2023, "机关"), "d2", id="organ-recent"),
        pytest.param(ExemplarTarget(2023, "政府部门"), "d2", id="related-type-near-year"),
        pytest.param(ExemplarTarget(), "d1", id="no-target-keeps-relevance"),
    ],
)
def test_exemplar_ranking_by_unit_and_year(target: ExemplarTarget, first: str) -> None:
    index = _FakeIndex([_chunk(1, BODY, 2022, "企业"), _chunk(2, BODY, 2023, "机关"), _chunk(3, BODY, 2020, "政府部门")])
    section = PlanSection(key="achievements.1", kind="achievements", heading="深化理论武装", notes=("每月学习1次",))
    hits = retrieve_for_section(index, section, k=3, target=target)  # type: ignore[arg-type]
    assert hits[0].chunk.doc_id == first and len(hits) == 3


@pytest.mark.parametrize(
    "sentence, source_year, report_year, kept",
    [
        pytest.param("扎实开展“学习贯彻习近平新时代中国特色社会主义思想”主题教育。", 2023, 2020, False, id="full-name-future"),
        pytest.param("扎实开展“学习贯彻习近平新时代中国特色社会主义思想”主题教育。", 2023, 2023, True, id="full-name-its-year"),
        pytest.param("扎实开展主题教育，推动学习走深走实。", 2023, 2020, False, id="short-name-of-2023"),
        pytest.param("扎实开展主题教育，推动学习走深走实。", 2019, 2020, True, id="short-name-of-2019-in-2020"),
        pytest.param("扎实开展主题教育，推动学习走深走实。", 0, 2020, True, id="unknown-year-valid-campaign"),
        pytest.param("扎实开展主题教育，推动学习走深走实。", 0, 2022, False, id="unknown-year-no-valid-campaign"),
        pytest.param("巩固拓展党史学习教育成果。", 2022, 2022, True, id="stale-but-ok-if"),
        pytest.param("深入开展党史学习教育。", 2021, 2023, False, id="stale"),
        pytest.param("认真学习贯彻党的二十大精神。", 2023, 2020, False, id="congress-before-it-met"),
        pytest.param("认真学习贯彻党的二十大精神。", 2023, 2024, True, id="congress-after"),
        pytest.param("坚决做到“两个维护”。", 2023, 2020, True, id="timeless"),
    ],
)
def test_exemplar_sentences_citing_campaigns_out_of_time(sentence: str, source_year: int, report_year: int,
                                                        kept: bool) -> None:
    hit = Hit(chunk=_chunk(1, BODY + sentence + BODY, source_year, "机关"), score=1.0)
    out = timely_hit(hit, report_year)
    assert out is not None and (sentence in out.chunk.text) is kept and BODY in out.chunk.text


def test_a_passage_that_is_only_an_old_campaign_is_dropped_and_other_years_read_as_redactions() -> None:
    only = Hit(chunk=_chunk(1, "深入开展党史学习教育，学党史、悟思想、办实事、开新局。", 2021, "机关"), score=1.0)
    assert timely_hit(only, 2024) is None
    dated = Hit(chunk=_chunk(2, "2023年，支部" + BODY + "2020年度的做法继续坚持。", 2023, "机关"), score=1.0)
    out = timely_hit(dated, 2020)
    assert out is not None and out.chunk.text.startswith("××年，支部") and "2020年度" in out.chunk.text


# ------------------------------------------------------------------ drafting through the stub still works
def test_drafting_through_the_stub_server_sends_the_new_prompts(use_built_index: Path, llm_env: Any,
                                                                tmp_path: Path) -> None:
    def reply(body: dict[str, Any]) -> str:
        facts = _facts(str(body["messages"][-1]["content"]))
        return ("一是" + "；".join(facts) + "。") if facts else "以上是我的述职报告，请批评指正。"

    with StubLLMServer(responder=reply) as stub:
        llm_env(stub)
        ws = Workspace.open()
        plan = ws.plan(ws.parse_notes(NOTES_2020))
        outcome = ws.draft(plan, NOTES_2020)
        prompts = [str(r.body["messages"][-1]["content"]) for r in stub.requests if r.body.get("messages")]
    assert not outcome.failed
    assert prompts and all("全文概况" in p and "篇幅：约" in p for p in prompts if "结束语  ← 本节" not in p)
    text = "\n".join(s.text for s in outcome.sections)
    assert "每月集中学习1次，全年12次" in text and "理论：" not in text
