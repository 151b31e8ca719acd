"""Models -> HTML-safe messages within Telegram's 4096 UTF-16 units, with their buttons.

Every answer the bot sends is built here; long ones are split by `paginate`, the one
splitter.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
)

from bot import language, texts
from bot.models import Article, Digest, Points, SearchHit, StoryItem, Subscription, Summary
from bot.nlp.tokenizer import split_sentences

if TYPE_CHECKING:
    from bot.articles import FollowUp
    from bot.channels import Managed
    from bot.intake import EntryNote, UrlIngest
    from bot.interests import Outlet
    from bot.links import LinkAnswer
    from bot.nlp.interests import Follows
    from bot.stories import StoryText
    from bot.subscriptions import ChatOverview
    from storage.feeds import Feed

# Telegram's limit is 4096 characters of the parsed text, counted in UTF-16 code units.
MESSAGE_LIMIT = 4096
SEPARATOR = "\n\n"


# A list's button for one of its articles: its summary, the list left as it is.
OPEN = "open"


class ArticleAction(CallbackData, prefix="art"):
    action: str  # points | summary | more | full | source | open
    id: int


class StoryAction(CallbackData, prefix="story"):
    id: int


class StartAction(CallbackData, prefix="start"):
    action: str  # digest | subscribe | help


def start_keyboard() -> InlineKeyboardMarkup:
    """Under the /start welcome: today's digest, subscribe, every command."""

    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text=label, callback_data=StartAction(action=action).pack())

    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(texts.BTN_TODAY, "digest")],
            [button(texts.BTN_SUBSCRIBE, "subscribe"), button(texts.BTN_HELP, "help")],
        ]
    )


class UnfollowAction(CallbackData, prefix="unf"):
    token: str  # Interest.token


class SourceAction(CallbackData, prefix="src"):
    token: str  # Outlet.token


@dataclass(frozen=True, slots=True)
class Reply:
    """One message to send: HTML text and, on the last part of an answer, its buttons."""

    html: str
    keyboard: InlineKeyboardMarkup | None = None
    article_id: int | None = None
    # (number, story id): which story each number in the message means.
    numbers: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Piece:
    """A paragraph of plain text and how it is styled; escaping happens on output."""

    text: str
    style: str = ""  # "", "b", "i" or "quote" (an expandable blockquote)
    raw: bool = False  # already HTML from texts.py, counted by its visible length

    def html(self) -> str:
        body = self.text if self.raw else html.escape(self.text, quote=False)
        if self.style == "quote":
            return f"<blockquote expandable>{body}</blockquote>"
        return f"<{self.style}>{body}</{self.style}>" if self.style else body

    def visible(self) -> str:
        return strip_tags(self.text) if self.raw else self.text


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def strip_tags(markup: str) -> str:
    out, depth = [], 0
    for ch in markup:
        if ch == "<":
            depth += 1
        elif ch == ">" and depth:
            depth -= 1
        elif not depth:
            out.append(ch)
    return html.unescape("".join(out))


def _split_long(piece: Piece, limit: int, first: int | None = None) -> list[Piece]:
    """A paragraph over the limit is cut at sentence ends, then spaces, then anywhere;
    with `first`, the first part is at most that long (the room left in a message)."""
    units = split_sentences(piece.text) or [piece.text]
    parts: list[str] = []
    for unit in units:
        while utf16_len(unit) > limit:
            cut = unit.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            # Never cut between the halves of a surrogate pair.
            while utf16_len(unit[:cut]) > limit:
                cut -= 1
            parts.append(unit[:cut].rstrip())
            unit = unit[cut:].lstrip()
        if unit:
            parts.append(unit)
    merged: list[str] = []
    for part in parts:
        cap = first if first is not None and len(merged) == 1 else limit
        if merged and utf16_len(merged[-1]) + 1 + utf16_len(part) <= cap:
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return [Piece(text, piece.style) for text in merged]


# A paragraph is cut to fill what is left of a message only when that is at least this
# much: a few lines are better started afresh in the next message.
FILL_ROOM = 1024


