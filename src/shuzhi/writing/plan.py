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

from ..datafiles import load_data
from ..errors import ShuzhiError
from ..genre import Aspect, Genre, KindSpec, SectionKind, SubItems, load_genre, resolve
from ..models import Assignment, LastYearReport, NoteItem, ParsedNotes, Plan, PlanSection, to_dict


def kind_name(kind: str, genre: Genre | None = None) -> str:
    """Chinese name of a section kind (the genre's `kinds.<kind>.name`)."""
    return resolve(genre).kind_name(kind)


def _theme_keyword(text: str, theme: str) -> str:
    """The (longest) keyword of THEME that TEXT contains, "" when none."""
    themes: dict[str, list[str]] = load_data("themes")
    return next((k for k in sorted(themes.get(theme, []), key=len, reverse=True) if k in text), "")


def _similarity_min() -> float:
    return float(load_data("plan").get("theme_similarity_min_score", 0.5))


def item_theme(item: NoteItem) -> tuple[str, str, str, float]:
    """(theme, by, detail, score) of an achievement note: its theme keyword ("keyword", the word), else a
    confident similarity guess ("similarity"), else ("", "", "", 0)."""
    from ..corpus.parse import detect_theme

    theme = detect_theme(item.text)
    if theme:
        return theme, "keyword", _theme_keyword(item.text, theme), 0.0
    if item.theme_guess and item.theme_score >= _similarity_min():
        return item.theme_guess, "similarity", "", item.theme_score
    return "", "", "", 0.0


def _theme_of(item: NoteItem) -> str:
    return item_theme(item)[0]


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
    _rebalance(groups, hi, affinity)
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


def _rebalance(groups: OrderedDict[str, list[NoteItem]], hi: int, affinity: dict[str, str]) -> None:
    """Keep the catch-all ("" = 其他) to at most a third of the notes when the notes support themes.

    Its notes go to the theme their nearest corpus passages vote for, however weakly (NoteItem.theme_guess):
    into that theme's sub-item when there is one, into a new sub-item when two or more notes share the
    theme and there is room, else into the related theme's sub-item (affinity). A note without any
    guess stays under 其他.
    """
    rest = groups.get("", [])
    total = sum(len(m) for m in groups.values())
    themed = [t for t in groups if t]
    if not rest or not themed or len(rest) * 3 <= total:
        return
    guesses = [i.theme_guess for i in rest if i.theme_guess]
    # Room for new sub-items: the maximum, less one for 其他 if some note has no guess at all.
    room = hi - len(themed) - (1 if len(guesses) < len(rest) else 0)
    for theme in sorted(set(guesses), key=lambda t: (-guesses.count(t), guesses.index(t))):
        if theme not in groups and guesses.count(theme) >= 2 and room > 0:
            groups[theme], room = [], room - 1
    kept: list[NoteItem] = []
    for item in rest:
        theme = item.theme_guess
        target = theme if theme in groups else affinity.get(theme, "")
        if theme and target and target in groups:
            groups[target].append(item)
        else:
            kept.append(item)
    if kept:
        groups[""] = kept
    else:
        groups.pop("", None)


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


# ------------------------------------------------------------------ why each line is where it is
def _line_reason(by: str, detail: str, score: float, kind: str, g: Genre) -> str:
    name = g.kind_name(kind)
    if by == "marker":
        return f"笔记中标明“{detail}”，归入「{name}」" if detail else f"笔记中标明属于「{name}」"
    if by == "heading":
        return f"写在笔记的标题“{detail}”下，归入「{name}」" if detail else f"写在笔记的「{name}」部分"
    if by == "rule" and g.role(kind) == SectionKind.ACHIEVEMENTS:
        return f"写有数量“{detail}”，看作已做的工作" if detail else "写有数量，看作已做的工作"
    if by == "rule":
        return f"含“{detail}”，按规则归入「{name}」"
    if by == "similarity":
        return f"与范文中「{name}」部分的段落相近（{score:.2f}）"
    if by == "last_year":
        return "回应上年度报告中的问题，也列入「" + name + "」"
    if by == "last_year_gap":
        return "上年度报告中的问题，笔记里没有写整改情况：请补上或删去这一行"
    if by == "meta":
        return "笔记中的单位、年度、述职人或党员人数"
    if by == "user":
        return detail or "由用户在提纲中写入或移动"
    return f"没有规则能确定，按默认归入「{name}」"


