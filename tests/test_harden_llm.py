"""Issue 9, faulty endpoints: stuck streams, cut, oversized, malformed and empty answers against the real stub.

Every fault ends in bounded time with a precise Chinese message (never 程序内部出错, never a traceback), a
non-zero exit code, and the finished sections saved and reported complete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO, run_cli
from llm_stub import DEFAULT_REPLY, StubLLMServer

from shuzhi.config import Settings
from shuzhi.errors import LLMError
from shuzhi.llm import ChatClient, LLMConfig, require_llm

NOTES = REPO / "examples" / "notes_jiguan_2024.md"
WEAK = REPO / "examples" / "weak_problems_1.md"
TARGET = "下一步"  # the section the fault hits (its prompt's "现在起草的部分：" line names it)
IDLE_S, DEADLINE_S = 2.0, 4.0
SLACK_S = 40.0  # the rest of a draft on a busy 2-core machine: the index, the other sections, the checks
CAP = 2000
INTERNAL = "程序内部出错"
MESSAGES = [{"role": "user", "content": "写一段开头。"}]


def _section_line(body: dict[str, Any]) -> str:
    prompt = str(body["messages"][-1]["content"])
    return prompt.split("现在起草的部分：", 1)[1].splitlines()[0] if "现在起草的部分：" in prompt else ""


class OnlyTarget:
    """fault_for: FAULT for the target section's requests, whose arrival times it records."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.times: list[float] = []

    def __call__(self, body: dict[str, Any]) -> str | None:
        if TARGET not in _section_line(body):
            return None
        self.times.append(time.monotonic())
        return self.fault


def _bounded_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHUZHI_STREAM_IDLE_TIMEOUT_S", str(IDLE_S))
    monkeypatch.setenv("SHUZHI_SECTION_DEADLINE_S", str(DEADLINE_S))
    monkeypatch.setenv("SHUZHI_MAX_ANSWER_CHARS", str(CAP))


def _config(stub: StubLLMServer, **overrides: Any) -> LLMConfig:
    values: dict[str, Any] = dict(base_url=stub.base_url, model="stub-model", api_key="k" * 12, timeout_s=30.0,
                                  max_retries=2, retry_base_delay_s=0.01, retry_max_delay_s=0.05,
                                  stream_idle_timeout_s=1.0, section_deadline_s=2.5, max_answer_chars=CAP)
    values.update(overrides)
    return LLMConfig(**values)


def _llm_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "shuzhi-llm" and t.is_alive()]


def _wait_no_llm_threads(seconds: float = 3.0) -> list[threading.Thread]:
    until = time.monotonic() + seconds
    while _llm_threads() and time.monotonic() < until:
        time.sleep(0.05)
    return _llm_threads()


@pytest.fixture
def stub_factory() -> Iterator[Any]:
    servers: list[StubLLMServer] = []

    def make(**kwargs: Any) -> StubLLMServer:
        server = StubLLMServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


# ------------------------------------------------------------------ the client, fault by fault
CLIENT_FAULTS = [
    # (fault, streamed, code, words of the message, text kept?)
    pytest.param("keepalive_forever", True, "deadline", "本节生成超时（超过 2.5 秒", False, id="keepalive-stream"),
    pytest.param("keepalive_forever", False, "deadline", "本节生成超时（超过 2.5 秒", False, id="keepalive-plain"),
    pytest.param("idle_mid_stream", True, "stream_idle", "连续 1 秒没有输出新内容", True, id="idle-mid-stream"),
    pytest.param("slow_tokens", True, "deadline", "已保留收到的部分内容", True, id="slow-tokens-past-deadline"),
    pytest.param("finish_length", True, "truncated", "达到模型输出长度上限被截断", True, id="length-stream"),
    pytest.param("finish_length", False, "truncated", "达到模型输出长度上限被截断", True, id="length-plain"),
    pytest.param("huge", True, "too_long", f"超过了 {CAP} 字的上限", True, id="huge-stream"),
    pytest.param("huge", False, "too_long", f"超过了 {CAP} 字的上限", True, id="huge-plain"),
    pytest.param("malformed_json", True, "malformed", "无法解析", False, id="malformed-stream"),
    pytest.param("malformed_json", False, "malformed", "无法解析", False, id="malformed-plain"),
    pytest.param("html", True, "malformed", "网页（HTML）", False, id="html-stream"),
    pytest.param("html", False, "malformed", "网页（HTML）", False, id="html-plain"),
    pytest.param("empty_choices", True, "empty_answer", "空回答", False, id="no-choices-stream"),
    pytest.param("empty_choices", False, "empty_answer", "空回答", False, id="no-choices-plain"),
    pytest.param("empty_content", True, "empty_answer", "空回答", False, id="empty-content-stream"),
    pytest.param("empty_content", False, "empty_answer", "空回答", False, id="empty-content-plain"),
]


