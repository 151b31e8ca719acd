"""Article intake from the web: news feeds polled on a schedule, feed and page URLs."""

from __future__ import annotations

from bot.intake.fetch import Fetcher, check_url, normalize_url
from bot.intake.lang import detect_language, is_russian
from bot.intake.service import (
    EntryNote,
    FeedAdded,
    Ingested,
    IntakeService,
    Notify,
    PollResult,
    UrlIngest,
)

__all__ = [
    "EntryNote",
    "FeedAdded",
    "Fetcher",
    "Ingested",
    "IntakeService",
    "Notify",
    "PollResult",
    "UrlIngest",
    "check_url",
    "detect_language",
    "is_russian",
    "normalize_url",
]
