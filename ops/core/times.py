"""Times an operator types: ISO 8601 with a time zone, because an hour's offset picks different data."""
from __future__ import annotations

from datetime import UTC, datetime

from ops.core.errors import BadInput

TIME_EXAMPLE = "2026-11-22T09:30:00Z"


def parse_time(value: str, option: str, *, naive_is_utc: bool = False) -> datetime:
    """ISO 8601 → an aware UTC datetime; BadInput naming `option` otherwise. A time without a zone is refused, or,
    with `naive_is_utc`, taken as UTC (the caller tells the operator)."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadInput(f"{option} {value!r} is not an ISO 8601 time (e.g. {TIME_EXAMPLE})") from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise BadInput(f"{option} {value!r} has no time zone: give a timezone (Z or +HH:MM), e.g. "
                           f"{TIME_EXAMPLE} (Z = UTC)")
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def has_zone(value: str) -> bool:
    """Whether an ISO 8601 time names its zone (it parses; see parse_time)."""
    return datetime.fromisoformat(value.strip()).tzinfo is not None
