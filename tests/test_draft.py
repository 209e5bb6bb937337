"""Notes → draft through the real client and a real HTTP stub; faults keep finished work and notes."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from llm_stub import StubLLMServer

from shuzhi.config import Settings
from shuzhi.index.search import CorpusIndex

NOTES = Path(__file__).resolve().parent.parent / "examples" / "notes_jiguan_2024.md"
BODY_KINDS = {"achievements", "problems", "causes", "next_steps", "rectification"}
INVENTED = "开展谈心谈话56人次"
CORPUS_DIRT = ("〔X〕", "##paid", "QQ", "酷乐", "会员", "订阅", "禁止外传")
RAW_PLACEHOLDER = re.compile(r"(?<![A-Za-z])[xXＸ]{2,}(?![A-Za-z])|\*{2,}")


def _user_prompt(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def _facts_of(prompt: str) -> list[str]:
    block = prompt.split("本节事实", 1)[1].split("范文片段", 1)[0]
    return [line[2:].strip() for line in block.splitlines() if line.startswith("- ")]


def _exemplar_block(prompt: str) -> str:
    return prompt.split("范文片段（", 1)[1]


class FactEchoResponder:
    """Writes each section from its facts (as a model should) and invents one figure, once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.invented = False

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = _user_prompt(body)
        facts = [f for f in _facts_of(prompt) if not f.startswith("（")]
        text = "一是" + "；".join(facts) + "。" if facts else "以上是我的述职报告，请批评指正。"
        with self.lock:
            if not self.invented and "主要做法和成效" in prompt and facts:
                self.invented = True
                text += f"同时{INVENTED}，帮助党员解决实际困难。"
        return text


def _section_of(prompt: str) -> str:
    return prompt.split("现在起草的部分：", 1)[1].splitlines()[0]


@pytest.fixture
def notes_hash() -> str:
    return hashlib.sha256(NOTES.read_bytes()).hexdigest()


def test_draft_with_stub_grounds_every_section(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "draft.md"
    with StubLLMServer(responder=FactEchoResponder(), hold_until_concurrent=2) as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--json", "-o", str(out))
        assert code == 0
        result = json.loads(stdout)
        requests = stub.chat_requests
        assert stub.max_in_flight >= 2  # counted server-side: sections really run concurrently
    planned = [s for s in result["plan"]["sections"] if s["key"] != "achievements"]
    assert [s["key"] for s in result["sections"]] == [s["key"] for s in planned]
    assert all(s["text"] and not s["error"] for s in result["sections"])
    assert len(requests) == len(planned)

    index = CorpusIndex(Settings(data_dir=use_built_index))
    by_key = {s["key"]: s for s in result["sections"]}
    for plan_section in planned:
        if plan_section["kind"] not in BODY_KINDS:
            continue
        prompts = [_user_prompt(r.body) for r in requests
                   if all(note in _user_prompt(r.body) for note in plan_section["notes"])
                   and plan_section["heading"] in _section_of(_user_prompt(r.body))]
        assert prompts, f"no request carried the notes of {plan_section['key']}"
        prompt = prompts[0]
        exemplars = _exemplar_block(prompt)
        assert exemplars.count("【范文片段") >= 2
        for dirt in CORPUS_DIRT:
            assert dirt not in exemplars, (plan_section["key"], dirt)
        assert not RAW_PLACEHOLDER.search(prompt)
        cited = index.get_chunks(by_key[plan_section["key"]]["citations"])
        assert len(cited) >= 2 and {c.kind for c in cited} == {plan_section["kind"]}

    # The check proves the facts: the invented figure is flagged, every figure of the notes is accounted for.
    code, stdout, _ = run_cli(capsys, "check", str(out), "--notes", str(NOTES), "--json")
    assert code == 1
    check = json.loads(stdout)
    invented = [i for i in check["invented"] if "56" in json.dumps(i, ensure_ascii=False)]
    assert invented
    assert check["ledger"] and {e["status"] for e in check["ledger"]} <= {"found", "missing"}
    from shuzhi.figures import extract_figures

    note_text = NOTES.read_text(encoding="utf-8")
    ledger_raws = " ".join(e["figure_raw"] for e in check["ledger"])
    for fig in extract_figures(note_text):
        if fig.unit != "年":
            assert fig.raw in ledger_raws, fig.raw


def _run_with_faults(capsys: pytest.CaptureFixture[str], llm_env: Any, tmp_path: Path, stub: StubLLMServer,
                     **env: Any) -> tuple[int, dict[str, Any], str]:
    llm_env(stub, **env)
    code, stdout, stderr = run_cli(capsys, "draft", str(NOTES), "--json", "-o", str(tmp_path / "d.md"))
    return code, json.loads(stdout), stderr


def test_429_twice_then_success(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str], notes_hash: str) -> None:
    with StubLLMServer(faults=["429", "429"]) as stub:
        code, result, _ = _run_with_faults(capsys, llm_env, tmp_path, stub)
        assert stub.chat_count == len(result["sections"]) + 2
    assert code == 0
    assert all(s["complete"] and not s["error"] for s in result["sections"])
    assert hashlib.sha256(NOTES.read_bytes()).hexdigest() == notes_hash


