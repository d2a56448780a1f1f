"""The fake district generator: deterministic, realistic, with real districts' messy cases."""

from __future__ import annotations

import hashlib
import re
from collections import Counter

import pytest
from django.core.management import call_command

from integrations.simulator.generator import generate_district, write_dataset

HEX24 = re.compile(r"^[0-9a-f]{24}$")
DOB = re.compile(r"^(?:[0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
GRADES = {"PreKindergarten", "Kindergarten", "Other", *map(str, range(1, 13))}


@pytest.fixture(scope="module")
def district():
    return generate_district(students=3000, staff=300, schools=8, seed=11)


def _role(data, role):
    return [u for u in data["users"] if role in u["roles"]]


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    paths = []
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        path = tmp_path / f"{name}.json"
        write_dataset(generate_district(students=400, staff=50, schools=4, seed=seed), path)
        paths.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


# The bytes of one seed's district, pinned: tests, benchmarks and bug reports name a district by
# its seed, so a change to the generator that draws from its random numbers in another order
# (a refactor, a new field in the middle) must be a deliberate one. A deliberate change updates
# this value and says so.
SEED_5_SHA256 = "9cceb18814de3736cba1766fd3b4ee06ae0ac5acd178717e700acd6e01ad261a"


def test_a_seed_gives_the_same_bytes_as_before(tmp_path):
    path = tmp_path / "district.json"
    write_dataset(generate_district(students=400, staff=50, schools=4, seed=5), path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SEED_5_SHA256


def test_command_writes_a_loadable_file(tmp_path, capsys):
    out = tmp_path / "district.json"
    call_command(
        "clever_fake_district",
        "--students",
        "50",
        "--staff",
        "10",
        "--schools",
        "2",
        "--seed",
        "3",
        "--out",
        str(out),
        "--district-name",
        "Test Valley USD",
    )
    from integrations.simulator import Dataset

    dataset = Dataset.load(out)
    [district_id] = dataset.district_ids()
    assert dataset.get("districts", district_id)["name"] == "Test Valley USD"
    assert "Token for" in capsys.readouterr().out
    assert (
        dataset.tokens[district_id]
        == generate_district(
            students=50, staff=10, schools=2, seed=3, district_name="Test Valley USD"
        )["tokens"][district_id]
    )


def test_ids_are_unique_24_hex_and_lists_sorted(district):
    ids = [
        r["id"]
        for kind in ("districts", "schools", "users", "sections", "terms")
        for r in district[kind]
    ]
    assert all(HEX24.match(i) for i in ids)
    assert len(ids) == len(set(ids))
    for kind in ("schools", "users", "sections", "terms"):
        assert [r["id"] for r in district[kind]] == sorted(r["id"] for r in district[kind])


def test_schools_are_realistic(district):
    schools = district["schools"]
    assert len(schools) == 8
    assert all(re.fullmatch(r"\d{12}", s["nces_id"]) for s in schools)
    assert len({s["name"] for s in schools}) == 8
    assert {s["high_grade"] for s in schools} >= {"5", "8", "12"}
    assert all(s["location"]["city"] and s["location"]["zip"] for s in schools)


def test_students_are_realistic(district):
    students = _role(district, "student")
    assert len(students) >= 3000
    roles = [s["roles"]["student"] for s in students]
    assert all(r["grade"] in GRADES for r in roles)
    assert {r["grade"] for r in roles} >= GRADES - {"Other"}
    assert all(DOB.match(r["dob"]) for r in roles)
    assert len({r["sis_id"] for r in roles}) == len(roles)
    assert all(r["school"] in r["schools"] for r in roles)
    assert all(r["credentials"]["district_username"] for r in roles)
    blank_years = sum(1 for r in roles if r["graduation_year"] == "")
    assert 0.05 < blank_years / len(roles) < 0.25
    seniors = [r for r in roles if r["grade"] == "12" and r["graduation_year"]]
    assert {r["graduation_year"] for r in seniors} == {"2026"}
    high = [r for r in roles if r["grade"] in ("9", "10", "11", "12")]
    with_gpa = [r for r in high if "gpa_weighted" in r["ext"]]
    assert len(with_gpa) > 0.9 * len(high)
    for r in with_gpa:
        assert re.fullmatch(r"\d\.\d{3}", r["ext"]["gpa_weighted"])
        assert float(r["ext"]["gpa_weighted"]) >= float(r["ext"]["gpa_unweighted"])
    assert not any("gpa_weighted" in r["ext"] for r in roles if r["grade"] in ("1", "2", "3"))


def test_messy_cases_are_present(district):
    students = _role(district, "student")
    emails = [s["email"] for s in students]
    assert sum(e is None for e in emails) > 30  # missing emails
    assert any(
        e and e.endswith("@gmail.com") for e in [*emails, *(u["email"] for u in district["users"])]
    )
    assert any(e and e != e.lower() for e in emails if e)  # case differences
    names = [s["name"] for s in students]
    assert any(n["first"] != n["first"].strip() or n["last"] != n["last"].strip() for n in names)
    people = Counter(
        (s["name"]["first"], s["name"]["last"], s["roles"]["student"]["dob"]) for s in students
    )
    assert any(count > 1 for count in people.values())  # duplicate people, different ids
    last_names = Counter(s["name"]["last"].strip().lower() for s in students)
    assert last_names.most_common(1)[0][1] > 10  # shared last names


def test_employees_are_realistic(district):
    teachers = _role(district, "teacher")
    staff = _role(district, "staff")
    admins = _role(district, "district_admin")
    assert teachers and staff and admins
    assert all(1 <= len(t["roles"]["teacher"]["schools"]) <= 3 for t in teachers)
    assert any(len(t["roles"]["teacher"]["schools"]) > 1 for t in teachers)
    titles = Counter(s["roles"]["staff"].get("title") for s in staff)
    assert titles["Principal"] >= 8
    assert {"Counselor", "Registrar", "Secretary", "Nurse"} <= set(titles)
    assert any(not s["roles"]["staff"].get("title") for s in staff)  # staff without titles
    assert any("teacher" in u["roles"] and "staff" in u["roles"] for u in district["users"])
    assert all(s["roles"]["staff"]["staff_id"] for s in staff)
    assert all(a["roles"]["district_admin"]["title"] for a in admins)


def test_sections_link_existing_teachers_and_students(district):
    users = {u["id"]: u for u in district["users"]}
    schools = {s["id"] for s in district["schools"]}
    terms = {t["id"] for t in district["terms"]}
    enrolled = set()
    for section in district["sections"]:
        assert section["school"] in schools
        assert section["term_id"] in terms
        assert section["teacher"] in section["teachers"]
        for teacher in section["teachers"]:
            assert section["school"] in users[teacher]["roles"]["teacher"]["schools"]
        for student in section["students"]:
            assert "student" in users[student]["roles"]
        enrolled.update(section["students"])
    assert enrolled == {u["id"] for u in _role(district, "student")}


def test_tiny_and_invalid_sizes():
    tiny = generate_district(students=1, staff=0, schools=1, seed=1)
    assert len(tiny["users"]) == 1 and tiny["schools"][0]["low_grade"] == "Kindergarten"
    with pytest.raises(ValueError):
        generate_district(students=1, staff=1, schools=0, seed=1)
