"""What goes into a chat's digest, and when it is due."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import lru_cache, partial
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from bot import texts
from bot.articles import ArticleService
from bot.chats import ChatService
from bot.clock import as_utc
from bot.config import Settings
from bot.interests import InterestService
from bot.models import Article, ChatSettings, Digest, StoryItem, Subscription
from bot.nlp.interests import Candidate, Follows, ItemTerms, arrange, item_terms
from bot.stories import StoryService
from storage.articles import ArticleRepo
from storage.memo import Memo
from storage.stories import Member, SentStory
from storage.subscriptions import SubscriptionRepo

DIGEST_SENTENCES = 2
# A chat that filters (interests, outlets turned off) picks from this many new articles.
DIGEST_CANDIDATES = 200
# The window of a chat's first digest, and of /digest in a chat that never had one.
FIRST_WINDOW = timedelta(hours=24)
# What one round keeps of what its chats share (windows, stories told, rendered
# digests): far more than the distinct digests of a real round, few enough that memory
# does not grow with the number of chats.
SHARED_LIMIT = 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class DigestKey:
    """Everything a chat's digest depends on besides what the chat was shown before:
    chats with equal keys (and the same stories already shown) get the same messages.

    `digest_key` is the one place that builds it; whatever else comes to decide a
    digest's content or wording (interests: the digest mode, followed words, muted
    sources) is added here, or chats that differ in it would share one rendering.
    """

    since: datetime
    until: datetime
    period: str
    timezone: str
    sentences: int
    algorithm: str
    language: str
    stories: int
    previews: bool
    # What the chat follows and excludes, its outlets turned off and its digest mode.
    mode: str = ""
    interests: tuple[Hashable, ...] = ()
    muted: frozenset[str] = frozenset()


def digest_key(
    chat: ChatSettings,
    settings: Settings,
    *,
    since: datetime,
    now: datetime,
    period: str,
    timezone: str,
    follows: Follows | None = None,
    muted: frozenset[str] = frozenset(),
) -> DigestKey:
    return DigestKey(
        mode=chat.digest_mode,
        interests=tuple(follows.interests) if follows is not None else (),
        muted=muted,
        since=as_utc(since),
        until=as_utc(now),
        period=period,
        timezone=timezone,
        sentences=min(DIGEST_SENTENCES, chat.sentences),
        algorithm=chat.algorithm,
        language=chat.language,
        stories=settings.digest_stories,
        previews=settings.link_previews,
    )


class Shared:
    """What the chats of one digest round have in common, each computed once: the
    stories of a window, a story told in so many sentences, a rendered digest. Chats
    built at the same time wait for the first one's result rather than compute it
    again (64 chats at once would otherwise all miss together). The oldest entries go
    past `limit`, so memory stays bounded whatever the number of chats."""

    def __init__(self, limit: int = SHARED_LIMIT) -> None:
        self._limit = limit
        self._results: OrderedDict[Hashable, asyncio.Future[Any]] = OrderedDict()
        self.computed = 0

    def __len__(self) -> int:
        return len(self._results)

    async def once(self, key: Hashable, make: Callable[[], Awaitable[T]]) -> T:
        future = self._results.get(key)
        if future is not None:
            self._results.move_to_end(key)
            # Shielded: a chat cancelled while waiting must not cancel the others' result.
            return cast(T, await asyncio.shield(future))
        future = asyncio.get_running_loop().create_future()
        self._results[key] = future
        if len(self._results) > self._limit:
            self._results.popitem(last=False)
        self.computed += 1
        try:
            result = await make()
        except BaseException as error:
            # Not kept: the next chat tries again. Waiting chats get the same error.
            if self._results.get(key) is future:
                del self._results[key]
            future.set_exception(error)
            future.exception()  # retrieved here, whether or not anyone waits
            raise
        future.set_result(result)
        return result


def local_period(now: datetime, timezone: str) -> str:
    """The local date of `now` in the chat's zone: the key of one day's digest."""
    return as_utc(now).astimezone(ZoneInfo(timezone)).date().isoformat()


def date_label(period: str) -> str:
    """`2026-06-17` -> `17 июня 2026` (in the current language, non-breaking spaces)."""
    return texts.date_text(date.fromisoformat(period))


def scheduled_at(sub: Subscription, period: str) -> datetime:
    """The instant of the chat's digest on the local date `period`, in UTC.

    A wall time skipped by a DST change (02:30 on a spring-forward night) resolves with
    the offset from before the change, i.e. an hour later on the new clock; a repeated
    one (01:30 on a fall-back night) means its first occurrence. This is also where
    APScheduler's CronTrigger fires, so a wake-up always finds its own day due.
    """
    return _scheduled(period, sub.at, sub.timezone)


# The functions below depend only on a subscription's time and zone and on the instant
# asked about; a round asks them of every due chat, most of which share both.
@lru_cache(maxsize=4096)
def _scheduled(period: str, at: time, timezone: str) -> datetime:
    local = datetime.combine(date.fromisoformat(period), at, tzinfo=ZoneInfo(timezone))
    return as_utc(local)


def latest_due(sub: Subscription, now: datetime) -> tuple[str, datetime] | None:
    """The most recent digest the subscription should have had by `now`: its period
    (the local date) and scheduled instant. None for an ended subscription."""
    if not sub.active:
        return None
    return _latest_due(sub.at, sub.timezone, as_utc(now))


@lru_cache(maxsize=1024)
def _latest_due(at: time, timezone: str, now: datetime) -> tuple[str, datetime] | None:
    today = now.astimezone(ZoneInfo(timezone)).date()
    for day in (today, today - timedelta(days=1)):
        scheduled = _scheduled(day.isoformat(), at, timezone)
        if scheduled <= now:
            return day.isoformat(), scheduled
    # Unreachable: yesterday's time of day is always before today began.
    return None


def next_due(sub: Subscription, after: datetime) -> datetime | None:
    """The first scheduled instant of the subscription strictly after `after`, in UTC:
    what the store keeps as its due time. None for an ended subscription."""
    if not sub.active:
        return None
    return _next_due(sub.at, sub.timezone, as_utc(after))


@lru_cache(maxsize=1024)
def _next_due(at: time, timezone: str, after: datetime) -> datetime | None:
    today = after.astimezone(ZoneInfo(timezone)).date()
    # Yesterday too: a skipped wall time resolves an hour later, possibly past midnight.
    for day in (today - timedelta(days=offset) for offset in (1, 0, -1, -2)):
        scheduled = _scheduled(day.isoformat(), at, timezone)
        if scheduled > after:
            return scheduled
    # Unreachable: the day after tomorrow's time of day is always after today.
    return None


@dataclass(frozen=True, slots=True)
class ChatInputs:
    """What a chat's digest depends on besides the stories (`DigestService.inputs`)."""

    zone: str
    chat: ChatSettings
    follows: Follows
    muted: frozenset[str]
    since: datetime


