"""Responsiveness: other chats' /latest while one chat waits for a long summary.

One chat asks for the summary of an uncached 1,000-sentence document (the first
sentences of ../shared/eval/ru_sci_abstracts_100.jsonl); meanwhile a thread outside
the event loop sends `/latest` from other chats every 10 ms, as Telegram would deliver
them whatever the bot is doing. A /latest's latency runs from its arrival to the end of
its handling (the reply sent). Only those arriving while the summary runs are counted.
An arrival is stamped when the sending thread gets to run: time that thread itself
waits for the GIL is not counted, so the figures err on the low side.

    bot       bot.articles.ArticleService: sumy in asyncio.to_thread
    on loop   the stock way: the same service with summarize() called on the event loop
    idle      /latest with no summary running, for reference

Both go through the production Dispatcher (bot.app.build_app) with the offline
session of benchmarks/_bench, updates fed as tasks as aiogram's polling does.

    python benchmarks/responsiveness.py           # 5 summaries per variant
    python benchmarks/responsiveness.py --quick   # 2 summaries per variant
    python benchmarks/responsiveness.py --switch-interval 0.005   # Python's default GIL slices
    python benchmarks/responsiveness.py --filters-on-loop          # what if: no F in threads
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from _bench import (
    TOKEN,
    RecordingSession,
    Updates,
    bot_settings,
    filters_on_loop,
    machine,
    percentile,
    table,
    verdict,
)
from _common import DEFAULT_EVAL_DIR, Spread, load_sci
from aiogram.types import Update
from razdel import sentenize

from bot.app import SWITCH_INTERVAL, App, build_app
from bot.articles import ArticleService, Busy
from bot.models import Article, NewArticle, Summary
from bot.nlp.summarizer import summarize
from bot.offline import OfflineSession
from storage.articles import ArticleRepo
from storage.cache import SummaryCache

GOAL_MS = 50.0  # /latest in other chats while a summary runs
SENTENCES = 1000
INTERVAL = 0.010  # seconds between /latest arrivals
SUMMARY_CHAT = 1001
OTHER_CHATS = range(2001, 2101)


class OnLoopService(ArticleService):
    """The baseline: sumy called directly in the handler's coroutine, as a stock bot would."""

    async def summary(
        self, article: Article, *, algorithm: str, sentences: int, busy: Busy | None = None
    ) -> Summary:
        cached = await self._cache.get_summary(article.id, algorithm, sentences)
        if cached is not None:
            return cached
        chosen = summarize(article.text, algorithm=algorithm, sentences=sentences)
        result = Summary(article_id=article.id, algorithm=algorithm, sentences=chosen)
        await self._cache.put_summary(result, sentences)
        return result


def long_document(eval_dir: Path) -> NewArticle:
    pool: list[str] = []
    for pair in load_sci(eval_dir):
        pool.extend(s.text for s in sentenize(pair.text))
        if len(pool) >= SENTENCES:
            break
    if len(pool) < SENTENCES:
        raise SystemExit(f"{eval_dir}: fewer than {SENTENCES} sentences")
    pool = pool[:SENTENCES]
    text = "\n\n".join(" ".join(pool[i : i + 5]) for i in range(0, SENTENCES, 5))
    return NewArticle(title="Длинный документ: 1000 предложений", text=text, source="eval")


class Arrivals:
    """Sends /latest from outside the event loop every INTERVAL; records latencies."""

    def __init__(self, app: App, updates: Updates) -> None:
        self.app = app
        self.updates = updates
        self.loop = asyncio.get_running_loop()
        self.stop = threading.Event()
        self.tasks: set[asyncio.Task[None]] = set()
        self.latencies: list[tuple[float, float]] = []  # (arrival, seconds)
        self.chats = iter(range(1_000_000))

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._produce, daemon=True)
        thread.start()
        return thread

    def _produce(self) -> None:
        while not self.stop.is_set():
            arrived = time.perf_counter()
            self.loop.call_soon_threadsafe(self._spawn, arrived)
            time.sleep(INTERVAL)

    def _spawn(self, arrived: float) -> None:
        chat = OTHER_CHATS[next(self.chats) % len(OTHER_CHATS)]
        update = self.updates.message("/latest", chat_id=chat)
        task = asyncio.create_task(self._handle(update, arrived))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _handle(self, update: Update, arrived: float) -> None:
        await self.app.dp.feed_update(self.app.bot, update)
        self.latencies.append((arrived, time.perf_counter() - arrived))

    async def finish(self, thread: threading.Thread) -> None:
        self.stop.set()
        await asyncio.to_thread(thread.join)
        await asyncio.sleep(0)
        while self.tasks:
            await asyncio.gather(*self.tasks)


