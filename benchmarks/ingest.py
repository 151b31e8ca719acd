"""Ingest throughput and search time, each against a baseline in the same run.

corpus  The two-day news corpus (../shared/eval/stories, 4,608 articles of 466 outlets)
        stored through the real path, ArticleService.add_many (what `python -m bot
        ingest` runs: language, lemmas and index, story assignment, in batches), against
        the repository's own ArticleRepo.add one article at a time, each into a fresh
        store, on SQLite and on PostgreSQL. Also, on the first articles only, the
        one-by-one ArticleService.add (language, summary and points computed, story).
        Several runs, the two sides' order alternating; a first untimed pass through the
        real path fills the word caches (pymorphy3's lemmas for the index, the stories'
        tokens), so every run of either side sees them warm. Median and range. A cold
        start is what `python -m bot ingest` of the whole file measures (docs/benchmarks.md).

ingest  1,000 entries of one RSS feed served on 127.0.0.1, fetched and parsed by
        IntakeService.poll_feed and stored through ArticleRepo.add (lemmas with pymorphy3,
        the FTS5 index, duplicate checks, language detection), into a fresh SQLite file.
        Baseline: the same parsed entries written with a plain INSERT, no lemmas, no index.
search  ArticleRepo.search (lemmas, FTS5, bm25, snippets) over a store of 10,000
        articles. Baseline: `LIKE '%word%'` over title and text for the query's words.

Every figure is the median of the runs, with the lowest and highest (`Spread`).

Article texts are made of sentences drawn at random (fixed seed) from the Russian
evaluation corpus in ../shared/eval, so vocabulary and length are those of real
Russian prose; without it, from the seed article.

    python benchmarks/ingest.py            # all three, 3 runs each; the whole corpus
    python benchmarks/ingest.py --quick    # 2 runs: 200 entries; 2,000 articles; 600 of the corpus
    python benchmarks/ingest.py --corpus [--quick] [--runs N] [--postgres URL|none]
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

from benchmarks._common import DEFAULT_EVAL_DIR, SCI_FILE, SEED, Spread, load_sci
from bot.articles import ArticleService
from bot.chats import ChatService
from bot.config import Settings
from bot.intake import Fetcher, IntakeService
from bot.intake.feeds import parse_feed
from bot.intake.lang import article_language
from bot.models import NewArticle
from bot.nlp.lemmas import lemmatize_text
from bot.stories import StoryService
from storage.articles import ArticleRepo, content_hash
from storage.cache import SummaryCache
from storage.chats import ChatRepo
from storage.db import Database, to_db_time
from storage.feeds import FeedRepo
from storage.seeds import read_article_file, read_path
from storage.stories import StoryRepo

CORPUS = Path("stories") / "silver_tgcontest_ru_20200502_03_articles.jsonl"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

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


async def bench_search(
    folder: Path, articles: list[NewArticle], *, runs: int
) -> list[SearchFigures]:
    """The store is built once (its build rate is one run's); the queries run `runs` times."""
    db = await Database.open(folder / "search.sqlite3")
    try:
        repo = ArticleRepo(db)
        started = time.perf_counter()
        for new in articles:
            await repo.add(new, now=NOW)
        build = time.perf_counter() - started
        await repo.search("прогрев кэша лемм")
        return [await _search_run(db, repo, len(articles), build) for _ in range(runs)]
    finally:
        await db.close()


async def _search_run(db: Database, repo: ArticleRepo, count: int, build: float) -> SearchFigures:
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
    return SearchFigures(count, build, ours_ms, baseline_ms, ours_found, baseline_found)


def report(ingests: list[IngestFigures], searches: list[SearchFigures]) -> None:
    """Median and range over the runs; a search run is all queries once."""
    first = ingests[0]
    ours = Spread.of([f.stored / f.ours_seconds for f in ingests])
    base = Spread.of([f.entries / f.baseline_seconds for f in ingests])
    ratio = Spread.of(
        [(f.stored / f.ours_seconds) / (f.entries / f.baseline_seconds) for f in ingests]
    )
    print(f"ingest: {first.entries} feed entries from 127.0.0.1, {first.stored} stored")
    print(f"  IntakeService.poll_feed + ArticleRepo.add  {ours.format('.1f')} articles/s")
    print(f"  baseline: parse + plain INSERT            {base.format('.1f')} articles/s")
    print(f"  ratio ours/baseline: {ratio.format('.3f')}")
    print()
    search = searches[0]
    print(
        f"search: {len(QUERIES)} queries over {search.articles} articles"
        f" (store built at {search.articles / search.build_seconds:.1f} articles/s),"
        f" median of the queries per run"
    )
    for name, times, found in (
        ("ArticleRepo.search (FTS5 over lemmas)", "ours_ms", search.ours_found),
        ("baseline: LIKE '%word%'", "baseline_ms", search.baseline_found),
    ):
        medians = Spread.of([statistics.median(getattr(s, times)) for s in searches])
        slowest = Spread.of([max(getattr(s, times)) for s in searches])
        print(
            f"  {name:38s} median {medians.format('.2f')} ms, slowest query"
            f" {slowest.format('.2f')} ms; queries with hits {found}/{len(QUERIES)}"
        )
    speed = Spread.of(
        [statistics.median(s.baseline_ms) / statistics.median(s.ours_ms) for s in searches]
    )
    print(f"  ratio baseline/ours (median query): {speed.format('.2f')}x")


class Stores:
    """A fresh, empty store for each measured pass: a SQLite file in a temporary
    folder, or a new PostgreSQL database, dropped after."""

    def __init__(self, backend: str, folder: Path, admin_url: str) -> None:
        self.backend = backend
        self._folder = folder
        self._admin = admin_url
        self._made: list[str] = []

    async def _admin_sql(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def new(self) -> Database:
        name = f"svodka_bench_{len(self._made)}_{time.monotonic_ns()}"
        self._made.append(name)
        if self.backend == "sqlite":
            return await Database.open(self._folder / f"{name}.sqlite3")
        await self._admin_sql(f'CREATE DATABASE "{name}"')
        base = self._admin.rsplit("/", 1)[0]
        return await Database.open(f"{base}/{name}")

    async def drop_all(self) -> None:
        if self.backend == "postgres":
            for name in self._made:
                await self._admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._made.clear()


def real_path(db: Database) -> ArticleService:
    """The article service as bot.root builds it: stories on, the default settings."""
    settings = Settings(_env_file=None)
    repo = ArticleRepo(db)
    stories = StoryService(StoryRepo(db), repo, shared=db.shared)
    return ArticleService(
        repo, SummaryCache(db), ChatService(ChatRepo(db), settings), settings, stories=stories
    )


async def repo_add(db: Database, articles: list[NewArticle]) -> int:
    repo = ArticleRepo(db)
    return sum([(await repo.add(new, now=NOW))[1] for new in articles])


async def batched_add(db: Database, articles: list[NewArticle]) -> int:
    service = real_path(db)
    assert service.stories is not None
    await service.stories.start()
    return sum(created for _, created in await service.add_many(articles, now=NOW))


async def single_add(db: Database, articles: list[NewArticle]) -> int:
    service = real_path(db)
    assert service.stories is not None
    await service.stories.start()
    return sum([(await service.add(new, now=NOW))[1] for new in articles])


async def timed(stores: Stores, run: object, articles: list[NewArticle]) -> float:
    """Articles a second of one pass into a fresh store (opening it not timed)."""
    db = await stores.new()
    try:
        started = time.perf_counter()
        stored = await run(db, articles)  # type: ignore[operator]
        seconds = time.perf_counter() - started
        assert stored > 0.9 * len(articles), (stored, len(articles))
        if run is batched_add:
            # The real path grouped them: every stored article has its story.
            row = await db.fetchone("SELECT count(*) FROM articles WHERE story_id IS NULL")
            assert row is not None and row[0] == 0
        return len(articles) / seconds
    finally:
        await db.close()


@dataclass
class CorpusFigures:
    backend: str
    articles: int
    repo: Spread
    batched: Spread
    ratio: Spread
    single_articles: int
    single: float


async def bench_corpus(
    backend: str, folder: Path, articles: list[NewArticle], *, runs: int, single: int, admin: str
) -> CorpusFigures:
    stores = Stores(backend, folder, admin)
    try:
        # Untimed: fills the word caches with the corpus's words. The real path looks up
        # every word the repository's add does, and the stories' tokens besides.
        await timed(stores, batched_add, articles)
        await stores.drop_all()
        repo_rates: list[float] = []
        batched_rates: list[float] = []
        for n in range(runs):
            sides = [(repo_add, repo_rates), (batched_add, batched_rates)]
            for run, rates in sides if n % 2 == 0 else sides[::-1]:
                rates.append(await timed(stores, run, articles))
            await stores.drop_all()
        single_rate = await timed(stores, single_add, articles[:single])
    finally:
        await stores.drop_all()
    ratios = [b / r for b, r in zip(batched_rates, repo_rates, strict=True)]
    return CorpusFigures(
        backend,
        len(articles),
        Spread.of(repo_rates),
        Spread.of(batched_rates),
        Spread.of(ratios),
        single,
        single_rate,
    )


def report_corpus(figures: list[CorpusFigures], runs: int) -> None:
    if not figures:
        return
    print(
        f"corpus: {figures[0].articles} articles of the two-day news corpus,"
        f" {runs} runs each side, median (min–max)"
    )
    print(
        "| store | ArticleRepo.add, articles/s | real path (add_many), articles/s"
        " | ratio real/repo | one-by-one ArticleService.add, articles/s |"
    )
    print("|---|---|---|---|---|")
    for f in figures:
        print(
            f"| {f.backend} | {f.repo.format(',.0f')} | {f.batched.format(',.0f')}"
            f" | {f.ratio.format('.2f')} | {f.single:,.1f} ({f.single_articles} articles,"
            f" {f.single / f.repo.median:.3f} of repo) |"
        )
    for f in figures:
        met = "met" if f.ratio.median >= 0.5 else "NOT met"
        print(f"goal {f.backend}: real path >= 0.5 of ArticleRepo.add: {f.ratio} -> {met}")


async def postgres_reachable(admin: str) -> str | None:
    try:
        import asyncpg

        conn = await asyncpg.connect(admin, timeout=5)
        await conn.close()
    except Exception as exc:  # any failure means: no PostgreSQL here
        return f"{type(exc).__name__}: {exc}"
    return None


async def corpus_figures(args: argparse.Namespace) -> list[CorpusFigures]:
    path = args.eval_dir / CORPUS
    if not path.is_file():
        print(f"corpus: {path} not found; skipped")
        return []
    articles = read_path(path)[: 600 if args.quick else None]
    single = 100 if args.quick else 500
    backends = ["sqlite"]
    if args.postgres != "none":
        problem = await postgres_reachable(args.postgres)
        if problem is None:
            backends.append("postgres")
        else:
            print(f"corpus: PostgreSQL at {args.postgres} unreachable ({problem}); SQLite only")
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            found.append(
                await bench_corpus(
                    backend,
                    Path(tmp),
                    articles,
                    runs=args.runs,
                    single=single,
                    admin=args.postgres,
                )
            )
    return found


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="200 entries, 2,000 articles")
    p.add_argument("--corpus", action="store_true", help="the news corpus part only")
    p.add_argument(
        "--runs", type=int, default=None, help="runs of each side (default 3; --quick 2)"
    )
    p.add_argument(
        "--postgres",
        default=POSTGRES_ADMIN,
        metavar="URL",
        help="a PostgreSQL server's admin database, where a database per pass is made"
        " (`none`: SQLite only)",
    )
    p.add_argument("--entries", type=int, default=None)
    p.add_argument("--store", type=int, default=None)
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = p.parse_args()
    args.runs = args.runs or (2 if args.quick else 3)
    entries = args.entries or (200 if args.quick else 1000)
    store = args.store or (2000 if args.quick else 10_000)
    logging.basicConfig(level=logging.WARNING)

    # One-time loads (pymorphy3 dictionaries, the language model) are start-up costs, not
    # per-article ones; the word-lemma cache stays cold.
    article_language("Прогрев", "Прогрев моделей.")
    lemmatize_text("прогрев")
    if not args.corpus:
        pool = sentence_pool(args.eval_dir)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            ingests = []
            for n in range(args.runs):
                run_folder = folder / f"run{n}"
                run_folder.mkdir()
                ingests.append(await bench_ingest(run_folder, pool, entries))
            searches = await bench_search(
                folder, make_articles(pool, store, seed=2), runs=args.runs
            )
        report(ingests, searches)
        print()
    report_corpus(await corpus_figures(args), args.runs)


if __name__ == "__main__":
    asyncio.run(main())
