"""`python -m bot`: parse the command line, load Settings, run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot import lazy_imports, texts
from bot.config import Settings
from bot.errors import SvodkaError
from bot.models import Article, NewArticle
from bot.parsing import is_digits
from storage.db import StoreFileRefused, StoreUnavailable

if TYPE_CHECKING:
    from bot.root import Services


class CliError(Exception):
    """One line for stderr and a non-zero exit."""


def parser() -> argparse.ArgumentParser:
    help = texts.CLI_HELP
    p = argparse.ArgumentParser(prog="python -m bot", description=texts.CLI_DESCRIPTION)
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help=help["run"])
    console = sub.add_parser("console", help=help["console"])
    console.add_argument("--once", metavar="TEXT", help=help["console --once"])
    ingest = sub.add_parser("ingest", help=help["ingest"])
    ingest.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    summary = sub.add_parser("summarize", help=help["summarize"])
    summary.add_argument("target", metavar="PATH_OR_ID")
    summary.add_argument("--algorithm", "-a", default=None)
    summary.add_argument("--sentences", "-n", default=None)
    points = sub.add_parser("points", help=help["points"])
    points.add_argument("target", metavar="PATH_OR_ID")
    backup = sub.add_parser("backup", help=help["backup"])
    backup.add_argument("path", metavar="PATH")
    backup.add_argument("--force", action="store_true", help=help["backup --force"])
    sub.add_parser("migrate", help=help["migrate"])
    copy = sub.add_parser("copy-store", help=help["copy-store"])
    copy.add_argument("source", metavar="SQLITE_PATH")
    stories = sub.add_parser("stories", help=help["stories"])
    stories.add_argument("file", nargs="?", metavar="FILE.jsonl")
    stories.add_argument("--json", action="store_true", help=help["stories --json"])
    return p


class RedactSecrets(logging.Filter):
    """Replaces secrets in log records before any handler writes them.

    The Bot API puts the token in the URL path, and aiohttp names the URL in some errors
    (a redirect loop behind a misconfigured TELEGRAM_API_URL, for one), which aiogram
    then logs as "Failed to fetch updates - ...". Installed on handlers, so it sees the
    records of every logger, aiogram's and aiohttp's included.
    """

    MASK = "***"

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Longest first, so a token is masked whole before its secret half is looked for.
        self.secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, self.MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text once it is set: format the traceback here, masked.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def secrets_of(settings: Settings) -> list[str]:
    """The bot token, its secret half on its own, the webhook secret and the database
    password."""
    from urllib.parse import unquote, urlsplit

    found: list[str] = []
    if settings.bot_token is not None:
        token = settings.bot_token.get_secret_value().strip()
        found += [token, token.partition(":")[2]]
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
    if settings.database_url is not None:
        password = urlsplit(settings.database_url.get_secret_value()).password
        found += [password, unquote(password)] if password else []
    return [s for s in found if s]


def redact_secrets_in_logs(
    settings: Settings, handlers: Iterable[logging.Handler] | None = None
) -> RedactSecrets:
    """Masks the token and webhook secret in everything the given handlers (by default
    the root logger's) write."""
    redactor = RedactSecrets(secrets_of(settings))
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.addFilter(redactor)
    return redactor


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]).upper()
        raise CliError(texts.CLI_BAD_SETTING.format(field=field, reason=first["msg"])) from exc


async def _article(settings: Settings, target: str) -> Article | NewArticle:
    """A file is read without being stored; a number is looked up in the store."""
    from bot.root import open_services
    from storage.seeds import read_article_file

    path = Path(target)
    if not is_digits(target.strip(), max_len=20) or await asyncio.to_thread(path.exists):
        articles = read_article_file(path)
        if len(articles) != 1:
            count = texts.articles_count(len(articles))
            raise CliError(texts.CLI_NOT_ONE_ARTICLE.format(path=target, count=count))
        return articles[0]
    services = await open_services(settings)
    try:
        await services.load_seeds()
        article = await services.articles.get(int(target))
    finally:
        await services.close()
    if article is None:
        raise CliError(texts.CLI_NO_ARTICLE.format(number=target))
    return article


