"""The simulator's own behaviour: tokens and tenancy, paging parameters, control endpoints."""

from __future__ import annotations

import json

import pytest
import requests

from integrations.simulator import Dataset, Faults, SimulatorServer, make_app
from integrations.simulator.control import apply_operations
from integrations.simulator.generator import generate_district


def _get(server, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token or server.token()}"} if token != "" else {}
    return requests.get(f"{server.url}{path}", params=params, headers=headers, timeout=10)


@pytest.fixture
def two_districts():
    first = generate_district(students=30, staff=8, schools=2, seed=1)
    second = generate_district(students=20, staff=6, schools=2, seed=2)
    data = {
        key: first[key] + second[key]
        for key in ("districts", "schools", "users", "sections", "terms")
    }
    data["tokens"] = {**first["tokens"], **second["tokens"]}
    with SimulatorServer(Dataset(data)) as server:
        yield server, first, second


def test_a_token_sees_only_its_own_district(two_districts):
    server, first, second = two_districts
    first_id, second_id = first["districts"][0]["id"], second["districts"][0]["id"]
    first_token = first["tokens"][first_id]
    users = _get(server, "/v3.0/users", first_token, limit=10000).json()["data"]
    assert {item["data"]["district"] for item in users} == {first_id}
    assert len(users) == len(first["users"])
    assert _get(server, f"/v3.0/districts/{second_id}", first_token).status_code == 404
    other_user = second["users"][0]["id"]
    assert _get(server, f"/v3.0/users/{other_user}", first_token).status_code == 404
    other_school = second["schools"][0]["id"]
    assert _get(server, f"/v3.0/schools/{other_school}/users", first_token).status_code == 404
    [district] = _get(server, "/v3.0/districts", first_token).json()["data"]
    assert district["data"]["id"] == first_id


def test_missing_or_unknown_token_is_401_json(sim):
    for token in ("", "nope"):
        response = _get(sim, "/v3.0/schools", token)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/json"
        assert "message" in response.json()


def test_paging_parameters_are_validated(sim):
    assert _get(sim, "/v3.0/users", limit=10001).status_code == 413
    assert _get(sim, "/v3.0/users", limit="ten").status_code == 400
    assert _get(sim, "/v3.0/users", limit=0).status_code == 400
    assert _get(sim, "/v3.0/users", role="parent").status_code == 400
    assert len(_get(sim, "/v3.0/users").json()["data"]) == 100  # default page size


def test_starting_after_and_ending_before(sim):
    ids = sim.dataset.index("users", sim.dataset.district_ids()[0], "student")
    page = _get(sim, "/v3.0/users", role="student", limit=5, starting_after=ids[9]).json()
    assert [i["data"]["id"] for i in page["data"]] == ids[10:15]
    page = _get(sim, "/v3.0/users", role="student", limit=5, ending_before=ids[9]).json()
    assert [i["data"]["id"] for i in page["data"]] == ids[4:9]
    page = _get(sim, "/v3.0/users", role="student", limit=3, ending_before="last").json()
    assert [i["data"]["id"] for i in page["data"]] == ids[-3:]
    assert not any(link["rel"] == "next" for link in page["links"])
    empty = _get(sim, "/v3.0/users", role="student", starting_after=ids[-1]).json()
    assert empty["data"] == []


def test_school_users_primary_and_role(sim):
    dataset = sim.dataset
    school = dataset.index("schools", dataset.district_ids()[0])[0]
    everyone = _get(sim, f"/v3.0/schools/{school}/users", limit=10000).json()["data"]
    primary = _get(
        sim, f"/v3.0/schools/{school}/users", limit=10000, primary="true", role="student"
    ).json()["data"]
    assert primary and len(primary) <= len(everyone)
    assert all(item["data"]["roles"]["student"]["school"] == school for item in primary)


