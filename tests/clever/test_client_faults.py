"""Every fault the simulator injects, and what the client does about it (RELIABILITY R7-R9)."""

from __future__ import annotations

import logging
import math
import time

import pytest
import requests

from integrations.clever import (
    CleverAuthError,
    CleverBadResponseError,
    CleverError,
    CleverNotFoundError,
    CleverRateLimitError,
    CleverRequestError,
    CleverServerError,
)


def _student_ids(sim):
    return sim.dataset.index("users", sim.dataset.district_ids()[0], "student")


def _assert_no_token(error: CleverError, token: str, caplog=None) -> None:
    for text in (str(error), repr(error), error.admin_message, error.detail):
        assert token not in text
    if caplog is not None:
        assert token not in caplog.text


def test_rate_limit_waits_until_the_reset_header_then_succeeds(sim, make_client, fake_sleep):
    sim.faults.rate_limit_every = 2
    sim.faults.rate_limit_reset_seconds = 7
    sim.faults.rate_limit_reset_style = "seconds"
    client = make_client(page_size=50)
    ids = [user.id for user in client.users("student")]
    assert ids == _student_ids(sim)
    pages = math.ceil(len(ids) / 50)
    assert client.retries == pages - 1  # every second request got a 429
    assert fake_sleep.calls and all(7 <= wait <= 8 for wait in fake_sleep.calls)


def test_rate_limit_epoch_reset_is_converted_to_a_wait(sim, make_client, fake_sleep):
    sim.faults.rate_limit_every = 1_000_000
    sim.faults.rate_limit_until = time.time() + 3600  # a storm: every request limited
    sim.faults.rate_limit_reset_seconds = 30
    client = make_client(max_attempts=3)
    with pytest.raises(CleverRateLimitError) as caught:
        list(client.schools())
    assert client.requests_made == 3
    assert len(fake_sleep.calls) == 2
    assert all(28 <= wait <= 32 for wait in fake_sleep.calls)  # epoch header, ceil + jitter
    assert caught.value.status == 429
    assert caught.value.admin_message == (
        "Clever kept limiting the rate of requests for this district after 3 attempts. "
        "The import will try again later."
    )
    _assert_no_token(caught.value, sim.token())


def test_rate_limit_takes_the_longest_bucket_and_retry_after(canned_client, fake_sleep):
    answers = iter(
        [
            (429, b"", {"X-RateLimit-Reset": "3, 12", "X-RateLimit-Bucket": "all, none"}),
            (429, b"", {"Retry-After": "20", "X-RateLimit-Reset": "5"}),
            (200, {"data": [], "links": []}, {}),
        ]
    )
    client, _adapter = canned_client(lambda request: next(answers))
    assert list(client.schools()) == []
    assert 12 <= fake_sleep.calls[0] <= 13
    assert 20 <= fake_sleep.calls[1] <= 21


def test_rate_limit_wait_is_capped(canned_client, fake_sleep):
    answers = iter(
        [(429, b"", {"X-RateLimit-Reset": str(time.time() + 10**6)}), (200, {"data": []}, {})]
    )
    client, _ = canned_client(lambda request: next(answers), max_rate_limit_wait=120)
    list(client.schools())
    assert 120 <= fake_sleep.calls[0] <= 121


def test_server_error_burst_is_retried_with_capped_backoff(sim, make_client, fake_sleep):
    sim.faults.error_burst = 4
    client = make_client(max_attempts=5, backoff_base=1.0, backoff_cap=3.0)
    assert len(list(client.schools())) == 3
    assert client.retries == 4
    assert client.requests_made == 5
    for attempt, wait in enumerate(fake_sleep.calls, 1):
        assert 0 <= wait <= min(3.0, 2 ** (attempt - 1))


def test_server_errors_exhaust_attempts(sim, make_client):
    sim.faults.error_burst = 100
    sim.faults.error_statuses = (503,)
    client = make_client(max_attempts=5)
    with pytest.raises(CleverServerError) as caught:
        list(client.users("student"))
    assert client.requests_made == 5
    assert caught.value.status == 503
    assert caught.value.admin_message == (
        "Clever's servers were unavailable (HTTP 503) after 5 attempts. "
        "The import will try again later."
    )


def test_thirty_percent_server_errors_still_complete(sim, make_client):
    sim.faults.update({"error_rate": 0.3, "seed": 2})  # seeded: the same failures every run
    client = make_client(page_size=10, max_attempts=5)
    assert [user.id for user in client.users("student")] == _student_ids(sim)
    assert client.retries > 0


def test_timeout_is_retried(sim, make_client):
    sim.faults.timeout_every = 2
    sim.faults.timeout_seconds = 1.0
    client = make_client(page_size=60, read_timeout=0.3)
    assert [user.id for user in client.users("student")] == _student_ids(sim)
    assert client.retries >= 1


def test_timeouts_exhaust_attempts(sim, make_client):
    sim.faults.timeout_every = 1
    sim.faults.timeout_seconds = 1.0
    client = make_client(read_timeout=0.2, max_attempts=2)
    with pytest.raises(CleverServerError) as caught:
        client.me()
    assert caught.value.status is None
    assert caught.value.admin_message == (
        "Clever did not answer in time after 2 attempts. The import will try again later."
    )


def test_dropped_connection_is_retried(sim, make_client):
    sim.faults.reset_every = 2
    client = make_client(page_size=40)
    assert [user.id for user in client.users("student")] == _student_ids(sim)
    assert client.retries >= 1


def test_dropped_connections_exhaust_attempts(sim, make_client):
    sim.faults.reset_every = 1
    client = make_client(max_attempts=2)
    with pytest.raises(CleverServerError) as caught:
        client.me()
    host = sim.url.split("//", 1)[1]
    assert caught.value.admin_message == (
        f"Could not reach Clever at {host}: the connection failed after 2 attempts. "
        "The import will try again later."
    )


