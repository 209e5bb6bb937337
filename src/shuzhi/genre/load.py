"""Reading a genre file: built-in genres/NAME.yaml merged with the user's rules/genres/NAME.yaml,
validated field by field (Chinese messages naming the file and the field), compiled once per
state of the rules folder (`rules_cached`), so a rule the user adds takes effect without a restart."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NoReturn

import yaml

from ..config import GENRES_DIR
from ..datafiles import (
    genre_names,
    load_data,
    load_genre_data,
    merge_data,
    read_yaml,
    rules_cached,
    rules_dir,
)
from ..errors import ShuzhiError
from ..kinds import SectionKind, is_builtin_kind
from .model import Aspect, Genre, KindSpec, LengthRule, SubItems
from .numbering import INLINE_CONTEXTS, LabelStyle, build_grammar, char_class, compile_style, numeral_token
from .text import make_punctuation

log = logging.getLogger(__name__)

DEFAULT_GENRE = "shuzhi"
# Advice texts every genre must give (rubric.messages).
MESSAGE_KEYS = ("objective_excuse", "strength_as_weakness", "missing_causes", "not_subjective_causes",
                "no_first_person", "others_only", "voice_none", "voice_problems")
_SUB_ITEMS_BY = ("theme", "aspect")


@dataclass(frozen=True)
class GenreInfo:
    name: str
    title: str
    error: str = ""  # Chinese message when the genre file cannot be used


def load_genre(name: str | None = None) -> Genre:
    """The genre NAME (None: the default, "shuzhi"); ShuzhiError in Chinese when it is unknown or broken.

    Compiled once per state of the rules folder, and again when the data cache was cleared
    (`datafiles.clear_data_cache`).
    """
    name = name or DEFAULT_GENRE
    data, genre = _load(name)
    if load_genre_data(name) is not data:
        clear_genre_cache()
        data, genre = _load(name)
    return genre


def clear_genre_cache() -> None:
    _load.cache_clear()  # type: ignore[attr-defined]


def list_genres() -> list[GenreInfo]:
    """Every genre there is (built in and the user's), with its title; a broken one says why."""
    out = []
    for name in genre_names():
        try:
            out.append(GenreInfo(name, load_genre(name).title))
        except ShuzhiError as exc:
            out.append(GenreInfo(name, name, exc.user_message))
    return out


def _files(name: str) -> tuple[str, ...]:
    files = []
    if (GENRES_DIR / f"{name}.yaml").is_file():
        files.append(f"genres/{name}.yaml")
    folder = rules_dir()
    if folder is not None and (folder / "genres" / f"{name}.yaml").is_file():
        files.append(str(folder / "genres" / f"{name}.yaml"))
    return tuple(files)


@rules_cached(maxsize=32)
def _load(name: str) -> tuple[Any, Genre]:
    available = genre_names()
    if name not in available:
        raise ShuzhiError(
            f"没有名为「{name}」的文体。可用的文体：{'、'.join(available) or '（无）'}。",
            f"unknown genre {name!r}; available {available}",
        )
    folder = rules_dir()
    user_file = folder / "genres" / f"{name}.yaml" if folder is not None else None
    if user_file is not None and user_file.is_file():
        try:
            extra = read_yaml(user_file)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ShuzhiError(f"文体文件 {user_file} 无法读取：{_yaml_problem(exc)}。请改正后重试。",
                              f"genre file {user_file}: {exc}") from exc
        if extra is not None and not isinstance(extra, dict):
            raise ShuzhiError(f"文体文件 {user_file} 的内容应为键值对（如 kinds: …），现在是{_type_zh(extra)}。",
                              f"genre file {user_file} is not a mapping")
    data = load_genre_data(name)
    return data, build_genre(name, _extended(name, data), _files(name))


def _extended(name: str, data: Any, seen: tuple[str, ...] = ()) -> Any:
    """DATA over the genre it `extends` (lists appended, mappings merged), so a new genre need only
    say how it differs ("extends: shuzhi")."""
    if not isinstance(data, dict) or not data.get("extends"):
        return data
    base_name = str(data["extends"])
    where = "、".join(_files(name)) or f"genres/{name}.yaml"
    if base_name in (name, *seen) or base_name not in genre_names():
        problem = "循环引用" if base_name in (name, *seen) else f"引用了不存在的文体「{base_name}」"
        raise ShuzhiError(f"文体文件 {where} 有误：字段「extends」{problem}。请改正后重试。",
                          f"genre {name}: extends {base_name!r}")
    base = _extended(base_name, load_genre_data(base_name), (*seen, name))
    own = {k: v for k, v in data.items() if k != "extends"}
    return merge_data({k: v for k, v in base.items() if k not in ("name", "title", "short_title", "description")}, own)


def _yaml_problem(exc: BaseException) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}{'：' if where else ''}{problem}"


