"""Who may do what: one test per row of the README's table, end to end through the Bot
API test server and the production app."""

from __future__ import annotations

import asyncio
from typing import Any

from bot import texts
from storage.articles import ArticleRepo
from storage.subscriptions import SubscriptionRepo
from tests.botapi import Call
from tests.conftest import ADMIN_ID, BOT_USERNAME, RunningBot

GROUP = -1_000_000_500
CHANNEL = -1_000_000_900
ADMIN, MEMBER = 11, 12
TELEGRAM = 777000  # the service account automatic forwards come from
ANONYMOUS = 1087968824  # GroupAnonymousBot
SEED_TITLE = "Китай рассчитывает вместе с Казахстаном"


def shown(call: Call) -> str:
    return str(call.result["text"])


def cmd(name: str) -> str:
    return f"/{name}@{BOT_USERNAME}"


def in_group(**kw: Any) -> dict[str, Any]:
    return {"chat_id": GROUP, "chat_type": "supergroup", **kw}


def channel_origin(message_id: int = 7) -> dict[str, Any]:
    return {
        "type": "channel",
        "date": 1_750_000_000,
        "message_id": message_id,
        "chat": {"id": CHANNEL, "type": "channel", "title": "Новости", "username": "novosti"},
    }


async def stored(running: RunningBot) -> int:
    return await ArticleRepo(running.app.services.db).count()


# --- reading: anyone, in any chat -------------------------------------------------------


async def test_anyone_reads_articles_summaries_points_search_digest_and_settings(
    running: RunningBot,
) -> None:
    running.tg.set_admins(GROUP, [ADMIN])
    for where in ({"user_id": 4242}, in_group(user_id=MEMBER)):
        group = "chat_id" in where
        for command, fragment in (
            ("latest", SEED_TITLE),
            ("summary", texts.SUMMARY_LABEL),
            ("points", texts.POINTS_LABEL),
            ("search Казахстан", "№\u00a01"),
            ("settings", "Настройки чата"),
            ("digest", "Сводка за"),
        ):
            text = cmd(command) if group else f"/{command}"
            [reply] = await running.say(text, **where)
            assert fragment in shown(reply), (where, command)


# --- adding articles: ADMIN_IDS only ----------------------------------------------------


async def test_add_is_for_bot_admins_only(running: RunningBot) -> None:
    [refused] = await running.say("/add Заголовок\nТекст чужой статьи.", user_id=4242)
    assert shown(refused) == texts.NOT_ALLOWED
    assert await stored(running) == 1
    # A group's own admin is not a bot admin either.
    running.tg.set_admins(GROUP, [ADMIN])
    [refused] = await running.say(cmd("add") + " Заголовок\nТекст.", **in_group(user_id=ADMIN))
    assert shown(refused) == texts.NOT_ALLOWED
    [added] = await running.say("/add Заголовок\nТекст статьи администратора.", user_id=ADMIN_ID)
    assert "номером 2" in shown(added)
    assert await stored(running) == 2


async def test_feed_commands_are_for_bot_admins_only(running: RunningBot) -> None:
    for command in (
        "/feeds",
        "/feed_add https://example.ru/rss",
        "/feed_remove 1",
        "/feed_resume 1",
    ):
        [refused] = await running.say(command, user_id=4242)
        assert shown(refused) == texts.NOT_ALLOWED, command
    [listing] = await running.say("/feeds", user_id=ADMIN_ID)
    assert shown(listing) != texts.NOT_ALLOWED


async def test_forwarded_channel_posts_are_stored_for_bot_admins_only(
    running: RunningBot,
) -> None:
    post = "Пост канала\nВ канале вышла новость о сотрудничестве с Казахстаном."
    # Anyone else's forward is just text: in a private chat, a search.
    [search] = await running.say(post, user_id=4242, forward_origin=channel_origin())
    assert "Статья сохранена" not in shown(search)
    assert await stored(running) == 1
    # In a group even a bot admin's forward is conversation, not an article.
    await running.quiet(post, **in_group(user_id=ADMIN_ID, forward_origin=channel_origin(8)))
    assert await stored(running) == 1
    [added] = await running.say(post, user_id=ADMIN_ID, forward_origin=channel_origin(9))
    assert "Статья сохранена" in shown(added)
    article = await running.app.services.articles.get(2)
    assert article is not None and article.url == "https://t.me/novosti/9"


# --- subscription and settings ----------------------------------------------------------


async def test_in_a_private_chat_the_user_changes_its_own_subscription_and_settings(
    running: RunningBot,
) -> None:
    [subscribed] = await running.say("/subscribe 08:30", user_id=4242)
    assert "08:30" in shown(subscribed)
    saved = await running.say("/settings sentences 5", user_id=4242, count=2)
    assert "Длина изложения: 5\u00a0предложений" in shown(saved[-1])
    [ended] = await running.say("/unsubscribe", user_id=4242)
    assert shown(ended) == texts.UNSUBSCRIBED


async def test_in_a_group_only_its_admins_change_subscription_and_settings(
    running: RunningBot,
) -> None:
    running.tg.set_admins(GROUP, [ADMIN])
    subscriptions = SubscriptionRepo(running.app.services.db)
    for command in ("subscribe 08:30", "unsubscribe", "settings sentences 7"):
        [refused] = await running.say(cmd(command), **in_group(user_id=MEMBER))
        assert shown(refused) == texts.NOT_GROUP_ADMIN, command
    assert await subscriptions.get(GROUP) is None
    [ok] = await running.say(cmd("subscribe") + " 08:30", **in_group(user_id=ADMIN))
    assert "08:30" in shown(ok)
    # An anonymous admin writes as the group itself.
    group_chat = running.tg.chat(GROUP, "supergroup")
    saved = await running.say(
        cmd("settings") + " sentences 7",
        count=2,
        **in_group(user_id=ANONYMOUS, sender_chat=group_chat),
    )
    assert "Длина изложения: 7\u00a0предложений" in shown(saved[-1])
    [ended] = await running.say(
        cmd("unsubscribe"), **in_group(user_id=ANONYMOUS, sender_chat=group_chat)
    )
    assert shown(ended) == texts.UNSUBSCRIBED
    sub = await subscriptions.get(GROUP)
    assert sub is not None and not sub.active


