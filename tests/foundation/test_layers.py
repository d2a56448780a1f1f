"""Arrows point one way: ``naviance_sync`` <- ``students``, ``staff`` <- ``integrations``.

Every module of the three lower apps is parsed with ``ast`` and every import in it is checked,
the ones inside functions included (a function-level import is still a dependency; it only hides
a cycle). ``TYPE_CHECKING`` blocks count too. Tests sit above every layer and are not walked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What each app may not import.
FORBIDDEN = {
    "naviance_sync": ("students", "staff", "integrations"),
    "students": ("integrations", "staff"),
    "staff": ("integrations", "students"),
}

# The only modules allowed to reach upward, and why. Keep this short.
EXCEPTIONS = {
    # The project's URL table wires every app's pages into one site: it is the top of the stack
    # even though it lives in the project package (Django's ROOT_URLCONF).
    "naviance_sync/urls.py": "wires the apps' URL tables together",
}


def _modules(app: str) -> list[Path]:
    return sorted(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)


def _imported(tree: ast.AST, module: str) -> list[tuple[int, str]]:
    """(line, dotted name) of every import in the module, relative ones resolved."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def upward_imports(app: str) -> list[str]:
    bad = []
    for path in _modules(app):
        rel = path.relative_to(ROOT).as_posix()
        if rel in EXCEPTIONS:
            continue
        module = rel[:-3].replace("/", ".")
        tree = ast.parse(path.read_text(), filename=rel)
        for line, name in _imported(tree, module):
            top = name.split(".", 1)[0]
            if top in FORBIDDEN[app]:
                bad.append(f"{rel}:{line} imports {name}")
    return bad


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_no_module_imports_a_layer_above_its_own(app):
    assert upward_imports(app) == []


def test_the_walk_sees_imports_inside_functions():
    tree = ast.parse("def f():\n    from integrations.models import ImportRun\n")
    assert _imported(tree, "staff.views") == [(2, "integrations.models")]


def test_the_walk_resolves_relative_imports():
    tree = ast.parse("from ..models import Role\nfrom . import views\n")
    assert _imported(tree, "staff.management.commands.x") == [
        (1, "staff.management.models"),
        (2, "staff.management.commands"),
    ]


def test_every_exception_still_exists():
    assert all((ROOT / rel).exists() for rel in EXCEPTIONS)
