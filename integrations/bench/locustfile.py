"""The district admins of the load test (``integrations.bench.load`` runs ``locust -f`` on this).

Each simulated admin signs in once with its own account, as a person does (the sign-in form, its
CSRF token, a password: no lockout, which counts failures only), then opens the portal's pages
one after another (round the list, from its own starting page, a URL of each picked at random:
a run, a search term) with a person's think time between them. Every request is appended to the JSON
lines file ``LOAD_CONFIG`` names (end time, name, milliseconds, ok, error), from which the driver takes
the percentiles of any window (the whole run, the import's). A page answers 200 or is an error:
redirects are not followed, so a lost session (302 to sign-in) counts as one.

``LOAD_CONFIG`` (JSON): usernames, password, pages ({name: [url, ...]}), think ([min, max]
seconds), log (path).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from typing import Any

from locust import HttpUser, between, events, task
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

CONFIG: dict[str, Any] = json.loads(open(os.environ["LOAD_CONFIG"]).read())  # noqa: SIM115
SIGN_IN = "/accounts/login/"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_next_admin = itertools.count()
_log = open(CONFIG["log"], "a", buffering=1)  # noqa: SIM115 - one line per request, to the end


@events.request.add_listener
def _record(name: str, response_time: float, exception: Any, **_: Any) -> None:
    error = None if exception is None else str(exception)[:200]
    _log.write(
        json.dumps([time.time(), name, round(response_time, 1), error is None, error]) + "\n"
    )


class Reconnect(Retry):
    """One retry of a GET whose connection dropped before any answer (urllib3's ``Retry``)."""

    def increment(self, method: Any = None, url: Any = None, *args: Any, **kwargs: Any) -> Any:
        error = kwargs.get("error")
        _log.write(json.dumps([time.time(), "reconnect", 0, True, repr(error)[:200]]) + "\n")
        return super().increment(method, url, *args, **kwargs)


class DistrictAdmin(HttpUser):
    wait_time = between(*CONFIG["think"])

    def on_start(self) -> None:
        # gunicorn closes a keep-alive connection idle for 2 s; a GET that meets one closing is
        # sent again on a new connection, as browsers do. Each such retry is logged ("reconnect").
        self.client.mount("http://", HTTPAdapter(max_retries=Reconnect(total=1, connect=1, read=1)))
        number = next(_next_admin)
        username = CONFIG["usernames"][number % len(CONFIG["usernames"])]
        # Round the pages in order, each admin starting at another one: every page is opened.
        names = [n for n, urls in CONFIG["pages"].items() if urls]
        start = number % len(names)
        self.pages = itertools.cycle(names[start:] + names[:start])
        form = self.client.get(SIGN_IN, name="sign-in form")
        token = CSRF.search(form.text)
        data = {"username": username, "password": CONFIG["password"]}
        data["csrfmiddlewaretoken"] = token.group(1) if token else ""
        with self.client.post(
            SIGN_IN, data=data, name="sign in", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 302 or SIGN_IN in response.headers.get("Location", ""):
                response.failure(f"sign-in refused: HTTP {response.status_code}")

    @task
    def open_a_page(self) -> None:
        name = next(self.pages)
        url = random.choice(CONFIG["pages"][name])
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as resp:
            if resp.error is not None:
                resp.failure(repr(resp.error))
            elif resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code} {resp.headers.get('Location', '')}")
