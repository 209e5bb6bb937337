"""The reviewers' rubric for 存在问题及原因 (DOMAIN.md), as specific Chinese findings.

The shared phrase lists live in data/rubric.yaml (`problems:`); what depends on the genre (who
writes, the first person, the advice texts) in the genre file's `rubric:`, merged over them. This
module only splits the section into problems, causes and measures (by the genre's numbering
grammar) and applies the lists.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from ..figures import extract_figures
from ..genre import Genre, SectionKind, Severity, resolve
from ..models import Finding, TextEmbedder
from .report import join_evidence

_HEADING_MAX_CHARS = 24  # a line this short without a sentence end is a heading, not a problem


@dataclass(frozen=True)
class ProblemsSplit:
    """A problems section taken apart."""

    intro: str
    problems: tuple[str, ...]  # one text per enumerated problem (label removed)
    causes: str  # the causes part plus inline "由于…" clauses
    cause_items: tuple[str, ...]  # enumerated causes of the causes part (not inline clauses)


def _rules(g: Genre) -> dict[str, Any]:
    data: dict[str, Any] = g.rubric["problems"]
    return data


def clear_rubric_rules() -> None:
    """Kept for callers: the rubric is part of the genre, whose cache follows the rules folder."""


def _is_heading_line(line: str, g: Genre) -> bool:
    text = line.strip().lstrip("#").strip()
    text = g.numbering.strip_label(text)[1]
    return len(text) <= _HEADING_MAX_CHARS and g.punctuation.sentence_end_re.search(text) is None


def _drop_headings(text: str, g: Genre, keep_leads: bool = False) -> str:
    """Remove heading lines ("二、存在问题及原因", "存在的不足"): short, no sentence end.

    With KEEP_LEADS, a short line starting with one of the genre's causes lead-ins after some body text
    stays: it is a lead-in ("分析存在上述问题的原因：" on its own line before 一是…二是…), not a heading.
    """
    kept: list[str] = []
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if not _is_heading_line(ln, g) or (keep_leads and kept and cause_start(ln.strip(), g) is not None):
            kept.append(ln)
    return "\n".join(kept)


def _lead_searches(g: Genre) -> tuple[re.Pattern[str], ...]:
    """The genre's causes lead-ins (anchored at a paragraph start), found also after a sentence end."""
    ends = re.escape(g.punctuation.sentence_ends)
    return tuple(re.compile(f"(?:^|(?<=[{ends}]))[ \t]*(?:{p.pattern.removeprefix('^')})", re.M)
                 for p in g.causes_leads)


def cause_start(text: str, genre: Genre | None = None) -> int | None:
    """Where the causes part of a problems text starts (the first lead-in of the genre's `causes_leads`
    at a line start or after a sentence end: "究其原因，", "分析原因：", "原因是…"), or None."""
    g = resolve(genre)
    starts = [m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t"))
              for p in _lead_searches(g) if (m := p.search(text))]
    return min(starts) if starts else None


def split_items(text: str, genre: Genre | None = None) -> tuple[str, list[str]]:
    """(intro, items) of an enumerated passage; without labels, one item per line/sentence."""
    g = resolve(genre)
    text = text.strip()
    labels = g.numbering.item_labels(text)
    if not labels:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        if len(lines) == 1:
            stops = re.escape(g.punctuation.full_stops)
            lines = [s for s in re.split(f"(?<=[{stops}])", lines[0]) if s.strip()]
        return "", lines
    intro = text[: labels[0].start()].strip()
    items = []
    for i, m in enumerate(labels):
        end = labels[i + 1].start() if i + 1 < len(labels) else len(text)
        item = text[m.end() : end].strip()
        if item:
            items.append(item)
    return intro, items