def paginate(
    pieces: Iterable[Piece], limit: int = MESSAGE_LIMIT, *, separator: str = SEPARATOR
) -> list[str]:
    """Joins paragraphs (or, with `separator="\n"`, lines) into as few messages as fit,
    splitting only at paragraph or sentence boundaries where it can. A long paragraph
    that does not fit in what is left of a message fills it first, so that a message
    never holds a header alone."""
    messages: list[list[Piece]] = []
    size = 0

    def add(piece: Piece, length: int) -> None:
        nonlocal size
        if messages and size + len(separator) + length <= limit:
            messages[-1].append(piece)
            size += len(separator) + length
        else:
            messages.append([piece])
            size = length

    for piece in pieces:
        if not piece.visible().strip():
            continue
        length = utf16_len(piece.visible())
        room = limit - size - len(separator) if messages else 0
        fits = messages and length <= room
        if not piece.raw and not fits and (length > limit or room >= FILL_ROOM):
            for part in _split_long(piece, limit, room if room >= FILL_ROOM else None):
                add(part, utf16_len(part.text))
        else:
            add(piece, length)
    return [separator.join(p.html() for p in message) for message in messages]


def format_date(moment: datetime, timezone: str) -> str:
    try:
        local = moment.astimezone(ZoneInfo(timezone))
    except (OverflowError, ValueError):
        # Dates are clamped when stored, but an older store may hold year 9999 or 1,
        # which has no local time east (or west) of UTC: shown as it is, in UTC.
        local = moment
    return texts.date_time_text(local)


def header(article: Article, timezone: str) -> list[Piece]:
    meta = [texts.article_number(article.id), format_date(article.date, timezone)]
    if article.source:
        meta.append(article.source)
    pieces = [Piece(article.title, "b"), Piece(" · ".join(meta), "i")]
    if note := texts.language_note(article.lang):
        # The summarizer is tuned for Russian: a reader should know when it is not.
        pieces.append(Piece(note, "i", raw=True))
    return pieces


# Telegram's own limit for a button's URL is not documented; 2,048 is what browsers keep.
_MAX_URL = 2048


def button_url(url: str | None) -> str | None:
    """The URL as it may go on a button or a link, or None: Telegram refuses a whole
    message (BUTTON_URL_INVALID) for one bad button, so only an absolute http(s) URL
    with a host and no whitespace or control characters gets one."""
    if not url or len(url) > _MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not host:
        return None
    return url


def article_keyboard(article: Article, *, skip: str = "") -> InlineKeyboardMarkup:
    return _keyboard(article.id, button_url(article.url), skip)


# Aiogram's models are frozen, so one keyboard serves every reply about an article; it
# takes six of them and a callback-data packing per button to build one.
@lru_cache(maxsize=1024)
def _keyboard(article_id: int, url: str | None, skip: str) -> InlineKeyboardMarkup:
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=label, callback_data=ArticleAction(action=action, id=article_id).pack()
        )

    row = [
        button(label, action)
        for label, action in (
            (texts.BTN_POINTS, "points"),
            (texts.BTN_MORE, "more"),
            (texts.BTN_FULL, "full"),
        )
        if action != skip
    ]
    if skip != "summary" and skip in {"points", "more", "full"}:
        row.insert(0, button(texts.BTN_SUMMARY, "summary"))
    source = (
        InlineKeyboardButton(text=texts.BTN_SOURCE, url=url)
        if url
        else button(texts.BTN_SOURCE, "source")
    )
    return InlineKeyboardMarkup(inline_keyboard=[row[:2], [*row[2:], source]])


def _with_keyboard(article: Article, bodies: list[str], skip: str) -> list[Reply]:
    keyboard = article_keyboard(article, skip=skip)
    last = len(bodies) - 1
    return [
        Reply(body, keyboard if i == last else None, article.id) for i, body in enumerate(bodies)
    ]


def summary_reply(
    article: Article, summary: Summary, timezone: str, *, longer: bool = False
) -> list[Reply]:
    label = texts.MORE_LABEL if longer else texts.SUMMARY_LABEL
    pieces = [*header(article, timezone), Piece(label, "b")]
    pieces += [Piece(sentence) for sentence in summary.sentences]
    return _with_keyboard(article, paginate(pieces), "more" if longer else "summary")


