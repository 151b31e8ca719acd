"""The link cache and the record of who manages which chat, on each backend."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from storage.db import Database
from storage.links import LinkRepo
from storage.managers import ManagerRepo
from storage.subscriptions import SubscriptionRepo

NOW = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


async def put(repo: LinkRepo, chat_id: int, url: str, now: datetime, *, keep: int = 3) -> int:
    page = await repo.put(
        chat_id,
        url,
        title=f"Страница {url}",
        source="example.ru",
        text="Текст страницы.",
        lang="ru",
        now=now,
        expires_at=now + DAY,
        keep=keep,
    )
    return page.id


async def test_link_cache_keeps_a_chats_newest_pages_only(db: Database) -> None:
    repo = LinkRepo(db)
    ids = [
        await put(repo, 1, f"https://example.ru/{n}", NOW + timedelta(minutes=n)) for n in range(5)
    ]
    other = await put(repo, 2, "https://example.ru/0", NOW)
    later = NOW + timedelta(minutes=10)
    kept = [await repo.get(1, page_id, now=later) for page_id in ids]
    assert [page.id if page else None for page in kept] == [None, None, *ids[2:]]
    # Another chat's copy of the same URL is its own, and one chat cannot read another's.
    assert await repo.get(2, other, now=later) is not None
    assert await repo.get(2, ids[4], now=later) is None
    # The same URL again replaces the chat's copy rather than adding one.
    again = await put(repo, 1, "https://example.ru/4", later)
    assert again == ids[4]
    assert await repo.count() == 4


async def test_link_cache_forgets_pages_after_a_day(db: Database) -> None:
    repo = LinkRepo(db)
    page_id = await put(repo, 1, "https://example.ru/a", NOW)
    await repo.remember(1, page_id, [10, 11])
    assert (await repo.for_message(1, 11, now=NOW + timedelta(hours=1))).id == page_id  # type: ignore[union-attr]
    assert await repo.for_message(1, 11, now=NOW + DAY) is None
    assert await repo.find(1, "https://example.ru/a", now=NOW + DAY) is None
    # The next page stored anywhere sweeps the expired ones, and their message links.
    await put(repo, 2, "https://example.ru/b", NOW + DAY)
    assert await repo.count() == 1
    assert await db.fetchone("SELECT 1 FROM link_messages") is None


async def test_subscriptions_of_a_user_are_theirs_and_their_chats(db: Database) -> None:
    subs = SubscriptionRepo(db)
    managers = ManagerRepo(db)
    for chat_id, by in ((7, 7), (-100, 7), (-200, 8), (-300, None), (9, 9)):
        await subs.subscribe(chat_id, time(9), "Europe/Moscow", by, now=NOW, due_at=NOW)
    await managers.replace(-300, [7, 8], now=NOW)
    assert [s.chat_id for s in await managers.subscriptions_of(7)] == [-300, -100, 7]
    assert [s.chat_id for s in await managers.subscriptions_of(8)] == [-300, -200]
    # A fresh admin list replaces the old one.
    await managers.replace(-300, [8], now=NOW)
    assert [s.chat_id for s in await managers.subscriptions_of(7)] == [-100, 7]
    await subs.end(-100, "unsubscribed", now=NOW)
    assert [s.chat_id for s in await managers.subscriptions_of(7)] == [7]
