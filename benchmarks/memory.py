"""Resident memory of `python -m bot` with 10,000 articles in the store, against a bare
aiogram bot process, in the same run.

The store is filled first (synthetic Russian articles: the seed's sentences, shuffled
and numbered so that no two are alike), then the bot runs as a subprocess against a
Bot API test server on 127.0.0.1 in this process. Its VmRSS and VmHWM (peak) come
from /proc: once start-up's cache warming is done ("idle"), and again after /latest,
/search, /summary, /points and /full updates have been answered ("after updates").
The bare aiogram bot (benchmarks/_bench.BARE_BOT) gets the same updates.

The fill writes rows in one transaction, with the index text of each article composed
from the per-sentence index text (`bot.nlp.index.index_text` is word by word, so
that equals indexing the whole text; a sample is checked against ArticleRepo). The
full run also times ArticleRepo.add, the path `python -m bot ingest` takes, on a
sample.

    python benchmarks/memory.py            # 10,000 articles, 3 runs of each process
    python benchmarks/memory.py --quick    # 10,000 articles, fewer updates, no sample, 2 runs

The store is filled once; each run starts both processes on it, and the figures are
the median of the runs with the lowest and highest (the ratio: of each run's two).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _bench import (
    BARE_BOT,
    BOT_USERNAME,
    SEED,
    TOKEN,
    bot_env,
    machine,
    python,
    rss_mb,
    start_bot,
    stop_bot,
    table,
    verdict,
)
from _common import Spread
from razdel import sentenize

from bot.models import NewArticle
from bot.nlp.index import index_text
from storage.articles import ArticleRepo, content_hash
from storage.db import Database, to_db_time
from storage.seeds import read_article_file
from tests.botapi import FakeTelegram, same_chat

GOAL_MB = 150.0
ARTICLES = 10_000
START = datetime(2025, 1, 1, tzinfo=UTC)
FIRST_USER = 1000


class Synthetic:
    """Distinct articles of 8–19 of the seed's sentences in random order, each with the
    index text of its title and body (see the module docstring)."""

    def __init__(self, seed: int = 1) -> None:
        self.sentences = [s.text for s in sentenize(read_article_file(SEED)[0].text)]
        self.index = {s: index_text(s) for s in self.sentences}
        self.rng = random.Random(seed)

    def article(self, n: int) -> tuple[NewArticle, str, str]:
        picked = self.rng.sample(
            self.sentences, k=self.rng.randint(min(8, len(self.sentences)), len(self.sentences))
        )
        cut = len(picked) // 2
        lead = f"Выпуск {n}."
        text = f"{lead} " + " ".join(picked[:cut]) + "\n\n" + " ".join(picked[cut:])
        title = f"{picked[0]} ({n})"
        title_index = f"{self.index[picked[0]]} {n}"
        text_index = " ".join([index_text(lead), *(self.index[s] for s in picked)])
        return NewArticle(title=title, text=text, source="Синтетика"), title_index, text_index


def bulk_fill(path: Path, count: int) -> None:
    """One transaction of plain INSERTs into the schema Database.open created."""
    synthetic = Synthetic()
    conn = sqlite3.connect(path)
    try:
        with conn:
            first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM articles").fetchone()[0]
            rows, fts = [], []
            for offset in range(count):
                article_id = first + offset
                new, title_index, text_index = synthetic.article(article_id)
                added = to_db_time(START + timedelta(minutes=offset))
                rows.append(
                    (article_id, new.title, new.source, added, new.text, content_hash(new.text))
                )
                fts.append((article_id, title_index, text_index))
            conn.executemany(
                "INSERT INTO articles (id, title, source, added_at, text, content_hash)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            conn.executemany(
                "INSERT INTO articles_fts (rowid, title_lemmas, text_lemmas) VALUES (?, ?, ?)",
                fts,
            )
    finally:
        conn.close()


async def fill(path: Path, count: int, *, sample: int) -> tuple[float, float | None]:
    """Fills the store; returns the fill's seconds and, with a sample, ArticleRepo.add's
    milliseconds per article."""
    db = await Database.open(path)
    await db.close()
    started = time.perf_counter()
    await asyncio.to_thread(bulk_fill, path, count)
    seconds = time.perf_counter() - started
    # The bulk rows must be what ArticleRepo would have written.
    probe = sqlite3.connect(path)
    try:
        query = (
            "SELECT a.id, a.title, a.text, f.title_lemmas, f.text_lemmas FROM articles AS a"
            " JOIN articles_fts AS f ON f.rowid = a.id ORDER BY random() LIMIT 20"
        )
        for article_id, title, text, title_index, text_index in probe.execute(query):
            if (title_index, text_index) != (index_text(title), index_text(text)):
                raise RuntimeError(f"article {article_id}: bulk index differs from index_text")
    finally:
        probe.close()
    per_add = None
    if sample:
        synthetic = Synthetic(seed=2)
        with tempfile.TemporaryDirectory(prefix="svodka-memory-sample-") as tmp:
            db = await Database.open(Path(tmp) / "sample.sqlite3")
            try:
                repo = ArticleRepo(db)
                started = time.perf_counter()
                for n in range(1, sample + 1):
                    new, _, _ = synthetic.article(n)
                    await repo.add(new, now=START + timedelta(minutes=n))
                per_add = 1000 * (time.perf_counter() - started) / sample
            finally:
                await db.close()
    return seconds, per_add


def warmed(path: Path, count: int) -> bool:
    """Whether start-up's warm_cache has stored summary and points for `count` articles."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM summaries").fetchone()[0]) >= 2 * count
    finally:
        conn.close()


