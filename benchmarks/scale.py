"""The store at scale, each figure against today's way in the same run.

search   ArticleRepo.search over 100,000 articles: queries from rare words to one that
         matches 80% of the store, words in any form, several words (all of them, else
         any). Ours ranks the newest matches only (storage.search: 1,000 in SQLite,
         250 in PostgreSQL), on a reader connection; today's way ranks every match
         (bm25 over all of them) on the store's one connection. PostgreSQL is new, so
         there its figures are set against ranking every match on the same pool.
latest   /latest (ArticleRepo.latest) while another chat searches the common word without
         pause. Ours: reader connections beside the writer; today's: one connection, so
         /latest waits behind the search.
startup  What start-up costs the scheduling with 100,000 active subscriptions, each in a
         fresh process on a copy of one SQLite store: ours installs the three jobs (the
         digest round, feed polling, housekeeping) and runs the start-up catch-up (the
         store's pending runs, undated and due subscriptions: nothing is due); the old way
         (as shipped before due times) read every subscription and added one APScheduler
         cron job per chat before the scheduler started. Seconds and the process's
         resident memory growth over the bot already built.

Article texts are sentences drawn at random (fixed seed) from the silver news day in
../shared/eval/stories (else the seed article), lemmatised once per sentence; 80% of the
articles carry the common phrase "об этом сообщает пресс-служба". The store is written
straight into the tables (the same rows ArticleRepo.add writes), to build 100,000
articles in minutes rather than hours. Figures are medians of the runs with their
range; the machine is shared, so compare the two columns of one run, not runs.

    python benchmarks/scale.py                      # 100,000 articles, 3 runs, SQLite
    python benchmarks/scale.py --quick              # 10,000 articles, 2 runs
    python benchmarks/scale.py --postgres URL       # the same against PostgreSQL too
                                                    # (URL of an empty database)
    python benchmarks/scale.py --startup            # start-up only: 100,000 subscriptions
    python benchmarks/scale.py --startup --quick    # 10,000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

from _common import DEFAULT_EVAL_DIR, SEED

from bot.app import SWITCH_INTERVAL, build_app
from bot.config import Settings
from bot.digest import next_due
from bot.jobs import Jobs, install
from bot.models import Subscription
from bot.nlp.index import index_text
from bot.nlp.lemmas import words
from bot.offline import OfflineSession
from storage.articles import _COLUMNS_A, ArticleRepo, content_hash
from storage.db import Database, Row, to_db_time
from storage.postgres import PostgresDatabase
from storage.search import TITLE_WEIGHT, Fts5Index, TsvectorIndex, match_expression
from storage.seeds import read_article_file
from storage.sqlite import SqliteDatabase

STORIES = "stories/silver_tgcontest_ru_20200502_03_articles.jsonl"
EPOCH = datetime(2025, 6, 1, tzinfo=UTC)
COMMON = "Об этом сообщает пресс-служба."
COMMON_QUERY = "пресс-служба"
COMMON_SHARE = 0.8
SENTENCES_PER_ARTICLE = 6


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- the corpus ---------------------------------------------------------------------


@dataclass
class Sentence:
    text: str
    lemmas: str


def sentence_pool(eval_dir: Path, limit: int) -> list[Sentence]:
    from razdel import sentenize

    path = eval_dir / STORIES
    if path.exists():
        with path.open(encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f if line.strip()]
    else:
        texts = [read_article_file(SEED)[0].text]
    seen: dict[str, None] = {}
    for text in texts:
        for s in sentenize(text):
            if 40 <= len(s.text) <= 300:
                seen.setdefault(" ".join(s.text.split()), None)
    chosen = list(seen)[:limit]
    return [Sentence(text, index_text(text)) for text in chosen]


@dataclass
class Corpus:
    rows: list[tuple[object, ...]]
    lemmas: list[tuple[int, str, str]]
    frequency: Counter[str] = field(default_factory=Counter)
    surface: dict[str, str] = field(default_factory=dict)


def make_corpus(pool: list[Sentence], count: int, seed: int = 7) -> Corpus:
    """`count` articles; ids 1..count in time order, as the store gives them."""
    rng = random.Random(seed)
    common = Sentence(COMMON, index_text(COMMON))
    corpus = Corpus([], [])
    for sentence in pool:
        for word in words(sentence.text):
            corpus.surface.setdefault(index_text(word).split(" ")[0], word)
    for n in range(1, count + 1):
        body = rng.sample(pool, SENTENCES_PER_ARTICLE)
        if rng.random() < COMMON_SHARE:
            body.append(common)
        head = rng.choice(pool)
        title = head.text[:90]
        text = " ".join(s.text for s in body) + f" Выпуск {n}."
        title_lemmas = index_text(title) if len(title) < len(head.text) else head.lemmas
        text_lemmas = " ".join(s.lemmas for s in body) + f" выпуск {n}"
        corpus.frequency.update(set(text_lemmas.split()) | set(title_lemmas.split()))
        added = to_db_time(EPOCH + timedelta(minutes=n))
        corpus.rows.append((n, title, "bench", None, None, added, text, content_hash(text), "ru"))
        corpus.lemmas.append((n, title_lemmas, text_lemmas))
    return corpus


def queries(corpus: Corpus, rng: random.Random) -> list[str]:
    """Words by how many articles hold them, from a handful to most of the store;
    pairs that occur together and pairs that do not (the any-word fallback)."""
    total = len(corpus.rows)
    by_share: list[str] = []
    for share in (0.0001, 0.001, 0.01, 0.05, 0.2):
        target = max(2, int(total * share))
        near = sorted(
            (w for w in corpus.frequency if w in corpus.surface and len(w) > 3),
            key=lambda w: abs(corpus.frequency[w] - target),
        )[:40]
        by_share += [corpus.surface[w] for w in rng.sample(near, 4)]
    pairs = [f"{a} {b}" for a, b in zip(by_share[::2], by_share[1::2], strict=False)]
    return [*by_share, *pairs[:6], COMMON_QUERY, "сообщает", "пресс-службы Москвы"]


# --- building the stores ------------------------------------------------------------


_INSERT = (
    "INSERT INTO articles (id, title, source, url, published_at, added_at, text,"
    " content_hash, lang) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def fill_sqlite(path: Path, corpus: Corpus) -> None:
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany(_INSERT, corpus.rows)
            conn.executemany(
                "INSERT INTO articles_fts (rowid, title_lemmas, text_lemmas) VALUES (?, ?, ?)",
                corpus.lemmas,
            )
        conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('optimize')")
        conn.execute("ANALYZE")
    finally:
        conn.close()


async def sqlite_store(folder: Path, corpus: Corpus) -> Path:
    path = folder / "scale.sqlite3"
    db = await SqliteDatabase.connect(path)
    await db.close()
    await asyncio.to_thread(fill_sqlite, path, corpus)
    return path


async def fill_postgres(url: str, corpus: Corpus) -> None:
    db = await PostgresDatabase.connect(url)
    try:
        async with db.transaction(), db.connection() as conn:
            await conn.copy_records_to_table(
                "articles",
                records=corpus.rows,
                columns=[
                    "id",
                    "title",
                    "source",
                    "url",
                    "published_at",
                    "added_at",
                    "text",
                    "content_hash",
                    "lang",
                ],
            )
            await conn.copy_records_to_table(
                "article_lemmas",
                records=corpus.lemmas,
                columns=["article_id", "title_lemmas", "text_lemmas"],
            )
            await conn.execute(
                "SELECT setval(pg_get_serial_sequence('articles', 'id'), $1)", len(corpus.rows)
            )
        async with db.connection() as conn:
            await conn.execute("VACUUM ANALYZE")
    finally:
        await db.close()


# --- today's way --------------------------------------------------------------------


class TodaysSearch(ArticleRepo):
    """Search as it was: bm25 over every match, in one statement."""

    async def _match(
        self, terms: list[tuple[str, ...]], *, every_word: bool, limit: int
    ) -> list[Row]:
        return await self._db.fetchall(
            f"SELECT {_COLUMNS_A} FROM articles_fts"
            " JOIN articles AS a ON a.id = articles_fts.rowid"
            " WHERE articles_fts MATCH ?"
            " ORDER BY bm25(articles_fts, ?, 1.0), a.id DESC LIMIT ?",
            (match_expression(terms, "AND" if every_word else "OR"), TITLE_WEIGHT, limit),
        )


class RankEverything(ArticleRepo):
    """PostgreSQL's search without the candidate bound."""

    def __init__(self, db: Database) -> None:
        super().__init__(db, candidates=10**9)


