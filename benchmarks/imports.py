"""What the import hooks of bot/lazy_imports.py buy: `python -m bot run`, `console --once`
and `summarize`, each with the hooks and without them, in the same run.

    run        `python -m bot` against a Bot API test server on 127.0.0.1, on an empty
               store: launch to the first getUpdates; the first update's latency (from
               that getUpdates, answered at once with a queued /help, to the bot's
               sendMessage); once the warm-up is done, VmRSS and VmHWM (the peak), and
               the latency of a /latest sent then
    console    `console --once /summary` on an empty store (so the summary is computed):
               launch to exit, peak RSS
    summarize  `summarize` of the seed file (read, not stored): launch to exit, peak RSS

Variants, each a fresh interpreter running the command line (LAUNCH below):

    hooks          `bot.__main__.entry`, what `python -m bot` runs: both hooks installed
    built on use   the same, but the bot's start builds no Bot API model
                   (bot.app.TELEGRAM_MODELS emptied): each is built by its first user
    aiogram hook   the same as hooks without the nltk hook: nltk imports scipy.stats
    no hooks       `bot.__main__.main`: aiogram and nltk as they come

Peak RSS of a one-shot command is its own VmHWM, read at its exit (the launcher prints
it): the rusage of a child also counts the parent's pages it was forked with.

The runs of the variants are interleaved, so a noisy neighbour slows all of them alike.

    python benchmarks/imports.py            # 5 runs of each
    python benchmarks/imports.py --quick    # 3 runs of each
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

from _bench import (
    BOT_USERNAME,
    ROOT,
    SEED,
    TOKEN,
    bot_env,
    machine,
    median,
    python,
    rss_mb,
    start_bot,
    stop_bot,
    table,
)

from tests.botapi import FakeTelegram, same_chat

FIRST_USER = 1001
SECOND_USER = 1002

_ENTRY = "from bot.__main__ import entry; sys.exit(entry())"
_HOOKS = "from bot import lazy_imports; lazy_imports.install(); "
LAUNCH = {
    "hooks": _ENTRY,
    # What-ifs: the entry point with one of its parts taken out.
    "built on use": f"{_HOOKS}import bot.app; bot.app.TELEGRAM_MODELS = (); {_ENTRY}",
    "aiogram hook": f"import bot.lazy_imports as hooks; del hooks._WRAPPERS['nltk']; {_ENTRY}",
    "no hooks": "from bot.__main__ import main; sys.exit(main())",
}
# Only the bot builds models at its start; the console and CLI commands never did.
RUN_ONLY = {"built on use"}
PEAK = "peak VmHWM kB:"
_REPORT_PEAK = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('" + PEAK + "', next(line.split()[1] for line in"
    " open('/proc/self/status') if line.startswith('VmHWM:')), file=sys.stderr))\n"
)


def launch(variant: str, *args: str) -> list[str]:
    return [python(), "-c", _REPORT_PEAK + LAUNCH[variant], *args]


def warmed(database: Path) -> bool:
    """Whether the warm-up has stored the seed's default summary and points."""
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM summaries").fetchone()[0]) >= 2
    except sqlite3.OperationalError:  # the schema is not there yet
        return False
    finally:
        conn.close()


async def run_bot(variant: str, database: Path) -> dict[str, float]:
    """One start of the bot: seconds to the first poll, milliseconds of the first update
    and of one sent after the warm-up, VmRSS and VmHWM in MB after the warm-up."""
    async with FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME) as tg:
        # Queued before the start, so the first getUpdates returns it at once.
        tg.message("/help", user_id=FIRST_USER)
        loop = asyncio.get_running_loop()
        launched = loop.time()
        process = await start_bot(launch(variant, "run"), tg, database)
        try:
            poll = (await tg.wait_for("getUpdates", ok=None, timeout=120))[0]
            first = await tg.wait_for(
                "sendMessage", lambda call: same_chat(call.chat_id, FIRST_USER), timeout=120
            )
            deadline = loop.time() + 120
            while not warmed(database):
                if process.returncode is not None or loop.time() > deadline:
                    raise TimeoutError("the warm-up did not finish")
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            rss, peak = rss_mb(process.pid)
            sent = loop.time()
            tg.message("/latest", user_id=SECOND_USER)
            later = await tg.wait_for(
                "sendMessage", lambda call: same_chat(call.chat_id, SECOND_USER), timeout=120
            )
        except TimeoutError as exc:
            assert process.stderr is not None
            await stop_bot(process)
            error = (await process.stderr.read()).decode(errors="replace")
            raise RuntimeError(f"{variant}: {exc}:\n{error[-2000:]}") from None
        finally:
            await stop_bot(process)
    return {
        "to first poll, s": poll.time - launched,
        "first update, ms": 1000 * (first[0].time - poll.time),
        "update after warm-up, ms": 1000 * (later[0].time - sent),
        "VmRSS, MB": rss,
        "VmHWM, MB": peak,
    }


def run_command(variant: str, database: Path, *args: str) -> dict[str, float]:
    """A one-shot command: seconds from launch to exit and its peak RSS in MB."""
    started = time.perf_counter()
    process = subprocess.Popen(
        launch(variant, *args),
        env=bot_env("http://127.0.0.1:9", database),
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    errors = err.decode(errors="replace")
    peaks = [line.split()[-1] for line in errors.splitlines() if line.startswith(PEAK)]
    if process.returncode != 0 or not out.strip() or not peaks:
        raise RuntimeError(f"{variant} {args}: exit {process.returncode}\n{errors[-2000:]}")
    return {"to exit, s": elapsed, "peak RSS, MB": int(peaks[-1]) / 1024}


async def measure(runs: int) -> dict[tuple[str, str], dict[str, list[float]]]:
    results: dict[tuple[str, str], dict[str, list[float]]] = {}

    def record(command: str, variant: str, figures: dict[str, float]) -> None:
        row = results.setdefault((command, variant), {})
        for name, value in figures.items():
            row.setdefault(name, []).append(value)

    with tempfile.TemporaryDirectory(prefix="svodka-imports-") as tmp:
        for run in range(runs):
            for variant in LAUNCH:
                folder = Path(tmp) / f"{run}-{variant.replace(' ', '-')}"
                folder.mkdir()
                record("run", variant, await run_bot(variant, folder / "bot.sqlite3"))
                if variant in RUN_ONLY:
                    continue
                console = ("console", "--once", "/summary")
                answered = await asyncio.to_thread(
                    run_command, variant, folder / "console.sqlite3", *console
                )
                record("console --once /summary", variant, answered)
                summary = await asyncio.to_thread(
                    run_command, variant, folder / "unused.sqlite3", "summarize", str(SEED)
                )
                record("summarize FILE", variant, summary)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs of each")
    parser.add_argument("--runs", type=int, default=None)
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 5)
    results = asyncio.run(measure(runs))
    print(f"machine: {machine()}; runs: {runs}; median (min-max)")
    for command in dict.fromkeys(command for command, _ in results):
        variants = {variant: row for (c, variant), row in results.items() if c == command}
        names = list(next(iter(variants.values())))
        rows = []
        for name in names:
            digits = 2 if name.endswith(", s") else 0
            cells = [
                f"{median(v):.{digits}f} ({min(v):.{digits}f}-{max(v):.{digits}f})"
                for v in (row[name] for row in variants.values())
            ]
            rows.append([name, *cells])
        print(f"\n{command}")
        print(table(["measure", *variants], rows))


if __name__ == "__main__":
    main()
