"""Match Fields and Define Codes offer what the district's whole feed holds, not a first page.

A district of 700 students whose GPA extension field (and one grade) only record 650 carries:
with pages of 250 records it arrives on page 3, past the 500 records the old sample read.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations import config
from integrations.config import clever_reads
from integrations.schools import schools_create_for_unmatched
from integrations.simulator.dataset import Dataset
from integrations.simulator.faults import Faults
from integrations.simulator.generator import generate_district
from integrations.simulator.server import SimulatorServer
from students import fields as sf

pytestmark = pytest.mark.django_db

GPA_PATH = "roles.student.ext.gpa_weighted"
LATE = 650  # the only record with the field: past record 500 and on page 3 of 250


@pytest.fixture
def late_field_simulator():
    data = generate_district(students=700, staff=4, schools=3, seed=7)
    dataset = Dataset(data)
    district_id = dataset.district_ids()[0]
    students = dataset.index("users", district_id, "student")
    assert len(students) >= 700  # the generator adds a few messy extra records
    for clever_id in students:  # nobody has a GPA or grade 13 ...
        dataset.update("users", clever_id, {"roles": {"student": {"ext": None, "grade": "9"}}})
    late = students[LATE - 1]  # ... except record 650, and a non-Latin ext field only there
    dataset.update(
        "users",
        late,
        {"roles": {"student": {"grade": "13", "ext": {"gpa_weighted": "4.125", "等级": "甲"}}}},
    )
    with SimulatorServer(dataset, Faults()) as server:
        yield server


@pytest.fixture
def late_district(district, admin_user, late_field_simulator, monkeypatch):
    monkeypatch.setattr(clever_reads, "SCAN_PAGE_SIZE", 250, raising=False)
    district_id = late_field_simulator.dataset.district_ids()[0]
    type(district).objects.filter(pk=district.pk).update(confirmed_clever_district_id=district_id)
    config.connection_connect(
        district=district,
        actor=admin_user,
        clever_district_id=district_id,
        token=late_field_simulator.token(district_id),
        api_url=late_field_simulator.url,
    )
    return district


def test_match_fields_offers_a_gpa_field_that_only_a_record_past_500_on_page_3_has(
    admin_client, late_district
):
    sample = config.available_clever_fields(district=late_district, data_type="students")
    assert not sample.error
    assert GPA_PATH in sample.fields and "roles.student.ext.等级" in sample.fields
    assert sample.records >= 700  # every record was read

    schools_create_for_unmatched(district=late_district)
    response = admin_client.get(reverse("integrations:fields", kwargs={"data_type": "students"}))
    form = response.context["form"]
    offered = {value for value, _ in form.fields["map_weighted_gpa"].choices}
    assert GPA_PATH in offered
    assert form.fields["map_weighted_gpa"].initial == GPA_PATH  # suggested, as for page 1
    assert f"{sample.records} student records" in response.content.decode()


def test_define_codes_lists_a_grade_that_only_a_record_past_500_on_page_3_has(
    admin_client, late_district
):
    schools_create_for_unmatched(district=late_district)
    config.field_mappings_save(
        district=late_district,
        data_type="students",
        mapping=sf.suggest_mapping(["roles.student.grade"]),
    )
    found, error = config.clever_values(
        district=late_district, data_type="students", paths=["roles.student.grade"]
    )
    assert not error and found["roles.student.grade"] == ["13", "9"]
    response = admin_client.get(reverse("integrations:codes", kwargs={"data_type": "students"}))
    grades = {value for value, _ in response.context["sections"][0]["rows"]}
    assert "13" in grades


def test_the_full_pass_is_cached_and_forgotten_when_the_district_reconnects(
    late_district, late_field_simulator, admin_user
):
    first = config.available_clever_fields(district=late_district, data_type="students")
    district_id = late_field_simulator.dataset.district_ids()[0]
    late = late_field_simulator.dataset.index("users", district_id, "student")[10]
    late_field_simulator.dataset.update(
        "users", late, {"roles": {"student": {"ext": {"gpa_unweighted": "3.9"}}}}
    )
    assert config.available_clever_fields(district=late_district, data_type="students") == first
    config.connection_connect(
        district=late_district,
        actor=admin_user,
        clever_district_id=district_id,
        token="",
        api_url=late_field_simulator.url,
    )
    again = config.available_clever_fields(district=late_district, data_type="students")
    assert "roles.student.ext.gpa_unweighted" in again.fields