def _theme_reason(a: Assignment, g: Genre) -> str:
    label = a.theme or "其他"
    if a.theme_by == "group":
        return f"按用户自己的小标题“{a.theme_detail}”成组"
    if a.theme_by == "aspect":
        return f"按关键词归入“{a.theme_detail}”"
    if a.theme_by == "keyword":
        return f"含“{a.theme_detail}”，归入「{label}」主题" if a.theme_detail else f"归入「{label}」主题"
    if a.theme_by == "similarity":
        return f"与「{label}」主题的范文相近（{a.theme_score:.2f}），归入该主题"
    if a.theme_by == "rebalanced":
        return f"没有主题词，按与范文最相近的主题归入「{label}」（避免“其他”项过多）"
    if a.theme_by == "folded":
        return f"属「{a.theme_detail}」主题，条目少，并入相近的「{label}」"
    if a.theme_by == "split":
        return f"「{label}」条目多，分为两项"
    return "没有主题词，归入“其他”项"


def explain(a: Assignment, genre: Genre | None = None) -> str:
    """The plain-Chinese reason of an assignment (section, then sub-item)."""
    g = resolve(genre)
    kind = a.key.split(".")[0]
    why = _line_reason(a.by, a.detail, a.score, kind if g.has_kind(kind) else g.default_note_kind, g)
    if a.theme_by or "." in a.key and g.role(kind) == SectionKind.ACHIEVEMENTS:
        why += "；" + _theme_reason(a, g)
    return why


def _sub_item_reason(item: NoteItem, section: PlanSection, spec: KindSpec | None,
                     seen_themes: dict[str, int]) -> tuple[str, str, float]:
    """(theme_by, theme_detail, score) of a note in a sub-item."""
    if spec is None or spec.sub_items is None or "." not in section.key:
        return "", "", 0.0
    if spec.sub_items.by == "aspect":
        return "aspect", section.heading, 0.0
    if item.group:
        return "group", item.group, 0.0
    theme, by, detail, score = item_theme(item)
    if section.theme and seen_themes.get(section.theme, 0) > 1 and theme == section.theme:
        return "split", "", 0.0
    if theme == section.theme and theme:
        return by, detail, score
    if not section.theme:
        return "", "", 0.0
    if not theme:
        return "rebalanced", "", item.theme_score
    return "folded", theme, 0.0


def plan_assignments(sections: list[PlanSection], notes: ParsedNotes, g: Genre) -> tuple[Assignment, ...]:
    """Why every fact line of SECTIONS is where it is, from the notes' own record (NoteItem.assigned_by …)."""
    pool: dict[tuple[str, str], list[NoteItem]] = {}
    for item in notes.items:
        pool.setdefault((str(item.section), item.text), []).append(item)
    seen_themes: dict[str, int] = {}
    for section in sections:
        if "." in section.key and section.theme:
            seen_themes[section.theme] = seen_themes.get(section.theme, 0) + 1
    out: list[Assignment] = []
    for section in sections:
        spec = g.spec(section.kind)
        for line in section.notes:
            items = pool.get((str(section.kind), line))
            if not items and g.role(section.kind) == SectionKind.RECTIFICATION:
                # The rectification part built from last year's report: a note of work done that answers one
                # of last year's problems (it stays in its own section too), or the visible gap line.
                answers = any(text == line for _, text in pool)
                a = Assignment(line=line, key=section.key, by="last_year" if answers else "last_year_gap")
            elif not items:
                a = Assignment(line=line, key=section.key, by="meta")
            else:
                item = items.pop(0) if len(items) > 1 else items[0]
                theme_by, theme_detail, score = _sub_item_reason(item, section, spec, seen_themes)
                a = Assignment(line=line, key=section.key, by=item.assigned_by, detail=item.detail,
                               score=item.score, theme=section.theme, theme_by=theme_by,
                               theme_detail=theme_detail, theme_score=score)
            out.append(replace(a, why=explain(a, g)))
    return tuple(out)


