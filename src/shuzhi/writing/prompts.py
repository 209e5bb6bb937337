"""Prompt templates are files in prompts/: `$var` placeholders, rendered strictly.

What a prompt says about the genre (its title, voice and the guide of each section) comes from the
genre file (genres/<name>.yaml `prompt.voice`, `kinds.<kind>.guide`), not from prompts/.
"""

from __future__ import annotations

import re
import time
from functools import cache
from pathlib import Path
from string import Template

from ..config import REPO_ROOT
from ..errors import ShuzhiError
from ..genre import Genre, resolve

_HEADER = re.compile(r"^<!--.*?-->\s*", re.S)
_state = {"dir": REPO_ROOT / "prompts"}


PROMPTS_RECHECK_S = 1.0  # how long the labels found in the prompt files are trusted before looking again
_labels: dict[str, object] = {}  # "at", "dir", "labels"


def configure_prompts(prompts_dir: Path) -> None:
    """Read prompt files from `prompts_dir` from now on (the Workspace passes Settings.prompts_dir)."""
    _state["dir"] = Path(prompts_dir)
    _labels.clear()


def _prompts_dir() -> Path:
    return _state["dir"]


def _read(path: Path) -> str:
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _read_stamped(path, stamp)


@cache
def _read_stamped(path: Path, stamp: int) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShuzhiError(f"提示词文件缺失：{path.name}，请检查 prompts/ 目录。", str(exc)) from exc
    return _HEADER.sub("", text, count=1).strip()


def template_variables(name: str) -> set[str]:
    """The $variables a prompt file uses (a test compares them with what callers pass)."""
    template = Template(_read(_prompts_dir() / f"{name}.md"))
    return {m.group("named") or m.group("braced") for m in template.pattern.finditer(template.template)
            if m.group("named") or m.group("braced")}


def render_prompt(name: str, **variables: object) -> str:
    """Render prompts/NAME.md; a missing variable raises rather than leaking `$var` into a prompt."""
    template = Template(_read(_prompts_dir() / f"{name}.md"))
    try:
        return template.substitute({k: str(v) for k, v in variables.items()})
    except KeyError as exc:
        raise ShuzhiError("提示词模板变量缺失。", f"prompt {name} missing variable {exc}") from exc


def section_guides(genre: Genre | None = None) -> dict[str, str]:
    """Section kind → how to write it (the genre's `kinds.<kind>.guide`, inserted as $section_guide)."""
    return {str(k.kind): k.guide for k in resolve(genre).kinds if k.guide}


_LABEL_LINE = re.compile(r"^([^\s$（：:][^$\n（：:]{0,30}?)(?:（[^）\n]*）)?[：:]\s*$")
_VARIABLE_LINE = re.compile(r"^\$\{?\w+\}?\s*$")


def prompt_labels() -> frozenset[str]:
    """The labels that open a block in the prompt files ("本节事实", "范文片段", "本节原文" …): a line
    ending in a colon whose next line is only a $variable. Quoted text must not start a block of its own.

    Every exemplar of a draft asks (about fifty times): the folder is read again at most every
    PROMPTS_RECHECK_S, or at once after `configure_prompts`."""
    folder, now = _prompts_dir(), time.monotonic()
    at, known = _labels.get("at"), _labels.get("labels")
    if (isinstance(at, float) and isinstance(known, frozenset) and _labels.get("dir") == folder
            and now - at < PROMPTS_RECHECK_S):
        return known
    found = _read_labels(folder)
    _labels.update(at=now, dir=folder, labels=found)
    return found


def _read_labels(folder: Path) -> frozenset[str]:
    labels: set[str] = set()
    for path in sorted(folder.glob("*.md")):
        lines = _read(path).splitlines()
        for line, following in zip(lines, lines[1:], strict=False):
            match = _LABEL_LINE.match(line.strip())
            if match and _VARIABLE_LINE.match(following.strip()):
                labels.add(match.group(1).strip())
    return frozenset(labels)


def neutralise_prompt_labels(text: str) -> str:
    """A line of quoted TEXT that starts like a prompt block ("本节事实：…") keeps its words, but its colon
    becomes "∶" (U+2236): it reads the same and no longer opens a block of the prompt."""
    labels = prompt_labels()
    if not labels or not any(label in text for label in labels):
        return text
    alternatives = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    pattern = re.compile(rf"(^|\n)(\s*(?:{alternatives})\s*(?:（[^）\n]*）)?)[：:]")
    return pattern.sub(lambda m: m.group(1) + m.group(2) + "∶", text)
