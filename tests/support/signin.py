"""Signing in by password, as a browser behind the proxy does, for the lockout tests: the clock is
moved by ageing the stored attempts (what waiting does to them), never by sleeping."""

from __future__ import annotations

from datetime import timedelta

from axes.models import AccessAttempt
from django.db.models import F
from django.urls import reverse

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
PROXY_IP = "10.0.0.9"
LOCKED = 429


def attempt(client, username, password, *, ip=PROXY_IP, url=LOGIN, **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == reverse("home")


def age_attempts(minutes: int) -> None:
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=minutes))
