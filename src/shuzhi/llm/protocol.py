"""The types the rest of shuzhi sees of the model seam: what a drafting call takes and gives back.

Callers (drafting, rewriting, the UI) depend on this shape only, not on LangChain: a test or a
library user can hand them anything with a matching `complete`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

# OpenAI-style chat messages, {"role": "system"|"user"|"assistant", "content": ...}.
Messages = list[dict[str, str]]
TokenCallback = Callable[[str], None]


class Completer(Protocol):
    """One chat call: the answer as text, streamed through `on_token` when given; raises LLMError."""

    def complete(self, messages: Messages, *, on_token: TokenCallback | None = None,
                 temperature: float | None = None) -> str: ...


@dataclass(frozen=True)
class ChatStats:
    calls: int = 0  # complete() / list_models() invocations
    attempts: int = 0  # requests sent to the model
    retries: int = 0  # attempts after the first, summed over calls
    failures: int = 0  # calls that ended in LLMError