def _type_zh(value: object) -> str:
    return {list: "列表", dict: "键值对", str: "文字", int: "数字", float: "数字", bool: "是/否"}.get(type(value), "空")


class _Fields:
    """Typed access to a genre file's fields; every mistake names the file and the field."""

    def __init__(self, name: str, files: tuple[str, ...]) -> None:
        self.name = name
        self.where = "、".join(files) if files else f"genres/{name}.yaml"
        if len(files) > 1:
            self.where += "（合并后）"

    def fail(self, field: str, problem: str) -> NoReturn:
        raise ShuzhiError(f"文体文件 {self.where} 有误：字段「{field}」{problem}。请改正后重试。",
                          f"genre {self.name}: field {field}: {problem}")

    def mapping(self, data: Mapping[str, Any], key: str, field: str, required: bool = False) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(field, "缺失")
            return {}
        if not isinstance(value, dict):
            self.fail(field, f"应为键值对，现在是{_type_zh(value)}")
        return value

    def text(self, data: Mapping[str, Any], key: str, field: str, default: str | None = None) -> str:
        value = data.get(key, default)
        if value is None:
            self.fail(field, "缺失")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.fail(field, f"应为文字，现在是{_type_zh(value)}")
        return str(value).strip()

    def texts(self, data: Mapping[str, Any], key: str, field: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
            self.fail(field, "应为文字列表")
        return tuple(str(v) for v in value)

    def integer(self, data: Mapping[str, Any], key: str, field: str, default: int | None = None,
                low: int = 0, high: int = 100000) -> int:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.fail(field, f"应为 {low}—{high} 的整数")
        return value

    def flag(self, data: Mapping[str, Any], key: str, field: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.fail(field, "应为 true 或 false")
        return value

    def regex(self, pattern: object, field: str) -> re.Pattern[str]:
        if not isinstance(pattern, str):
            self.fail(field, "应为正则表达式文字")
        try:
            return re.compile(pattern)
        except re.error as exc:
            self.fail(field, f"不是有效的正则表达式（{exc}）")

    def regexes(self, data: Mapping[str, Any], key: str, field: str) -> tuple[re.Pattern[str], ...]:
        return tuple(self.regex(p, f"{field}[{i}]") for i, p in enumerate(self.texts(data, key, field)))


# ---------------------------------------------------------------- building
def build_genre(name: str, data: Any, files: tuple[str, ...] = ()) -> Genre:
    """A Genre from the (merged) data of a genre file; ShuzhiError naming the field when it is wrong."""
    f = _Fields(name, files)
    if not isinstance(data, dict):
        f.fail("（整个文件）", f"应为键值对，现在是{_type_zh(data)}")
    p = f.mapping(data, "punctuation", "punctuation", required=True)
    punctuation = make_punctuation(
        f.text(p, "sentence_ends", "punctuation.sentence_ends"),
        f.text(p, "full_stops", "punctuation.full_stops", "。！？!?"),
        f.text(p, "commas", "punctuation.commas", "，,、"),
        f.text(p, "colons", "punctuation.colons", "：:"),
    )
    title = f.mapping(data, "report_title", "report_title", required=True)
    closing = f.mapping(data, "closing", "closing")
    notes = f.mapping(data, "notes", "notes")
    prompt = f.mapping(data, "prompt", "prompt")
    kinds = _kinds(f, f.mapping(data, "kinds", "kinds", required=True))
    keys = {str(k.kind) for k in kinds}
    default_kind = f.text(notes, "default_kind", "notes.default_kind", next(iter(k.kind for k in kinds if k.body), ""))
    counted_kind = f.text(notes, "counted_kind", "notes.counted_kind", default_kind)
    for field, kind in (("notes.default_kind", default_kind), ("notes.counted_kind", counted_kind)):
        if kind not in keys or not next(k for k in kinds if k.kind == kind).body:
            f.fail(field, f"应为本文体中有正文的部分类型（{'、'.join(k.kind for k in kinds if k.body)}），现在是「{kind}」")
    genre = Genre(
        name=f.text(data, "name", "name", name),
        title=f.text(data, "title", "title"),
        short_title=f.text(data, "short_title", "short_title", str(data.get("title") or name)),
        description=f.text(data, "description", "description", ""),
        kinds=kinds,
        numbering=_numbering(f, f.mapping(data, "numbering", "numbering", required=True), punctuation.sentence_ends,
                             punctuation.commas, punctuation.colons),
        punctuation=punctuation,
        corpus_kinds=_corpus(f, data.get("corpus", True), keys),
        title_words=f.texts(title, "words", "report_title.words"),
        title_max_chars=f.integer(title, "max_chars", "report_title.max_chars", 60, 1, 1000),
        title_template=f.text(title, "template", "report_title.template"),
        default_role=f.text(title, "default_role", "report_title.default_role", ""),
        title_fields=_title_fields(f, f.mapping(title, "fields", "report_title.fields")),
        closing_patterns=f.regexes(closing, "patterns", "closing.patterns"),
        closing_max_chars=f.integer(closing, "max_chars", "closing.max_chars", 150, 1, 10000),
        causes_leads=_leads(f, data),
        default_note_kind=default_kind,
        counted_note_kind=counted_kind,
        person_label=f.text(notes, "person_label", "notes.person_label", "本人"),
        voice=f.text(prompt, "voice", "prompt.voice", ""),
        rubric=_rubric(f, f.mapping(data, "rubric", "rubric", required=True)),
        sources=files,
    )
    try:
        genre.title_template.format(year="", org="", role="", **{k: "" for k in genre.title_fields})
    except (KeyError, IndexError, ValueError) as exc:
        f.fail("report_title.template", f"中的占位符 {exc} 无法填写（可用 {{year}} {{org}} {{role}} 及 fields 中的名称）")
    return genre


def _leads(f: _Fields, data: Mapping[str, Any]) -> tuple[re.Pattern[str], ...]:
    leads = f.regexes(data, "causes_leads", "causes_leads")
    for i, lead in enumerate(leads):
        if "lead" not in lead.groupindex:
            f.fail(f"causes_leads[{i}]", "缺少命名分组 (?P<lead>…)")
    return leads


def _corpus(f: _Fields, value: object, keys: set[str]) -> tuple[str, ...] | None:
    if value is True:
        return None
    if value is False or value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        unknown = [v for v in value if v not in keys and not is_builtin_kind(v)]
        if unknown:
            f.fail("corpus", f"中的「{'、'.join(unknown)}」不是部分类型")
        return tuple(value)
    f.fail("corpus", "应为 true、false 或可借用范文的部分类型列表")


def _title_fields(f: _Fields, raw: Mapping[str, Any]) -> Mapping[str, tuple[str, tuple[str, ...]]]:
    out = {}
    for key, spec in raw.items():
        if not isinstance(spec, dict):
            f.fail(f"report_title.fields.{key}", "应为键值对（default、find）")
        out[str(key)] = (f.text(spec, "default", f"report_title.fields.{key}.default", ""),
                         f.texts(spec, "find", f"report_title.fields.{key}.find"))
    return MappingProxyType(out)


def _numbering(f: _Fields, raw: Mapping[str, Any], ends: str, commas: str, colons: str) -> Any:
    clause_before = char_class(ends + commas + colons, r"\s")
    sentence_before = char_class(ends + colons, r"\n")
    labels = raw.get("labels")
    if not isinstance(labels, list) or not labels:
        f.fail("numbering.labels", "应为编号样式的列表")
    styles: dict[str, LabelStyle] = {}
    for i, item in enumerate(labels):
        field = f"numbering.labels[{i}]"
        if not isinstance(item, dict):
            f.fail(field, "应为键值对（name、level、pattern …）")
        name = f.text(item, "name", f"{field}.name")
        pattern = f.text(item, "pattern", f"{field}.pattern")
        if numeral_token(pattern) is None:
            f.fail(f"{field}.pattern", "应恰好包含一个编号占位符 {cn}、{num} 或 {circled}")
        inline = f.text(item, "inline", f"{field}.inline", "none")
        if inline not in INLINE_CONTEXTS:
            f.fail(f"{field}.inline", f"应为 {'、'.join(INLINE_CONTEXTS)} 之一")
        write = f.text(item, "write", f"{field}.write", "")
        if write and numeral_token(write) is None:
            f.fail(f"{field}.write", "应恰好包含一个编号占位符 {cn}、{num} 或 {circled}")
        level = f.integer(item, "level", f"{field}.level", None, 1, 4)
        try:
            styles[name] = compile_style(
                name, level, pattern, f.flag(item, "heading", f"{field}.heading", level <= 2), inline,
                f.flag(item, "point", f"{field}.point", False), write, clause_before, sentence_before,
            )
        except re.error as exc:
            f.fail(f"{field}.pattern", f"不是有效的正则表达式（{exc}）")
    export = {}
    raw_export = f.mapping(raw, "export", "numbering.export", required=True)
    for level in (1, 2):
        key = f"level{level}"
        style_name = f.text(raw_export, key, f"numbering.export.{key}")
        if style_name not in styles:
            f.fail(f"numbering.export.{key}", f"应为 numbering.labels 中的名称（{'、'.join(styles)}），现在是「{style_name}」")
        if not styles[style_name].write:
            f.fail(f"numbering.labels（{style_name}）.write", "缺失：导出要用它写编号")
        export[level] = styles[style_name]
    return build_grammar(list(styles.values()), export, clause_before, sentence_before)


def _rubric(f: _Fields, raw: Mapping[str, Any]) -> Mapping[str, Any]:
    shared = dict(load_data("rubric").get("problems") or {})
    problems = merge_data(shared, f.mapping(raw, "problems", "rubric.problems"))
    f.regex(problems.get("first_person"), "rubric.problems.first_person")
    for key in ("objective_excuse_patterns", "empty_formula_patterns"):
        for i, pattern in enumerate(problems.get(key) or []):
            f.regex(pattern, f"rubric.problems.{key}[{i}]")
    for key in ("self_markers", "others_markers", "subjective_markers"):
        f.texts(problems, key, f"rubric.problems.{key}")
    voice = f.mapping(raw, "voice", "rubric.voice", required=True)
    f.regex(voice.get("first_person"), "rubric.voice.first_person")
    structure = f.mapping(raw, "structure", "rubric.structure")
    f.regex(structure.get("causes_inline", "(?!)"), "rubric.structure.causes_inline")
    messages = f.mapping(raw, "messages", "rubric.messages", required=True)
    for key in MESSAGE_KEYS:
        f.text(messages, key, f"rubric.messages.{key}")
    return MappingProxyType({"problems": problems, "voice": dict(voice), "structure": dict(structure),
                             "messages": dict(messages)})


# ---------------------------------------------------------------- kinds
# What an added kind takes over from the built-in kind it is `like` (unless it says otherwise).
_INHERITED = ("level", "body", "answers", "under", "guide", "length")


def _kinds(f: _Fields, raw: Mapping[str, Any]) -> tuple[KindSpec, ...]:
    if not raw:
        f.fail("kinds", "缺失")
    entries: dict[str, dict[str, Any]] = {}
    for key, value in raw.items():
        if value is None:
            value = {}
        if not isinstance(value, dict):
            f.fail(f"kinds.{key}", f"应为键值对，现在是{_type_zh(value)}")
        entries[str(key)] = value
    builtin_values = [k.value for k in SectionKind]
    roles: dict[str, SectionKind] = {}
    for key, entry in entries.items():
        like = entry.get("like")
        if is_builtin_kind(key):
            if like not in (None, key):
                f.fail(f"kinds.{key}.like", "内置类型不能改成像别的类型")
            roles[key] = SectionKind(key)
        elif like is None or not is_builtin_kind(str(like)):
            f.fail(f"kinds.{key}.like", f"应为内置类型之一：{'、'.join(builtin_values)}（新增的类型要说明它像哪一种）")
        else:
            roles[key] = SectionKind(str(like))
    order = _order(f, entries, roles)
    specs = [_spec(f, key, entries, roles) for key in order]
    keys = set(order)
    for spec in specs:
        for attr in ("answers", "under"):
            target = getattr(spec, attr)
            if target and target not in keys:
                f.fail(f"kinds.{spec.kind}.{attr}", f"引用了本文体没有的部分类型「{target}」")
        if spec.under and spec.level < 2:
            f.fail(f"kinds.{spec.kind}.level", "有 under 的部分应为 2 级")
    return tuple(specs)


def _order(f: _Fields, entries: Mapping[str, dict[str, Any]], roles: Mapping[str, SectionKind]) -> list[str]:
    """Document order: the mapping's order; an added kind goes after `after` (default: its `like`)."""
    order = [k for k in entries if is_builtin_kind(k)]
    placed_after: dict[str, str] = {}
    for key in entries:
        if key in order:
            continue
        anchor = str(entries[key].get("after") or roles[key].value)
        if "after" in entries[key] and anchor not in entries:
            f.fail(f"kinds.{key}.after", f"引用了本文体没有的部分类型「{anchor}」")
        if anchor in order:
            position = order.index(placed_after.get(anchor, anchor)) + 1
        else:
            position = order.index("closing") if "closing" in order else len(order)
        order.insert(position, key)
        placed_after[anchor] = key
    return order


def _spec(f: _Fields, key: str, entries: Mapping[str, dict[str, Any]], roles: Mapping[str, SectionKind]) -> KindSpec:
    field = f"kinds.{key}"
    entry = dict(entries[key])
    role = roles[key]
    if not is_builtin_kind(key) and role.value in entries:
        parent = entries[role.value]
        for name in _INHERITED:
            if name not in entry and name in parent:
                entry[name] = parent[name]
    builtin = is_builtin_kind(key)
    default_level = 0 if role in (SectionKind.TITLE, SectionKind.OPENING, SectionKind.CLOSING) else 1
    name = f.text(entry, "name", f"{field}.name", key)
    priority = entry.get("match_priority")
    if priority is not None:
        f.integer(entry, "match_priority", f"{field}.match_priority", None, -1000, 1000)
    sub_items = entry.get("sub_items")
    return KindSpec(
        kind=SectionKind(key) if builtin else key,
        like=role,
        name=name,
        heading=f.text(entry, "heading", f"{field}.heading", name if default_level else ""),
        level=f.integer(entry, "level", f"{field}.level", default_level, 0, 3),
        body=f.flag(entry, "body", f"{field}.body", False),
        optional=f.flag(entry, "optional", f"{field}.optional", not builtin),
        answers=f.text(entry, "answers", f"{field}.answers", ""),
        under=f.text(entry, "under", f"{field}.under", ""),
        match_priority=priority,
        heading_patterns=f.regexes(entry, "heading_patterns", f"{field}.heading_patterns"),
        fallback_words=f.texts(entry, "fallback_words", f"{field}.fallback_words"),
        note_words=f.texts(entry, "note_words", f"{field}.note_words"),
        sub_items=_sub_items(f, sub_items, f"{field}.sub_items") if sub_items is not None else None,
        guide=f.text(entry, "guide", f"{field}.guide", ""),
        length=_length(f, entry.get("length"), f"{field}.length"),
    )


def _length(f: _Fields, raw: object, field: str) -> LengthRule | None:
    """`length: {base, per_fact, min, max}` (characters), None when the kind has none."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        f.fail(field, "应为键值对（base、per_fact、min、max，单位为字）")
    low = f.integer(raw, "min", f"{field}.min", 0, 0, 10000)
    return LengthRule(base=f.integer(raw, "base", f"{field}.base", 0, 0, 10000),
                      per_fact=f.integer(raw, "per_fact", f"{field}.per_fact", 0, 0, 2000),
                      min=low, max=f.integer(raw, "max", f"{field}.max", 10000, max(low, 1), 10000))


def _aspects(f: _Fields, raw: object, field: str) -> tuple[Aspect, ...]:
    if not isinstance(raw, list):
        f.fail(field, "应为方面的列表（name、heading、keywords）")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            f.fail(f"{field}[{i}]", "应为键值对（name、heading、keywords）")
        name = f.text(item, "name", f"{field}[{i}].name")
        out.append(Aspect(name, f.text(item, "heading", f"{field}[{i}].heading", f"在{name}方面"),
                          f.texts(item, "keywords", f"{field}[{i}].keywords")))
    return tuple(out)


def _sub_items(f: _Fields, raw: object, field: str) -> SubItems:
    if not isinstance(raw, dict):
        f.fail(field, "应为键值对（by、min、max …）")
    by = f.text(raw, "by", f"{field}.by", "theme")
    if by not in _SUB_ITEMS_BY:
        f.fail(f"{field}.by", f"应为 {'、'.join(_SUB_ITEMS_BY)} 之一")
    headings = {str(k if k is not None else ""): str(v) for k, v in f.mapping(raw, "headings", f"{field}.headings").items()}
    affinity = {str(k): str(v) for k, v in f.mapping(raw, "affinity", f"{field}.affinity").items()}
    by_year = {}
    for year, aspects in f.mapping(raw, "aspects_by_year", f"{field}.aspects_by_year").items():
        try:
            by_year[int(year)] = _aspects(f, aspects, f"{field}.aspects_by_year.{year}")
        except ValueError:
            f.fail(f"{field}.aspects_by_year", f"的键应为年份，现在是「{year}」")
    aspects = _aspects(f, raw.get("aspects") or [], f"{field}.aspects")
    if by == "aspect" and not aspects:
        f.fail(f"{field}.aspects", "缺失：按方面分项时要列出默认的方面")
    if by == "theme" and "" not in headings:
        f.fail(f"{field}.headings", "缺少键 \"\"（其他主题的小标题）")
    low = f.integer(raw, "min", f"{field}.min", 1, 0, 50)
    return SubItems(
        by=by, min=low, max=f.integer(raw, "max", f"{field}.max", 5, max(low, 1), 50),
        headings=MappingProxyType(headings), order=tuple(str(t) for t in f.texts(raw, "order", f"{field}.order")),
        affinity=MappingProxyType(affinity), aspects=aspects, aspects_by_year=MappingProxyType(by_year),
        required=f.flag(raw, "required", f"{field}.required", by == "aspect"),
        other_heading=f.text(raw, "other_heading", f"{field}.other_heading", "在其他方面"),
    )
