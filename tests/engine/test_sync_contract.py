"""One sync contract, once, in the lowest layer; the engine calls a spec's hooks, never probes.

Pure: no database. The seam tested is the one between the engine and a spec: a spec that gives
only the required members is a complete spec (the base class's defaults are what the engine
needs), and both real specs speak the contract's own types.
"""

from __future__ import annotations

import ast
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import integrations.clever
from integrations.engine.matching import build_index, may_need_review, plan_records
from naviance_sync import sync_contract
from naviance_sync.sync_contract import (
    KEEP,
    ErrorCode,
    Mapped,
    RecordError,
    SyncConfig,
    SyncSpec,
    get_path,
)
from staff import sync as staff_sync
from students import compiled as student_compiled
from students import sync as student_sync

ROOT = Path(__file__).resolve().parents[2]


def _config(data_type: str = "students", **kw: Any) -> SyncConfig:
    return SyncConfig(
        district_id=1,
        clever_district_id="d1",
        data_type=data_type,
        mapping={},
        codes={},
        school_matches={"cs7": 7},
        **kw,
    )


class _Minimal(SyncSpec):
    """Only what a spec must give: every optional hook is the base class's default."""

    data_type = "minimal"
    clever_role = "student"
    model = None
    fields = ("code", "name")
    active_column = "active"

    def map_record(self, raw: Any, config: SyncConfig) -> Mapped | RecordError:
        if not raw.get("code"):
            return RecordError(raw["id"], ErrorCode.MISSING_LINK_ID, "No code.")
        return Mapped(raw["id"], (raw["code"], raw.get("name", KEEP)), raw["id"], None)

    def link_key(self, values: tuple[Any, ...]) -> str:
        return str(values[0])

    def twin_keys(self, values: tuple[Any, ...]) -> tuple[str, ...]:
        return (f"nm:{values[1]}",) if values[1] is not KEEP else ()

    def is_active(self, value: Any) -> bool:
        return bool(value)

    def active_values(self) -> dict[str, Any]:
        return {"active": True}

    def inactive_values(
        self, now: datetime, config: SyncConfig | None = None, linked: bool = False
    ) -> dict[str, Any]:
        return {"active": False}

    def display_name(self, values: tuple[Any, ...]) -> str:
        return str(values[1])

    def format_value(self, field_name: str, value: Any) -> str:
        return "" if value is KEEP else str(value)


def test_a_spec_with_only_the_required_members_plans_a_full_sync():
    spec = _Minimal()
    # pk, clever_id, active, scope, *values
    index = build_index(spec, [(1, "c1", True, None, "A", "Ann"), (2, None, True, None, "B", "Bo")])
    config = _config("minimal")
    records = [
        spec.map_record({"id": "c1", "code": "A", "name": "Anne"}, config),
        spec.map_record({"id": "c2", "code": "B"}, config),
    ]
    errors = [spec.map_record({"id": "c3"}, config)]
    assert all(isinstance(r, Mapped) for r in records)
    assert all(isinstance(e, RecordError) for e in errors)

    plan = plan_records(spec, config, records, errors, index)

    assert [(pk, changes) for pk, _cid, _name, changes, _restore in plan.updates] == [
        (1, (("name", "Ann", "Anne"),)),  # KEEP left the name of c2's match alone
        (2, (("clever_id", None, "c2"),)),
    ]
    assert [e.code for e in plan.errors] == [ErrorCode.MISSING_LINK_ID]
    assert plan.reasons == {}  # the default explain gives no reason: nothing stored
    assert plan.inactivation_changes == {}
    assert not may_need_review(spec, index, records[0])


def test_the_default_link_label_names_a_shared_key_in_the_error():
    spec = _Minimal()
    config = _config("minimal")
    records = [
        spec.map_record({"id": "c1", "code": "A"}, config),
        spec.map_record({"id": "c2", "code": "A"}, config),
    ]
    plan = plan_records(spec, config, records, [], build_index(spec, []))
    assert {e.code for e in plan.errors} == {ErrorCode.DUPLICATE_LINK_ID}
    assert all("the same ID;" in e.message for e in plan.errors)


@pytest.mark.parametrize("spec", [student_sync.SPEC, staff_sync.SPEC], ids=lambda s: s.data_type)
def test_both_specs_are_sync_specs_and_answer_in_the_contracts_types(spec):
    assert isinstance(spec, SyncSpec)
    config = _config(spec.data_type)
    assert isinstance(spec.map_record({"id": "c1"}, config), RecordError)
    assert isinstance(spec.map_record(None, config), RecordError)
    role = "student" if spec.data_type == "students" else "district_admin"
    raw = {
        "id": "c1",
        "district": "d1",
        "name": {"first": "Ana", "last": "Lopez"},
        "email": "ana@example.org",
        "roles": {role: {"sis_id": "S1", "school": "cs7"}},
    }
    assert isinstance(spec.map_record(raw, config), Mapped)


