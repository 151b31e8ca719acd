"""The conversation of tests/test_bot_e2e.py once more, with the store on PostgreSQL: the
production app polling FakeTelegram on 127.0.0.1, each test on a new database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import Settings
from tests import test_bot_e2e
from tests.botapi import FakeTelegram
from tests.conftest import ADMIN_ID, SEEDS_DIR, TOKEN

pytestmark = pytest.mark.postgres

# The same test functions, collected again here, where `bot_settings` names PostgreSQL.
for _name, _test in vars(test_bot_e2e).items():
    if _name.startswith("test_"):
        globals()[_name] = _test


@pytest.fixture
def bot_settings(tmp_path: Path, tg: FakeTelegram, postgres_url: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=tg.url,
        database_url=postgres_url,
        # Set, so that a stray use of SQLite would show up as this file.
        database_path=tmp_path / "unused.sqlite3",
        seeds_dir=SEEDS_DIR,
        admin_ids=[ADMIN_ID],
        flood_burst=10_000,
    )


async def test_the_bot_on_postgres_writes_no_sqlite_file(
    running: test_bot_e2e.RunningBot, tmp_path: Path
) -> None:
    [reply] = await running.say("/search Казахстан")
    assert "№\u00a01" in test_bot_e2e.shown(reply)
    assert running.app.services.db.dialect == "postgres"
    assert not (tmp_path / "unused.sqlite3").exists()