@pytest.mark.parametrize(("fault", "streamed", "code", "shown", "kept"), CLIENT_FAULTS)
def test_16_faulty_answers_16_precise_errors_within_the_deadline(
        stub_factory: Any, fault: str, streamed: bool, code: str, shown: str, kept: bool) -> None:
    """16 faulty answers (8 kinds, streamed and plain): 16 distinct codes and Chinese messages, each within
    the deadline + 2 s, no request thread left behind while the server still keeps the answer going."""
    stub = stub_factory(huge_chars=50_000)
    stub.faults.extend([fault] * 3)
    tokens: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ChatClient(_config(stub)).complete(MESSAGES, on_token=tokens.append if streamed else None)
    elapsed = time.monotonic() - started
    err = info.value
    assert elapsed < 2.5 + 2.0  # the deadline + slack
    assert err.code == code, err.detail
    assert shown in err.user_message and INTERNAL not in err.user_message
    assert bool(err.partial) is kept
    if streamed:
        assert err.partial == "".join(tokens)  # what was shown is what is kept, nothing more
    if code == "too_long":
        assert len(err.partial) == CAP
    assert not _wait_no_llm_threads()  # the blocked read was ended from the waiting side


MALFORMED_BODIES = [
    pytest.param(b'{"id": "x", "choices": [{"index": 0, "message": {', id="cut-json"),
    pytest.param(b'{"choices": [{"index": 0, "message": null, "finish_reason": "stop"}]}', id="null-message"),
    pytest.param(b'{"choices": [{"index": 0}]}', id="choice-without-message"),
    pytest.param(b'{"choices": "x"}', id="choices-a-string"),
    pytest.param(b'{"choices": null}', id="choices-null"),
    pytest.param(b"[1, 2]", id="json-array"),
    pytest.param(b"", id="empty-body"),
    pytest.param(b"\xff\xfe not utf-8", id="binary-body"),
]


@pytest.mark.parametrize("body", MALFORMED_BODIES)
@pytest.mark.parametrize("streamed", [False, True], ids=["plain", "stream"])
def test_8_malformed_answers_8_precise_messages_0_tracebacks(stub_factory: Any, body: bytes, streamed: bool) -> None:
    """8 malformed bodies (200, application/json), plain and streamed: 16 times code "malformed" and the hint to
    check OPENAI_BASE_URL, never the generic 模型调用失败 (AttributeError and friends included), one request each."""
    stub = stub_factory(malformed_body=body)
    stub.faults.append("malformed_json")
    with pytest.raises(LLMError) as info:
        ChatClient(_config(stub)).complete(MESSAGES, on_token=(lambda _: None) if streamed else None)
    assert info.value.code == "malformed", info.value.detail
    assert "无法解析" in info.value.user_message and "OPENAI_BASE_URL" in info.value.user_message
    assert "模型调用失败" not in info.value.user_message
    assert stub.chat_count == 1