# --- measurements -------------------------------------------------------------------


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await call()
    return (time.perf_counter() - started) * 1000


@dataclass
class SearchRun:
    times: list[float]
    common: list[float]
    hits: list[list[int]]
    slowest: dict[str, float] = field(default_factory=dict)


async def search_run(repo: ArticleRepo, wanted: list[str], repeat: int) -> SearchRun:
    times: list[float] = []
    common: list[float] = []
    hits: list[list[int]] = []
    slowest: dict[str, float] = {}
    for query in wanted:
        hits.append([hit.article.id for hit in await repo.search(query)])
    for _ in range(repeat):
        for query in wanted:
            ms = await timed(lambda q=query: repo.search(q))  # type: ignore[misc]
            times.append(ms)
            slowest[query] = max(ms, slowest.get(query, 0.0))
            if query == COMMON_QUERY:
                common.append(ms)
    return SearchRun(times, common, hits, slowest)


async def latest_under_search(db: Database, searcher: ArticleRepo, samples: int) -> list[float]:
    """/latest's times while another chat searches the common word without pause."""
    repo = ArticleRepo(db)
    stop = asyncio.Event()

    async def hammer() -> None:
        while not stop.is_set():
            await searcher.search(COMMON_QUERY)

    task = asyncio.create_task(hammer())
    await asyncio.sleep(0.05)
    times = []
    try:
        for _ in range(samples):
            times.append(await timed(lambda: repo.latest(5)))
            # A user's /latest arrives at some moment of the other chat's search.
            await asyncio.sleep(random.uniform(0.001, 0.01))
    finally:
        stop.set()
        await task
    return times


