"""Order of application: oldest first; same-second ties broken by the listing's own direction."""
from __future__ import annotations

from ops.drctl.dataplane.stripe_replay import chronological


def _events(*spec: tuple[str, int]) -> list[dict]:
    return [{"id": event_id, "created": created} for event_id, created in spec]


def ids(events: list[dict]) -> list[str]:
    return [e["id"] for e in events]


def test_newest_first_listing_is_reversed_and_same_second_ties_follow_it() -> None:
    listing = _events(("rename", 11), ("create-b", 10), ("update-a", 10), ("create-a", 10))
    assert ids(chronological(listing)) == ["create-a", "update-a", "create-b", "rename"]


def test_oldest_first_listing_keeps_its_ties() -> None:
    listing = _events(("create-a", 10), ("update-a", 10), ("create-b", 10), ("rename", 11))
    assert ids(chronological(listing)) == ["create-a", "update-a", "create-b", "rename"]


def test_a_listing_within_one_second_is_taken_as_stripes_documented_newest_first() -> None:
    listing = _events(("update-a", 10), ("create-a", 10))
    assert ids(chronological(listing)) == ["create-a", "update-a"]


def test_nothing_and_one_event() -> None:
    assert chronological([]) == []
    assert ids(chronological(_events(("only", 5)))) == ["only"]