def test_keepalive_stream_retries_while_time_is_left_then_meets_the_deadline(stub_factory: Any) -> None:
    """Keep-alives only, idle 1 s, deadline 2.5 s: the idle attempts are retried (3 requests, the retry
    notices heard), the call ends at 2.5 s + 2 s at most, naming the deadline and the idle stream."""
    stub = stub_factory(faults=["keepalive_forever"] * 5)
    notices: list[str] = []
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ChatClient(_config(stub)).complete(MESSAGES, on_token=lambda _: None,
                                            on_retry=lambda n, wait, message: notices.append(message))
    assert time.monotonic() - started < 2.5 + 2.0
    assert info.value.code == "deadline"
    assert "SHUZHI_SECTION_DEADLINE_S" in info.value.user_message
    assert "没有输出任何内容" in info.value.user_message  # why the earlier attempts failed
    assert stub.chat_count == 3 and len(notices) == 2


def test_deadline_covers_back_offs_a_long_retry_after_ends_the_call_at_once(stub_factory: Any) -> None:
    """429 with Retry-After 120 (capped at 30 s) against a 2.5 s deadline: no 30 s wait is started; the call
    fails at once (1 request, < 2 s) with the deadline message naming the rate limit."""
    stub = stub_factory(faults=["429_long"] * 3)
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ChatClient(_config(stub, retry_max_delay_s=30.0)).complete(MESSAGES)
    assert time.monotonic() - started < 2.0
    assert info.value.code == "deadline" and "限流" in info.value.user_message
    assert stub.chat_count == 1


def test_stop_event_ends_a_stuck_stream_within_2_s(stub_factory: Any) -> None:
    """A stream of keep-alives with the idle check off and no deadline: setting STOP after 0.5 s ends it within 2 s more
    (code "cancelled"), and its request thread is gone."""
    stub = stub_factory(faults=["keepalive_forever"])
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    with pytest.raises(LLMError) as info:
        ChatClient(_config(stub, stream_idle_timeout_s=0, section_deadline_s=0)).complete(
            MESSAGES, on_token=lambda _: None, stop=stop)
    assert time.monotonic() - started < 0.5 + 2.0
    assert info.value.code == "cancelled"
    assert not _wait_no_llm_threads()


def test_abort_from_another_thread_ends_every_call_in_flight(stub_factory: Any) -> None:
    """3 calls stuck on keep-alive streams (no idle check, no deadline): one abort() ends all 3 within 2 s; the
    client then answers normally."""
    stub = stub_factory(faults=["keepalive_forever"] * 3)
    client = ChatClient(_config(stub, stream_idle_timeout_s=0, section_deadline_s=0))
    codes: list[str] = []

    def call() -> None:
        try:
            client.complete(MESSAGES, on_token=lambda _: None)
        except LLMError as exc:
            codes.append(exc.code)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for t in threads:
        t.start()
    until = time.monotonic() + 5
    while stub.chat_count < 3 and time.monotonic() < until:
        time.sleep(0.05)
    started = time.monotonic()
    client.abort()
    for t in threads:
        t.join(timeout=2)
    assert time.monotonic() - started < 2.0
    assert codes == ["cancelled"] * 3
    assert client.complete(MESSAGES, on_token=lambda _: None) == DEFAULT_REPLY


def test_settings_reach_the_bounds(monkeypatch: pytest.MonkeyPatch, stub_factory: Any) -> None:
    """SHUZHI_STREAM_IDLE_TIMEOUT_S / SHUZHI_SECTION_DEADLINE_S / SHUZHI_MAX_ANSWER_CHARS reach the client;
    the defaults are 60 s, 300 s and 20000 characters."""
    stub = stub_factory()
    monkeypatch.setenv("OPENAI_BASE_URL", stub.base_url)
    monkeypatch.setenv("SHUZHI_MODEL", "stub-model")
    defaults = require_llm(Settings()).config
    assert (defaults.stream_idle_timeout_s, defaults.section_deadline_s, defaults.max_answer_chars) == (60, 300, 20000)
    _bounded_env(monkeypatch)
    config = require_llm(Settings()).config
    assert (config.stream_idle_timeout_s, config.section_deadline_s, config.max_answer_chars) == (IDLE_S, DEADLINE_S, CAP)


