"""``{% pager page cursor="before" first="Newest" next="Older imports" action=action %}``: the
one pager of the keyset-paged lists (:mod:`naviance_sync.paging`). Keyword arguments other than
``cursor``, ``first`` and ``next`` are the list's filters, kept in both links; without ``first``
there is no link back to the first page."""

from __future__ import annotations

from typing import Any

from django import template

from naviance_sync.paging import pager_links

register = template.Library()


@register.inclusion_tag("partials/pager.html")
def pager(
    page: Any, cursor: str = "after", first: str = "", next: str = "Next page", **query: Any
) -> dict[str, Any]:
    links = pager_links(page, cursor_param=cursor, query=query)
    return {
        "first_url": links.first if first else "",
        "first": first,
        "next_url": links.next,
        "next": next,
    }