def test_truncated_page_is_retried(sim, make_client):
    sim.faults.truncate_every = 2
    client = make_client(page_size=30)
    assert [user.id for user in client.users("student")] == _student_ids(sim)
    assert client.retries >= 1


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        (
            "close",
            "Clever sent an incomplete response (the connection was cut off mid-page) after 3 "
            "attempts. The import will try again later.",
        ),
        (
            "short",
            "Clever sent a response that could not be read (cut off or not valid data) after 3 "
            "attempts. The import will try again later.",
        ),
    ],
)
def test_truncated_pages_exhaust_attempts(sim, make_client, mode, message):
    sim.faults.truncate_every = 1
    sim.faults.truncate_mode = mode
    client = make_client(max_attempts=3)
    with pytest.raises(CleverBadResponseError) as caught:
        list(client.users("student"))
    assert client.requests_made == 3
    assert caught.value.admin_message == message


def test_html_instead_of_json(sim, make_client):
    sim.faults.html_every = 1
    client = make_client(max_attempts=3)
    with pytest.raises(CleverBadResponseError) as caught:
        list(client.schools())
    assert caught.value.admin_message == (
        "Clever answered with a web page instead of data after 3 attempts. "
        "The import will try again later."
    )


def test_html_error_page_with_a_5xx_is_a_server_error(sim, make_client):
    sim.faults.html_every = 1
    sim.faults.html_status = 502
    client = make_client(max_attempts=2)
    with pytest.raises(CleverServerError) as caught:
        list(client.schools())
    assert caught.value.status == 502


def test_html_once_then_success(sim, make_client):
    sim.faults.html_every = 2
    client = make_client(page_size=50)
    assert len(list(client.users("student"))) == len(_student_ids(sim))


def test_token_revoked_mid_run_fails_without_retry(sim, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    sim.faults.revoke_token_after = 3
    client = make_client(page_size=10)
    seen = []
    with pytest.raises(CleverAuthError) as caught:
        for user in client.users("student"):
            seen.append(user)
    assert len(seen) == 30
    assert client.requests_made == 4
    assert client.retries == 0
    assert caught.value.status == 401
    assert caught.value.admin_message == (
        "Clever rejected the token for this district: it may have been revoked. "
        "Reconnect the district in Clever Data Integration Setup."
    )
    _assert_no_token(caught.value, sim.token(), caplog)


def test_unknown_token_is_an_auth_error(sim, make_client):
    client = make_client(token="sim_wrong")
    with pytest.raises(CleverAuthError):
        list(client.schools())
    assert client.requests_made == 1


def test_forbidden_is_an_auth_error_with_its_own_message(canned_client):
    client, adapter = canned_client(
        lambda request: (403, {"message": "Resource not in token's scopes"}, {})
    )
    with pytest.raises(CleverAuthError) as caught:
        client.me()
    assert caught.value.status == 403
    assert caught.value.admin_message == (
        "Clever refused this token access to the district's data: the application may not "
        "have Secure Sync access. Check the application's data sharing in Clever."
    )
    assert len(adapter.seen) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "Clever rejected the request as invalid (HTTP 400). Please contact support."),
        (
            413,
            "Clever refused the request because the page size is too large (HTTP 413). "
            "Please contact support.",
        ),
        (501, "Clever does not support this request (HTTP 501). Please contact support."),
    ],
)
def test_request_errors_are_not_retried(canned_client, status, message):
    client, adapter = canned_client(lambda request: (status, {"message": "no"}, {}))
    with pytest.raises(CleverRequestError) as caught:
        list(client.schools())
    assert caught.value.status == status
    assert caught.value.admin_message == message
    assert len(adapter.seen) == 1


def test_simulator_answers_413_above_ten_thousand(sim):
    response = requests.get(
        f"{sim.url}/v3.0/users?limit=10001",
        headers={"Authorization": f"Bearer {sim.token()}"},
        timeout=5,
    )
    assert response.status_code == 413


def test_not_found_is_not_retried(sim, make_client):
    client = make_client()
    with pytest.raises(CleverNotFoundError):
        client.district("c" * 24)
    assert client.requests_made == 1 and client.retries == 0


def test_token_echoed_by_the_server_is_scrubbed(canned_client, caplog):
    caplog.set_level(logging.DEBUG)
    answers = iter(
        [
            (500, {"message": "boom for token SECRET-TOKEN-123"}, {}),
            (400, {"message": "bad token SECRET-TOKEN-123"}, {}),
        ]
    )
    client, _ = canned_client(lambda request: next(answers))
    with pytest.raises(CleverRequestError) as caught:
        client.me()
    assert "[token]" in caught.value.detail
    _assert_no_token(caught.value, "SECRET-TOKEN-123", caplog)
    assert "SECRET-TOKEN-123" not in repr(client)


def test_rate_limit_storm_makes_few_requests(sim, make_client, fake_sleep):
    """R7 scaled down: a storm lasting past one reset; the client waits instead of hammering."""
    sim.faults.rate_limit_until = time.time() + 3600
    sim.faults.rate_limit_reset_seconds = 60
    client = make_client(max_attempts=5)

    def lift_storm_after_second_wait(seconds: float) -> None:
        fake_sleep(seconds)
        if len(fake_sleep.calls) == 2:
            sim.faults.rate_limit_until = 0

    client._sleep = lift_storm_after_second_wait
    assert len(list(client.schools())) == 3
    assert client.requests_made == 3
    assert all(58 <= wait <= 62 for wait in fake_sleep.calls)
