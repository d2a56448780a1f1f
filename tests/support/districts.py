"""A district set up against the Clever simulator, built with the configuration factories the way
an admin who accepts every suggestion would set it up (school matches, field matches, codes), and
what tests read back from it (a fingerprint of its students, the writes to a live table)."""

from __future__ import annotations

import hashlib

from integrations.models import CleverConnection, CodeDefinition, FieldMapping
from students import fields as student_fields
from students.models import Student
from tests.factories import (
    CleverConnectionFactory,
    CleverSchoolFactory,
    CodeDefinitionFactory,
    FieldMappingFactory,
    NotificationRecipientFactory,
    SchoolMatchFactory,
    SyncSettingsFactory,
)

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
    conn = CleverConnectionFactory(
        district=district,
        clever_district_id=clever_district_id if record_clever_district_id else "",
        token=sim.token(),
        api_url=sim.url,
    )
    for position, raw in enumerate(data.records("schools", clever_district_id)):
        clever_school = CleverSchoolFactory(
            district=district,
            clever_id=raw["id"],
            name=raw["name"],
            nces_id=raw.get("nces_id") or "",
        )
        if match_schools is None or position < match_schools:
            SchoolMatchFactory(district=district, clever_school=clever_school)
    mapping = {f.name: f.default_clever_field for f in student_fields.STUDENT_FIELDS}
    mapping["weighted_gpa"] = "roles.student.ext.gpa_weighted"
    mapping["unweighted_gpa"] = "roles.student.ext.gpa_unweighted"
    FieldMapping.objects.bulk_create(
        FieldMappingFactory.build(district=district, local_field=k, clever_field=v)
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
            CodeDefinitionFactory.build(
                district=district, local_field=field, clever_value=value, local_code=code
            )
            for value, code in codes.items()
        )
    SyncSettingsFactory(district=district, data_type="students")
    NotificationRecipientFactory(
        district=district, data_type="students", email="registrar@maple.example.org"
    )
    return conn


def student_fingerprint(district) -> str:
    """SHA-256 over the district's student rows in id order (RELIABILITY 6 "fingerprint")."""
    digest = hashlib.sha256()
    for row in Student.objects.filter(district=district).order_by("pk").values_list():
        digest.update(repr(row).encode())
    return digest.hexdigest()


def live_writes(queries: list[dict], table: str = "students_student") -> list[str]:
    """The INSERT / UPDATE / DELETE statements among ``queries`` that touch ``table``."""
    return [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        and f'"{table}"' in q["sql"]
    ]