def _print_header(article: Article | NewArticle) -> None:
    number = f"№{article.id} " if isinstance(article, Article) else ""
    print(f"{number}{article.title}")
    meta = [m for m in (article.source, article.url) if m]
    if article.published_at:
        meta.insert(0, article.published_at.isoformat(timespec="minutes"))
    if meta:
        print(" · ".join(meta))
    print()


async def summarize_command(settings: Settings, args: argparse.Namespace) -> None:
    from bot.nlp.summarizer import summarize
    from bot.parsing import parse_algorithm, parse_sentences

    algorithm = parse_algorithm(args.algorithm) if args.algorithm else settings.summary_algorithm
    if args.sentences is not None:
        # Unlike a chat, the command line may ask for a summary of any length.
        count = parse_sentences(str(args.sentences), limit=None)
    else:
        count = settings.summary_sentences
    article = await _article(settings, args.target)
    sentences = summarize(article.text, algorithm=algorithm, sentences=count)
    _print_header(article)
    for sentence in sentences:
        print(sentence)


async def points_command(settings: Settings, args: argparse.Namespace) -> None:
    from bot.nlp.points import extract_points

    article = await _article(settings, args.target)
    points = extract_points(article.text, algorithm=settings.summary_algorithm)
    _print_header(article)
    print(texts.POINTS_LABEL if points.enumerated else plain(texts.THESES_LABEL))
    for n, point in enumerate(points.items, 1):
        print(f"{n}. {point.text}")


def plain(markup: str) -> str:
    """A reply's HTML as terminal text. bot.render pulls in aiogram, which one-shot
    commands otherwise never load: imported only when a line is printed."""
    from bot.render import strip_tags

    return strip_tags(markup)


def error_line(exc: SvodkaError) -> str:
    return texts.CLI_ERROR.format(message=plain(texts.error_text(exc)))


async def ingest_command(settings: Settings, args: argparse.Namespace) -> None:
    from bot.intake import check_url
    from bot.root import open_services
    from storage.seeds import read_path

    urls = [check_url(p) for p in args.paths if "://" in p]
    # Read everything first: a bad path stops the command before anything is stored.
    batches = [(p, read_path(Path(p))) for p in args.paths if "://" not in p]
    services = await open_services(settings)
    try:
        for path, articles in batches:
            stored = await services.articles.add_many(articles, now=services.clock())
            new = sum(created for _, created in stored)
            count = texts.articles_count(len(articles))
            print(texts.CLI_INGESTED.format(source=path, count=count, new=new))
        if urls:
            await _ingest_urls(urls, services)
    finally:
        await services.close()


async def _ingest_urls(urls: list[str], services: Services) -> None:
    """Feeds and pages; one URL that fails is reported and the others still go in."""
    intake = services.intake
    await intake.start()
    failed = 0
    for url in urls:
        try:
            result = await intake.ingest_url(url, now=services.clock())
        except SvodkaError as exc:
            failed += 1
            print(error_line(exc), file=sys.stderr)
            continue
        count = texts.articles_count(len(result.items))
        print(texts.CLI_INGESTED.format(source=url, count=count, new=len(result.added)))
        for item in result.added:
            if note := texts.language_note(item.lang):
                print(f"  №{item.article.id}: {note}")
        if result.warning:
            print(f"  {plain(texts.FEED_RECOVERED)}")
        for line in texts.entry_notes(result.notes, limit=len(result.notes)):
            print(f"  {plain(line)}")
    if failed:
        raise CliError(texts.CLI_URLS_FAILED.format(failed=failed, total=len(urls)))


