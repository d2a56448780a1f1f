"""Issue 16, item 9: the setup page says what the guide says and what to do on that page.

The guide: "click Reset Configuration before continuing with the setup". A Clever error met while
saving is shown on the setup page itself, where nothing was saved and nothing retries: it never
tells the admin to go to the page they are on, nor that "the import will try again later".
"""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from integrations import config
from integrations.clever import CleverAuthError, CleverServerError
from integrations.crypto import encrypt_token, token_last4
from integrations.models import CleverConnection

pytestmark = pytest.mark.django_db

SETUP_EDIT = reverse("integrations:setup_edit")


def test_help_text_says_reset_comes_before_continuing_the_setup(admin_client):
    page = admin_client.get(SETUP_EDIT).content.decode()
    assert "after saving" not in page
    assert "<strong>before</strong> continuing with the setup" in page


def test_reset_link_is_offered_once_there_is_a_connection_to_reset(admin_client, connected):
    page = admin_client.get(SETUP_EDIT).content.decode()
    assert (
        f'href="{reverse("integrations:setup_reset")}">Reset Configuration</a> <strong>before'
        in (page)
    )


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (CleverAuthError(status=401), "Nothing was saved. In your Clever dashboard"),
        (
            CleverServerError(
                "Could not reach Clever at x: the connection failed. "
                "The import will try again later."
            ),
            "Could not reach Clever at x: the connection failed. Nothing was saved. Click Save",
        ),
        (CleverServerError(), "Clever's servers were unavailable. Nothing was saved."),
    ],
)
def test_setup_error_message_is_the_setup_pages_next_step(error, expected):
    message = config.setup_error_message(error)
    assert expected in message
    assert "try again later" not in message
    assert "in Clever Data Integration Setup" not in message


def test_a_rejected_token_on_the_setup_page_says_what_to_do_there(
    admin_client, connected, clever_ids
):
    district_id, _, _ = clever_ids
    # Support set the token by hand, and Clever no longer accepts it (revoked).
    CleverConnection.objects.filter(district=connected).update(
        token_encrypted=encrypt_token("revoked-token-0000"), token_last4=token_last4("0000")
    )
    response = admin_client.post(
        SETUP_EDIT, {"clever_district_id": district_id, "previous_integration": "none"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Clever rejected the token" in page
    assert "Reconnect the district in Clever Data Integration Setup" not in page
    assert "Nothing was saved. In your Clever dashboard" in page
    assert f'value="{district_id}"' in page


def test_an_unreachable_api_on_the_setup_page_says_nothing_was_saved(
    admin_client, district, clever_app, clever_ids, local_schools, settings
):
    district_id, _, _ = clever_ids
    settings.CLEVER_API_URL = "http://127.0.0.1:9"  # the token service answers, the API does not
    settings.CLEVER_PORTAL_DEADLINE_SECONDS = 120  # every retry runs out (not the page's deadline)
    response = admin_client.post(
        SETUP_EDIT, {"clever_district_id": district_id, "previous_integration": "none"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Could not reach Clever" in page
    assert "try again later" not in page
    assert "Nothing was saved. Click Save again in a few minutes" in page
    assert not CleverConnection.objects.filter(district=district).exists()


def test_an_unreachable_api_that_outlasts_the_default_deadline_still_says_nothing_was_saved(
    admin_client, district, clever_app, clever_ids, local_schools, settings, monkeypatch
):
    """With the default 8 s deadline, the retries of an unreachable API (backoff from 1 s) can
    outlast the deadline: the page then shows the deadline's message, which must still say that
    nothing was saved. Each backoff is made its ceiling (1, 2, 4 s, then 8 s is past the
    deadline), so the deadline is what ends the Save, as it can by chance."""
    district_id, _, _ = clever_ids
    assert settings.CLEVER_PORTAL_DEADLINE_SECONDS == 8.0  # the default
    settings.CLEVER_API_URL = "http://127.0.0.1:9"  # the token service answers, the API does not
    monkeypatch.setattr(random.Random, "uniform", lambda self, low, high: high)
    response = admin_client.post(
        SETUP_EDIT, {"clever_district_id": district_id, "previous_integration": "none"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Clever did not answer within 8 seconds" in page
    assert "Nothing was saved" in page
    assert not CleverConnection.objects.filter(district=district).exists()
