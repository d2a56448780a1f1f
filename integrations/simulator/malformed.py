"""Malformed student records of the kinds real feeds and fuzzers produce (RELIABILITY P1).

Each record starts as a schema-valid student and gets exactly one defect, chosen in turn from
``DEFECTS``, so a test can count what the engine must reject. Deterministic for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

Defect = Callable[[dict[str, Any], random.Random, list[str]], None]


def _student(rng: random.Random, district_id: str, school_ids: list[str]) -> dict[str, Any]:
    school = rng.choice(school_ids) if school_ids else ""
    number = rng.randrange(10**8, 10**9)
    return {
        "id": f"{rng.getrandbits(96):024x}",
        "district": district_id,
        "email": f"bad.record{number}@students.example.org",
        "name": {"first": "Bad", "middle": "", "last": f"Record{number}"},
        "created": "2025-08-01T12:00:00.000Z",
        "last_modified": "2025-08-01T12:00:00.000Z",
        "roles": {
            "student": {
                "sis_id": str(number),
                "student_number": str(number),
                "state_id": str(number * 3),
                "school": school,
                "schools": [school] if school else [],
                "grade": "9",
                "graduation_year": "2029",
                "dob": "5/17/2011",
                "gender": "F",
                "credentials": {"district_username": f"bad{number}"},
                "enrollments": [],
                "ext": {},
            }
        },
    }


def _student_role(record: dict[str, Any]) -> dict[str, Any]:
    return record["roles"]["student"]


def _missing_id(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    del r["id"]


def _null_id(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["id"] = None


def _int_id(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["id"] = rng.randrange(1, 10**6)


def _missing_district(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    del r["district"]


def _foreign_district(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["district"] = f"{rng.getrandbits(96):024x}"


def _missing_name(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    del r["name"]


def _name_is_string(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"] = "Record, Bad"


def _null_last_name(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["last"] = None


def _huge_name(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["last"] = "X" * 100_000


def _control_chars(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["first"] = "Bad\x00Na\x07me\x1b[31m"


def _rtl_override(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["last"] = "Record\u202egnp.exe"


def _emoji(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["first"] = "Bad \U0001f600\U0001f4a5"


def _html_in_name(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["last"] = '<script>alert("x")</script>'


def _email_without_at(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["email"] = "bad.record.students.example.org"


def _email_wrong_type(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["email"] = 12345


def _unknown_grade(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["grade"] = rng.choice(["14", "Grade 9", "K5", "ninth", "-1"])


def _grade_wrong_type(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["grade"] = 9


def _bad_dob(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    # Not "": Clever leaves dob empty when the SIS has none, and that is a valid record.
    _student_role(r)["dob"] = rng.choice(["2011-05-17", "13/45/2011", "yesterday"])


def _student_role_is_list(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["roles"]["student"] = ["9", "2029"]


def _roles_null(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["roles"] = None


def _missing_sis_id(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    del _student_role(r)["sis_id"]


def _sis_id_collision(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["sis_id"] = "100000001"


def _duplicate_id(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    if ids:
        r["id"] = rng.choice(ids)
    else:
        r["id"] = "000000000000000000000001"


def _unknown_school(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    school = f"{rng.getrandbits(96):024x}"
    _student_role(r)["school"] = school
    _student_role(r)["schools"] = [school]


def _schools_wrong_type(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["schools"] = "not-a-list"


DEFECTS: tuple[tuple[str, Defect], ...] = (
    ("missing_id", _missing_id),
    ("null_id", _null_id),
    ("int_id", _int_id),
    ("missing_district", _missing_district),
    ("foreign_district", _foreign_district),
    ("missing_name", _missing_name),
    ("name_is_string", _name_is_string),
    ("null_last_name", _null_last_name),
    ("huge_name", _huge_name),
    ("control_chars", _control_chars),
    ("rtl_override", _rtl_override),
    ("emoji", _emoji),
    ("html_in_name", _html_in_name),
    ("email_without_at", _email_without_at),
    ("email_wrong_type", _email_wrong_type),
    ("unknown_grade", _unknown_grade),
    ("grade_wrong_type", _grade_wrong_type),
    ("bad_dob", _bad_dob),
    ("student_role_is_list", _student_role_is_list),
    ("roles_null", _roles_null),
    ("missing_sis_id", _missing_sis_id),
    ("sis_id_collision", _sis_id_collision),
    ("duplicate_id", _duplicate_id),
    ("unknown_school", _unknown_school),
    ("schools_wrong_type", _schools_wrong_type),
)


def malformed_users(
    *,
    count: int,
    district_id: str,
    school_ids: list[str],
    user_ids: list[str] | None = None,
    seed: int = 0,
) -> list[tuple[str, dict[str, Any]]]:
    """``count`` (sort id, record) pairs, one defect each, cycling through ``DEFECTS``.

    The sort id places the record in id order: its own id when it has a string one, else a
    random 24-hex id, so malformed records land between valid ones.
    """
    rng = random.Random(f"malformed:{seed}")  # noqa: S311
    ids = list(user_ids or [])
    out = []
    for number in range(count):
        record = _student(rng, district_id, school_ids)
        sort_id = record["id"]
        _name, defect = DEFECTS[number % len(DEFECTS)]
        defect(record, rng, ids)
        if isinstance(record.get("id"), str) and record["id"]:
            sort_id = record["id"]
        out.append((sort_id, record))
    return out