# --- a channel's linked discussion group ------------------------------------------------


async def test_automatic_forwards_from_the_linked_channel_are_ignored(
    running: RunningBot,
) -> None:
    channel = running.tg.chat(CHANNEL, "channel")
    forward = in_group(
        user_id=TELEGRAM,
        sender_chat=channel,
        is_automatic_forward=True,
        forward_origin=channel_origin(),
    )
    # Not a command: a channel post that starts with one must not subscribe the group...
    await running.quiet(cmd("subscribe") + " 08:30", **forward)
    await running.quiet(cmd("settings") + " sentences 9", **forward)
    # ...nor an article, even when it looks like one.
    await running.quiet("Новость канала\nСегодня в канале вышла большая новость.", **forward)
    assert running.tg.sent(GROUP) == []
    assert await SubscriptionRepo(running.app.services.db).get(GROUP) is None
    assert await stored(running) == 1


async def test_posting_as_the_channel_is_not_being_the_groups_admin(
    running: RunningBot,
) -> None:
    running.tg.set_admins(GROUP, [ADMIN])
    as_channel = in_group(user_id=136817688, sender_chat=running.tg.chat(CHANNEL, "channel"))
    [refused] = await running.say(cmd("settings") + " sentences 9", **as_channel)
    assert shown(refused) == texts.NOT_GROUP_ADMIN
    [reply] = await running.say(cmd("latest"), **as_channel)
    assert SEED_TITLE in shown(reply)


# --- nobody reads or changes another chat's settings ------------------------------------


async def test_settings_never_show_or_change_another_chat(running: RunningBot) -> None:
    running.tg.set_admins(GROUP, [ADMIN])
    await running.say(cmd("settings") + " algorithm lsa", count=2, **in_group(user_id=ADMIN))
    await running.say(cmd("settings") + " sentences 7", count=2, **in_group(user_id=ADMIN))
    for attempt in (
        f"/settings {GROUP}",
        f"/settings {GROUP} sentences 2",
        f"/settings sentences 2 {GROUP}",
        f"/settings chat {GROUP}",
        f"/settings algorithm@{GROUP} luhn",
    ):
        replies = await running.say(attempt, user_id=ADMIN)
        for reply in replies:
            assert "lsa" not in shown(reply), attempt
            assert "Длина изложения: 7\u00a0предложений" not in shown(reply), attempt
    group = await running.app.services.chats.settings(GROUP)
    assert (group.algorithm, group.sentences) == ("lsa", 7)
    [own] = await running.say("/settings", user_id=ADMIN)
    assert "Алгоритм: lexrank" in shown(own)
    # Another group sees its own settings, not the first group's.
    [other] = await running.say(
        cmd("settings"), chat_id=-1_000_000_501, chat_type="supergroup", user_id=ADMIN
    )
    assert "Алгоритм: lexrank" in shown(other)


# --- admin rights follow membership changes at once -------------------------------------


async def seen(running: RunningBot, update_id: int) -> None:
    """Waits until the bot has taken the update (confirmed by a later getUpdates)."""
    await running.tg.wait_for(
        "getUpdates", lambda c: int(c.params.get("offset", 0)) > update_id, ok=None
    )
    await asyncio.sleep(0.2)


async def test_a_demoted_admin_loses_and_a_promoted_one_gains_settings_rights_at_once(
    running: RunningBot,
) -> None:
    tg = running.tg
    tg.set_admins(GROUP, [ADMIN])
    [refused] = await running.say(cmd("settings") + " sentences 4", **in_group(user_id=MEMBER))
    assert shown(refused) == texts.NOT_GROUP_ADMIN
    await running.say(cmd("settings") + " sentences 5", count=2, **in_group(user_id=ADMIN))
    # The bot asked Telegram for membership changes, which it does not get by default.
    [polled, *_] = tg.calls_to("getUpdates")
    assert {"chat_member", "my_chat_member"} <= set(polled.params["allowed_updates"])
    # Well within the cache's lifetime, the member is promoted and the admin demoted.
    await seen(running, tg.chat_member(GROUP, MEMBER, "administrator", by=ADMIN))
    await seen(running, tg.chat_member(GROUP, ADMIN, "member", "administrator", by=MEMBER))
    [refused] = await running.say(cmd("settings") + " sentences 6", **in_group(user_id=ADMIN))
    assert shown(refused) == texts.NOT_GROUP_ADMIN
    saved = await running.say(cmd("settings") + " sentences 7", count=2, **in_group(user_id=MEMBER))
    assert shown(saved[0]) == texts.SETTINGS_SAVED
    assert (await running.app.services.chats.settings(GROUP)).sentences == 7
    # The cached list was changed in place, not fetched again.
    assert len(tg.calls_to("getChatAdministrators")) == 1
    # The bot's own rights changed: it asks Telegram again at the next check.
    await seen(running, tg.my_chat_member(GROUP, "member", "administrator", chat_type="supergroup"))
    await running.say(cmd("settings") + " sentences 8", count=2, **in_group(user_id=MEMBER))
    assert len(tg.calls_to("getChatAdministrators")) == 2
