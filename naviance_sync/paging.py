"""Keyset pages for the portal's long lists, and the links of their pager.

A page is the rows after a cursor (an id) in id order, read in one query with one row of
look-ahead, so page 2,000 costs what page 1 does: no OFFSET scan, no COUNT over the table. A
cursor typed by a browser is read by :func:`naviance_sync.ids.id_from_text` (anything else is "no
cursor": the first page). The pager (``{% pager %}``, :mod:`naviance_sync.templatetags.paging`,
``templates/partials/pager.html``) links back to the first page and on to the next, keeping the
list's filters. Never scopes a query: callers pass a queryset already scoped to the district.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import CharField, QuerySet, Value
from django.db.models.functions import Concat

from .ids import id_from_text

PAGE_SIZE = 50


@dataclass
class Page:
    """``rows`` of one page; ``cursor``: where it starts (None: the first page); ``next_cursor``:
    where the next one starts (None: this is the last). Students page by a text cursor."""

    rows: list[Any]
    next_cursor: Any
    cursor: Any

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


def keyset_page(qs: QuerySet, *, cursor: Any, descending: bool, size: int = PAGE_SIZE) -> Page:
    """Rows after ``cursor`` (an id, as typed) in id order; one query, one row of look-ahead."""
    start = id_from_text(cursor)
    if start is not None:
        qs = qs.filter(pk__lt=start) if descending else qs.filter(pk__gt=start)
    qs = qs.order_by("-pk" if descending else "pk")
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows=rows, next_cursor=rows[-1].pk if more and rows else None, cursor=start)


@dataclass(frozen=True)
class PagerLinks:
    """A pager's two links ("": no link)."""

    first: str
    next: str


def pager_links(page: Any, *, cursor_param: str, query: dict[str, Any]) -> PagerLinks:
    """The link to the first page (only when ``page`` is not it) and to the next (only when
    there is one), each keeping the list's filters ``query`` (blank filters left out: a blank
    filter is no filter)."""
    kept = {name: value for name, value in query.items() if value not in (None, "")}
    base = urlencode(kept)
    first = f"?{base}" if page.cursor else ""
    following = ""
    if page.has_next:
        following = "?" + urlencode({**kept, cursor_param: page.next_cursor})
    return PagerLinks(first=first, next=following)


def unindexed(field: str) -> Concat:
    """``field``'s text with an empty string appended: the same value (the text columns this
    orders are never NULL) in the same order, but one no index holds. A search ordered by it
    has the planner probe the search's own indexes and sort the few matches, instead of walking
    a name index in order looking for them (a student search for "Smi" read 85,000 index
    entries that way, a staff search every staff member)."""
    return Concat(field, Value(""), output_field=CharField())
