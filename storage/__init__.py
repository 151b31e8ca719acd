"""aiosqlite persistence: one connection, schema migrations, one repository per table."""

from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database
from storage.subscriptions import SubscriptionRepo

__all__ = ["ArticleRepo", "ChatRepo", "Database", "SubscriptionRepo", "SummaryCache"]