def _only(kind_heading: str, fault: str) -> Any:
    def choose(body: dict[str, Any]) -> str | None:
        return fault if kind_heading in _section_of(_user_prompt(body)) else None

    return choose


@pytest.mark.parametrize(
    ("fault", "target", "expect", "env"),
    [
        pytest.param("500", "存在问题", "服务", {"max_retries": 2}, id="500-beyond-retries"),
        pytest.param("timeout", "下一步", "没有响应", {"timeout_s": 0.5, "max_retries": 0}, id="timeout"),
        pytest.param("broken_stream", "原因分析", "中断", {"max_retries": 0}, id="broken-stream"),
        pytest.param("content_filter", "原因分析", "内容审核", {}, id="content-filter-400"),
    ],
)
def test_fault_keeps_finished_sections(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str], notes_hash: str,
                                       fault: str, target: str, expect: str, env: dict[str, Any]) -> None:
    with StubLLMServer(fault_for=_only(target, fault)) as stub:
        code, result, stderr = _run_with_faults(capsys, llm_env, tmp_path, stub, **env)
    failed = [s for s in result["sections"] if s["error"]]
    done = [s for s in result["sections"] if not s["error"]]
    assert code == 2 and failed and done
    assert all(expect in s["error"] for s in failed), [s["error"] for s in failed]
    assert all(s["text"] for s in done)
    assert "未能生成" in result["message"] and "已保留" in result["message"]
    # The finished sections are in the exported draft and the saved session; the notes are untouched.
    draft_md = (tmp_path / "d.md").read_text(encoding="utf-8")
    assert all(s["text"][:10] in draft_md for s in done)
    _, shown, _ = run_cli(capsys, "sessions", "show", result["session_id"], "--json")
    saved = json.loads(shown)
    assert saved["notes"] == NOTES.read_text(encoding="utf-8")
    assert len([s for s in saved["sections"] if s["complete"]]) == len(done)
    assert hashlib.sha256(NOTES.read_bytes()).hexdigest() == notes_hash
    if fault == "broken_stream":
        assert all(s["text"] for s in failed)  # what streamed before the cut is kept


