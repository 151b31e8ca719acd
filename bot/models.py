"""Domain objects shared by storage, NLP, services and rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time


@dataclass(frozen=True, slots=True)
class NewArticle:
    """An article before it is stored: what loaders and intake produce."""

    title: str
    text: str
    source: str = ""
    url: str | None = None
    published_at: datetime | None = None
    # ISO 639-1 code; empty means "detect it when storing".
    lang: str = ""


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    title: str
    text: str
    source: str
    url: str | None
    published_at: datetime | None
    added_at: datetime
    content_hash: str
    lang: str = "ru"

    @property
    def date(self) -> datetime:
        return self.published_at or self.added_at


@dataclass(frozen=True, slots=True)
class Summary:
    article_id: int
    algorithm: str
    sentences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """One point: a short self-contained statement and the passage it came from."""

    text: str
    detail: str


@dataclass(frozen=True, slots=True)
class Points:
    items: tuple[KeyPoint, ...]
    # False when the text enumerates nothing and the items are key theses instead.
    enumerated: bool


@dataclass(frozen=True, slots=True)
class SearchHit:
    article: Article
    snippet: str


@dataclass(frozen=True, slots=True)
class ChatSettings:
    chat_id: int
    algorithm: str
    sentences: int
    timezone: str
    # "ru" or "en" set with /settings; "" lets each user's Telegram language decide.
    language: str = ""
    # "first": followed items lead the digest; "only": nothing else is in it.
    digest_mode: str = "first"
    # Local hours when alerts arrive silently, as "23:00-08:00"; empty for none.
    quiet: str = ""
    # "off", "on" (each new story once) or "updates" (its updates too).
    alerts: str = "off"


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    at: time
    timezone: str
    subscribed_by: int | None
    active: bool = True
    ended_reason: str | None = None
    # When the next digest is due (UTC); None when ended.
    due_at: datetime | None = None
    # The forum topic the digest goes to (message_thread_id); None: the chat itself.
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class DigestItem:
    article: Article
    summary: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StoryItem:
    """One story of a digest: its headline, 1–2 sentences, outlets (the earliest to
    report first) and size; `update` when an earlier digest to the chat showed it."""

    story_id: int
    headline: str
    sentences: tuple[str, ...]
    outlets: tuple[str, ...]
    articles: int
    main: Article
    update: bool = False


@dataclass(frozen=True, slots=True)
class Digest:
    """The top stories of the period, most important first; `more` stories left out."""

    chat_id: int
    period: str
    items: tuple[StoryItem, ...] = field(default_factory=tuple)
    more: int = 0
    # The chat shows only what it follows, and follows nothing.
    nothing_followed: bool = False


@dataclass(frozen=True, slots=True)
class OutboxPart:
    """One message of a run, as recorded before the first send: HTML, its buttons as
    Bot API JSON, and the article it is about (so replies to it find the article)."""

    text: str
    markup: str | None = None
    article_id: int | None = None
    # A digest's (number, story id) pairs: a reply "/points 2" to it is about story 2.
    numbers: tuple[tuple[int, int], ...] = ()
    # The message this one replies to (an answer's first part in a group).
    reply_to: int | None = None
    # The forum topic it goes to (message_thread_id); None: the chat itself.
    thread_id: int | None = None
    # Sent with disable_notification (an alert in the chat's quiet hours).
    silent: bool = False


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A recorded message still to be sent, claimed by this process."""

    id: int
    chat_id: int
    kind: str
    ref: str
    seq: int
    part: OutboxPart
    attempts: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LinkPage:
    """A page someone asked to summarise, kept in that chat's link cache (not an article:
    it is in no digest, search or story)."""

    id: int
    chat_id: int
    url: str
    title: str
    source: str
    text: str
    lang: str
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class Followed:
    """An interest as the store keeps it: its kind ("word", "phrase", "exclude"), the
    words as typed, and the key that names it whatever form they were typed in."""

    key: str
    kind: str
    term: str


# The largest row id SQLite and PostgreSQL's BIGINT hold.
MAX_ROW_ID = 2**63 - 1


def is_row_id(number: int) -> bool:
    """Whether a number from outside (a button's data, say) can be a stored row's id:
    one past what the store holds is no row, not an error from the driver."""
    return 0 < number <= MAX_ROW_ID