def points_reply(article: Article, points: Points, timezone: str) -> list[Reply]:
    label = texts.POINTS_LABEL if points.enumerated else texts.THESES_LABEL
    pieces = [*header(article, timezone), Piece(label, "b")]
    pieces += [Piece(f"{n}. {point.text}") for n, point in enumerate(points.items, 1)]
    return _with_keyboard(article, paginate(pieces), "points")


# A paragraph that opens with a quotation mark and is at least this long is a quoted
# statement: shown in an expandable blockquote, a few lines until tapped, so the
# reader sees what follows it without scrolling through it.
QUOTE_CHARS = 400
_QUOTE_MARKS = ("«", "„", "“", '"')


def _paragraph(text: str) -> Piece:
    if text.startswith(_QUOTE_MARKS) and utf16_len(text) >= QUOTE_CHARS:
        return Piece(text, "quote")
    return Piece(text)


def full_reply(article: Article, timezone: str) -> list[Reply]:
    """The whole text: one message where it fits; otherwise parts with the header on
    the first only and "(продолжение 2/4)" at the top of each of the others."""
    pieces = [*header(article, timezone)]
    pieces += [_paragraph(p.strip()) for p in article.text.split("\n") if p.strip()]
    bodies = paginate(pieces)
    if len(bodies) > 1:
        # Room for the mark, counted for the widest numbers a stored article can need.
        mark = texts.FULL_CONTINUED
        reserve = utf16_len(mark.format(part=999, parts=999)) + len(SEPARATOR)
        bodies = paginate(pieces, MESSAGE_LIMIT - reserve)
        total = len(bodies)
        bodies = [
            body
            if number == 1
            else f"<i>{html.escape(mark.format(part=number, parts=total))}</i>{SEPARATOR}{body}"
            for number, body in enumerate(bodies, 1)
        ]
    return _with_keyboard(article, bodies, "full")


def follow_up_reply(answer: FollowUp) -> list[Reply]:
    """The answer to /summary, /more, /points or /full, or to their buttons."""
    article, zone = answer.article, answer.timezone
    if answer.points is not None:
        return points_reply(article, answer.points, zone)
    if answer.summary is not None:
        return summary_reply(article, answer.summary, zone, longer=answer.action == "more")
    return full_reply(article, zone)


# A search result's button shows this much of its title.
BUTTON_TITLE_CHARS = 40


def search_reply(query: str, hits: Sequence[SearchHit]) -> list[Reply]:
    """The best matches, each with its number, title and snippet, and under them one
    button per match that opens its summary."""
    shown = query if len(query) <= 60 else query[:59] + "…"
    if not hits:
        return [Reply(texts.NOT_FOUND_WORDS.format(query=html.escape(shown)))]
    pieces = [Piece(texts.SEARCH_TITLE.format(query=html.escape(shown)), raw=True)]
    for hit in hits:
        pieces.append(Piece(f"{texts.article_number(hit.article.id)}. {hit.article.title}", "b"))
        if hit.snippet:
            pieces.append(Piece(hit.snippet))
    pieces.append(Piece(texts.SEARCH_FOOTER, "i"))
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=texts.SEARCH_BUTTON.format(
                        number=texts.article_number(hit.article.id),
                        title=_cut(hit.article.title, BUTTON_TITLE_CHARS),
                    ),
                    # "open": the article's summary under the list, which stays as it is.
                    callback_data=ArticleAction(action=OPEN, id=hit.article.id).pack(),
                )
            ]
            for hit in hits
        ]
    )
    bodies = paginate(pieces)
    last = len(bodies) - 1
    return [Reply(body, keyboard if i == last else None) for i, body in enumerate(bodies)]


@dataclass(slots=True)
class _Draft:
    """A message being filled: its HTML paragraphs, visible length and stories shown."""

    parts: list[str]
    size: int
    stories: list[StoryItem]
    numbers: list[int]


