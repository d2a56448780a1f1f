"""Shared test helpers live in ``tests/support/``: no test module imports another test module, and
only a conftest imports a conftest (to share its fixtures).

Importing a test module runs its module-level code and pytest may collect its tests twice (under
the importer's name too); a helper kept in a test module or a conftest is found by nobody looking
for helpers.
"""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_test_module(part: str) -> bool:
    return part.startswith("test_")


def imports_of_test_modules(path: Path) -> list[str]:
    rel = path.relative_to(TESTS.parent)
    package = ".".join(rel.with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(rel))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")[1:] if name.startswith("tests.") else []
            conftest = "conftest" in parts and path.name != "conftest.py"
            if conftest or any(_is_test_module(p) for p in parts):
                found.append(f"{rel}:{node.lineno} imports {name}")
                break
    return found


def test_no_test_module_or_conftest_is_imported_by_a_test_module():
    found = [hit for path in sorted(TESTS.rglob("*.py")) for hit in imports_of_test_modules(path)]
    assert found == []


def test_the_check_sees_absolute_and_relative_imports_of_test_modules(tmp_path):
    pkg = tmp_path / "tests" / "security"
    pkg.mkdir(parents=True)
    sample = pkg / "test_sample.py"
    sample.write_text(
        "from tests.security.test_headers_csrf import PRODUCTION\n"
        "from .test_lockout import attempt\n"
        "from tests.support.settings import PRODUCTION\n"
        "from . import test_role_matrix\n"
        "from tests.sso.conftest import build_world\n"
    )
    global TESTS
    saved, TESTS = TESTS, tmp_path / "tests"
    try:
        assert [hit.split(" imports ")[0] for hit in imports_of_test_modules(sample)] == [
            "tests/security/test_sample.py:1",
            "tests/security/test_sample.py:2",
            "tests/security/test_sample.py:4",
            "tests/security/test_sample.py:5",
        ]
    finally:
        TESTS = saved
