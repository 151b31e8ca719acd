"""Which of the bot's processes leads scheduled work (digests, alerts, feed polling,
housekeeping): at most one at a time, and another within seconds when it dies.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own
(storage.postgres); followers try to take it every `retry` seconds, and the server frees
it the moment the leader's session ends. The leader checks its connection every `check`
seconds and stops leading when the check fails, which is sooner than the server notices
a vanished host, so two processes never both lead for long. On SQLite the one process
always leads.

    async with leadership(db, on_change=jobs.lead) as leader:
        ...
        if leader.is_leader: ...

Work that must never happen twice (a digest, an alert) still claims its rows in the
store: leadership keeps the second process idle, the claims keep it honest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from types import TracebackType
from typing import Self

from storage.db import Database, LeaderLock

log = logging.getLogger(__name__)

LEADER_LOCK = "svodka.leader"

OnChange = Callable[[bool], Awaitable[None]]


class Leadership:
    """Keeps `is_leader` true while this process holds the leader lock; `on_change(True)`
    runs when it starts leading and `on_change(False)` when it stops (also at `stop()`)."""

    def __init__(
        self,
        lock: LeaderLock,
        *,
        retry: float = 5.0,
        check: float = 2.0,
        on_change: OnChange | None = None,
    ) -> None:
        self._lock = lock
        self.retry = retry
        self.check = check
        self._on_change = on_change
        self._leading = False
        self._elected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading

    async def wait_elected(self) -> None:
        """Returns once this process leads (at once if it does)."""
        await self._elected.wait()

    async def start(self) -> None:
        """Makes the first attempt before returning, so a lone process leads from the start."""
        await self._attempt()
        self._task = asyncio.create_task(self._keep(), name="leadership")

    async def stop(self) -> None:
        """Stops trying, ends the scheduled work here (`on_change(False)`: a round under
        way stops, the sends on their way finish) and then gives the lock up, so that a
        follower takes over at its next try from where this process left off."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._set(False)
        try:
            await self._lock.release()
        except Exception:
            # The session is gone, and the lock with it.
            log.warning("could not release the leader lock", exc_info=True)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self.check if self._leading else self.retry)
            await self._attempt()

    async def _attempt(self) -> None:
        try:
            leading = await self._lock.held() if self._leading else await self._lock.acquire()
        except Exception as exc:
            # Store unreachable: not leading now, trying again at the next turn.
            log.warning("leader election: the store did not answer: %s", exc)
            leading = False
        await self._set(leading)

    async def _set(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        if leading:
            self._elected.set()
        else:
            self._elected.clear()
        log.info("this process %s scheduled work", "leads" if leading else "no longer leads")
        if self._on_change is not None:
            try:
                await self._on_change(leading)
            except Exception:
                log.exception("leadership change handler failed")


def leadership(
    db: Database,
    *,
    retry: float = 5.0,
    check: float = 2.0,
    on_change: OnChange | None = None,
) -> Leadership:
    """The election among every process that shares `db`."""
    return Leadership(db.leader_lock(LEADER_LOCK), retry=retry, check=check, on_change=on_change)
