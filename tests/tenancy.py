"""What the every-URL tenancy test needs to know: for each URL keyword argument, how to make an
object of that kind in a given district.

Convention (enforced by tests/foundation/test_tenancy.py): a portal URL that names an object uses a
keyword argument listed here (``run_id``, ``alert_id``, ...). Adding a URL with a new kind of id
means adding a maker here, or the test fails: no URL escapes the cross-district check.
"""

from __future__ import annotations

from collections.abc import Callable

from tests import factories

# Non-id keyword arguments and the value to use for them.
PLAIN_KWARGS: dict[str, str] = {
    "data_type": "students",
    "step": "fields",
    "field": "grade",
    "fmt": "csv",
    "result_action": "create",
}


def _school(district):
    return factories.SchoolFactory(district=district).pk


def _student(district):
    return factories.StudentFactory(district=district).pk


def _user(district):
    return factories.UserFactory(
        district=district, role__name="Teacher", role__can_import_district_data=False
    ).pk


def _run(district):
    from integrations.models import ImportRun

    return ImportRun.objects.create(
        district=district, data_type="students", mode="test", status="succeeded"
    ).pk


def _alert(district):
    from integrations.models import Alert

    return Alert.objects.create(
        district=district,
        data_type="students",
        clever_id=f"c{district.pk}x",
        display_name=f"Marker {district.slug}",
    ).pk


def _school_match(district):
    from integrations.models import SchoolMatch

    return SchoolMatch.objects.create(
        district=district, school=factories.SchoolFactory(district=district)
    ).pk


def _keyword_rule(district):
    from staff.models import TitleKeywordRule

    # One per call: the every-URL test makes one for each URL that names a rule.
    n = TitleKeywordRule.objects.filter(district=district).count()
    return TitleKeywordRule.objects.create(district=district, keyword=f"kw-{district.slug}-{n}").pk


def _role(district):
    return factories.RoleFactory(district=district, name=f"Role {district.slug}").pk


def _function(district):
    from staff.models import JobFunction

    n = JobFunction.objects.filter(district=district).count()
    return JobFunction.objects.create(district=district, name=f"Function {district.slug} {n}").pk


def _zone(district):
    from staff.models import Zone

    return Zone.objects.create(district=district, name=f"Zone {district.slug}").pk


def _recipient(district):
    return factories.NotificationRecipientFactory(
        district=district, email=f"n@{district.slug}.example.org"
    ).pk


def _scan(district):
    from integrations.models import CleverScan

    scan, _ = CleverScan.objects.get_or_create(
        district=district, data_type="students", defaults={"state": "running", "records": 7}
    )
    return scan.pk


def _calendar_range(district):
    from datetime import date

    from integrations.models import CalendarRange

    return CalendarRange.objects.create(
        district=district, kind="blackout", starts_on=date(2030, 6, 1), ends_on=date(2030, 6, 2)
    ).pk


ID_MAKERS: dict[str, Callable] = {
    "school_id": _school,
    "student_id": _student,
    "user_id": _user,
    "staff_id": _user,
    "run_id": _run,
    "alert_id": _alert,
    "match_id": _school_match,
    "rule_id": _keyword_rule,
    "role_id": _role,
    "function_id": _function,
    "zone_id": _zone,
    "recipient_id": _recipient,
    "scan_id": _scan,
    "range_id": _calendar_range,
}

# Public (not a portal page): the welcome email's set-password link.
PLAIN_KWARGS.setdefault("uidb64", "MQ")
PLAIN_KWARGS.setdefault("token", "set-password")
