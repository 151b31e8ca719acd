"""`python -m bot`: parse the command line, load Settings, run."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot import texts
from bot.config import Settings
from bot.errors import BadSentenceCount, SvodkaError
from bot.models import Article, NewArticle

if TYPE_CHECKING:
    from bot.intake.service import ArticleSink
    from storage.articles import ArticleRepo
    from storage.db import Database


class CliError(Exception):
    """One line for stderr and a non-zero exit."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bot", description="Сводка: новости кратко.")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("run", help="запустить бота (long polling или webhook)")
    console = sub.add_parser("console", help="офлайн-чат с ботом, без токена и сети")
    console.add_argument("--once", metavar="TEXT", help="ответить на одну строку и выйти")
    ingest = sub.add_parser("ingest", help="добавить статьи из файлов, папок, лент и страниц")
    ingest.add_argument("paths", nargs="+", metavar="PATH_OR_URL")
    summary = sub.add_parser("summarize", help="краткое изложение статьи")
    summary.add_argument("target", metavar="PATH_OR_ID")
    summary.add_argument("--algorithm", "-a", default=None)
    summary.add_argument("--sentences", "-n", default=None)
    points = sub.add_parser("points", help="главные тезисы статьи")
    points.add_argument("target", metavar="PATH_OR_ID")
    backup = sub.add_parser("backup", help="копия базы данных (в том числе при работающем боте)")
    backup.add_argument("path", metavar="PATH")
    backup.add_argument("--force", action="store_true", help="перезаписать существующий файл")
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
    """The bot token, its secret half on its own, and the webhook secret."""
    found: list[str] = []
    if settings.bot_token is not None:
        token = settings.bot_token.get_secret_value().strip()
        found += [token, token.partition(":")[2]]
    if settings.webhook_secret is not None:
        found.append(settings.webhook_secret.get_secret_value())
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
        raise CliError(f"ошибка настройки {field}: {first['msg']}") from exc


def now() -> datetime:
    return datetime.now(UTC)


async def _open_store(settings: Settings) -> tuple[Database, ArticleRepo]:
    from storage.articles import ArticleRepo
    from storage.db import Database

    db = await Database.open(settings.database_path)
    return db, ArticleRepo(db)


async def _article(settings: Settings, target: str) -> Article | NewArticle:
    """A file is read without being stored; a number is looked up in the store."""
    from storage.seeds import load_seeds, read_article_file

    path = Path(target)
    if not target.strip().isdigit() or await asyncio.to_thread(path.exists):
        articles = read_article_file(path)
        if len(articles) != 1:
            raise CliError(f"в файле {target} {texts.articles_count(len(articles))}, нужна одна")
        return articles[0]
    db, repo = await _open_store(settings)
    try:
        await load_seeds(settings.seeds_dir, repo, now=now())
        article = await repo.get(int(target))
    finally:
        await db.close()
    if article is None:
        raise CliError(f"статьи с номером {target} нет")
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
    from bot.services import parse_algorithm, parse_sentences

    algorithm = parse_algorithm(args.algorithm) if args.algorithm else settings.summary_algorithm
    if args.sentences is not None:
        value = str(args.sentences)
        if not value.strip().isdigit() or int(value) < 1:
            raise BadSentenceCount(value)
        count = parse_sentences(value) if int(value) <= 20 else int(value)
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


async def ingest_command(settings: Settings, args: argparse.Namespace) -> None:
    from bot.intake import check_url
    from storage.seeds import read_path

    urls = [check_url(p) for p in args.paths if "://" in p]
    # Read everything first: a bad path stops the command before anything is stored.
    batches = [(p, read_path(Path(p))) for p in args.paths if "://" not in p]
    db, repo = await _open_store(settings)
    try:
        from bot.services import ArticleService
        from storage.cache import SummaryCache
        from storage.chats import ChatRepo

        service = ArticleService(repo, SummaryCache(db), ChatRepo(db), settings)
        for path, articles in batches:
            new = 0
            for item in articles:
                _, created = await service.add(item, now=now())
                new += created
            print(f"{path}: {texts.articles_count(len(articles))}, новых {new}")
        if urls:
            await _ingest_urls(urls, db, service)
    finally:
        await db.close()


async def _ingest_urls(urls: list[str], db: Database, service: ArticleSink) -> None:
    """Feeds and pages; one URL that fails is reported and the others still go in."""
    from bot.intake import Fetcher, IntakeService
    from storage.feeds import FeedRepo

    intake = IntakeService(Fetcher(), service, FeedRepo(db))
    await intake.start()
    failed = 0
    try:
        for url in urls:
            try:
                result = await intake.ingest_url(url, now=now())
            except SvodkaError as exc:
                failed += 1
                print(f"ошибка: {plain(texts.error_text(exc))}", file=sys.stderr)
                continue
            print(f"{url}: {texts.articles_count(len(result.items))}, новых {len(result.added)}")
            for item in result.added:
                if note := texts.language_note(item.lang):
                    print(f"  №{item.article.id}: {note}")
    finally:
        await intake.close()
    if failed:
        raise CliError(f"не загружено адресов: {failed} из {len(urls)}")


def backup_command(settings: Settings, args: argparse.Namespace) -> None:
    """A consistent copy of the live database through SQLite's online backup API: it
    reads one snapshot while the bot keeps writing (WAL readers do not block writers)."""
    import os
    import sqlite3

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
    # Written beside the target and renamed when complete, so a copy cut short (disk
    # full, Ctrl+C) never passes for a good one and --force never loses the old copy early.
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        # Read-only: a backup must not be able to change the live database.
        live = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            copy = sqlite3.connect(partial)
            try:
                live.backup(copy)
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
                articles = copy.execute("SELECT count(*) FROM articles").fetchone()[0]
            finally:
                copy.close()
        finally:
            live.close()
        if check != "ok":
            raise CliError(texts.BACKUP_FAILED.format(reason=check))
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise CliError(texts.BACKUP_FAILED.format(reason=exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    print(
        texts.BACKUP_DONE.format(
            path=target,
            articles=texts.articles_count(int(articles)),
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
                raise CliError(
                    "не задан BOT_TOKEN: скопируйте .env.example в .env и впишите токен, "
                    "или попробуйте бота без сети: python -m bot console"
                ) from None
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
    except CliError as exc:
        print(f"ошибка: {exc}", file=sys.stderr)
        return 2
    except SvodkaError as exc:
        print(f"ошибка: {plain(texts.error_text(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
