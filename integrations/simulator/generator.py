"""A realistic, seeded Clever district: schools, students, teachers, staff, admins, sections.

Same arguments -> same dataset, byte for byte (no wall clock, no global random state), so a test,
a benchmark and a bug report can all name a district by its seed. The data carries the messy cases
real districts have, at small seeded rates (see ``MESS``): missing and personal emails, names and
emails differing only in case or spaces, shared last names, duplicate people (same name and date
of birth under two Clever ids), staff without titles, a teacher who is also staff, blank
graduation years, GPAs as ``ext`` fields.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .dataset import token_for_district
from .names import (
    DEPARTMENTS,
    DISTRICT_ADMIN_TITLES,
    FIRST_NAMES,
    LAST_NAMES,
    MIDDLE_NAMES,
    PLACES,
    RACES,
    STAFF_TITLES,
    STATES,
    STREET_SUFFIXES,
    STREETS,
)
from .sections import SCHOOL_YEAR, TERM_END, TERM_START, district_sections

_EPOCH_START = int(datetime(SCHOOL_YEAR, 7, 1, tzinfo=UTC).timestamp())
_EPOCH_SPAN = 60 * 86400  # records created over July and August

# Rates of the messy cases (share of the records concerned).
MESS = {
    "student_no_email_young": 0.45,  # PreK-2 students often have no email
    "student_no_email": 0.03,
    "personal_email": 0.02,
    "email_case": 0.02,  # "Jane.Doe@..." vs the usual lower case
    "name_whitespace": 0.005,  # " Maria" / "Lopez "
    "name_case": 0.005,  # "SMITH", "mcdonald"
    "duplicate_person": 0.003,  # same name + dob, another Clever id
    "blank_graduation_year": 0.12,
    "missing_gpa": 0.03,
    "second_school": 0.01,
    "staff_no_title": 0.04,
    "teacher_also_staff": 0.03,
    "employee_no_email": 0.01,
    "grade_other": 0.002,
}

GRADE_ORDER = ("PreKindergarten", "Kindergarten", *(str(g) for g in range(1, 13)))
_LEVELS = {
    "Elementary School": ("PreKindergarten", "5"),
    "Middle School": ("6", "8"),
    "High School": ("9", "12"),
    "K-8 School": ("Kindergarten", "8"),
    "K-12 School": ("Kindergarten", "12"),
}
_PERSONAL_DOMAINS = ("gmail.com", "yahoo.com", "hotmail.com", "icloud.com", "outlook.com")
_NOT_WORD = re.compile(r"[^a-z]")


def _weighted(pairs: tuple[tuple[str, int], ...]) -> tuple[list[str], list[int]]:
    return [value for value, _ in pairs], [weight for _, weight in pairs]


_RACE_VALUES, _RACE_WEIGHTS = _weighted(RACES)
_TITLE_VALUES, _TITLE_WEIGHTS = _weighted(STAFF_TITLES)


def _timestamp(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Ids:
    """Clever-like ObjectIds: creation time first, then seeded random bits (so ids sort by age)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.seen: set[str] = set()

    def new(self) -> tuple[str, str]:
        while True:
            epoch = _EPOCH_START + self.rng.randrange(_EPOCH_SPAN)
            value = f"{epoch:08x}{self.rng.getrandbits(64):016x}"
            if value not in self.seen:
                self.seen.add(value)
                return value, _timestamp(epoch)


def _slug(text: str) -> str:
    return _NOT_WORD.sub("", text.lower())


def _grade_range(low: str, high: str) -> list[str]:
    return list(GRADE_ORDER[GRADE_ORDER.index(low) : GRADE_ORDER.index(high) + 1])


def _school_levels(count: int) -> list[str]:
    """A plausible mix: mostly elementary, then middle and high; tiny districts get K-8/K-12."""
    if count <= 0:
        return []
    if count == 1:
        return ["K-12 School"]
    if count == 2:
        return ["K-8 School", "High School"]
    high = max(1, round(count * 0.18))
    middle = max(1, round(count * 0.22))
    return (
        ["High School"] * high
        + ["Middle School"] * middle
        + ["Elementary School"] * (count - high - middle)
    )


