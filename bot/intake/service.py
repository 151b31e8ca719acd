"""Intake: news feeds polled on a schedule, and single feed or page URLs on request."""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from bot import texts
from bot.errors import SvodkaError
from bot.intake.errors import (
    BadFeed,
    EmptyFeed,
    FeedNotFound,
    IntakeError,
)
from bot.intake.feeds import FeedEntry, ParsedFeed, looks_like_feed, parse_feed
from bot.intake.fetch import Fetcher, Response, normalize_url
from bot.intake.lang import article_language
from bot.intake.pages import extract_page
from bot.models import Article, NewArticle
from storage.feeds import Feed, FeedRepo

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]

PAUSE_AFTER = 5
MAX_ENTRIES = 100
# A teaser whose page fails for a passing reason (timeout, 5xx) waits this many polls
# for it; then it is stored with the feed's own text rather than never.
PAGE_RETRIES = 3
# Entries waiting for their page, remembered across polls; a bound, not a working size.
_MAX_WAITING = 4096
PAGE_CONCURRENCY = 4
# Feeds polled at once: each is a different site, so a slow one should not hold up the
# rest; a handful keeps the bot's own connections and CPU modest.
FEED_CONCURRENCY = 4


class ArticleSink(Protocol):
    """Where articles go: ArticleService (validates, warms the summary cache) in the bot,
    ArticleRepo where only storing and indexing matter."""

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]: ...


@dataclass(frozen=True, slots=True)
class Ingested:
    article: Article
    created: bool
    # ISO 639-1 code: a caller that shows a summary says when it is not "ru".
    lang: str

    @property
    def russian(self) -> bool:
        return self.lang == "ru"


Outcome = Literal["feed_text", "skipped", "later"]


@dataclass(frozen=True, slots=True)
class EntryNote:
    """A feed entry that did not go in whole, and why: stored with the feed's own text
    because its page could not be used (`feed_text`), not stored (`skipped`), or
    waiting for its page until the next poll (`later`)."""

    title: str
    link: str | None
    outcome: Outcome
    error: SvodkaError

    @property
    def line(self) -> str:
        """One English line for the log."""
        reason = self.error.reason if isinstance(self.error, IntakeError) else None
        return f"{self.link or self.title}: {self.outcome}: {reason or type(self.error).__name__}"


class _Entries:
    """What a run over a feed's entries reports: the articles it stored or found again
    (`items`) and notes on the entries that did not go in whole."""

    __slots__ = ()
    items: tuple[Ingested, ...]
    notes: tuple[EntryNote, ...]

    @property
    def added(self) -> list[Ingested]:
        return [item for item in self.items if item.created]

    @property
    def entry_errors(self) -> tuple[str, ...]:
        return tuple(note.line for note in self.notes)


@dataclass(frozen=True, slots=True)
class PollResult(_Entries):
    feed: Feed
    status: Literal["updated", "not_modified", "failed"]
    items: tuple[Ingested, ...] = ()
    # Entries this feed (or another) delivered before, skipped without a fetch.
    seen: int = 0
    # Entries that did not go in whole this time, with the reason.
    notes: tuple[EntryNote, ...] = ()
    error: IntakeError | None = None
    paused_now: bool = False
    # Set when feedparser had to recover the feed from broken XML.
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class FeedAdded:
    feed: Feed
    created: bool
    poll: PollResult | None = None


@dataclass(frozen=True, slots=True)
class UrlIngest(_Entries):
    """What `ingest_url` found: one page's article, or a feed's entries."""

    url: str
    feed_title: str | None
    items: tuple[Ingested, ...]
    notes: tuple[EntryNote, ...] = ()
    warning: str | None = None


@dataclass
class _Batch:
    items: list[Ingested] = field(default_factory=list)
    seen: int = 0
    notes: list[EntryNote] = field(default_factory=list)
    # An entry waits for its page, which failed for a reason that may pass: poll again.
    retry: bool = False


@dataclass(frozen=True, slots=True)
class _Built:
    """An entry made into an article, or not, and what got in the way."""

    article: NewArticle | None
    problem: IntakeError | None = None
    later: bool = False