def split_problems(problems_text: str, causes_text: str | None = None, genre: Genre | None = None) -> ProblemsSplit:
    """Problems, then causes (from "究其原因…", "原因是…", "由于…" clauses and `causes_text`)."""
    g = resolve(genre)
    r = _rules(g)
    body = _drop_headings(problems_text, g, keep_leads=True)
    at = cause_start(body, g)
    problem_part, cause_part = (body[:at], body[at:]) if at is not None else (body, "")
    intro, items = split_items(problem_part, g)
    inline: list[str] = []
    starts = tuple(r["cause_clause_starts"])
    ends = g.punctuation.sentence_ends
    for item in items:
        for clause_m in re.finditer("|".join(map(re.escape, starts)), item):
            tail = item[clause_m.start() :]
            cut = min((tail.find(c) for c in ends if c in tail), default=len(tail))
            inline.append(tail[: cut + 1])
    separate = _drop_headings(causes_text or "", g)
    cause_texts = [t for t in (cause_part.strip(), *inline, separate) if t]
    causes = "\n".join(cause_texts)
    cause_items: list[str] = []
    for t in (cause_part.strip(), separate):
        if t:
            cause_items.extend(split_items(t, g)[1])
    return ProblemsSplit(intro, tuple(items), causes, tuple(cause_items))


def _found(words: list[str], text: str, negators: tuple[str, ...] = (), patterns: tuple[str, ...] = ()) -> list[str]:
    """Phrases of WORDS (literal) and PATTERNS (regexes; the matched text is reported) in TEXT,
    except where one of NEGATORS stands just before ("不能以任务繁重为借口")."""
    hits: list[str] = []
    regexes = [re.escape(w) for w in words] + list(patterns)
    for regex in regexes:
        for m in re.finditer(regex, text):
            if not m.group(0):
                continue
            before = text[max(0, m.start() - 8) : m.start()]
            if any(n in before for n in negators):
                continue
            if m.group(0) not in hits:
                hits.append(m.group(0))
    # "任务重" inside "工作任务重": report the longer phrase only.
    return [w for w in hits if not any(w != o and w in o for o in hits)]


def _quote(phrases: list[str] | tuple[str, ...], limit: int = 60) -> str:
    return "".join(f"「{p.strip(' 。；;，,')[:limit]}」" for p in phrases)


def _bigrams(text: str) -> set[str]:
    s = re.sub(r"[^\w]", "", text)
    return {s[i : i + 2] for i in range(len(s) - 1)}


def _overlap(a: str, b: str) -> float:
    ba, bb = _bigrams(a), _bigrams(b)
    if not ba or not bb:
        return 0.0
    return len(ba & bb) / min(len(ba), len(bb))


def _formulas(text: str, r: dict[str, Any]) -> list[str]:
    """Every empty formula of TEXT, in order, one per place: the hedges of `empty_formula_patterns`
    ("还需进一步提高", "还有差距") and the words of `empty_formulas` not inside one of them."""
    spans: list[tuple[int, int]] = []
    for pattern in r.get("empty_formula_patterns") or ():
        spans.extend(m.span() for m in re.finditer(pattern, text) if m.group(0))
    for word in r["empty_formulas"]:
        for m in re.finditer(re.escape(word), text):
            if not any(a <= m.start() and m.end() <= b for a, b in spans):
                spans.append(m.span())
    return [text[a:b] for a, b in sorted(set(spans))]


def _is_vague(item: str, r: dict[str, Any], g: Genre) -> bool:
    core = item.strip()
    if core.startswith(tuple(r["cause_clause_starts"])):
        return False
    bare = not extract_figures(core, g) and not any(mk in core for mk in r["example_markers"])
    if bare and len(_formulas(core, r)) >= int(r.get("vague_formula_min", 2)):
        return True  # "政治站位还需进一步提高，“四个意识”还需进一步增强": formulas, however long
    chars = len(re.sub(r"[\W_]", "", core))
    ends = re.escape(g.punctuation.sentence_ends)
    sentences = [s for s in re.split(f"[{ends}]", core) if s.strip()]
    clauses = [c for c in re.split(f"[{re.escape(g.punctuation.commas)}{ends}]", core) if c.strip()]
    short = (len(clauses) <= 1 and chars <= int(r["vague_max_chars"])) or (
        len(clauses) == 2 and chars <= int(r["vague_two_clause_max_chars"])
    )
    return (
        short
        and len(sentences) <= 1
        and not extract_figures(core, g)
        and not any(mk in core for mk in r["example_markers"])
    )