@dataclass(frozen=True, slots=True)
class _Window:
    """A chat's digest key and the ranked stories of its window."""

    chat_id: int
    period: str
    key: DigestKey
    ranked: tuple[tuple[int, list[Member]], ...]
    nothing_followed: bool = False


def _article_id(shown: Article | Member) -> int:
    return shown.id if isinstance(shown, Article) else shown.article_id


class DigestService:
    def __init__(
        self,
        articles: ArticleRepo,
        subscriptions: SubscriptionRepo,
        chats: ChatService,
        service: ArticleService,
        stories: StoryService,
        settings: Settings,
        interests: InterestService,
    ) -> None:
        self._articles = articles
        self._subscriptions = subscriptions
        self._chats = chats
        self._service = service
        self._stories = stories
        self._settings = settings
        self._shown = settings.digest_stories
        self._interests = interests
        # Every filtering chat's digest reads the same new articles: their terms once.
        self._terms: Memo[int, ItemTerms] = Memo(2 * DIGEST_CANDIDATES)

    def terms(self, article: Article) -> ItemTerms:
        """What interests are matched against: the title and the lead."""
        found = self._terms.get(article.id)
        if found is None:
            found = item_terms(article.title, article.text)
            self._terms.put(article.id, found)
        return found

    async def timezone(self, chat_id: int) -> str:
        """The zone the chat's digest is dated in: its subscription's, else its setting."""
        current = await self._subscriptions.get(chat_id)
        if current is not None and current.active:
            return current.timezone
        return (await self._chats.settings(chat_id)).timezone

    async def since(self, chat_id: int, *, now: datetime) -> datetime:
        """Where the chat's next digest starts: its previous digest, or a day ago."""
        previous = await self._subscriptions.last_sent_at(chat_id)
        return previous if previous is not None else as_utc(now) - FIRST_WINDOW

    async def inputs(self, chat_id: int, *, now: datetime) -> ChatInputs:
        """What the chat's digest depends on, besides the stories."""
        return ChatInputs(
            zone=await self.timezone(chat_id),
            chat=await self._chats.settings(chat_id),
            follows=await self._interests.follows(chat_id),
            muted=await self._interests.muted(chat_id),
            since=await self.since(chat_id, now=now),
        )

    async def inputs_many(
        self, subs: Sequence[Subscription], *, now: datetime
    ) -> dict[int, ChatInputs]:
        """`inputs` of a page of subscribed chats: one query per kind of input."""
        ids = [sub.chat_id for sub in subs]
        settings = await self._chats.settings_many(ids)
        follows = await self._interests.follows_many(ids)
        muted = await self._interests.muted_many(ids)
        previous = await self._subscriptions.last_sent_many(ids)
        first = as_utc(now) - FIRST_WINDOW
        return {
            sub.chat_id: ChatInputs(
                zone=sub.timezone if sub.active else settings[sub.chat_id].timezone,
                chat=settings[sub.chat_id],
                follows=follows[sub.chat_id],
                muted=muted[sub.chat_id],
                since=previous.get(sub.chat_id, first),
            )
            for sub in subs
        }

    async def build(
        self,
        chat_id: int,
        *,
        now: datetime,
        period: str | None = None,
        shared: Shared | None = None,
    ) -> Digest:
        """The top stories since the chat's previous digest, most important first (see
        `keyed`)."""
        digest, _ = await self.keyed(chat_id, now=now, period=period, shared=shared)
        return digest

    async def keyed(
        self,
        chat_id: int,
        *,
        now: datetime,
        period: str | None = None,
        shared: Shared | None = None,
    ) -> tuple[Digest, DigestKey]:
        """The chat's digest and the key of its rendering (`digest_key`). A story an
        earlier digest showed the chat comes again only if it grew since (new outlets or
        articles), marked as an update.

        A chat that follows something or turned outlets off gets the stories arranged
        by `bot.nlp.interests.arrange`: a muted outlet's or excluded article counts for
        nothing (a story left with none is dropped), and a story is followed when one of
        its articles' titles or leads matches; followed ones come first or alone, as the
        chat's digest mode says.

        With `shared` (the digest round), chats with the same window read its stories
        once, and each story is told once for all of them."""
        shared = Shared() if shared is None else shared
        inputs = await self.inputs(chat_id, now=now)
        window = await self._window(chat_id, inputs, now=now, period=period, shared=shared)
        ranked = window.ranked
        sent = await self._stories.repo.sent(chat_id, [story for story, _ in ranked])
        return await self._select(window, inputs, sent, shared=shared)

    async def keyed_many(
        self, runs: Sequence[tuple[Subscription, str]], *, now: datetime, shared: Shared
    ) -> dict[int, tuple[Digest, DigestKey] | Exception]:
        """`keyed` of a page of the round, each (subscription, period): the chats'
        inputs and what each was sent of its window's stories are read for the whole page
        at once. A chat whose digest could not be built gets its exception, so that it
        costs the others nothing."""
        inputs = await self.inputs_many([sub for sub, _ in runs], now=now)
        windows: dict[int, _Window] = {}
        for sub, period in runs:
            windows[sub.chat_id] = await self._window(
                sub.chat_id, inputs[sub.chat_id], now=now, period=period, shared=shared
            )
        stories = {story for w in windows.values() for story, _ in w.ranked}
        sent = await self._stories.repo.sent_many(list(windows), sorted(stories))
        found: dict[int, tuple[Digest, DigestKey] | Exception] = {}
        for chat_id, window in windows.items():
            seen = sent[chat_id]
            # Chats of one key that were sent the same of its stories get one digest.
            shown = tuple(sorted((s, b.articles, b.outlets) for s, b in seen.items()))
            try:
                digest, key = await shared.once(
                    ("selected", window.key, shown),
                    partial(self._select, window, inputs[chat_id], seen, shared=shared),
                )
            except Exception as error:
                found[chat_id] = error
                continue
            if digest.chat_id != chat_id:
                digest = replace(digest, chat_id=chat_id)
            found[chat_id] = (digest, key)
        return found

    async def _window(
        self,
        chat_id: int,
        inputs: ChatInputs,
        *,
        now: datetime,
        period: str | None,
        shared: Shared,
    ) -> _Window:
        """The chat's digest key and its window's ranked stories (none for a chat that
        wants only what it follows and follows nothing)."""
        period = period or local_period(now, inputs.zone)
        key = digest_key(
            inputs.chat,
            self._settings,
            since=inputs.since,
            now=now,
            period=period,
            timezone=inputs.zone,
            follows=inputs.follows,
            muted=inputs.muted,
        )
        if inputs.chat.digest_mode == "only" and not inputs.follows.followed:
            return _Window(chat_id, period, key, (), nothing_followed=True)
        since = inputs.since
        ranked = await shared.once(
            ("ranked", key.since, key.until),
            lambda: self._stories.ranked(since, now=now),
        )
        return _Window(chat_id, period, key, tuple(ranked))

    async def _select(
        self,
        window: _Window,
        inputs: ChatInputs,
        sent: Mapping[int, SentStory],
        *,
        shared: Shared,
    ) -> tuple[Digest, DigestKey]:
        chat_id, period, key = window.chat_id, window.period, window.key
        if window.nothing_followed:
            return Digest(chat_id=chat_id, period=period, nothing_followed=True), key
        follows, muted, chat = inputs.follows, inputs.muted, inputs.chat
        filtering = bool(follows.interests or muted)
        fresh: list[tuple[int, list[Member], bool]] = []
        for story, members in window.ranked:
            before = sent.get(story)
            if before is not None:
                outlets = len({m.source for m in members})
                if len(members) <= before.articles and outlets <= before.outlets:
                    continue
            fresh.append((story, members, before is not None))
        if not fresh:
            return Digest(chat_id=chat_id, period=period), key
        picked: list[tuple[int, Sequence[Article] | Sequence[Member], bool]] = []
        left = 0
        if filtering:
            # Beyond the candidates nothing was looked at: those count as left over.
            left = max(len(fresh) - DIGEST_CANDIDATES, 0)
            candidates: list[Candidate[tuple[int, Sequence[Article] | Sequence[Member], bool]]]
            candidates = []
            for story, members, update in fresh[:DIGEST_CANDIDATES]:
                kept = [m.article_id for m in members if m.source not in muted]
                articles = [
                    a
                    for a in await self._articles.get_many(kept)
                    if not follows.drops(self.terms(a))
                ]
                if articles:
                    terms = story_terms([self.terms(a) for a in articles])
                    candidates.append(Candidate((story, articles, update), terms))
            picked = list(arrange(candidates, follows, mode=chat.digest_mode))
        else:
            picked = list(fresh[: self._shown])
            left = len(fresh) - len(picked)
        if not picked:
            return Digest(chat_id=chat_id, period=period, more=left), key
        items = []
        for story, shown, update in picked[: self._shown]:
            # Told once per round for every chat that shows the same articles of it.
            ids = tuple(_article_id(a) for a in shown)
            item = await shared.once(
                ("story", story, ids, key.sentences),
                partial(self._told, story, ids, key.sentences),
            )
            items.append(replace(item, update=update) if update else item)
        digest = Digest(
            chat_id=chat_id,
            period=period,
            items=tuple(items),
            more=max(len(picked) - len(items), 0) + left,
        )
        return digest, key

    async def _told(self, story: int, ids: Sequence[int], sentences: int) -> StoryItem:
        articles = await self._articles.get_many(list(ids))
        told = await self._stories.tell_articles(story, articles, sentences=sentences)
        return StoryItem(
            story_id=story,
            headline=told.headline,
            sentences=told.sentences,
            outlets=told.outlets,
            articles=len(told.articles),
            main=told.main,
        )

    async def record(self, digest: Digest, *, now: datetime) -> None:
        """Remembers what the chat was sent of each story, so it comes again only grown:
        its size as told (articles and outlets stored by the time it was built)."""
        sizes = [(item.story_id, item.articles, len(item.outlets)) for item in digest.items]
        await self._stories.repo.record_sent(digest.chat_id, sizes, now=now)

    async def record_many(self, digests: Sequence[Digest], *, now: datetime) -> None:
        """`record` of a page of the round's digests in one statement."""
        await self._stories.repo.record_sent_many(
            [
                (d.chat_id, [(i.story_id, i.articles, len(i.outlets)) for i in d.items])
                for d in digests
            ],
            now=now,
        )

    async def remember_numbers_many(
        self, messages: Sequence[tuple[int, int, Sequence[tuple[int, int]]]]
    ) -> None:
        await self._stories.repo.remember_numbers_many(messages)


def story_terms(parts: Sequence[ItemTerms]) -> ItemTerms:
    """A story's terms: all its articles' words; a phrase matches within one article."""
    sequence: list[frozenset[str]] = []
    for terms in parts:
        # An empty place between articles: no phrase runs from one into the next.
        sequence.extend((*terms.sequence, frozenset()))
    forms: frozenset[str] = frozenset().union(*(t.forms for t in parts))
    return ItemTerms(forms, tuple(sequence))