async def converse(tg: FakeTelegram, texts: list[str]) -> None:
    """Each text from a user of its own, one at a time, waiting for the reply."""
    for n, text in enumerate(texts):
        user = 1001 + n
        tg.message(text, user_id=user)
        await tg.wait_for(
            "sendMessage", lambda call, u=user: same_chat(call.chat_id, u), timeout=120
        )


def copy_store(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


async def run_process(
    command: list[str], database: Path, texts: list[str], *, warm: int
) -> dict[str, tuple[float, float]]:
    readings: dict[str, tuple[float, float]] = {}
    async with FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME) as tg:
        tg.message("/help", user_id=FIRST_USER)  # its answer says the bot is up and polling
        process = await start_bot(command, tg, database, stderr=subprocess.DEVNULL)
        try:
            await tg.wait_for(
                "sendMessage", lambda call: same_chat(call.chat_id, FIRST_USER), timeout=120
            )
            for _ in range(600):  # the cache warming, up to two minutes
                if not warm or warmed(database, warm):
                    break
                await asyncio.sleep(0.2)
            readings["idle"] = rss_mb(process.pid)
            await converse(tg, texts)
            await asyncio.sleep(0.5)  # a /full's later parts
            readings["after updates"] = rss_mb(process.pid)
        finally:
            await stop_bot(process)
    return readings


_SUMMARY = (
    "from bot.articles import _summarize; _summarize('Цены на нефть выросли за неделю."
    " Добыча в регионе снизилась на треть. Аналитики ждут новых решений картеля.',"
    " algorithm='lexrank', sentences=1)"
)
# What the entry point of `python -m bot` does first.
_HOOKS = "from bot import lazy_imports; lazy_imports.install(); "
IMPORTS = {
    "python": "pass",
    "aiogram, importing itself (every type built)": "import aiogram.client.session.aiohttp",
    "aiogram, imported by the bot (types built on use)": (
        f"{_HOOKS}import aiogram.client.session.aiohttp"
    ),
    "+ everything bot.app imports": f"{_HOOKS}import bot.__main__, bot.app",
    "+ the Bot API models the bot meets (built at start)": (
        f"{_HOOKS}import bot.app; lazy_imports.build_now(bot.app.TELEGRAM_MODELS)"
    ),
    "+ pymorphy3's dictionaries": f"{_HOOKS}import bot.app;"
    " lazy_imports.build_now(bot.app.TELEGRAM_MODELS);"
    " from bot.nlp.lemmas import lemma; lemma('статьи')",
    "+ the summarizer stack (the first summary)": f"{_HOOKS}import bot.app;"
    f" lazy_imports.build_now(bot.app.TELEGRAM_MODELS); {_SUMMARY}",
}


