"""No file of product code over 700 lines, no function over 80 (issue 15, "Done when").

Product code is every module of the four apps and ``bin/``, migrations left out (Django writes
them). A long file or function is where a change is expensive: split it along its seams (see
``docs/architecture.md``). There are no exceptions: the last long ones were split in December 2026.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("naviance_sync", "students", "staff", "integrations", "bin")
MAX_FILE_LINES = 700
MAX_FUNCTION_LINES = 80


def _modules() -> list[Path]:
    return sorted(
        path
        for app in PRODUCT
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
    )


def _functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, lines) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            name = f"{prefix}{node.name}"
            assert node.end_lineno is not None
            yield name, node.end_lineno - node.lineno + 1
            yield from _functions(node, f"{name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")


@cache
def _too_long() -> dict[str, int]:
    """Every file and function over its limit, with its length."""
    found: dict[str, int] = {}
    for path in _modules():
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT).as_posix()
        if text.count("\n") > MAX_FILE_LINES:
            found[where] = text.count("\n")
        for name, lines in _functions(ast.parse(text)):
            if lines > MAX_FUNCTION_LINES:
                found[f"{where}:{name}"] = lines
    return found


def test_no_product_file_or_function_is_longer_than_the_limit():
    found = _too_long()
    assert not found, (
        f"Over {MAX_FILE_LINES} lines a file or {MAX_FUNCTION_LINES} a function (lines): {found}. "
        "Split it along its seams."
    )


def test_the_checker_finds_a_long_function_by_its_qualified_name():
    source = "class A:\n    def f(self):\n" + "        x = 1\n" * 90
    assert dict(_functions(ast.parse(source))) == {"A.f": 91}