def test_draft_without_endpoint_prints_plan_and_exemplars(use_built_index: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, stderr = run_cli(capsys, "draft", str(NOTES))
    assert code == 0
    assert "未配置大模型" in stderr
    assert "主要做法和成效" in stdout and "发展党员2名" in stdout
    assert "参考范文" in stdout and ".txt" in stdout
    code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--json")
    data = json.loads(stdout)
    assert code == 0 and data["model_configured"] is False
    assert all(s["exemplars"] for s in data["sections"] if s["kind"] in BODY_KINDS)


def test_plan_only_and_edited_plan(use_built_index: Path, llm_env: Any, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan-only", "--json")
    assert code == 0
    plan = json.loads(stdout)
    kinds = [s["kind"] for s in plan["sections"]]
    assert kinds[0] == "opening" and kinds[-1] == "closing"
    assert 3 <= sum(1 for s in plan["sections"] if s["key"].startswith("achievements.")) <= 5
    # The user drops a sub-item and renames another; the draft follows the edited plan.
    plan["sections"] = [s for s in plan["sections"] if s["key"] != "achievements.3"]
    plan["sections"][2]["heading"] = "自拟的小标题"
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    with StubLLMServer() as stub:
        llm_env(stub)
        code, stdout, _ = run_cli(capsys, "draft", str(NOTES), "--plan", str(edited), "--json")
    result = json.loads(stdout)
    assert code == 0
    assert "achievements.3" not in [s["key"] for s in result["sections"]]
    assert "自拟的小标题" in result["markdown"]


def test_bad_plan_json_is_refused_in_chinese(use_built_index: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text('{"sections": [{"kind": "nonsense"}]}', encoding="utf-8")
    code, _, stderr = run_cli(capsys, "draft", str(NOTES), "--plan", str(bad))
    assert code == 2 and "无法识别" in stderr


def test_draft_docx_export(use_built_index: Path, llm_env: Any, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    import docx

    out = tmp_path / "report.docx"
    with StubLLMServer(responder=FactEchoResponder()) as stub:
        llm_env(stub)
        code, _, _ = run_cli(capsys, "draft", str(NOTES), "--docx", str(out), "-o", str(tmp_path / "r.md"))
    assert code == 0
    document = docx.Document(str(out))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "抓基层党建工作述职报告" in document.paragraphs[0].text
    assert "一、" in text and "发展党员2名" in text


def test_sanitise_exemplar_keeps_redactions_visible_and_drops_ads() -> None:
    from shuzhi.writing.exemplars import sanitise_exemplar

    text = sanitise_exemplar("先后主持召开〔X〕次会议，邀请〔X〕同志作报告。\n酷乐文行整理，咨询QQ206157060")
    # A redaction stays a redaction (never 若干/某, which read as facts; never the model's own 〔X〕 slot).
    assert text.startswith("先后主持召开××次会议，邀请××同志作报告。")
    assert "〔X〕" not in text and "若干" not in text and "某" not in text
    assert "QQ" not in text and "酷乐" not in text


def test_prompt_budget_drops_exemplars_not_facts(use_built_index: Path) -> None:
    from shuzhi.models import Plan, PlanSection
    from shuzhi.writing.draft import fit_exemplars
    from shuzhi.writing.exemplars import retrieve_for_section

    section = PlanSection(key="problems", kind="problems", heading="存在问题及原因",
                          notes=("理论学习有时候走过场，学用结合不够", "主题党日形式单一"))
    plan = Plan(title="2024年某支部书记抓基层党建工作述职报告", year=2024, org="某支部", sections=(section,))
    found = retrieve_for_section(CorpusIndex(Settings(data_dir=use_built_index)), section)
    assert len(found) == 3
    full = sum(len(c) for _, c in fit_exemplars(plan, section, found, 100_000)[1])
    kept, messages = fit_exemplars(plan, section, found, full - 1)
    assert 0 < len(kept) < 3 and kept == found[: len(kept)]
    kept, messages = fit_exemplars(plan, section, found, 10)
    assert kept == () and "主题党日形式单一" in messages[-1][1]


def test_exemplars_come_from_several_documents(use_built_index: Path) -> None:
    from shuzhi.models import PlanSection
    from shuzhi.writing.exemplars import retrieve_for_section

    index = CorpusIndex(Settings(data_dir=use_built_index))
    causes = PlanSection(key="causes", kind="causes", heading="分析存在上述问题的原因",
                         context=("理论学习有时候走过场", "主题党日形式单一"))
    hits = retrieve_for_section(index, causes)
    assert len(hits) == 3 and {h.chunk.kind for h in hits} == {"causes"}
    documents_with_causes = {c.doc_id for c in index.chunks(kind="causes")}
    assert len({h.chunk.doc_id for h in hits}) == min(3, len(documents_with_causes))