def generate_district(
    *,
    students: int,
    staff: int,
    schools: int,
    seed: int,
    district_id: str | None = None,
    district_name: str | None = None,
) -> dict[str, Any]:
    """One district's dataset for the simulator (see :class:`~.dataset.Dataset` for the shape).

    ``staff`` counts every employee: about 65% teachers, 30% school staff, a few district admins.
    """
    if students < 0 or staff < 0 or schools < 1:
        raise ValueError("need at least one school and no negative counts")
    return _Generator(seed=seed, district_id=district_id, district_name=district_name).run(
        students=students, staff=staff, schools=schools
    )


class _Generator:
    def __init__(self, *, seed: int, district_id: str | None, district_name: str | None) -> None:
        self.seed = seed
        self.rng = random.Random(f"clever-fake-district:{seed}")  # noqa: S311 - test data
        self.ids = _Ids(self.rng)
        state = self.rng.choice(STATES)
        self.state, self.cities, self.zip_prefix, self.lat, self.lon = state
        place = self.rng.choice(PLACES)
        self.district_name = (
            district_name
            or f"{place} {self.rng.choice(('Unified', 'Independent', 'Consolidated', 'Public'))} School District"
        )
        self.domain = f"{_slug(place)}schools.org"
        self.student_domain = f"students.{self.domain}"
        if district_id is not None:
            self.district_id = district_id
            self.ids.seen.add(district_id)
        else:
            self.district_id = self.ids.new()[0]
        self.employee_emails: set[str] = set()
        self.usernames: set[str] = set()

    # --- helpers -----------------------------------------------------------------------------

    def _location(self, *, full: bool = True) -> dict[str, Any]:
        rng = self.rng
        zip_code = f"{self.zip_prefix}{rng.randrange(100, 1000)}"
        if not full:
            return {"zip": zip_code}
        return {
            "address": f"{rng.randrange(10, 9999)} {rng.choice(STREETS)} {rng.choice(STREET_SUFFIXES)}",
            "city": rng.choice(self.cities),
            "state": self.state,
            "zip": zip_code,
            "lat": f"{self.lat + rng.uniform(-0.2, 0.2):.5f}",
            "lon": f"{self.lon + rng.uniform(-0.2, 0.2):.5f}",
        }

    def _name(self) -> dict[str, str]:
        rng = self.rng
        roll = rng.random()
        middle = rng.choice(MIDDLE_NAMES) if roll < 0.7 else ""
        return {"first": rng.choice(FIRST_NAMES), "middle": middle, "last": rng.choice(LAST_NAMES)}

    def _messy_name(self, name: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        roll = rng.random()
        if roll < MESS["name_whitespace"]:
            key = rng.choice(("first", "last"))
            name[key] = rng.choice((f" {name[key]}", f"{name[key]} ", f"{name[key]}  "))
        elif roll < MESS["name_whitespace"] + MESS["name_case"]:
            key = rng.choice(("first", "last"))
            name[key] = rng.choice((name[key].upper(), name[key].lower()))
        return name

    def _username(self, name: dict[str, str], number: str) -> str:
        base = f"{_slug(name['first'])[:1]}{_slug(name['last'])[:12]}" or "user"
        candidate = f"{base}{number[-4:]}"
        suffix = 1
        while candidate in self.usernames:
            suffix += 1
            candidate = f"{base}{number[-4:]}{suffix}"
        self.usernames.add(candidate)
        return candidate

    def _employee_email(self, name: dict[str, str]) -> str | None:
        rng = self.rng
        roll = rng.random()
        if roll < MESS["employee_no_email"]:
            return None
        first, last = _slug(name["first"]), _slug(name["last"])
        if roll < MESS["employee_no_email"] + MESS["personal_email"]:
            return f"{first}{last}{rng.randrange(1, 99)}@{rng.choice(_PERSONAL_DOMAINS)}"
        local = f"{first}.{last}"
        candidate = local
        number = 1
        while f"{candidate}@{self.domain}" in self.employee_emails:
            number += 1
            candidate = f"{local}{number}"
        email = f"{candidate}@{self.domain}"
        self.employee_emails.add(email)
        if rng.random() < MESS["email_case"]:
            email = f"{name['first'].strip()}.{name['last'].strip()}@{self.domain.title()}".replace(
                " ", ""
            )
        return email

    # --- the district ------------------------------------------------------------------------

    def run(self, *, students: int, staff: int, schools: int) -> dict[str, Any]:
        school_records = self._schools(schools)
        admins, school_staff, teachers = self._split_staff(staff)
        employees = self._district_admins(admins) + self._staff(school_staff, school_records)
        teacher_records = self._teachers(teachers, school_records, employees)
        student_records = self._students(students, school_records)
        sections, terms = district_sections(
            rng=self.rng,
            new_id=self.ids.new,
            district_id=self.district_id,
            schools=school_records,
            students=student_records,
            teachers=teacher_records,
        )
        users = sorted(student_records + teacher_records + employees, key=lambda user: user["id"])
        district = self._district(admins=[u for u in users if "district_admin" in u["roles"]])
        return {
            "districts": [district],
            "schools": sorted(school_records, key=lambda school: school["id"]),
            "users": users,
            "sections": sorted(sections, key=lambda section: section["id"]),
            "terms": terms,
            "tokens": {self.district_id: token_for_district(self.district_id, seed=str(self.seed))},
        }

    def _district(self, *, admins: list[dict[str, Any]]) -> dict[str, Any]:
        contact = admins[0] if admins else None
        return {
            "id": self.district_id,
            "name": self.district_name,
            "mdr_number": str(2_000_000 + self.rng.randrange(1_000_000)),
            "nces_id": self.nces_district,
            "sis_type": self.rng.choice(("powerschool", "sftp", "infinite_campus", "skyward")),
            "launch_date": f"{SCHOOL_YEAR}-07-15",
            "portal_url": f"https://clever.com/in/{_slug(self.district_name)[:30]}",
            "login_methods": ["Clever Badges", "Google"],
            "last_sync": _timestamp(_EPOCH_START + _EPOCH_SPAN + 3600),
            "state": "success",
            "error": "",
            "pause_start": None,
            "pause_end": None,
            "district_contact": {
                "id": contact["id"],
                "district": self.district_id,
                "email": contact.get("email") or f"admin@{self.domain}",
                "name": {"first": contact["name"]["first"], "last": contact["name"]["last"]},
                "title": contact["roles"]["district_admin"].get("title") or "District Admin",
            }
            if contact
            else {
                "id": self.ids.new()[0],
                "district": self.district_id,
                "email": f"admin@{self.domain}",
                "name": {"first": "District", "last": "Admin"},
                "title": "District Admin",
            },
        }

    def _schools(self, count: int) -> list[dict[str, Any]]:
        rng = self.rng
        self.nces_district = f"{rng.randrange(1, 57):02d}{rng.randrange(10000, 100000)}"
        used_names: set[str] = set()
        out = []
        for number, level in enumerate(_school_levels(count), 1):
            name = f"{rng.choice(PLACES)} {level}"
            tries = 0
            while name in used_names:
                tries += 1
                place = (
                    f"{rng.choice(PLACES)} {rng.choice(STREETS)}"
                    if tries < 20
                    else f"{rng.choice(PLACES)} No. {number}"
                )
                name = f"{place} {level}"
            used_names.add(name)
            low, high = _LEVELS[level]
            record_id, created = self.ids.new()
            principal = self._name()
            out.append(
                {
                    "id": record_id,
                    "district": self.district_id,
                    "name": name,
                    "sis_id": str(100 + number),
                    "school_number": str(100 + number),
                    "state_id": f"{self.state}-{rng.randrange(100000, 999999)}",
                    "nces_id": f"{self.nces_district}{number:05d}",
                    "mdr_number": str(10_000_000 + rng.randrange(10_000_000)),
                    "phone": f"({rng.randrange(201, 990)}) 555-{rng.randrange(1000, 10000)}",
                    "low_grade": low,
                    "high_grade": high,
                    "location": self._location(),
                    "principal": {
                        "name": f"{principal['first']} {principal['last']}",
                        "email": f"{_slug(principal['first'])}.{_slug(principal['last'])}@{self.domain}",
                    },
                    "created": created,
                    "last_modified": created,
                    "ext": {},
                }
            )
        return out

    @staticmethod
    def _split_staff(total: int) -> tuple[int, int, int]:
        admins = 0 if total < 2 else min(5, max(1, total // 100))
        school_staff = round((total - admins) * 0.3)
        return admins, school_staff, total - admins - school_staff

    def _employee(self, number: str) -> dict[str, Any]:
        record_id, created = self.ids.new()
        name = self._messy_name(self._name())
        return {
            "id": record_id,
            "district": self.district_id,
            "email": self._employee_email(name),
            "name": name,
            "created": created,
            "last_modified": created,
            "roles": {},
        }

    def _district_admins(self, count: int) -> list[dict[str, Any]]:
        out = []
        for index in range(count):
            user = self._employee(f"A{index:04d}")
            user["roles"]["district_admin"] = {
                "title": DISTRICT_ADMIN_TITLES[index % len(DISTRICT_ADMIN_TITLES)]
            }
            out.append(user)
        return out

    def _staff(self, count: int, schools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for index in range(count):
            staff_id = f"E{10000 + index}"
            user = self._employee(staff_id)
            if index < len(schools):
                title: str | None = "Principal"
                school_ids = [schools[index]["id"]]
            else:
                title = rng.choices(_TITLE_VALUES, _TITLE_WEIGHTS)[0]
                school_ids = [rng.choice(schools)["id"]]
                if rng.random() < 0.08 and len(schools) > 1:
                    other = rng.choice(schools)["id"]
                    if other not in school_ids:
                        school_ids.append(other)
            role: dict[str, Any] = {
                "staff_id": staff_id,
                "schools": school_ids,
                "department": rng.choice(DEPARTMENTS),
                "roles": [],
                "credentials": {"district_username": self._username(user["name"], staff_id)},
                "ext": {},
            }
            roll = rng.random()
            if index >= len(schools) and roll < MESS["staff_no_title"]:
                choice = rng.randrange(3)  # missing key, empty string or null: all seen in feeds
                if choice == 1:
                    role["title"] = ""
                elif choice == 2:
                    role["title"] = None
            else:
                role["title"] = title
            user["roles"]["staff"] = role
            out.append(user)
        # One district admin also works as school staff (employee roles merge by email in Clever).
        return out

    def _teachers(
        self, count: int, schools: list[dict[str, Any]], employees: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        rng = self.rng
        out = []
        for index in range(count):
            number = f"T{20000 + index}"
            user = self._employee(number)
            primary = (
                schools[index % len(schools)]["id"]
                if index < len(schools)
                else rng.choice(schools)["id"]
            )
            extra = rng.choices((0, 1, 2), (85, 12, 3))[0]
            school_ids = [primary]
            for _ in range(extra):
                other = rng.choice(schools)["id"]
                if other not in school_ids:
                    school_ids.append(other)
            user["roles"]["teacher"] = {
                "sis_id": number,
                "teacher_number": number,
                "state_id": f"{self.state}{rng.randrange(10**6, 10**7)}",
                "title": rng.choice(("Teacher", "Teacher", "Teacher", "", "Classroom Teacher")),
                "school": primary,
                "schools": school_ids,
                "credentials": {"district_username": self._username(user["name"], number)},
                "legacy_id": user["id"],
                "ext": {},
            }
            if rng.random() < MESS["teacher_also_staff"]:
                user["roles"]["staff"] = {
                    "staff_id": f"E{60000 + index}",
                    "title": rng.choice(("Department Chair", "Counselor", "Instructional Coach")),
                    "schools": school_ids[:1],
                    "department": "Counseling",
                    "roles": [],
                    "credentials": dict(user["roles"]["teacher"]["credentials"]),
                    "ext": {},
                }
            out.append(user)
        return out

    def _students(self, count: int, schools: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rng = self.rng
        # Students per school in proportion to the grades it serves; grades evenly within it.
        spans = [_grade_range(s["low_grade"], s["high_grade"]) for s in schools]
        weights = [len(span) for span in spans]
        total_weight = sum(weights)
        plan: list[tuple[dict[str, Any], list[str], int]] = []
        assigned = 0
        for school, span, weight in zip(schools, spans, weights, strict=True):
            share = count * weight // total_weight
            plan.append((school, span, share))
            assigned += share
        for index in range(count - assigned):
            school, span, share = plan[index % len(plan)]
            plan[index % len(plan)] = (school, span, share + 1)

        out: list[dict[str, Any]] = []
        sis_base = 100000 + rng.randrange(100000)
        state_base = 4_000_000_000 + rng.randrange(100_000_000)
        school_ids = [s["id"] for s in schools]
        serial = 0
        for school, span, share in plan:
            for position in range(share):
                grade = span[position * len(span) // share] if share else span[0]
                if rng.random() < MESS["grade_other"]:
                    grade = "Other"
                out.append(
                    self._student(serial, grade, school["id"], school_ids, sis_base, state_base)
                )
                serial += 1
        # Duplicate people: a second record with the same name and birth date (a re-enrolment
        # entered as a new student, or twins' data mixed up), with its own Clever id and SIS id.
        duplicates = int(count * MESS["duplicate_person"])
        for _ in range(min(duplicates, len(out))):
            original = out[rng.randrange(len(out))]
            copy_ = self._student(
                serial,
                original["roles"]["student"]["grade"],
                original["roles"]["student"]["school"],
                school_ids,
                sis_base,
                state_base,
            )
            copy_["name"] = dict(original["name"])
            copy_["roles"]["student"]["dob"] = original["roles"]["student"]["dob"]
            out.append(copy_)
            serial += 1
        return out

    def _student(
        self,
        serial: int,
        grade: str,
        school: str,
        school_ids: list[str],
        sis_base: int,
        state_base: int,
    ) -> dict[str, Any]:
        rng = self.rng
        record_id, created = self.ids.new()
        name = self._messy_name(self._name())
        sis_id = str(sis_base + serial)
        years_in, grad_year, dob = self._student_age(grade)
        email = self._student_email(name, years_in, sis_id)
        schools = self._student_schools(school, school_ids)
        ext = self._student_gpa(grade, years_in)
        student = {
            "sis_id": sis_id,
            "student_number": sis_id if rng.random() < 0.9 else f"S{sis_id}",
            "state_id": str(state_base + serial * 7 + rng.randrange(7)),
            "school": school,
            "schools": schools,
            "grade": grade,
            "graduation_year": grad_year,
            "dob": dob,
            "gender": rng.choices(("M", "F", "X", ""), (49, 49, 1, 1))[0],
            "race": rng.choices(_RACE_VALUES, _RACE_WEIGHTS)[0],
            "hispanic_ethnicity": rng.choices(("Y", "N", ""), (25, 70, 5))[0],
            "ell_status": rng.choices(("Y", "N", ""), (10, 85, 5))[0],
            "location": self._location(full=rng.random() < 0.5),
            "credentials": {"district_username": self._username(name, sis_id)},
            "enrollments": [
                {"school": school_id, "start_date": TERM_START, "end_date": TERM_END}
                for school_id in schools
            ],
            "created": created,
            "last_modified": created,
            "ext": ext,
        }
        return {
            "id": record_id,
            "district": self.district_id,
            "email": email,
            "name": name,
            "created": created,
            "last_modified": created,
            "roles": {"student": student},
        }

    # The steps of one student, in the order they draw from ``rng`` (the order is the output:
    # the same seed gives the same district, byte for byte).

    def _student_age(self, grade: str) -> tuple[int, str, str]:
        """Years in school (Kindergarten = 0), graduation year (sometimes blank) and birth date."""
        rng = self.rng
        if grade == "Other":
            years_in, grad_year = rng.randrange(5, 18), ""
        else:
            years_in = GRADE_ORDER.index(grade) - 1  # Kindergarten = 0
            grad_year = str(SCHOOL_YEAR + 1 + 12 - years_in)
        if grad_year and rng.random() < MESS["blank_graduation_year"]:
            grad_year = ""
        birth_year = SCHOOL_YEAR - 5 - years_in - (1 if rng.random() < 0.25 else 0)
        dob = f"{rng.randrange(1, 13)}/{rng.randrange(1, 29)}/{birth_year}"
        return years_in, grad_year, dob

    def _student_email(self, name: dict[str, str], years_in: int, sis_id: str) -> str | None:
        """None (more often for the youngest), a personal address, or the district's (its case
        or spacing sometimes off)."""
        rng = self.rng
        roll = rng.random()
        first, last = _slug(name["first"]), _slug(name["last"])
        if (years_in <= 2 and roll < MESS["student_no_email_young"]) or (
            years_in > 2 and roll < MESS["student_no_email"]
        ):
            return None
        if rng.random() < MESS["personal_email"]:
            return f"{first}{last}{rng.randrange(1, 999)}@{rng.choice(_PERSONAL_DOMAINS)}"
        email = f"{first}.{last}{sis_id[-3:]}@{self.student_domain}"
        if rng.random() < MESS["email_case"]:
            email = rng.choice(
                (
                    email.upper(),
                    f"{name['first'].strip()}.{name['last'].strip()}{sis_id[-3:]}@{self.student_domain}".replace(
                        " ", ""
                    ),
                    f" {email}",
                )
            )
        return email

    def _student_schools(self, school: str, school_ids: list[str]) -> list[str]:
        """The primary school, and now and then a second one."""
        rng = self.rng
        schools = [school]
        if rng.random() < MESS["second_school"] and len(school_ids) > 1:
            other = rng.choice(school_ids)
            if other != school:
                schools.append(other)
        return schools

    def _student_gpa(self, grade: str, years_in: int) -> dict[str, Any]:
        """High-school students' GPAs in ``ext`` (some missing)."""
        rng = self.rng
        if years_in >= 9 and grade != "Other" and rng.random() >= MESS["missing_gpa"]:
            unweighted = min(4.0, max(0.8, rng.gauss(3.0, 0.6)))
            weighted = min(5.0, unweighted + rng.uniform(0, 0.9))
            return {"gpa_weighted": f"{weighted:.3f}", "gpa_unweighted": f"{unweighted:.3f}"}
        return {}


# --- writing ----------------------------------------------------------------------------------


def iter_dataset_json(data: dict[str, Any]) -> Iterator[str]:
    """The dataset as JSON text in chunks: one record per line, so diffs and greps stay usable."""
    yield "{"
    first_key = True
    for key, value in data.items():
        yield ("" if first_key else ",\n") + json.dumps(key) + ": "
        first_key = False
        if isinstance(value, list):
            if not value:
                yield "[]"
                continue
            yield "[\n"
            last = len(value) - 1
            for index, record in enumerate(value):
                yield json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                yield ",\n" if index < last else "\n"
            yield "]"
        else:
            yield json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    yield "}\n"


def write_dataset(data: dict[str, Any], path: str | Path) -> int:
    """Write a dataset file; returns its size in bytes."""
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        buffer: list[str] = []
        for chunk in iter_dataset_json(data):
            buffer.append(chunk)
            if len(buffer) >= 4096:
                text = "".join(buffer)
                handle.write(text)
                size += len(text.encode("utf-8"))
                buffer.clear()
        text = "".join(buffer)
        handle.write(text)
        size += len(text.encode("utf-8"))
    return size
