"""Persistence on SQLite (aiosqlite) or PostgreSQL (asyncpg): one Database interface,
schema migrations for each, one repository per table."""

from storage.articles import ArticleRepo
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database, open_database
from storage.subscriptions import SubscriptionRepo

__all__ = [
    "ArticleRepo",
    "ChatRepo",
    "Database",
    "SubscriptionRepo",
    "SummaryCache",
    "open_database",
]
