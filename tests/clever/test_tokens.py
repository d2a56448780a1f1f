"""A district's token fetched with the application's credentials, and a rotated token refreshed.

Against the simulator: ``GET /oauth/tokens?owner_type=district`` (HTTP Basic), ``/oauth/tokeninfo``,
token rotation (``POST /_sim/tokens``, the ``rotate_token_after`` fault) and districts that stop
sharing. No database.
"""

from __future__ import annotations

import pytest
import requests

from integrations.clever import (
    CleverAppCredentialsError,
    CleverAuthError,
    CleverClient,
    CleverNotSharedError,
    CleverUnreachableError,
    district_token,
    token_scopes,
)
from integrations.clever.tokens import missing_scopes, scope_message, scopes_in_view
from integrations.simulator import Dataset, Faults, SimulatorServer
from integrations.simulator.pytest_plugin import small_district

CLIENT = {"client_id": "demo-client-id", "client_secret": "demo-client-secret"}


def no_sleep(_seconds: float) -> None:
    return None


def lookup(sim, district_id: str, **overrides):
    options = {**CLIENT, "oauth_url": sim.url, "sleep": no_sleep, **overrides}
    return district_token(clever_district_id=district_id, **options)


def district_of(sim) -> str:
    return sim.dataset.district_ids()[0]


# --- the lookup -------------------------------------------------------------------------------


def test_lookup_finds_the_districts_token_and_its_scopes(sim):
    found = lookup(sim, district_of(sim))
    assert found.access_token == sim.token()
    assert {"read:students", "read:teachers", "read:school_admins"} <= set(found.scopes)
    assert sim.token() not in repr(found)


def test_lookup_of_a_district_that_does_not_share_says_what_to_do_in_clever(sim):
    sim.dataset.unshare(district_of(sim))
    with pytest.raises(CleverNotSharedError) as info:
        lookup(sim, district_of(sim))
    assert "does not share its data with this application" in info.value.admin_message
    assert "Clever dashboard" in info.value.admin_message
    with pytest.raises(CleverNotSharedError):
        lookup(sim, "5f0e0e0e0e0e0e0e0e0e0e0e")


def test_rejected_app_credentials_are_for_support_and_never_echo_the_secret(sim):
    with pytest.raises(CleverAppCredentialsError) as info:
        lookup(sim, district_of(sim), client_secret="wrong-secret-xyz")
    assert "contact support" in info.value.admin_message
    assert "wrong-secret-xyz" not in info.value.admin_message + info.value.detail
    with pytest.raises(CleverAppCredentialsError):
        lookup(sim, district_of(sim), client_secret="")


def test_unreachable_clever_is_for_support_and_transient(sim):
    with pytest.raises(CleverUnreachableError) as info:
        lookup(sim, district_of(sim), oauth_url="http://127.0.0.1:9")
    assert "could not be reached" in info.value.admin_message
    assert "contact support" in info.value.admin_message


def test_tokeninfo_names_the_scopes_the_district_grants(sim):
    sim.dataset.set_scopes(district_of(sim), ["read:students"])
    assert token_scopes(token=sim.token(), oauth_url=sim.url) == ("read:students",)
    with pytest.raises(CleverAuthError):
        token_scopes(token="not-a-token", oauth_url=sim.url, sleep=no_sleep)


def test_scopes_needed_per_data_type_and_the_admins_words():
    granted = ["read:students", "read:user_id"]
    assert missing_scopes(granted, data_types=["students"]) == []
    missing = missing_scopes(granted, data_types=["students", "staff"])
    assert missing == ["read:teachers", "read:school_admins", "read:district_admins"]
    message = scope_message(missing, data_types=["students", "staff"])
    assert "teachers, school staff and district admins" in message
    assert "the student and staff integrations need" in message
    assert scopes_in_view(granted) == {
        "students": True,
        "teachers": False,
        "school staff": False,
        "district admins": False,
    }


# --- the simulator's sharing controls ---------------------------------------------------------


def test_rotation_control_replaces_the_token_and_the_old_one_stops_working(sim):
    old = sim.token()
    answer = requests.post(
        f"{sim.url}/_sim/tokens", json={"district": district_of(sim), "action": "rotate"}, timeout=5
    ).json()
    assert answer["shared"] and answer["token"] != old
    assert lookup(sim, district_of(sim)).access_token == answer["token"]
    with pytest.raises(CleverAuthError):
        CleverClient(token=old, base_url=sim.url, sleep=no_sleep).districts()
    assert CleverClient(token=answer["token"], base_url=sim.url).districts()


