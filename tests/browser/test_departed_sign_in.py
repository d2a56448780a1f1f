"""A teacher who left Clever cannot sign in with their password, and the page says why (issue 13
item 1). The import runs for real against the Clever simulator; the browser signs in before and
after. Screenshot: test-artifacts/screenshots/staff-departed-sign-in-refused.png."""

from __future__ import annotations

import pytest

from integrations.engine.service import run_execute
from integrations.runs import run_start
from staff import services
from staff.models import User
from tests.factories import DistrictFactory
from tests.support.clever import fast_client
from tests.support.districts import connect_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sync(district, mode: str):
    run = run_start(district=district, data_type="staff", mode=mode, enqueue=False)
    return run_execute(run_id=run.pk, allow_retry=False, client_factory=fast_client()).run


def test_departed_teachers_password_sign_in_is_refused_with_a_clear_message(
    page, sign_in, screenshot, clever_simulator
):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    connect_district(district, clever_simulator)
    services.staff_settings_ensure(district=district)
    sync(district, "test")
    assert sync(district, "import").status == "succeeded"
    teacher = next(
        u
        for u in clever_simulator.dataset.records(
            "users", clever_simulator.dataset.district_ids()[0]
        )
        if "teacher" in (u.get("roles") or {})
    )
    account = User.objects.get(district=district, clever_id=teacher["id"])
    account.set_password("correct-horse-battery-staple")
    account.save(update_fields=["password"])

    sign_in(account)
    assert page.get_by_role("heading", name="Maple Valley Unified").is_visible()
    page.context.clear_cookies()

    clever_simulator.dataset.delete_user(teacher["id"])
    sync(district, "test")
    assert sync(district, "import").inactive == 1

    sign_in(account)
    alert = page.get_by_role("alert")
    assert "This account is inactive" in alert.inner_text()
    assert "no longer in the district's staff records in Clever" in alert.inner_text()
    assert "/accounts/login/" in page.url
    screenshot(page, "staff-departed-sign-in-refused")
