"""Prompt templates are files in prompts/: `$var` placeholders, rendered strictly.

What a prompt says about the genre (its title, voice and the guide of each section) comes from the
genre file (genres/<name>.yaml `prompt.voice`, `kinds.<kind>.guide`), not from prompts/.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from string import Template

from ..config import REPO_ROOT
from ..errors import ShuzhiError
from ..genre import Genre, resolve

_HEADER = re.compile(r"^<!--.*?-->\s*", re.S)
_state = {"dir": REPO_ROOT / "prompts"}


def configure_prompts(prompts_dir: Path) -> None:
    """Read prompt files from `prompts_dir` from now on (the Workspace passes Settings.prompts_dir)."""
    _state["dir"] = Path(prompts_dir)


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
