"""A real multi-outlet evening through the whole path: a few hundred articles of the
silver day (../shared/eval/stories/) stored, then /digest, its numbered buttons, replies
by number and an update, through the Bot API test server."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot import texts
from bot.config import Settings
from bot.render import StoryAction
from bot.root import open_services
from storage.seeds import read_jsonl_with_ids
from storage.stories import StoryRepo
from tests.botapi import Call, FakeTelegram
from tests.conftest import DEFAULT_USER_ID, RunningBot

SILVER = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "eval"
    / "stories"
    / "silver_tgcontest_ru_20200502_03_articles.jsonl"
)
pytestmark = pytest.mark.skipif(
    not SILVER.is_file(), reason=f"the silver day is not at {SILVER} (../shared/eval absent)"
)
# The evening of 3 May 2020: every thread of two articles or more, and one in three of
# the rest.
SINCE = "2020-05-03 18:00"


def evening() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The evening's articles in time order, and one held back: an article of the
    biggest thread from an outlet that thread has not had yet."""
    rows = [json.loads(line) for line in SILVER.read_text(encoding="utf-8").splitlines()]
    late = sorted((r for r in rows if r["date"] >= SINCE), key=lambda r: r["date"])
    sizes = Counter(r["cluster"] for r in late)
    chosen = [r for n, r in enumerate(late) if sizes[r["cluster"]] >= 2 or n % 3 == 0]
    biggest = sizes.most_common(1)[0][0]
    thread = [r for r in chosen if r["cluster"] == biggest]
    # One whose title another outlet of the thread also used: the same report, which no
    # reader would call another story.
    titles = Counter(r["title"] for r in thread)
    held = next(
        r
        for r in reversed(thread)
        if sum(o["source"] == r["source"] for o in thread) == 1
        and titles[r["title"]] > 1
        and r is not thread[0]
    )
    return [r for r in chosen if r is not held], held


async def store(settings: Settings, rows: list[dict[str, Any]], tmp: Path) -> None:
    path = tmp / "evening.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    services = await open_services(settings)
    try:
        for _, new in read_jsonl_with_ids(path):
            await services.articles.store(new, now=services.clock())
    finally:
        await services.close()


def buttons(call: Call) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


def rows_of(call: Call) -> int:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return len((markup or {}).get("inline_keyboard", []))


async def digest(running: RunningBot) -> list[Call]:
    before = len(running.tg.sent(DEFAULT_USER_ID))
    await running.say("/digest")
    # A second message, if there is one, follows the first at once.
    await asyncio.sleep(0.3)
    return running.tg.sent(DEFAULT_USER_ID)[before:]


async def cluster_of_story(settings: Settings, story_id: int, by_url: dict[str, str]) -> str:
    services = await open_services(settings)
    try:
        members = await StoryRepo(services.db).members_of(story_id)
        articles = await services.articles.get(members[0].article_id)
    finally:
        await services.close()
    assert articles is not None and articles.url is not None
    return by_url[articles.url]


async def test_digest_of_a_real_evening(
    bot_settings: Settings, tg: FakeTelegram, tmp_path: Path
) -> None:
    rows, held = evening()
    by_url = {r["url"]: r["cluster"] for r in [*rows, held]}
    await store(bot_settings, rows, tmp_path)
    running = await RunningBot(bot_settings, tg).start()
    try:
        sent = await digest(running)
        assert 1 <= len(sent) <= 2
        story_ids = [StoryAction.unpack(b["callback_data"]).id for c in sent for b in buttons(c)]
        assert len(story_ids) == bot_settings.digest_stories
        assert all(rows_of(c) == 1 for c in sent)
        # No story twice: not by our ids, nor by the silver threads they are made of.
        assert len(set(story_ids)) == len(story_ids)
        clusters = [await cluster_of_story(bot_settings, s, by_url) for s in story_ids]
        assert len(set(clusters)) == len(clusters)
        # The biggest story first: the evening's biggest thread opens the digest.
        sizes = Counter(r["cluster"] for r in rows)
        assert clusters[0] == sizes.most_common(1)[0][0]
        text = "\n".join(str(c.result["text"]) for c in sent)
        assert "и ещё" in text and "/stories" in text
        assert text.index("1. ") < text.index("2. ")

        # Button 2 opens story 2: its sources, with links.
        running.tg.callback(buttons(sent[0])[1]["callback_data"], message=sent[0])
        calls = await running.tg.wait_for(
            "sendMessage", lambda c: c.chat_id == DEFAULT_USER_ID, count=len(tg.sent()) + 1
        )
        opened = calls[-1]
        assert texts.STORY_SOURCES in str(opened.result["text"])
        second = await cluster_of_story(bot_settings, story_ids[1], by_url)
        assert second == clusters[1]

        # "/points 2" in reply to the digest is about story 2's main article.
        [points] = await running.say("/points 2", reply_to_message=sent[0])
        found = re.search(r"№\u00a0(\d+) ·", str(points.result["text"]))
        assert found is not None
        services_story = await _story_of_article(bot_settings, int(found.group(1)))
        assert services_story == story_ids[1]
        # /story 3 without a reply: story 3 of the chat's latest numbered message.
        [third] = await running.say("/story 3")
        assert texts.STORY_SOURCES in str(third.result["text"])
    finally:
        await running.stop()

    # A new outlet joins the biggest story: the next digest brings it again, as an
    # update, and nothing it showed unchanged.
    await store(bot_settings, [held], tmp_path)
    services = await open_services(bot_settings)
    try:
        row = await services.db.fetchone(
            "SELECT story_id FROM articles WHERE url = ?", (held["url"],)
        )
    finally:
        await services.close()
    assert row is not None and row[0] == story_ids[0]
    running = await RunningBot(bot_settings, tg).start()
    try:
        again = await digest(running)
        again_ids = [StoryAction.unpack(b["callback_data"]).id for c in again for b in buttons(c)]
        assert story_ids[0] in again_ids
        assert not set(again_ids) & set(story_ids[1:])
        text = str(again[0].result["text"])
        assert texts.DIGEST_UPDATE in text.split("\n\n")[1 + again_ids.index(story_ids[0])]
    finally:
        await running.stop()


async def _story_of_article(settings: Settings, article_id: int) -> int | None:
    services = await open_services(settings)
    try:
        return await StoryRepo(services.db).story_of(article_id)
    finally:
        await services.close()
