"""What chats follow and the outlets they turned off, in the store (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.interests import InterestService
from bot.models import ChatSettings, NewArticle
from bot.nlp.interests import item_terms
from storage.articles import ArticleRepo
from storage.chats import ChatRepo
from storage.db import Database
from storage.interests import InterestRepo

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
DEFAULTS = ChatSettings(chat_id=0, algorithm="lexrank", sentences=3, timezone="Europe/Moscow")


async def test_follow_keeps_each_interest_once_and_unfollow_removes_it(db: Database) -> None:
    service = InterestService(InterestRepo(db), ArticleRepo(db))
    first = await service.follow(7, 'Казахстан "центральный банк" -футбол', now=NOW)
    assert [i.term for i in first.changed] == ["Казахстан", "центральный банк", "футбол"]
    again = await service.follow(7, "Казахстане футбол", now=NOW)
    # The same word in another form is nothing new; a followed word beside its exclusion is.
    assert [(i.kind, i.term) for i in again.changed] == [("word", "футбол")]
    assert len((await service.follows(7)).interests) == 4
    assert (await service.follows(8)).interests == ()
    # Without its minus, /unfollow removes the word and its exclusion.
    gone = await service.unfollow(7, "футболом")
    assert sorted(i.kind for i in gone.changed) == ["exclude", "word"]
    [bank] = [i for i in gone.follows.interests if i.kind == "phrase"]
    pressed = await service.remove(7, bank.token)
    assert [i.term for i in pressed.follows.interests] == ["Казахстан"]
    index = await service.index()
    assert index.match(item_terms("Выборы в Казахстане")) == {7}


async def test_outlets_are_listed_and_toggled_per_chat(db: Database) -> None:
    articles = ArticleRepo(db)
    for n, source in enumerate(["ТАСС", "ТАСС", "РИА"]):
        await articles.add(
            NewArticle(f"Новость {n}", f"Текст новости {n}.", source=source), now=NOW
        )
    service = InterestService(InterestRepo(db), articles)
    outlets = await service.outlets(1)
    assert [(o.source, o.muted) for o in outlets] == [("ТАСС", False), ("РИА", False)]
    after = await service.toggle(1, outlets[0].token)
    assert [(o.source, o.muted) for o in after] == [("ТАСС", True), ("РИА", False)]
    assert await service.muted(1) == frozenset({"ТАСС"})
    assert await service.muted(2) == frozenset()
    back = await service.toggle(1, outlets[0].token)
    assert not any(o.muted for o in back)


async def test_a_group_that_becomes_a_supergroup_keeps_its_interests_and_settings(
    db: Database,
) -> None:
    repo = InterestRepo(db)
    service = InterestService(repo, ArticleRepo(db))
    await service.follow(-5, "Казахстан нефть", now=NOW)
    await service.follow(-1005, "нефть газ", now=NOW)
    await repo.set_muted(-5, "ТАСС", True)
    chats = ChatRepo(db)
    await chats.update_settings(-5, digest_mode="only", quiet="23:00-08:00", alerts="on")
    await chats.migrate(-5, -1005)
    assert sorted(i.term for i in (await service.follows(-1005)).interests) == [
        "Казахстан",
        "газ",
        "нефть",
    ]
    assert (await service.follows(-5)).interests == ()
    assert await repo.muted(-1005) == frozenset({"ТАСС"})
    moved = await chats.settings(-1005, default=DEFAULTS)
    assert (moved.digest_mode, moved.quiet, moved.alerts) == ("only", "23:00-08:00", "on")
