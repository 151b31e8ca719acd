"""One process in an election (tests/test_leader.py): `python -m tests.leader_child URL`.

Prints `leader` when it starts leading and `follower` when it stops, one line each,
and waits until killed.
"""

from __future__ import annotations

import asyncio
import sys

from bot.leader import LEADER_LOCK, Leadership
from storage.postgres import PostgresDatabase


async def main(url: str) -> None:
    db = await PostgresDatabase.connect(url, pool_size=1)

    async def report(leading: bool) -> None:
        print("leader" if leading else "follower", flush=True)

    try:
        async with Leadership(db.leader_lock(LEADER_LOCK), retry=0.2, on_change=report):
            print("started", flush=True)
            await asyncio.Event().wait()
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
