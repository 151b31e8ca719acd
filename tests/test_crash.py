"""Crashes and failures: `python -m bot` killed with SIGKILL mid-work leaves a sound store
and loses nothing on restart; failures are logged with their update and chat, and the
token never reaches a log line or the terminal."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import sqlite3
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

from bot import texts
from bot.__main__ import RedactSecrets, main, redact_secrets_in_logs
from bot.config import Settings
from storage.db import Database
from storage.subscriptions import SubscriptionRepo
from tests.botapi import FakeTelegram
from tests.conftest import SEEDS_DIR, TOKEN, RunningBot
from tests.processes import SETTINGS, bot_process, environment, wait_until

SEED_WORDS = sorted(
    {w for w in (SEEDS_DIR / "000_04ae095c1d503094.txt").read_text("utf-8").split() if w.isalpha()}
)
SECRET_HALF = TOKEN.partition(":")[2]


def write_articles(
    folder: Path, count: int, *, seed: int, sentence_words: int = 12, title_words: int = 0
) -> None:
    """Distinct Russian-looking articles, one file each; `title_words` lengthens titles."""
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    for n in range(count):
        sentences = [
            " ".join(rnd.choice(SEED_WORDS) for _ in range(sentence_words)).capitalize() + "."
            for _ in range(6)
        ]
        extra = " ".join(rnd.choice(SEED_WORDS) for _ in range(title_words))
        (folder / f"{n:04d}.txt").write_text(
            f"Статья {seed}-{n} {extra}".rstrip() + f"\n\n{' '.join(sentences)}\n",
            encoding="utf-8",
        )


def store_is_sound(path: Path) -> int:
    """Checks what a crash must never leave behind; returns the number of articles."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        unindexed = conn.execute(
            "SELECT count(*) FROM articles WHERE id NOT IN (SELECT rowid FROM articles_fts)"
        ).fetchone()[0]
        orphaned = conn.execute(
            "SELECT count(*) FROM articles_fts WHERE rowid NOT IN (SELECT id FROM articles)"
        ).fetchone()[0]
        empty = conn.execute(
            "SELECT count(*) FROM articles WHERE trim(text) = '' OR trim(title) = ''"
        ).fetchone()[0]
        duplicates = conn.execute(
            "SELECT count(*) - count(DISTINCT content_hash) FROM articles"
        ).fetchone()[0]
        articles = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    conn.close()
    assert (unindexed, orphaned, empty, duplicates) == (0, 0, 0, 0)
    return int(articles)


def count_articles(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0  # not created yet, or the schema not yet migrated


# --- ingest, killed mid-way ----------------------------------------------------------------


async def test_ingest_killed_mid_way_leaves_a_sound_store_and_a_rerun_completes_it(
    tmp_path: Path,
) -> None:
    total = 240
    folder = tmp_path / "articles"
    write_articles(folder, total, seed=1)
    env = environment(tmp_path)
    database = Path(env["DATABASE_PATH"])
    log = tmp_path / "ingest.log"
    async with bot_process(env, tmp_path, log, "ingest", str(folder)) as process:

        def progressed() -> bool:
            assert process.returncode is None, "ingest ended before it could be killed"
            return count_articles(database) >= 30

        await wait_until(progressed, 30, "ingest to make progress")
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    stored = store_is_sound(database)
    assert 30 <= stored < total, "the kill did not land mid-way"
    async with bot_process(env, tmp_path, log, "ingest", str(folder)) as rerun:
        assert await asyncio.wait_for(rerun.wait(), 60) == 0
    assert store_is_sound(database) == total
    output = log.read_text(encoding="utf-8")
    assert f"новых {total - stored}" in output


# --- a digest, killed while it is being sent -------------------------------------------------


def digest_seeds(folder: Path) -> None:
    # Distinct articles with long titles and sentences, eight stories told at length: a
    # digest of two messages, so that one chat's digest can be caught half-sent.
    write_articles(folder, 24, seed=2, sentence_words=45, title_words=30)


def runs(path: Path) -> dict[int, str]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute("SELECT chat_id, status FROM digest_runs").fetchall()
    finally:
        conn.close()
    return {int(chat): str(status) for chat, status in rows}


def unsent(path: Path) -> dict[int, int]:
    conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1)
    try:
        rows = conn.execute(
            "SELECT chat_id, count(*) FROM outbox WHERE status = 'pending' GROUP BY chat_id"
        ).fetchall()
    finally:
        conn.close()
    return {int(chat): int(count) for chat, count in rows}