async def latest_idle(db: Database, samples: int) -> list[float]:
    repo = ArticleRepo(db)
    return [await timed(lambda: repo.latest(5)) for _ in range(samples)]


@dataclass
class Figures:
    backend: str
    baseline: str
    ours_search: list[SearchRun] = field(default_factory=list)
    old_search: list[SearchRun] = field(default_factory=list)
    ours_latest: list[list[float]] = field(default_factory=list)
    old_latest: list[list[float]] = field(default_factory=list)
    idle_latest: list[list[float]] = field(default_factory=list)


async def measure(
    figures: Figures,
    open_ours: Callable[[], Awaitable[Database]],
    open_old: Callable[[], Awaitable[Database]],
    old_repo: Callable[[Database], ArticleRepo],
    wanted: list[str],
    runs: int,
    repeat: int,
    samples: int,
) -> None:
    for _ in range(runs):
        ours = await open_ours()
        try:
            repo = ArticleRepo(ours)
            figures.ours_search.append(await search_run(repo, wanted, repeat))
            figures.idle_latest.append(await latest_idle(ours, samples))
            figures.ours_latest.append(await latest_under_search(ours, repo, samples))
        finally:
            await ours.close()
        old = await open_old()
        try:
            repo = old_repo(old)
            figures.old_search.append(await search_run(repo, wanted, repeat))
            figures.old_latest.append(await latest_under_search(old, repo, samples))
        finally:
            await old.close()


def spread(values: list[float]) -> str:
    """Median of the runs, and their range."""
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({min(values):.1f}–{max(values):.1f})"


def report(figures: Figures, articles: int, queries_count: int) -> None:
    def stat(runs: list[list[float]], q: float) -> str:
        return spread([percentile(r, q) for r in runs])

    ours_t = [r.times for r in figures.ours_search]
    old_t = [r.times for r in figures.old_search]
    ours_c = [r.common for r in figures.ours_search]
    old_c = [r.common for r in figures.old_search]
    same_top = sum(
        bool(a) and bool(b) and a[0] == b[0]
        for a, b in zip(figures.ours_search[0].hits, figures.old_search[0].hits, strict=True)
    )
    with_hits = sum(bool(b) for b in figures.old_search[0].hits)
    print(
        f"\n{figures.backend}: {articles:,} articles, {queries_count} queries,"
        f" {len(figures.ours_search)} runs (median of runs, range)"
    )
    b = figures.baseline
    print(f"| ms | ours p50 | ours p95 | ours max | {b} p50 | {b} p95 | {b} max |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| search, all queries | {stat(ours_t, 50)} | {stat(ours_t, 95)} | {stat(ours_t, 100)}"
        f" | {stat(old_t, 50)} | {stat(old_t, 95)} | {stat(old_t, 100)} |"
    )
    print(
        f"| search, the 80% word | {stat(ours_c, 50)} | {stat(ours_c, 95)} | {stat(ours_c, 100)}"
        f" | {stat(old_c, 50)} | {stat(old_c, 95)} | {stat(old_c, 100)} |"
    )
    ol, dl = figures.ours_latest, figures.old_latest
    print(
        f"| /latest while a chat searches the 80% word | {stat(ol, 50)} | {stat(ol, 95)}"
        f" | {stat(ol, 100)} | {stat(dl, 50)} | {stat(dl, 95)} | {stat(dl, 100)} |"
    )
    il = figures.idle_latest
    print(f"| /latest, nothing else running | {stat(il, 50)} | {stat(il, 95)} | {stat(il, 100)} |")
    ratio = [percentile(o, 95) / percentile(n, 95) for o, n in zip(old_t, ours_t, strict=True)]
    print(
        f"search p95, {b}/ours: {spread(ratio)}x; same best hit as {b} for"
        f" {same_top} of {with_hits} queries with hits"
    )
    worst = sorted(figures.ours_search[0].slowest.items(), key=lambda item: -item[1])[:4]
    print(
        "slowest queries (ours, first run): " + ", ".join(f"{q!r} {ms:.0f} ms" for q, ms in worst)
    )
    goal_search = statistics.median(percentile(r, 95) for r in ours_t) < 30
    goal_latest = statistics.median(percentile(r, 95) for r in ol) < 5
    print(
        f"goals: search p95 < 30 ms {'met' if goal_search else 'NOT met'};"
        f" /latest p95 < 5 ms under search {'met' if goal_latest else 'NOT met'}"
    )


