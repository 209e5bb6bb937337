"""Note → section kind by similarity: the kinds of the nearest corpus passages vote."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..genre import Genre, SectionKind, resolve
from ..models import SearchFilters

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


def similarity_themer(index: CorpusIndex, genre: Genre | None = None) -> Callable[[str], tuple[str, float]]:
    """Note → (theme, confidence) by the themes of the nearest corpus passages of the achievements kind.

    For notes whose words name no theme (themes.yaml): "" with confidence 0 when no passage has a theme
    or the genre takes nothing from the corpus.
    """
    g = resolve(genre)
    kind = g.first_like(SectionKind.ACHIEVEMENTS)

    def classify(text: str) -> tuple[str, float]:
        if kind is None or not g.borrows(kind):
            return "", 0.0
        hits = index.search(text, SearchFilters(kind=str(kind)), k=5, diverse=False)
        votes: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            if hit.chunk.theme:
                votes[hit.chunk.theme] = votes.get(hit.chunk.theme, 0.0) + 1.0 / (rank + 1)
        if not votes:
            return "", 0.0
        theme = max(votes, key=lambda t: votes[t])
        return theme, votes[theme] / sum(1.0 / (r + 1) for r in range(len(hits)))

    return classify
