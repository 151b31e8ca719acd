"""ArticleService over a real SQLite file, built by the composition root."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

import bot.articles
from bot.config import Settings
from bot.models import NewArticle
from bot.root import Services, open_services

TEXT = (
    "Правительство утвердило новый план развития транспорта. "
    "Он предусматривает строительство дорог в регионах. "
    "Финансирование начнётся в следующем году. "
    "Эксперты считают план реалистичным."
)


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_path=tmp_path / "db.sqlite3", seeds_dir=tmp_path / "none"
    )
    opened = await open_services(settings)
    try:
        yield opened
    finally:
        await opened.close()


async def test_many_chats_asking_for_one_new_summary_compute_it_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed: list[int] = []
    real = bot.articles._summarize

    def slow_summarize(text: str, *, algorithm: str, sentences: int) -> tuple[str, ...]:
        computed.append(sentences)
        time.sleep(0.05)  # long enough for every caller to arrive while it runs
        return real(text, algorithm=algorithm, sentences=sentences)

    monkeypatch.setattr(bot.articles, "_summarize", slow_summarize)
    article, _ = await services.articles.add(NewArticle("План", TEXT), now=services.clock())
    computed.clear()  # the warm-up's default summary

    results = await asyncio.gather(
        *(services.articles.summary(article, algorithm="luhn", sentences=2) for _ in range(20))
    )

    assert computed == [2]
    assert len({result.sentences for result in results}) == 1
    assert len(results[0].sentences) == 2
    # Later calls are served from memory and the cache, not computed again.
    await services.articles.summary(article, algorithm="luhn", sentences=2)
    assert computed == [2]


async def test_a_failed_summary_is_not_kept(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    article, _ = await services.articles.add(NewArticle("План", TEXT), now=services.clock())

    def broken(text: str, *, algorithm: str, sentences: int) -> tuple[str, ...]:
        raise RuntimeError("sumy failed")

    monkeypatch.setattr(bot.articles, "_summarize", broken)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            await services.articles.summary(article, algorithm="lsa", sentences=4)
    monkeypatch.undo()
    result = await services.articles.summary(article, algorithm="lsa", sentences=4)
    assert len(result.sentences) == 4
