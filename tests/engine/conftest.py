"""Fixtures for engine tests: a district connected to the Clever simulator the way an admin who
accepts every suggestion would connect it (school matches, field matches, codes)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from django.db import connection

from integrations.crypto import encrypt_token
from integrations.models import (
    CleverConnection,
    CleverSchool,
    CodeDefinition,
    FieldMapping,
    NotificationRecipient,
    SchoolMatch,
    SyncSettings,
)
from naviance_sync.models import School
from students import fields as student_fields
from students.models import Student

SCHOOL_YEAR_END = 2027


def connect_district(
    district, sim, *, match_schools: int | None = None, record_clever_district_id: bool = True
) -> CleverConnection:
    """Connect ``district`` to the simulator's only district with every suggestion accepted.

    A Clever district id belongs to one district (a unique constraint). The fault battery reads
    one simulator district from several local districts (a reference and its victims): those
    pass ``record_clever_district_id=False`` and connect by token alone (a blank id, which the
    engine does not check records against)."""
    data = sim.dataset
    clever_district_id = data.district_ids()[0]
    conn = CleverConnection.objects.create(
        district=district,
        clever_district_id=clever_district_id if record_clever_district_id else "",
        token_encrypted=encrypt_token(sim.token()),
        token_last4=sim.token()[-4:],
        api_url=sim.url,
        status=CleverConnection.Status.CONNECTED,
    )
    schools = data.records("schools", clever_district_id)
    for position, raw in enumerate(schools):
        cs = CleverSchool.objects.create(
            district=district,
            clever_id=raw["id"],
            name=raw["name"],
            nces_id=raw.get("nces_id") or "",
        )
        if match_schools is not None and position >= match_schools:
            continue
        local = School.objects.create(district=district, name=raw["name"])
        SchoolMatch.objects.create(district=district, school=local, clever_school=cs)
    mapping = {f.name: f.default_clever_field for f in student_fields.STUDENT_FIELDS}
    mapping["weighted_gpa"] = "roles.student.ext.gpa_weighted"
    mapping["unweighted_gpa"] = "roles.student.ext.gpa_unweighted"
    FieldMapping.objects.bulk_create(
        FieldMapping(district=district, data_type="students", local_field=k, clever_field=v)
        for k, v in mapping.items()
    )
    grades = {
        (u.get("roles", {}).get("student") or {}).get("grade")
        for u in data.records("users", clever_district_id)
        if isinstance(u, dict) and isinstance(u.get("roles"), dict)
    }
    grades = {g for g in grades if isinstance(g, str) and g}
    grades |= {str(n) for n in range(1, 13)} | {"Kindergarten"}
    for field in ("grade", "class_year"):
        codes = student_fields.default_codes(field, grades, school_year_end=SCHOOL_YEAR_END)
        CodeDefinition.objects.bulk_create(
            CodeDefinition(
                district=district,
                data_type="students",
                local_field=field,
                clever_value=value,
                local_code=code,
            )
            for value, code in codes.items()
        )
    SyncSettings.objects.get_or_create(district=district, data_type="students")
    NotificationRecipient.objects.create(
        district=district, data_type="students", email="registrar@maple.example.org"
    )
    return conn


@pytest.fixture
def connected(district, clever_simulator):
    connect_district(district, clever_simulator)
    return district


def student_fingerprint(district) -> str:
    """SHA-256 over the district's student rows in id order (RELIABILITY 6 "fingerprint")."""
    digest = hashlib.sha256()
    for row in Student.objects.filter(district=district).order_by("pk").values_list():
        digest.update(repr(row).encode())
    return digest.hexdigest()


def live_writes(queries: list[dict], table: str = "students_student") -> list[str]:
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and f'"{table}"' in q["sql"]
    ]


@pytest.fixture
def run_sync(district) -> Callable:
    """Start and run one sync in the foreground (the CLI's path: the same service as the task)."""
    from integrations.engine.service import run_execute
    from integrations.runs import run_start

    def do(mode: str = "import", *, target=None, user=None, **kwargs):
        run = run_start(
            district=target or district, data_type="students", mode=mode, user=user, enqueue=False
        )
        return run_execute(run_id=run.pk, allow_retry=False, **kwargs).run

    return do


@pytest.fixture
def db_vendor():
    return connection.vendor


@pytest.fixture(autouse=True)
def no_broker(request, monkeypatch):
    """Engine tests call services directly; tasks started on commit are recorded, not sent
    (the worker test module opts out with ``REAL_BROKER = True``)."""
    if getattr(request.module, "REAL_BROKER", False):
        yield None
        return
    from integrations import tasks

    sent: list[tuple[str, int]] = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda run_id: sent.append(("run", run_id)))
    # runs._send_run publishes with apply_async: recorded too, never sent to a broker where a
    # worker of another test could run it beside the test's own run_execute.
    monkeypatch.setattr(
        tasks.run_import,
        "apply_async",
        lambda args=(), kwargs=None, **options: sent.append(("run", args[0])),
    )

    def summary(run_id):
        sent.append(("mail", run_id))
        from integrations.emails import run_summary_send

        run_summary_send(run_id=run_id)

    monkeypatch.setattr(tasks.send_run_summary, "delay", summary)
    yield sent
