"""Fidelity checks must be quiet on a faithful draft and precise on a faulty one (issue 7, item 3).

Every sentence here is written for these tests: a small 社区 branch in 2024.
"""

from __future__ import annotations

import pytest

from shuzhi.checks import format_report_zh, run_checks
from shuzhi.checks.names import unsourced_names
from shuzhi.models import Finding
from shuzhi.notes import note_figures, parse_notes

NOTES = """# 2024年 春晖社区党支部书记 述职笔记
单位：春晖社区党支部（党员27名）
本人：支部书记 李某
- 全年开展主题党日12次，讲党课3次
- 发展党员1名
- 问题：青年党员参与志愿服务少
- 明年：建立青年党员志愿服务队
"""

OPENING = "2024年，在街道党工委的领导下，我认真履行第一责任人职责。现将有关情况报告如下：\n\n"
HEAD_DONE = "一、主要做法和成效\n"
HEAD_PROBLEMS = "二、存在问题及原因\n一是青年党员参与志愿服务少，我对青年党员的引导不够。究其原因，是我思想认识不到位。\n\n"
HEAD_NEXT = "三、下一步工作思路和措施\n"
CLOSING = "\n\n以上是我的述职报告，请批评指正。\n"


def _draft(done: str, plan: str = "一是建立青年党员志愿服务队，带动青年党员参与社区服务。") -> str:
    return (f"2024年春晖社区党支部书记抓基层党建工作述职报告\n\n{OPENING}{HEAD_DONE}"
            f"我带头开展主题党日12次，讲党课3次，发展党员1名，支部党员27名。{done}\n\n"
            f"{HEAD_PROBLEMS}{HEAD_NEXT}{plan}{CLOSING}")


def _findings(draft: str, check: str, notes_text: str = NOTES) -> list[Finding]:
    report = run_checks(draft, parse_notes(notes_text))
    return [f for f in report.findings if f.check == check]


def _invented(draft: str, notes_text: str = NOTES) -> list[str]:
    return [i.raw for i in run_checks(draft, parse_notes(notes_text)).invented]


# ---------------------------------------------------------------- 1. the genre's lexicon
@pytest.mark.parametrize(
    "sentence",
    [
        pytest.param("坚持落实三会一课制度，严格执行一岗双责。", id="sanhui-yike-yigang"),
        pytest.param("引导党员增强“四个意识”、坚定“四个自信”、做到“两个维护”。", id="quoted-formulas"),
        pytest.param("深刻领悟两个确立的决定性意义，落实“第一议题”制度。", id="liangge-queli-diyi-yiti"),
        pytest.param("充分发挥两个作用，压实两个责任，严格执行三重一大决策制度。", id="liangge-zuoyong-zeren"),
        pytest.param("持续纠治四风，严守中央八项规定精神。", id="sifeng-baxiang"),
        pytest.param("认真学习党的二十大和二十届三中全会精神，回顾十九届六中全会决议。", id="congress-plenum"),
        pytest.param("对后进支部整顿一个、巩固一个，对问题整改一项、销号一项。", id="parallel-idioms"),
    ],
)
def test_lexicon_phrases_are_neither_figures_nor_unsourced_names(sentence: str) -> None:
    draft = _draft(sentence)
    assert _invented(draft) == []
    assert _findings(draft, "unsourced_name") == []


@pytest.mark.parametrize(
    "sentence, raw",
    [
        pytest.param("全年走访群众四十户。", "四十户", id="cn-count"),
        pytest.param("组织志愿服务15次。", "15次", id="arabic-count"),
        pytest.param("整顿软弱涣散支部两个。", "两个", id="count-next-to-idiom-word"),
    ],
)
def test_real_counts_are_still_invented(sentence: str, raw: str) -> None:
    assert _invented(_draft(sentence)) == [raw]