def build_plan(notes: ParsedNotes, year: int | None = None, genre: Genre | None = None,
               last_year: LastYearReport | None = None) -> Plan:
    """The outline, in the genre's order: for a 述职报告 opening, 3–5 themed achievement sub-items,
    problems, causes, next steps, closing; for another genre its own parts (problems by aspect …).

    genre: None → the genre the notes were read for.
    last_year: last year's report: the rectification part lists each of its problems with the notes
    that answer it (writing.rectification), even when the notes file nothing under rectification.
    """
    from .rectification import rectification_section

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
        if last_year is not None and spec.like == SectionKind.RECTIFICATION and last_year.problems:
            if kind == g.first_like(SectionKind.RECTIFICATION):
                sections.append(rectification_section(spec, notes, last_year, g))
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
                org_type=org_type_of(notes.meta.org),
                assignments=plan_assignments(sections, notes, g))


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
    plan = Plan(title=str(raw.get("title", "")), year=year or None, org=str(raw.get("org", "")),
                sections=sections, genre=g.name, excluded=tuple(excluded),
                role=(texts["role"] or "").strip(), person=(texts["person"] or "").strip(),
                org_type=(texts["org_type"] or "").strip(),
                assignments=_assignments_from_raw(raw.get("assignments")))
    return reconcile_assignments(plan, g) if plan.assignments else plan


_ASSIGNMENT_TEXT = ("line", "key", "by", "detail", "theme", "theme_by", "theme_detail", "why")


def _assignments_from_raw(value: Any) -> tuple[Assignment, ...]:
    """The plan's recorded reasons; a malformed entry is dropped (reasons explain, they never block a plan)."""
    if not isinstance(value, list):
        return ()
    out = []
    for raw in value:
        if not isinstance(raw, dict) or not isinstance(raw.get("line"), str) or not isinstance(raw.get("key"), str):
            continue
        fields: dict[str, Any] = {f: str(raw.get(f, "") or "") for f in _ASSIGNMENT_TEXT}
        for f in ("score", "theme_score"):
            v = raw.get(f, 0.0)
            fields[f] = float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0
        out.append(Assignment(**fields))
    return tuple(out)


def reconcile_assignments(plan: Plan, genre: Genre | None = None) -> Plan:
    """The reasons made true again after the user edited the plan: a line moved to another section says
    so, a line typed in (or brought back from `excluded`) is the user's; reasons of lines no longer in the
    plan are dropped, and a line now used as a fact is no longer listed as excluded."""
    g = resolve(genre if genre is not None else plan.genre)
    by_line: dict[str, list[Assignment]] = {}
    for a in plan.assignments:
        by_line.setdefault(a.line, []).append(a)
    headings = {s.key: s.heading or g.kind_name(s.kind) for s in plan.sections}
    used = {line for s in plan.sections for line in s.notes}
    out: list[Assignment] = []
    for section in plan.sections:
        for line in section.notes:
            recorded = by_line.get(line, [])
            here = next((a for a in recorded if a.key == section.key), None)
            if here is not None:
                out.append(here)
                continue
            if recorded:
                old = recorded[0]
                why = f"由用户从「{headings.get(old.key, old.key)}」移到这里"
            elif line in plan.excluded:
                why = "由用户从“未作为事实”的行中加入"
            else:
                why = "由用户在提纲中写入"
            out.append(Assignment(line=line, key=section.key, by="user", detail=why, theme=section.theme,
                                  why=why))
    excluded = tuple(e for e in plan.excluded if e not in used)
    return replace(plan, assignments=tuple(out), excluded=excluded)