class IntakeService:
    def __init__(
        self,
        fetcher: Fetcher,
        articles: ArticleSink,
        feeds: FeedRepo,
        *,
        notify: Notify | None = None,
        pause_after: int = PAUSE_AFTER,
        max_entries: int = MAX_ENTRIES,
        page_concurrency: int = PAGE_CONCURRENCY,
        feed_concurrency: int = FEED_CONCURRENCY,
    ) -> None:
        self.fetcher = fetcher
        self.articles = articles
        self.feeds = feeds
        self.notify = notify
        self.pause_after = pause_after
        self.max_entries = max_entries
        self.page_concurrency = page_concurrency
        self.feed_concurrency = feed_concurrency
        # (feed id, entry key) -> polls the entry has waited for its page so far.
        self._waiting: dict[tuple[int, str], int] = {}

    async def start(self) -> None:
        await self.fetcher.start()

    async def close(self) -> None:
        await self.fetcher.close()

    # --- feeds: the admin's list ---------------------------------------------------

    async def ensure_feeds(self, urls: Iterable[str], *, now: datetime) -> int:
        """Stores FEEDS from the settings that are not stored yet (no network); a bad URL
        is logged and skipped so that one typo does not stop the bot."""
        added = 0
        for raw in urls:
            try:
                url = self.fetcher.check(raw)
            except IntakeError as exc:
                log.error("FEEDS entry %r skipped: %s", raw, exc.reason)
                continue
            _, created = await self.feeds.add(url, now=now)
            added += created
        return added

    async def list_feeds(self) -> list[Feed]:
        return await self.feeds.all()

    async def add_feed(self, url: str, *, now: datetime) -> FeedAdded:
        """Checks that the URL serves a feed, stores it and takes in its entries. Nothing
        is stored for a URL that fails (the error says why)."""
        url = self.fetcher.check(url)
        existing = await self.feeds.by_url(url)
        if existing is not None:
            return FeedAdded(existing, created=False)
        response = await self.fetcher.get(url)
        parsed = await self._parse_feed(response)
        if not parsed.entries:
            raise EmptyFeed(url)
        feed, created = await self.feeds.add(url, now=now, title=parsed.title)
        if not created:
            return FeedAdded(feed, created=False)
        poll = await self._take_in(feed, response, parsed, now=now)
        return FeedAdded(poll.feed, created=True, poll=poll)

    async def remove_feed(self, number: int) -> Feed:
        feed = await self.feeds.remove(number)
        if feed is None:
            raise FeedNotFound(str(number))
        return feed

    async def resume_feed(self, number: int) -> Feed:
        feed = await self.feeds.resume(number)
        if feed is None:
            raise FeedNotFound(str(number))
        return feed

    # --- polling -------------------------------------------------------------------

    async def poll_all(self, *, now: datetime) -> list[PollResult]:
        """Polls every feed that is not paused, `feed_concurrency` at a time, so one slow
        site does not hold up the rest. One feed's failure, ours or its own, never stops
        the others. Results come in the feeds' order."""
        gate = asyncio.Semaphore(self.feed_concurrency)

        async def poll(feed: Feed) -> PollResult | None:
            async with gate:
                try:
                    return await self.poll_feed(feed, now=now)
                except Exception:
                    # Not the feed's fault (e.g. the store): logged, not counted against it.
                    log.exception("polling feed %s (%s) failed", feed.id, feed.url)
                    return None

        results = await asyncio.gather(*(poll(feed) for feed in await self.feeds.active()))
        done = [result for result in results if result is not None]
        for result in done:
            # Entries stored or waiting need no one; an entry given up on is news to the
            # admins, who would otherwise never learn the feed lost it.
            if skipped := [note for note in result.notes if note.outcome == "skipped"]:
                await self._tell_admins(
                    texts.feed_entries_skipped(result.feed.id, result.feed.name, skipped)
                )
        return done

    async def poll_feed(self, feed: Feed, *, now: datetime) -> PollResult:
        try:
            response = await self.fetcher.get(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            if response.not_modified:
                await self.feeds.record_success(feed.id, now=now, keep_validators=True)
                return PollResult(feed, "not_modified")
            parsed = await self._parse_feed(response)
        except IntakeError as exc:
            return await self._failed(feed, exc, now=now)
        if not parsed.entries:
            # A valid feed with nothing in it yet is not broken.
            log.info("feed %s (%s) has no entries", feed.id, feed.url)
        return await self._take_in(feed, response, parsed, now=now)

    async def _take_in(
        self, feed: Feed, response: Response, parsed: ParsedFeed, *, now: datetime
    ) -> PollResult:
        batch = await self._ingest_entries(parsed, feed, now=now)
        # Validators are kept back while an entry waits for a retry: with them the
        # server would answer 304 and the entry would never be fetched again.
        await self.feeds.record_success(
            feed.id,
            now=now,
            title=parsed.title,
            etag=response.etag,
            last_modified=response.last_modified,
            keep_validators=batch.retry,
        )
        if parsed.warning:
            log.warning("feed %s (%s) recovered from: %s", feed.id, feed.url, parsed.warning)
        for note in batch.notes:
            log.warning("feed %s (%s): %s", feed.id, feed.url, note.line)
        updated = await self.feeds.get(feed.id) or feed
        return PollResult(
            updated,
            "updated",
            items=tuple(batch.items),
            seen=batch.seen,
            notes=tuple(batch.notes),
            warning=parsed.warning,
        )

    async def _failed(self, feed: Feed, exc: IntakeError, *, now: datetime) -> PollResult:
        log.warning("feed %s (%s) failed: %s", feed.id, feed.url, exc.reason)
        updated = await self.feeds.record_failure(
            feed.id, exc.reason, now=now, pause_after=self.pause_after
        )
        if updated is None:
            # Removed while it was being polled.
            return PollResult(feed, "failed", error=exc)
        # Exactly at the threshold: a stale `feed` or a paused one polled by hand must
        # not tell the admins again.
        paused_now = updated.paused and updated.failures == self.pause_after
        if paused_now:
            log.error("feed %s (%s) paused after %d failures", feed.id, feed.url, updated.failures)
            await self._tell_admins(
                texts.FEED_PAUSED.format(
                    id=updated.id,
                    title=html.escape(updated.name),
                    failures=updated.failures,
                    error=texts.error_text(exc),
                )
            )
        return PollResult(updated, "failed", error=exc, paused_now=paused_now)

    async def _tell_admins(self, text: str) -> None:
        if self.notify is None:
            return
        try:
            await self.notify(text)
        except Exception:
            # The pause itself is stored and logged; a failed notice must not undo it.
            log.exception("could not notify admins")

    # --- single URLs ---------------------------------------------------------------

    async def ingest_url(self, url: str, *, now: datetime) -> UrlIngest:
        """Stores the article on a page, or every entry of a feed (without subscribing
        to it). Raises an IntakeError when the URL gives nothing to store."""
        url = self.fetcher.check(url)
        response = await self.fetcher.get(url)
        kind = looks_like_feed(response.content_type, response.body)
        parsed: ParsedFeed | None = None
        if kind is not False:
            try:
                parsed = await self._parse_feed(response)
            except BadFeed:
                # Declared or opening as a feed: a broken one. Otherwise: try it as a page.
                if kind:
                    raise
        if parsed is None:
            new = await asyncio.to_thread(
                extract_page, response.body, url=response.url, charset=response.charset
            )
            new = _with(new, url=normalize_url(response.url))
            return UrlIngest(url, None, (await self._store(new, now=now),))
        if not parsed.entries:
            raise EmptyFeed(url)
        batch = await self._ingest_entries(parsed, None, now=now)
        if parsed.warning:
            log.warning("feed %s recovered from: %s", url, parsed.warning)
        for note in batch.notes:
            log.warning("feed %s: %s", url, note.line)
        return UrlIngest(
            url, parsed.title, tuple(batch.items), tuple(batch.notes), warning=parsed.warning
        )

    # --- shared steps --------------------------------------------------------------

    async def _parse_feed(self, response: Response) -> ParsedFeed:
        return await asyncio.to_thread(
            parse_feed, response.body, url=response.url, headers=response.headers
        )

    async def _ingest_entries(
        self, parsed: ParsedFeed, feed: Feed | None, *, now: datetime
    ) -> _Batch:
        batch = _Batch()
        fresh: list[FeedEntry] = []
        keys: set[str | None] = set()
        for entry in _oldest_first(parsed.entries[: self.max_entries]):
            if (
                entry.key in keys
                or (entry.url is not None and entry.url in keys)
                or (feed is not None and await self.feeds.seen(feed.id, entry.key, entry.url))
            ):
                batch.seen += 1
                continue
            keys.update((entry.key, entry.url))
            fresh.append(entry)
        limit = asyncio.Semaphore(self.page_concurrency)

        async def build(entry: FeedEntry) -> _Built:
            async with limit:
                return await self._article_for(entry, parsed.title, feed)

        def note(entry: FeedEntry, outcome: Outcome, error: SvodkaError) -> None:
            batch.notes.append(EntryNote(entry.title, entry.link, outcome, error))

        # Teaser pages are fetched a few at a time; articles are stored in feed order.
        built = await asyncio.gather(*(build(entry) for entry in fresh))
        for entry, outcome in zip(fresh, built, strict=True):
            article, problem = outcome.article, outcome.problem
            if feed is not None and not outcome.later:
                self._waiting.pop((feed.id, entry.key), None)
            if article is None:
                # No page, and no text of its own to fall back on, or a page to wait for.
                assert problem is not None
                note(entry, "later" if outcome.later else "skipped", problem)
                if outcome.later:
                    batch.retry = True
                elif feed is not None:
                    await self.feeds.mark_seen(
                        feed.id, entry.key, url=entry.url, article_id=None, now=now
                    )
                continue
            try:
                item = await self._store(article, now=now)
            except SvodkaError as exc:
                # Too long, empty after cleaning: this entry will not get better.
                note(entry, "skipped", exc)
                item = None
            else:
                if problem is not None:
                    note(entry, "feed_text", problem)
            if feed is not None:
                await self.feeds.mark_seen(
                    feed.id,
                    entry.key,
                    url=entry.url,
                    article_id=item.article.id if item else None,
                    now=now,
                )
            if item is not None:
                batch.items.append(item)
        return batch

    async def _article_for(self, entry: FeedEntry, source: str, feed: Feed | None) -> _Built:
        """The entry as an article; a teaser is replaced by the text of its page. When
        the page cannot be used, the entry's own text is the news: it is kept, unless
        a polled feed's page may come back by the next poll (a few polls at most)."""
        base = NewArticle(
            title=entry.title,
            text=entry.text,
            source=source,
            url=entry.url,
            published_at=entry.published_at,
        )
        if not entry.teaser or entry.link is None:
            return _Built(base)
        try:
            response = await self.fetcher.get(entry.link)
            page = await asyncio.to_thread(
                extract_page,
                response.body,
                url=response.url,
                charset=response.charset,
                title=entry.title,
            )
        except IntakeError as exc:
            if exc.transient and feed is not None and self._wait(feed.id, entry.key):
                return _Built(None, exc, later=True)
            return _Built(base if entry.text else None, exc)
        if len(page.text) < len(entry.text):
            # Extraction missed the article (a paywall, a script-built page).
            return _Built(base)
        return _Built(_with(base, text=page.text))

    def _wait(self, feed_id: int, key: str) -> bool:
        """Whether the entry may wait for its page once more; counts the wait."""
        waited = self._waiting.get((feed_id, key), 0)
        if waited >= PAGE_RETRIES:
            return False
        if len(self._waiting) >= _MAX_WAITING:
            # Entries a feed dropped while they waited are never looked up again.
            del self._waiting[next(iter(self._waiting))]
        self._waiting[(feed_id, key)] = waited + 1
        return True

    async def _store(self, new: NewArticle, *, now: datetime) -> Ingested:
        lang = new.lang or await asyncio.to_thread(article_language, new.title, new.text)
        article, created = await self.articles.add(replace(new, lang=lang), now=now)
        if created and lang != "ru":
            log.info("article %s is in %r", article.id, lang)
        return Ingested(article, created, lang)

    # --- housekeeping --------------------------------------------------------------

    async def forget_old_entries(self, *, keep: int) -> int:
        """Keeps each feed's newest `keep` delivered entries; returns how many went."""
        return await self.feeds.prune_entries(keep=keep)


def _oldest_first(entries: Sequence[FeedEntry]) -> list[FeedEntry]:
    # Feeds list newest first; storing oldest first keeps article numbers in time order.
    ordered = list(reversed(entries))
    if all(entry.published_at is not None for entry in ordered):
        ordered.sort(key=lambda entry: entry.published_at)  # type: ignore[arg-type,return-value]
    return ordered


def _with(new: NewArticle, **changes: object) -> NewArticle:
    return replace(new, **changes)  # type: ignore[arg-type]