@pytest.mark.parametrize(
    "name, flagged",
    [
        pytest.param("“四个意识”", False, id="formula"),
        pytest.param("“第一议题”", False, id="first-topic"),
        pytest.param("“党纪学习教育”", False, id="campaign-of-the-year"),
        pytest.param("“二十届三中全会”", False, id="plenum-of-the-year"),
        pytest.param("“红色楼道长”", True, id="invented-brand"),
        pytest.param("《春晖社区党员积分管理细则》", True, id="invented-document"),
        pytest.param("“薄弱环节”", False, id="ordinary-word-in-quotes"),
        pytest.param("“急难险重”", False, id="ordinary-idiom-in-quotes"),
        pytest.param("“书香社区”", True, id="two-words-are-a-name"),
        pytest.param("“红盾先锋”", True, id="unknown-word-is-a-name"),
    ],
)
def test_quoted_names(name: str, flagged: bool) -> None:
    draft = _draft(f"我们深入开展{name}相关工作。")
    assert bool(unsourced_names(draft, parse_notes(NOTES))) is flagged


# ---------------------------------------------------------------- 3. names.py reads campaigns.yaml `entries`
@pytest.mark.parametrize(
    "campaign",
    [
        pytest.param("党纪学习教育", id="2024-campaign"),
        pytest.param("学习贯彻习近平新时代中国特色社会主义思想主题教育", id="2023-campaign"),
        pytest.param("深入贯彻中央八项规定精神学习教育", id="2025-campaign"),
    ],
)
def test_campaign_names_are_not_unsourced(campaign: str) -> None:
    draft = _draft(f"我们扎实开展“{campaign}”，组织党员逐条学习。")
    assert unsourced_names(draft, parse_notes(NOTES)) == []


def test_quote_style_does_not_make_a_name_unsourced() -> None:
    notes = NOTES + "- 打造\"聚'心'成'城'\"服务品牌\n"
    draft = _draft("打造“聚‘心’成‘城’”服务品牌。")
    assert unsourced_names(draft, parse_notes(notes)) == []


# ---------------------------------------------------------------- 2. figures: meta lines, time, plans
@pytest.mark.parametrize(
    "notes_text, sentence, invented",
    [
        pytest.param(NOTES.replace("述职笔记", "述职笔记 辖3个小区"), "新建微心愿站3个。", ["3个"], id="title-number"),
        pytest.param(NOTES.replace("本人：支部书记 李某", "本人：支部书记 李某 工号5"), "帮扶困难党员5名。",
                     ["5名"], id="person-line-number"),
        pytest.param(NOTES + "- 参考 https://example.org/doc/8 和 范文08.docx\n", "组织观影8次。", ["8次"],
                     id="url-and-file-name"),
        pytest.param(NOTES + "- 素材见附件03\n", "新建农家书屋3个。", ["3个"], id="zero-padded-serial"),
        pytest.param(NOTES, "支部现有党员27名。", [], id="member-count-is-a-fact"),
        pytest.param(NOTES, "全年讲党课3次。", [], id="item-figure-is-a-fact"),
    ],
)
def test_meta_line_numbers_do_not_whitelist(notes_text: str, sentence: str, invented: list[str]) -> None:
    assert _invented(_draft(sentence), notes_text) == invented


@pytest.mark.parametrize(
    "sentence, invented",
    [
        pytest.param("\n\n另外还为青年党员讲党课三场。", [], id="synonym-unit-same-matter"),
        pytest.param("\n\n另外还召开居民座谈会三场。", ["三场"], id="synonym-unit-other-matter"),
        pytest.param("\n\n另外还召开居民座谈会3次。", [], id="same-unit-is-trusted"),
        pytest.param("\n\n另外还召开居民座谈会四场。", ["四场"], id="no-such-number"),
    ],
)
def test_synonym_units_need_the_same_matter(sentence: str, invented: list[str]) -> None:
    """场 and 次 count the same thing, so "讲党课三场" states the notes' "讲党课3次"; but "座谈会三场" is
    another matter that merely shares the number."""
    assert _invented(_draft(sentence)) == invented