def with_notes(plan: Plan, key: str, notes: tuple[str, ...]) -> Plan:
    """A copy of the plan with one section's notes replaced (used by the UI's plan editor)."""
    return replace(plan, sections=tuple(replace(s, notes=notes) if s.key == key else s for s in plan.sections))


def plan_fact_lines(plan: Plan, notes_text: str, known: set[str] | frozenset[str] = frozenset(),
                    excluded: tuple[str, ...] = ()) -> list[str]:
    """Fact lines the user typed into an edited plan that the notes do not contain (or contain only as
    lines read as remarks, EXCLUDED, which the user brought back).

    They are the user's facts too: checks compare a draft with the notes plus these lines, so a
    figure added in the outline is never reported as invented (the CLI and the app alike).
    """
    seen: set[str] = set()
    extra = []
    for section in plan.sections:
        for line in section.notes:
            brought_back = line in excluded
            new = line not in notes_text or brought_back
            if new and line not in known and (brought_back or "：" not in line[:5]) and line not in seen:
                seen.add(line)
                extra.append(line)
    return extra


def include_line(plan: Plan, item: NoteItem, key: str | None = None, genre: Genre | None = None) -> Plan:
    """The plan with ITEM's line (one of `plan.excluded`, filed by `notes.file_line`) used as a fact: in
    section KEY, else in the section of the item's kind (the sub-item of its theme, else 其他, else the
    last one). The line leaves `excluded`; its reason says the user brought it back."""
    g = resolve(genre if genre is not None else plan.genre)
    line = item.text
    if line not in plan.excluded:
        raise ShuzhiError(f"提纲中“未作为事实”的行里没有「{line}」，请照 excluded 中的文字原样填写。",
                          f"line not excluded: {line!r}")
    targets = drafted_sections(plan)
    if key is not None:
        section = next((s for s in targets if s.key == key and s.kind not in _unwritten_kinds(g)), None)
        if section is None:
            keys = "、".join(s.key for s in targets if s.kind not in _unwritten_kinds(g))
            raise ShuzhiError(f"提纲中没有可以放事实的节「{key}」，可选：{keys}。", f"no plan section {key!r}")
    else:
        same = [s for s in targets if s.kind == item.section]
        theme = item_theme(item)[0]
        section = (next((s for s in same if theme and s.theme == theme), None)
                   or next((s for s in same if "." in s.key and not s.theme), None)
                   or (same[-1] if same else None))
        if section is None:
            return include_line(plan, replace(item, section=g.default_note_kind), key, g)
    why = "由用户从“未作为事实”的行中加入"
    if key is None:
        why += "；" + _line_reason(item.assigned_by, item.detail, item.score, str(section.kind), g)
    sections = tuple(replace(s, notes=(*s.notes, line)) if s.key == section.key else s for s in plan.sections)
    assignment = Assignment(line=line, key=section.key, by="user", detail=why, theme=section.theme, why=why)
    return replace(plan, sections=sections, excluded=tuple(e for e in plan.excluded if e != line),
                   assignments=(*plan.assignments, assignment))


def _unwritten_kinds(g: Genre) -> tuple[str, ...]:
    """Kinds that take no facts of their own (the closing)."""
    return tuple(str(k.kind) for k in g.kinds if k.like in (SectionKind.TITLE, SectionKind.CLOSING))


# ------------------------------------------------------------------ the user's outline edits
def _is_sub(section: PlanSection) -> bool:
    return "." in section.key


def _parent_key(section: PlanSection) -> str:
    return section.key.split(".")[0] if _is_sub(section) else section.key