# ------------------------------------------------------------------ through the CLI: draft
DRAFT_FAULTS = [
    # (fault, words of the failed section's message, text kept for it?)
    pytest.param("keepalive_forever", f"本节生成超时（超过 {DEADLINE_S:g} 秒", False, id="keepalive-forever"),
    pytest.param("idle_mid_stream", f"连续 {IDLE_S:g} 秒没有输出新内容", True, id="idle-mid-stream"),
    pytest.param("slow_tokens", "已保留收到的部分内容", True, id="slow-tokens-past-deadline"),
    pytest.param("finish_length", "本节因达到模型输出长度上限被截断，内容可能不完整", True, id="finish-length"),
    pytest.param("huge", f"超过了 {CAP} 字的上限", True, id="huge-1MB"),
    pytest.param("malformed_json", "无法解析", False, id="malformed-json"),
    pytest.param("html", "网页（HTML）", False, id="html-page"),
    pytest.param("empty_choices", "空回答", False, id="empty-choices"),
    pytest.param("empty_content", "空回答", False, id="empty-content"),
]


@pytest.mark.parametrize(("fault", "shown", "kept"), DRAFT_FAULTS)
def test_draft_9_faults_on_one_section_9_precise_messages_other_sections_saved_complete(
        own_index: Path, llm_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        fault: str, shown: str, kept: bool) -> None:
    """9 faults, each on the section 下一步 only (idle 2 s, deadline 4 s, cap 2000): `draft --json` exits 2
    within the deadline + slack (that section's retries all within 4 s), that one section failed (incomplete) with its own Chinese message and the
    text kept only where some came, every other section saved and reported complete; no 程序内部出错."""
    _bounded_env(monkeypatch)
    target = OnlyTarget(fault)
    with StubLLMServer(fault_for=target) as stub:
        llm_env(stub)
        started = time.monotonic()
        code, stdout, stderr = run_cli(capsys, "draft", str(NOTES), "--json")
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + SLACK_S
    assert target.times and target.times[-1] - target.times[0] < DEADLINE_S  # every retry inside the deadline
    assert code == 2 and INTERNAL not in stderr and "Traceback" not in stderr
    result = json.loads(stdout)
    failed = [s for s in result["sections"] if s["error"]]
    done = [s for s in result["sections"] if not s["error"]]
    assert [s["key"] for s in failed] == ["next_steps"], [(s["key"], s["error"]) for s in failed]
    (section,) = failed
    assert shown in section["error"] and section["complete"] is False
    assert bool(section["text"]) is kept
    if fault == "huge":
        assert len(section["text"]) <= CAP
    assert len(done) >= 8 and all(s["complete"] and s["text"] for s in done)
    assert f"已完成的 {len(done)} 节已保留并保存" in result["message"]
    if not kept:
        assert "保留了已生成的部分" not in result["message"]  # nothing came: no claim that something was kept
    _, shown_json, _ = run_cli(capsys, "sessions", "show", result["session_id"], "--json")
    saved = {s["key"]: s for s in json.loads(shown_json)["sections"]}
    assert all(saved[s["key"]]["complete"] and saved[s["key"]]["text"] == s["text"] for s in done)
    assert not saved["next_steps"]["complete"]


# ------------------------------------------------------------------ through the CLI: rewrite
REWRITE_FAULTS = [
    pytest.param("keepalive_forever", f"本节生成超时（超过 {DEADLINE_S:g} 秒", id="keepalive-forever"),
    pytest.param("finish_length", "达到模型输出长度上限被截断", id="finish-length"),
    pytest.param("huge", f"超过了 {CAP} 字的上限", id="huge-1MB"),
    pytest.param("malformed_json", "无法解析", id="malformed-json"),
    pytest.param("html", "网页（HTML）", id="html-page"),
    pytest.param("empty_choices", "空回答", id="empty-choices"),
    pytest.param("empty_content", "空回答", id="empty-content"),
]


