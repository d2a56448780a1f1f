"""A row lock (``select_for_update``) only means something inside a transaction, and outside one
Django refuses it on PostgreSQL (``TransactionManagementError``): a 500 on the page.

The staff settings page lost its ``@transaction.atomic`` when ``staff/services.py`` was split into
a package (December 2026): every test of the service ran inside a test transaction and passed; the
browser test, on a live server with real transactions, got the 500. This check reads the product
code: a function that locks rows is atomic itself (``@transaction.atomic``) or locks them inside a
``with transaction.atomic():`` block, or says why not (``# lock-in-caller-transaction``) when it
is only ever called inside another service's transaction.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("naviance_sync", "students", "staff", "integrations")
OPT_OUT = "# lock-in-caller-transaction"


def _is_atomic(node: ast.expr) -> bool:
    """``transaction.atomic``, ``transaction.atomic()`` or ``atomic(...)``."""
    target = node.func if isinstance(node, ast.Call) else node
    return (isinstance(target, ast.Attribute) and target.attr == "atomic") or (
        isinstance(target, ast.Name) and target.id == "atomic"
    )


def _locks_outside_atomic(body: list[ast.stmt]) -> bool:
    """A ``select_for_update`` call in ``body`` that no ``with ...atomic()`` encloses."""
    for stmt in body:
        if isinstance(stmt, ast.With) and any(_is_atomic(i.context_expr) for i in stmt.items):
            continue
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue  # checked on its own
        for node in ast.walk(stmt):
            if isinstance(node, ast.With) and any(_is_atomic(i.context_expr) for i in node.items):
                break
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "select_for_update"
            ):
                return True
    return False


def unguarded_locks(source: str, where: str) -> list[str]:
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if any(_is_atomic(d) for d in node.decorator_list):
            continue
        if OPT_OUT in lines[node.lineno - 1]:
            continue
        if _locks_outside_atomic(node.body):
            found.append(f"{where}:{node.lineno} {node.name}")
    return found


def test_every_row_lock_is_taken_inside_a_transaction():
    found = []
    for app in PRODUCT:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            where = path.relative_to(ROOT).as_posix()
            found += unguarded_locks(path.read_text(encoding="utf-8"), where)
    assert not found, (
        "select_for_update outside a transaction (a 500 on PostgreSQL): make the function "
        f"@transaction.atomic or lock inside `with transaction.atomic():` - {found}"
    )


def test_the_check_finds_a_lock_without_a_transaction_and_accepts_the_two_safe_forms():
    bare = "def f():\n    return M.objects.select_for_update().get(pk=1)\n"
    decorated = "@transaction.atomic\n" + bare
    block = (
        "def f():\n    with transaction.atomic():\n        M.objects.select_for_update().get()\n"
    )
    assert unguarded_locks(bare, "x.py") == ["x.py:1 f"]
    assert unguarded_locks(decorated, "x.py") == []
    assert unguarded_locks(block, "x.py") == []
