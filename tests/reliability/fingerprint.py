"""The "fingerprint" of RELIABILITY 6: SHA-256 over the ordered rows of one district's live tables.

Equal fingerprints mean the district's students, staff accounts, staff school access and school
matches hold the same data. Rows are compared by content, not by key: primary keys, the district
id and timestamps are left out and foreign keys are followed to a natural value (a school's name,
a role's name), so the fingerprint of a district whose import was killed and redone can be compared
with a "reference" district that imported the same Clever data without interruption (their row ids
and clock readings differ, their data must not). Portable: plain ``values_list`` queries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from django.contrib.auth import get_user_model

from integrations.models import SchoolMatch
from naviance_sync.models import District
from staff.models import StaffSchoolAccess
from students.models import Student

# Not data: keys, the tenant id, clocks, credentials.
SKIPPED = {
    "id",
    "district_id",
    "created_at",
    "updated_at",
    "date_joined",
    "last_login",
    "password",
    "session_generation",
}
# Clocks whose presence is data (inactive or not, locked or not): reduced to a flag.
FLAGS = {"inactive_since", "locked_at"}


def _columns(model) -> list[str]:
    """Data columns; a foreign key becomes ``<fk>__name`` (or its Clever id for Clever schools)."""
    out = []
    for f in model._meta.concrete_fields:
        if f.attname in SKIPPED:
            continue
        if f.is_relation:
            target = f.related_model
            natural = "clever_id" if target._meta.label == "integrations.CleverSchool" else "name"
            if target._meta.label == "staff.User":
                natural = "username"
            out.append(f"{f.name}__{natural}")
        else:
            out.append(f.attname)
    return out


def _tables(district_id: int):
    User = get_user_model()
    return (
        ("student", Student.objects.filter(district_id=district_id), _columns(Student)),
        ("user", User.objects.filter(district_id=district_id), _columns(User)),
        (
            "staff_access",
            StaffSchoolAccess.objects.filter(user__district_id=district_id),
            _columns(StaffSchoolAccess),
        ),
        (
            "school_match",
            SchoolMatch.objects.filter(district_id=district_id),
            _columns(SchoolMatch),
        ),
    )


def live_rows(district: District | int) -> Iterator[tuple[str, tuple]]:
    """Every live row of the district, table by table, sorted by content."""
    district_id = district if isinstance(district, int) else district.pk
    for name, qs, columns in _tables(district_id):
        flags = [i for i, c in enumerate(columns) if c in FLAGS]
        rows = []
        for raw in qs.order_by().values_list(*columns).iterator(chunk_size=5000):
            row = list(raw)
            for i in flags:
                row[i] = row[i] is not None
            rows.append(tuple(row))
        rows.sort(key=repr)
        for row in rows:
            yield name, row


def fingerprint(district: District | int) -> str:
    digest = hashlib.sha256()
    for name, row in live_rows(district):
        digest.update(name.encode())
        digest.update(repr(row).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def row_counts(district: District | int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name, _ in live_rows(district):
        counts[name] = counts.get(name, 0) + 1
    return counts