async def migrate_command(settings: Settings) -> None:
    """Opening the store applies its pending migrations; this says what they were."""
    from storage.db import open_database

    db = await open_database(settings)
    try:
        version = await db.schema_version()
        where = db.describe()
    finally:
        await db.close()
    if db.migrated_from == version:
        print(texts.MIGRATED.format(where=where, version=version))
    else:
        print(texts.MIGRATED_FROM.format(where=where, before=db.migrated_from, version=version))


async def copy_store_command(settings: Settings, args: argparse.Namespace) -> None:
    from storage.db import open_database
    from storage.postgres import PostgresDatabase
    from storage.transfer import SourceUnreadable, TargetNotEmpty, copy_sqlite_to_postgres

    if settings.database_url is None:
        raise CliError(texts.COPY_NEEDS_POSTGRES)
    source = Path(args.source)
    db = await open_database(settings)
    assert isinstance(db, PostgresDatabase)
    try:
        copied = await copy_sqlite_to_postgres(source, db)
    except SourceUnreadable as exc:
        raise CliError(texts.COPY_SOURCE_UNREADABLE.format(path=source, reason=exc)) from None
    except TargetNotEmpty as exc:
        raise CliError(
            texts.COPY_TARGET_NOT_EMPTY.format(where=db.describe(), table=exc.table)
        ) from None
    finally:
        await db.close()
    tables = ", ".join(f"{table} {count}" for table, count in copied.items())
    print(texts.COPY_DONE.format(path=source, where=db.describe(), tables=tables))


async def stories_command(settings: Settings, args: argparse.Namespace) -> None:
    """A file's articles grouped into stories, nothing stored; or the store's stories
    of the last 24 hours."""
    if args.file is None:
        await _stored_stories(settings)
        return
    import json

    from bot.clock import utc_now
    from bot.nlp.stories.cluster import group
    from bot.nlp.stories.features import extract
    from bot.nlp.stories.text import headline
    from storage.seeds import read_jsonl_with_ids

    items = read_jsonl_with_ids(Path(args.file))
    # An undated article's time is when it would have been stored: now.
    now = utc_now()
    dated = [
        _Listed(key, new.title, new.text, new.source, new.published_at or now) for key, new in items
    ]
    keys = group([extract(a.title, a.text, time=a.date, source=a.source) for a in dated])
    if args.json:
        for article, key in zip(dated, keys, strict=True):
            print(json.dumps({"id": article.id, "story": key}, ensure_ascii=False))
        return
    members: dict[int, list[_Listed]] = {}
    for article, key in zip(dated, keys, strict=True):
        members.setdefault(key, []).append(article)
    # The widest-told stories first; within one, in time order.
    order = sorted(
        members, key=lambda k: (-len({a.source for a in members[k]}), -len(members[k]), k)
    )
    for key in order:
        found = sorted(members[key], key=lambda a: a.date)
        outlets = len({a.source for a in found})
        print(
            texts.CLI_STORY.format(
                key=key,
                headline=headline(found),
                articles=texts.articles_count(len(found)),
                outlets=outlets,
                outlets_word=texts.outlets_word(outlets),
            )
        )
        for article in found:
            print(
                texts.CLI_STORY_ARTICLE.format(
                    id=article.id, source=article.source or "—", title=article.title
                )
            )


@dataclass(frozen=True, slots=True)
class _Listed:
    id: object
    title: str
    text: str
    source: str
    date: datetime


async def _stored_stories(settings: Settings) -> None:
    from datetime import timedelta

    from bot.root import open_services

    services = await open_services(settings)
    try:
        now = services.clock()
        listed, more = await services.stories.listing(now - timedelta(hours=24), now=now)
    finally:
        await services.close()
    if not listed:
        print(texts.CLI_NO_STORIES)
        return
    for number, story in listed:
        outlets = story.outlets
        print(
            texts.CLI_STORED_STORY.format(
                n=number,
                headline=story.headline,
                articles=texts.articles_count(story.article_count),
                outlets=texts.outlets_text(outlets),
            )
        )
    if more:
        print(texts.CLI_MORE_STORIES.format(n=more, word=texts.stories_word(more)))


