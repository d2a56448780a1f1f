import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from naviance_sync import services
from naviance_sync.models import District, LaunchDateChange
from tests.factories import DistrictAdminFactory, DistrictFactory, SupportStaffFactory


@pytest.fixture
def support(db):
    return SupportStaffFactory(username="support-sam")


@pytest.fixture
def new_district(db):
    return DistrictFactory(
        clever_students_enabled=False, clever_staff_enabled=False, launch_date=None
    )


def test_enabling_sets_launch_four_weeks_out_and_records_it(new_district, support):
    today = dt.date(2026, 11, 25)
    services.district_enable_clever(
        district=new_district, integration="staff", actor=support, today=today
    )
    new_district.refresh_from_db()
    assert new_district.clever_staff_enabled
    assert new_district.launch_date == dt.date(2026, 12, 23)
    change = LaunchDateChange.objects.get(district=new_district)
    assert (change.kind, change.old_date, change.new_date, change.changed_by) == (
        "enabled",
        None,
        dt.date(2026, 12, 23),
        support,
    )


def test_enabling_second_integration_keeps_agreed_date(new_district, support):
    services.district_enable_clever(
        district=new_district, integration="staff", today=dt.date(2026, 1, 1)
    )
    services.district_enable_clever(
        district=new_district, integration="students", today=dt.date(2026, 2, 1)
    )
    new_district.refresh_from_db()
    assert new_district.launch_date == dt.date(2026, 1, 29)


def test_admin_action_extends_and_brings_forward(client, support, new_district):
    services.district_enable_clever(
        district=new_district, integration="students", today=dt.date(2026, 3, 1)
    )
    client.force_login(support)
    url = reverse("admin:naviance_sync_district_changelist")
    client.post(url, {"action": "move_launch_plus_7", "_selected_action": [new_district.pk]})
    client.post(url, {"action": "move_launch_minus_7", "_selected_action": [new_district.pk]})
    client.post(url, {"action": "move_launch_minus_7", "_selected_action": [new_district.pk]})
    new_district.refresh_from_db()
    assert new_district.launch_date == dt.date(2026, 3, 22)
    kinds = list(
        LaunchDateChange.objects.filter(district=new_district)
        .order_by("id")
        .values_list("kind", "old_date", "new_date")
    )
    assert kinds == [
        ("enabled", None, dt.date(2026, 3, 29)),
        ("extended", dt.date(2026, 3, 29), dt.date(2026, 4, 5)),
        ("brought_forward", dt.date(2026, 4, 5), dt.date(2026, 3, 29)),
        ("brought_forward", dt.date(2026, 3, 29), dt.date(2026, 3, 22)),
    ]
    history = client.get(reverse("admin:naviance_sync_district_change", args=[new_district.pk]))
    assert b"Launch date brought forward" in history.content and b"support-sam" in history.content


def test_admin_enable_action(client, support, new_district):
    client.force_login(support)
    client.post(
        reverse("admin:naviance_sync_district_changelist"),
        {"action": "enable_students", "_selected_action": [new_district.pk]},
    )
    new_district.refresh_from_db()
    assert new_district.clever_students_enabled
    assert new_district.launch_date == timezone.localdate(timezone=new_district.tz) + dt.timedelta(
        weeks=4
    )


def test_editing_launch_date_in_change_form_is_recorded(client, support, new_district):
    services.district_enable_clever(
        district=new_district, integration="students", today=dt.date(2026, 3, 1)
    )
    client.force_login(support)
    url = reverse("admin:naviance_sync_district_change", args=[new_district.pk])
    data = {
        "name": new_district.name,
        "slug": new_district.slug,
        "time_zone": new_district.time_zone,
        "clever_students_enabled": "on",
        "launch_date": "2026-05-01",
        "school_set-TOTAL_FORMS": "0",
        "school_set-INITIAL_FORMS": "0",
        "launchdatechange_set-TOTAL_FORMS": "1",
        "launchdatechange_set-INITIAL_FORMS": "1",
        "launchdatechange_set-0-id": LaunchDateChange.objects.get(district=new_district).pk,
        "launchdatechange_set-0-district": new_district.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 302, [
        response.context["adminform"].form.errors,
        [f.formset.errors for f in response.context["inline_admin_formsets"]],
    ]
    new_district.refresh_from_db()
    assert new_district.launch_date == dt.date(2026, 5, 1)
    last = LaunchDateChange.objects.filter(district=new_district).first()
    assert (last.kind, last.old_date, last.new_date) == (
        "extended",
        dt.date(2026, 3, 29),
        dt.date(2026, 5, 1),
    )


def test_move_without_launch_date_is_a_clear_error(new_district):
    with pytest.raises(services.LaunchDateError, match="enable Clever first"):
        services.launch_date_move(district=new_district, days=7)


def test_admin_changelist_queries_do_not_grow_with_districts(
    client, support, django_assert_max_num_queries
):
    District.objects.bulk_create([District(name=f"D{i}", slug=f"d{i}") for i in range(300)])
    client.force_login(support)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("admin:naviance_sync_district_changelist")).status_code == 200


def test_district_admin_cannot_use_support_actions(client, new_district):
    admin = DistrictAdminFactory(district=new_district)
    client.force_login(admin)
    client.post(
        reverse("admin:naviance_sync_district_changelist"),
        {"action": "enable_students", "_selected_action": [new_district.pk]},
    )
    new_district.refresh_from_db()
    assert not new_district.clever_students_enabled