def import_rss(statement: str) -> float:
    """VmRSS (MB) of a fresh interpreter after `statement`."""
    probe = (
        "print(next(line.split()[1] for line in open('/proc/self/status')"
        " if line.startswith('VmRSS:')))"
    )
    result = subprocess.run(
        [python(), "-c", f"{statement}\n{probe}"],
        capture_output=True,
        text=True,
        check=True,
        env=bot_env("http://127.0.0.1:9", Path("unused")),
    )
    return int(result.stdout.split()[-1]) / 1024


def updates(quick: bool) -> list[str]:
    texts = [
        "/latest",
        "/latest 30",
        "/search Казахстан",
        "/search торговля и инвестиции",
        "/summary",
        "/points",
        "/summary 5000",
        "/points 5000",
        "/full 42",
        "Токаев",
    ]
    if not quick:
        texts += [f"/summary {n}" for n in range(100, 9000, 450)]
        texts += ["/search сотрудничество", "/search саммит Центральная Азия", "/latest 10"]
    return texts


async def measure(count: int, quick: bool, runs: int) -> None:
    texts = updates(quick)
    with tempfile.TemporaryDirectory(prefix="svodka-memory-") as tmp:
        database = Path(tmp) / "bot" / "svodka.sqlite3"
        database.parent.mkdir()
        fill_s, per_add = await fill(database, count, sample=0 if quick else 200)
        size_mb = database.stat().st_size / 2**20
        bare_db = Path(tmp) / "bare" / "unused.sqlite3"
        bare_db.parent.mkdir()
        bots, bares = [], []
        for n in range(runs):
            # Each run on a copy of the filled store: a bot that ran on it before left
            # its summaries cached, and the next start would warm nothing.
            copy = Path(tmp) / f"run{n}" / "svodka.sqlite3"
            copy.parent.mkdir()
            copy_store(database, copy)
            # warm_cache covers the 50 newest articles: the seed and 49 synthetic ones.
            bots.append(await run_process([python(), "-m", "bot"], copy, texts, warm=50))
            bares.append(await run_process([python(), "-c", BARE_BOT], bare_db, texts, warm=0))

    print(f"machine: {machine()}")
    line = f"store: {count:,} articles, {size_mb:.0f} MB; bulk fill {fill_s:.1f} s"
    if per_add is not None:
        line += f"; ArticleRepo.add {per_add:.1f} ms/article (~{per_add * count / 1000:.0f} s)"
    print(line)
    print(f"updates: {len(texts)} ({', '.join(texts[:10])}{', …' if len(texts) > 10 else ''})")
    rows = []
    for name, runs_of in (("python -m bot", bots), ("bare aiogram", bares)):
        for when in runs_of[0]:
            rss = Spread.of([readings[when][0] for readings in runs_of]).format(".0f")
            peak = Spread.of([readings[when][1] for readings in runs_of]).format(".0f")
            rows.append([name, when, rss, peak])
    print(f"median (min–max) of {runs} runs")
    print(table(["process", "when", "VmRSS MB", "VmHWM MB"], rows))
    if not quick:
        print("\nwhere it goes: VmRSS of a fresh interpreter after importing")
        print(
            table(
                ["imports", "VmRSS MB"],
                [[name, f"{import_rss(code):.0f}"] for name, code in IMPORTS.items()],
            )
        )
    after = [bot["after updates"][0] for bot in bots]
    ratio = Spread.of([b / bare["after updates"][0] for b, bare in zip(after, bares, strict=True)])
    print(f"\nbot / bare (VmRSS after updates): {ratio}")
    bot_rss = max(after)
    print(
        f"goal: under {GOAL_MB:.0f} MB in every run: highest {bot_rss:.0f} MB"
        f" -> {verdict(bot_rss < GOAL_MB)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer updates, no add sample")
    parser.add_argument("--articles", type=int, default=ARTICLES)
    parser.add_argument("--runs", type=int, help="runs of each process (default 3; --quick 2)")
    args = parser.parse_args()
    asyncio.run(measure(args.articles, args.quick, args.runs or (2 if args.quick else 3)))


if __name__ == "__main__":
    main()
