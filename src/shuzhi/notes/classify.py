"""Note → section kind by similarity: the kinds of the nearest corpus passages vote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..index.search import CorpusIndex


def similarity_classifier(index: CorpusIndex) -> Callable[[str], tuple[str, float]]:
    """Note → (section kind, confidence) by the kinds of the nearest corpus chunks."""
    body_kinds = ("achievements", "problems", "causes", "next_steps", "rectification")

    def classify(text: str) -> tuple[str, float]:
        hits = index.search(text, k=5, diverse=False)
        votes: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            if hit.chunk.kind in body_kinds:
                votes[hit.chunk.kind] = votes.get(hit.chunk.kind, 0.0) + 1.0 / (rank + 1)
        if not votes:
            return "achievements", 0.0
        kind = max(votes, key=lambda kd: votes[kd])
        return kind, votes[kind] / sum(votes.values())

    return classify
