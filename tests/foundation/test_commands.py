import pytest
from django.core.management import CommandError, call_command

from naviance_sync.models import LaunchDateChange
from tests.factories import DistrictFactory


@pytest.mark.django_db
def test_district_enable_command_sets_launch_date_and_history():
    district = DistrictFactory(
        clever_students_enabled=False, clever_staff_enabled=False, launch_date=None
    )
    call_command("district_enable", district=district.slug, integration="staff")
    district.refresh_from_db()
    assert district.clever_staff_enabled and not district.clever_students_enabled
    assert district.launch_date is not None
    assert LaunchDateChange.objects.filter(district=district, kind="enabled").count() == 1


@pytest.mark.django_db
def test_district_enable_unknown_district_is_clear():
    with pytest.raises(CommandError, match="No district with slug 'nope'"):
        call_command("district_enable", district="nope")
