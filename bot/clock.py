"""Time as the bot reads it: one clock type, and "naive means UTC" said once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

# Services never read the clock themselves: the composition root passes one in, and
# tests pass a fake.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
