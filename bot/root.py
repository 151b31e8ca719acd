"""The composition root's half without Telegram: the store and the services over it,
opened the same way by the bot (bot/app.py builds on it), the console and the CLI
commands. Nothing here imports aiogram."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.articles import ArticleService
from bot.chats import ChatService
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.digest import DigestService
from bot.inline import InlineService
from bot.intake import Fetcher, IntakeService, Notify
from bot.interests import InterestService
from bot.links import LinkService
from bot.stories import StoryService
from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database, open_database
from storage.feeds import FeedRepo
from storage.interests import InterestRepo
from storage.links import LinkRepo
from storage.stories import StoryRepo
from storage.subscriptions import SubscriptionRepo

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The store and the services over it, without Telegram."""

    settings: Settings
    clock: Clock
    db: Database
    chats: ChatService
    articles: ArticleService
    digests: DigestService
    intake: IntakeService
    stories: StoryService
    links: LinkService
    interests: InterestService
    inline: InlineService

    async def load_seeds(self) -> int:
        """Stores the articles of SEEDS_DIR that are not stored yet."""
        added = await self.articles.load_seeds(self.settings.seeds_dir, now=self.clock())
        if added:
            log.info("loaded %d new seed article(s) from %s", added, self.settings.seeds_dir)
        return added

    async def close(self) -> None:
        await self.intake.close()
        await self.chats.flush()
        await self.db.close()


async def open_services(
    settings: Settings, *, clock: Clock = utc_now, notify: Notify | None = None
) -> Services:
    """Opens the store (migrating it) and builds the services; `notify` tells the bot's
    admins about feeds that fail. Nothing is loaded or sent yet."""
    db = await open_database(settings)
    articles = ArticleRepo(db)
    subscriptions = SubscriptionRepo(db)
    chats = ChatService(ChatRepo(db), settings)
    stories = StoryService(StoryRepo(db), articles, shared=db.shared)
    service = ArticleService(articles, SummaryCache(db), chats, settings, stories=stories)
    interests = InterestService(InterestRepo(db), articles)
    digests = DigestService(articles, subscriptions, chats, service, stories, settings, interests)
    fetcher = Fetcher(allow_private=settings.fetch_allow_private)
    intake = IntakeService(fetcher, service, FeedRepo(db), notify=notify)
    # Pages anyone asks about: through the same fetcher, kept apart from the news store.
    links = LinkService(fetcher, LinkRepo(db), chats, settings)
    try:
        # The open stories back in memory, and any article without a story grouped.
        await stories.start()
    except BaseException:
        await db.close()
        raise
    inline = InlineService(service, stories, settings)
    return Services(
        settings, clock, db, chats, service, digests, intake, stories, links, interests, inline
    )
