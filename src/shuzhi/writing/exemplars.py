"""Exemplars: the corpus passages a prompt shows for style, retrieved per section and sanitised.

The corpus carries no genre: its passages are those of the default genre (述职报告). A genre says in
its file which of them it may use (`corpus: true | false | [kinds]`); a genre without corpus gets no
exemplars at all (never 述职 passages), and drafting works from its guides alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..datafiles import load_data
from ..genre import Genre, resolve
from ..models import PLACEHOLDER, Hit, PlanSection, SearchFilters

if TYPE_CHECKING:
    from ..index.search import CorpusIndex


def sanitise_exemplar(text: str) -> str:
    """Exemplars reach prompts only through here: no ads, markers or corpus placeholders."""
    from ..corpus.clean import clean_text

    # The model should see style, never a fake fact slot: a redacted count reads "若干", a redacted name "某".
    words = load_data("plan")["exemplar_placeholder"]
    before_unit = re.compile(re.escape(PLACEHOLDER) + f"(?=[{words['count_units']}])")
    cleaned = before_unit.sub(words["count_word"], clean_text(text))
    return cleaned.replace(PLACEHOLDER, words["other_word"])


def exemplar_query(section: PlanSection, genre: Genre | None = None) -> str:
    body = "；".join(section.notes or section.context)[:300]
    return f"{section.heading} {body}".strip() or resolve(genre).kind_name(section.kind)


def retrieve_for_section(index: CorpusIndex, section: PlanSection, k: int | None = None,
                         genre: Genre | None = None) -> tuple[Hit, ...]:
    """Exemplars of the section's kind (and theme when enough exist), fewest placeholders first.

    Nothing when the genre may not borrow corpus passages of this kind. A kind the genre adds
    is filled up with passages of the built-in kind it behaves like.
    """
    g = resolve(genre)
    if not g.borrows(section.kind):
        return ()
    k = k or int(load_data("plan")["exemplars_per_section"])
    query = exemplar_query(section, g)
    hits: list[Hit] = []
    if section.theme:
        hits = index.search(query, SearchFilters(kind=section.kind, theme=section.theme), k=k * 3)
    role = g.role(section.kind)
    for kind in dict.fromkeys([section.kind, *([role] if role is not None else [])]):
        if len(hits) >= k:
            break
        seen = {h.chunk.id for h in hits}
        more = index.search(query, SearchFilters(kind=kind), k=k * 3)
        hits += [h for h in more if h.chunk.id not in seen]
    # Stable sort: among equally relevant passages prefer those the corpus did not redact.
    ranked = [h for _, h in sorted(enumerate(hits), key=lambda ih: (ih[1].chunk.text.count(PLACEHOLDER) > 1, ih[0]))]
    return one_per_document_first(ranked, k)


def one_per_document_first(ranked: Sequence[Hit], k: int) -> tuple[Hit, ...]:
    """Up to k hits, drawing from as many documents as possible: several voices teach style, one voice gets copied."""
    chosen: list[Hit] = []
    used_docs: set[str] = set()
    for hit in ranked:
        if len(chosen) < k and hit.chunk.doc_id not in used_docs:
            chosen.append(hit)
            used_docs.add(hit.chunk.doc_id)
    for hit in ranked:  # fewer documents than k: fill with the next best
        if len(chosen) < k and hit not in chosen:
            chosen.append(hit)
    return tuple(sorted(chosen, key=ranked.index))


def format_exemplars(hits: Sequence[Hit], genre: Genre | None = None) -> str:
    if not hits:
        return "（无）"
    g = resolve(genre)
    parts = []
    for n, hit in enumerate(hits, start=1):
        where = sanitise_exemplar(hit.chunk.heading_path) or g.kind_name(hit.chunk.kind)
        parts.append(f"【范文片段{n}｜{where}】\n{sanitise_exemplar(hit.chunk.text)}")
    return "\n\n".join(parts)
