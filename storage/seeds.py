"""Article files: plain text or Markdown, the Russian.news.cn page shape, JSON and JSON Lines."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol

from bot.clock import as_utc
from bot.errors import BadArticleFile
from bot.models import Article, NewArticle


class ArticleSink(Protocol):
    """Where seeds go: an ArticleRepo, or the article service (which also groups them)."""

    async def add(self, new: NewArticle, *, now: datetime) -> tuple[Article, bool]: ...


logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md"})
JSON_SUFFIXES = frozenset({".json", ".jsonl"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | JSON_SUFFIXES
MAX_FILE_BYTES = 20 * 1024 * 1024

# Russian.news.cn pages title themselves "Заголовок_Russian.news.cn".
_SITE_TAG = re.compile(r"\s*_((?:[A-Za-z][\w-]*\.)+[A-Za-z]{2,})\s*$")
# "2025-06-17 04:05:45丨Russian.News.Cn": Xinhua stamps pages with Beijing time.
_STAMP = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)\s*[丨|｜]\s*(\S.*?)\s*$")
_BEIJING = timezone(timedelta(hours=8))
_SOURCE_LINE = re.compile(r"^\s*(?:Источник|Source)\s*:\s*(\S.*?)\s*$", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


def _bad(path: Path, reason: str) -> BadArticleFile:
    return BadArticleFile(str(path), reason)


def _read_text(path: Path) -> str:
    if not path.exists():
        raise _bad(path, "file not found")
    if not path.is_file():
        raise _bad(path, "not a file")
    if path.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise _bad(path, "unsupported file type")
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _bad(path, "file too large")
        data = path.read_bytes()
    except OSError as exc:
        raise _bad(path, "cannot read file") from exc
    if b"\x00" in data:
        raise _bad(path, "binary file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad(path, "not UTF-8 text") from exc
    if not text.strip():
        raise _bad(path, "empty file")
    return text


def _paragraphs(lines: list[str]) -> list[str]:
    paragraphs: list[str] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    return paragraphs


def _same(a: str, b: str) -> bool:
    return _WHITESPACE.sub(" ", a).strip().casefold() == _WHITESPACE.sub(" ", b).strip().casefold()


def parse_text(content: str, *, default_source: str) -> NewArticle | None:
    """Title from the first non-empty line; single-line paragraphs right after it that
    repeat the title, carry a date stamp or an `Источник:` line are header, the rest is
    the text. None without a title or a text."""
    lines = content.splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines:
        return None
    title = lines.pop(0).strip().lstrip("#").strip()
    source = default_source
    if tag := _SITE_TAG.search(title):
        title = title[: tag.start()].strip()
        source = tag.group(1)
    published: datetime | None = None
    paragraphs = _paragraphs(lines)
    while paragraphs and "\n" not in paragraphs[0]:
        head = paragraphs[0]
        if stamp := _STAMP.match(head):
            published = _stamp_time(stamp.group(1), stamp.group(2))
            source = stamp.group(3)
        elif found := _SOURCE_LINE.match(head):
            source = found.group(1)
        elif not _same(_SITE_TAG.sub("", head), title):
            break
        paragraphs.pop(0)
    if not paragraphs or not title:
        return None
    return NewArticle(
        title=title, text="\n\n".join(paragraphs), source=source, published_at=published
    )


def _stamp_time(day: str, clock: str) -> datetime | None:
    try:
        local = datetime.fromisoformat(f"{day}T{clock}")
    except ValueError:
        return None
    return local.replace(tzinfo=_BEIJING).astimezone(UTC)


def _plain(value: str, *, one_line: bool = False) -> str:
    """Text that is HTML (RIA's own files: `<p><strong>москва, 1 дек&nbsp;&mdash; …`)
    as text; other text as it is."""
    if "<" not in value and "&" not in value:
        return value.strip()
    # Intake's HTML reader pulls in the HTTP client with its package: only when needed.
    from bot.intake.markup import html_text, looks_like_html

    if not looks_like_html(value):
        return value.strip()
    text = html_text(value)
    return " ".join(text.split()) if one_line else text


def _from_object(path: Path, item: object, where: str) -> NewArticle:
    if not isinstance(item, dict):
        raise _bad(path, f"{where}is not a JSON object")
    title, text = item.get("title"), item.get("text")
    if not isinstance(title, str) or not (title := _plain(title, one_line=True)):
        raise _bad(path, f"{where}has no title")
    if not isinstance(text, str) or not (text := _plain(text)):
        raise _bad(path, f"{where}has no text")
    source, url = item.get("source"), item.get("url")
    # `date` is what several datasets (Gazeta's, for one) call the publication time.
    published = item.get("published_at") or item.get("date")
    return NewArticle(
        title=title,
        text=text,
        source=source.strip() if isinstance(source, str) else "",
        url=(url.strip() or None) if isinstance(url, str) else None,
        published_at=_iso_time(path, published, where),
    )


def _iso_time(path: Path, value: object, where: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _bad(path, f"{where}has a bad published_at")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as exc:
        raise _bad(path, f"{where}has a bad published_at") from exc
    try:
        # A time without an offset is taken as UTC, the way the store keeps it.
        return as_utc(parsed)
    except OverflowError:
        # Year 9999 west of UTC has no UTC form; the store clamps such dates anyway.
        return parsed.replace(tzinfo=UTC)


def _loads(path: Path, text: str, where: str = "") -> object:
    """One JSON document. Python's parser recurses per level of nesting: a file of
    5,000 nested brackets (10 KB) would otherwise end in RecursionError."""
    try:
        return json.loads(text)
    except RecursionError as exc:
        raise _bad(path, f"{where}JSON nested too deeply") from exc


def _parse_json(path: Path, content: str) -> list[NewArticle]:
    try:
        data = _loads(path, content)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data":
            # More than one document: a `.json` file that holds JSON lines.
            return _parse_jsonl(path, content)
        raise _bad(path, f"invalid JSON on line {exc.lineno}") from exc
    items = data if isinstance(data, list) else [data]
    if not items:
        raise _bad(path, "no articles in file")
    many = len(items) > 1
    return [
        _from_object(path, item, f"item {n}: " if many else "")
        for n, item in enumerate(items, start=1)
    ]


def _jsonl_items(path: Path, content: str) -> list[tuple[object, NewArticle]]:
    """Each article of a JSON-lines text with its `id`, else its line number."""
    found: list[tuple[object, NewArticle]] = []
    for n, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = _loads(path, line, f"line {n}: ")
        except ValueError as exc:
            raise _bad(path, f"invalid JSON on line {n}") from exc
        key = item.get("id", n) if isinstance(item, dict) else n
        found.append((key if key is not None else n, _from_object(path, item, f"line {n}: ")))
    if not found:
        raise _bad(path, "no articles in file")
    return found


def _parse_jsonl(path: Path, content: str) -> list[NewArticle]:
    return [article for _, article in _jsonl_items(path, content)]


def read_jsonl_with_ids(path: Path) -> list[tuple[object, NewArticle]]:
    """The articles of a JSON-lines file, each with its `id`, else its line number."""
    path = Path(path)
    return _jsonl_items(path, _read_text(path))


def read_article_file(path: Path) -> list[NewArticle]:
    """The articles in one file; raises BadArticleFile with a short reason."""
    path = Path(path)
    content = _read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _parse_json(path, content)
    if suffix == ".jsonl":
        return _parse_jsonl(path, content)
    # A file that names no source has none: its file name ("ria_00") is not an outlet.
    article = parse_text(content, default_source="")
    if article is None:
        raise _bad(path, "no title or no text")
    return [article]


def article_files(folder: Path) -> list[Path]:
    """Supported files under `folder`, recursively and sorted, hidden ones skipped."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
        and path.is_file()
    )


def read_path(path: Path) -> list[NewArticle]:
    """The articles of a file, or of every supported file in a folder (the first bad one raises)."""
    path = Path(path)
    if path.is_dir():
        return [article for file in article_files(path) for article in read_article_file(file)]
    return read_article_file(path)


async def load_seeds(folder: Path, repo: ArticleSink, *, now: datetime) -> int:
    """Stores the seed articles that are not stored yet; returns how many were new.

    A bad file is logged and skipped: one broken seed must not keep the bot from starting.
    """
    folder = Path(folder)
    if not folder.is_dir():
        logger.warning("seeds folder %s not found; no seeds loaded", folder)
        return 0
    created = 0
    for file in article_files(folder):
        try:
            articles = read_article_file(file)
        except BadArticleFile as exc:
            logger.warning("skipping seed %s: %s", exc.path, exc.reason)
            continue
        for article in articles:
            _, is_new = await repo.add(article, now=now)
            created += is_new
    logger.info("seeds: %d new article(s) from %s", created, folder)
    return created