@pytest.mark.parametrize(
    "sentence, status",
    [
        pytest.param("开展三次党员志愿服务。", "found", id="note-chang-draft-ci"),
        pytest.param("召开三次支委会。", "missing", id="synonym-elsewhere-does-not-count"),
    ],
)
def test_ledger_accepts_synonym_units_on_the_same_matter(sentence: str, status: str) -> None:
    notes = NOTES + "- 开展党员志愿服务3场\n"
    report = run_checks(_draft(sentence), parse_notes(notes))
    entry = next(e for e in report.ledger if "志愿服务3场" in e.note_line)
    assert entry.status == status


@pytest.mark.parametrize(
    "sentence, status, invented",
    [
        pytest.param("对违规问题坚决查处，全年查处一起。", "found", [], id="yiqi-written-out"),
        pytest.param("和居民一起开展环境整治。", "missing", [], id="yiqi-together-is-no-count"),
        pytest.param("全年查处两起。", "missing", ["两起"], id="other-count"),
    ],
)
def test_counted_cases_in_chinese_numerals(sentence: str, status: str, invented: list[str]) -> None:
    notes = NOTES + "- 违规收费专项治理，查处1起\n"
    report = run_checks(_draft(sentence), parse_notes(notes))
    assert next(e for e in report.ledger if "查处1起" in e.note_line).status == status
    assert [i.raw for i in report.invented] == invented


def test_number_typed_in_a_title_is_not_called_invented() -> None:
    notes = NOTES.replace("述职笔记", "述职笔记 辖3个小区")
    messages = [f.message for f in _findings(_draft("新建微心愿站3个。"), "invented_figure", notes)]
    assert len(messages) == 1 and "编造" not in messages[0] and "标题" in messages[0]
    fresh = [f.message for f in _findings(_draft("新建微心愿站9个。"), "invented_figure", notes)]
    # Plain words on what to do, never "the model made it up": the user may have typed the draft.
    assert len(fresh) == 1 and "找不到出处" in fresh[0] and "补进笔记" in fresh[0] and "删除" in fresh[0]
    assert "模型" not in fresh[0] and "编造" not in fresh[0]


def test_member_count_stays_in_the_ledger() -> None:
    raws = [f.raw for f, _ in note_figures(parse_notes(NOTES))]
    assert "27名" in raws and "2024" not in "".join(raws)


@pytest.mark.parametrize(
    "sentence",
    [
        pytest.param("楼道议事会每季度召开一次。", id="every-quarter-once"),
        pytest.param("党员联系户每月走访1次。", id="every-month"),
        pytest.param("近两年来，支部面貌明显改善。", id="recent-two-years"),
        pytest.param("志愿服务台账6月底前建立。", id="deadline-month"),
        pytest.param("结对帮扶清单〔X〕月底前完成。", id="deadline-placeholder-month"),
        pytest.param("三年来，社区面貌焕然一新。", id="three-years"),
    ],
)
def test_time_expressions_are_not_figures(sentence: str) -> None:
    assert _invented(_draft(sentence)) == []


@pytest.mark.parametrize(
    "plan, invented",
    [
        pytest.param("一是每名青年党员每年至少参加志愿服务4次、联系2户群众。", [], id="commitment"),
        pytest.param("一是2025年6月底前建成青年党员志愿服务队，每季度通报一次进度。", [], id="deadline-and-rhythm"),
        pytest.param("一是巩固已建成的5个志愿服务点，建立青年党员志愿服务队。", ["5个"], id="count-stated-as-done"),
    ],
)
def test_next_step_commitments(plan: str, invented: list[str]) -> None:
    report = run_checks(_draft("", plan), parse_notes(NOTES))
    assert [i.raw for i in report.invented] == invented
    assert not report.blocking
    messages = [f.message for f in report.findings if f.check == "invented_figure"]
    assert len(messages) == len(invented)
    assert all("已经完成" in m and "编造" not in m for m in messages)


