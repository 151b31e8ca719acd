"""The routers, in the one order that matters."""

from __future__ import annotations

from aiogram import Router

from handlers import admin, articles, errors, feeds, followups, settings, start, subscriptions


def build_router() -> Router:
    # Routers are built per Dispatcher (not at import) so a process can run several:
    # a restart in the tests, the console beside a benchmark.
    root = Router(name="svodka")
    root.include_routers(
        errors.build(),
        start.build(),
        subscriptions.build(),
        settings.build(),
        # admin before articles: an admin's forwarded post is an article, not a search.
        admin.build(),
        feeds.build(),
        followups.build(),
        # Last: it holds the catch-all for plain text in private chats (a search).
        articles.build(),
    )
    return root
