"""Stories in the product: every stored article is assigned to one, as it is stored, and
a story is told (headline, 1–2 sentences, outlets) and ranked from its articles.

The incremental clusterer (bot.nlp.stories) holds the open stories only: at start it is
rebuilt from the articles of the stories within `Clusterer.horizon` of the newest (and
of those that gained an article stored as lately), so its size and the cost of one
assignment do not grow with the store. Articles that have
no story (a store from before stories, or a crash between storing and assigning) are
grouped at start, oldest first.

One assignment at a time: in this process by a lock, across processes sharing a
PostgreSQL store by an advisory transaction lock, under which a process first takes up
the assignments the others made since its last one (`story_seq`), so two processes do
not start two stories for one event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.clock import as_utc
from bot.models import Article, is_row_id
from bot.nlp.stories.cluster import DEFAULT_TUNING, Clusterer, Tuning
from bot.nlp.stories.features import DocumentFrequencies, Features, extract
from bot.nlp.stories.rank import DEFAULT_RANK, weight
from bot.nlp.stories.text import headline, summary
from storage.articles import ArticleRepo
from storage.stories import Member, Placed, StoryRepo

log = logging.getLogger(__name__)

# Stories a list (/stories, `python -m bot stories`) tells; the rest are counted.
LISTED = 30
# Articles grouped per round trip when a store's unassigned articles are grouped.
GROUPING_BATCH = 500


def features_of(article: Article) -> Features:
    """What the same-story decision knows of an article; its store time when undated."""
    return extract(article.title, article.text, time=article.date, source=article.source)


@dataclass(frozen=True, slots=True)
class StoryText:
    """A story told: its headline, 1–2 sentences, and the articles it was told from
    (newest first; a large story's every outlet and newest, see `told_members`)."""

    story_id: int
    headline: str
    sentences: tuple[str, ...]
    articles: tuple[Article, ...]
    # How many articles the story has, when it was told from fewer.
    size: int = 0

    @property
    def article_count(self) -> int:
        return self.size or len(self.articles)

    @property
    def outlets(self) -> tuple[str, ...]:
        """Its outlets, the earliest to report first; one name each."""
        ordered = sorted(self.articles, key=lambda a: a.date)
        return tuple(dict.fromkeys(a.source or "—" for a in ordered))

    @property
    def main(self) -> Article:
        """The article whose title is the headline, else the earliest: what the
        follow-ups (points, more, full text) of the story are about."""
        for article in sorted(self.articles, key=lambda a: a.date):
            if self.headline and self.headline in article.title:
                return article
        return min(self.articles, key=lambda a: a.date)


# A story is told from at most this many of its articles, besides one per outlet: a
# story of thousands of copies (a wire text every outlet reprints) would otherwise read
# every copy's full text for one headline and two sentences.
TOLD_ARTICLES = 40


def told_members(members: Sequence[Member]) -> list[Member]:
    """The members a story is told from: each outlet's first report, so every outlet
    is named in the order it reported, then the newest of the rest up to TOLD_ARTICLES.
    A story of up to TOLD_ARTICLES articles is told from all of them."""
    by_time = sorted(members, key=lambda m: (m.time, m.article_id))
    earliest: dict[str, Member] = {}
    for member in by_time:
        earliest.setdefault(member.source, member)
    chosen = {m.article_id: m for m in earliest.values()}
    limit = max(TOLD_ARTICLES, len(chosen))
    for member in reversed(by_time):
        if len(chosen) >= limit:
            break
        chosen.setdefault(member.article_id, member)
    return list(chosen.values())


def story_weight(members: Sequence[Member], now: datetime) -> float:
    """The story's weight (bot.nlp.stories.rank) with its recency counted from when its
    latest article was stored, not published: live, the two are minutes apart; for a
    past day loaded today (an archive, `ingest` of a file) every story is then as
    recent as the others and its outlets and growth decide, where counting from the
    publication times would rank a stray recent article above the whole day."""
    times = [m.time for m in members]
    flat = weight([m.source for m in members], times, max(times))
    age = max(timedelta(0), as_utc(now) - max(m.added_at for m in members))
    return flat * 0.5 ** (age / DEFAULT_RANK.half_life)


class StoryService:
    def __init__(
        self,
        stories: StoryRepo,
        articles: ArticleRepo,
        *,
        shared: bool,
        tuning: Tuning = DEFAULT_TUNING,
    ) -> None:
        self._stories = stories
        self._articles = articles
        self._shared = shared
        self.clusterer = Clusterer(DocumentFrequencies(), tuning)
        self._lock = asyncio.Lock()
        self._seq = 0
        # Told of every article placed here as it is stored (the alerts wake up).
        self.on_placed: list[Callable[[], None]] = []

    @property
    def repo(self) -> StoryRepo:
        return self._stories

    def _take(self, placed: Placed) -> None:
        self.clusterer.df.add(placed.features)
        self.clusterer.join(placed.story_id, placed.article_id, placed.features)
        self.clusterer.closed.clear()
        self._seq = max(self._seq, placed.seq)

    async def start(self) -> int:
        """Rebuilds the open stories from the store, then groups the articles that have
        no story yet; returns how many were grouped."""
        async with self._lock:
            newest = await self._stories.newest_time()
            stored = await self._stories.newest_added()
            if newest is not None and stored is not None:
                # The stories of the window, and those of a past day loaded lately (an
                # archive's stories stay open beside one stray newer article).
                horizon = self.clusterer.horizon(newest)
                recent = self.clusterer.horizon(stored)
                for placed in await self._stories.open_members(horizon, recent):
                    self.clusterer.df.add(placed.features)
                    self.clusterer.restore(placed.story_id, placed.article_id, placed.features)
            self._seq = await self._stories.last_seq()
        grouped = 0
        while batch := await self._stories.unplaced(limit=GROUPING_BATCH):
            features = await asyncio.to_thread(
                lambda: [
                    extract(item.title, item.text, time=item.time, source=item.source)
                    for item in batch
                ]
            )
            await self._assign_many([item.article_id for item in batch], features)
            grouped += len(batch)
        if grouped:
            log.info("grouped %d stored article(s) into stories", grouped)
        return grouped

    async def assign(self, article: Article) -> int:
        """Puts a newly stored article into its story (or starts one); the story's id."""
        return (await self.assign_many([article]))[0]

    async def assign_many(self, articles: Sequence[Article]) -> list[int]:
        """Puts newly stored articles into their stories, in order, in one transaction:
        the same stories as assigning them one by one. Their stories' ids."""
        if not articles:
            return []
        features = await asyncio.to_thread(lambda: [features_of(a) for a in articles])
        keys = await self._assign_many([a.id for a in articles], features)
        for listener in self.on_placed:
            listener()
        return keys

    async def _assign_many(
        self, article_ids: Sequence[int], features: Sequence[Features]
    ) -> list[int]:
        clusterer = self.clusterer
        keys: list[int] = []
        async with self._lock, self._stories.assigning():
            if self._shared:
                for placed in await self._stories.placed_after(self._seq):
                    self._take(placed)
            for article_id, found in zip(article_ids, features, strict=True):
                clusterer.df.add(found)
                story, value = clusterer.best(found)
                if story is None or value < clusterer.tuning.threshold:
                    key = await self._stories.new_story(found.time)
                else:
                    key = story.key
                clusterer.join(key, article_id, found)
                clusterer.closed.clear()
                keys.append(key)
            seqs = await self._stories.place_many(
                list(zip(article_ids, keys, features, strict=True))
            )
            self._seq = seqs[-1]
        return keys

    async def ranked(self, since: datetime, *, now: datetime) -> list[tuple[int, list[Member]]]:
        """The stories that gained an article stored in (since, now], most important
        first (`story_weight`), each with all its articles stored by `now`."""
        members = await self._stories.members_added_since(since, as_utc(now))
        by_story: dict[int, list[Member]] = {}
        for member in members:
            by_story.setdefault(member.story_id, []).append(member)
        if not by_story:
            return []
        weights = {key: story_weight(found, now) for key, found in by_story.items()}
        order = sorted(by_story, key=lambda key: (-weights[key], -key))
        return [(key, by_story[key]) for key in order]

    async def listing(
        self, since: datetime, *, now: datetime, limit: int = LISTED
    ) -> tuple[list[tuple[int, StoryText]], int]:
        """The stories of (since, now], ranked and numbered, at most `limit` of them
        told (a headline each, no sentences), and how many were left out."""
        ranked = await self.ranked(since, now=now)
        told = []
        for number, (key, members) in enumerate(ranked[:limit], 1):
            articles = await self._articles.get_many([m.article_id for m in members])
            told.append((number, await self.tell_articles(key, articles, sentences=0)))
        return told, max(len(ranked) - limit, 0)

    async def latest(self, limit: int) -> list[tuple[int, StoryText]]:
        """The stories with the newest articles, numbered, without sentences."""
        found = []
        for number, key in enumerate(await self._stories.latest(limit), 1):
            told = await self.tell(key, sentences=0)
            if told is not None:
                found.append((number, told))
        return found

    async def numbered(self, chat_id: int, number: int, message_id: int | None) -> int | None:
        """The story `number` means in a message (or the chat's latest numbered list)."""
        return await self._stories.numbered(chat_id, number, message_id)

    async def remember_numbers(
        self, chat_id: int, message_id: int, numbers: Sequence[tuple[int, int]]
    ) -> None:
        await self._stories.remember_numbers(chat_id, message_id, numbers)

    async def tell(self, story_id: int, *, sentences: int = 2) -> StoryText | None:
        if not is_row_id(story_id):
            return None
        members = await self._stories.members_of(story_id)
        told = told_members(members)
        articles = await self._articles.get_many([m.article_id for m in told])
        if not articles:
            return None
        story = await self.tell_articles(story_id, articles, sentences=sentences)
        return story if len(told) == len(members) else replace(story, size=len(members))

    async def tell_articles(
        self, story_id: int, articles: Sequence[Article], *, sentences: int = 2
    ) -> StoryText:
        ordered = tuple(sorted(articles, key=lambda a: a.date, reverse=True))
        title, chosen = await asyncio.to_thread(_text, ordered, sentences)
        return StoryText(story_id, title, chosen, ordered)


def _text(articles: Sequence[Article], sentences: int) -> tuple[str, tuple[str, ...]]:
    told = summary(articles, sentences=min(sentences, 2)) if sentences > 0 else ()
    return headline(articles), told
