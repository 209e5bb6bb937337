"""The front ends (app.py, ui/, the CLI) reach the core only through `shuzhi.api`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import shuzhi
import shuzhi.api

REPO = Path(__file__).resolve().parent.parent
FRONT_ENDS = [REPO / "app.py", *sorted((REPO / "ui").glob("*.py")), *sorted((REPO / "src/shuzhi/cli").glob("*.py"))]


def _core_imports(path: Path) -> list[tuple[str, tuple[str, ...], int]]:
    """(module, names, line) of every import of shuzhi code in a file; relative imports resolved for cli/."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, (), node.lineno) for a in node.names if a.name.split(".")[0] == "shuzhi"]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: only the CLI package uses them
                if node.level > 1:
                    module = "shuzhi." + module if module else "shuzhi"
                else:
                    module = "shuzhi.cli." + module if module else "shuzhi.cli"
            if module.split(".")[0] == "shuzhi":
                found.append((module, tuple(a.name for a in node.names), node.lineno))
    return found


@pytest.mark.parametrize("path", FRONT_ENDS, ids=lambda p: str(p.relative_to(REPO)))
def test_front_end_imports_only_the_api(path: Path) -> None:
    inside_cli = "src/shuzhi/cli" in str(path)
    for module, names, line in _core_imports(path):
        if inside_cli and module.startswith("shuzhi.cli"):
            continue  # the CLI's own modules
        assert module == "shuzhi.api", f"{path.name}:{line} imports {module}; use shuzhi.api"
        unknown = [n for n in names if n not in shuzhi.api.__all__]
        assert not unknown, f"{path.name}:{line} imports {unknown} which shuzhi.api does not export"


def test_the_rule_is_enforced_on_a_bad_import(tmp_path: Path) -> None:
    bad = tmp_path / "page.py"
    bad.write_text("from shuzhi.writing.draft import draft_report\nimport shuzhi.index\n", encoding="utf-8")
    assert [m for m, _, _ in _core_imports(bad)] == ["shuzhi.writing.draft", "shuzhi.index"]


def test_the_package_declares_its_public_api() -> None:
    assert "Workspace" in shuzhi.__all__ and shuzhi.Workspace is shuzhi.api.Workspace
    for name in shuzhi.api.__all__:
        assert hasattr(shuzhi.api, name), name


@pytest.mark.parametrize("package", ["shuzhi.corpus", "shuzhi.index", "shuzhi.llm", "shuzhi.notes", "shuzhi.storage"])
def test_packages_declare_all(package: str) -> None:
    import importlib

    module = importlib.import_module(package)
    assert module.__all__ and all(hasattr(module, n) for n in module.__all__)


def test_no_module_imports_private_names_of_another() -> None:
    offenders = []
    for path in (REPO / "src/shuzhi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("shuzhi")):
                offenders += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")
                              and not a.name.startswith("__")]
    assert not offenders
