"""What goes into a chat's digest, and subscribing to it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from bot import texts
from bot.config import Settings, check_timezone, parse_hhmm
from bot.errors import BadSubscribe, BadTime, BadTimezone
from bot.models import Digest, DigestItem, Subscription
from bot.services import ArticleService
from storage.articles import ArticleRepo
from storage.chats import ChatRepo
from storage.subscriptions import SubscriptionRepo

# A digest is a roundup, not an archive: past this many articles it points to /latest.
DIGEST_SHOWN = 10
DIGEST_SENTENCES = 2
# The window of a chat's first digest, and of /digest in a chat that never had one.
FIRST_WINDOW = timedelta(hours=24)


@lru_cache(maxsize=1)
def _zones_by_lower_name() -> dict[str, str]:
    # Zone files are case-sensitive on Linux, but people type `asia/almaty`.
    return {name.lower(): name for name in available_timezones()}


def _zone_name(value: str) -> str | None:
    try:
        return check_timezone(value)
    except (ValueError, OSError):
        # OSError: a directory of the zone database such as `Europe` is not a zone.
        return _zones_by_lower_name().get(value.strip().lower())


def parse_subscribe(args: str, *, default_at: time, default_timezone: str) -> tuple[time, str]:
    """`[HH:MM] [Area/City]` in either order, each optional -> (time, IANA zone).

    A word with digits is read as a time and one with a slash as a zone, so the reply can
    say which of the two was malformed; anything else is the wrong form altogether.
    """
    words = args.split()
    if len(words) > 2:
        raise BadSubscribe(args)
    at: time | None = None
    zone: str | None = None
    for word in words:
        if "/" not in word and any(ch.isdigit() for ch in word):
            if at is not None:
                raise BadSubscribe(args)
            try:
                at = parse_hhmm(word)
            except ValueError as exc:
                raise BadTime(word) from exc
            continue
        name = _zone_name(word)
        if name is None:
            if "/" in word:
                raise BadTimezone(word)
            raise BadSubscribe(args)
        if zone is not None:
            raise BadSubscribe(args)
        zone = name
    return at or default_at, zone or default_timezone


def local_period(now: datetime, timezone: str) -> str:
    """The local date of `now` in the chat's zone: the key of one day's digest."""
    return _aware(now).astimezone(ZoneInfo(timezone)).date().isoformat()


def date_label(period: str) -> str:
    """`2026-06-17` -> `17 июня 2026`."""
    day = date.fromisoformat(period)
    return f"{day.day} {texts.MONTHS[day.month - 1]} {day.year}"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class DigestService:
    def __init__(
        self,
        articles: ArticleRepo,
        subscriptions: SubscriptionRepo,
        chats: ChatRepo,
        service: ArticleService,
        settings: Settings,
    ) -> None:
        self.articles = articles
        self.subscriptions = subscriptions
        self.chats = chats
        self.service = service
        self.settings = settings

    async def subscribe(
        self, chat_id: int, args: str, *, user_id: int | None, now: datetime
    ) -> Subscription:
        """Subscribes or changes the time/zone. What the command leaves out is kept from an
        active subscription, else DIGEST_TIME and the chat's time zone setting."""
        current = await self.subscriptions.get(chat_id)
        chat = await self.service.chat_settings(chat_id)
        keep = current is not None and current.active
        at, zone = parse_subscribe(
            args,
            default_at=current.at if keep and current else self.settings.digest_time,
            default_timezone=current.timezone if keep and current else chat.timezone,
        )
        return await self.subscriptions.subscribe(chat_id, at, zone, user_id, now=now)

    async def unsubscribe(self, chat_id: int, *, now: datetime) -> bool:
        return await self.subscriptions.end(chat_id, "unsubscribed", now=now)

    async def follow_timezone(
        self, chat_id: int, timezone: str, *, now: datetime
    ) -> Subscription | None:
        """After `/settings timezone`: an active subscription keeps its local time in the
        new zone. None when the chat has no active subscription."""
        current = await self.subscriptions.get(chat_id)
        if current is None or not current.active:
            return None
        if current.timezone == timezone:
            return current
        return await self.subscriptions.subscribe(
            chat_id, current.at, timezone, current.subscribed_by, now=now
        )

    async def timezone(self, chat_id: int) -> str:
        """The zone the chat's digest is dated in: its subscription's, else its setting."""
        current = await self.subscriptions.get(chat_id)
        if current is not None and current.active:
            return current.timezone
        return (await self.service.chat_settings(chat_id)).timezone

    async def since(self, chat_id: int, *, now: datetime) -> datetime:
        """Where the chat's next digest starts: its previous digest, or a day ago."""
        previous = await self.subscriptions.last_sent_at(chat_id)
        return previous if previous is not None else _aware(now) - FIRST_WINDOW

    async def build(self, chat_id: int, *, now: datetime, period: str | None = None) -> Digest:
        """The articles stored since the chat's previous digest (oldest first, so that what
        is left over is exactly what /latest shows), each with a 1–2 sentence summary."""
        zone = await self.timezone(chat_id)
        period = period or local_period(now, zone)
        since = await self.since(chat_id, now=now)
        found = await self.articles.added_since(since, limit=DIGEST_SHOWN)
        # Articles stored after `now` belong to the next digest; the scheduled run
        # records `now` as the watermark.
        found = [article for article in found if article.added_at <= _aware(now)]
        if not found:
            return Digest(chat_id=chat_id, period=period)
        total = await self.articles.count_since(since)
        chat = await self.service.chat_settings(chat_id)
        sentences = min(DIGEST_SENTENCES, chat.sentences)
        items = []
        for article in found:
            summary = await self.service.summary(
                article, algorithm=chat.algorithm, sentences=sentences
            )
            items.append(DigestItem(article=article, summary=summary.sentences[:sentences]))
        return Digest(
            chat_id=chat_id,
            period=period,
            items=tuple(items),
            more=max(total - len(items), 0),
        )
