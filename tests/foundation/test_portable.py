"""The repository is all the tests need: nothing in it reads a path outside the checkout.

A test that read Clever's specification from a folder beside the repository could not run on a
fresh clone anywhere else (issue 15). Code, scripts and configuration are scanned as text for
absolute or climbing paths into the machine the repository was written on; prose (Markdown) may
mention such paths. Python that climbs from its own file (``Path(__file__).parents[N]`` or a chain
of ``.parent``) above the repository's root is caught too: that is how
``tests/config/test_fieldkinds_pure.py`` read ``parents[3] / "shared"`` without naming a path.
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


# How far up a path built from the module's own file goes: ``.parents[3]`` or ``.parent.parent``.
_FROM_FILE = r"__file__\)(?:\.resolve\(\)|\.absolute\(\))?"
PARENTS_INDEX = re.compile(_FROM_FILE + r"\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(_FROM_FILE + r"((?:\.parent\b)+)")


def climbs_out(line: str, depth: int) -> bool:
    """Whether ``line``, in a file ``depth`` path parts below the root, climbs above the root.

    ``parents[depth - 1]`` of such a file is the root; ``parents[depth]`` is outside it.
    """
    levels = [int(m.group(1)) + 1 for m in PARENTS_INDEX.finditer(line)]
    levels += [m.group(1).count(".parent") for m in PARENT_CHAIN.finditer(line)]
    return any(level > depth for level in levels)


def paths_outside(files: list[Path]) -> list[str]:
    found = []
    for path in files:
        rel = path.relative_to(ROOT)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            climbing = path.suffix == ".py" and climbs_out(line, len(rel.parts))
            if OUTSIDE.search(line) or climbing:
                found.append(f"{rel}:{number}: {line.strip()[:120]}")
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


def test_the_scan_finds_a_climb_above_the_repository_from_a_files_own_path():
    # The line tests/config/test_fieldkinds_pure.py had: parents[2] is the root, [3] is outside.
    here = "Path(__" + "file__)"  # built from parts so that this file does not match itself
    old = f'SPEC = {here}.resolve().parents[3] / "shared" / "clever" / "v3.0.yml"'
    assert climbs_out(old, depth=3)
    assert not climbs_out(old.replace("[3]", "[2]"), depth=3)
    assert climbs_out(f"BASE = {here}.parent.parent.parent", depth=2)
    assert not climbs_out(f"BASE_DIR = {here}.resolve().parent.parent", depth=2)
    assert not climbs_out(f"SPEC_DIR = {here}.resolve().parent / 'swagger'", depth=3)


def test_clevers_specification_is_read_from_inside_the_repository():
    assert spec.SPEC_DIR.resolve().is_relative_to(ROOT)
    for name in ("v3.0.yml", "v3.0-events.yml"):
        assert (spec.SPEC_DIR / name).is_file(), name
    assert spec.definition_schema("v3.0.yml", "Student")["$ref"] == "#/definitions/Student"
