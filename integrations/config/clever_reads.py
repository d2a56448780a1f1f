"""What the district's Clever data holds, read in one full pass and cached (Match Fields and
Define Codes offer its fields and values).

The configuration pages never scan in the request: they read the cache, and a worker scans
(:mod:`integrations.scans`); ``clever_setup`` scans here without a deadline. Only paths, a bounded
number of distinct values and per-kind counts are kept, never the records. Writes no model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.conf import settings
from django.core.cache import cache

from naviance_sync.models import District
from naviance_sync.scoping import for_district

from ..models import (
    CleverConnection,
)
from .rules import (
    DATA_TYPES,
    VALUES_KEPT,
    CleverSample,
    CleverScanResult,
    ConfigError,
    check_data_type,
    scan_cache_key,
    scan_values,
)
from .selectors import clever_credentials, clever_scan_cached

# The Clever roles whose records feed each data type (their fields fill Match Fields).
CLEVER_ROLES: dict[str, tuple[str, ...]] = {"students": ("student",), "staff": ("teacher", "staff")}
# Page size of the full passes that list a district's fields and values (Clever's maximum).
SCAN_PAGE_SIZE = 10000
# How long a scan is kept: the pages read it while the admin works through the steps.
CACHE_SECONDS = 15 * 60


def clever_scans_forget_all(district: District) -> None:
    for data_type in DATA_TYPES:
        cache.delete(scan_cache_key(district, "scan", data_type))


PORTAL = "portal"  # a page waits: the overall CLEVER_PORTAL_DEADLINE_SECONDS


def portal_deadline(deadline: float | str | None) -> float | None:
    """Seconds a client may take in all: ``PORTAL`` is the portal's setting, None no limit."""
    if deadline == PORTAL:
        return float(settings.CLEVER_PORTAL_DEADLINE_SECONDS)
    return None if deadline is None else float(deadline)


def _client(district: District, *, page_size: int, deadline: float | str | None = PORTAL):
    from ..clever import CleverClient

    creds = clever_credentials(district=district)
    return CleverClient(
        token=creds.token,
        base_url=creds.base_url,
        page_size=page_size,
        token_refresher=_token_refresher(district),
        deadline=portal_deadline(deadline),
    )


def _token_refresher(district: District) -> Callable[[], str]:
    """What a client calls on a 401: the district's current token (see :mod:`.connect`)."""

    def refresh() -> str:
        from ..connect import connection_token_refresh

        connection = for_district(CleverConnection, district).select_related("district").get()
        return connection_token_refresh(connection=connection)

    return refresh


def clever_scan_forget(*, district: District, data_type: str) -> None:
    """Drop the cached scan (Refresh from Clever: the pages wait for a new read)."""
    cache.delete(scan_cache_key(district, "scan", check_data_type(data_type)))


def clever_scan_collect(
    *,
    district: District,
    data_type: str,
    deadline: float | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> CleverScanResult:
    """Read every record of the data type once and cache what the configuration pages need.

    One full pass over every page of the data type's users: an extension field (a GPA) that only
    some later records carry must still be offered. Only paths, a bounded number of distinct
    values per path and per-kind counts (:class:`integrations.fieldkinds.PathProfile`) are kept,
    never the records, so memory stays bounded by the number of distinct fields. ``progress`` is
    called with the records read so far after every page. Raises the Clever, token or
    configuration error; a worker runs it without a deadline (the pages never do, see
    :mod:`integrations.scans`).
    """
    from .. import fieldkinds
    from ..clever import flatten_fields

    check_data_type(data_type)
    found: dict[str, None] = {}
    values: dict[str, dict[str, None]] = {}
    distinct: dict[str, int] = {}
    profiles: dict[str, fieldkinds.PathProfile] = {}
    checks: dict[str, tuple[str, ...]] = {}
    records = 0
    with _client(district, page_size=SCAN_PAGE_SIZE, deadline=deadline) as client:
        for role in CLEVER_ROLES[data_type]:
            for page in client.user_pages(role):
                for user in page:
                    records += 1
                    for path, value in flatten_fields(user.raw, role).items():
                        if path not in found:
                            found[path] = None
                            values[path] = {}
                            distinct[path] = 0
                            profiles[path] = fieldkinds.PathProfile()
                            checks[path] = fieldkinds.kinds_to_check(path)
                        if value is None or isinstance(value, dict | list):
                            continue
                        profiles[path].add(value, checks[path])
                        text = str(value).strip()
                        seen = values[path]
                        if text not in seen and distinct[path] <= VALUES_KEPT:
                            distinct[path] += 1
                            if distinct[path] <= VALUES_KEPT:
                                seen[text] = None
                if progress is not None:
                    progress(records)
                page = user = None  # let the page go before the next one is fetched
    result = CleverScanResult(
        fields=tuple(sorted(found)),
        records=records,
        values={p: sorted(v) for p, v in values.items()},
        distinct=distinct,
        profiles={p: profile.finish() for p, profile in profiles.items()},
    )
    cache.set(scan_cache_key(district, "scan", data_type), result, CACHE_SECONDS)
    return result


def available_clever_fields(
    *,
    district: District,
    data_type: str,
    refresh: bool = False,
    deadline: float | str | None = PORTAL,
) -> CleverSample:
    """The Clever field paths the district actually sends, ``ext`` fields included.

    The cached scan when there is one, else a scan right here that waits at most ``deadline``
    (``clever_setup`` passes None; the portal pages never scan in the request, they read
    :mod:`integrations.scans`). A Clever error is returned (not raised) so a caller can still
    show the saved mapping.
    """
    from ..clever import CleverError
    from ..crypto import TokenDecryptError

    check_data_type(data_type)
    cached = None if refresh else clever_scan_cached(district=district, data_type=data_type)
    if cached is not None:
        return cached.sample()
    try:
        return clever_scan_collect(
            district=district, data_type=data_type, deadline=deadline
        ).sample()
    except (CleverError, TokenDecryptError, ConfigError) as exc:
        return CleverSample(fields=(), records=0, error=clever_error_message(exc))


def clever_values(
    *,
    district: District,
    data_type: str,
    paths: Sequence[str],
    refresh: bool = False,
    deadline: float | str | None = PORTAL,
) -> tuple[dict[str, list[str]], str]:
    """Every distinct value the district's records have at each path (from the cached scan,
    else a scan here that waits at most ``deadline``).

    Returns ({path: values}, error message or "").
    """
    from ..clever import CleverError
    from ..crypto import TokenDecryptError

    check_data_type(data_type)
    result = None if refresh else clever_scan_cached(district=district, data_type=data_type)
    if result is None:
        try:
            result = clever_scan_collect(district=district, data_type=data_type, deadline=deadline)
        except (CleverError, TokenDecryptError, ConfigError) as exc:
            return scan_values(None, paths), clever_error_message(exc)
    return scan_values(result, paths), ""


def clever_error_message(exc: Exception) -> str:
    return getattr(exc, "admin_message", None) or getattr(exc, "message", None) or str(exc)
