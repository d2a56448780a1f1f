"""The staff integration's generated district, shared by the staff end-to-end tests (the
``setup`` fixture, ``clever_person`` and a foreground ``sync``)."""

from __future__ import annotations

from functools import partial

import pytest

from integrations.engine.service import run_execute
from integrations.models import (
    ImportRun,
    SchoolMatch,
)
from integrations.runs import run_start
from naviance_sync.models import School
from staff import services
from staff.models import JobFunction, Role, StaffImportSettings, User
from tests.factories import JobFunctionFactory, RoleFactory, StaffAccountFactory
from tests.support.clever import fast_client
from tests.support.districts import connect_district


def clever_staff(sim) -> list[dict]:
    district_id = sim.dataset.district_ids()[0]
    return [
        u
        for u in sim.dataset.records("users", district_id)
        if isinstance(u.get("roles"), dict)
        and set(u["roles"]) & {"teacher", "staff", "district_admin"}
    ]


def clever_person(sim, *, last: str, first: str | None = None) -> dict:
    found = [
        u
        for u in clever_staff(sim)
        if u["name"]["last"].strip().lower() == last.lower()
        and (first is None or u["name"]["first"].strip().lower() == first.lower())
    ]
    assert len(found) == 1, (last, first, found)
    return found[0]


def local_school(district, clever_school_id: str) -> School:
    return SchoolMatch.objects.get(
        district=district, clever_school__clever_id=clever_school_id
    ).school


def email_of(user: dict) -> str:
    return (user.get("email") or "").strip()


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def setup(district, clever_simulator, admin_user):
    """Schools matched, settings saved with keyword rules, No Schools Zone, existing accounts."""
    connect_district(district, clever_simulator)
    settings = services.staff_settings_ensure(district=district)
    roles, functions = keyword_rules(district, admin_user)
    zone = services.no_schools_zone_create(district=district, actor=admin_user)
    settings.refresh_from_db()
    assert settings.default_district_zone == zone
    return {
        "district": district,
        "settings": StaffImportSettings.objects.get(district=district),
        "roles": roles,
        "functions": functions,
        "zone": zone,
        "existing": existing_accounts(district, clever_simulator, roles),
        "sim": clever_simulator,
        "admin": admin_user,
    }


def keyword_rules(district, admin_user) -> tuple[dict[str, Role], dict[str, JobFunction]]:
    """Roles and functions by name, and the title keywords Counselor, Teacher and Principal."""
    roles = {
        name: RoleFactory(district=district, name=name, can_import_district_data=False)
        for name in ("Counselor", "Teacher", "School Administrator", "Existing Role")
    }
    functions = {
        name: JobFunctionFactory(district=district, name=name)
        for name in ("Counseling", "Instruction", "Administration")
    }
    for keyword, role, function, lists in (
        ("Counselor", "Counselor", "Counseling", {"on_counselor_list": True}),
        ("Teacher", "Teacher", "Instruction", {"on_teacher_list": True}),
        ("Principal", "School Administrator", "Administration", {}),
    ):
        services.keyword_rule_create(
            district=district,
            actor=admin_user,
            keyword=keyword,
            role=roles[role],
            job_function=functions[function],
            **lists,
        )
    return roles, functions


def existing_accounts(district, sim, roles: dict[str, Role]) -> dict[str, User]:
    """Accounts made by hand before Clever, each a case of the matching rules."""
    gray = clever_person(sim, last="Gray")  # staff, "Counselor", E10005
    hall = clever_person(sim, last="Hall", first="Liam")  # staff, "Principal", E10000
    stewart = clever_person(sim, last="Stewart")  # staff, "School Counselor", E10003
    lee = clever_person(sim, last="Lee")  # staff, "School Counselor"
    account = partial(StaffAccountFactory, district=district)
    return {
        # Same last name and email, differing only in case and spaces: a match.
        "gray": account(
            username="egray",
            first_name="Emma",
            last_name=" GRAY ",
            email=" " + email_of(gray).upper() + " ",
            role=roles["Existing Role"],
            role_source=User.Source.MANUAL,
            job_title="Counselor",
        ),
        # A personal email, but the employee ID in another case and with spaces: a match.
        "hall": account(
            username="lhall",
            first_name="Liam",
            last_name="Hall",
            email="liam.hall.home@gmail.example",
            employee_id=" " + hall["roles"]["staff"]["staff_id"].lower() + " ",
        ),
        # Two accounts, one by employee ID, one by last name + email: ambiguous -> an alert.
        "stewart_id": account(
            username="rstewart1",
            first_name="Robert",
            last_name="Stewart",
            email="r.stewart@other.example",
            employee_id=stewart["roles"]["staff"]["staff_id"],
        ),
        "stewart_email": account(
            username="rstewart2",
            first_name="Rob",
            last_name="Stewart",
            email=email_of(stewart),
        ),
        # Same email under another last name: looks like the same person -> an alert.
        "lee": account(
            username="vlee",
            first_name="Victoria",
            last_name="Lee-Smith",
            email=email_of(lee),
        ),
        # In the product, not in Clever.
        "gone": account(
            username="zgone",
            first_name="Zed",
            last_name="Nobody",
            email="zed.nobody@oakwoodschools.org",
            role=roles["Teacher"],
        ),
    }


def sync(district, mode: str, *, trigger: str = ImportRun.Trigger.MANUAL) -> ImportRun:
    run = run_start(district=district, data_type="staff", mode=mode, trigger=trigger, enqueue=False)
    return run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run