# ---------------------------------------------------------------- 4. third person, passage by passage
@pytest.mark.parametrize(
    "passage, flagged",
    [
        pytest.param("他坚持每周走访困难党员。", True, id="he"),
        pytest.param("社区工作繁忙，她仍坚持带头学习。", True, id="she-after-comma"),
        pytest.param("该同志始终把服务群众放在首位。", True, id="gai-tongzhi"),
        pytest.param("该书记主动认领难题。", True, id="role-word"),
        pytest.param("春晖社区党支部书记李明同志认真履行职责。", True, id="named-comrade"),
        pytest.param("〔X〕同志带头讲党课。", True, id="placeholder-comrade"),
        pytest.param("一是李某同志牵头成立志愿服务队。", True, id="writer-name-from-notes"),
        pytest.param("一是支部书记XX同志牵头成立志愿服务队。", True, id="after-enumeration-placeholder"),
        pytest.param("我身边的老党员王建国同志主动报名。", False, id="example-member-after-wo"),
        pytest.param("党员王建国同志主动认领微心愿，带动了一批居民。", False, id="example-member-story"),
        pytest.param("我带领全体党员同志积极参与社区服务。", False, id="group-comrades"),
        pytest.param("我虚心向王明同志请教群众工作方法。", False, id="comrade-as-object"),
        pytest.param("我经常关心他们的学习和生活。", False, id="they"),
        pytest.param("我引导党员学习“他山之石”的做法。", False, id="quoted"),
        pytest.param("我注意听取其他支部的意见，尊重他人。", False, id="qita-taren"),
    ],
)
def test_third_person_passage(passage: str, flagged: bool) -> None:
    draft = _draft(f"\n{passage}")
    found = [f for f in _findings(draft, "voice") if f.evidence]
    assert bool(found) is flagged, found
    if flagged:
        assert found[0].evidence == passage and "第一人称" in found[0].message


def test_third_person_is_flagged_beside_first_person_passages() -> None:
    draft = _draft("\n我坚持带头学习。\n李某同志始终坚持带头学习，他还经常走访群众。")
    voice = _findings(draft, "voice")
    assert len(voice) == 1 and voice[0].evidence.startswith("李某同志")
    assert "李某同志" in voice[0].message and "他" in voice[0].message


@pytest.mark.parametrize(
    "notes_text, flagged",
    [
        pytest.param(NOTES.replace("本人：支部书记 李某\n", "") + "- 社区党支部书记周文华，带头走访\n", True,
                     id="name-after-role-in-notes"),
        pytest.param(NOTES + "- 老党员周文华捐书200册\n", False, id="name-of-another-member"),
    ],
)
def test_writer_named_in_the_notes(notes_text: str, flagged: bool) -> None:
    draft = _draft("\n周文华同志坚持每周走访困难党员。")
    found = [f for f in _findings(draft, "voice", notes_text) if f.evidence]
    assert bool(found) is flagged


def test_third_person_outside_the_body_is_not_checked() -> None:
    draft = _draft("").replace(CLOSING, "\n\n以上是李明同志的述职报告，请批评指正。\n")
    assert [f for f in _findings(draft, "voice") if f.evidence] == []


