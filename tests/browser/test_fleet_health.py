"""Support walks the fleet health page in Django admin: a failing, a paused, a held and a stale
district, each in its section with its count; resume and start from the page (issue 19)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from integrations import runs
from integrations.models import ImportRun, SyncSettings
from naviance_sync.models import AuditEvent
from tests.factories import SupportStaffFactory
from tests.ops.scenario import build_fleet

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_support_walks_the_fleet_health_page(page, screenshot, monkeypatch, live_server):
    sent: list[int] = []
    monkeypatch.setattr(runs, "_send_run", sent.append)  # by id, after commit; no worker here
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    f = build_fleet()
    support = SupportStaffFactory(username="support-sam")

    # Signed in as a session (the sign-in pages, second factor included, have their own tests).
    session = Client()
    session.force_login(support)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": session.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page.goto("/admin/")
    page.get_by_role("link", name="Fleet health").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Fleet health"
    counts = {
        key: page.locator(f"#count-{key}").inner_text()
        for key in ("stale", "paused", "review", "failing")
    }
    assert counts == {"stale": "1", "paused": "1", "review": "1", "failing": "3"}

    def districts(section: str) -> list[str]:
        return sorted(
            set(
                page.locator(f"#fleet-{section} tr.fleet-row").evaluate_all(
                    "rows => rows.map(r => r.dataset.district)"
                )
            )
        )

    assert districts("stale") == [f.stale.name]
    assert districts("paused") == [f.paused.name]
    assert districts("review") == [f.held.name]
    assert districts("failing") == sorted([f.paused.name, f.failing.name])
    assert "Aspen" not in page.content()
    screenshot(page, "fleet-01-health")

    # The held run's page: what the district admin sees, read-only.
    page.locator("#fleet-review").get_by_role("link", name=f"Import #{f.held_run.pk}").click()
    page.wait_for_load_state()
    assert "40% of active students" in page.content()
    assert page.get_by_role("button", name="Save").count() == 0
    screenshot(page, "fleet-02-held-run")
    page.go_back()

    # Resume the paused schedule.
    page.locator("#fleet-paused").get_by_role("button", name="Resume schedule").click()
    page.wait_for_load_state()
    assert "automatic students syncs resumed" in page.locator(".messagelist").inner_text()
    assert page.locator("#count-paused").inner_text() == "0"
    assert SyncSettings.objects.get(district=f.paused).paused_reason == ""
    assert AuditEvent.objects.filter(
        district=f.paused, action="support.schedule.resumed", actor=support
    ).exists()

    # Start an import of the stale district.
    page.locator("#fleet-stale").get_by_role("button", name="Start import").click()
    page.wait_for_load_state()
    run = ImportRun.objects.get(district=f.stale, status="queued")
    assert f"#{run.pk} queued" in page.locator(".messagelist").inner_text()
    assert sent == [run.pk] and run.started_by == support
    screenshot(page, "fleet-03-after-actions")

    # The failing district's own page: its sync health.
    page.locator("#fleet-failing").get_by_role("link", name=f.failing.name).first.click()
    page.wait_for_load_state()
    health = page.locator(".district-health").inner_text()
    assert "Clever no longer shares" in health and "failures in a row" in health.lower()
    screenshot(page, "fleet-04-district-health")
    # Django admin's pages name no icon: Chromium asks for /favicon.ico anyway (not this page's).
    assert [p for p in problems if not p.endswith("/favicon.ico")] == []
