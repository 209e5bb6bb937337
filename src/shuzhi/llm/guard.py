"""Bounds on one model request that httpx cannot give: an idle stream, a deadline, a stop from outside.

httpx's read time-out is inter-byte: a server that sends SSE keep-alive comments (`: keep-alive`)
resets it forever, and the openai SDK swallows those lines, so a loop over LangChain's chunks never
wakes up to look at the clock. So each request runs in a daemon thread of its own (`Attempt`) and
hands its chunks to the caller through a queue; the caller waits with a time-out, and when it gives
up it shuts down the socket of the response (found through the `watch_response` hook on the HTTP
client), which ends the blocked read at once with an error and lets the thread exit. A chat model
without that hook (any other LangChain model) is abandoned instead: its daemon thread is left to its
own time-out and never holds up the caller or the process's exit.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from typing import Any, Generic, TypeVar

log = logging.getLogger("shuzhi.llm")

T = TypeVar("T")

_local = threading.local()


class Event(Enum):
    ITEM = "item"  # one item the request produced
    END = "end"  # the request finished
    ERROR = "error"  # the request raised (the exception is the payload)


def watch_response(response: Any) -> None:
    """httpx response hook: tells the attempt running in this thread that its response has arrived.

    Runs in the thread that sent the request, before the body is read, so an attempt can be aborted
    while the body (a stream, or a plain answer that never comes) is still being waited for.
    """
    attempt = getattr(_local, "attempt", None)
    if isinstance(attempt, Attempt):
        attempt.opened(response)


def response_socket(response: Any) -> socket.socket | None:
    """The socket under an httpx response (httpcore's `network_stream` extension), when there is one."""
    extensions = getattr(response, "extensions", None)
    stream = extensions.get("network_stream") if isinstance(extensions, dict) else None
    get_info = getattr(stream, "get_extra_info", None)
    sock = get_info("socket") if callable(get_info) else None
    return sock if isinstance(sock, socket.socket) else None


class Attempt(Generic[T]):
    """One request to the model, run in a daemon thread; what it yields is read with `next(timeout)`.

    `abort()` may be called from any thread, at any time (before the response came, while a read is
    blocked, after the end): the socket is shut down so the blocked read fails, and the thread stops
    at its next item.
    """

    def __init__(self, produce: Callable[[], Iterable[T]], name: str = "shuzhi-llm") -> None:
        self._produce = produce
        self._events: queue.SimpleQueue[tuple[Event, Any]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._aborted = False
        self._finished = False
        self.response: Any = None  # the httpx response, once its headers arrived (openai route only)
        context = contextvars.copy_context()  # LangChain callbacks and tracing see the caller's context
        self._thread = threading.Thread(target=context.run, args=(self._run,), name=name, daemon=True)

    def start(self) -> Attempt[T]:
        self._thread.start()
        return self

    @property
    def content_type(self) -> str:
        """The response's Content-Type, lower-cased ("" before the headers came, or without the hook)."""
        headers = getattr(self.response, "headers", None)
        return str(headers.get("content-type", "")).lower() if headers is not None else ""

    def next(self, timeout: float | None) -> tuple[Event, Any]:
        """The next event; raises queue.Empty when nothing came within TIMEOUT seconds."""
        return self._events.get(timeout=timeout)

    def opened(self, response: Any) -> None:
        with self._lock:
            self.response = response
            aborted = self._aborted
        if aborted:  # aborted while the request was still on its way
            self._shut(response)

    def abort(self) -> None:
        """Stop the request now: shut its socket down (a blocked read returns), drop what it yields later."""
        with self._lock:
            if self._aborted or self._finished:
                self._aborted = True
                return
            self._aborted = True
            response = self.response
        if response is not None:
            self._shut(response)

    @staticmethod
    def _shut(response: Any) -> None:
        sock = response_socket(response)
        if sock is None:
            return
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the other side

    def _run(self) -> None:
        _local.attempt = self
        items: Iterator[T] | None = None
        try:
            items = iter(self._produce())
            for item in items:
                if self._aborted:
                    break
                self._events.put((Event.ITEM, item))
            self._events.put((Event.END, None))
        except BaseException as exc:  # handed to the caller, who decides; an aborted attempt's error is dropped
            self._events.put((Event.ERROR, exc))
            if self._aborted:
                log.debug("aborted model request ended with %s", type(exc).__name__)
        finally:
            close = getattr(items, "close", None)
            if callable(close):
                try:
                    close()  # releases the HTTP response in the thread that holds it
                except Exception:
                    log.debug("closing an aborted model stream failed", exc_info=True)
            with self._lock:
                self._finished = True
            _local.attempt = None
