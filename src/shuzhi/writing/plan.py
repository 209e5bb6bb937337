"""Notes → an outline (Plan) as data: which facts go into which section, in which order.

The sections, their order, headings, levels and sub-items are the genre's (genres/<name>.yaml
`kinds`); a plan remembers its genre (`Plan.genre`), so everything downstream follows it.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from ..errors import ShuzhiError
from ..genre import Aspect, Genre, KindSpec, SectionKind, SubItems, load_genre, resolve
from ..models import NoteItem, ParsedNotes, Plan, PlanSection, to_dict


def kind_name(kind: str, genre: Genre | None = None) -> str:
    """Chinese name of a section kind (the genre's `kinds.<kind>.name`)."""
    return resolve(genre).kind_name(kind)


def _theme_of(item: NoteItem) -> str:
    from ..corpus.parse import detect_theme

    return detect_theme(item.text)


def _role_for_title(notes: ParsedNotes, g: Genre) -> str:
    role = notes.meta.role or g.default_role
    org = notes.meta.org
    # "市统计局机关党支部" + "支部书记" reads badly twice; keep only 书记 when the org already names the body.
    for body in ("党支部", "党总支", "党委", "党组"):
        if org.endswith(body) and role.endswith("书记"):
            return "书记"
    return role


def make_title(notes: ParsedNotes, year: int | None, genre: Genre | None = None) -> str:
    """The report title from the genre's template; {year}, {org}, {role} and the genre's own fields
    (the first of their phrases the notes mention, else the default) are filled in."""
    g = resolve(genre if genre is not None else notes.genre)
    values = {"year": year or "", "org": notes.meta.org, "role": _role_for_title(notes, g)}
    for name, (default, phrases) in g.title_fields.items():
        values[name] = next((p for p in phrases if p in notes.raw_text), default)
    title = g.title_template.format(**values)
    return re.sub("^年度?", "", title) if not year else title


def _themed_kind(g: Genre) -> KindSpec | None:
    return next((k for k in g.kinds if k.sub_items is not None and k.sub_items.by == "theme"), None)


def group_achievements(items: list[NoteItem], genre: Genre | None = None,
                       sub_items: SubItems | None = None) -> list[tuple[str, list[NoteItem]]]:
    """Group achievement notes by theme into min..max sub-items, in the canonical theme order
    (the genre's `sub_items` of its achievements, or SUB_ITEMS)."""
    if sub_items is None:
        spec = _themed_kind(resolve(genre))
        if spec is None or spec.sub_items is None:
            return [("", list(items))] if items else []
        sub_items = spec.sub_items
    order: list[str] = list(sub_items.order)
    lo, hi = sub_items.min, sub_items.max
    groups: OrderedDict[str, list[NoteItem]] = OrderedDict()
    for item in items:
        groups.setdefault(_theme_of(item), []).append(item)
    affinity: dict[str, str] = dict(sub_items.affinity)

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


def _aspect_score(text: str, aspect: Aspect) -> int:
    # Longest keywords first, each occurrence counted once ("理论学习" is not also "学习").
    score = 0
    for keyword in sorted(aspect.keywords, key=len, reverse=True):
        hits = text.count(keyword)
        if hits:
            score += hits
            text = text.replace(keyword, "\0" * len(keyword))
    return score


def group_by_aspect(items: list[NoteItem], sub_items: SubItems,
                    year: int | None) -> list[tuple[Aspect | None, list[NoteItem]]]:
    """Notes filed under the year's prescribed aspects by their keywords (ties: the aspect listed
    first); notes no aspect claims form a last group (None). With `required`, every aspect is
    there, with notes or not: the user sees which aspect the notes do not cover yet."""
    aspects = sub_items.aspects_for(year)
    groups: dict[int, list[NoteItem]] = {i: [] for i in range(len(aspects))}
    rest: list[NoteItem] = []
    for item in items:
        scores = [_aspect_score(item.text, a) for a in aspects]
        best = max(range(len(aspects)), key=lambda i: (scores[i], -i)) if aspects else -1
        (groups[best] if best >= 0 and scores[best] > 0 else rest).append(item)
    out: list[tuple[Aspect | None, list[NoteItem]]] = [
        (aspects[i], members) for i, members in groups.items() if members or sub_items.required
    ]
    if rest:
        out.append((None, rest))
    return out


def _texts(items: list[NoteItem]) -> tuple[str, ...]:
    return tuple(i.text for i in items)


def _opening_facts(notes: ParsedNotes, year: int | None, kind: str, g: Genre) -> tuple[str, ...]:
    meta = notes.meta
    facts = []
    if year:
        facts.append(f"年度：{year}年")
    if meta.org:
        facts.append(f"单位：{meta.org}")
    if meta.person or meta.role:
        facts.append(f"{g.person_label}：{meta.role}{meta.person}".strip("："))
    if meta.members:
        facts.append(f"党员情况：{meta.members}")
    return tuple(facts) + _texts(notes.items_for(kind))


def _sub_sections(spec: KindSpec, items: list[NoteItem], year: int | None,
                  context: tuple[str, ...]) -> list[PlanSection]:
    sub = spec.sub_items
    assert sub is not None
    kind, level = spec.kind, max(spec.level, 1) + 1
    if sub.by == "aspect":
        return [
            PlanSection(key=f"{kind}.{n}", kind=kind, heading=aspect.heading if aspect else sub.other_heading,
                        notes=_texts(members), level=level, context=context)
            for n, (aspect, members) in enumerate(group_by_aspect(items, sub, year), start=1)
        ]
    if any(i.group for i in items):
        return _user_sub_sections(spec, items, level, context)
    return [
        PlanSection(key=f"{kind}.{n}", kind=kind, heading=sub.headings.get(theme, sub.headings.get("", theme)),
                    theme=theme, notes=_texts(members), level=level, context=context)
        for n, (theme, members) in enumerate(group_achievements(items, sub_items=sub), start=1)
    ]


def _user_sub_sections(spec: KindSpec, items: list[NoteItem], level: int,
                       context: tuple[str, ...]) -> list[PlanSection]:
    """The user's own groupings as the sub-items, in their order and under their titles.

    Notes written outside any of the user's headings are grouped by theme after them, so none is lost.
    """
    groups: OrderedDict[str, list[NoteItem]] = OrderedDict()
    for item in items:
        groups.setdefault(item.group, []).append(item)
    loose = groups.pop("", [])
    sub = spec.sub_items
    assert sub is not None
    sections = [(title, "", members) for title, members in groups.items()]
    if loose:
        sections += [(sub.headings.get(theme, sub.headings.get("", theme)), theme, members)
                     for theme, members in group_achievements(loose, sub_items=replace(sub, min=1))]
    return [
        PlanSection(key=f"{spec.kind}.{n}", kind=spec.kind, heading=title, theme=theme or _group_theme(members),
                    notes=_texts(members), level=level, context=context)
        for n, (title, theme, members) in enumerate(sections, start=1)
    ]


def _group_theme(items: list[NoteItem]) -> str:
    """The most frequent theme of a user's group (for exemplar retrieval), "" when none."""
    themes = [t for t in (_theme_of(i) for i in items) if t]
    return max(set(themes), key=themes.count) if themes else ""


def build_plan(notes: ParsedNotes, year: int | None = None, genre: Genre | None = None) -> Plan:
    """The outline, in the genre's order: for a 述职报告 opening, 3–5 themed achievement sub-items,
    problems, causes, next steps, closing; for another genre its own parts (problems by aspect …).

    genre: None → the genre the notes were read for.
    """
    g = resolve(genre if genre is not None else notes.genre)
    year = year or notes.meta.year
    sections: list[PlanSection] = []
    for spec in g.kinds:
        kind = spec.kind
        if spec.like == SectionKind.TITLE:
            continue
        if spec.like == SectionKind.OPENING:
            sections.append(PlanSection(key=str(kind), kind=kind, heading="", notes=_opening_facts(notes, year, kind, g),
                                        level=0))
            continue
        if spec.like == SectionKind.CLOSING:
            sections.append(PlanSection(key=str(kind), kind=kind, heading="", notes=(), level=0))
            continue
        if not spec.body:
            continue
        items = notes.items_for(kind)
        if spec.optional and not items:
            continue
        # Causes and measures answer the problems: the problems travel as context, not as facts to restate.
        context = _texts(notes.items_for(spec.answers)) if spec.answers else ()
        if spec.sub_items is not None:
            sections.append(PlanSection(key=str(kind), kind=kind, heading=spec.heading, level=max(spec.level, 1),
                                        context=context))
            sections += _sub_sections(spec, items, year, context)
        else:
            sections.append(PlanSection(key=str(kind), kind=kind, heading=spec.heading, notes=_texts(items),
                                        context=context, level=spec.level))
    return Plan(title=make_title(notes, year, g), year=year, org=notes.meta.org, sections=tuple(sections),
                genre=g.name, excluded=notes.excluded, role=notes.meta.role, person=notes.meta.person,
                org_type=org_type_of(notes.meta.org))


def org_type_of(org: str) -> str:
    """The kind of unit an organisation name says (data/org_types.yaml, as the corpus is tagged), "" when none."""
    from ..corpus.parse import detect_org_type

    return detect_org_type(org, "") if org else ""


def lacks_material(section: PlanSection, genre: Genre | None = None) -> bool:
    """True when a section has nothing to be written from (no notes, no problems to answer)."""
    spec = resolve(genre).spec(section.kind)
    if spec is None or not spec.body:
        return False
    if spec.answers:
        return not section.notes and not section.context
    return not section.notes


def plan_warnings(plan: Plan, genre: Genre | None = None) -> list[str]:
    """What the user should know before drafting: empty sections, missing unit or year."""
    g = resolve(genre if genre is not None else plan.genre)
    warnings = []
    for section in drafted_sections(plan):
        if lacks_material(section, g):
            label = section.heading or g.kind_name(section.kind)
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


def _section_from_dict(raw: dict[str, Any], position: int, g: Genre) -> PlanSection:
    if not isinstance(raw, dict):
        raise ShuzhiError(f"提纲第 {position} 节格式不对：应为对象。", f"plan section {position} not an object")
    kind = str(raw.get("kind", ""))
    if not g.has_kind(kind):
        raise ShuzhiError(
            f"提纲第 {position} 节的类型「{kind}」无法识别，{g.short_title}可用：{'、'.join(g.kind_keys)}。",
            f"plan section {position} has unknown kind {kind!r} for genre {g.name}",
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


def _plan_genre(raw: dict[str, Any], genre: Genre | None) -> Genre:
    """The genre a plan names (an old plan without one: GENRE, else the default)."""
    name = raw.get("genre")
    if name in (None, ""):
        return resolve(genre)
    if not isinstance(name, str):
        raise ShuzhiError("提纲的 genre 应为文体名称（如 shuzhi）。", f"plan genre {name!r}")
    if genre is not None and genre.name == name:
        return genre
    return load_genre(name)  # an unknown name: ShuzhiError listing the genres there are


def plan_from_json(text: str, genre: Genre | None = None) -> Plan:
    """Read a (possibly user-edited) plan; every mistake gets a Chinese message naming the place.

    The kinds are checked against the plan's own genre (its "genre" field); a plan saved before
    plans had one is read with GENRE (None: the default, "shuzhi").
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ShuzhiError(f"提纲 JSON 无法解析（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}", str(exc)) from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("sections"), list) or not raw["sections"]:
        raise ShuzhiError("提纲 JSON 缺少 sections 列表。", "plan json without sections")
    g = _plan_genre(raw, genre)
    sections = tuple(_section_from_dict(s, i, g) for i, s in enumerate(raw["sections"], start=1))
    keys = [s.key for s in sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ShuzhiError(f"提纲中有重复的节：{'、'.join(duplicates)}。", f"duplicate plan keys {duplicates}")
    year = raw.get("year")
    if year not in (None, "") and (isinstance(year, bool) or not isinstance(year, int) or not 1949 <= year <= 2100):
        raise ShuzhiError("提纲的 year 应为四位数字年份（如 2024）。", f"plan year {year!r}")
    excluded = raw.get("excluded", [])
    if not isinstance(excluded, list) or not all(isinstance(e, str) for e in excluded):
        raise ShuzhiError("提纲的 excluded 应为文字列表。", "plan excluded invalid")
    texts = {name: raw.get(name) for name in ("role", "person", "org_type")}
    if not all(v is None or isinstance(v, str) for v in texts.values()):
        raise ShuzhiError("提纲的 role、person、org_type 应为文字。", "plan role/person/org_type invalid")
    return Plan(title=str(raw.get("title", "")), year=year or None, org=str(raw.get("org", "")),
                sections=sections, genre=g.name, excluded=tuple(excluded),
                role=(texts["role"] or "").strip(), person=(texts["person"] or "").strip(),
                org_type=(texts["org_type"] or "").strip())


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
