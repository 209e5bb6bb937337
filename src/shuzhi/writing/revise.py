"""润色 / 扩写 / 缩写 one section's current text through the model, never adding facts; and the
figures a revision lost (or brought in), so the user can check them."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from ..datafiles import load_data
from ..figures import extract_figures, same_figure
from ..genre import Genre, resolve
from ..models import PlanSection
from .draft import section_facts
from .prompts import render_prompt


class ReviseAction(StrEnum):
    """What to do with a section's current text (labels and requests: data/section_tools.yaml)."""

    POLISH = "polish"  # 润色
    EXPAND = "expand"  # 扩写
    SHORTEN = "shorten"  # 缩写


def _tools() -> dict[str, Any]:
    return dict(load_data("section_tools") or {})


def revise_label(action: ReviseAction) -> str:
    """The action's Chinese name: 润色, 扩写, 缩写."""
    return str(((_tools().get("revise_actions") or {}).get(str(action)) or {}).get("label", str(action)))


def regenerate_presets() -> dict[str, str]:
    """Ready-made requests for 重新生成: label (更简洁, 更具体) → the request given to the model."""
    return {str(k): str(v) for k, v in (_tools().get("regenerate_presets") or {}).items()}


def skeleton_marker() -> str:
    return str(_tools().get("skeleton_marker") or "〔待写〕")


def build_revise_messages(section: PlanSection, text: str, action: ReviseAction, instruction: str = "",
                          genre: Genre | None = None) -> tuple[tuple[str, str], ...]:
    """System and user messages asking the model to revise TEXT; the facts are the section's notes."""
    g = resolve(genre)
    spec = (_tools().get("revise_actions") or {}).get(str(action)) or {}
    facts = section_facts(section, g)
    extra = instruction.strip()
    user = render_prompt(
        "revise",
        genre_title=g.title,
        section_name=g.kind_name(section.kind),
        heading=f"——{section.heading}" if section.heading else "",
        request=str(spec.get("request") or revise_label(action)),
        instruction=f"用户的补充要求：{extra}\n" if extra else "",
        facts="\n".join(f"- {f}" for f in facts) or "（提纲中本节没有列出事实，只能使用原文中已有的事实。）",
        text=text,
    )
    return (("system", render_prompt("draft_system")), ("user", user))


def dropped_figures(old: str, new: str, genre: Genre | None = None) -> tuple[str, ...]:
    """Figures of OLD (as written there) that NEW no longer has."""
    g = resolve(genre)
    kept = extract_figures(new, g)
    missing = [f.raw for f in extract_figures(old, g) if not any(same_figure(f, k) for k in kept)]
    return tuple(dict.fromkeys(missing))


def added_figures(old: str, new: str, facts: Sequence[str], genre: Genre | None = None) -> tuple[str, ...]:
    """Figures of NEW found neither in OLD nor in the section's facts."""
    g = resolve(genre)
    known = extract_figures(old + "\n" + "\n".join(facts), g)
    extra = [f.raw for f in extract_figures(new, g) if not any(same_figure(f, k) for k in known)]
    return tuple(dict.fromkeys(extra))


def revise_warnings(dropped: Sequence[str], added: Sequence[str]) -> tuple[str, ...]:
    """Plain Chinese warnings about a revision's figures."""
    warnings = []
    if dropped:
        warnings.append(f"修改后的正文少了原文中的数字：{'、'.join(dropped)}。请核对，需要时从历史版本中找回。")
    if added:
        warnings.append(f"修改后的正文出现了笔记和原文中都没有的数字：{'、'.join(added)}。请核对是否属实。")
    return tuple(warnings)
