from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.config import Settings, parse_hhmm

ROOT = Path(__file__).resolve().parent.parent


def test_env_example_names_every_setting() -> None:
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}
    assert names == fields


def test_env_example_as_is_is_valid(tmp_path: Path) -> None:
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]
    assert settings.bot_token is None
    assert settings.webhook_url is None
    assert settings.admin_ids == []


def test_lists_and_times_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "1, 22;333")
    monkeypatch.setenv("DIGEST_TIME", "7:05")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.admin_ids == [1, 22, 333]
    assert settings.digest_time == time(7, 5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("DIGEST_TIME", "25:99"),
        ("SUMMARY_ALGORITHM", "gpt"),
        ("SUMMARY_SENTENCES", "0"),
        ("TELEGRAM_API_URL", "ftp://example"),
        ("DATABASE_URL", "mysql://user:pw@host/db"),
        ("DATABASE_URL", "data/svodka.sqlite3"),
        ("DELIVERY_LEASE_SECONDS", "0"),
        ("DELIVERY_LEASE_SECONDS", "100000"),
    ],
)
def test_bad_settings_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("value", ["9", "9:5", "24:00", "12:60", "-1:00", "ab:cd", "123:00", ""])
def test_parse_hhmm_refuses_malformed_times(value: str) -> None:
    with pytest.raises(ValueError):
        parse_hhmm(value)


def test_parse_hhmm_accepts_single_digit_hour() -> None:
    assert parse_hhmm("9:30") == time(9, 30)
    assert parse_hhmm(" 23:59 ") == time(23, 59)


def test_database_url_is_a_secret_and_blank_means_sqlite(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.__main__ import secrets_of

    monkeypatch.setenv("DATABASE_URL", "")
    assert Settings(_env_file=None).database_url is None  # type: ignore[call-arg]
    monkeypatch.setenv("DATABASE_URL", "postgresql://svodka:p%40ss-word@db:5432/svodka")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert "p%40ss" not in repr(settings)
    # Masked in the logs, as written in the URL and as the server would see it.
    assert {"p%40ss-word", "p@ss-word"} <= set(secrets_of(settings))
