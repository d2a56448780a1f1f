"""Simulator responses validated against Clever's official spec (v3.0.yml, v3.0-events.yml)."""

from __future__ import annotations

import jsonschema
import pytest
import requests

from .spec import definition_schema, response_schema, validate

DATA = "v3.0.yml"
EVENTS = "v3.0-events.yml"


def _get(sim, path: str, **params):
    response = requests.get(
        f"{sim.url}/v3.0{path}",
        params=params,
        headers={"Authorization": f"Bearer {sim.token()}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "application/json"
    return response.json()


def _ids(sim, kind, role=""):
    return sim.dataset.index(kind, sim.dataset.district_ids()[0], role)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/districts", {}),
        ("/schools", {"limit": 10000}),
        ("/sections", {"limit": 10000}),
        ("/terms", {"limit": 10000}),
        ("/users", {"limit": 10000, "role": "student"}),
        ("/users", {"limit": 10000, "role": "teacher"}),
        ("/users", {"limit": 10000, "role": "staff"}),
        ("/users", {"limit": 10000, "role": "district_admin"}),
        ("/users", {"limit": 10000}),
    ],
)
def test_list_responses_match_the_spec(sim, path, params):
    body = _get(sim, path, **params)
    assert body["data"]
    validate(body, response_schema(DATA, path))
    for item in body["data"]:
        assert item["uri"] == f"/v3.0{path}/{item['data']['id']}"


def test_single_record_responses_match_the_spec(sim):
    district_id = sim.dataset.district_ids()[0]
    validate(_get(sim, f"/districts/{district_id}"), response_schema(DATA, "/districts/{id}"))
    school = _ids(sim, "schools")[0]
    validate(_get(sim, f"/schools/{school}"), response_schema(DATA, "/schools/{id}"))
    for role in ("student", "teacher", "staff", "district_admin"):
        user = _ids(sim, "users", role)[0]
        validate(_get(sim, f"/users/{user}"), response_schema(DATA, "/users/{id}"))
    section = _ids(sim, "sections")[0]
    validate(_get(sim, f"/sections/{section}"), response_schema(DATA, "/sections/{id}"))
    term = _ids(sim, "terms")[0]
    validate(_get(sim, f"/terms/{term}"), response_schema(DATA, "/terms/{id}"))
    body = _get(sim, f"/schools/{school}/users", role="student", limit=10000)
    assert body["data"]
    validate(body, response_schema(DATA, "/schools/{id}/users"))
    validate(_get(sim, f"/sections/{section}/users"), response_schema(DATA, "/sections/{id}/users"))


def test_events_match_the_events_spec(sim):
    dataset = sim.dataset
    students = _ids(sim, "users", "student")
    dataset.update_user(students[0], {"email": "changed@example.org", "name": {"first": "Zed"}})
    current = dataset.get("users", students[1])["roles"]["student"]["school"]
    dataset.move_student(students[1], next(s for s in _ids(sim, "schools") if s != current))
    dataset.create_user(
        {"name": {"first": "A", "last": "B"}, "roles": {"teacher": {"sis_id": "T9"}}}
    )
    dataset.delete_user(students[2])
    body = _get(sim, "/events", limit=10000)
    assert len(body["data"]) == 4
    validate(body, response_schema(EVENTS, "/events"))
    for item in body["data"]:
        event = item["data"]
        validate(event, definition_schema(EVENTS, event["type"]))
        validate(event["data"]["object"], definition_schema(DATA, "User"))
    single = _get(sim, f"/events/{body['data'][0]['data']['id']}")
    validate(single, response_schema(EVENTS, "/events/{id}"))


def test_strict_schema_catches_a_wrong_field(sim):
    """The validation is not vacuous: an invented field or a bad grade fails."""
    user = _get(sim, f"/users/{_ids(sim, 'users', 'student')[0]}")
    user["data"]["roles"]["student"]["grade"] = "Grade 9"
    with pytest.raises(jsonschema.ValidationError):
        validate(user, response_schema(DATA, "/users/{id}"))
    user["data"]["roles"]["student"]["grade"] = "9"
    user["data"]["nickname"] = "x"
    with pytest.raises(jsonschema.ValidationError):
        validate(user, response_schema(DATA, "/users/{id}"))


def test_paging_links_are_relative_and_versioned(sim):
    body = _get(sim, "/users", role="student", limit=50)
    links = {link["rel"]: link["uri"] for link in body["links"]}
    assert links["self"] == "/v3.0/users?role=student&limit=50"
    last_id = body["data"][-1]["data"]["id"]
    assert links["next"] == f"/v3.0/users?role=student&limit=50&starting_after={last_id}"
    assert "prev" not in links
    second = requests.get(
        sim.url + links["next"], headers={"Authorization": f"Bearer {sim.token()}"}, timeout=5
    ).json()
    second_links = {link["rel"]: link["uri"] for link in second["links"]}
    first_id = second["data"][0]["data"]["id"]
    assert second_links["prev"] == f"/v3.0/users?role=student&limit=50&ending_before={first_id}"
    back = requests.get(
        sim.url + second_links["prev"],
        headers={"Authorization": f"Bearer {sim.token()}"},
        timeout=5,
    ).json()
    assert [i["data"]["id"] for i in back["data"]] == [i["data"]["id"] for i in body["data"]]
