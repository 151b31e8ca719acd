"""Inline mode end to end through the Bot API test server: `@svodka_bot words` offers
the matching articles, an empty query today's top stories, page by page, each result's
message valid HTML within Telegram's limit, whatever was typed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot import texts
from bot.clock import utc_now
from bot.models import NewArticle
from tests.botapi import MESSAGE_LIMIT, parse_html, utf16_len
from tests.conftest import RunningBot


async def ask(running: RunningBot, query: str, **kw: Any) -> dict[str, Any]:
    """Types `@svodka_bot query` and returns the bot's answer, which the test server
    took (so it passed its checks: at most 50 results, unique short ids, valid HTML)."""
    query_id = running.tg.inline_query(query, **kw)
    await running.tg.wait_for(
        "answerInlineQuery",
        lambda c: c.params.get("inline_query_id") == query_id,
        # The first summary waits for the summarizer's import, seconds on a busy machine.
        timeout=20,
    )
    return running.tg.inline_answers[query_id]


def message_of(result: dict[str, Any]) -> str:
    """The text a chat sees when the result is chosen (the entities parsed away)."""
    content = result["input_message_content"]
    assert content["parse_mode"] == "HTML"
    text, _ = parse_html(content["message_text"])
    assert 0 < utf16_len(text) <= MESSAGE_LIMIT
    return text


async def add(running: RunningBot, title: str, text: str, source: str, n: int) -> int:
    article, _ = await running.app.services.articles.add(
        NewArticle(title, text, source, url=f"https://example.ru/{source}/{n}", lang="ru"),
        now=utc_now(),
    )
    return article.id


async def test_words_offer_the_matching_articles_with_header_summary_and_link(
    running: RunningBot,
) -> None:
    answer = await ask(running, "Казахстан Китай")
    [result] = answer["results"]
    assert result["type"] == "article" and result["id"] == "article_1"
    assert "Китай" in result["title"]
    assert result["description"] and len(result["description"]) <= 150
    shown = message_of(result)
    assert shown.startswith(result["title"])
    assert f"№{texts.NBSP}1" in shown
    assert "Источник:" in shown
    # The first sentence of the summary is under the title and in the message.
    assert result["description"].rstrip("…") in shown
    # The button opens the same article in the bot: t.me/<bot>?start=article_1.
    [[button]] = result["reply_markup"]["inline_keyboard"]
    assert button["url"] == "https://t.me/svodka_bot?start=article_1"
    assert answer["is_personal"] is True
    assert 0 < answer["cache_time"] <= 300
    assert answer.get("next_offset", "") == ""


async def test_an_empty_query_offers_todays_top_stories(running: RunningBot) -> None:
    for n, source in enumerate(("ТАСС", "РИА Новости", "Интерфакс")):
        await add(
            running,
            "Байкальский заповедник открыл новую экотропу",
            "Байкальский заповедник открыл новую экологическую тропу длиной восемь "
            f"километров. Маршрут проходит вдоль берега озера. Сообщение {source}.",
            source,
            n,
        )
    now = utc_now()
    ranked = await running.app.services.stories.ranked(now - timedelta(hours=24), now=now)
    answer = await ask(running, "   ")
    ids = [result["id"] for result in answer["results"]]
    assert ids == [f"story_{story_id}" for story_id, _ in ranked]
    top = answer["results"][0]
    assert "экотроп" in top["title"]
    shown = message_of(top)
    assert "Источники:" in shown and "ТАСС" in shown and "Интерфакс" in shown
    links = [
        e["url"]
        for e in parse_html(top["input_message_content"]["message_text"])[1]
        if e["type"] == "text_link"
    ]
    assert "https://example.ru/ТАСС/0" in links
    story_id = ranked[0][0]
    [[button]] = top["reply_markup"]["inline_keyboard"]
    assert button["url"] == f"https://t.me/svodka_bot?start=story_{story_id}"


async def test_results_come_page_by_page(running: RunningBot) -> None:
    added = {
        await add(
            running,
            f"Ледокол «Арктика-{n}» вышел в рейс",
            f"Атомный ледокол номер {n} вышел в рейс по Северному морскому пути. "
            "Экипаж проверил реакторы перед выходом.",
            "Мурманский вестник",
            n,
        )
        for n in range(23)
    }
    seen: list[str] = []
    offsets = []
    offset = ""
    while True:
        answer = await ask(running, "ледокол", offset=offset)
        assert len(answer["results"]) <= 10
        seen += [result["id"] for result in answer["results"]]
        offset = answer.get("next_offset", "")
        offsets.append(offset)
        if not offset:
            break
    assert offsets == ["10", "20", ""]
    assert len(seen) == len(set(seen)) == 23
    assert {int(i.removeprefix("article_")) for i in seen} == added


async def test_any_input_is_answered_and_nothing_found_offers_the_bot(
    running: RunningBot,
) -> None:
    for query in ('" OR 1=1 -- <b>&amp;', "*", "NEAR(", "щ" * 256, "\u0000\u200b", "№№№"):
        answer = await ask(running, query)
        assert answer["results"] == []
        assert answer["button"]["start_parameter"] == "inline"
        assert answer["button"]["text"] == texts.INLINE_NOTHING
    # An offset the bot never gave starts from the top.
    answer = await ask(running, "Казахстан", offset="-5; DROP")
    assert [r["id"] for r in answer["results"]] == ["article_1"]


async def test_inline_results_speak_the_users_language(running: RunningBot) -> None:
    answer = await ask(running, "Казахстан", language_code="en")
    [result] = answer["results"]
    shown = message_of(result)
    assert "Source:" in shown and "June" in shown
    # The article itself stays in Russian.
    assert "Китай" in shown
