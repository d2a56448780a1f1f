"""``manage.py clever_setup``: what an admin who accepts every suggestion does."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from integrations import config
from integrations.models import CleverConnection, CodeDefinition, FieldMapping, SchoolMatch
from naviance_sync.models import District, School
from students import fields as sf

pytestmark = pytest.mark.django_db


def test_accept_suggestions_configures_everything(
    district, clever_simulator, clever_ids, local_schools
):
    district_id, token, _ = clever_ids
    call_command(
        "clever_setup",
        district=district.slug,
        clever_district=district_id,
        token=token,
        api_url=clever_simulator.url,
        accept_suggestions=True,
        verbosity=0,
    )
    assert CleverConnection.objects.get(district=district).status == "connected"
    assert SchoolMatch.objects.filter(district=district, clever_school__isnull=False).count() == 2
    assert FieldMapping.objects.filter(district=district).count() == len(sf.STUDENT_FIELDS)
    assert CodeDefinition.objects.filter(district=district, local_field="class_year").exists()
    steps = config.configuration_steps(district=district)
    assert config.ready_to_import(steps), [s for s in steps if not s.done]
    # Running it again keeps what is saved and changes nothing.
    before = list(FieldMapping.objects.values_list("local_field", "clever_field"))
    call_command(
        "clever_setup",
        district=district.slug,
        clever_district=district_id,
        token=token,
        api_url=clever_simulator.url,
        accept_suggestions=True,
        verbosity=0,
    )
    assert list(FieldMapping.objects.values_list("local_field", "clever_field")) == before


def test_name_and_create_missing_schools_onboard_a_new_district(db, clever_simulator, clever_ids):
    district_id, token, schools = clever_ids
    call_command(
        "clever_setup",
        district="new-one",
        name="New One Unified",
        clever_district=district_id,
        token=token,
        api_url=clever_simulator.url,
        accept_suggestions=True,
        create_missing_schools=True,
        verbosity=0,
    )
    district = District.objects.get(slug="new-one")
    assert district.clever_students_enabled
    assert School.objects.filter(district=district).count() == len(schools)
    assert SchoolMatch.objects.filter(
        district=district, clever_school__isnull=False
    ).count() == len(schools)


def test_unknown_district_without_name_is_an_error(db):
    with pytest.raises(CommandError, match="Pass --name"):
        call_command(
            "clever_setup", district="nope", clever_district="x", token="t", accept_suggestions=True
        )


def test_clever_errors_are_clear(district, clever_simulator, clever_ids):
    _, token, _ = clever_ids
    type(district).objects.filter(pk=district.pk).update(confirmed_clever_district_id="")
    with pytest.raises(CommandError, match="district id is wrong or data sharing"):
        call_command(
            "clever_setup",
            district=district.slug,
            clever_district="0" * 24,
            token=token,
            api_url=clever_simulator.url,
            accept_suggestions=True,
        )