# ---------------------------------------------------------------- 5. 提法规范
@pytest.mark.parametrize(
    "wrong_sentence, found, right",
    [
        pytest.param("我认真学习习总书记重要讲话。", "习总书记", "习近平总书记", id="xi-title"),
        pytest.param("坚决贯彻党中央国务院决策部署。", "党中央国务院", "党中央、国务院", id="dunhao"),
        pytest.param("坚决贯彻中共中央国务院有关要求。", "中共中央国务院", "中共中央、国务院", id="dunhao-zhonggong"),
        pytest.param("传达学习二十届三中全会会议精神。", "全会会议精神", "全会精神", id="plenum-huiyi"),
        pytest.param("深入学习党的二十大会议精神。", "党的二十大会议精神", "党的二十大精神", id="congress-huiyi"),
        pytest.param("以习近平新时代中国特色思想为指导。", "习近平新时代中国特色思想",
                     "习近平新时代中国特色社会主义思想", id="thought-truncated"),
        pytest.param("用新时代习近平中国特色社会主义思想武装头脑。", "新时代习近平中国特色社会主义思想",
                     "习近平新时代中国特色社会主义思想", id="thought-reordered"),
        pytest.param("学习习近平中国特色社会主义思想。", "习近平中国特色社会主义思想",
                     "习近平新时代中国特色社会主义思想", id="thought-no-xinshidai"),
        pytest.param("学习习近平新时代特色社会主义思想。", "习近平新时代特色社会主义思想",
                     "习近平新时代中国特色社会主义思想", id="thought-no-zhongguo"),
        pytest.param("坚持以新时代中国特色社会主义思想为指导。", "新时代中国特色社会主义思想",
                     "习近平新时代中国特色社会主义思想", id="thought-no-xi"),
        pytest.param("增强政治意识、核心意识、大局意识、看齐意识。", "政治意识、核心意识、大局意识、看齐意识",
                     "政治意识、大局意识、核心意识、看齐意识", id="four-consciousness-order"),
        pytest.param("坚定道路自信、制度自信、理论自信、文化自信。", "道路自信、制度自信、理论自信、文化自信",
                     "道路自信、理论自信、制度自信、文化自信", id="four-confidence-order"),
        pytest.param("引导党员坚定“四个意识”。", "坚定“四个意识", "增强“四个意识", id="verb-consciousness"),
        pytest.param("引导党员增强“四个自信”。", "增强“四个自信", "坚定“四个自信", id="verb-confidence"),
        pytest.param("引导党员增强“两个维护”。", "增强“两个维护", "做到“两个维护", id="verb-two-upholds"),
        pytest.param("深刻领悟“两个确定”的意义。", "两个确定", "两个确立", id="two-establishments-word"),
        pytest.param("深刻领悟“两个确立”的重大意义。", "两个确立”的重大意义", "两个确立”的决定性意义",
                     id="two-establishments-meaning"),
    ],
)
def test_formulation_is_caught(wrong_sentence: str, found: str, right: str) -> None:
    findings = _findings(_draft(wrong_sentence), "formulation")
    assert len(findings) == 1, findings
    f = findings[0]
    assert f.message.startswith(f"“{found}”应写作“{right}”") and "依据：" in f.message
    assert f.severity == "warn" and found in f.evidence


@pytest.mark.parametrize(
    "right_sentence",
    [
        pytest.param("我认真学习习近平总书记重要讲话。", id="xi-title"),
        pytest.param("坚决贯彻党中央、国务院决策部署。", id="dunhao"),
        pytest.param("传达学习二十届三中全会精神和党的二十大精神。", id="jingshen"),
        pytest.param("坚持以习近平新时代中国特色社会主义思想为指导。", id="thought"),
        pytest.param("学习习近平同志新时代中国特色社会主义思想的原创性贡献。", id="thought-tongzhi"),
        pytest.param("推进新时代中国特色社会主义事业。", id="xinshidai-shiye"),
        pytest.param("增强政治意识、大局意识、核心意识、看齐意识。", id="four-consciousness"),
        pytest.param("坚定道路自信、理论自信、制度自信、文化自信。", id="four-confidence"),
        pytest.param("增强“四个意识”、坚定“四个自信”、做到“两个维护”。", id="verbs"),
        pytest.param("树牢“四个意识”，坚决做到“两个维护”。", id="shulao"),
        pytest.param("深刻领悟“两个确立”的决定性意义。", id="two-establishments"),
    ],
)
def test_correct_formulation_is_not_caught(right_sentence: str) -> None:
    assert _findings(_draft(right_sentence), "formulation") == []


def test_formulation_check_has_a_chinese_name() -> None:
    report = run_checks(_draft("我认真学习习总书记重要讲话。"), parse_notes(NOTES))
    assert "[提法规范] “习总书记”应写作“习近平总书记”" in format_report_zh(report)


