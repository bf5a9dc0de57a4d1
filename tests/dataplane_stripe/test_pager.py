"""The event pager against a real localstripe in both orders: oldest first (localstripe's own) and newest first
(api.stripe.com's documented order, which the sandbox serves with `newest_first=True`)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ops.drctl.dataplane.stripe_replay import (PAGE_SIZE, PagingError, iter_events, list_events, stripe_page_fetcher,
                                             window_params)
from ops.drctl.sandbox.stripe import local_stripe
from tests.dataplane_stripe.conftest import StripeWorld, seeded_world


@pytest.fixture(scope="module", params=["oldest_first", "newest_first"])
def world(request: pytest.FixtureRequest) -> Iterator[StripeWorld]:
    with local_stripe(newest_first=request.param == "newest_first") as url:
        yield seeded_world(url)


def _at(second: int) -> datetime:
    return datetime.fromtimestamp(second, UTC)


def test_lists_exactly_the_window_across_pages_in_either_order(world: StripeWorld) -> None:
    pages: list[dict[str, Any]] = []
    fetch = stripe_page_fetcher(world.client())

    def recording_fetch(params: dict[str, Any]) -> Any:
        pages.append(params)
        return fetch(params)

    events = list(iter_events(recording_fetch, window_params(_at(world.since), _at(world.until))))
    ids = [e["id"] for e in events]
    assert len(world.window_ids()) > PAGE_SIZE
    assert len(ids) == len(set(ids))  # nothing twice
    assert set(ids) == world.window_ids()  # nothing missed, nothing outside [since, until]
    assert len(pages) == 2 and "starting_after" not in pages[0] and pages[1]["starting_after"] == ids[PAGE_SIZE - 1]
    assert all(p["limit"] == PAGE_SIZE for p in pages)


def test_order_is_the_servers(world: StripeWorld, request: pytest.FixtureRequest) -> None:
    created = [e["created"] for e in list_events(world.client(), _at(0), _at(world.until + 10))]
    newest_first = request.node.callspec.params["world"] == "newest_first"
    assert created == sorted(created, reverse=newest_first)
    assert len(created) == len(world.event_ids())


def test_open_ended_since_lists_everything(world: StripeWorld) -> None:
    ids = [e["id"] for e in list_events(world.client(), _at(world.since), _at(world.until + 10))]
    assert set(ids) == world.event_ids(world.since) and len(ids) == len(set(ids))


def test_a_server_that_ignores_the_cursor_is_an_error_not_a_loop(world: StripeWorld) -> None:
    fetch = stripe_page_fetcher(world.client())

    def fetch_ignoring_cursor(params: dict[str, Any]) -> Any:
        return fetch({k: v for k, v in params.items() if k != "starting_after"})

    with pytest.raises(PagingError, match="brought no new events"):
        list(iter_events(fetch_ignoring_cursor, {}))


def test_a_listing_restarted_from_the_top_still_yields_each_event_once(world: StripeWorld) -> None:
    """Stripe keeps events 30 days: the cursor event can expire between two pages. localstripe then answers
    from the top again (an unknown `starting_after` is position 0), repeating the first page: the pager keys
    on ids, so every event still comes out exactly once."""
    from localstripe.resources import store

    fetch = stripe_page_fetcher(world.client())
    expired: dict[str, Any] = {}

    def fetch_after_cursor_expired(params: dict[str, Any]) -> Any:
        if "starting_after" in params and not expired:
            key = f"event:{params['starting_after']}"
            expired[key] = store.pop(key)
        return fetch(params)

    before = world.event_ids()
    try:
        ids = [e["id"] for e in iter_events(fetch_after_cursor_expired, {})]
    finally:
        store.update(expired)
    assert len(ids) == len(set(ids)) and set(ids) == before