def _about_others(text: str, r: dict[str, Any]) -> bool:
    """TEXT names other people (the genre's others_markers, rubric.yaml others_patterns)."""
    return (any(mk in text for mk in r["others_markers"])
            or any(re.search(p, text) for p in r.get("others_patterns") or ()))


def _names_writer(sentence: str, r: dict[str, Any]) -> bool:
    """SENTENCE names the writer in the first person, reflexives (自己, 自身: rubric.yaml
    reflexive_words) aside: in a sentence about others they are the others' own."""
    reflexives = set(r.get("reflexive_words") or ())
    return any(m.group(0) not in reflexives for m in re.finditer(r["first_person"], sentence))


def _others_own(hit: str, text: str, r: dict[str, Any], g: Genre) -> bool:
    """Every clause holding HIT describes other people ("有的楼栋长年纪偏大、精力有限"): a state of
    theirs, not the writer's excuse ("由于工作任务重，部分党员…" stays an excuse)."""
    ends = re.escape(g.punctuation.commas.replace("、", "") + g.punctuation.sentence_ends + "；;")
    clauses = [c for c in re.split(f"[{ends}\n]", text) if hit in c]
    return bool(clauses) and all(_about_others(c, r) and not _names_writer(c, r) for c in clauses)


def _owns_up(problem: str, r: dict[str, Any], g: Genre) -> bool:
    """A problem the writer owns: a sentence naming the writer (本人, 书记…) that is neither an
    excuse nor a strength passed off as a weakness ("本人对自己要求太严" does not count); in a problem
    about others, only a first-person sentence ("我对支委履职督促不够") counts."""
    excuses = tuple(r["objective_excuses"]) + tuple(r["strength_as_weakness"])
    patterns = tuple(r.get("objective_excuse_patterns") or ())
    sentences = g.split_sentences(problem)
    # A problem headed by other people ("部分支部委员履职不到位") is owned only in the first person:
    # "支部工作主要靠书记一人推动" names the secretary, but blames the committee members.
    about_others = bool(sentences) and _about_others(sentences[0], r)
    for sentence in sentences:
        if not any(mk in sentence for mk in r["self_markers"]):
            continue
        if about_others and not _names_writer(sentence, r):
            continue
        if any(w in sentence for w in excuses) or any(re.search(p, sentence) for p in patterns):
            continue
        return True
    return False


