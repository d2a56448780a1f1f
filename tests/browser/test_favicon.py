"""Issue 16 item 14 in a browser: every page's icon loads, with no console error.

The harness no longer forgives a failed ``/favicon.ico`` (it did until the product served one):
a page whose icon does not load fails like any other resource that does not.
"""

from __future__ import annotations

import pytest

from tests.factories import DistrictAdminFactory, DistrictFactory, SchoolFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ICON_TYPES = {"image/x-icon", "image/vnd.microsoft.icon"}
# Headless Chromium does not ask for icons by itself: the page asks for the one it links and the
# one other browsers ask for, so a failure is a console error the harness sees.
FETCH_ICONS = """async () => {
  const linked = document.querySelector('link[rel="icon"]').href;
  const answers = [];
  for (const url of [linked, "/favicon.ico"]) {
    const r = await fetch(url);
    answers.push([r.url, r.status, r.headers.get("content-type"), (await r.arrayBuffer()).byteLength]);
  }
  return answers;
}"""


def test_every_page_serves_its_icon_without_a_console_error(page, sign_in):
    district = DistrictFactory(name="Maple Valley Unified", slug="maple-valley")
    SchoolFactory(district=district)
    admin = DistrictAdminFactory(district=district, username="dana")
    for path in ("/accounts/login/", None, "/"):
        if path is None:
            sign_in(admin)
        else:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        for url, status, content_type, size in page.evaluate(FETCH_ICONS):
            assert status == 200, url
            assert content_type in ICON_TYPES, (url, content_type)
            assert size > 0, url
    direct = page.request.get("/favicon.ico")
    assert direct.status == 200 and direct.headers["content-type"] in ICON_TYPES