@pytest.mark.parametrize(("fault", "shown"), REWRITE_FAULTS)
def test_rewrite_7_faults_7_precise_messages_exit_2(use_built_index: Path, llm_env: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str],
                                                    fault: str, shown: str) -> None:
    """7 faulty answers to `rewrite --json`: exit 2 (never 0 with an empty rewrite), the error names the fault in
    Chinese, the diagnosis still comes, the original file is untouched, no 程序内部出错."""
    _bounded_env(monkeypatch)
    before = WEAK.read_bytes()
    with StubLLMServer(faults=[fault] * 4) as stub:
        llm_env(stub)
        started = time.monotonic()
        code, stdout, stderr = run_cli(capsys, "rewrite", str(WEAK), "--json")
        elapsed = time.monotonic() - started
    assert elapsed < DEADLINE_S + SLACK_S
    assert code == 2 and INTERNAL not in stderr and "Traceback" not in stderr
    result = json.loads(stdout)
    assert shown in result["error"], result["error"]
    assert result["diagnosis"]
    assert WEAK.read_bytes() == before


# ------------------------------------------------------------------ Ctrl-C on a stuck stream
def _ctrl_c_as_at_a_terminal() -> None:
    """A shell that starts a command in the background (`cmd &` in a script, as a CI runner may) starts it
    with SIGINT ignored, and Python then keeps it ignored: Ctrl-C would never reach the draft. A user at a
    terminal runs `shuzhi draft` in the foreground, where SIGINT has its default action; the child is put
    back there before it starts, whatever way the tests themselves were launched."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_a_stuck_stream_exits_within_5_s_and_keeps_the_finished_sections(
        own_index: Path, llm_env: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`shuzhi draft` in a real process, one section stuck on keep-alives (no idle check, no deadline): SIGINT
    once every other section finished ends the process within 5 s with exit 130; the finished sections
    are saved and complete, the stuck one saved as interrupted."""
    monkeypatch.setenv("SHUZHI_STREAM_IDLE_TIMEOUT_S", "0")
    monkeypatch.setenv("SHUZHI_SECTION_DEADLINE_S", "0")
    with StubLLMServer(fault_for=OnlyTarget("keepalive_forever")) as stub:
        llm_env(stub)
        # faulthandler: a process that does not exit is sent SIGABRT below, and prints where each thread was.
        env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "PYTHONFAULTHANDLER": "1"}
        proc = subprocess.Popen([sys.executable, "-m", "shuzhi", "draft", str(NOTES)], env=env, cwd=str(own_index),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                preexec_fn=_ctrl_c_as_at_a_terminal)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr or ()), daemon=True)
        reader.start()
        try:
            until = time.monotonic() + 45
            while time.monotonic() < until and proc.poll() is None:
                stuck = [r for r in stub.chat_requests if TARGET in _section_line(r.body)]
                if stuck and sum(1 for line in list(lines) if line.startswith("✓")) >= 8:
                    break
                time.sleep(0.1)
            assert proc.poll() is None, "the draft ended by itself"
            assert sum(1 for line in list(lines) if line.startswith("✓")) >= 8
            proc.send_signal(signal.SIGINT)
            started = time.monotonic()
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGABRT)
                proc.wait(timeout=10)
                reader.join(timeout=5)
                pytest.fail("still running 5 s after Ctrl-C; its threads were:\n" + "".join(lines)[-6000:])
            assert time.monotonic() - started < 5
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        reader.join(timeout=2)
    assert code == 130
    assert "已中断" in "".join(lines) and INTERNAL not in "".join(lines) and "Traceback" not in "".join(lines)
    _, listed, _ = run_cli(capsys, "sessions", "--json")
    (session,) = json.loads(listed)
    _, shown_json, _ = run_cli(capsys, "sessions", "show", session["id"], "--json")
    saved = {s["key"]: s for s in json.loads(shown_json)["sections"]}
    complete = [k for k, s in saved.items() if s["complete"] and s["text"]]
    assert len(complete) >= 8 and "next_steps" not in complete
