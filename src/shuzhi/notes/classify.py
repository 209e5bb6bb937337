"""Note → section kind by similarity: the kinds of the nearest corpus passages vote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..genre import Genre, resolve

if TYPE_CHECKING:
    from ..index.search import CorpusIndex


def similarity_classifier(index: CorpusIndex, genre: Genre | None = None) -> Callable[[str], tuple[str, float]]:
    """Note → (section kind, confidence) by the kinds of the nearest corpus chunks.

    Only the genre's body kinds vote, and only those whose passages the genre may take from the
    corpus (a genre without corpus, `corpus: false`, gets no vote: confidence 0).
    """
    g = resolve(genre)
    body_kinds = tuple(k for k in g.body_kinds if g.borrows(k))
    fallback = g.default_note_kind

    def classify(text: str) -> tuple[str, float]:
        if not body_kinds:
            return fallback, 0.0
        hits = index.search(text, k=5, diverse=False)
        votes: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            if hit.chunk.kind in body_kinds:
                votes[hit.chunk.kind] = votes.get(hit.chunk.kind, 0.0) + 1.0 / (rank + 1)
        if not votes:
            return fallback, 0.0
        kind = max(votes, key=lambda kd: votes[kd])
        return kind, votes[kind] / sum(votes.values())

    return classify
