"""The routers, in the one order that matters."""

from __future__ import annotations

from aiogram import Router

from handlers import (
    admin,
    articles,
    channels,
    errors,
    feeds,
    followups,
    inline,
    interests,
    links,
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
        # Before the article commands: /summary URL is a page, and a reply to a page's
        # answer is about that page.
        links.build_commands(),
        # Each message is offered to the routers in turn, and every handler on the way
        # parses its command again: the commonest commands go first.
        articles.build_commands(),
        start.build(),
        admin.build(),
        # Before the chat's own /subscribe: "/subscribe @channel" is a channel's.
        channels.build(),
        subscriptions.build(),
        stories.build(),
        settings.build(),
        interests.build(),
        feeds.build(),
        # Inline queries only: no message or button reaches it.
        inline.build(),
        # After the stories' buttons: its catch-all answers any button nobody took.
        followups.build(),
        # After every command: a command nobody took gets a hint (in private chats).
        start.build_unknown(),
        # A link alone in a private chat is a page to summarise, not words to search.
        links.build_private_text(),
        # Last: the catch-all for plain text in private chats (a search).
        articles.build_private_text(),
        # Posts in channels: their own observer, after nothing else.
        channels.build_posts(),
    )
    return root