def backup_command(settings: Settings, args: argparse.Namespace) -> None:
    """A consistent copy of the live database, also while the bot runs."""
    from storage.backup import BackupFailed, copy_database

    if settings.database_url is not None:
        raise CliError(texts.BACKUP_POSTGRES)

    source = Path(settings.database_path)
    target = Path(args.path)
    if not source.is_file():
        raise CliError(texts.BACKUP_NO_DATABASE.format(path=source))
    if not target.parent.is_dir():
        raise CliError(texts.BACKUP_NO_FOLDER.format(path=target.parent))
    if target.exists():
        if target.resolve() == source.resolve():
            raise CliError(texts.BACKUP_SAME_FILE)
        if target.is_dir():
            raise CliError(texts.BACKUP_IS_FOLDER.format(path=target))
        if not args.force:
            raise CliError(texts.BACKUP_EXISTS.format(path=target))
    try:
        articles = copy_database(source, target)
    except BackupFailed as exc:
        raise CliError(texts.BACKUP_FAILED.format(reason=exc.reason)) from None
    print(
        texts.BACKUP_DONE.format(
            path=target,
            articles=texts.articles_count(articles),
            size=texts.size_text(target.stat().st_size),
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = args.command or "run"
    try:
        settings = load_settings()
        # The console and one-shot commands print replies: only problems go to the log.
        level = settings.log_level if command == "run" else "WARNING"
        logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        # aiogram logs network errors whose text may hold the request URL, token included.
        redactor = redact_secrets_in_logs(settings)
        if command == "run":
            from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

            from bot.app import MissingToken, run

            try:
                asyncio.run(run(settings))
            except MissingToken:
                raise CliError(texts.CLI_NO_TOKEN) from None
            # At start-up only: once running, aiogram's polling retries these itself.
            except TelegramUnauthorizedError:
                raise CliError(texts.TOKEN_REFUSED) from None
            except TelegramNetworkError as exc:
                reason = redactor.mask(str(exc))
                raise CliError(
                    texts.API_UNREACHABLE.format(url=settings.telegram_api_url, reason=reason)
                ) from None
        elif command == "console":
            from bot.console import run_console

            asyncio.run(run_console(settings, args.once))
        elif command == "summarize":
            asyncio.run(summarize_command(settings, args))
        elif command == "points":
            asyncio.run(points_command(settings, args))
        elif command == "ingest":
            asyncio.run(ingest_command(settings, args))
        elif command == "backup":
            backup_command(settings, args)
        elif command == "migrate":
            asyncio.run(migrate_command(settings))
        elif command == "copy-store":
            asyncio.run(copy_store_command(settings, args))
        elif command == "stories":
            asyncio.run(stories_command(settings, args))
    except StoreFileRefused as exc:
        problem = {
            "empty": texts.STORE_FILE_EMPTY,
            "damaged": texts.STORE_FILE_DAMAGED,
        }.get(exc.problem, texts.STORE_FILE_READONLY).format(path=exc.where, reason=exc.reason)
        message = texts.STORE_FILE_RESTORE.format(problem=problem)
        print(texts.CLI_ERROR.format(message=message), file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        message = texts.STORE_UNAVAILABLE.format(where=exc.where, reason=exc.reason)
        print(texts.CLI_ERROR.format(message=message), file=sys.stderr)
        return 2
    except CliError as exc:
        print(texts.CLI_ERROR.format(message=exc), file=sys.stderr)
        return 2
    except SvodkaError as exc:
        print(error_line(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


def entry() -> int:
    """`python -m bot` and the `svodka` script: main() with lighter imports of aiogram
    and nltk, installed before anything imports them (bot/lazy_imports.py says what
    they buy and what they rely on)."""
    lazy_imports.install()
    return main()


if __name__ == "__main__":
    sys.exit(entry())
