"""The routers, in the one order that matters."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, articles, errors, followups, settings, start, subscriptions


def build_router() -> Router:
    root = Router(name="svodka")
    root.include_routers(
        errors.router,
        start.router,
        subscriptions.router,
        settings.router,
        # admin before articles: an admin's forwarded post is an article, not a search.
        admin.router,
        followups.router,
        # Last: it holds the catch-all for plain text in private chats (a search).
        articles.router,
    )
    return root
