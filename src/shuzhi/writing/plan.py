"""Notes → an outline (Plan) as data: which facts go into which section, in which order."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from ..datafiles import load_data
from ..errors import ShuzhiError
from ..models import SECTION_KINDS, NoteItem, ParsedNotes, Plan, PlanSection, to_dict


def _plan_data() -> dict[str, Any]:
    return dict(load_data("plan"))


def kind_name(kind: str) -> str:
    """Chinese name of a section kind (data/plan.yaml kind_names)."""
    return str(_plan_data()["kind_names"].get(kind, kind))


def _theme_of(item: NoteItem) -> str:
    from ..corpus.parse import detect_theme

    return detect_theme(item.text)


def _role_for_title(notes: ParsedNotes) -> str:
    role = notes.meta.role or _plan_data()["default_role"]
    org = notes.meta.org
    # "市统计局机关党支部" + "支部书记" reads badly twice; keep only 书记 when the org already names the body.
    for body in ("党支部", "党总支", "党委", "党组"):
        if org.endswith(body) and role.endswith("书记"):
            return "书记"
    return role


def make_title(notes: ParsedNotes, year: int | None) -> str:
    template = _plan_data()["title_template"]
    title = template.format(year=year or "", org=notes.meta.org, role=_role_for_title(notes))
    return title.lstrip("年") if not year else title


def group_achievements(items: list[NoteItem]) -> list[tuple[str, list[NoteItem]]]:
    """Group achievement notes by theme into min..max sub-items, in the canonical theme order."""
    data = _plan_data()
    order: list[str] = list(data["theme_order"])
    lo, hi = int(data["achievement_groups"]["min"]), int(data["achievement_groups"]["max"])
    groups: OrderedDict[str, list[NoteItem]] = OrderedDict()
    for item in items:
        groups.setdefault(_theme_of(item), []).append(item)
    affinity: dict[str, str] = dict(data.get("theme_affinity") or {})

    def position(theme: str) -> int:
        return order.index(theme) if theme in order else len(order)

    # Too many themes: fold the smallest group into a related theme when one is present,
    # otherwise into the miscellany ("" = 其他), so sub-items stay coherent.
    while len(groups) > hi:
        candidates = sorted((t for t in groups if t), key=lambda t: (len(groups[t]), -position(t)))
        with_partner = [t for t in candidates if affinity.get(t) in groups]
        theme = with_partner[0] if with_partner else candidates[0]
        target = affinity[theme] if with_partner else ""
        groups.setdefault(target, []).extend(groups.pop(theme))
    ranked = sorted(groups.items(), key=lambda kv: position(kv[0]))
    # Too few groups for the genre: split the largest group while it has more than one note.
    while len(ranked) < lo:
        largest = max(range(len(ranked)), key=lambda i: len(ranked[i][1])) if ranked else -1
        if largest < 0 or len(ranked[largest][1]) < 2:
            break
        theme, members = ranked[largest]
        half = (len(members) + 1) // 2
        ranked[largest] = (theme, members[:half])
        ranked.insert(largest + 1, (theme, members[half:]))
    return ranked


def _texts(items: list[NoteItem]) -> tuple[str, ...]:
    return tuple(i.text for i in items)


def _opening_facts(notes: ParsedNotes, year: int | None) -> tuple[str, ...]:
    meta = notes.meta
    facts = []
    if year:
        facts.append(f"年度：{year}年")
    if meta.org:
        facts.append(f"单位：{meta.org}")
    if meta.person or meta.role:
        facts.append(f"述职人：{meta.role}{meta.person}".strip("："))
    if meta.members:
        facts.append(f"党员情况：{meta.members}")
    return tuple(facts) + _texts(notes.items_for("opening"))


def build_plan(notes: ParsedNotes, year: int | None = None) -> Plan:
    """The outline: opening, 3–5 themed achievement sub-items, problems, causes, next steps, closing."""
    data = _plan_data()
    headings: dict[str, str] = data["headings"]
    theme_headings: dict[str, str] = data["theme_headings"]
    year = year or notes.meta.year
    sections: list[PlanSection] = [
        PlanSection(key="opening", kind="opening", heading="", notes=_opening_facts(notes, year), level=0)
    ]
    sections.append(PlanSection(key="achievements", kind="achievements", heading=headings["achievements"], level=1))
    for n, (theme, members) in enumerate(group_achievements(notes.items_for("achievements")), start=1):
        sections.append(
            PlanSection(
                key=f"achievements.{n}", kind="achievements", heading=theme_headings.get(theme, theme_headings[""]),
                theme=theme, notes=_texts(members), level=2,
            )
        )
    rectification = notes.items_for("rectification")
    if rectification:
        sections.append(PlanSection(key="rectification", kind="rectification", heading=headings["rectification"],
                                    notes=_texts(rectification), level=1))
    problems = _texts(notes.items_for("problems"))
    sections.append(PlanSection(key="problems", kind="problems", heading=headings["problems"], notes=problems,
                                level=1))
    # Causes and measures answer the problems: the problems travel as context, not as facts to restate.
    sections.append(PlanSection(key="causes", kind="causes", heading=headings["causes"],
                                notes=_texts(notes.items_for("causes")), context=problems, level=2))
    sections.append(PlanSection(key="next_steps", kind="next_steps", heading=headings["next_steps"],
                                notes=_texts(notes.items_for("next_steps")), context=problems, level=1))
    sections.append(PlanSection(key="closing", kind="closing", heading="", notes=(), level=0))
    return Plan(title=make_title(notes, year), year=year, org=notes.meta.org, sections=tuple(sections))


# Kinds whose text must come from the user's own notes; without any, the model has nothing true to say.
_FACT_KINDS = ("achievements", "rectification", "problems")


def lacks_material(section: PlanSection) -> bool:
    """True when a section has nothing to be written from (no notes, no problems to answer)."""
    if section.kind in _FACT_KINDS:
        return not section.notes
    if section.kind in ("causes", "next_steps"):
        return not section.notes and not section.context
    return False


def plan_warnings(plan: Plan) -> list[str]:
    """What the user should know before drafting: empty sections, missing unit or year."""
    names = dict(_plan_data()["kind_names"])
    warnings = []
    for section in drafted_sections(plan):
        if lacks_material(section):
            label = section.heading or names.get(section.kind, section.kind)
            warnings.append(f"笔记中没有「{label}」的内容：该节不会生成，请在笔记或提纲中补充。")
    if not plan.org:
        warnings.append("笔记中没有写单位名称（如“单位：××党支部”），标题和开头将缺少单位。")
    if not plan.year:
        warnings.append("没有识别出述职年度，请在笔记中写明（如“2024年”）或使用 --year。")
    return warnings


def drafted_sections(plan: Plan) -> list[PlanSection]:
    """Sections that get a model call: all but the bare level-1 heading that only groups sub-items."""
    has_children = {s.key.split(".")[0] for s in plan.sections if "." in s.key}
    return [s for s in plan.sections if s.key not in has_children]


# ------------------------------------------------------------------ JSON round trip
def plan_to_json(plan: Plan) -> str:
    return json.dumps(to_dict(plan), ensure_ascii=False, indent=2)


def _section_from_dict(raw: dict[str, Any], position: int) -> PlanSection:
    if not isinstance(raw, dict):
        raise ShuzhiError(f"提纲第 {position} 节格式不对：应为对象。", f"plan section {position} not an object")
    kind = str(raw.get("kind", ""))
    if kind not in SECTION_KINDS:
        raise ShuzhiError(
            f"提纲第 {position} 节的类型「{kind}」无法识别，可用：{'、'.join(SECTION_KINDS)}。",
            f"plan section {position} has unknown kind {kind!r}",
        )
    lists = {}
    for name in ("notes", "context"):
        value = raw.get(name, [])
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise ShuzhiError(f"提纲第 {position} 节的 {name} 应为文字列表。", f"plan section {position} {name} invalid")
        lists[name] = tuple(n.strip() for n in value if n.strip())
    level = raw.get("level", 1)
    if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 3:
        raise ShuzhiError(f"提纲第 {position} 节的 level 应为 0—3 的整数。", f"plan section {position} level {level!r}")
    return PlanSection(
        key=str(raw.get("key") or f"{kind}.{position}"), kind=kind, heading=str(raw.get("heading", "")),
        theme=str(raw.get("theme", "")), notes=lists["notes"], level=level, context=lists["context"],
    )


def plan_from_json(text: str) -> Plan:
    """Read a (possibly user-edited) plan; every mistake gets a Chinese message naming the place."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShuzhiError(f"提纲 JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}", str(exc)) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list) or not raw["sections"]:
        raise ShuzhiError("提纲 JSON 缺少 sections 列表。", "plan json without sections")
    sections = tuple(_section_from_dict(s, i) for i, s in enumerate(raw["sections"], start=1))
    keys = [s.key for s in sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ShuzhiError(f"提纲中有重复的节：{'、'.join(duplicates)}。", f"duplicate plan keys {duplicates}")
    year = raw.get("year")
    if year not in (None, "") and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100):
        raise ShuzhiError("提纲的 year 应为四位数字年份（如 2024）。", f"plan year {year!r}")
    return Plan(title=str(raw.get("title", "")), year=year or None, org=str(raw.get("org", "")),
                sections=sections)


def with_notes(plan: Plan, key: str, notes: tuple[str, ...]) -> Plan:
    """A copy of the plan with one section's notes replaced (used by the UI's plan editor)."""
    return replace(plan, sections=tuple(replace(s, notes=notes) if s.key == key else s for s in plan.sections))


def plan_fact_lines(plan: Plan, notes_text: str, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Fact lines the user typed into an edited plan that the notes do not contain.

    They are the user's facts too: checks compare a draft with the notes plus these lines, so a
    figure added in the outline is never reported as invented (the CLI and the app alike).
    """
    seen: set[str] = set()
    extra = []
    for section in plan.sections:
        for line in section.notes:
            if line not in notes_text and line not in known and "：" not in line[:5] and line not in seen:
                seen.add(line)
                extra.append(line)
    return extra
