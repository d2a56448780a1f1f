"""What one answer from Clever means, with no Django and no client state: its body read and
decoded, the error a status is, the records and paging link of a page. :mod:`.client` asks and
retries; this module only reads answers (pure, but for reading the body from the socket).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from naviance_sync.text import clever_loads

from .errors import (
    CleverAuthError,
    CleverBadResponseError,
    CleverError,
    CleverNotFoundError,
    CleverRateLimitError,
    CleverRequestError,
    CleverServerError,
)

RETRY_STATUSES = frozenset({500, 502, 503, 504})


class Retryable(Exception):
    """One attempt failed in a way worth another try; carries the error to raise last."""

    def __init__(self, error: CleverError, wait: float | None = None) -> None:
        super().__init__(error.admin_message)
        self.error = error
        self.wait = wait  # None: use exponential backoff


def status_error(
    status: int,
    *,
    detail: str,
    what: str,
    not_found: str | None,
    wait: Callable[[], float | None],
) -> Exception:
    """The error an answer other than 200 or a redirect is, in the admin's words; a
    :class:`Retryable` when another try may help (``wait``: Clever's rate-limit wait, asked only
    for a 429)."""
    if status == 401:
        return CleverAuthError(status=401, detail=detail)
    if status == 403:
        return CleverAuthError(
            "Clever refused this token access to the district's data: the application may "
            "not have Secure Sync access. Check the application's data sharing in Clever.",
            status=403,
            detail=detail,
        )
    if status == 404:
        return CleverNotFoundError(
            not_found
            or f"Clever could not find {what}: it may have been deleted or is no longer "
            "shared with this application.",
            status=404,
            detail=detail,
        )
    if status == 429:
        return Retryable(
            CleverRateLimitError(status=429, detail=detail),
            wait=wait(),
        )
    if status in RETRY_STATUSES or 500 <= status < 600 and status != 501:
        return Retryable(
            CleverServerError(
                f"Clever's servers were unavailable (HTTP {status}). "
                "The import will try again later.",
                status=status,
                detail=detail,
            )
        )
    if status == 413:
        return CleverRequestError(
            "Clever refused the request because the page size is too large (HTTP 413). "
            "Please contact support.",
            status=413,
            detail=detail,
        )
    if status == 501:
        return CleverRequestError(
            "Clever does not support this request (HTTP 501). Please contact support.",
            status=501,
            detail=detail,
        )
    return CleverRequestError(
        f"Clever rejected the request as invalid (HTTP {status}). Please contact support.",
        status=status,
        detail=detail,
    )


# --- an answer's body -------------------------------------------------------------------------


def loads(content: bytes) -> Any:
    """``json.loads`` with the cyclic GC paused: a page is ~500,000 new containers, and
    collections triggered mid-parse (scanning everything the process already holds) used to
    double the parse time. Nothing in a JSON document can form a cycle. NUL is dropped and lone
    surrogates replaced first: no text Clever sends may fail a write (``naviance_sync.text``).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return clever_loads(content)
    finally:
        if enabled:
            gc.enable()


def read_body(response: requests.Response) -> None:
    """Read the whole body in one call (a 10 MB page in ~30 ms instead of ~120 ms in 10 KB chunks).

    Transport failures while reading surface as the ``requests`` exceptions the retry logic
    already handles: a cut-off body as ChunkedEncodingError, a stall as a read Timeout.
    """
    try:
        content = response.raw.read(decode_content=True)
    except urllib3.exceptions.ReadTimeoutError as exc:
        response.close()
        raise requests.exceptions.ReadTimeout(str(exc)) from None
    except (urllib3.exceptions.ProtocolError, urllib3.exceptions.IncompleteRead) as exc:
        response.close()
        raise requests.exceptions.ChunkedEncodingError(str(exc)) from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        response.close()
        raise requests.exceptions.ConnectionError(str(exc)) from None
    response._content = content or b""  # what response.content would have read
    response._content_consumed = True  # type: ignore[attr-defined]  # requests' own flag
    response.close()


def same_origin(url: str, base_url: str) -> bool:
    """Same scheme, host and port (pure)."""
    a, b = urlsplit(url), urlsplit(base_url)
    default = {"http": 80, "https": 443}
    try:
        return bool(a.hostname) and (
            a.scheme,
            a.hostname,
            a.port or default.get(a.scheme),
        ) == (b.scheme, b.hostname, b.port or default.get(b.scheme))
    except ValueError:  # a port that is not a number
        return False


def district_not_found(district_id: str) -> str:
    return (
        f"Clever has no district {district_id} shared with this token: the Clever district id "
        "is wrong or data sharing with this application is not set up in Clever."
    )


def exhausted(error: CleverError, attempts: int) -> CleverError:
    """The last attempt's error, its message saying how many attempts were made."""
    message = error.admin_message
    suffix = " The import will try again later."
    if attempts > 1 and message.endswith(suffix):
        message = message[: -len(suffix)].rstrip(".") + f" after {attempts} attempts." + suffix
    error.admin_message = message
    error.args = (message,)
    return error


def page_items(body: Any, what: str) -> list[Any]:
    """The records of a list response, unwrapped from their ``{"data": ..., "uri": ...}`` items."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise CleverBadResponseError(
            f"Clever sent {what} in an unexpected format (no list of records). "
            "Please contact support.",
            detail=f"{what}: list body without a data array",
        )
    return [
        item["data"] if isinstance(item, dict) and "data" in item else item for item in body["data"]
    ]


def single(body: Any, what: str) -> Any:
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise CleverBadResponseError(
            f"Clever sent {what} in an unexpected format. Please contact support.",
            detail=f"{what}: single body without a data object",
        )
    return body["data"]


def next_link(body: dict[str, Any]) -> str | None:
    links = body.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("rel") == "next":
            uri = link.get("uri")
            return uri if isinstance(uri, str) and uri else None
    return None
