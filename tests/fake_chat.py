"""LangChain pieces for tests, importable by name ("fake_chat:EchoChatModel": tests/ is on sys.path).

EchoChatModel stands for any non-OpenAI chat model a user plugs in with SHUZHI_CHAT_MODEL;
RecordingHandler for a callback handler named in SHUZHI_CALLBACKS.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler, CallbackManagerForLLMRun
from langchain_core.exceptions import (
    ModelAuthenticationError,
    ModelRateLimitError,
    ModelRefusalError,
    ModelTimeoutError,
)
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

FAULTS: dict[str, type[Exception]] = {
    "rate_limit": ModelRateLimitError,
    "timeout": ModelTimeoutError,
    "auth": ModelAuthenticationError,
    "refusal": ModelRefusalError,
    "boom": RuntimeError,
    "value": ValueError,
}


class EchoChatModel(BaseChatModel):
    """Answers `reply` (or echoes the last message), streamed in `chunk_chars` pieces.

    `faults` are consumed one per call (a key of FAULTS raises that exception); `break_after`
    cuts a stream with a ConnectionError after that many chunks.
    """

    reply: str = ""
    chunk_chars: int = 4
    temperature: float = 0.7
    faults: list[str] = []
    break_after: int = -1
    max_retries: int = 2  # like most provider models: shuzhi turns it to 0 unless configured
    calls: list[dict[str, Any]] = []  # what each call saw (shared with copies made for a temperature)

    @property
    def _llm_type(self) -> str:
        return "echo"

    def _answer(self, messages: list[BaseMessage]) -> str:
        self.calls.append({"temperature": self.temperature, "messages": [(m.type, m.text) for m in messages]})
        if self.faults:
            fault = self.faults.pop(0)
            raise FAULTS[fault](f"echo fault {fault}")
        return self.reply or str(messages[-1].text)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self._answer(messages)))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        text = self._answer(messages)
        for n, start in enumerate(range(0, len(text), self.chunk_chars)):
            if n == self.break_after:
                raise ConnectionError("echo stream cut")
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[start:start + self.chunk_chars]))


class RecordingHandler(BaseCallbackHandler):
    """Records starts and tokens; every instance is kept so a test can find the one settings built."""

    instances: ClassVar[list[RecordingHandler]] = []

    def __init__(self) -> None:
        self.starts = 0
        self.tokens: list[str] = []
        self.errors: list[BaseException] = []
        RecordingHandler.instances.append(self)

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], *, run_id: UUID, **kwargs: Any) -> None:
        self.starts += 1

    def on_llm_new_token(self, token: str, *, run_id: UUID, **kwargs: Any) -> None:
        if token:
            self.tokens.append(token)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.errors.append(error)


class NotAModel:
    """For the configuration test: importable, but no BaseChatModel."""
