"""Every portal page a district admin can reach, in a real browser, after both data types have a
test import and an import behind them: none logs a console error, an uncaught script error or a
Content-Security-Policy violation (the harness in conftest.py fails the test on any). The URL
list is read from the resolver, so a page added tomorrow is walked too. Screenshots:
test-artifacts/screenshots/every-page-*.png."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from integrations.engine.service import run_execute
from integrations.models import Alert, ImportRun, NotificationRecipient
from integrations.runs import run_start
from staff.models import TitleKeywordRule, User
from staff.services import staff_settings_ensure
from students.models import Student
from tests.factories import DistrictAdminFactory, DistrictFactory
from tests.support.districts import connect_district
from tests.support.urls import portal_patterns
from tests.tenancy import ID_MAKERS, PLAIN_KWARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WHITE = "rgb(255, 255, 255)"


def populated_district(sim):
    """A district that has done what the guides say: connected, settings saved, a test import and
    an import of students and of staff, two title keywords, an alert and a recipient."""
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana", first_name="Dana")
    connect_district(district, sim)
    staff_settings_ensure(district=district)
    TitleKeywordRule.objects.create(district=district, keyword="Teacher", position=1)
    TitleKeywordRule.objects.create(district=district, keyword="Counselor", position=2)
    for data_type in ("students", "staff"):
        for mode in ("test", "import"):
            run = run_start(district=district, data_type=data_type, mode=mode, enqueue=False)
            run_execute(run_id=run.pk, allow_retry=False)
    return district, admin


def own_ids(district) -> dict[str, int]:
    """The district's own objects for URLs that name one (made when the imports left none)."""
    ids = {
        "run_id": ImportRun.objects.filter(district=district, mode="import").last(),
        "student_id": Student.objects.filter(district=district).first(),
        "staff_id": User.objects.filter(district=district, clever_id__gt="").first(),
        "rule_id": TitleKeywordRule.objects.filter(district=district).first(),
        "alert_id": Alert.objects.filter(district=district).first(),
        "recipient_id": NotificationRecipient.objects.filter(district=district).first(),
    }
    return {k: v.pk for k, v in ids.items() if v is not None}


def page_urls(district) -> list[str]:
    ids = own_ids(district)
    urls: list[str] = []
    for name, kws in portal_patterns():
        if name.startswith("staff_moved:"):
            continue  # redirects from former staff URLs to the pages walked here
        for data_type in ("students", "staff") if "data_type" in kws else (None,):
            kwargs = {}
            for kw in kws:
                if kw == "data_type":
                    kwargs[kw] = data_type
                elif kw in ID_MAKERS:
                    kwargs[kw] = ids.get(kw) or ids.setdefault(kw, ID_MAKERS[kw](district))
                else:
                    kwargs[kw] = PLAIN_KWARGS[kw]
            url = reverse(name, kwargs=kwargs)
            if not url.endswith(".csv") and url not in urls:  # a CSV is a download, not a page
                urls.append(url)
    return urls


def test_no_page_a_district_admin_reaches_logs_a_csp_violation_or_error(
    page, sign_in, screenshot, clever_simulator
):
    district, admin = populated_district(clever_simulator)
    sign_in(admin)
    shown = []
    for url in page_urls(district):
        status = page.request.get(url).status  # the signed-in session's cookies
        if status == 405:  # a POST-only action, not a page
            continue
        if status == 404 and "/staff/" in url and url.startswith("/integrations/"):
            continue  # a step the staff data type does not have (staff fields, codes)
        response = page.goto(url)
        assert response.status < 400, f"{url} -> {response.status}"
        page.wait_for_load_state("load")
        shown.append(page.url)
        screenshot(page, "every-page-" + (re.sub(r"[^a-z0-9]+", "-", url.lower()).strip("-")))
    # The guides' pages, by name, are among those walked.
    for path in (
        "/integrations/settings/",
        "/integrations/students/setup/",
        "/integrations/settings/students/summary/",
        "/integrations/imports/students/",
        "/integrations/imports/staff/",
        "/integrations/runs/",
        "/integrations/alerts/students/",
        "/integrations/updates/",
        "/audit/",
        "/students/",
        "/staff/accounts/",
        "/staff/settings/",
    ):
        assert any(path in u for u in shown), f"{path} was not walked"


def test_keyword_reorder_and_remove_buttons_can_be_seen(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    admin = DistrictAdminFactory(district=district, username="dana")
    connect_district(district, clever_simulator)
    staff_settings_ensure(district=district)
    for n, keyword in enumerate(("Teacher", "Counselor", "Principal"), start=1):
        TitleKeywordRule.objects.create(district=district, keyword=keyword, position=n)
    sign_in(admin)
    page.goto("/staff/settings/")
    for button in (
        page.get_by_role("button", name="Move Teacher down"),
        page.get_by_role("button", name="Move Counselor up"),
        page.get_by_role("button", name="Remove Principal"),
    ):
        assert button.is_visible()
        color = button.evaluate("b => getComputedStyle(b).color")
        background = button.evaluate(
            "b => { for (let e = b; e; e = e.parentElement) {"
            " const c = getComputedStyle(e).backgroundColor;"
            " if (c !== 'rgba(0, 0, 0, 0)') return c; } return 'rgb(255, 255, 255)'; }"
        )
        assert color != background, f"{button} is {color} on {background}"
        assert color != WHITE
    screenshot(page, "every-page-staff-settings-keyword-buttons")
