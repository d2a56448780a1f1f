import json

import pytest

from naviance_sync import health

TOKEN = "test-healthz-token-0123456789"


@pytest.fixture
def operator(settings):
    """A caller presenting the operators' token: it sees which part is down and why."""
    settings.HEALTHZ_TOKEN = TOKEN
    return {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}


@pytest.mark.django_db
def test_healthz_ok(client, operator):
    assert json.loads(client.get("/healthz").content) == {"status": "ok"}
    response = client.get("/healthz", **operator)
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_says_broker_is_down(client, monkeypatch, operator):
    monkeypatch.setattr(
        health, "broker_url", lambda: "redis://127.0.0.1:1/0"
    )  # nothing listens there
    response = client.get("/healthz", **operator)
    body = json.loads(response.content)
    assert response.status_code == 503
    assert body["status"] == "degraded"
    assert body["broker"] == "down" and body["database"] == "ok"
    assert "broker" in body["errors"]


@pytest.mark.django_db
def test_healthz_says_database_is_down(client, monkeypatch, operator):
    from django.db import connection

    def broken(*a, **k):
        raise RuntimeError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken)
    from naviance_sync import views

    monkeypatch.setattr(views, "check_broker", lambda: None)
    body = json.loads(client.get("/healthz", **operator).content)
    assert body["database"] == "down" and body["broker"] == "ok"