def _blocks(plan: Plan) -> list[list[PlanSection]]:
    """The plan's top-level sections, each with its sub-items (a block moves and goes as one)."""
    blocks: list[list[PlanSection]] = []
    for section in plan.sections:
        if _is_sub(section) and blocks and _parent_key(blocks[-1][0]) == _parent_key(section):
            blocks[-1].append(section)
        else:
            blocks.append([section])
    return blocks


def _flat(blocks: list[list[PlanSection]]) -> tuple[PlanSection, ...]:
    return tuple(s for block in blocks for s in block)


def _section(plan: Plan, key: str) -> PlanSection:
    section = next((s for s in plan.sections if s.key == key), None)
    if section is None:
        raise ShuzhiError("提纲中已没有这一节（可能刚被删除），请刷新页面后再试。", f"no plan section {key!r}")
    return section


def new_section_key(plan: Plan, kind: str, sub_item: bool = False) -> str:
    """A key no section of PLAN has: "kind.N" for a sub-item, "kind" (else "kind-N") for a section."""
    keys = {s.key for s in plan.sections}
    if sub_item:
        n = 1
        while f"{kind}.{n}" in keys:
            n += 1
        return f"{kind}.{n}"
    if kind not in keys:
        return kind
    n = 2
    while f"{kind}-{n}" in keys:
        n += 1
    return f"{kind}-{n}"


def plan_add_section(plan: Plan, kind: str, heading: str, *, after: str | None = None, sub_item: bool = False,
                     genre: Genre | None = None) -> Plan:
    """PLAN with a new, empty section of KIND under HEADING, after the section AFTER (its whole block for a
    top-level section; None: at the end, before the closing). A sub-item goes under the section KIND
    (level 2, key "kind.N"); the first sub-item of a section that had facts of its own takes them over."""
    g = resolve(genre if genre is not None else plan.genre)
    if not g.has_kind(kind):
        raise ShuzhiError(f"{g.short_title}没有「{kind}」这种部分，可选：{'、'.join(g.kind_keys)}。", f"unknown kind {kind!r}")
    heading = heading.strip()
    blocks = _blocks(plan)
    if sub_item:
        index = next((i for i, b in enumerate(blocks) if b[0].key == kind), None)
        if index is None:
            raise ShuzhiError(f"提纲中没有「{g.kind_name(kind)}」这一节，不能在它下面添加小项。", f"no parent {kind!r}")
        block = blocks[index]
        parent = block[0]
        new = PlanSection(key=new_section_key(plan, kind, sub_item=True), kind=parent.kind,
                          heading=heading or "新的一项", level=max(parent.level, 1) + 1, context=parent.context)
        if len(block) == 1 and parent.notes:  # the parent becomes a bare heading: its facts go to the new item
            new, block[0] = replace(new, notes=parent.notes), replace(parent, notes=())
        at = next((i + 1 for i, s in enumerate(block) if s.key == after), len(block))
        block.insert(max(at, 1), new)
    else:
        spec = g.spec(kind)
        new = PlanSection(key=new_section_key(plan, kind), kind=kind, heading=heading or g.kind_name(kind),
                          level=max(spec.level, 1) if spec is not None else 1)
        place = next((i + 1 for i, b in enumerate(blocks) if any(s.key == after for s in b)), None)
        if place is None:
            closing = {str(k.kind) for k in g.kinds if k.like == SectionKind.CLOSING}
            place = next((i for i, b in enumerate(blocks) if str(b[0].kind) in closing), len(blocks))
        blocks.insert(place, [new])
    return _reconciled(replace(plan, sections=_flat(blocks)), g)


def _reconciled(plan: Plan, g: Genre) -> Plan:
    """The reasons made true after an edit (a plan without recorded reasons keeps none)."""
    return reconcile_assignments(plan, g) if plan.assignments else plan


