"""Bulk reads ask for the next page while the caller works on the one it has (issue 18): the
wait for Clever's answer overlaps the work. Only the sending happens ahead; statuses, decoding,
retries and a token refresh (which reads the database) stay on the caller's thread."""

from __future__ import annotations

import threading
import time

from integrations.clever import CleverClient, district_token
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.pytest_plugin import small_district


def _closed_once_answered(future) -> bool:
    """Whether the answer is closed once it has come (the closing is the future's done
    callback, which runs just after a waiter is woken)."""
    answer = future.result(timeout=30)
    for _ in range(1000):
        if answer.raw is None or answer.raw.closed:
            return True
        time.sleep(0.01)
    return False


def _spy_sends(client: CleverClient) -> list[tuple[str, str]]:
    """(thread name, query string) of every request the client sends, as it sends it."""
    sent: list[tuple[str, str]] = []
    send = client._send

    def spy(url, params, **kwargs):
        sent.append((threading.current_thread().name, url.partition("?")[2]))
        return send(url, params, **kwargs)

    client._send = spy  # type: ignore[method-assign]
    return sent


def test_the_next_page_is_asked_for_before_the_caller_asks_for_it(sim, make_client):
    client = make_client(page_size=30)
    sent = _spy_sends(client)
    pages = client.user_records("student")
    first = next(pages)
    assert len(first) == 30
    # The request for page 2 is on its way (on the helper thread) while page 1 is worked on.
    client._ahead[1].result(timeout=30)
    assert len(sent) == 2 and sent[1][0].startswith("clever-ahead")
    rest = [record for page in pages for record in page]
    ids = [record["id"] for record in first + rest]
    assert ids == sim.dataset.index("users", sim.dataset.district_ids()[0], "student")
    assert client.requests_made == len(sent)  # every answer asked for ahead was used


def test_a_page_asked_for_ahead_that_was_cut_off_is_asked_again_on_the_callers_thread(
    sim, make_client
):
    sim.faults.truncate_every = 2  # the second request (page 2, asked ahead) is cut off
    client = make_client(page_size=30)
    sent = _spy_sends(client)
    records = [record for page in client.user_records("student") for record in page]
    assert [r["id"] for r in records] == sim.dataset.index(
        "users", sim.dataset.district_ids()[0], "student"
    )
    assert client.retries >= 1
    assert sent[1][0].startswith("clever-ahead")  # page 2, cut off
    assert sent[2] == (threading.main_thread().name, sent[1][1])  # page 2 again, by the caller


def test_a_rotated_token_is_refreshed_on_the_callers_thread_when_a_page_asked_ahead_gets_401():
    with SimulatorServer(Dataset(small_district()), Faults(rotate_token_after=2)) as server:
        threads: list[str] = []

        def refresh() -> str:
            threads.append(threading.current_thread().name)
            return district_token(
                clever_district_id=server.dataset.district_ids()[0],
                client_id="demo-client-id",
                client_secret="demo-client-secret",
                oauth_url=server.url,
                sleep=lambda _seconds: None,
            ).access_token

        client = CleverClient(
            token=server.token(), base_url=server.url, page_size=20, token_refresher=refresh
        )
        with client:
            sent = _spy_sends(client)
            students = list(client.users("student"))
        assert len(students) == 120 and client.token_refreshes == 1
        assert threads == [threading.main_thread().name]
        assert any(name.startswith("clever-ahead") for name, _query in sent)


def test_closing_a_client_mid_read_does_not_wait_and_the_answer_asked_ahead_is_closed(
    sim, make_client
):
    client = make_client(page_size=30)
    pages = client.user_records("student")
    next(pages)
    future = client._ahead[1]
    client.close()
    assert client._ahead is None and client._ahead_pool is None
    assert _closed_once_answered(future)


def test_an_answer_asked_ahead_that_is_not_the_next_request_is_closed(sim, make_client):
    client = make_client(page_size=30)
    pages = client.user_records("student")
    next(pages)
    future = client._ahead[1]
    pages.close()  # the caller stops reading and asks for something else
    assert client.me()["type"] == "district"
    assert _closed_once_answered(future)
