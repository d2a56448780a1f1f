"""Errors raised by the Clever client.

Every error carries two texts: ``admin_message``, a plain sentence a district admin can act on (it
is shown on import results and in emails), and ``detail``, a technical note for logs and support
(request path, HTTP status, what Clever said). Neither ever contains the bearer token: the client
scrubs it from anything the server echoes back before building an error.
"""

from __future__ import annotations


class CleverError(Exception):
    """Base class: something went wrong talking to Clever."""

    default_message = "Something went wrong while talking to Clever."

    def __init__(
        self,
        admin_message: str | None = None,
        *,
        status: int | None = None,
        detail: str = "",
        attempts: int = 1,
    ) -> None:
        self.admin_message = admin_message or self.default_message
        self.status = status
        self.detail = detail
        self.attempts = attempts
        super().__init__(self.admin_message)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, admin_message={self.admin_message!r})"
        )


class CleverAuthError(CleverError):
    """401 (token unknown, revoked or expired) or 403 (token lacks access). Never retried."""

    default_message = (
        "Clever rejected the token for this district: it may have been revoked. "
        "Reconnect the district in Clever Data Integration Setup."
    )


class CleverNotFoundError(CleverError):
    """404: unknown district or record, or data not shared with this application. Never retried."""

    default_message = (
        "Clever could not find the requested data: it may have been deleted or is no longer "
        "shared with this application."
    )


class CleverRateLimitError(CleverError):
    """429 after every attempt: Clever kept limiting the rate of requests."""

    default_message = (
        "Clever kept limiting the rate of requests for this district. "
        "The import will try again later."
    )


class CleverServerError(CleverError):
    """5xx, timeouts or dropped connections after every attempt."""

    default_message = "Clever's servers were unavailable. The import will try again later."


class CleverBadResponseError(CleverError):
    """Clever answered, but not with the data we asked for (truncated, HTML, not JSON, odd shape)."""

    default_message = (
        "Clever sent a response that could not be read. The import will try again later."
    )


class CleverRequestError(CleverError):
    """400/413/501 or an unusable API address: our request itself is wrong. Never retried."""

    default_message = "Clever rejected the request as invalid. Please contact support."


class CleverDeadlineError(CleverServerError):
    """A page's overall deadline passed while waiting on Clever (slow, stalled or retrying)."""

    default_message = (
        "Clever did not answer in time, so this page stopped waiting. Try again in a few minutes."
    )
