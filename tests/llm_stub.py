"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests.

openai 3.x sends through `httpx2`, so respx / pytest-httpx cannot intercept it; a real
socket is the only honest fake. Usage:

    with StubLLMServer(responder=lambda body: "一年来……") as stub:
        stub.faults.extend(["429", "ok"])
        client = ChatClient(LLMConfig(base_url=stub.base_url, ...))
        ...
        assert stub.chat_count == 2

Faults (strings, consumed one per chat request, FIFO; "ok" = answer normally):
"429" (Retry-After: 0), "429_long" (Retry-After: 120), "500", "503", "401", "404_model", "content_filter", "content_filter_zhipu",
"context_too_long", "timeout", "broken_stream",
"html" (200 with a proxy's HTML page instead of JSON), "bad_sse" (a stream whose first data line is not JSON),
"finish_sensitive" (the answer, cut by Zhipu's review: finish_reason "sensitive").
Hangs and oversized or empty answers (each streamed or plain, as the request asks):
"keepalive_forever" (a stream of SSE keep-alive comments and empty lines, never a token; a plain answer:
JSON whitespace, never a body), "idle_mid_stream" (a few tokens, then silence), "slow_tokens" (one token every
`slow_token_s`, each gap filled with keep-alives), "finish_length" (the answer, finish_reason "length"),
"huge" (`huge_chars` characters, 1 MB by default), "malformed_json" (200 application/json that is not JSON, or
whatever `malformed_body` holds),
"empty_choices" (`choices: []`), "empty_content" (content "", finish_reason "stop").
Every endless answer ends when the client hangs up or the server stops (no handler thread outlives `stop`).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_REPLY = "一年来，支部坚持以政治建设为统领，扎实推进各项工作，基层组织建设取得新进展，党员队伍整体素质不断提升。"

FAULT_KINDS = frozenset(
    {
        "ok",
        "429",
        "429_long",
        "500",
        "503",
        "401",
        "404_model",
        "content_filter",
        "content_filter_zhipu",
        "context_too_long",
        "timeout",
        "broken_stream",
        "html",
        "bad_sse",
        "finish_sensitive",
        "keepalive_forever",
        "idle_mid_stream",
        "slow_tokens",
        "finish_length",
        "huge",
        "malformed_json",
        "empty_choices",
        "empty_content",
    }
)
# Faults answered by `_Handler._hang`: they never end by themselves.
ENDLESS_FAULTS = frozenset({"keepalive_forever", "idle_mid_stream", "slow_tokens"})
MALFORMED_JSON_BODY = b'{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "message": {'
HUGE_CHARS = 1_000_000

Responder = Callable[[dict[str, Any]], str]
FaultChooser = Callable[[dict[str, Any]], "str | None"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any] = field(default_factory=dict)


def _error_body(message: str, code: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code}}


def _fault_response(kind: str, model: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, JSON body, extra headers) for the faults that are a single error answer."""
    if kind == "429":
        # Retry-After: 0 keeps the tests fast while still exercising the header path.
        return 429, _error_body("Rate limit reached", "rate_limit_exceeded", "rate_limit_error"), {"Retry-After": "0"}
    if kind == "429_long":  # only for clients whose sleep is injected: the wait is recorded, not taken
        return 429, _error_body("Rate limit reached", "rate_limit_exceeded", "rate_limit_error"), {"Retry-After": "120"}
    if kind in ("500", "503"):
        return int(kind), _error_body("The server had an error", "server_error", "server_error"), {}
    if kind == "401":
        return 401, _error_body("Incorrect API key", "invalid_api_key"), {}
    if kind == "404_model":
        return 404, _error_body(f"The model `{model}` does not exist", "model_not_found"), {}
    if kind == "content_filter":
        # DashScope (Qwen) compatible mode.
        return 400, _error_body(
            "Input data may contain inappropriate content.", "data_inspection_failed", "data_inspection_failed"
        ), {}
    if kind == "content_filter_zhipu":
        return 400, _error_body("系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。", "1301"), {}
    if kind == "context_too_long":
        return 400, _error_body(
            "This model's maximum context length is 8192 tokens.", "context_length_exceeded"
        ), {}
    return 500, _error_body(f"stub: unknown fault {kind!r}", "stub_error", "server_error"), {}


def split_tokens(text: str, size: int) -> list[str]:
    """How the stub cuts a reply into stream deltas (tests use it to predict partial text)."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    stub: StubLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients dropping idle keep-alive connections (or time-outs) are normal here, not test noise.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streams, like real endpoints
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature is the stdlib's
        pass

    def setup(self) -> None:
        super().setup()
        self.server.stub._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        self.server.stub._track(self.connection, add=False)

    # ------------------------------------------------------------ routing
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        stub = self.server.stub
        stub._record(RecordedRequest("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
        if self.path.rstrip("/") == "/v1/models":
            data = [{"id": m, "object": "model", "created": 0, "owned_by": "stub"} for m in stub.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_json(404, _error_body(f"no route {self.path}", "not_found"))

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            body = {}
        stub._record(RecordedRequest("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, _error_body(f"no route {self.path}", "not_found"))
            return
        stub._enter()
        try:
            self._chat(stub, body)
        finally:
            stub._leave()

    # ------------------------------------------------------------ chat
    def _chat(self, stub: StubLLMServer, body: dict[str, Any]) -> None:
        fault = stub._next_fault(body)
        model = str(body.get("model", ""))
        if fault == "timeout":
            stub._sleep(stub.timeout_sleep_s)
            fault = "ok"
        text = stub.responder(body)
        if fault == "huge":
            text = (text or DEFAULT_REPLY) * (stub.huge_chars // max(len(text or DEFAULT_REPLY), 1) + 1)
            text = text[: stub.huge_chars]
        finish = {"finish_sensitive": "sensitive", "finish_length": "length"}.get(fault, "stop")
        streamed = bool(body.get("stream"))
        try:
            if fault == "html":
                self._send_raw(200, "text/html; charset=utf-8", b"<html><body>Login required</body></html>")
            elif fault == "malformed_json":
                self._send_raw(200, "application/json; charset=utf-8", stub.malformed_body)
            elif fault == "bad_sse":
                self._send_bad_stream()
            elif fault in ENDLESS_FAULTS:
                self._hang(stub, fault, text, model, streamed)
            elif fault in ("empty_choices", "empty_content") and streamed:
                self._stream_empty(model, no_choices=fault == "empty_choices")
            elif fault in ("empty_choices", "empty_content"):
                payload = _completion("", model, body)
                if fault == "empty_choices":
                    payload["choices"] = []
                self._send_json(200, payload)
            elif fault in ("ok", "broken_stream", "finish_sensitive", "finish_length", "huge") and streamed:
                size = 1000 if fault == "huge" else stub.stream_chunk_chars
                self._stream(text, model, size, broken=fault == "broken_stream", finish=finish)
            elif fault in ("ok", "broken_stream", "finish_sensitive", "finish_length", "huge"):
                self._send_json(200, _completion(text, model, body, finish))
            else:
                status, payload, headers = _fault_response(fault, model)
                self._send_json(status, payload, headers)
        except OSError:
            self.close_connection = True  # the client hung up (mid-stream, or after its own time-out)

    def _hang(self, stub: StubLLMServer, fault: str, text: str, model: str, streamed: bool) -> None:
        """An answer that never ends: only the client hanging up or the server stopping ends it."""
        self.close_connection = True  # this connection is never reused: the answer never completed
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8" if streamed
                         else "application/json; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if not streamed:  # a plain answer whose body never comes: whitespace is valid JSON padding
            while not stub._sleep(stub.keepalive_interval_s):
                self._write_chunk(b" ")
            return
        cid = f"chatcmpl-stub-{time.monotonic_ns()}"
        self._sse(_chunk(cid, model, {"role": "assistant", "content": ""}, None))
        pieces = split_tokens(text, stub.stream_chunk_chars)
        if fault == "idle_mid_stream":
            for piece in pieces[:3]:
                self._sse(_chunk(cid, model, {"content": piece}, None))
            stub._sleep(float("inf"))  # silence: not a byte more until the server stops
            return
        n = 0
        while not stub._stopping.is_set():
            if fault == "slow_tokens":
                self._sse(_chunk(cid, model, {"content": pieces[n % len(pieces)]}, None))
                n += 1
                waited = 0.0
                while waited < stub.slow_token_s and not stub._sleep(stub.keepalive_interval_s):
                    self._write_chunk(b": keep-alive\n\n")
                    waited += stub.keepalive_interval_s
            else:
                self._write_chunk(b": keep-alive\n\n")
                self._write_chunk(b"\n")
                stub._sleep(stub.keepalive_interval_s)

    def _stream_empty(self, model: str, no_choices: bool) -> None:
        """A well-formed stream with nothing in it: chunks without choices, or only an empty delta."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cid = f"chatcmpl-stub-{time.monotonic_ns()}"
        if no_choices:
            self._sse({"id": cid, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
                       "choices": []})
        else:
            self._sse(_chunk(cid, model, {"role": "assistant", "content": ""}, None))
            self._sse(_chunk(cid, model, {}, "stop"))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _stream(self, text: str, model: str, size: int, broken: bool, finish: str = "stop") -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        cid = f"chatcmpl-stub-{time.monotonic_ns()}"
        self._sse(_chunk(cid, model, {"role": "assistant", "content": ""}, None))
        for n, piece in enumerate(split_tokens(text, size)):
            if broken and n == 2:
                # Abrupt close mid-body: no final chunk, no [DONE], no zero-length terminator.
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._sse(_chunk(cid, model, {"content": piece}, None))
        self._sse(_chunk(cid, model, {}, finish))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _send_bad_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._write_chunk(b"data: {not json\n\n")
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _send_raw(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _sse(self, payload: dict[str, Any]) -> None:
        self._write_chunk(f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode())

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True  # the client gave up (e.g. after its time-out)


def _chunk(cid: str, model: str, delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _completion(text: str, model: str, body: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    prompt_chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []) if isinstance(m, dict))
    return {
        "id": f"chatcmpl-stub-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_chars, "completion_tokens": len(text), "total_tokens": prompt_chars + len(text)},
    }


class StubLLMServer:
    """OpenAI-compatible chat endpoint with scripted faults and server-side concurrency counting."""

    def __init__(
        self,
        responder: Responder | None = None,
        *,
        faults: list[str] | None = None,
        fault_for: FaultChooser | None = None,
        hold_until_concurrent: int | None = None,
        hold_timeout_s: float = 5.0,
        timeout_sleep_s: float = 3.0,
        stream_chunk_chars: int = 4,
        keepalive_interval_s: float = 0.2,
        slow_token_s: float = 0.5,
        huge_chars: int = HUGE_CHARS,
        malformed_body: bytes = MALFORMED_JSON_BODY,
        models: tuple[str, ...] = ("stub-model",),
    ) -> None:
        self.responder: Responder = responder or (lambda body: DEFAULT_REPLY)
        self.faults: deque[str] = deque(faults or [])
        self.fault_for = fault_for
        self.hold_until_concurrent = hold_until_concurrent
        self.hold_timeout_s = hold_timeout_s
        self.timeout_sleep_s = timeout_sleep_s
        self.stream_chunk_chars = stream_chunk_chars
        self.keepalive_interval_s = keepalive_interval_s
        self.slow_token_s = slow_token_s
        self.huge_chars = huge_chars
        self.malformed_body = malformed_body  # what "malformed_json" answers (200, application/json)
        self.models = models
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> StubLLMServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="stub-llm", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        with self._cond:
            conns = list(self._connections)
        for conn in conns:  # keep-alive handler threads would otherwise linger on recv()
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._server.server_close()

    def __enter__(self) -> StubLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ inspection
    @property
    def chat_requests(self) -> list[RecordedRequest]:
        with self._cond:
            return [r for r in self.requests if r.path.rstrip("/").endswith("/chat/completions")]

    @property
    def chat_count(self) -> int:
        return len(self.chat_requests)

    def reset(self) -> None:
        with self._cond:
            self.requests.clear()
            self.faults.clear()
            self.max_in_flight = 0

    # ------------------------------------------------------------ used by the handler
    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, req: RecordedRequest) -> None:
        with self._cond:
            self.requests.append(req)

    def _next_fault(self, body: dict[str, Any]) -> str:
        with self._cond:
            queued = self.faults.popleft() if self.faults else None
        chosen = queued or (self.fault_for(body) if self.fault_for else None) or "ok"
        return chosen if chosen in FAULT_KINDS else f"unknown:{chosen}"

    def _enter(self) -> None:
        with self._cond:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self._cond.notify_all()
            hold = self.hold_until_concurrent
            if hold:
                # max_in_flight only grows, so once the target was reached every later request passes.
                self._cond.wait_for(
                    lambda: self.max_in_flight >= hold or self._stopping.is_set(), timeout=self.hold_timeout_s
                )

    def _leave(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def _sleep(self, seconds: float) -> bool:
        """Wait SECONDS (inf: until the server stops); True once the server is stopping."""
        return self._stopping.wait(timeout=None if seconds == float("inf") else seconds)