def test_mutate_endpoint_records_events(sim):
    dataset = sim.dataset
    student = dataset.index("users", dataset.district_ids()[0], "student")[0]
    response = requests.post(
        f"{sim.url}/_sim/mutate",
        json=[
            {
                "op": "update_user",
                "id": student,
                "changes": {"roles": {"student": {"grade": "11"}}},
            },
            {"op": "set_grade", "id": student, "grade": "12"},
        ],
        timeout=5,
    )
    assert response.status_code == 200, response.text
    assert response.json()["latest_event_id"] == dataset.events()[-1]["id"]
    events = _get(sim, "/v3.0/events").json()["data"]
    assert [e["data"]["data"]["previous_attributes"]["roles"]["student"]["grade"] for e in events][
        1
    ] == "11"
    bad = requests.post(f"{sim.url}/_sim/mutate", json={"op": "explode"}, timeout=5)
    assert bad.status_code == 400 and "unknown operation" in bad.json()["message"]
    missing = requests.post(
        f"{sim.url}/_sim/mutate", json={"op": "delete_user", "id": "x" * 24}, timeout=5
    )
    assert missing.status_code == 400 and "no user with id" in missing.json()["message"]


def test_mutation_file_operations(tmp_path):
    data = generate_district(students=10, staff=4, schools=1, seed=3)
    dataset = Dataset(data)
    student = dataset.index("users", dataset.district_ids()[0], "student")[0]
    ops = {"ops": [{"op": "delete_user", "id": student}]}
    assert apply_operations(dataset, ops)[0]["id"] == student
    assert dataset.get("users", student) is None
    assert dataset.events()[0]["type"] == "users.deleted"
    with pytest.raises(ValueError, match="update_user needs id, changes; missing changes"):
        apply_operations(dataset, {"op": "update_user", "id": student})


def test_faults_endpoint_changes_a_running_server(sim):
    response = requests.post(f"{sim.url}/_sim/faults", json={"error_burst": 1}, timeout=5)
    assert response.json()["error_burst"] == 1
    assert _get(sim, "/v3.0/schools").status_code in (500, 502, 503)
    assert _get(sim, "/v3.0/schools").status_code == 200
    bad = requests.post(f"{sim.url}/_sim/faults", json={"explode": True}, timeout=5)
    assert bad.status_code == 400


def test_rate_limit_headers_follow_clevers_shape(sim):
    sim.faults.rate_limit_every = 1
    response = _get(sim, "/v3.0/schools")
    assert response.status_code == 429
    assert response.content == b""
    for header in (
        "X-RateLimit-Bucket",
        "X-RateLimit-Limit",
        "X-RateLimit-Reset",
        "X-RateLimit-Remaining",
    ):
        assert len(response.headers[header].split(",")) == 2


def test_per_minute_limit_counts_per_token(sim):
    sim.faults.rate_limit_per_minute = 3
    statuses = [_get(sim, "/v3.0/schools").status_code for _ in range(4)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3] == 429


def test_dataset_without_token_gets_one_generated():
    data = generate_district(students=2, staff=2, schools=1, seed=4)
    district_id = data["districts"][0]["id"]
    del data["tokens"]
    dataset = Dataset(data)
    assert dataset.generated_tokens[district_id] == dataset.tokens[district_id]
    assert dataset.district_for_token(dataset.tokens[district_id]) == district_id


def test_bad_dataset_files_have_clear_errors(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="is not valid JSON"):
        Dataset.load(path)
    with pytest.raises(ValueError, match='"users" must be a list'):
        Dataset({"users": {}})


def test_wsgi_app_is_callable_without_a_server():
    dataset = Dataset(generate_district(students=3, staff=2, schools=1, seed=5))
    app = make_app(dataset, Faults())
    captured = {}

    def start_response(status, headers):
        captured["status"] = status

    import io

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/v3.0/districts",
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": f"Bearer {dataset.tokens[dataset.district_ids()[0]]}",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(app(environ, start_response))
    assert captured["status"] == "200 OK"
    assert json.loads(body)["data"][0]["data"]["id"] == dataset.district_ids()[0]
