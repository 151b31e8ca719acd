"""The overall limiter alone: how close to 1,000 sends a second it lets go, on an idle
event loop and on a busy one, and whether any second (or 0.95 s) carries more.

    stock          aiolimiter's AsyncLimiter(1, 1 / 1,000): one token a millisecond, one
                   timer a send (what the bot used before `GlobalLimiter`)
    whole bucket   `GlobalLimiter` handing a whole bucketful (50) out at a time, as it
                   did before: the bucket is emptied to its floor at every batch
    bot            `bot.delivery.global_limiter(1000)`: half a bucketful at a time,
                   behind windows of a second and of 0.95 s

Each side lets N senders through (after the bucket's first 50, which go at once) and
is timed by the limiter's own release times. "Busy" adds a task that holds the event
loop 4 ms of every 10, as a round's other work does: the limiter's timers fire late.

    python benchmarks/limiter.py --quick    # 2,000 sends, 3 runs
    python benchmarks/limiter.py            # 5,000 sends, 5 runs
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Spread
from aiolimiter import AsyncLimiter

from bot.delivery import GlobalLimiter, global_limiter
from tests.botapi import busiest_second, stamp_releases

RATE = 1000


class Stamped:
    """A limiter whose `acquire` records when each sender got through (`times`: when it
    went on) and, for `GlobalLimiter`, when the limiter let it go (`released`, read from
    its window; a sender goes on later when the loop is busy)."""

    def __init__(self, limiter: AsyncLimiter | GlobalLimiter) -> None:
        self.limiter = limiter
        self.times: list[float] = []
        self.released = stamp_releases(limiter) if isinstance(limiter, GlobalLimiter) else []

    async def acquire(self) -> None:
        await self.limiter.acquire()
        self.times.append(asyncio.get_running_loop().time())


def stock() -> AsyncLimiter | GlobalLimiter:
    return AsyncLimiter(1, 1 / RATE)


def whole_bucket() -> AsyncLimiter | GlobalLimiter:
    limiter = global_limiter(RATE)
    limiter._batch = int(limiter._bucket.max_rate)
    return limiter


def bot() -> AsyncLimiter | GlobalLimiter:
    return global_limiter(RATE)


SIDES: dict[str, Callable[[], AsyncLimiter | GlobalLimiter]] = {
    "stock": stock,
    "whole bucket": whole_bucket,
    "bot": bot,
}


async def hog() -> None:
    while True:
        time.sleep(0.004)  # noqa: ASYNC251 - the point: the loop is held
        await asyncio.sleep(0.006)


async def one(
    make: Callable[[], AsyncLimiter | GlobalLimiter], sends: int, busy: bool
) -> dict[str, float]:
    stamped = Stamped(make())
    other = asyncio.create_task(hog()) if busy else None
    cpu = time.process_time()
    try:
        await asyncio.gather(*(stamped.acquire() for _ in range(sends + 50)))
    finally:
        if other is not None:
            other.cancel()
    used = time.process_time() - cpu
    times = sorted(stamped.times)
    released = sorted(stamped.released) or times
    steady = released[50:]
    return {
        "rate": (len(steady) - 1) / (steady[-1] - steady[0]),
        "let go": busiest_second(released),
        "second": busiest_second(times),
        "short": busiest_second(times, span=0.95),
        # The hog's own 4 ms of every 10 are in the process time too: compare sides.
        "cpu_ms": used * 1000 / len(times),
    }


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2,000 sends, 3 runs")
    p.add_argument("--runs", type=int, default=None)
    args = p.parse_args()
    sends = 2000 if args.quick else 5000
    runs = args.runs or (3 if args.quick else 5)
    print(f"{sends:,} sends after the first 50, {runs} runs each, median (range)\n")
    print(
        "| loop | limiter | sends a second | busiest second let go | busiest second gone on"
        " | busiest 0.95 s gone on | CPU ms a send |"
    )
    print("|---|---|---|---|---|---|---|")
    for busy in (False, True):
        results: dict[str, list[dict[str, float]]] = {name: [] for name in SIDES}
        for _ in range(runs):
            # Sides alternate within a run: the machine's drift touches all alike.
            for name, make in SIDES.items():
                results[name].append(await one(make, sends, busy))
        for name, rows in results.items():
            cols = [
                Spread.of([r[key] for r in rows]).format(fmt)
                for key, fmt in (
                    ("rate", ",.0f"),
                    ("let go", ",.0f"),
                    ("second", ",.0f"),
                    ("short", ",.0f"),
                    ("cpu_ms", ".3f"),
                )
            ]
            print(f"| {'busy' if busy else 'idle'} | {name} | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    asyncio.run(main())
