"""The digest round at scale: equal digests built once, story texts told once per round,
and the sender's share of the bot's limit when several processes send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import render, stories
from bot import texts as bot_texts
from bot.config import Settings
from bot.delivery import Deliverer, Limits
from bot.digest import DigestService, Shared, digest_key
from bot.models import ChatSettings, NewArticle
from bot.parsing import SettingChange
from bot.subscriptions import sender_limits
from tests.botapi import FakeTelegram, busiest_second, make_bot
from tests.test_scheduler import TOKEN, Env, FakeClock, utc

ROUND = utc(2026, 6, 17, 6, 0)  # 09:00 in Moscow
EVENTS = (
    (
        "Совет директоров одобрил сделку",
        "Совет директоров компании одобрил крупную сделку по покупке завода в Тульской "
        "области. Сделка будет закрыта до конца текущего года после одобрения регулятора. "
        "Акционеры компании получат дополнительные дивиденды по итогам года.",
    ),
    (
        "Землетрясение произошло у побережья Камчатки",
        "Землетрясение магнитудой 6,1 произошло у восточного побережья Камчатки в "
        "понедельник утром. Угрозы цунами для населённых пунктов полуострова нет, сообщили "
        "сейсмологи. Жители Петропавловска-Камчатского сообщают о слабых толчках.",
    ),
)


def settings_for(tmp_path: Path, **fields: object) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_path=tmp_path / "db.sqlite3",
        seeds_dir=tmp_path / "no-seeds",
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with FakeTelegram(token=TOKEN) as tg:
        state = await Env.start(tg, settings_for(tmp_path), FakeClock(utc(2026, 6, 16, 12, 0)))
        try:
            yield state
        finally:
            await state.close()


class Counted:
    """Wraps a function and counts its calls (thread-safe enough for to_thread)."""

    def __init__(self, function: object) -> None:
        self.function = function
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        return self.function(*args, **kwargs)  # type: ignore[operator]


async def two_stories(env: Env) -> None:
    for n, (title, text) in enumerate(EVENTS):
        for outlet in ("ТАСС", "РИА Новости"):
            await env.app.services.articles.add(
                NewArticle(f"{title} - {outlet}", f"{text} Передаёт {outlet}.", source=outlet),
                now=utc(2026, 6, 16, 20, n),
            )


async def test_chats_with_the_same_window_and_settings_share_one_digest(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    told = Counted(stories._text)
    rendered = Counted(render.digest_replies)
    select = DigestService._select
    selected: list[int] = []

    async def counted_select(self: DigestService, window: Any, *args: Any, **kwargs: Any) -> Any:
        selected.append(window.chat_id)
        return await select(self, window, *args, **kwargs)

    monkeypatch.setattr(stories, "_text", told)
    monkeypatch.setattr(render, "digest_replies", rendered)
    monkeypatch.setattr(DigestService, "_select", counted_select)
    await two_stories(env)
    alike, brief, english = [3001, 3002, 3003, 3004, 3005], [3006, 3007], [3008]
    for chat in [*alike, *brief, *english]:
        await env.subscribe(chat, "09:00 Europe/Moscow")
    for chat in brief:
        await env.app.services.chats.change(chat, SettingChange("sentences", 1))
    for chat in english:
        await env.app.services.chats.change(chat, SettingChange("language", "en"))

    assert await env.scheduler.run_due(ROUND) == 8
    texts = {chat: [c.text for c in env.tg.sent(chat)] for chat in [*alike, *brief, *english]}
    assert all(len(sent) == 1 for sent in texts.values())
    # Five chats, one digest; one sentence a story is another; English is a third.
    assert len({tuple(texts[chat]) for chat in alike}) == 1
    assert texts[brief[0]] == texts[brief[1]] != texts[alike[0]]
    assert texts[english[0]] != texts[alike[0]]
    assert "Digest" in (texts[english[0]][0] or "")
    # Chosen and rendered once per distinct digest, each story told once per sentence count.
    assert len(selected) == 3
    assert rendered.calls == 3
    assert told.calls == 2 * 2
    # Every chat's numbered buttons still lead to its stories.
    for chat in [*alike, *brief]:
        story = await env.app.services.stories.numbered(chat, 1, None)
        assert story is not None


async def test_a_chat_already_shown_a_story_gets_a_digest_of_its_own(env: Env) -> None:
    await two_stories(env)
    for chat in (3101, 3102):
        await env.subscribe(chat, "09:00 Europe/Moscow")
    # One chat asked for /digest earlier: it was shown both stories then.
    early, _ = await env.scheduler.digest_now(3101, now=ROUND - timedelta(minutes=30))
    await env.scheduler.shown(early, now=ROUND - timedelta(minutes=30))
    before = len(env.tg.sent(3101))
    assert await env.scheduler.run_due(ROUND) == 2
    [shown] = [c.text or "" for c in env.tg.sent(3101)[before:]]
    [fresh] = [c.text or "" for c in env.tg.sent(3102)]
    # Nothing grew since it was shown both: its digest says so; the other's tells both.
    assert bot_texts.DIGEST_EMPTY in shown
    assert all(title in fresh for title, _ in EVENTS)


async def test_shared_computes_once_for_chats_that_ask_at_the_same_time() -> None:
    shared = Shared()
    calls = 0

    async def make() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    results = await asyncio.gather(*(shared.once("key", make) for _ in range(50)))
    assert results == [42] * 50
    assert calls == 1


async def test_shared_keeps_no_failure_and_stays_bounded() -> None:
    shared = Shared(limit=3)
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("store went away")
        return "ok"

    with pytest.raises(RuntimeError):
        await shared.once("story", flaky)
    assert await shared.once("story", flaky) == "ok"
    for n in range(10):

        async def value(n: int = n) -> int:
            return n

        await shared.once(n, value)
    assert len(shared) == 3


def test_every_setting_a_digest_depends_on_is_in_its_key(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    chat = ChatSettings(1, "lexrank", 3, "Europe/Moscow", "")
    now = datetime(2026, 6, 17, 6, 0, tzinfo=UTC)
    window = {"since": now - timedelta(days=1), "now": now, "period": "2026-06-17"}
    base = digest_key(chat, settings, timezone="Europe/Moscow", **window)  # type: ignore[arg-type]
    # Another chat with the same settings: the same key, whatever its id.
    assert (
        digest_key(replace(chat, chat_id=2), settings, timezone="Europe/Moscow", **window) == base
    )  # type: ignore[arg-type]
    variants = [
        digest_key(replace(chat, sentences=1), settings, timezone="Europe/Moscow", **window),  # type: ignore[arg-type]
        digest_key(replace(chat, language="en"), settings, timezone="Europe/Moscow", **window),  # type: ignore[arg-type]
        digest_key(replace(chat, algorithm="lsa"), settings, timezone="Europe/Moscow", **window),  # type: ignore[arg-type]
        digest_key(chat, settings, timezone="Asia/Almaty", **window),  # type: ignore[arg-type]
        digest_key(
            chat,
            settings.model_copy(update={"digest_stories": 3}),
            timezone="Europe/Moscow",
            **window,
        ),  # type: ignore[arg-type]
        digest_key(
            chat,
            settings.model_copy(update={"link_previews": True}),
            timezone="Europe/Moscow",
            **window,
        ),  # type: ignore[arg-type]
        digest_key(
            chat,
            settings,
            timezone="Europe/Moscow",
            **{**window, "since": now - timedelta(hours=2)},
        ),  # type: ignore[arg-type]
    ]
    assert all(key != base for key in variants)
    assert len(set(variants)) == len(variants)
    # Sentences above the digest's two tell the same digest.
    assert (
        digest_key(replace(chat, sentences=5), settings, timezone="Europe/Moscow", **window) == base
    )  # type: ignore[arg-type]


def test_sender_share_cuts_the_overall_limit_only(tmp_path: Path) -> None:
    half = settings_for(tmp_path, sender_share=0.5)
    assert sender_limits(half) == Limits(global_per_sec=15)
    paid = settings_for(tmp_path, sender_share=0.25, paid_broadcast=True)
    assert sender_limits(paid).global_per_sec == 250
    assert sender_limits(settings_for(tmp_path)) == Limits()


async def test_two_senders_with_half_shares_stay_within_the_bots_limit(tmp_path: Path) -> None:
    """Two processes sending at once, each at its share: Telegram, counting the bot,
    sees no second over its limit, and every message arrives once."""
    limit = 20
    chats = 30  # per sender: 1.5 s of the whole limit each, 3 s together
    base = Limits(global_per_sec=limit, per_chat_per_sec=100, per_group_per_min=10_000)
    share = sender_limits(settings_for(tmp_path, sender_share=0.5), base)
    async with FakeTelegram(token=TOKEN) as tg:
        tg.enforce_limits(global_per_sec=limit, per_chat_per_sec=100, per_group_per_min=10_000)
        bots = [make_bot(tg), make_bot(tg)]
        try:
            senders = [Deliverer(bot, limits=share, max_retries=0) for bot in bots]

            async def run(sender: Deliverer, first: int) -> int:
                sent = await asyncio.gather(
                    *(sender.send(first + n, f"сообщение {n}") for n in range(chats))
                )
                return sum(1 for m in sent if m is not None)

            delivered = await asyncio.gather(run(senders[0], 5000), run(senders[1], 6000))
        finally:
            for bot in bots:
                await bot.session.close()
        assert delivered == [chats, chats]
        assert tg.violations == []
        assert len(tg.sent()) == 2 * chats
        # Together they used the bot's limit: half each would not be reached by one.
        assert busiest_second(sorted(c.time for c in tg.sent())) > limit / 2
