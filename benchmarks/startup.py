"""Cold start: from launching `python -m bot` to its first getUpdates, against a bare
aiogram bot started the same way, in the same run.

Each run starts a Bot API test server (tests/botapi.FakeTelegram) on 127.0.0.1 in this
process, launches the bot as a subprocess pointed at it (BOT_TOKEN, TELEGRAM_API_URL,
DATABASE_PATH in a temp dir) and stops the clock when the server sees the first
getUpdates; then the bot gets SIGTERM. The runs of the variants are interleaved.

    first start   python -m bot on an empty store (seeds loaded, schema created)
    restart       python -m bot on the store the first start left behind
    bare aiogram  one router, one handler, dp.start_polling (benchmarks/_bench.BARE_BOT)
    python        `python -c pass`, start to exit: the interpreter's own floor

    python benchmarks/startup.py              # median (min–max) of 7 runs
    python benchmarks/startup.py --quick      # of 3 runs
    python benchmarks/startup.py --importtime # also: the slowest imports of `python -m bot`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from _bench import (
    BARE_BOT,
    BOT_USERNAME,
    ROOT,
    TOKEN,
    machine,
    median,
    python,
    start_bot,
    stop_bot,
    table,
)
from _bench import verdict as goal_verdict
from _common import Spread

from tests.botapi import FakeTelegram

GOAL = 1.5  # seconds from launch to the first getUpdates


async def time_to_poll(command: list[str], database: Path) -> float:
    """Seconds from launching `command` to its first getUpdates at a fresh FakeTelegram."""
    async with FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME) as tg:
        # A pending update makes the first long poll return at once: the server records
        # a call when it arrives but wakes waiters only when it is answered.
        tg.message("/help")
        loop = asyncio.get_running_loop()
        launched = loop.time()
        process = await start_bot(command, tg, database)
        exited = asyncio.ensure_future(process.wait())
        try:
            waiting = asyncio.ensure_future(tg.wait_for("getUpdates", ok=None, timeout=120))
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
            if not waiting.done():
                waiting.cancel()
                assert process.stderr is not None
                error = (await process.stderr.read()).decode(errors="replace")
                raise RuntimeError(f"{command[-1]} exited before polling:\n{error[-2000:]}")
            first = waiting.result()[0]
        finally:
            await stop_bot(process)
            exited.cancel()
    return first.time - launched


async def time_to_exit(command: list[str]) -> float:
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(*command, stdin=subprocess.DEVNULL)
    await process.wait()
    return time.perf_counter() - started


async def measure(runs: int) -> dict[str, list[float]]:
    bot = [python(), "-m", "bot"]
    bare = [python(), "-c", BARE_BOT]
    times: dict[str, list[float]] = {
        "first start": [],
        "restart": [],
        "bare aiogram": [],
        "python": [],
    }
    with tempfile.TemporaryDirectory(prefix="svodka-startup-") as tmp:
        for run in range(runs):
            database = Path(tmp) / f"run-{run}" / "svodka.sqlite3"
            database.parent.mkdir()
            times["first start"].append(await time_to_poll(bot, database))
            times["restart"].append(await time_to_poll(bot, database))
            times["bare aiogram"].append(await time_to_poll(bare, database))
            times["python"].append(await time_to_exit([python(), "-c", "pass"]))
    return times


_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| +(\S+)")


def import_seconds() -> tuple[float, dict[str, float]]:
    """`python -m bot`'s imports: total seconds, and own seconds per top-level package."""
    # bot.__main__ imports bot.app only when it runs, so import both as `run` would, after
    # the import hooks its entry point installs.
    imports = "from bot import lazy_imports; lazy_imports.install(); import bot.__main__, bot.app"
    result = subprocess.run(
        [python(), "-X", "importtime", "-c", imports],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    packages: dict[str, float] = {}
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            package = match.group(3).split(".")[0]
            packages[package] = packages.get(package, 0.0) + int(match.group(1)) / 1e6
    return sum(packages.values()), packages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 runs")
    parser.add_argument("--runs", type=int, default=None)
    parser.add_argument("--importtime", action="store_true", help="the slowest imports")
    args = parser.parse_args()
    runs = args.runs or (3 if args.quick else 7)
    times = asyncio.run(measure(runs))
    bare = times["bare aiogram"]
    rows = [
        [
            name,
            f"{median(values):.2f}",
            f"{min(values):.2f}",
            f"{max(values):.2f}",
            # The variants' runs are interleaved: each run's ratio is to its own bare start.
            Spread.of([v / b for v, b in zip(values, bare, strict=True)]).format(".2f"),
        ]
        for name, values in times.items()
    ]
    print(f"machine: {machine()}")
    print(f"seconds from launch to the first getUpdates (python: to exit); runs: {runs}")
    print(table(["process", "median", "min", "max", "ratio to bare"], rows))
    for name in ("first start", "restart"):
        value = median(times[name])
        print(f"goal: {name} under {GOAL} s: {value:.2f} s -> {goal_verdict(value < GOAL)}")
    if args.importtime:
        total, packages = import_seconds()
        top = sorted(packages.items(), key=lambda item: -item[1])[:12]
        print(
            f"\nimports of python -m bot (python -X importtime): {total:.2f} s in all;"
            " the packages that take longest, by their modules' own time:"
        )
        print(
            table(
                ["package", "seconds", "share"],
                [[name, f"{seconds:.2f}", f"{seconds / total:.0%}"] for name, seconds in top],
            )
        )


if __name__ == "__main__":
    main()
