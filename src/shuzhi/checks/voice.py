"""A 述职 is a first-person account: the secretary reports on their own duty."""

from __future__ import annotations

import re

from ..datafiles import load_data
from ..models import Finding


def has_first_person(text: str) -> bool:
    return bool(re.search(load_data("rubric")["voice"]["first_person"], text))


def voice_findings(draft_text: str, problems_and_causes: str | None) -> list[Finding]:
    """Warn when the draft, or its problems and causes, never speak as 我/本人/作为书记."""
    if not has_first_person(draft_text):
        return [
            Finding(
                check="voice",
                severity="warn",
                message="全文没有第一人称（“我”“本人”“作为支部书记”）。述职报告是书记本人向组织和党员报告履职情况，"
                "请用第一人称写，尤其在问题和原因部分写明本人的责任。",
            )
        ]
    if problems_and_causes is not None and problems_and_causes.strip() and not has_first_person(problems_and_causes):
        return [
            Finding(
                check="voice",
                severity="warn",
                message="问题和原因部分没有一句书记本人的责任表态（如“作为支部书记，我……”）。"
                "查摆问题要先从自身找，不能只写支部和党员的问题。",
                section="problems",
            )
        ]
    return []
