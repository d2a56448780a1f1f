"""The one keyset pager (naviance_sync.paging, {% pager %}): the links keep the list's filters."""

from __future__ import annotations

from django.template import Context, Template

from naviance_sync.paging import Page, pager_links

PAGER = (
    "{% load paging %}"
    '{% pager page cursor="before" first="Newest" next="Older imports" mode=mode status=status %}'
)


def test_the_next_link_keeps_the_filters_and_leaves_blank_ones_out():
    page = Page(rows=[], next_cursor=40, cursor=None)
    links = pager_links(page, cursor_param="before", query={"mode": "test", "status": ""})
    assert links.first == ""  # this is the first page
    assert links.next == "?mode=test&before=40"


def test_past_the_first_page_a_link_goes_back_to_it_with_the_filters():
    page = Page(rows=[], next_cursor=None, cursor=90)
    links = pager_links(page, cursor_param="after", query={"action": "clever.connection.saved"})
    assert links.first == "?action=clever.connection.saved"
    assert links.next == ""  # the last page


def test_a_text_cursor_and_filters_are_encoded():
    page = Page(rows=[], next_cursor="chen\x1fann\x1f7", cursor=None)
    links = pager_links(page, cursor_param="after", query={"q": "o'brien & co"})
    assert links.next == "?q=o%27brien+%26+co&after=chen%1Fann%1F7"


def test_the_pager_renders_both_links_escaped_for_html():
    html = Template(PAGER).render(
        Context({"page": Page(rows=[], next_cursor=12, cursor=30), "mode": "test", "status": ""})
    )
    assert '<a href="?mode=test">Newest</a>' in html
    assert '<a href="?mode=test&amp;before=12">Older imports</a>' in html
    assert html.count('<nav class="pagination"') == 1


def test_without_a_first_label_there_is_no_link_back():
    html = Template('{% load paging %}{% pager page next="Older changes" %}').render(
        Context({"page": Page(rows=[], next_cursor=None, cursor=5)})
    )
    assert "<a " not in html
