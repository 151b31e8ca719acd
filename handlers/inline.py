"""Inline mode: `@bot words` in any chat offers matching articles to share, and an
empty query today's top stories. Needs inline mode switched on with @BotFather's
/setinline (README)."""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import InlineQuery, InlineQueryResultArticle, InlineQueryResultsButton

from bot import render, texts
from bot.answers import Answers
from bot.articles import ArticleService
from bot.clock import Clock
from bot.inline import InlineService

# Seconds Telegram keeps an answer for the same query: short, since news moves.
CACHE_SECONDS = 30
# /start's payload from the button shown when nothing matched: the welcome.
NOTHING_FOUND_START = "inline"


async def inline_query(
    query: InlineQuery,
    bot: Bot,
    inline: InlineService,
    articles: ArticleService,
    clock: Clock,
    answers: Answers,
) -> None:
    page = await inline.page(query.query, query.offset, now=clock())
    # Dates as the user's own chat with the bot shows them.
    zone = await articles.timezone(query.from_user.id)
    username = (await bot.me()).username
    results: list[InlineQueryResultArticle] = [
        render.inline_article(article, summary, zone, username)
        for article, summary in page.articles
    ]
    results += [render.inline_story(story, zone, username) for story in page.stories]
    nothing = not results and not query.offset
    await answers.offer_results(
        query.id,
        results,
        cache_time=CACHE_SECONDS,
        # The results speak the asking user's language, so Telegram must not hand one
        # user's answer to another.
        is_personal=True,
        next_offset=page.next_offset,
        button=InlineQueryResultsButton(
            text=texts.INLINE_NOTHING, start_parameter=NOTHING_FOUND_START
        )
        if nothing
        else None,
    )


def build() -> Router:
    router = Router(name=__name__)
    router.inline_query.register(inline_query)
    return router
