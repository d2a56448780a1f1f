"""Malformed student records of the kinds real feeds and fuzzers produce (RELIABILITY P1).

Each record starts as a schema-valid student and gets exactly one defect, chosen in turn from
``DEFECTS``, so a test can count what the engine must do with it. Deterministic for a seed.

Every defect says what the product owes it (DESIGN.md, "Errors and warnings"): ``ERROR`` when the
record's identity is at stake (it is not imported), ``WARNING`` when one field is unusable (the
record is imported without it), ``VALID`` when the value is legal, only unusual (it is imported as
sent: Clever does not validate names, and real names hold every printable character).
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


def _gpa_not_a_number(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["ext"] = {"gpa_weighted": rng.choice(["N/A", "3,75", "A-", "--"])}


def _email_without_domain_dot(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["email"] = "ana@localschool"


def _long_first_name(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["first"] = "Maria-" + "Alejandra" * 22  # 204 characters: legal, not truncated


def _name_too_long_for_the_column(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["middle"] = "M" * 300


def _apostrophes_and_scripts(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    r["name"]["first"], r["name"]["last"] = rng.choice(
        [
            ("Seán", "O`Brien"),
            ("Dario", "D´Angelo"),
            ("Nguyễn", "Thị Minh"),
            ("明", "李"),
            ("محمد", "العلي"),
            ("Zoë", "Ŀŀewellyn-ʻAkana"),
        ]
    )


def _blank_grade(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    _student_role(r)["grade"] = ""  # in Clever's grade enum


def _null_optional_fields(r: dict[str, Any], rng: random.Random, ids: list[str]) -> None:
    role = _student_role(r)
    role["dob"] = None
    role["gender"] = ""
    role["state_id"] = None
    role["credentials"] = None
    r["email"] = None


ERROR, WARNING, VALID = "error", "warning", "valid"

DEFECTS: tuple[tuple[str, Defect, str], ...] = (
    ("missing_id", _missing_id, ERROR),
    ("null_id", _null_id, ERROR),
    ("int_id", _int_id, ERROR),
    ("missing_district", _missing_district, ERROR),
    ("foreign_district", _foreign_district, ERROR),
    ("missing_name", _missing_name, WARNING),
    ("name_is_string", _name_is_string, WARNING),
    ("null_last_name", _null_last_name, WARNING),
    ("huge_name", _huge_name, WARNING),
    ("control_chars", _control_chars, WARNING),
    ("rtl_override", _rtl_override, WARNING),
    ("emoji", _emoji, VALID),
    ("html_in_name", _html_in_name, VALID),
    ("email_without_at", _email_without_at, WARNING),
    ("email_wrong_type", _email_wrong_type, WARNING),
    ("unknown_grade", _unknown_grade, WARNING),
    ("grade_wrong_type", _grade_wrong_type, WARNING),
    ("bad_dob", _bad_dob, WARNING),
    ("student_role_is_list", _student_role_is_list, ERROR),
    ("roles_null", _roles_null, ERROR),
    ("missing_sis_id", _missing_sis_id, ERROR),
    ("sis_id_collision", _sis_id_collision, ERROR),
    ("duplicate_id", _duplicate_id, ERROR),
    ("unknown_school", _unknown_school, ERROR),
    ("schools_wrong_type", _schools_wrong_type, VALID),
    ("gpa_not_a_number", _gpa_not_a_number, WARNING),
    ("email_without_domain_dot", _email_without_domain_dot, WARNING),
    ("long_first_name", _long_first_name, VALID),
    ("name_too_long_for_the_column", _name_too_long_for_the_column, WARNING),
    ("apostrophes_and_scripts", _apostrophes_and_scripts, VALID),
    ("blank_grade", _blank_grade, VALID),
    ("null_optional_fields", _null_optional_fields, VALID),
)


def defect_outcome(number: int) -> str:
    """What the product owes the ``number``-th malformed record (``ERROR``, ``WARNING``, ``VALID``)."""
    return DEFECTS[number % len(DEFECTS)][2]


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
        _name, defect, _outcome = DEFECTS[number % len(DEFECTS)]
        defect(record, rng, ids)
        if isinstance(record.get("id"), str) and record["id"]:
            sort_id = record["id"]
        out.append((sort_id, record))
    return out