# ---------------------------------------------------------------- 2. placeholders: in the notes, in the draft
PLACEHOLDER_NOTES = NOTES + "- 今年新发展入党积极分子X名\n"


@pytest.mark.parametrize(
    "sentence, status",
    [
        pytest.param("新发展入党积极分子〔X〕名。", "found", id="placeholder-kept"),
        pytest.param("新发展入党积极分子XX名。", "found", id="placeholder-kept-raw"),
        pytest.param("新发展入党积极分子4名。", "found", id="placeholder-filled"),
        pytest.param("", "missing", id="fact-dropped"),
    ],
)
def test_placeholder_fact_is_in_the_ledger(sentence: str, status: str) -> None:
    report = run_checks(_draft(sentence), parse_notes(PLACEHOLDER_NOTES))
    entries = [e for e in report.ledger if e.placeholder]
    assert [(e.figure_raw, e.status) for e in entries] == [("〔X〕名", status)]
    dropped = [f for f in report.findings if f.check == "ledger" and "〔X〕名" in f.message]
    assert bool(dropped) is (status == "missing")
    assert not report.blocking
    filled = [i for i in report.invented if i.fills_placeholder]
    assert [i.raw for i in filled] == (["4名"] if "4名" in sentence else [])
    assert [i.raw for i in report.invented if not i.fills_placeholder] == []
    messages = [f.message for f in report.findings if f.check == "invented_figure"]
    assert all("编造" not in m and "占位符" in m for m in messages)


@pytest.mark.parametrize(
    "sentence, flagged",
    [
        pytest.param("新增党员示范岗×个。", True, id="single-times"),
        pytest.param("开展结对帮扶若干次。", True, id="ruogan-count"),
        pytest.param("在某镇党委指导下开展共建。", True, id="mou-org"),
        pytest.param("某某同志带头认领微心愿。", True, id="moumou-comrade"),
        pytest.param("认真学习《关于新形势下党内政治生活的若干准则》。", False, id="ruogan-in-title"),
        pytest.param("党员李某主动报名志愿服务。", False, id="anonymised-surname"),
        pytest.param("推广3×3网格管理法。", False, id="multiplication"),
    ],
)
def test_exemplar_placeholders_in_a_draft(sentence: str, flagged: bool) -> None:
    report = run_checks(_draft(sentence), parse_notes(NOTES))
    assert bool([f for f in report.findings if f.check == "placeholder"]) is flagged
    assert [i.raw for i in report.invented if "×" in i.context or "若干" in i.context] == []


@pytest.mark.parametrize(
    "genre, passage, hits",
    [
        pytest.param("shuzhi", "该同志坚持原则，她敢于较真。", ["该同志", "她"], id="shuzhi"),
        pytest.param("duizhao", "该同志学习不够深入，他对自己要求不严。", ["该同志", "他"], id="duizhao"),
        pytest.param("duizhao", "我对自己要求不严，对身边同志提醒不够。", [], id="duizhao-first-person"),
    ],
)
def test_third_person_rules_are_the_genres(genre: str, passage: str, hits: list[str]) -> None:
    from shuzhi.checks.voice import third_person_hits
    from shuzhi.genre import resolve

    assert third_person_hits(passage, resolve(genre)) == hits


def test_every_finding_of_a_faulty_draft_has_a_chinese_name_and_advice() -> None:
    from pathlib import Path

    from shuzhi.checks.report import check_name_zh

    case = Path(__file__).parent / "data" / "fidelity" / "case_01"
    report = run_checks((case / "faulty.md").read_text(encoding="utf-8"),
                        parse_notes((case / "notes.md").read_text(encoding="utf-8")))
    checks = {f.check for f in report.findings}
    assert {"invented_figure", "unsourced_name", "no_matching_measure"} <= checks
    for f in report.findings:
        assert check_name_zh(f.check) != f.check, f.check
        if f.severity != "info":  # an info line says what was skipped, not what to do
            assert "请" in f.message, f.message