async def one_run(
    app: App, article: Article, updates: Updates, *, summary: bool
) -> tuple[list[float], float]:
    """Latencies (ms) of the /latest that arrived during the summary; the summary's seconds."""
    await app.services.articles.forget_summaries(article.id)
    arrivals = Arrivals(app, updates)
    session = app.bot.session
    assert isinstance(session, OfflineSession)
    sent = len(session.sent)
    thread = arrivals.start()
    started = time.perf_counter()
    if summary:
        await app.dp.feed_update(app.bot, updates.message(f"/summary {article.id}", SUMMARY_CHAT))
    else:
        await asyncio.sleep(0.5)
    ended = time.perf_counter()
    await arrivals.finish(thread)
    if summary and not any(s.chat_id == SUMMARY_CHAT for s in session.sent[sent:]):
        raise RuntimeError("the summary was not sent")
    during = [1000 * s for arrived, s in arrivals.latencies if started <= arrived < ended]
    return during, ended - started


async def measure(runs: int, eval_dir: Path, on_loop: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="svodka-responsive-") as tmp:
        session = RecordingSession()
        app = await build_app(bot_settings(Path(tmp)), session=session, token=TOKEN)
        rewrapped = filters_on_loop(app.dp) if on_loop else 0
        try:
            db = app.services.db
            # Stored without the warm-up that ArticleService.add runs: the runs time it.
            article, _ = await ArticleRepo(db).add(long_document(eval_dir), now=datetime.now(UTC))
            updates = Updates()
            stock = OnLoopService(
                ArticleRepo(db), SummaryCache(db), app.services.chats, app.settings
            )
            threaded = app.services.articles
            # Warm-up: pymorphy3's dictionaries and the lemma cache, the first getMe.
            await threaded.summary(
                article,
                algorithm=app.settings.summary_algorithm,
                sentences=app.settings.summary_sentences,
            )
            await one_run(app, article, updates, summary=False)
            # What `python -m bot run` does once its warm-up is over (bot.app.App.warm_cache).
            gc.freeze()
            results: dict[str, list[float]] = {
                "idle": [],
                "bot (to_thread)": [],
                "on loop (stock)": [],
            }
            durations: dict[str, list[float]] = {name: [] for name in results}
            p95s: dict[str, list[float]] = {name: [] for name in results}
            for _ in range(runs):
                for name, service, summary in (
                    ("idle", threaded, False),
                    ("bot (to_thread)", threaded, True),
                    ("on loop (stock)", stock, True),
                ):
                    app.dp["articles"] = service
                    latencies, seconds = await one_run(app, article, updates, summary=summary)
                    results[name].extend(latencies)
                    durations[name].append(seconds)
                    p95s[name].append(percentile(latencies, 95))
            app.dp["articles"] = threaded
        finally:
            await app.close()

    rows = []
    for name, values in results.items():
        summary_s = "—" if name == "idle" else f"{min(durations[name]):.2f}"
        rows.append(
            [
                name,
                len(values),
                f"{percentile(values, 50):.1f}",
                f"{percentile(values, 95):.1f}",
                f"{max(values):.1f}",
                Spread.of(p95s[name]).format(".1f"),
                summary_s,
            ]
        )
    bot_p95 = percentile(results["bot (to_thread)"], 95)
    stock_p95 = percentile(results["on loop (stock)"], 95)
    bot_max = max(results["bot (to_thread)"])
    print(f"machine: {machine()}")
    print(
        f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms; "
        + (f"{rewrapped} F filters rewrapped in OnLoop" if on_loop else "filters as shipped")
    )
    print(
        f"/latest every {INTERVAL * 1000:.0f} ms during a summary of {SENTENCES} sentences;"
        f" {runs} summaries per variant; milliseconds"
    )
    headers = ["variant", "/latest", "p50", "p95", "max", "p95 of each run", "summary s (best)"]
    print(table(headers, rows))
    per_run = Spread.of(
        [s / b for s, b in zip(p95s["on loop (stock)"], p95s["bot (to_thread)"], strict=True)]
    )
    print(
        f"\np95 on loop / p95 bot: {stock_p95 / bot_p95:.1f}x all runs pooled,"
        f" {per_run.format('.1f')}x run by run"
    )
    print(
        f"goal: /latest under {GOAL_MS:.0f} ms during the summary: p95 {bot_p95:.1f} ms -> "
        f"{verdict(bot_p95 < GOAL_MS)}; max {bot_max:.1f} ms -> {verdict(bot_max < GOAL_MS)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 summaries per variant")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument(
        "--switch-interval",
        type=float,
        default=SWITCH_INTERVAL,
        metavar="SECONDS",
        help="sys.setswitchinterval for this run (default: what `python -m bot` sets; "
        "Python's own default is 0.005)",
    )
    parser.add_argument(
        "--filters-on-loop",
        action="store_true",
        help="what if: every F filter wrapped in bot.filters.OnLoop",
    )
    args = parser.parse_args()
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)
    asyncio.run(measure(2 if args.quick else 5, args.eval_dir, args.filters_on_loop))


if __name__ == "__main__":
    main()