def test_there_is_one_keep_and_it_survives_a_pickle():
    assert student_sync.KEEP is KEEP
    assert staff_sync.KEEP is KEEP
    assert pickle.loads(pickle.dumps(KEEP)) is KEEP  # noqa: S301 - our own bytes


def test_there_is_one_get_path():
    assert integrations.clever.get_path is get_path
    assert student_compiled.get_path is get_path  # the student mapping's lookup after a miss
    assert get_path({"ext": {"gpa.weighted": "4"}}, "ext.gpa.weighted") == "4"


def _python_files(*apps: str) -> list[Path]:
    return [p for app in apps for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts]


def test_the_contract_imports_nothing_but_the_standard_library():
    tree = ast.parse(Path(sync_contract.__file__).read_text())
    imported = {
        (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "abc", "collections", "dataclasses", "datetime", "enum"} | {
        "types",
        "typing",
    }


def test_no_product_code_probes_a_spec_for_an_attribute():
    """The base class gives every hook: ``getattr(spec, ...)`` / ``hasattr(spec, ...)`` would
    hide a misspelt hook (it silently takes the default) from mypy and from the tests."""
    probes = []
    for path in _python_files("naviance_sync", "students", "staff", "integrations"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"getattr", "hasattr"}
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in {"spec", "SPEC"}
            ):
                probes.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert probes == []


def test_the_result_types_are_defined_once():
    names = {"Mapped", "RecordError", "SyncConfig", "ErrorCode", "_Keep"}
    defined = []
    for path in _python_files("naviance_sync", "students", "staff", "integrations"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and node.name in names:
                defined.append(f"{path.relative_to(ROOT)}:{node.name}")
            if isinstance(node, ast.FunctionDef) and node.name == "get_path":
                defined.append(f"{path.relative_to(ROOT)}:get_path")
    assert sorted(defined) == sorted(
        f"naviance_sync/sync_contract.py:{name}" for name in (*names, "get_path")
    )


def test_repeated_ids_and_keys_are_errors_that_count_every_claimant_and_a_linked_record_updates():
    """The feed's ids and keys are sets with counts only for what repeats (memory, issue 18):
    every claimant of a shared key is an error naming how many share it, a Clever id sent twice
    is an error for both (an invalid record with that id counts too), a record linked by
    Clever id updates whatever its key, and the rest plan as before."""
    spec = _Minimal()
    config = _config("minimal")
    # pk, clever_id, active, scope, code, name: c1 is linked already.
    index = build_index(spec, [(1, "c1", True, None, "A", "Old")])
    raws = [
        {"id": "c1", "code": "A", "name": "New"},
        {"id": "c2", "code": "A"},
        {"id": "c3", "code": "A"},
        {"id": "c4", "code": "B"},
        {"id": "c4", "code": "C"},
        {"id": "c5", "code": "E"},
        {"id": "c6", "code": "F"},
    ]
    records = [spec.map_record(raw, config) for raw in raws]
    errors = [spec.map_record({"id": "c6"}, config)]  # no code: an error holding c6's id

    plan = plan_records(spec, config, records, errors, index)

    by_code: dict[str, list[str]] = {}
    for error in plan.errors:
        by_code.setdefault(error.code, []).append(error.clever_id)
        if error.code == ErrorCode.DUPLICATE_LINK_ID:
            assert error.message.startswith("3 Clever records have the same ID;")
    assert sorted(by_code[ErrorCode.DUPLICATE_LINK_ID]) == ["c2", "c3"]
    assert sorted(by_code[ErrorCode.DUPLICATE_CLEVER_ID]) == ["c4", "c4", "c6"]
    assert [(pk, changes) for pk, _c, _n, changes, _r in plan.updates] == [
        (1, (("name", "Old", "New"),))
    ]
    assert [rec.clever_id for rec in plan.creates] == ["c5"]
    assert plan.seen_clever_ids == {"c1", "c2", "c3", "c4", "c5", "c6"}


def test_a_feed_with_nothing_repeated_is_read_once():
    from integrations.engine.matching import _seen_and_repeated

    reads = []

    def items():
        reads.append(1)
        return iter(["a", "b", "c"])

    assert _seen_and_repeated(items) == (frozenset("abc"), {})
    assert len(reads) == 1
    assert _seen_and_repeated(lambda: iter("abcab")) == (frozenset("abc"), {"a": 2, "b": 2})