def _key_words(text: str, r: dict[str, Any]) -> list[str]:
    """Content words of a note line (jieba), minus general words and figures."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    stop = set(r["topic_stopwords"]) | set(r.get("shortfall_stopwords") or ())
    words = [w for w in jieba.lcut(text, HMM=False)
             if len(w) >= 2 and w not in stop and re.match(r"^[^\W\d_]+$", w)]
    return list(dict.fromkeys(words))


def omitted_shortfalls(section_text: str, notes_text: str, genre: Genre | None = None) -> list[str]:
    """Problem-like lines of the notes (parse_notes items filed under problems) none of whose key
    words the section mentions."""
    from ..errors import InputRejected
    from ..notes import parse_notes

    g = resolve(genre)
    r = _rules(g)
    if not notes_text.strip():
        return []
    try:
        notes = parse_notes(notes_text, genre=g)
    except InputRejected:
        return []
    out: list[str] = []
    for item in notes.items:
        if g.role(item.section) != SectionKind.PROBLEMS:
            continue
        words = _key_words(item.text, r)
        if len(words) < int(r.get("shortfall_min_words", 1)):
            continue
        if not any(w in section_text for w in words) and item.text not in out:
            out.append(item.text)
    return out


def topics(text: str, genre: Genre | None = None, side: str = "") -> set[str]:
    """Topic words (jieba, minus general words) and topic groups a passage is about; with SIDE
    ("problem" or "measure"), also the remedy relations (rubric.yaml remedy_relations) it holds that side of."""
    import jieba  # slow to import; only the alignment check needs it

    jieba.setLogLevel(logging.WARNING)
    r = _rules(resolve(genre))
    stop = set(r["topic_stopwords"])
    tokens = jieba.lcut(text, HMM=False)
    words = {w for w in tokens if len(w) >= 2 and w not in stop and re.match(r"^\w+$", w)}
    # A modifier before a general noun names a specific group: 在职+党员, 流动+党员, 农村+支部 (compound_heads).
    heads = set(r.get("compound_heads") or ())
    words |= {a + b for a, b in zip(tokens, tokens[1:], strict=False)
              if b in heads and a not in stop and len(a) >= 2 and re.match(r"^[\u4e00-\u9fff]+$", a)}
    for i, group in enumerate(r["topic_groups"]):
        if any(g in text for g in group):
            words.add(f"group:{i}")
    if side:
        for i, relation in enumerate(r.get("remedy_relations") or ()):
            if any(w in text for w in relation.get(side) or ()):
                words.add(f"remedy:{i}")
    return words


def _shared_weight(a: set[str], b: set[str], remedy: float = 1.0) -> float:
    """How much two passages share: a specific word (3+ characters, a topic group) counts 1, a short one ½,
    a remedy relation (a problem's cause and the measure's cure) REMEDY."""
    shared = sum(remedy if w.startswith("remedy:") else 1.0 if len(w) >= 3 else 0.5 for w in a & b)
    # One term in two spellings of one word: 联席会 ~ 联席会议, 积分制 ~ 积分制管理 (3+ characters, not a tag).
    long_b = [x for x in b - a if len(x) >= 3 and ":" not in x]
    shared += sum(1.0 for w in a - b if len(w) >= 3 and ":" not in w and any(w in x or x in w for x in long_b))
    return shared


def _meaning_scores(problems: list[str], measures: list[str], embedder: TextEmbedder | None,
                    r: dict[str, Any]) -> tuple[list[list[float]], dict[str, Any]] | None:
    """(cosine matrix problems × measures, the embedder's calibration), or None to compare by keywords
    only: no embedder, no calibration for it in data/rubric.yaml `measure_meaning`, or it failed."""
    if embedder is None:
        return None
    calibration = (r.get("measure_meaning") or {}).get(embedder.name)
    if not calibration:
        return None
    try:
        vectors = [list(map(float, v)) for v in embedder.embed([*problems, *measures])]
    except Exception as exc:  # noqa: BLE001 - a check must fall back, not crash
        logging.getLogger(__name__).warning("embedder failed in the measure check: %s", exc)
        return None
    if len(vectors) != len(problems) + len(measures):
        return None
    ps, ms = vectors[: len(problems)], vectors[len(problems) :]
    return [[sum(a * b for a, b in zip(p, m, strict=True)) for m in ms] for p in ps], calibration


def unmatched_problems(problems: list[str], measures: list[str], genre: Genre | None = None,
                       embedder: TextEmbedder | None = None) -> list[str]:
    """Problems no measure answers, by meaning and keywords.

    Each problem–measure pair gets a score: the topics they share (a specific word 1, a short one ½, see
    `_shared_weight`), plus, with a calibrated EMBEDDER, (cosine − cosine_base) × cosine_scale of their
    embeddings (data/rubric.yaml `measure_meaning`). Pairs are then taken one to one, best first (one
    shared word such as 联席会议 must not let a measure answer two problems); a problem left over is still
    answered when some measure scores very high with it (a measure may cover two related problems).
    """
    r = _rules(resolve(genre))
    enough = float(r.get("measure_match_min", 1.0))
    plenty = float(r.get("measure_reuse_min", 2.0))
    problem_topics = [topics(p, genre, "problem") for p in problems]
    measure_topics = [topics(m, genre, "measure") for m in measures]
    remedy = float(r.get("remedy_weight", 1.0))
    scores = [[_shared_weight(pt, mt, remedy) for mt in measure_topics] for pt in problem_topics]
    meaning = _meaning_scores(problems, measures, embedder, r)
    if meaning is not None:
        cosines, cal = meaning
        base, scale = float(cal["cosine_base"]), float(cal["cosine_scale"])
        scores = [[s + (c - base) * scale for s, c in zip(row, crow, strict=True)]
                  for row, crow in zip(scores, cosines, strict=True)]
        enough, plenty = float(cal["match_min"]), float(cal["reuse_min"])
    pairs = sorted(((scores[i][j], i, j) for i in range(len(problems)) for j in range(len(measures))),
                   reverse=True)
    answered: set[int] = set()
    used: set[int] = set()
    for score, i, j in pairs:
        if score >= enough and i not in answered and j not in used:
            answered.add(i)
            used.add(j)
    for i in range(len(problems)):
        if i not in answered and any(s >= plenty for s in scores[i]):
            answered.add(i)
    return [p for i, p in enumerate(problems) if i not in answered]


def headline(item: str, genre: Genre | None = None) -> str:
    """The first sentence of a problem or measure ("支部书记党务能力不强"), without its end mark."""
    g = resolve(genre)
    sentences = g.split_sentences(item.strip())
    first = sentences[0] if sentences else item.strip()
    return first.rstrip(g.punctuation.sentence_ends + g.punctuation.commas + " ")


def diagnose_problems(
    problems_text: str, next_steps_text: str | None = None, causes_text: str | None = None,
    genre: Genre | None = None, notes_text: str | None = None, embedder: TextEmbedder | None = None,
) -> list[Finding]:
    """Findings of the rubric on a 存在问题及原因 section (causes may be inline or separate).

    The rubric and its advice are the genre's (a 述职报告's: the secretary's own duty; a
    对照检查材料's: the member's own thinking). With NOTES_TEXT, shortfalls the notes list and the
    section leaves out are reported too (omitted_shortfall). With EMBEDDER, problems and measures are
    also compared by meaning (no_matching_measure).
    """
    g = resolve(genre)
    r = _rules(g)
    split = split_problems(problems_text, causes_text, g)
    problems = [p for p in split.problems if not p.startswith(tuple(r["cause_clause_starts"]))] or list(split.problems)
    whole = "\n".join([problems_text, causes_text or ""])
    out: list[Finding] = []

    def add(check: str, message: str, evidence: str, section: str = SectionKind.PROBLEMS) -> None:
        out.append(Finding(check=check, severity=Severity.WARN, message=message, evidence=evidence, section=section))

    vague = [p for p in problems if _is_vague(p, r, g)]
    if vague:
        add(
            "vague",
            f"{len(vague)}条问题只有一句标题，没有具体表现：{_quote([v.rstrip('。；;，,') for v in vague])}。"
            "请写清楚具体表现——哪项工作、在什么场合、出现过几次、举一个实例，让问题“看得见”。",
            join_evidence(vague),
        )
    excuses = _found(
        list(r["objective_excuses"]),
        whole,
        tuple(n.replace("…", "") for n in r["excuse_negators"]),
        tuple(r.get("objective_excuse_patterns") or ()),
    )
    excuses = [e for e in excuses if not _others_own(e, whole, r, g)]
    if excuses:
        add("objective_excuse", g.message("objective_excuse", quoted=_quote(excuses)), "、".join(excuses), SectionKind.CAUSES)
    strengths = _found(list(r["strength_as_weakness"]), whole)
    if strengths:
        add("strength_as_weakness", g.message("strength_as_weakness", quoted=_quote(strengths)), "、".join(strengths))
    clause_ends = re.escape(g.punctuation.commas + g.punctuation.sentence_ends)
    claims = [
        clause
        for clause in dict.fromkeys(re.split(f"[{clause_ends}\n]", whole))
        if any(c in clause for c in r["objective_claims"])
    ]
    causes = split.causes
    if not causes.strip():
        add("missing_subjective_causes", g.message("missing_causes"), "", SectionKind.CAUSES)
    elif claims or not any(mk in causes for mk in r["subjective_markers"]):
        why = f"把问题归结为{_quote(claims)}" if claims else "原因部分没有涉及主观方面"
        add("missing_subjective_causes", g.message("not_subjective_causes", why=why), causes[:120], SectionKind.CAUSES)
    if split.cause_items and problems:
        restated = [
            c for c in split.cause_items
            if any(_overlap(c, p) >= float(r["restate_overlap"]) for p in problems) and len(c) >= 4
        ]
        if restated:
            add(
                "causes_restate_problems",
                f"原因只是把问题换个说法重复了一遍：{_quote(restated)}。原因应回答“为什么会这样”，"
                "指向思想认识、能力、作风等根源。",
                join_evidence(restated),
                SectionKind.CAUSES,
            )
    if not re.search(r["first_person"], whole):
        add("no_first_person", g.message("no_first_person"), "")
    others = [p for p in problems if _about_others(p, r)]
    selfs = [p for p in problems if _owns_up(p, r, g)]
    if others and not selfs:
        add("others_only", g.message("others_only", quoted=_quote(others)), join_evidence(others))
    if next_steps_text and next_steps_text.strip() and problems:
        _, measures = split_items(_drop_headings(next_steps_text, g), g)
        unmatched = unmatched_problems(problems, measures or [next_steps_text], g, embedder)
        if unmatched:
            count = f"（问题{len(problems)}条，措施{len(measures)}条）" if len(measures) < len(problems) else ""
            steps = g.kind_name(g.first_like(SectionKind.NEXT_STEPS) or SectionKind.NEXT_STEPS)
            add(
                "no_matching_measure",
                f"{steps}没有回应这些问题{count}：{_quote([headline(u, g)[:40] for u in unmatched])}。"
                f"问题与措施应一一对应：请在{steps}中针对每条问题写一条具体措施（做什么、怎么做、何时完成）。",
                join_evidence(unmatched),
                g.first_like(SectionKind.NEXT_STEPS) or SectionKind.NEXT_STEPS,
            )
    formula_text = "\n".join([problems_text, next_steps_text or ""])
    formulas = _formulas(formula_text, r)
    chars = max(len(re.sub(r"\s", "", formula_text)), 1)
    slogans = _found(list(r.get("empty_slogans") or ()), whole)
    if len(formulas) >= int(r["empty_formula_min"]) and len(formulas) * 100 / chars >= float(r["empty_formula_per_100"]):
        distinct = list(dict.fromkeys(formulas + slogans))
        add(
            "empty_formula",
            f"套话堆砌：{len(formulas)}处{_quote(distinct[:6])}等，内容却很少。"
            "每句话要落到具体的事、具体的做法和时间节点上。",
            "、".join(distinct),
        )
    elif slogans:
        add(
            "empty_formula",
            f"{_quote(slogans)}是空洞的口号，说不出任何具体问题。查摆问题要写清哪项工作、差在哪里、有什么实例。",
            "、".join(slogans),
        )
    if notes_text and notes_text.strip():
        omitted = omitted_shortfalls(whole, notes_text, g)
        if omitted:
            add(
                "omitted_shortfall",
                f"笔记中记下的不足在这部分没有写到：{_quote(omitted)}。笔记里的问题应如实查摆，不能回避。",
                join_evidence(omitted),
            )
    return out
