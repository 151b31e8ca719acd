"""The routers, in the one order that matters."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    articles,
    errors,
    feeds,
    followups,
    members,
    settings,
    start,
    stories,
    subscriptions,
)


def build_router() -> Router:
    # Routers are built per Dispatcher (not at import) so a process can run several:
    # a restart in the tests, the console beside a benchmark.
    root = Router(name="svodka")
    root.include_routers(
        errors.build(),
        # Before the routers that check admin rights, and before the bot's own joining
        # and leaving (which it passes on): the cached admin lists follow every change.
        members.build(),
        # Before anything that reads messages: an admin's forwarded channel post is an
        # article to store, whatever its text.
        admin.build_forwarded(),
        # Each message is offered to the routers in turn, and every handler on the way
        # parses its command again: the commonest commands go first.
        articles.build_commands(),
        start.build(),
        admin.build(),
        subscriptions.build(),
        stories.build(),
        settings.build(),
        feeds.build(),
        # After the stories' buttons: its catch-all answers any button nobody took.
        followups.build(),
        # After every command: a command nobody took gets a hint (in private chats).
        start.build_unknown(),
        # Last: the catch-all for plain text in private chats (a search).
        articles.build_private_text(),
    )
    return root
