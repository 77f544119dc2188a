"""Async reads of the Okta System Log: a polling request's pages, parsed into events.

Okta's polling guidance: a request with ``since`` (no ``until``) always answers with a ``next``
link; follow it until a page comes back empty, and keep the last link to resume from.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from okta_salesforce.hooks.okta_records import LogEvent, event_from_json, same_origin_path

if TYPE_CHECKING:
    from okta_salesforce.hooks.okta_response import RateLimit
    from okta_salesforce.hooks.okta_transport import OktaTransport


@dataclass(frozen=True)
class LogPage:
    """One page of System Log events.

    :param url: the URL read.
    :param events: the events that could be parsed (each has a ``uuid``), in page order.
    :param items: objects on the page (parsed or not): 0 means the poll has caught up.
    :param next_path: the ``next`` link as a path on the org, when there is one.
    :param rate_limit: the page's ``X-Rate-Limit-*`` headers.
    """

    url: str
    events: list[LogEvent]
    items: int
    next_path: str | None
    rate_limit: RateLimit | None = None


async def log_pages(api: OktaTransport, url: str, *, max_pages: int) -> AsyncIterator[LogPage]:
    """Pages from ``url`` on, following ``next`` until an empty page, no link, a repeat or ``max_pages``."""
    pages = 0
    while pages < max_pages:
        response = await api.aget(url)
        pages += 1
        items = response.body if isinstance(response.body, list) else []
        events = [e for e in map(_event, items) if e is not None]
        link = response.links.get("next")
        following = same_origin_path(link, api.settings.org_url) if link else None
        yield LogPage(url, events, len(items), following, response.rate_limit)
        if not items or not following or api.url(following) == url:
            return
        url = api.url(following)


def _event(item: object) -> LogEvent | None:
    return event_from_json(item) if isinstance(item, dict) else None
