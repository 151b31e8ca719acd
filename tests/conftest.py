from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest

from bot.app import build_app, poll
from bot.config import Settings
from bot.delivery import Limits
from bot.outbox import Retry
from storage.articles import ArticleRepo
from storage.db import Database
from tests.botapi import DEFAULT_USER_ID, Call, FakeTelegram, _same_chat
from tests.site import Site

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"


# --- the store, on each backend ---------------------------------------------------

# The PostgreSQL server the tests create their databases on (127.0.0.1, user postgres).
POSTGRES_ADMIN_URL = os.environ.get(
    "SVODKA_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
_postgres_checked: list[str | None] = []


def _on_own_loop(work: Coroutine[Any, Any, object]) -> object:
    # Sync fixtures run beside the test's event loop, which must stay untouched.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_unavailable() -> str | None:
    """Why no PostgreSQL test can run here, or None when the server answers."""
    if not _postgres_checked:
        try:
            _on_own_loop(_admin("SELECT 1"))
            _postgres_checked.append(None)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            _postgres_checked.append(f"{type(exc).__name__}: {exc}")
    return _postgres_checked[0]


def _skip_line() -> str | None:
    reason = postgres_unavailable()
    if reason is None:
        return None
    where = urlsplit(POSTGRES_ADMIN_URL).netloc.rpartition("@")[2]
    return f"PostgreSQL tests skipped: no server at {where} ({reason})"


def skip_without_postgres() -> None:
    if (line := _skip_line()) is not None:
        pytest.skip(line)


_not_run: list[int] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a server, the PostgreSQL tests are left out, and said so in one line at
    the end (a skip per test would be a line per test)."""
    for item in items:
        if inspect.iscoroutinefunction(getattr(item, "function", None)):
            item.fixturenames.append("_stacks_if_stuck")  # type: ignore[attr-defined]
    marked = [item for item in items if item.get_closest_marker("postgres")]
    if not marked or _skip_line() is None:
        return
    config.hook.pytest_deselected(items=marked)
    items[:] = [item for item in items if not item.get_closest_marker("postgres")]
    _not_run.append(len(marked))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # With workers (-n) the ones that collected counted the tests; the line is said here.
    if (line := _skip_line()) is not None:
        terminalreporter.write_line(f"{line}: {_not_run[0]} tests not run" if _not_run else line)


# An async test still running this long before its timeout (pytest-timeout's, set in
# pyproject, or the test's own marker) prints the stacks of its event loop's tasks,
# which the timeout's own dump of threads lacks.
STUCK_BEFORE_TIMEOUT = 60.0


def _print_tasks(after: float) -> None:
    print(f"--- asyncio tasks after {after:.0f} s ---", file=sys.stderr)
    for task in asyncio.all_tasks():
        task.print_stack(file=sys.stderr)


@pytest.fixture
async def _stacks_if_stuck(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    marker = request.node.get_closest_marker("timeout")
    timeout = marker.args[0] if marker is not None else request.config.getoption("timeout")
    if not timeout:
        yield
        return
    after = max(float(timeout) - STUCK_BEFORE_TIMEOUT, float(timeout) / 2)
    handle = asyncio.get_running_loop().call_later(after, _print_tasks, after)
    try:
        yield
    finally:
        handle.cancel()


def _database_url(name: str) -> str:
    return urlunsplit(urlsplit(POSTGRES_ADMIN_URL)._replace(path=f"/{name}"))


@contextmanager
def _new_database(template: str | None = None) -> Iterator[str]:
    name = f"svodka_test_{uuid4().hex[:16]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    _on_own_loop(_admin(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield _database_url(name)
    finally:
        _on_own_loop(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _migrate(url: str) -> None:
    await (await Database.open(url)).close()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A database with the schema applied, copied for each test: cheaper than migrating
    a new one every time."""
    skip_without_postgres()
    with _new_database() as url:
        _on_own_loop(_migrate(url))
        yield urlsplit(url).path.lstrip("/")


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A new PostgreSQL database with the current schema and no rows, for one test,
    dropped afterwards."""
    with _new_database(postgres_template) as url:
        yield url


@pytest.fixture
def blank_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (no schema), dropped afterwards."""
    skip_without_postgres()
    with _new_database() as url:
        yield url


@dataclass(frozen=True)
class Store:
    """Where a test's store lives: a SQLite path or a PostgreSQL URL."""

    target: Path | str

    @property
    def backend(self) -> str:
        return "sqlite" if isinstance(self.target, Path) else "postgres"

    async def open(self) -> Database:
        """Opens the store (again, as a restart would)."""
        return await Database.open(self.target)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    """The store on each backend in turn."""
    if request.param == "postgres":
        return Store(str(request.getfixturevalue("postgres_url")))
    return Store(tmp_path / "data" / "svodka.sqlite3")


@pytest.fixture
def other_store(request: pytest.FixtureRequest, store: Store, tmp_path: Path) -> Iterator[Store]:
    """A second, empty store on the backend of `store`: the same work done two ways,
    compared."""
    if store.backend == "postgres":
        template = request.getfixturevalue("postgres_template")
        with _new_database(template) as url:
            yield Store(url)
    else:
        yield Store(tmp_path / "other" / "svodka.sqlite3")


@pytest.fixture
async def db(store: Store) -> AsyncIterator[Database]:
    database = await store.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
def articles(db: Database) -> ArticleRepo:
    return ArticleRepo(db)


@pytest.fixture
def seed_path() -> Path:
    """The Xi–Tokayev statement from Russian.news.cn, as shipped in seeds/."""
    return SEEDS_DIR / "000_04ae095c1d503094.txt"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """For `bot.__main__.main` run in-process: a working folder of its own (no developer's
    .env), the database in it, no seeds."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "db.sqlite3"))
    monkeypatch.setenv("SEEDS_DIR", str(tmp_path / "no-seeds"))
    return tmp_path


# --- the bot end to end: FakeTelegram on 127.0.0.1, aiogram's real session, real SQLite ---

TOKEN = "123456:TEST-token"
ADMIN_ID = 500
BOT_USERNAME = "svodka_bot"


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, bot_username=BOT_USERNAME) as server:
        yield server


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """A web site on 127.0.0.1 for feeds and pages (tests/site.py)."""
    server = Site()
    await server.start()
    try:
        yield server
    finally:
        await server.close()


@pytest.fixture
def bot_settings(request: pytest.FixtureRequest, tmp_path: Path, tg: FakeTelegram) -> Settings:
    # A test that also reads the store itself (the `db` fixture) gets the bot on that
    # store, on each backend in turn; any other test, on SQLite.
    store = request.getfixturevalue("store") if "store" in request.fixturenames else None
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=tg.url,
        database_path=tmp_path / "data" / "svodka.sqlite3",
        database_url=store.target if store is not None and store.backend == "postgres" else None,
        seeds_dir=SEEDS_DIR,
        admin_ids=[ADMIN_ID],
        # Feeds and pages in tests are served from 127.0.0.1 (tests/site.py).
        fetch_allow_private=True,
        # Tests type far faster than people; flood control has its own tests.
        flood_burst=10_000,
    )


# Tests type far faster than people read: answers to one chat are paced at 50 a second,
# not Telegram's one. The tests of pacing itself pass `Limits()`, Telegram's own.
TEST_LIMITS = Limits(global_per_sec=1000, per_chat_per_sec=50, per_group_per_min=6000)

# A bot that has not stopped by then waits on something that never comes: its tasks'
# stacks are printed and the test fails instead of hanging the run.
STOP_WITHIN = 30.0


class RunningBot:
    """The production app polling FakeTelegram, as `python -m bot` would."""

    def __init__(
        self,
        settings: Settings,
        tg: FakeTelegram,
        *,
        limits: Limits | None = None,
        retry: Retry | None = None,
    ) -> None:
        self.settings = settings
        self.tg = tg
        self.limits = TEST_LIMITS if limits is None else limits
        self.retry = retry

    async def start(self) -> RunningBot:
        self.app = await build_app(self.settings, limits=self.limits, retry=self.retry)
        self.task = asyncio.create_task(poll(self.app, handle_signals=False, polling_timeout=1))
        await self.tg.wait_for("getUpdates", ok=None)
        return self

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self._stop(), timeout=STOP_WITHIN)
        except TimeoutError:
            _print_tasks(STOP_WITHIN)
            raise AssertionError(f"the bot did not stop within {STOP_WITHIN} s") from None

    async def _stop(self) -> None:
        await self.app.dp.stop_polling()
        await self.task
        await self.app.close()

    async def say(
        self, text: str, *, count: int = 1, timeout: float = 10.0, **kw: Any
    ) -> list[Call]:
        """Pushes a message and waits for `count` new messages to that chat."""
        chat_id = kw.get("chat_id", kw.get("user_id", DEFAULT_USER_ID))
        before = len(self.tg.sent(chat_id))
        self.tg.message(text, **kw)
        await self.tg.wait_for(
            "sendMessage",
            lambda c: _same_chat(c.chat_id, chat_id),
            count=before + count,
            timeout=timeout,
        )
        return self.tg.sent(chat_id)[before:]

    async def quiet(self, text: str, **kw: Any) -> None:
        """Pushes a message that must get no answer: waits until the bot has read it."""
        update_id = self.tg.message(text, **kw)
        await self.tg.wait_for(
            "getUpdates", lambda c: int(c.params.get("offset", 0)) > update_id, ok=None
        )
        await asyncio.sleep(0.2)


@pytest.fixture
async def running(bot_settings: Settings, tg: FakeTelegram) -> AsyncIterator[RunningBot]:
    bot = await RunningBot(bot_settings, tg).start()
    try:
        yield bot
    finally:
        await bot.stop()