def test_scopes_and_sharing_per_district_in_the_dataset_file():
    data = small_district()
    district_id = data["districts"][0]["id"]
    data["tokens"] = {district_id: None}
    data["scopes"] = {district_id: ["read:students"]}
    dataset = Dataset(data)
    assert district_id not in dataset.tokens and district_id in dataset.unshared
    assert dataset.district_scopes(district_id) == ["read:students"]
    again = Dataset(dataset.to_dict())
    assert district_id in again.unshared and again.scopes == {district_id: ["read:students"]}
    token = dataset.share(district_id)
    assert dataset.district_for_token(token) == district_id


# --- a rotated token, refreshed once by the client --------------------------------------------


@pytest.fixture
def rotating():
    """The district's token is rotated after 2 requests (mid-read with 20-record pages)."""
    with SimulatorServer(Dataset(small_district()), Faults(rotate_token_after=2)) as server:
        yield server


def test_a_rotated_token_is_refreshed_once_and_the_read_goes_on(rotating):
    calls = []

    def refresh() -> str:
        calls.append(1)
        return lookup(rotating, district_of(rotating)).access_token

    old = rotating.token()
    client = CleverClient(token=old, base_url=rotating.url, page_size=20, token_refresher=refresh)
    students = list(client.users("student"))
    assert len(students) == 120 and len(calls) == 1 and client.token_refreshes == 1
    assert rotating.token() != old


def test_without_a_refresher_a_rotated_token_fails_the_read(rotating):
    client = CleverClient(token=rotating.token(), base_url=rotating.url, page_size=20)
    with pytest.raises(CleverAuthError):
        list(client.users("student"))


def test_when_the_district_stops_sharing_the_refresh_error_is_the_one_raised(sim):
    def refresh() -> str:
        return lookup(sim, district_of(sim)).access_token

    client = CleverClient(token=sim.token(), base_url=sim.url, token_refresher=refresh)
    sim.dataset.unshare(district_of(sim))
    with pytest.raises(CleverNotSharedError):
        client.districts()


def test_a_refreshed_token_that_is_rejected_too_fails_once_without_a_loop(sim):
    calls = []

    def refresh() -> str:
        calls.append(1)
        return "another-token-that-clever-rejects"

    client = CleverClient(
        token="rejected-token", base_url=sim.url, token_refresher=refresh, sleep=no_sleep
    )
    with pytest.raises(CleverAuthError) as info:
        client.districts()
    assert len(calls) == 1
    assert "contact support" in info.value.admin_message
    assert "another-token" not in info.value.detail


def test_the_same_token_back_is_not_a_refresh(sim):
    client = CleverClient(
        token="rejected-token", base_url=sim.url, token_refresher=lambda: "rejected-token"
    )
    with pytest.raises(CleverAuthError) as info:
        client.districts()
    assert "no newer one" in info.value.admin_message


def test_sharing_control_stops_and_starts_sharing_and_refuses_bad_input(sim):
    district_id = district_of(sim)

    def post(body):
        return requests.post(f"{sim.url}/_sim/tokens", json=body, timeout=5)

    answer = post({"district": district_id, "action": "unshare"}).json()
    assert answer == {
        "district": district_id,
        "shared": False,
        "token": None,
        "scopes": answer["scopes"],
    }
    with pytest.raises(CleverNotSharedError):
        lookup(sim, district_id)
    answer = post({"district": district_id, "action": "share", "scopes": ["read:students"]}).json()
    assert answer["shared"] and answer["scopes"] == ["read:students"]
    assert lookup(sim, district_id).scopes == ("read:students",)
    assert post({"district": district_id, "action": "explode"}).status_code == 400
    assert post({"district": "nope", "action": "rotate"}).status_code == 404
    assert post({"district": district_id, "extra": 1}).status_code == 400


def test_rotate_token_after_is_a_fault_the_command_and_the_faults_endpoint_accept(sim):
    from integrations.management.commands.clever_simulator import Command

    parser = Command().create_parser("manage.py", "clever_simulator")
    options = parser.parse_args(["--data", "x.json", "--rotate-token-after", "5"])
    assert options.rotate_token_after == 5
    faults = requests.post(
        f"{sim.url}/_sim/faults", json={"rotate_token_after": 0}, timeout=5
    ).json()
    assert faults["rotate_token_after"] == 0
    old = sim.token()
    with pytest.raises(CleverAuthError):
        CleverClient(token=old, base_url=sim.url, sleep=no_sleep).districts()
    new = lookup(sim, district_of(sim)).access_token
    assert new != old and CleverClient(token=new, base_url=sim.url).districts()  # rotated once
