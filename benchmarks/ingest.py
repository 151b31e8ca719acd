"""Feed intake throughput and search time, each against a baseline in the same run.

ingest  1,000 entries of one RSS feed served on 127.0.0.1, fetched and parsed by
        IntakeService.poll_feed and stored through ArticleRepo.add (lemmas with pymorphy3,
        the FTS5 index, duplicate checks, language detection), into a fresh SQLite file.
        Baseline: the same parsed entries written with a plain INSERT, no lemmas, no index.
search  ArticleRepo.search (lemmas, FTS5, bm25, snippets) over a store of 10,000
        articles. Baseline: `LIKE '%word%'` over title and text for the query's words.

Article texts are made of sentences drawn at random (fixed seed) from the Russian
evaluation corpus in ../shared/eval, so vocabulary and length are those of real
Russian prose; without it, from the seed article.

    python benchmarks/ingest.py            # 1,000 entries; 10,000 articles to search
    python benchmarks/ingest.py --quick    # 200 entries; 2,000 articles
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from razdel import sentenize

from benchmarks._common import DEFAULT_EVAL_DIR, SCI_FILE, SEED, load_sci
from bot.intake import Fetcher, IntakeService
from bot.intake.feeds import parse_feed
from bot.intake.lang import article_language
from bot.models import NewArticle
from bot.nlp.lemmas import lemmatize_text
from storage.articles import ArticleRepo, content_hash
from storage.db import Database, to_db_time
from storage.feeds import FeedRepo
from storage.seeds import read_article_file

NOW = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
QUERIES = (
    "нейронная сеть",
    "алгоритм",
    "распознавания изображений",
    "база данных",
    "моделирование процессов",
    "безопасность информации",
    "системы управления",
    "обучение",
    "оптимизация",
    "программное обеспечение",
    "энергетика",
    "экономическая эффективность",
    "экспериментальные исследования",
    "беспилотный",
    "датчиков",
    "прогнозирование",
    "облачные вычисления",
    "интернет вещей",
    "Казахстан",
    "транспорт",
)


def sentence_pool(eval_dir: Path) -> list[str]:
    if (eval_dir / SCI_FILE).exists():
        texts = [pair.text for pair in load_sci(eval_dir)]
    else:
        texts = [read_article_file(SEED)[0].text]
    return [
        s.text
        for text in texts
        for s in sentenize(text)
        if 60 <= len(s.text) <= 400
        and any("а" <= ch <= "я" for ch in s.text)
        and not s.text.endswith(("...", "…"))
    ]


def make_articles(
    pool: list[str], count: int, seed: int, base: str = "http://127.0.0.1:9/bench"
) -> list[NewArticle]:
    """Whole articles, long enough never to be taken for teasers: intake fetches no page."""
    rng = random.Random(seed)
    articles = []
    for n in range(count):
        sentences = rng.sample(pool, 16)
        paragraphs = [" ".join(sentences[i : i + 4]) for i in range(0, 16, 4)]
        title = sentences[0][:90].rstrip(" ,.;:") + f" ({n})"
        articles.append(
            NewArticle(
                title=title,
                text="\n\n".join(paragraphs),
                source="Бенчмарк",
                url=f"{base}/{seed}/{n}",
                published_at=NOW - timedelta(minutes=n),
            )
        )
    return articles


def rss(articles: list[NewArticle]) -> bytes:
    items = "".join(
        f"<item><title>{escape(a.title)}</title><link>{escape(a.url or '')}</link>"
        f"<guid>{escape(a.url or '')}</guid>"
        f"<pubDate>{format_datetime(a.published_at or NOW)}</pubDate>"
        f"<description>{escape(''.join(f'<p>{p}</p>' for p in a.text.split(chr(10) * 2)))}"
        "</description></item>"
        for a in articles
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Бенчмарк</title><link>https://bench.example/</link>{items}</channel></rss>"
    ).encode()


async def serve(feed: dict[str, bytes]) -> tuple[web.AppRunner, str]:
    """The feed at /rss; every other path is a 404 page on the same loopback server."""

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=feed["rss"], content_type="application/rss+xml", charset="utf-8")

    app = web.Application()
    app.router.add_get("/rss", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}/rss"


async def plain_insert(db: Database, articles: list[NewArticle]) -> None:
    for new in articles:
        async with db.transaction():
            await db.execute(
                "INSERT INTO articles (title, source, url, published_at, added_at, text,"
                " content_hash) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    new.title,
                    new.source,
                    new.url,
                    to_db_time(new.published_at) if new.published_at else None,
                    to_db_time(NOW),
                    new.text,
                    content_hash(new.text),
                ),
            )


@dataclass
class IngestFigures:
    entries: int
    ours_seconds: float
    baseline_seconds: float
    stored: int


async def bench_ingest(folder: Path, pool: list[str], count: int) -> IngestFigures:
    feed_body: dict[str, bytes] = {}
    runner, url = await serve(feed_body)
    articles = make_articles(pool, count, seed=1, base=url.removesuffix("/rss"))
    feed_body["rss"] = rss(articles)
    try:
        # Baseline: the same feed fetched and parsed, then plain INSERTs.
        baseline_db = await Database.open(folder / "baseline.sqlite3")
        try:
            started = time.perf_counter()
            async with Fetcher(allow_private=True) as fetcher:
                response = await fetcher.get(url)
            parsed = await asyncio.to_thread(
                parse_feed, response.body, url=url, headers=response.headers
            )
            plain = [
                NewArticle(e.title, e.text, parsed.title, e.url, e.published_at)
                for e in parsed.entries
            ]
            await plain_insert(baseline_db, plain)
            baseline = time.perf_counter() - started
        finally:
            await baseline_db.close()

        db = await Database.open(folder / "ours.sqlite3")
        try:
            feed, _ = await FeedRepo(db).add(url, now=NOW)
            intake = IntakeService(
                Fetcher(allow_private=True), ArticleRepo(db), FeedRepo(db), max_entries=10**6
            )
            await intake.start()
            try:
                started = time.perf_counter()
                result = await intake.poll_feed(feed, now=NOW)
                ours = time.perf_counter() - started
            finally:
                await intake.close()
            stored = await ArticleRepo(db).count()
        finally:
            await db.close()
        assert result.status == "updated", result.error
        # Every entry was whole: no teaser page was fetched, from anywhere.
        assert not result.entry_errors, result.entry_errors
        return IngestFigures(len(articles), ours, baseline, stored)
    finally:
        await runner.cleanup()


@dataclass
class SearchFigures:
    articles: int
    build_seconds: float
    ours_ms: list[float]
    baseline_ms: list[float]
    ours_found: int
    baseline_found: int


async def bench_search(folder: Path, articles: list[NewArticle]) -> SearchFigures:
    db = await Database.open(folder / "search.sqlite3")
    try:
        repo = ArticleRepo(db)
        started = time.perf_counter()
        for new in articles:
            await repo.add(new, now=NOW)
        build = time.perf_counter() - started
        await repo.search("прогрев кэша лемм")
        ours_ms: list[float] = []
        baseline_ms: list[float] = []
        ours_found = baseline_found = 0
        for query in QUERIES:
            started = time.perf_counter()
            hits = await repo.search(query, limit=5)
            ours_ms.append((time.perf_counter() - started) * 1000)
            ours_found += bool(hits)

            words = query.split()
            where = " AND ".join("(title LIKE ? OR text LIKE ?)" for _ in words)
            params: list[object] = [p for w in words for p in (f"%{w}%", f"%{w}%")]
            started = time.perf_counter()
            rows = await db.fetchall(
                f"SELECT id, title, text FROM articles WHERE {where} ORDER BY id DESC LIMIT 5",
                params,
            )
            baseline_ms.append((time.perf_counter() - started) * 1000)
            baseline_found += bool(rows)
        return SearchFigures(len(articles), build, ours_ms, baseline_ms, ours_found, baseline_found)
    finally:
        await db.close()


def report(ingest: IngestFigures, search: SearchFigures) -> None:
    ours_rate = ingest.stored / ingest.ours_seconds
    base_rate = ingest.entries / ingest.baseline_seconds
    print(f"ingest: {ingest.entries} feed entries from 127.0.0.1, {ingest.stored} stored")
    print(
        f"  IntakeService.poll_feed + ArticleRepo.add  {ours_rate:8.1f} articles/s"
        f"  ({ingest.ours_seconds:.2f} s)"
    )
    print(
        f"  baseline: parse + plain INSERT            {base_rate:8.1f} articles/s"
        f"  ({ingest.baseline_seconds:.2f} s)"
    )
    print(
        f"  ratio ours/baseline: {ours_rate / base_rate:.3f}"
        f" (indexing costs {base_rate / ours_rate:.1f}x)"
    )
    print()
    print(
        f"search: {len(QUERIES)} queries over {search.articles} articles"
        f" (store built at {search.articles / search.build_seconds:.1f} articles/s)"
    )
    for name, times, found in (
        ("ArticleRepo.search (FTS5 over lemmas)", search.ours_ms, search.ours_found),
        ("baseline: LIKE '%word%'", search.baseline_ms, search.baseline_found),
    ):
        print(
            f"  {name:38s} median {statistics.median(times):7.2f} ms"
            f"  max {max(times):7.2f} ms  queries with hits {found}/{len(QUERIES)}"
        )
    ratio = statistics.median(search.baseline_ms) / statistics.median(search.ours_ms)
    print(f"  ratio baseline/ours (median): {ratio:.2f}x")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="200 entries, 2,000 articles")
    p.add_argument("--entries", type=int, default=None)
    p.add_argument("--store", type=int, default=None)
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = p.parse_args()
    entries = args.entries or (200 if args.quick else 1000)
    store = args.store or (2000 if args.quick else 10_000)
    logging.basicConfig(level=logging.WARNING)

    pool = sentence_pool(args.eval_dir)
    # One-time loads (pymorphy3 dictionaries, the language model) are start-up costs, not
    # per-article ones; the word-lemma cache stays cold.
    article_language("Прогрев", "Прогрев моделей.")
    lemmatize_text("прогрев")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ingest = await bench_ingest(folder, pool, entries)
        search = await bench_search(folder, make_articles(pool, store, seed=2))
    report(ingest, search)


if __name__ == "__main__":
    asyncio.run(main())
