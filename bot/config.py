"""Settings read from the environment or `.env`; `.env.example` mirrors every field."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.nlp import ALGORITHMS
from bot.parsing import check_timezone, parse_hhmm


def _split_list(value: object) -> object:
    if isinstance(value, str):
        return [part for part in value.replace(";", ",").replace(" ", ",").split(",") if part]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/svodka.sqlite3")
    # postgresql://user:password@host:port/database: the store on PostgreSQL instead of
    # DATABASE_PATH. A secret, since it may carry the password.
    database_url: SecretStr | None = None
    seeds_dir: Path = Path("seeds")
    default_timezone: str = "Europe/Moscow"
    digest_time: time = time(9, 0)
    digest_grace_hours: float = Field(default=3.0, ge=0, le=23)
    # Stories a digest tells; the rest are listed by /stories. Telegram shows at most
    # eight buttons in a row, and a digest has one row, a button per story.
    digest_stories: int = Field(default=7, ge=1, le=8)
    summary_algorithm: str = "lexrank"
    summary_sentences: int = Field(default=3, ge=1, le=50)
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    feeds: Annotated[list[str], NoDecode] = Field(default_factory=list)
    feed_poll_minutes: int = Field(default=30, ge=1)
    # 1: digests are sent with allow_paid_broadcast (Telegram charges Stars for those over
    # the free 30 a second) and the sender's overall limit rises to 1,000 a second.
    paid_broadcast: bool = False
    # The share of the bot's overall limit (30 a second, 1,000 with PAID_BROADCAST) this
    # process's sender may use: Telegram counts the bot, not the process, so N processes
    # sending at once take 1/N each (or shares that add up to at most 1).
    sender_share: float = Field(default=1.0, gt=0, le=1)
    # With several processes on one PostgreSQL store, how often a follower tries to take
    # over scheduled work: a dead leader is replaced within about this long.
    leader_retry_seconds: float = Field(default=5.0, gt=0, le=300)
    # How long a sender's claim on a ledger message lasts: a process that dies holding one
    # leaves that message to the others after this long. Longer than any one send (its
    # retries and 429 waits included): another process that answers in the same chat
    # would take a slow send over and send it twice. At most a day, when an undelivered
    # message is dropped anyway.
    delivery_lease_seconds: float = Field(default=600.0, ge=1, le=86_400)
    # Off, the fetcher reaches public addresses only: a link in a feed or from a user
    # must not make the bot read its own machine or network.
    fetch_allow_private: bool = False
    max_article_chars: int = Field(default=200_000, ge=1000)
    # Pages anyone may have summarised by sending a link, per person and minute: each is
    # a fetch and a summary.
    links_per_minute: int = Field(default=3, ge=1)
    # Flood control per user: `flood_burst` commands at once, then `flood_rate` a second.
    flood_burst: int = Field(default=5, ge=1)
    flood_rate: float = Field(default=1.0, gt=0)
    # Off: no message shows a preview of its links.
    link_previews: bool = False
    # Alerts (/alerts on): at most this many a chat in any hour; the rest wait for the digest.
    alerts_per_hour: int = Field(default=6, ge=1, le=60)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = 8080
    log_level: str = "INFO"

    @field_validator("bot_token", "webhook_url", "webhook_secret", "database_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `.env.example` lists these as `NAME=`; an empty value means "not set".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("default_timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("digest_time", mode="before")
    @classmethod
    def _time(cls, value: object) -> object:
        return parse_hhmm(value) if isinstance(value, str) else value

    @field_validator("summary_algorithm")
    @classmethod
    def _algorithm(cls, value: str) -> str:
        name = value.strip().lower()
        if name not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {value!r}; choose one of {', '.join(ALGORITHMS)}")
        return name

    @field_validator("admin_ids", "feeds", mode="before")
    @classmethod
    def _list(cls, value: object) -> object:
        return _split_list(value)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            # The value may hold a password: not repeated in the message.
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("webhook_url", "telegram_api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value
