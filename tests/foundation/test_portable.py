"""The repository is all the tests need: nothing in it reads a path outside the checkout.

A test that read Clever's specification from a folder beside the repository could not run on a
fresh clone anywhere else (issue 15). Code, scripts and configuration are scanned as text for
absolute or climbing paths into the machine the repository was written on; prose (Markdown) may
mention such paths.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.clever import spec

ROOT = Path(__file__).resolve().parents[2]
SKIP_DIRS = {".git", ".venv", "var", "node_modules", "__pycache__", "test-artifacts", "build"}
SCANNED_SUFFIXES = {".py", ".sh", ".toml", ".cfg", ".ini", ".yml", ".yaml", ".html", ".js", ".txt"}
SCANNED_NAMES = {"Makefile", "Dockerfile", "run"}
# Built from parts so that this file does not match itself.
_WORK, _SHARED, _HOME = "/" + "work/", ".." + "/shared", "~" + "/"
OUTSIDE = re.compile("|".join(re.escape(part) for part in (_WORK, _SHARED, _HOME)))


def _scanned_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS or part.startswith(".") and part != ".ci" for part in rel.parts):
            continue
        if not path.is_file():
            continue
        if path.suffix in SCANNED_SUFFIXES or path.name in SCANNED_NAMES or rel.parts[0] == "bin":
            files.append(path)
    return files


def paths_outside(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:120]}")
    return found


def test_no_code_or_configuration_reads_a_path_outside_the_repository():
    files = _scanned_files()
    assert len(files) > 100, "the scan must see the repository"
    assert paths_outside(files) == []


def test_the_scan_finds_a_path_outside_the_repository(tmp_path):
    sample = tmp_path / "reader.py"
    sample.write_text(
        f'SPEC = Path("{_WORK}shared/clever")\nOTHER = "{_SHARED}/x"\nHOME = "{_HOME}x"\nOK = 1\n'
    )
    assert [
        n for n, line in enumerate(sample.read_text().splitlines(), 1) if OUTSIDE.search(line)
    ] == [
        1,
        2,
        3,
    ]


def test_clevers_specification_is_read_from_inside_the_repository():
    assert spec.SPEC_DIR.resolve().is_relative_to(ROOT)
    for name in ("v3.0.yml", "v3.0-events.yml"):
        assert (spec.SPEC_DIR / name).is_file(), name
    assert spec.definition_schema("v3.0.yml", "Student")["$ref"] == "#/definitions/Student"