def agree(sqlite: Figures, postgres: Figures) -> None:
    """How often the two backends give the same best hit: ranking every match (bm25
    against ts_rank), and as they search (each over its own number of candidates)."""

    def same(a: list[list[int]], b: list[list[int]]) -> str:
        both = [(x, y) for x, y in zip(a, b, strict=True) if x or y]
        return f"{sum(bool(x) and bool(y) and x[0] == y[0] for x, y in both)} of {len(both)}"

    print(
        "\nsame best hit on both backends: ranking every match"
        f" {same(sqlite.old_search[0].hits, postgres.old_search[0].hits)} queries;"
        f" as they search {same(sqlite.ours_search[0].hits, postgres.ours_search[0].hits)}"
    )


# --- start-up with many subscriptions -----------------------------------------------

ZONES = ("Europe/Moscow", "Asia/Almaty", "Europe/Berlin", "America/New_York", "UTC")
STARTUP_NOW = datetime(2026, 6, 17, 12, 0, 30, tzinfo=UTC)


def fill_subscriptions(path: Path, count: int) -> None:
    """`count` active subscriptions at whole minutes in five zones, each dated to its next
    digest after STARTUP_NOW (nothing due at start)."""
    rows = []
    for chat in range(1, count + 1):
        at = dt_time(chat % 24, chat % 60)
        zone = ZONES[chat % len(ZONES)]
        due = next_due(Subscription(chat, at, zone, None), STARTUP_NOW)
        assert due is not None
        stamp = to_db_time(STARTUP_NOW - timedelta(days=1))
        rows.append((chat, at.strftime("%H:%M"), zone, stamp, stamp, to_db_time(due)))
    conn = sqlite3.connect(path)
    try:
        with conn:
            conn.executemany(
                "INSERT INTO subscriptions (chat_id, at, timezone, subscribed_by, active,"
                " created_at, updated_at, due_at) VALUES (?, ?, ?, NULL, 1, ?, ?, ?)",
                rows,
            )
    finally:
        # Closing checkpoints the write-ahead log into the file the runs copy.
        conn.close()


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def old_digest_job(jobs: Jobs, sub: Subscription, subscriptions: object) -> None:
    """One chat's digest job, as the bot scheduled it before due times."""
    from zoneinfo import ZoneInfo

    from apscheduler.triggers.cron import CronTrigger

    from bot.jobs import send_digest

    job_id = f"digest:{sub.chat_id}"
    if jobs.scheduler.get_job(job_id):
        jobs.scheduler.remove_job(job_id)
    jobs.scheduler.add_job(
        send_digest,
        CronTrigger(hour=sub.at.hour, minute=sub.at.minute, timezone=ZoneInfo(sub.timezone)),
        args=(subscriptions, sub.chat_id, jobs.clock),
        id=job_id,
        replace_existing=True,
        misfire_grace_time=3 * 3600,
        coalesce=True,
        max_instances=1,
    )


async def startup_child(way: str, path: Path) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token="1:x",
        database_path=path,
        seeds_dir=path.parent / "no-seeds",
    )
    app = await build_app(settings, session=OfflineSession(), clock=lambda: STARTUP_NOW)
    try:
        before = rss_mb()
        started = time.perf_counter()
        if way == "ours":
            await install(
                app.jobs,
                subscriptions=app.subscriptions,
                chats=app.services.chats,
                intake=app.services.intake,
                settings=settings,
            )
            app.jobs.start()
            sent = await app.subscriptions.catch_up(STARTUP_NOW)
            assert sent == 0
        else:
            for sub in await app.subscriptions.active():
                old_digest_job(app.jobs, sub, app.subscriptions)
            app.jobs.start()
        seconds = time.perf_counter() - started
        jobs = len(app.jobs.scheduler.get_jobs())
        print(json.dumps({"seconds": seconds, "mb": rss_mb() - before, "jobs": jobs}))
    finally:
        await app.close()