async def test_digest_killed_mid_send_sends_only_the_rest_and_no_subscription_is_lost(
    tmp_path: Path, tg: FakeTelegram
) -> None:
    done_a, done_b, slow = 3001, 3002, 3003
    chats = (done_a, done_b, slow)
    digest_seeds(tmp_path / "seeds")
    env = environment(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=tg.url, DIGEST_STORIES="8")
    database = Path(env["DATABASE_PATH"])
    # Subscribed before the start, with today's digest two minutes overdue: the start-up
    # catch-up sends it at once.
    now = datetime.now(UTC)
    due_at = (now - timedelta(minutes=2)).replace(second=0, microsecond=0)
    due = due_at.time()
    db = await Database.open(database)
    try:
        subscriptions = SubscriptionRepo(db)
        for chat in chats:
            await subscriptions.subscribe(
                chat, due, "UTC", chat, now=now - timedelta(days=1), due_at=due_at
            )
    finally:
        await db.close()

    def titles(chat: int) -> int:
        return sum(1 for c in tg.sent(chat) if "Сводка за" in str(c.result["text"]))

    log_path = tmp_path / "bot.log"
    async with bot_process(env, tmp_path, log_path) as first:
        await wait_until(lambda: tg.sent(slow), 20, "the slow chat's first message")
        # Every further message to it waits out a 429 that outlasts the process.
        tg.fail("sendMessage", error_code=429, retry_after=60, chat_id=slow, times=None)
        await wait_until(
            lambda: len(runs(database)) == 3 and set(unsent(database)) == {slow},
            20,
            "two chats' digests to complete",
        )
        first.send_signal(signal.SIGKILL)
        await first.wait()
    # Every digest was recorded whole before its first send; the slow one's rest waits.
    assert runs(database) == dict.fromkeys(chats, "sent")
    assert len(tg.sent(slow)) == 1, "the slow chat's digest was not caught half-sent"
    parts = len(tg.sent(done_a))
    assert parts >= 2
    assert unsent(database) == {slow: parts - 1}
    before = {chat: len(tg.sent(chat)) for chat in chats}
    tg.clear_faults()

    async with bot_process(env, tmp_path, log_path) as second:
        await wait_until(lambda: not unsent(database), 20, "the rest of the slow digest")
        await asyncio.sleep(0.5)  # anything sent twice would show up by now
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 15) == 0

    after = {chat: tg.sent(chat)[before[chat] :] for chat in chats}
    # The completed digests were not sent again; the interrupted one's rest went out once.
    assert after[done_a] == [] and after[done_b] == []
    assert len(after[slow]) == parts - 1
    assert titles(slow) == 1
    assert [c.text for c in tg.sent(slow)] == [c.text for c in tg.sent(done_a)]
    assert runs(database) == dict.fromkeys(chats, "sent")
    db = await Database.open(database)
    try:
        subscriptions = SubscriptionRepo(db)
        for chat in chats:
            sub = await subscriptions.get(chat)
            assert sub is not None and sub.active, chat
        assert await subscriptions.pending_runs() == []
    finally:
        await db.close()
    output = log_path.read_text(encoding="utf-8")
    assert TOKEN not in output and SECRET_HALF not in output
    assert "Traceback" not in output


# --- what is logged ------------------------------------------------------------------------


async def test_a_failed_update_is_logged_with_its_update_and_chat_and_never_the_token(
    running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    redact_secrets_in_logs(running.settings, [caplog.handler])
    chat, group = 5150, -5150
    # Telegram fails the check of who may subscribe the group (its admins); a failed send
    # would not do, the sender retries it.
    running.tg.fail("getChatAdministrators", error_code=500, chat_id=group)
    update_id = running.tg.message("/subscribe 09:00", chat_id=group, user_id=chat)
    await wait_until(lambda: running.tg.sent(group), 10, "the apology")
    failed = [r for r in caplog.records if r.levelno == logging.ERROR and "failed" in r.msg]
    assert [r.getMessage() for r in failed] == [f"update {update_id} in chat {group} failed"]
    # The Bot API moves behind a redirect loop: aiohttp names the URL, token and all.
    async with redirect_loop() as url:
        session = running.app.bot.session
        real = session.api
        session.api = TelegramAPIServer.from_base(url)
        try:
            await wait_until(
                lambda: "Failed to fetch updates" in caplog.text, 10, "a polling failure"
            )
        finally:
            session.api = real
    assert "/bot***/getUpdates" in caplog.text
    [reply] = await running.say("/latest", user_id=chat, timeout=15)
    assert "Последние сюжеты" in str(reply.result["text"])
    assert TOKEN not in caplog.text and SECRET_HALF not in caplog.text


@asynccontextmanager
async def redirect_loop() -> AsyncIterator[str]:
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(str(request.url))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class _FakeApi(BaseHTTPRequestHandler):
    """A Bot API gone wrong: a redirect loop, or a refused token."""

    kind = "redirect"

    def do_POST(self) -> None:
        if self.kind == "redirect":
            self.send_response(307)
            self.send_header("Location", self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST

    def log_message(self, format: str, *args: object) -> None:
        return None


@contextmanager
def broken_api(kind: str) -> Iterator[str]:
    handler = type("Api", (_FakeApi,), {"kind": kind})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("kind", "message"),
    [("redirect", "нет связи с Bot API"), ("unauthorized", texts.TOKEN_REFUSED)],
    ids=["redirect-loop", "token-refused"],
)
def test_run_against_a_broken_api_says_so_in_one_line_without_the_token(
    kind: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "seeds").mkdir()
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    with broken_api(kind) as url:
        for name, value in environment(tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=url).items():
            monkeypatch.setenv(name, value)
        assert main(["run"]) == 2
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert TOKEN not in text and SECRET_HALF not in text
    assert "Traceback" not in text
    assert captured.err.count("\n") == 1 and captured.err.startswith("ошибка: ")
    assert message in captured.err


def test_redaction_masks_messages_arguments_and_tracebacks() -> None:
    settings = Settings(_env_file=None, bot_token=TOKEN)  # type: ignore[call-arg]
    redactor = RedactSecrets(["", "short", TOKEN, SECRET_HALF])
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "GET %s failed", (f"http://api/bot{TOKEN}/getMe",), None
    )
    try:
        raise RuntimeError(f"url=/bot{TOKEN}/x and {SECRET_HALF}")
    except RuntimeError:
        record.exc_info = sys.exc_info()
    assert redactor.filter(record)
    line = logging.Formatter().format(record)
    assert TOKEN not in line and SECRET_HALF not in line
    assert "GET http://api/bot***/getMe failed" in line
    assert "short" in redactor.mask("short")  # too short to be a secret worth masking
    assert set(RedactSecrets(["a" * 8]).secrets) == {"a" * 8}
    assert redact_secrets_in_logs(settings, []).secrets == [TOKEN, SECRET_HALF]
