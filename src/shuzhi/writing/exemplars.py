"""Exemplars: the corpus passages a prompt shows for style, retrieved per section and sanitised.

The corpus carries no genre: its passages are those of the default genre (述职报告). A genre says in
its file which of them it may use (`corpus: true | false | [kinds]`); a genre without corpus gets no
exemplars at all (never 述职 passages), and drafting works from its guides alone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..datafiles import load_data
from ..genre import Genre, resolve
from ..models import PLACEHOLDER, Hit, PlanSection, SearchFilters

if TYPE_CHECKING:
    from ..index.search import CorpusIndex

_OTHER_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?=\s*年)")


def redaction_mark() -> str:
    """How a corpus redaction (〔X〕) reads in a prompt: visibly a redaction (data/plan.yaml)."""
    return str(load_data("plan")["exemplar_placeholder"])


def sanitise_exemplar(text: str) -> str:
    """Exemplars reach prompts only through here: no ads, markers or corpus placeholders, nothing
    dressed as the prompt's own blocks (【范文片段…】, a line "本节事实：…").

    A redaction stays visibly a redaction ("××"): never a word that reads as a fact (若干, 某), never
    the 〔X〕 the model writes for a figure the user fills in. The prompt says never to copy it.
    """
    from ..corpus.clean import clean_text
    from .prompts import neutralise_prompt_labels

    # clean_text also strips control characters and turns 【范文片段…】 look-alikes into 〖范文片段…〗.
    return neutralise_prompt_labels(clean_text(text)).replace(PLACEHOLDER, redaction_mark())


def exemplar_query(section: PlanSection, genre: Genre | None = None) -> str:
    body = "；".join(section.notes or section.context)[:300]
    return f"{section.heading} {body}".strip() or resolve(genre).kind_name(section.kind)


@dataclass(frozen=True)
class ExemplarTarget:
    """What the report is, for choosing exemplars: its year and its kind of unit (both optional)."""

    year: int | None = None
    org_type: str = ""


def retrieve_for_section(index: CorpusIndex, section: PlanSection, k: int | None = None,
                         genre: Genre | None = None, target: ExemplarTarget | None = None) -> tuple[Hit, ...]:
    """Exemplars of the section's kind (and theme when enough exist), re-ranked for the report.

    Nothing when the genre may not borrow corpus passages of this kind. A kind the genre adds
    is filled up with passages of the built-in kind it behaves like. With TARGET, passages of the
    same kind of unit and a nearby year come first, and sentences citing a campaign not valid for
    the report's year are taken out (a passage left too short is dropped).
    """
    g = resolve(genre)
    if not g.borrows(section.kind):
        return ()
    data = load_data("plan")
    choice = data.get("exemplar_choice") or {}
    k = k or int(data["exemplars_per_section"])
    depth = k * int(choice.get("candidates_per_exemplar", 3))
    target = target or ExemplarTarget()
    query = exemplar_query(section, g)
    hits: list[Hit] = []
    if section.theme:
        hits = index.search(query, SearchFilters(kind=section.kind, theme=section.theme), k=depth)
    role = g.role(section.kind)
    for kind in dict.fromkeys([section.kind, *([role] if role is not None else [])]):
        if len(hits) >= depth:
            break
        seen = {h.chunk.id for h in hits}
        more = index.search(query, SearchFilters(kind=kind), k=depth)
        hits += [h for h in more if h.chunk.id not in seen]
    if target.year:
        hits = [h for h in (timely_hit(h, target.year, g) for h in hits) if h is not None]
    # Stable sort: among equally relevant passages prefer those of the same kind of unit and a nearby
    # year, and those the corpus did not redact.
    ranked = [h for _, h in sorted(enumerate(hits), key=lambda ih: (fit_penalty(ih[1], target), ih[0]))]
    return one_per_document_first(ranked, k)


def fit_penalty(hit: Hit, target: ExemplarTarget) -> int:
    """How badly a passage fits the report: 0 same kind of unit, nearby year, barely redacted; higher is worse."""
    choice = load_data("plan").get("exemplar_choice") or {}
    chunk = hit.chunk
    penalty = 1 if chunk.text.count(PLACEHOLDER) > 1 else 0
    if target.org_type:
        related = choice.get("related_org_types", {}).get(target.org_type) or []
        if not chunk.org_type or chunk.org_type in related:
            penalty += 1
        elif chunk.org_type != target.org_type:
            penalty += 2
    if target.year:
        if not chunk.year:
            penalty += 1
        elif abs(chunk.year - target.year) > int(choice.get("year_window", 2)):
            penalty += 2
    return penalty


def timely_hit(hit: Hit, year: int, genre: Genre | None = None) -> Hit | None:
    """HIT with the sentences that cite a campaign not valid for YEAR taken out (its heading too);
    None when too little of it is left to teach anything."""
    from ..checks.timeliness import out_of_time

    g = resolve(genre)
    chunk = hit.chunk
    source = chunk.year or 0
    ends = g.punctuation.full_stops + "\n"
    kept = [s for s in g.split_sentences(chunk.text, ends) if not out_of_time(s, year, source)]
    # Another report's year is that report's fact: it reads as a redaction, not as a year to copy.
    text = _OTHER_YEAR.sub(lambda m: m.group(0) if int(m.group(0)) == year else redaction_mark(), "".join(kept)).strip()
    heading = chunk.heading_path
    if heading and out_of_time(heading, year, source):
        heading = ""
    if text == chunk.text.strip() and heading == chunk.heading_path:
        return hit
    min_chars = int((load_data("plan").get("exemplar_choice") or {}).get("min_chars", 40))
    if len(text) < min_chars:
        return None
    return replace(hit, chunk=replace(chunk, text=text, heading_path=heading))


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