async def startup_figures(count: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "subs.sqlite3"

        db = await SqliteDatabase.connect(path)
        await db.close()
        fill_subscriptions(path, count)
        results: dict[str, list[dict[str, float]]] = {"ours": [], "old": []}
        for _ in range(runs):
            for way in results:
                copy = Path(tmp) / f"{way}.sqlite3"
                copy.write_bytes(path.read_bytes())
                child = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--startup-child",
                    way,
                    str(copy),
                    stdout=asyncio.subprocess.PIPE,
                )
                out, _ = await child.communicate()
                assert child.returncode == 0, way
                results[way].append(json.loads(out.decode().strip().splitlines()[-1]))
                copy.unlink()
    print(f"\nstart-up with {count:,} active subscriptions, {runs} runs (median, range)")
    print("| | ours (due times) | old (a job per chat) | ratio |")
    print("|---|---|---|---|")
    for key, label in (("seconds", "seconds"), ("mb", "memory growth, MB"), ("jobs", "jobs")):
        ours = [r[key] for r in results["ours"]]
        old = [r[key] for r in results["old"]]
        ratio = statistics.median(old) / max(statistics.median(ours), 1e-9)
        print(f"| {label} | {spread3(ours)} | {spread3(old)} | {ratio:,.0f}× |")


def spread3(values: list[float]) -> str:
    def f(value: float) -> str:
        return f"{value:,.3g}" if value < 100 else f"{value:,.0f}"

    if len(values) == 1:
        return f(values[0])
    return f"{f(statistics.median(values))} ({f(min(values))}–{f(max(values))})"


async def main() -> None:
    if sys.argv[1:2] == ["--startup-child"]:
        await startup_child(sys.argv[2], Path(sys.argv[3]))
        return
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="10,000 articles, 2 runs")
    p.add_argument("--articles", type=int, default=None)
    p.add_argument("--runs", type=int, default=None)
    p.add_argument("--postgres", metavar="URL", help="an empty PostgreSQL database to fill")
    p.add_argument(
        "--filled", action="store_true", help="the PostgreSQL database holds this corpus already"
    )
    p.add_argument("--no-sqlite", action="store_true", help="measure PostgreSQL only")
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    p.add_argument("--startup", action="store_true", help="the start-up figure only")
    p.add_argument("--subscriptions", type=int, default=None)
    args = p.parse_args()
    if args.startup:
        subscriptions = args.subscriptions or (10_000 if args.quick else 100_000)
        await startup_figures(subscriptions, args.runs or (2 if args.quick else 3))
        return
    count = args.articles or (10_000 if args.quick else 100_000)
    runs = args.runs or (2 if args.quick else 3)
    repeat, samples = (2, 100) if args.quick else (3, 300)
    logging.basicConfig(level=logging.WARNING)
    # As `python -m bot run` does (bot.app): the event loop waits less for the GIL.
    sys.setswitchinterval(SWITCH_INTERVAL)

    started = time.perf_counter()
    pool = sentence_pool(args.eval_dir, 4000 if args.quick else 30_000)
    corpus = make_corpus(pool, count)
    wanted = queries(corpus, random.Random(3))
    print(
        f"{count:,} articles from {len(pool):,} sentences built in"
        f" {time.perf_counter() - started:.0f} s; candidates ranked:"
        f" {Fts5Index.CANDIDATES} (SQLite), {TsvectorIndex.CANDIDATES} (PostgreSQL);"
        f" the 80% word matches {corpus.frequency['пресс-служба']:,}"
    )
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            path = await sqlite_store(Path(tmp), corpus)
            sqlite_figures = Figures("SQLite", "today")
            await measure(
                sqlite_figures,
                lambda: SqliteDatabase.connect(path),
                lambda: SqliteDatabase.connect(path, readers=0),
                TodaysSearch,
                wanted,
                runs,
                repeat,
                samples,
            )
        report(sqlite_figures, count, len(wanted))
    if args.postgres:
        if not args.filled:
            await fill_postgres(args.postgres, corpus)
        postgres_figures = Figures("PostgreSQL", "all ranked")
        await measure(
            postgres_figures,
            lambda: PostgresDatabase.connect(args.postgres),
            lambda: PostgresDatabase.connect(args.postgres),
            RankEverything,
            wanted,
            runs,
            repeat,
            samples,
        )
        report(postgres_figures, count, len(wanted))
        if not args.no_sqlite:
            agree(sqlite_figures, postgres_figures)


if __name__ == "__main__":
    asyncio.run(main())