# A digest's story is at most about 800 characters, so eight of them fit two messages.
HEADLINE_CHARS = 200
SENTENCES_CHARS = 450
OUTLET_CHARS = 60


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit - 1)
    return text[: cut if cut > limit // 2 else limit - 1].rstrip() + "…"


def _story_block(number: int, item: StoryItem) -> Piece:
    """Number and headline (a link to the main article's page when there is one), its
    1–2 sentences and its outlets: one paragraph, so a story is never split."""
    title = html.escape(_cut(item.headline or item.main.title, HEADLINE_CHARS), quote=False)
    url = button_url(item.main.url)
    if url:
        title = f'<a href="{html.escape(url, quote=True)}">{title}</a>'
    first = f"<b>{number}. {title}</b>"
    if item.update:
        first += f" · <i>{texts.DIGEST_UPDATE}</i>"
    lines = [first]
    if item.sentences:
        lines.append(html.escape(_cut(" ".join(item.sentences), SENTENCES_CHARS), quote=False))
    outlets = [_cut(name, OUTLET_CHARS) for name in item.outlets]
    lines.append(f"<i>{html.escape(texts.outlets_text(outlets), quote=False)}</i>")
    return Piece("\n".join(lines), raw=True)


# Telegram shows at most eight buttons in a row.
ROW_BUTTONS = 8


def story_keyboard(numbers: Sequence[tuple[int, int]]) -> InlineKeyboardMarkup | None:
    """Numbered buttons, (number, story id) each, that open the story: one row, or rows
    of eight for a longer list."""
    buttons = [
        InlineKeyboardButton(
            text=texts.STORY_BUTTON.format(n=number),
            callback_data=StoryAction(id=story_id).pack(),
        )
        for number, story_id in numbers
    ]
    rows = [buttons[i : i + ROW_BUTTONS] for i in range(0, len(buttons), ROW_BUTTONS)]
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def digest_replies(digest: Digest, date_label: str, timezone: str) -> list[Reply]:
    """A digest in as few messages as fit in Telegram's limit (one, for the usual seven
    stories of two sentences; a story is never split): the title, each story's numbered
    headline, 1–2 sentences and outlets, then "и ещё N сюжетов" when it was capped.

    Each message has one row of numbered buttons, one per story it shows, and records
    which story each of its numbers means (a reply "/points 2" is about story 2). Its
    `article_id` is the main article of its first story: a bare "/points" in reply."""
    title = Piece(texts.DIGEST_TITLE.format(date=html.escape(date_label)), raw=True)
    if digest.nothing_followed:
        return [Reply(f"{title.html()}\n{texts.DIGEST_ONLY_NONE}")]
    if not digest.items:
        return [Reply(f"{title.html()}\n{texts.DIGEST_EMPTY}")]
    drafts = [_Draft([title.html()], utf16_len(title.visible()), [], [])]

    def add(body: str, size: int) -> _Draft:
        last = drafts[-1]
        if last.size + len(SEPARATOR) + size <= MESSAGE_LIMIT:
            last.parts.append(body)
            last.size += len(SEPARATOR) + size
        else:
            drafts.append(_Draft([body], size, [], []))
        return drafts[-1]

    for number, item in enumerate(digest.items, 1):
        block = _story_block(number, item)
        draft = add(block.html(), utf16_len(block.visible()))
        draft.stories.append(item)
        draft.numbers.append(number)
    if digest.more:
        line = texts.DIGEST_MORE_STORIES.format(n=digest.more, word=texts.stories_word(digest.more))
        add(html.escape(line, quote=False), utf16_len(line))
    replies = []
    for draft in drafts:
        numbers = tuple(zip(draft.numbers, (s.story_id for s in draft.stories), strict=True))
        replies.append(
            Reply(
                SEPARATOR.join(draft.parts),
                story_keyboard(numbers),
                draft.stories[0].main.id if draft.stories else None,
                numbers,
            )
        )
    return replies


def alert_reply(story: StoryText | None, article: Article, *, update: bool) -> Reply:
    """An alert: what it is (a new story, or an update of one), the headline (a link to
    the article's page), 1–2 sentences and the outlets, and a button that opens the
    whole story. Replies to it are about the story's main article."""
    label = texts.ALERT_UPDATE if update else texts.ALERT_NEW
    headline = (story.headline if story is not None else "") or article.title
    title = html.escape(_cut(headline, HEADLINE_CHARS), quote=False)
    if url := button_url(article.url):
        title = f'<a href="{html.escape(url, quote=True)}">{title}</a>'
    lines = [f"🔔 <i>{html.escape(label, quote=False)}</i>", f"<b>{title}</b>"]
    if story is not None and story.sentences:
        lines.append(html.escape(_cut(" ".join(story.sentences), SENTENCES_CHARS), quote=False))
    outlets = story.outlets if story is not None else (article.source or "—",)
    shown = [_cut(name, OUTLET_CHARS) for name in outlets]
    lines.append(f"<i>{html.escape(texts.outlets_text(shown), quote=False)}</i>")
    if story is None:
        return Reply("\n".join(lines), article_id=article.id)
    button = InlineKeyboardButton(
        text=texts.BTN_ALERT_STORY, callback_data=StoryAction(id=story.story_id).pack()
    )
    return Reply(
        "\n".join(lines),
        InlineKeyboardMarkup(inline_keyboard=[[button]]),
        story.main.id,
    )


def story_reply(story: StoryText, timezone: str) -> list[Reply]:
    """/story N and a digest's button: headline, summary, every source with its link
    and time, and the follow-ups of its main article."""
    main = story.main
    pieces = [Piece(story.headline or main.title, "b")]
    if story.sentences:
        pieces.append(Piece(" ".join(story.sentences)))
    pieces.append(Piece(f"\n<b>{texts.STORY_SOURCES}</b>", raw=True))
    for article in story.articles:
        name = html.escape(article.source or "—", quote=False)
        if url := button_url(article.url):
            name = f'<a href="{html.escape(url, quote=True)}">{name}</a>'
        title = html.escape(article.title[:200], quote=False)
        when = format_date(article.date, timezone)
        number = texts.article_number(article.id)
        pieces.append(Piece(f"{when} · {name} — {number} {title}", raw=True))
    pieces.append(Piece("\n" + texts.STORY_FOLLOW_UPS.format(id=main.id), "i"))
    return _with_keyboard(main, paginate(pieces, separator="\n"), "")


def stories_reply(
    title: str, stories: Sequence[tuple[int, StoryText]], *, more: int = 0
) -> list[Reply]:
    """A numbered list of stories with their outlet counts (/stories, /latest), and
    under it a numbered button per story that opens it; each message records which
    story its numbers mean, for /story N in reply."""
    if not stories:
        return [Reply(texts.STORIES_EMPTY)]
    pieces = [Piece(title, raw=True)]
    numbers: list[tuple[int, int]] = []
    for number, story in stories:
        count = len(story.outlets)
        line = f"{number}. {story.headline} · {texts.count(count, 'источник')}"
        pieces.append(Piece(line))
        numbers.append((number, story.story_id))
    if more:
        pieces.append(Piece(texts.STORIES_MORE.format(n=more, word=texts.stories_word(more))))
    pieces.append(Piece(texts.STORIES_FOOTER, "i"))
    bodies = paginate(pieces, separator="\n")
    keyboard = story_keyboard(numbers)
    last = len(bodies) - 1
    # Every message of the list knows all its numbers: a list is short, and a reply
    # to any part of it means the same numbers.
    return [
        Reply(body, keyboard if i == last else None, numbers=tuple(numbers))
        for i, body in enumerate(bodies)
    ]


def settings_reply(overview: ChatOverview) -> str:
    settings, sub = overview.settings, overview.subscription
    state = (
        texts.SUBSCRIPTION_AT.format(at=f"{sub.at:%H:%M}", timezone=sub.timezone)
        if sub is not None
        else texts.SUBSCRIPTION_NONE
    )
    return texts.SETTINGS.format(
        algorithm=settings.algorithm,
        sentences=texts.count(settings.sentences, "предложение"),
        timezone=settings.timezone,
        language=language_label(settings.language),
        subscription=state,
        mode=texts.mode_label(settings.digest_mode),
        quiet=settings.quiet or texts.QUIET_NONE,
        alerts=texts.alerts_label(settings.alerts),
    )


def language_label(chosen: str) -> str:
    """The chat's language as /settings shows it: chosen, or the user's Telegram's."""
    labels = texts.LANGUAGE_LABELS
    if chosen:
        return html.escape(language.translate(labels.get(chosen, chosen)))
    current = language.current.get()
    return texts.LANGUAGE_AUTO.format(language=language.translate(labels[current]))


def _shown_term(kind: str, term: str) -> str:
    shown = f"«{term}»" if " " in term else term
    return texts.FOLLOW_EXCLUDED.format(term=shown) if kind == "exclude" else shown


def terms_line(interests: Iterable[tuple[str, str]]) -> str:
    """(kind, term) pairs as one escaped, comma-separated line."""
    return ", ".join(html.escape(_shown_term(kind, term), quote=False) for kind, term in interests)


# Telegram shows a button's first characters only; longer terms are cut for the label.
_BUTTON_TERM = 40


def follows_reply(follows: Follows, mode: str) -> Reply:
    """The chat's interests, one button per interest to remove it."""
    if not follows.interests:
        return Reply(texts.FOLLOW_NONE)
    lines = [texts.FOLLOW_TITLE]
    lines += [f"• {terms_line([(i.kind, i.term)])}" for i in follows.interests]
    lines += ["", texts.FOLLOW_HINT.format(mode=texts.mode_label(mode))]
    rows = [
        [
            InlineKeyboardButton(
                text=texts.BTN_UNFOLLOW.format(term=_shown_term(i.kind, i.term)[:_BUTTON_TERM]),
                callback_data=UnfollowAction(token=i.token).pack(),
            )
        ]
        for i in follows.interests
    ]
    return Reply("\n".join(lines), keyboard=InlineKeyboardMarkup(inline_keyboard=rows))


def outlets_reply(outlets: Sequence[Outlet]) -> Reply:
    """The outlets, each a button that turns it off or on."""
    if not outlets:
        return Reply(texts.SOURCES_NONE)
    rows = [
        [
            InlineKeyboardButton(
                text=(texts.BTN_SOURCE_OFF if o.muted else texts.BTN_SOURCE_ON).format(
                    source=o.source[:_BUTTON_TERM]
                ),
                callback_data=SourceAction(token=o.token).pack(),
            )
        ]
        for o in outlets
    ]
    return Reply(texts.SOURCES_TITLE, keyboard=InlineKeyboardMarkup(inline_keyboard=rows))


def subscribed_reply(sub: Subscription) -> str:
    return texts.SUBSCRIBED.format(at=f"{sub.at:%H:%M}", timezone=sub.timezone)


def added_reply(article: Article, created: bool) -> str:
    """The reply to an article stored from a chat (/add, a forwarded post, a page)."""
    template = texts.ADDED if created else texts.ALREADY_STORED
    return template.format(id=article.id, title=html.escape(article.title))


def feed_reply(template: str, feed: Feed, **fields: object) -> str:
    """A reply about one feed: `template` with its number and (escaped) name."""
    return template.format(id=feed.id, title=html.escape(feed.name), **fields)


def feeds_reply(feeds: Sequence[Feed]) -> list[Reply]:
    """The admins' feed list, one feed a line or two, split at line ends."""
    if not feeds:
        return [Reply(texts.FEEDS_EMPTY)]
    lines = [texts.FEEDS_TITLE]
    for feed in feeds:
        lines.append(
            texts.FEED_LINE.format(
                id=feed.id, title=html.escape(feed.name[:120]), url=html.escape(feed.url[:300])
            )
        )
        error = html.escape((feed.last_error or "")[:200])
        if feed.paused:
            lines.append(texts.FEED_LINE_PAUSED.format(id=feed.id, error=error))
        elif feed.failures:
            lines.append(texts.FEED_LINE_FAILING.format(failures=feed.failures, error=error))
    lines.append(texts.FEEDS_FOOTER)
    pieces = [Piece(line, raw=True) for line in lines]
    return [Reply(body) for body in paginate(pieces, separator="\n")]


# A feed added with /add lists at most this many of its new articles.
MAX_LISTED = 10


def ingest_reply(result: UrlIngest) -> str:
    """The reply to `/add URL`: the page's article, or what a feed's entries gave."""
    if result.feed_title is None and len(result.items) == 1:
        item = result.items[0]
        lines = [added_reply(item.article, item.created)]
        if note := texts.language_note(item.lang):
            lines.append(note)
        return "\n".join(lines)
    added = result.added
    lines = [
        texts.ADD_FROM_FEED.format(
            title=html.escape(result.feed_title or result.url),
            new=len(added),
            old=len(result.items) - len(added),
        )
    ]
    if added:
        lines.append(texts.ADD_FROM_FEED_LIST)
        lines += [
            texts.ADD_FROM_FEED_LINE.format(
                id=item.article.id, title=html.escape(item.article.title[:150])
            )
            for item in added[:MAX_LISTED]
        ]
        if len(added) > MAX_LISTED:
            lines.append("…")
    # "und" (too little text to tell) is not worth a warning.
    foreign = sum(1 for item in added if texts.language_note(item.lang) is not None)
    if foreign:
        lines.append(texts.FOREIGN_IN_BATCH.format(n=foreign))
    lines += entry_report(result.warning, result.notes)
    return "\n".join(lines)


def entry_report(warning: str | None, notes: Sequence[EntryNote]) -> list[str]:
    """A recovered feed's warning, and what happened to entries that did not go in whole."""
    return ([texts.FEED_RECOVERED] if warning else []) + texts.entry_notes(notes)


# -- channels and links ---------------------------------------------------------------


class LinkAction(CallbackData, prefix="link"):
    action: str  # summary | more | points | full
    id: int  # the page's number in the chat's link cache


def channel_subscribed_reply(title: str, sub: Subscription) -> str:
    return texts.CHANNEL_SUBSCRIBED.format(
        title=html.escape(title), at=f"{sub.at:%H:%M}", timezone=sub.timezone
    )


def subscriptions_reply(managed: Sequence[Managed]) -> list[Reply]:
    """/subscriptions: every subscribed chat the user manages, one line each."""
    if not managed:
        return [Reply(texts.SUBSCRIPTIONS_EMPTY)]
    lines = [Piece(texts.SUBSCRIPTIONS_TITLE, raw=True)]
    for chat in managed:
        if chat.kind == "private":
            place = texts.PLACE_PRIVATE
        else:
            template = texts.PLACE_CHANNEL if chat.kind == "channel" else texts.PLACE_GROUP
            place = template.format(title=html.escape(chat.title))
        sub = chat.subscription
        line = texts.SUBSCRIPTION_LINE.format(
            place=place, at=f"{sub.at:%H:%M}", timezone=sub.timezone
        )
        lines.append(Piece(line, raw=True))
    return [Reply(body) for body in paginate(lines, separator="\n")]


@lru_cache(maxsize=256)
def link_keyboard(page_id: int, url: str | None, skip: str) -> InlineKeyboardMarkup:
    def button(label: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=label, callback_data=LinkAction(action=action, id=page_id).pack()
        )

    row = [
        button(label, action)
        for label, action in (
            (texts.BTN_SUMMARY, "summary"),
            (texts.BTN_POINTS, "points"),
            (texts.BTN_MORE, "more"),
            (texts.BTN_FULL, "full"),
        )
        if action != skip and not (skip == "link" and action in ("summary", "points"))
    ]
    rows = [row[:2], row[2:]]
    if url:
        rows[-1].append(InlineKeyboardButton(text=texts.BTN_SOURCE, url=url))
    return InlineKeyboardMarkup(inline_keyboard=[r for r in rows if r])


def link_reply(answer: LinkAnswer) -> list[Reply]:
    """A page summarised on request, or a follow-up on it: like an article's answer,
    without an article number (the page is in no list), with the page's own buttons."""
    page = answer.page
    host = urlsplit(page.url).hostname or ""
    meta = [page.source or host, format_date(page.fetched_at, answer.timezone)]
    pieces = [Piece(page.title, "b"), Piece(" · ".join(m for m in meta if m), "i")]
    if note := texts.language_note(page.lang):
        pieces.append(Piece(note, "i", raw=True))
    if answer.action == "full":
        pieces += [Piece(p.strip()) for p in page.text.split("\n") if p.strip()]
    if answer.summary:
        label = texts.MORE_LABEL if answer.action == "more" else texts.SUMMARY_LABEL
        pieces.append(Piece(label, "b"))
        pieces += [Piece(sentence) for sentence in answer.summary]
    if answer.points is not None and answer.points.items:
        label = texts.POINTS_LABEL if answer.points.enumerated else texts.THESES_LABEL
        pieces.append(Piece(label, "b"))
        pieces += [Piece(f"{n}. {p.text}") for n, p in enumerate(answer.points.items, 1)]
    bodies = paginate(pieces)
    keyboard = link_keyboard(page.id, button_url(page.url), answer.action)
    last = len(bodies) - 1
    return [Reply(body, keyboard if i == last else None) for i, body in enumerate(bodies)]


# --- inline mode: `@bot words` in any chat ----------------------------------------

# What an inline result's line under its title shows of its summary.
DESCRIPTION_CHARS = 150
# An inline message carries a summary of at most this many sentences, each cut to this.
INLINE_SENTENCES = 5
INLINE_SENTENCE_CHARS = 600
INLINE_TITLE_CHARS = 300
# A story's inline message links this many of its outlets.
OUTLETS_SHOWN_INLINE = 5


def deep_link(username: str, payload: str) -> str:
    """t.me/<bot>?start=<payload>: opens the bot on what was shared (handlers/start.py)."""
    return f"https://t.me/{username}?start={payload}"


def _source_line(articles: Sequence[Article]) -> Piece | None:
    """«Источник: ТАСС» (or every outlet of a story), each name a link to its page."""
    names: dict[str, str] = {}
    for article in articles:
        name = html.escape(_cut(article.source or "—", OUTLET_CHARS), quote=False)
        url = button_url(article.url)
        if url and name not in names:
            names[name] = f'<a href="{html.escape(url, quote=True)}">{name}</a>'
        else:
            names.setdefault(name, name)
    if not names:
        return None
    shown = list(names.values())[:OUTLETS_SHOWN_INLINE]
    template = texts.INLINE_SOURCE if len(names) == 1 else texts.INLINE_SOURCES
    return Piece(template.format(sources=", ".join(shown)), raw=True)


def _inline_message(pieces: list[Piece], sentences: Sequence[str], tail: Piece | None) -> str:
    """Header, summary and source line in one message: sentences are dropped from the
    end until it fits (it always does with none)."""
    chosen = [_cut(s, INLINE_SENTENCE_CHARS) for s in sentences[:INLINE_SENTENCES]]
    while True:
        body = [*pieces, *(Piece(s) for s in chosen), *([tail] if tail else [])]
        messages = paginate(body)
        if len(messages) == 1 or not chosen:
            return messages[0]
        chosen.pop()


def _description(sentences: Sequence[str], fallback: str) -> str:
    first = sentences[0] if sentences else fallback
    return _cut(first, DESCRIPTION_CHARS)


def _open_in_bot(username: str | None, payload: str) -> InlineKeyboardMarkup | None:
    if not username:
        return None
    button = InlineKeyboardButton(text=texts.BTN_OPEN_IN_BOT, url=deep_link(username, payload))
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def inline_article(
    article: Article, summary: Summary, timezone: str, username: str | None
) -> InlineQueryResultArticle:
    """An article offered in inline mode: its title, the summary's first sentence, and
    as the message its header, summary and source link."""
    pieces = header(replace(article, title=_cut(article.title, INLINE_TITLE_CHARS)), timezone)
    text = _inline_message(pieces, summary.sentences, _source_line([article]))
    return InlineQueryResultArticle(
        id=f"article_{article.id}",
        title=_cut(article.title, INLINE_TITLE_CHARS),
        description=_description(summary.sentences, article.source),
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=_open_in_bot(username, f"article_{article.id}"),
    )


def inline_story(story: StoryText, timezone: str, username: str | None) -> InlineQueryResultArticle:
    """A story offered in inline mode: its headline, its first sentence, and as the
    message its headline, date and outlets, its sentences and its sources' links."""
    headline = _cut(story.headline or story.main.title, INLINE_TITLE_CHARS)
    newest = max(story.articles, key=lambda a: a.date)
    meta = f"{format_date(newest.date, timezone)} · {texts.outlets_text(story.outlets)}"
    pieces = [Piece(headline, "b"), Piece(meta, "i")]
    text = _inline_message(pieces, story.sentences, _source_line(story.articles))
    return InlineQueryResultArticle(
        id=f"story_{story.story_id}",
        title=headline,
        description=_description(story.sentences, texts.outlets_text(story.outlets)),
        input_message_content=InputTextMessageContent(message_text=text),
        reply_markup=_open_in_bot(username, f"story_{story.story_id}"),
    )
