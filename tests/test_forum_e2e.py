"""Forum topics end to end: a subscription made in a topic delivers its digest there, and
answers go to the topic the question came from."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.clock import utc_now
from bot.digest import local_period, scheduled_at
from tests.conftest import RunningBot

FORUM, ADMIN = -100900, 41


def in_topic(topic: int) -> dict[str, Any]:
    return {
        "chat_id": FORUM,
        "user_id": ADMIN,
        "chat_type": "supergroup",
        "message_thread_id": topic,
        "is_topic_message": True,
    }


async def test_a_topic_subscription_delivers_its_digest_to_that_topic(running: RunningBot) -> None:
    running.tg.set_admins(FORUM, [ADMIN])
    [reply] = await running.say("/subscribe 09:00", **in_topic(77))
    assert reply.params["message_thread_id"] == 77
    sub = (await running.app.subscriptions.overview(FORUM)).subscription
    assert sub is not None and sub.thread_id == 77
    due = scheduled_at(sub, local_period(utc_now(), sub.timezone)) + timedelta(minutes=1)
    before = len(running.tg.sent(FORUM))
    assert await running.app.subscriptions.run_digest(FORUM, now=due)
    digest = running.tg.sent(FORUM)[before:]
    assert digest and all(call.params.get("message_thread_id") == 77 for call in digest)


async def test_answers_and_digest_now_go_to_the_topic_asked_in(running: RunningBot) -> None:
    running.tg.set_admins(FORUM, [ADMIN])
    [listing] = await running.say("/follow", **in_topic(78))
    assert listing.params["message_thread_id"] == 78
    replies = await running.say("/digest", **in_topic(79))
    assert replies and all(call.params.get("message_thread_id") == 79 for call in replies)
    # Outside a topic (the General one) the chat itself is answered.
    [general] = await running.say("/follow", chat_id=FORUM, user_id=ADMIN, chat_type="supergroup")
    assert "message_thread_id" not in general.params