def plan_remove_section(plan: Plan, key: str, genre: Genre | None = None) -> Plan:
    """PLAN without the section KEY (a top-level section goes with its sub-items). Its fact lines are not
    lost: they join `excluded`, from where 加入提纲 brings them back."""
    section = _section(plan, key)
    gone = [s for s in plan.sections if s.key == key or (not _is_sub(section) and _is_sub(s) and _parent_key(s) == key)]
    if len(gone) == len(plan.sections):
        raise ShuzhiError("提纲至少要保留一节。", "removing the last plan section")
    lines = [line for s in gone for line in s.notes]
    kept = tuple(s for s in plan.sections if s not in gone)
    still = {line for s in kept for line in s.notes}
    excluded = (*plan.excluded, *(line for line in dict.fromkeys(lines) if line not in still and line not in plan.excluded))
    g = resolve(genre if genre is not None else plan.genre)
    return _reconciled(replace(plan, sections=kept, excluded=excluded), g)


def plan_move_section(plan: Plan, key: str, offset: int) -> Plan:
    """PLAN with the section KEY moved OFFSET places (-1 up, +1 down) among its siblings: a top-level
    section with its sub-items among the top-level sections, a sub-item among its section's sub-items."""
    section = _section(plan, key)
    blocks = _blocks(plan)
    if _is_sub(section):
        block = next(b for b in blocks if section in b)
        items = block[1:]
        i = items.index(section)
        j = min(max(i + offset, 0), len(items) - 1)
        items.insert(j, items.pop(i))
        block[1:] = items
    else:
        i = next(n for n, b in enumerate(blocks) if b[0] == section)
        j = min(max(i + offset, 0), len(blocks) - 1)
        blocks.insert(j, blocks.pop(i))
    return replace(plan, sections=_flat(blocks))


def plan_move_fact(plan: Plan, line: str, from_key: str, to_key: str, genre: Genre | None = None) -> Plan:
    """PLAN with the fact LINE moved from section FROM_KEY to the end of TO_KEY; its reason says the user
    moved it (by="user")."""
    source, target = _section(plan, from_key), _section(plan, to_key)
    if line not in source.notes:
        raise ShuzhiError("这一条事实已不在原来的节中，请刷新页面后再试。", f"{line!r} not in {from_key!r}")
    if from_key == to_key:
        return plan
    sections = []
    for s in plan.sections:
        if s.key == source.key:
            notes = list(s.notes)
            notes.remove(line)
            s = replace(s, notes=tuple(notes))
        elif s.key == target.key:
            s = replace(s, notes=(*s.notes, line))
        sections.append(s)
    g = resolve(genre if genre is not None else plan.genre)
    moved = replace(plan, sections=tuple(sections))
    if plan.assignments:
        return reconcile_assignments(moved, g)
    why = f"由用户从「{source.heading or g.kind_name(source.kind)}」移到这里"
    return replace(moved, assignments=(Assignment(line=line, key=to_key, by="user", detail=why, theme=target.theme,
                                                  why=why),))


def plan_edit_section(plan: Plan, key: str, *, heading: str | None = None, notes: tuple[str, ...] | None = None,
                      genre: Genre | None = None) -> Plan:
    """PLAN with the section KEY's heading and/or fact lines (blank lines dropped) replaced; lines typed in
    get the user's reason."""
    section = _section(plan, key)
    if heading is not None:
        section = replace(section, heading=heading.strip())
    if notes is not None:
        section = replace(section, notes=tuple(n.strip() for n in notes if n.strip()))
    edited = replace(plan, sections=tuple(section if s.key == key else s for s in plan.sections))
    return _reconciled(edited, resolve(genre if genre is not None else plan.genre))


def excluded_reason(line: str) -> str:
    """Why a line is not used as a fact (plain Chinese)."""
    if re.search(r"https?://|www\.", line, re.IGNORECASE):
        return "这一行是网址链接，不作为事实"
    return "这一行读作写给自己的备注，或由用户从提纲中删去，不作为事实"
