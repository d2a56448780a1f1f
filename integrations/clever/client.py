"""A small, strict client for the Clever Data and Events API (v3.x), with no Django imports.

Why our own client: Clever's official libraries are unmaintained (see docs), and a sync needs
exactly three things from one: pages streamed one at a time (a 100,000-student district never
sits in memory), retries that respect Clever's rate limit and back off on its outages, and errors
that tell a district admin what to do. Paging follows the ``links`` entry with ``rel: "next"``;
records come back typed (:mod:`.records`) with the untouched ``raw`` dict.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import requests

from .errors import (
    CleverAuthError,
    CleverBadResponseError,
    CleverDeadlineError,
    CleverError,
    CleverRequestError,
    CleverServerError,
)
from .http import (
    Retryable,
    district_not_found,
    exhausted,
    loads,
    next_link,
    page_items,
    read_body,
    same_origin,
    single,
    status_error,
)
from .records import (
    USER_ROLES,
    CleverDistrict,
    CleverEvent,
    CleverSchool,
    CleverSection,
    CleverTerm,
    CleverUser,
)

logger = logging.getLogger("integrations.clever")

DEFAULT_BASE_URL = "https://api.clever.com"
DEFAULT_USER_AGENT = "naviance-sync/0.1 (+Clever roster sync)"
MAX_PAGE_SIZE = 10000  # Clever answers 413 above this
_EPOCH_THRESHOLD = 1e9  # X-RateLimit-Reset above this is a Unix time, below it is seconds

T = TypeVar("T")


class CleverClient:
    """Talks to one district's Clever data with that district's bearer token.

    ``sleep`` and ``clock`` are injectable so tests never wait; ``session`` lets callers share a
    connection pool. Counters ``requests_made`` (every HTTP attempt) and ``retries`` (attempts
    after the first) feed the run summary and the rate-limit tests.

    ``token_refresher``, when given, is called once (per client) the first time Clever answers
    401: it returns the district's current token (a district that re-authorises the application
    gets a new one, and the old one stops working), and the request is retried with it; it raises
    a :class:`CleverError` saying why when there is none. ``token_refreshes`` counts its calls.

    ``deadline`` (seconds, counted from the client's creation) bounds everything the client does
    (every attempt, backoff and rate-limit wait): a page that waits on Clever passes one, so a
    slow or stalled Clever answers the page within it with :class:`CleverDeadlineError`
    instead of holding a web worker through retries of a long timeout. Syncs pass none.
    """

    def __init__(
        self,
        *,
        token: str,
        base_url: str = DEFAULT_BASE_URL,
        api_version: str = "v3.0",
        page_size: int = MAX_PAGE_SIZE,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
        user_agent: str = DEFAULT_USER_AGENT,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_rate_limit_wait: float = 900.0,
        token_refresher: Callable[[], str] | None = None,
        deadline: float | None = None,
    ) -> None:
        if not isinstance(token, str) or not token.strip():
            raise CleverAuthError(
                "No Clever token is stored for this district. "
                "Connect the district in Clever Data Integration Setup.",
                detail="empty token",
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {page_size}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        parts = urlsplit(base_url or "")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CleverRequestError(
                f'The Clever API address "{base_url}" is not a valid web address '
                "(it should look like https://api.clever.com).",
                detail="invalid base_url",
            )
        self._token = token
        self._old_tokens: list[str] = []
        self._token_refresher = token_refresher
        self.token_refreshes = 0
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version.strip("/")
        self.page_size = page_size
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._own_session = session is None
        self.session = session or requests.Session()
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }
        self.requests_made = 0
        self.retries = 0
        self.deadline = deadline
        self._deadline_at = time.monotonic() + deadline if deadline is not None else None
        # The next page of a bulk read, asked for while the caller works on this one.
        self._ahead: tuple[str, Future[requests.Response]] | None = None
        self._ahead_pool: ThreadPoolExecutor | None = None

    # --- context manager ---------------------------------------------------------------------

    def close(self) -> None:
        ahead, self._ahead = self._ahead, None
        if ahead is not None:
            _close_when_answered(ahead[1])
        if self._ahead_pool is not None:
            # Not waiting for a page asked ahead (up to the read timeout): a run that stops
            # records why at once; the answer is closed when it comes.
            self._ahead_pool.shutdown(wait=False, cancel_futures=True)
            self._ahead_pool = None
        if self._own_session:
            self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CleverClient(base_url={self.base_url!r}, api_version={self.api_version!r})"

    # --- public API -------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        """``GET /me``: who the token belongs to (a district for district-app tokens)."""
        body = self._get_json(f"/{self.api_version}/me", what="the token's owner")
        if not isinstance(body, dict):
            raise CleverBadResponseError(
                "Clever sent the token's owner in an unexpected format. Please contact support.",
                detail="the token's owner: body is not an object",
            )
        return body

    def district(self, district_id: str) -> CleverDistrict:
        body = self._get_json(
            f"/{self.api_version}/districts/{district_id}",
            what=f"district {district_id}",
            not_found=district_not_found(district_id),
        )
        return CleverDistrict.from_raw(single(body, f"district {district_id}"))

    def districts(self) -> list[CleverDistrict]:
        """The districts this token can see (in practice only its own)."""
        return [
            CleverDistrict.from_raw(raw)
            for page in self._pages(f"/{self.api_version}/districts", None)
            for raw in page
        ]

    def schools(self) -> Iterator[CleverSchool]:
        for page in self._pages(f"/{self.api_version}/schools", self._limit()):
            yield from map(CleverSchool.from_raw, page)

    def school(self, school_id: str) -> CleverSchool:
        body = self._get_json(
            f"/{self.api_version}/schools/{school_id}", what=f"school {school_id}"
        )
        return CleverSchool.from_raw(single(body, f"school {school_id}"))

    def user(self, user_id: str) -> CleverUser:
        body = self._get_json(f"/{self.api_version}/users/{user_id}", what=f"user {user_id}")
        return CleverUser.from_raw(single(body, f"user {user_id}"))

    def users(self, role: str) -> Iterator[CleverUser]:
        """Every user holding ``role`` (student, teacher, staff or district_admin), streamed."""
        for page in self.user_pages(role):
            yield from page

    def user_pages(self, role: str) -> Iterator[list[CleverUser]]:
        """The same users one page (up to ``page_size``) at a time, for bulk processing."""
        for page in self.user_records(role):
            users = list(map(CleverUser.from_raw, page))
            del page  # only ``users`` keeps the raw dicts; the caller decides how long
            yield users
            del users

    def user_records(self, role: str) -> Iterator[list[Any]]:
        """The users' raw record dicts, one page at a time, with no typed view: what a sync
        maps (building 100,000 :class:`CleverUser` it never reads cost a resync ~0.4 s)."""
        if role not in USER_ROLES:
            raise ValueError(f"role must be one of {', '.join(USER_ROLES)}, not {role!r}")
        params = [*self._limit(), ("role", role)]
        yield from self._pages(f"/{self.api_version}/users", params, ahead=True)

    def sections(self) -> Iterator[CleverSection]:
        for page in self.section_records():
            yield from map(CleverSection.from_raw, page)

    def section_records(self) -> Iterator[list[Any]]:
        """The sections' raw record dicts, one page at a time, with no typed view: what a staff
        sync folds into each teacher's schools (like :meth:`user_records`)."""
        yield from self._pages(f"/{self.api_version}/sections", self._limit(), ahead=True)

    def terms(self) -> Iterator[CleverTerm]:
        for page in self._pages(f"/{self.api_version}/terms", self._limit()):
            yield from map(CleverTerm.from_raw, page)

    def events(
        self,
        starting_after: str | None = None,
        record_type: str | list[str] | None = None,
    ) -> Iterator[CleverEvent]:
        """Events after ``starting_after`` (oldest first), optionally only some record types."""
        params = list(self._limit())
        if starting_after:
            params.append(("starting_after", starting_after))
        if record_type:
            types = [record_type] if isinstance(record_type, str) else list(record_type)
            params.extend(("record_type", value) for value in types)
        for page in self._pages(f"/{self.api_version}/events", params):
            yield from map(CleverEvent.from_raw, page)

    def latest_event_id(self) -> str | None:
        """The newest event's id (the checkpoint to store before a full sync), None if no events.

        Uses ``ending_before=last&limit=1`` as Clever's own test suites and client gems do.
        """
        body = self._get_json(
            f"/{self.api_version}/events",
            params=[("ending_before", "last"), ("limit", "1")],
            what="the district's events",
        )
        items = page_items(body, "the district's events")
        if not items:
            return None
        event = CleverEvent.from_raw(items[-1])
        return event.id or None

    # --- paging -----------------------------------------------------------------------------

    def _limit(self) -> list[tuple[str, str]]:
        return [("limit", str(self.page_size))]

    def _pages(
        self, path: str, params: list[tuple[str, str]] | None, *, ahead: bool = False
    ) -> Iterator[list[Any]]:
        """Raw record dicts page by page, following ``rel: next`` links until there are none.

        ``ahead``: the next page is asked for before this one is handed over (``_ask_ahead``),
        for bulk reads whose caller asks the client for nothing else between pages.
        """
        what = path.rsplit("/", 1)[-1]
        seen: set[str] = set()
        url: str | None = path
        while url is not None:
            body = self._get_json(url, params=params, what=what)
            params = None  # the next link carries its own query string
            items = page_items(body, what)
            next_uri = next_link(body)
            empty = not items
            del body  # the page must not outlive the caller's use of it (see below)
            if ahead and not empty and next_uri and next_uri not in seen:
                self._ask_ahead(next_uri)
            yield items
            # Drop the page before fetching the next: a 10,000-record page is ~50 MB parsed,
            # and holding it through the next request doubles a sync's peak memory.
            del items
            if empty or not next_uri:
                return
            if next_uri in seen:
                raise CleverBadResponseError(
                    "Clever's paging links went in a circle, so the list could not be read to "
                    "the end. Please contact support.",
                    detail=f"repeated next link {next_uri}",
                )
            seen.add(next_uri)
            url = next_uri

    # --- one request, with retries ---------------------------------------------------------

    def _url(self, path_or_uri: str) -> str:
        """The address to ask: a path on the base URL, or an absolute link Clever sent (a
        paging link) only when it is on the base URL's host: the token goes nowhere else."""
        parts = urlsplit(path_or_uri)
        if parts.scheme or parts.netloc or path_or_uri.startswith("//"):
            if not same_origin(path_or_uri, self.base_url):
                raise CleverBadResponseError(
                    "Clever's answer pointed to another web address, which was not followed "
                    "(this district's access is only ever sent to the Clever API address). "
                    "Please contact support.",
                    detail=self._scrub(
                        f"link to {urlsplit(path_or_uri).netloc or path_or_uri[:80]!r} refused"
                    ),
                )
            return path_or_uri
        return self.base_url + "/" + path_or_uri.lstrip("/")

    def _get_json(
        self,
        path_or_uri: str,
        *,
        params: list[tuple[str, str]] | None = None,
        what: str,
        not_found: str | None = None,
    ) -> Any:
        url = self._url(path_or_uri)
        path = urlsplit(url).path
        last: CleverError | None = None
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self.retries += 1
            self._check_deadline(path)
            try:
                return self._attempt_with_refresh(url, params, path=path, what=what, nf=not_found)
            except Retryable as retry:
                last = retry.error
                last.attempts = attempt
                self._check_deadline(path, cause=last)
                if attempt == self.max_attempts:
                    break
                wait = retry.wait if retry.wait is not None else self._backoff(attempt)
                remaining = self._remaining()
                if remaining is not None and wait >= remaining:
                    raise self._deadline_error(path, cause=last) from None
                logger.warning(
                    "Clever request %s failed (attempt %d of %d): %s; retrying in %.1f s",
                    path,
                    attempt,
                    self.max_attempts,
                    last.detail,
                    wait,
                )
                self._sleep(wait)
        assert last is not None
        raise exhausted(last, self.max_attempts)

    def _attempt_with_refresh(
        self,
        url: str,
        params: list[tuple[str, str]] | None,
        *,
        path: str,
        what: str,
        nf: str | None,
    ) -> Any:
        """One attempt; on the first 401 of this client, the district's current token and the
        same request again (a rotated token). A second 401 is the error."""
        try:
            return self._attempt(url, params, path=path, what=what, not_found=nf)
        except CleverAuthError as exc:
            if exc.status != 401 or self._token_refresher is None or self.token_refreshes:
                raise
            self.token_refreshes += 1
            logger.info("Clever answered 401 on %s: fetching the district's current token", path)
            token = self._token_refresher()  # a CleverError here says why there is none
            if not token or token == self._token:
                raise CleverAuthError(
                    "Clever rejected this district's token and has no newer one for this "
                    "application. Check in Clever that the district still shares its data with "
                    "this application, or contact support.",
                    status=401,
                    detail=exc.detail + " (no newer district token)",
                ) from None
            self._use_token(token)
        try:
            return self._attempt(url, params, path=path, what=what, not_found=nf)
        except CleverAuthError as exc:
            if exc.status != 401:
                raise
            raise CleverAuthError(
                "Clever rejected this district's token, and the current token Clever gave "
                "this application for the district too. Please contact support.",
                status=401,
                detail=exc.detail + " (after fetching the current token)",
            ) from None

    def _remaining(self) -> float | None:
        if self._deadline_at is None:
            return None
        return self._deadline_at - time.monotonic()

    def _check_deadline(self, path: str, *, cause: CleverError | None = None) -> None:
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise self._deadline_error(path, cause=cause)

    def _deadline_error(self, path: str, *, cause: CleverError | None) -> CleverDeadlineError:
        why = f" ({cause.detail})" if cause is not None and cause.detail else ""
        seconds = max(1, math.ceil(self.deadline or 0))
        return CleverDeadlineError(
            f"Clever did not answer within {seconds} second{'s' if seconds != 1 else ''}, so "
            "this page stopped "
            "waiting. Try again in a few minutes; if Clever stays slow, please contact support.",
            detail=self._scrub(f"{path}: deadline of {self.deadline:g} s passed{why}"),
        )

    def _timeouts(self) -> tuple[float, float]:
        """The connect and read timeouts, never past the deadline."""
        remaining = self._remaining()
        if remaining is None:
            return self.timeout
        left = max(0.05, remaining)
        return (min(self.timeout[0], left), min(self.timeout[1], left))

    def _use_token(self, token: str) -> None:
        self._old_tokens.append(self._token)
        self._token = token
        self._headers["Authorization"] = f"Bearer {token}"

    def _backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter (AWS architecture blog's recipe)."""
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** (attempt - 1)))
        return self._rng.uniform(0, ceiling)

    def _attempt(
        self,
        url: str,
        params: list[tuple[str, str]] | None,
        *,
        path: str,
        what: str,
        not_found: str | None,
    ) -> Any:
        """One request: the decoded body of a 200, else the error it is (a ``Retryable`` one
        when another try may help)."""
        self.requests_made += 1
        ahead = self._asked_ahead(url, params)
        if ahead is None:
            response = self._send(url, params, path=path)
        else:
            response = self._read(ahead.result(), path=path)
        status = response.status_code
        if status == 200:
            return self._decode(response, path=path, what=what)
        if 300 <= status < 400:
            target = urlsplit(response.headers.get("Location", "")).netloc or "another address"
            raise CleverBadResponseError(
                f"The Clever API address answered with a redirect (HTTP {status}) to {target}, "
                "which was not followed: this district's access is only ever sent to the Clever "
                "API address. Please contact support.",
                status=status,
                detail=self._scrub(f"{path}: HTTP {status} redirect to {target} not followed"),
            )
        message = self._server_message(response)
        raise status_error(
            status,
            detail=self._scrub(f"{path}: HTTP {status} {message}".strip()),
            what=what,
            not_found=not_found,
            wait=lambda: self._rate_limit_wait(response),
        )

    def _ask_ahead(self, uri: str) -> None:
        """Send the request for the page at ``uri`` now, on the client's one helper thread,
        while the caller works on the page it has: the wait for Clever's answer (a large part
        of a sync's time against the real API) overlaps the work instead of following it.

        Only the request and the wait for the answer's status and headers happen there, with
        this moment's token; the first attempt at ``uri`` (``_attempt``) takes that answer, or
        the error it was, and treats it exactly as its own: it reads the body (a thread reading
        megabytes beside a busy one waits for the interpreter lock at every chunk: a 100,000-
        student sync read its pages three times slower that way), then status, decoding,
        retries and a token refresh (which reads the database) all stay on the caller's
        thread. A link that would not be followed is not asked for ahead (the normal path says
        why). At most one page is held ahead.
        """
        try:
            url = self._url(uri)
        except CleverError:
            return
        if self._ahead_pool is None:
            self._ahead_pool = ThreadPoolExecutor(1, thread_name_prefix="clever-ahead")
        send = functools.partial(
            self._send,
            url,
            None,
            path=urlsplit(url).path,
            headers=dict(self._headers),
            timeout=self._timeouts(),
            body=False,
        )
        self._ahead = (url, self._ahead_pool.submit(send))

    def _asked_ahead(
        self, url: str, params: list[tuple[str, str]] | None
    ) -> Future[requests.Response] | None:
        """The answer asked for ahead for ``url`` (once), None when there is none."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        if params is not None or ahead[0] != url:
            _close_when_answered(ahead[1])  # asked for something else: that answer goes unread
            return None
        return ahead[1]

    def _send(
        self,
        url: str,
        params: list[tuple[str, str]] | None,
        *,
        path: str,
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | None = None,
        body: bool = True,
    ) -> requests.Response:
        """The answer with its body read (``body=False``: status and headers only, the body
        left on the connection for ``_read``); a transport failure as the error it is."""
        with self._transport_errors(path):
            # Redirects are never followed: requests would send the Authorization header to
            # another host of the same scheme (and any host for a relative Location).
            response = self.session.get(
                url,
                params=params,
                headers=headers or self._headers,
                timeout=timeout or self._timeouts(),
                stream=True,
                allow_redirects=False,
            )
            if body:
                read_body(response)
        return response

    def _read(self, response: requests.Response, *, path: str) -> requests.Response:
        """Read the body of an answer sent with ``body=False``."""
        with self._transport_errors(path):
            read_body(response)
        return response

    @contextlib.contextmanager
    def _transport_errors(self, path: str) -> Iterator[None]:
        """``requests``' transport failures as the Clever errors they are (most retryable)."""
        try:
            yield
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema,
        ) as exc:
            raise CleverRequestError(
                f'The Clever API address "{self.base_url}" is not a valid web address.',
                detail=self._scrub(f"{path}: {type(exc).__name__}"),
            ) from None
        except requests.exceptions.Timeout as exc:
            raise Retryable(
                CleverServerError(
                    "Clever did not answer in time. The import will try again later.",
                    detail=self._scrub(f"{path}: timeout ({type(exc).__name__})"),
                )
            ) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            raise Retryable(
                CleverBadResponseError(
                    "Clever sent an incomplete response (the connection was cut off mid-page). "
                    "The import will try again later.",
                    status=200,
                    detail=self._scrub(f"{path}: body cut off ({exc})"),
                )
            ) from None
        except requests.exceptions.RequestException as exc:
            host = urlsplit(self.base_url).netloc
            raise Retryable(
                CleverServerError(
                    f"Could not reach Clever at {host}: the connection failed. "
                    "The import will try again later.",
                    detail=self._scrub(f"{path}: {type(exc).__name__}: {exc}"),
                )
            ) from None

    def _decode(self, response: requests.Response, *, path: str, what: str) -> Any:
        content_type = response.headers.get("Content-Type", "")
        text_start = response.content[:200].lstrip().lower()
        if "html" in content_type or text_start.startswith((b"<!doctype", b"<html")):
            raise Retryable(
                CleverBadResponseError(
                    "Clever answered with a web page instead of data. "
                    "The import will try again later.",
                    status=response.status_code,
                    detail=f"{path}: HTML body ({content_type or 'no content type'})",
                )
            )
        try:
            return loads(response.content)
        except ValueError:
            raise Retryable(
                CleverBadResponseError(
                    "Clever sent a response that could not be read (cut off or not valid data). "
                    "The import will try again later.",
                    status=response.status_code,
                    detail=f"{path}: invalid JSON, {len(response.content)} bytes",
                )
            ) from None

    def _rate_limit_wait(self, response: requests.Response) -> float | None:
        """Seconds until Clever's rate-limit window resets (+ up to 1 s jitter), None if unknown.

        ``X-RateLimit-Reset`` holds one value per bucket ("135136, 31634"); the longest wins.
        Values above 10^9 are Unix times, smaller ones are seconds. ``Retry-After`` (seconds or
        an HTTP date) is honoured too.
        """
        waits: list[float] = []
        now = self._clock()
        reset = response.headers.get("X-RateLimit-Reset")
        if reset:
            for part in reset.split(","):
                try:
                    value = float(part.strip())
                except ValueError:
                    continue
                waits.append(value - now if value > _EPOCH_THRESHOLD else value)
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                waits.append(float(retry_after))
            except ValueError:
                parsed = email.utils.parsedate_to_datetime(retry_after) if retry_after else None
                if parsed is not None:
                    waits.append(parsed.timestamp() - now)
        if not waits:
            return None
        wait = min(max(0.0, max(waits)), self.max_rate_limit_wait)
        return wait + self._rng.uniform(0, 1)

    def _server_message(self, response: requests.Response) -> str:
        """Clever's ``{"message": ...}`` if the error body has one (scrubbed, shortened)."""
        try:
            body = response.json()
        except ValueError:
            return ""
        if isinstance(body, dict):
            for key in ("message", "error", "error_description"):
                if isinstance(body.get(key), str):
                    return self._scrub(body[key])[:300]
        return ""

    def _scrub(self, text: str) -> str:
        for token in (self._token, *self._old_tokens):
            if token:
                text = text.replace(token, "[token]")
        return text


def _close_when_answered(future: Future[requests.Response]) -> None:
    """Close an answer asked for ahead that nobody will read (its connection goes back to the
    pool), now or when it comes; a request that failed or never ran leaves nothing open."""

    def close(done: Future[requests.Response]) -> None:
        if not done.cancelled() and done.exception() is None:
            done.result().close()

    future.add_done_callback(close)
