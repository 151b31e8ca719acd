"""Alerts in the store (both backends): the placements after the progress, each knowing
whether it updates its story; a placement's alerts recorded once, with their messages
in the ledger, silent ones kept silent; the hourly count leaves held alerts out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.models import Followed, NewArticle, OutboxPart
from bot.nlp.stories.features import extract
from storage.alerts import AlertRecord, AlertRepo
from storage.articles import ArticleRepo
from storage.chats import ChatRepo
from storage.db import Database
from storage.interests import InterestRepo
from storage.outbox import OutboxRepo
from storage.stories import StoryRepo

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


async def place(db: Database, title: str, story: int | None = None) -> tuple[int, int]:
    """Stores an article and puts it into `story` (a new one when None)."""
    article, _ = await ArticleRepo(db).add(
        NewArticle(title=title, text=f"{title}. Подробности позже.", source="ТАСС"), now=NOW
    )
    stories = StoryRepo(db)
    features = extract(article.title, article.text, time=NOW, source="ТАСС")
    async with stories.assigning():
        key = story if story is not None else await stories.new_story(NOW)
        await stories.place(article.id, key, features)
    return article.id, key


async def test_placements_after_the_progress_say_which_are_updates(db: Database) -> None:
    repo = AlertRepo(db, OutboxRepo(db))
    assert await repo.progress() is None
    first, story = await place(db, "Землетрясение на Камчатке")
    await repo.set_progress(await StoryRepo(db).last_seq())
    second, _ = await place(db, "Толчки ощутили в Петропавловске", story)
    other, other_story = await place(db, "Выборы в Казахстане")
    found = await repo.placements_after(await repo.progress() or 0, limit=10)
    assert [(p.article_id, p.story_id, p.update) for p in found] == [
        (second, story, True),
        (other, other_story, False),
    ]
    assert first not in [p.article_id for p in found]
    assert await repo.placements_after(found[-1].seq, limit=10) == []


async def test_a_placements_alerts_are_recorded_once_with_the_progress(db: Database) -> None:
    ledger = OutboxRepo(db)
    repo = AlertRepo(db, ledger)
    article, story = await place(db, "Землетрясение на Камчатке")
    [placement] = await repo.placements_after(0, limit=10)
    records = [
        AlertRecord(1, held=False, parts=[OutboxPart("новость", silent=True, thread_id=5)]),
        AlertRecord(2, held=True),
    ]
    for _ in range(2):
        # A leader that took over mid-way does the same placement again: nothing new.
        await repo.record(placement, records, now=NOW)
    assert await repo.progress() == placement.seq
    assert await ledger.pending(1) == 1 and await ledger.pending(2) == 0
    [message] = await ledger.claim_heads(now=NOW, lease=timedelta(minutes=1), limit=10)
    assert message.kind == "alert" and message.ref == f"{story}:{article}"
    assert message.part.silent and message.part.thread_id == 5
    assert await repo.alerted(story, [1, 2, 3]) == {1, 2}
    # Only what was sent counts towards the hourly cap, and only within the hour.
    assert await repo.sent_since([1, 2], NOW - timedelta(hours=1)) == {1: [NOW]}
    assert await repo.sent_since([1, 2], NOW) == {}


async def test_only_chats_with_alerts_on_are_matched_and_a_muted_outlet_is_known(
    db: Database,
) -> None:
    chats, interests = ChatRepo(db), InterestRepo(db)
    for chat_id, state in ((1, "on"), (2, "updates"), (3, "off"), (4, None)):
        await interests.add(chat_id, [Followed("word:камчатка", "word", "Камчатка")], now=NOW)
        if state is not None:
            await chats.update_settings(chat_id, alerts=state)
    repo = AlertRepo(db, OutboxRepo(db))
    assert sorted(await repo.alerting_interests()) == [1, 2]
    await interests.set_muted(2, "ТАСС", True)
    assert await repo.muting("ТАСС", [1, 2]) == {2}
    assert await repo.muting("РИА Новости", [1, 2]) == set()


async def test_a_group_that_becomes_a_supergroup_keeps_its_alerts(db: Database) -> None:
    ledger = OutboxRepo(db)
    repo = AlertRepo(db, ledger)
    group, supergroup = -5, -1005
    first, story = await place(db, "Землетрясение на Камчатке")
    second, _ = await place(db, "Толчки ощутили в Петропавловске", story)
    other, other_story = await place(db, "Выборы в Казахстане")
    placed = {p.article_id: p for p in await repo.placements_after(0, limit=10)}
    sent = [AlertRecord(group, held=False, parts=[OutboxPart("новость")])]
    await repo.record(placed[first], sent, now=NOW)
    await repo.record(placed[second], [AlertRecord(group, held=True)], now=NOW)
    # Written for the new id after the migration: it wins over the group's row.
    await repo.record(placed[second], [AlertRecord(supergroup, held=False)], now=NOW)
    await repo.record(placed[other], [AlertRecord(group, held=True)], now=NOW)
    await ChatRepo(db).migrate(group, supergroup)
    assert await repo.alerted(story, [group, supergroup]) == {supergroup}
    assert await repo.alerted(other_story, [group, supergroup]) == {supergroup}
    # The hourly cap counts what the group was sent, and the new id's own alert.
    assert await repo.sent_since([group, supergroup], NOW - timedelta(hours=1)) == {
        supergroup: [NOW, NOW]
    }
    rows = await db.fetchall(
        "SELECT chat_id, article_id, held FROM story_alerts ORDER BY article_id"
    )
    assert [(r["chat_id"], r["article_id"], r["held"]) for r in rows] == [
        (supergroup, first, 0),
        (supergroup, second, 0),
        (supergroup, other, 1),
    ]
