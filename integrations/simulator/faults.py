"""Fault injection for the simulator: what Clever and the network do on a bad day.

A ``Faults`` object is read on every API request, so a test (or ``POST /_sim/faults``) can change
it while the server runs. Counting faults ("every Nth request") count API requests from 1 across
all tokens, so a client's retry of a failed request is the next request and usually succeeds.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass
class Faults:
    # 429s with X-RateLimit-* headers: every Nth request, or every request until an epoch time.
    rate_limit_every: int = 0
    rate_limit_until: float = 0.0
    rate_limit_reset_seconds: float = 2.0  # the X-RateLimit-Reset value points this far ahead
    rate_limit_reset_style: str = "epoch"  # "epoch" (Unix time) or "seconds"
    retry_after: bool = False  # also send Retry-After
    # A real fixed one-minute window per token (Clever: 1200 requests per minute); 0 = off.
    rate_limit_per_minute: int = 0
    # 5xx: a seeded share of requests, plus an explicit burst of the next N requests.
    error_rate: float = 0.0
    error_burst: int = 0
    error_statuses: tuple[int, ...] = (500, 502, 503)
    seed: int = 0
    # Slowness: added to every request; and every Nth request sleeps long (client timeout).
    latency_ms: int = 0
    timeout_every: int = 0
    timeout_seconds: float = 2.0
    # Connection dropped before any response byte, every Nth request.
    reset_every: int = 0
    # Every Nth list page cut off mid-body. "close": full Content-Length, connection closed
    # early (the client sees an incomplete read); "short": a truncated but complete response.
    truncate_every: int = 0
    truncate_mode: str = "close"
    # Every Nth request answered with an HTML page instead of JSON (status html_status).
    html_every: int = 0
    html_status: int = 200
    # Every token stops working after this many authenticated requests (401), None = never.
    revoke_token_after: int | None = None
    # Each district's token is rotated once (as when the district re-authorises the application)
    # when it has been used for this many requests: that request and later ones with the old
    # token get 401, and ``GET /oauth/tokens`` lists the new one. None = never.
    rotate_token_after: int | None = None
    # Malformed student records mixed into the first district's users.
    malformed_users: int = 0

    _rng: random.Random = field(
        default_factory=random.Random, init=False, repr=False, compare=False
    )
    _lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )
    requests: int = field(default=0, init=False)
    list_pages: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self._rng.seed(self.seed)
        self._token_requests: dict[str, int] = {}
        self._rotation_requests: dict[str, int] = {}
        self._windows: dict[str, tuple[int, int]] = {}

    # --- counters (thread-safe) --------------------------------------------------------------

    def next_request(self) -> int:
        with self._lock:
            self.requests += 1
            return self.requests

    def next_list_page(self) -> int:
        with self._lock:
            self.list_pages += 1
            return self.list_pages

    def take_error(self) -> int | None:
        """A 5xx status for this request, or None."""
        with self._lock:
            if self.error_burst > 0:
                self.error_burst -= 1
                return self._rng.choice(self.error_statuses)
            if self.error_rate and self._rng.random() < self.error_rate:
                return self._rng.choice(self.error_statuses)
        return None

    def token_used(self, token: str) -> int:
        with self._lock:
            count = self._token_requests.get(token, 0) + 1
            self._token_requests[token] = count
            return count

    def rotation_count(self, token: str) -> int:
        """Requests made with ``token`` so far, this one included (for ``rotate_token_after``)."""
        with self._lock:
            count = self._rotation_requests.get(token, 0) + 1
            self._rotation_requests[token] = count
            return count

    def window_count(self, token: str, now: float) -> tuple[int, float]:
        """(requests in this token's current minute, when the window resets)."""
        minute = int(now // 60)
        with self._lock:
            start, count = self._windows.get(token, (minute, 0))
            if start != minute:
                start, count = minute, 0
            count += 1
            self._windows[token] = (start, count)
        return count, (minute + 1) * 60.0

    def jitter(self) -> float:
        with self._lock:
            return self._rng.random()

    def reset_counters(self) -> None:
        with self._lock:
            self.requests = 0
            self.list_pages = 0
            self._token_requests.clear()
            self._rotation_requests.clear()
            self._windows.clear()

    def update(self, values: dict[str, Any]) -> None:
        """Set fields from a JSON object (``POST /_sim/faults``); unknown names are an error."""
        names = {f.name for f in fields(self) if f.init}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for name, value in values.items():
            if name == "error_statuses":
                value = tuple(int(v) for v in value)
            setattr(self, name, value)
        if "seed" in values:
            self._rng.seed(self.seed)

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        out["error_statuses"] = list(self.error_statuses)
        return out
