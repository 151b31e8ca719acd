"""A Bot API test server on 127.0.0.1 that answers like Telegram.

The bot under test talks to it through aiogram's real ``AiohttpSession``::

    async with FakeTelegram(token="123:ABC", bot_username="svodka_bot") as tg:
        session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
        async with Bot("123:ABC", session=session) as bot:
            ...

Every request is recorded in ``tg.calls``. Updates are queued with ``push_update`` or
the builders (``message``, ``callback``, ``my_chat_member``) and served by a long-polling
``getUpdates``. Errors come back in Telegram's exact JSON shape, so aiogram raises the
same exceptions it raises in production.

Where Telegram is lenient the fake is stricter, on purpose: a bare ``&`` in HTML is
refused (Telegram passes it through) so that a missing escape fails a test instead of
a user's message one day.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import itertools
import json
import math
import random
import re
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import ClientSession, web

if TYPE_CHECKING:
    from bot.delivery import GlobalLimiter

DEFAULT_USER_ID = 1001

# Real descriptions, as Telegram words them; aiogram keys its exceptions on the status.
DESCRIPTIONS: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
MIGRATED = "Bad Request: group chat was upgraded to a supergroup chat"
KICKED = "Forbidden: bot was kicked from the group chat"
NOT_A_MEMBER = "Forbidden: bot is not a member of the group chat"
NOT_IN_CHANNEL = "Forbidden: bot is not a member of the channel chat"
NO_POST_RIGHTS = "Bad Request: need administrator rights in the channel chat"
MEMBERS_INACCESSIBLE = "Bad Request: member list is inaccessible"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
MESSAGE_LIMIT = 4096  # UTF-16 code units of the text after entity parsing
CALLBACK_DATA_LIMIT = 64  # bytes
INLINE_RESULTS_LIMIT = 50  # results in one answerInlineQuery
INLINE_ID_LIMIT = 64  # bytes, a result's id and next_offset alike
_START_PARAMETER = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Result types answerInlineQuery takes; "article" is checked field by field.
_INLINE_TYPES = frozenset(
    {
        "article",
        "photo",
        "gif",
        "mpeg4_gif",
        "video",
        "audio",
        "voice",
        "document",
        "location",
        "venue",
        "contact",
        "game",
        "sticker",
    }
)

# Parameters whose values are plain strings even when they look like JSON ("123", "true").
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "certificate",
        "description",
        "short_description",
        "name",
        "title",
        "language_code",
        "action",
        "emoji",
        "business_connection_id",
        "message_effect_id",
        "custom_title",
        "query",
        "data",
        "inline_query_id",
        "next_offset",
        "first_name",
        "last_name",
    }
)
# Methods that put a message into a chat: the ones Telegram's flood limits count.
_SEND_METHODS = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "sendaudio",
        "sendvideo",
        "sendanimation",
        "sendvoice",
        "sendvideonote",
        "sendmediagroup",
        "sendlocation",
        "sendvenue",
        "sendcontact",
        "sendpoll",
        "senddice",
        "sendsticker",
        "sendpaidmedia",
        "forwardmessage",
        "forwardmessages",
        "copymessage",
        "copymessages",
    }
)
_SUPERGROUP_BASE = -1_000_000_000_000
# Update types Telegram leaves out unless allowed_updates names them.
_NOT_BY_DEFAULT = ("chat_member", "message_reaction", "message_reaction_count")


# ---------------------------------------------------------------------------------------
# HTML parse mode, after tdlib's parser: the text Telegram stores and its entities.


class EntityParseError(ValueError):
    pass


_HTML_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
    "tg-time": "date_time",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_ATTR_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_MARKUP_RE = re.compile(r"[<&]")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def busiest_second(times: Sequence[float], span: float = 1.0) -> int:
    """The most of `times` (sorted) within any one second (or `span`), both ends
    counted: what a limit of so many a second holds them to."""
    return max(
        (bisect.bisect_right(times, start + span) - i for i, start in enumerate(times)),
        default=0,
    )


def stamp_releases(limiter: GlobalLimiter) -> list[float]:
    """The times the limiter lets sends go, as its window counts them: read from the
    window itself (a clock read here, after it, would be late by whatever ran between,
    a garbage collection or another thread)."""
    released: list[float] = []
    count = limiter._release

    def stamped(amount: int) -> None:
        count(amount)
        if amount:
            released.extend(list(limiter._windows[0].released)[-amount:])

    limiter._release = stamped  # type: ignore[method-assign]
    return released


def _decode_entity(match: re.Match[str]) -> str:
    named, dec, hexa = match.groups()
    if named:
        return _NAMED_ENTITIES[named]
    code = int(dec) if dec else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def _unescape_attr(value: str) -> str:
    return _ENTITY_RE.sub(_decode_entity, value)


@functools.lru_cache(maxsize=64)
def _parsed_html(source: str) -> tuple[str, Sequence[Mapping[str, Any]]]:
    """`parse_html`, kept for the texts sent again and again (a digest to thousands of
    chats): parsing one takes most of the server's time a message. Read only."""
    text, entities = parse_html(source)
    return text, tuple(entities)


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the plain text and its entities (UTF-16 offsets)."""

    def at(index: int) -> int:
        return len(source[:index].encode("utf-8"))

    out: list[str] = []
    pos = 0  # UTF-16 length of the text produced so far
    stack: list[tuple[str, dict[str, str], int]] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "&":
            match = _ENTITY_RE.match(source, i)
            if match is None:
                raise EntityParseError(f'Unescaped "&" at byte offset {at(i)}')
            decoded = _decode_entity(match)
            out.append(decoded)
            pos += utf16_len(decoded)
            i = match.end()
            continue
        if ch != "<":
            # A run of plain text, up to the next tag or entity, in one step.
            markup = _MARKUP_RE.search(source, i)
            stop = markup.start() if markup is not None else n
            run = source[i:stop]
            out.append(run)
            pos += utf16_len(run)
            i = stop
            continue
        if source.startswith("</", i):
            end = source.find(">", i)
            if end == -1:
                raise EntityParseError(f"Unclosed end tag at byte offset {at(i)}")
            name = source[i + 2 : end].strip().lower()
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {at(i)}")
            open_name, open_attrs, start = stack.pop()
            if name != open_name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {at(i)}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            _close_entity(open_name, open_attrs, start, pos, stack, entities)
            i = end + 1
            continue
        tag_start = i
        j = i + 1
        while j < n and not source[j].isspace() and source[j] not in ">/":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {at(tag_start)}")
        name = source[i + 1 : j].lower()
        if name not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {at(i)}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and source[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {at(tag_start)}")
            if source[j] == ">":
                j += 1
                break
            name_match = _ATTR_NAME_RE.match(source, j)
            if name_match is None:
                raise EntityParseError(
                    f'Empty attribute name in the tag "{name}" at byte offset {at(j)}'
                )
            attr = name_match.group().lower()
            j = name_match.end()
            while j < n and source[j].isspace():
                j += 1
            if j >= n or source[j] != "=":
                attrs[attr] = ""  # a bare attribute, as in <blockquote expandable>
                continue
            j += 1
            while j < n and source[j].isspace():
                j += 1
            if j >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {at(tag_start)}")
            if source[j] in "'\"":
                quote = source[j]
                close = source.find(quote, j + 1)
                if close == -1:
                    raise EntityParseError(f"Unclosed start tag at byte offset {at(tag_start)}")
                value = source[j + 1 : close]
                j = close + 1
            else:
                k = j
                while k < n and not source[k].isspace() and source[k] != ">":
                    k += 1
                value = source[j:k]
                j = k
            attrs[attr] = _unescape_attr(value)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        if name == "tg-emoji" and not attrs.get("emoji-id"):
            raise EntityParseError("Custom emoji entity must contain a custom emoji identifier")
        stack.append((name, attrs, pos))
        i = j
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_entity(
    name: str,
    attrs: dict[str, str],
    start: int,
    end: int,
    stack: list[tuple[str, dict[str, str], int]],
    entities: list[dict[str, Any]],
) -> None:
    kind = _HTML_TAGS[name]
    entity: dict[str, Any] = {"type": kind, "offset": start, "length": end - start}
    if name == "a":
        url = attrs.get("href", "")
        if not url:
            return  # Telegram keeps the text and drops a link without a target
        entity["url"] = url
    elif name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    elif name == "tg-emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif name == "tg-time":
        entity["unix_time"] = int(attrs.get("unix", "0") or 0)
    elif name == "code" and stack and stack[-1][0] == "pre":
        language = attrs.get("class", "")
        if language.startswith("language-"):
            # <pre><code class="language-x"> is one pre entity with a language.
            stack[-1][1]["language"] = language.removeprefix("language-")
            return
    elif name == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    if entity["length"] > 0:
        entities.append(entity)


def _strip(text: str, entities: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace and clips entities to match."""
    stripped = text.lstrip()
    lead = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    size = utf16_len(stripped)
    result = []
    for entity in entities:
        begin = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, size)
        if end > begin:
            result.append({**entity, "offset": begin, "length": end - begin})
    return stripped, result


# ---------------------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made, with the answer it got."""

    method: str
    params: dict[str, Any]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        """The ``result`` object of a successful call, e.g. the Message dict of a send."""
        return self.response.get("result")

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        value = self.params.get("text")
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Violation:
    kind: str  # "global", "chat" or "group"
    chat_id: int | str | None
    time: float


@dataclass
class _Fault:
    method: str  # lower case, "*" for any
    error_code: int
    description: str
    retry_after: int | None
    migrate_to_chat_id: int | None
    chat_id: int | str | None
    remaining: int | None  # None: forever
    skip: int = 0  # matching calls let through before the first failure


@dataclass
class _Hold:
    method: str  # lower case, "*" for any
    after: int
    accept: bool
    before: int  # successful calls when the hold was set
    accepted: Call | None = None
    held: list[Call] = field(default_factory=list)
    caught: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def carry_out(self, call: Call) -> bool:
        """Whether the call is carried out before it waits (the accepted one)."""
        if self.accept and self.accepted is None:
            self.accepted = call
            return True
        return False

    async def wait(self, call: Call) -> None:
        self.held.append(call)
        self.caught.set()
        await self.released.wait()


@dataclass
class _RandomFaults:
    rates: dict[int, float]
    rng: random.Random
    retry_after: int


@dataclass
class _Limits:
    global_per_sec: int
    per_chat_per_sec: int
    per_group_per_min: int
    tolerance: float
    sent: deque[float] = field(default_factory=deque)
    per_chat: dict[Any, deque[float]] = field(default_factory=lambda: defaultdict(deque))


class ApiError(Exception):
    """Raised by method handlers; becomes Telegram's error JSON."""

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        self.error_code = error_code
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
            elif migrate_to_chat_id is not None:
                description = MIGRATED
            else:
                description = DESCRIPTIONS.get(error_code, "Internal Server Error")
        super().__init__(description)
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        parameters: dict[str, int] = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


Handler = Callable[[dict[str, Any]], Any]


class FakeTelegram:
    """The Bot API on loopback: records calls, serves updates, injects Telegram's errors."""

    def __init__(
        self,
        token: str = "123:ABC",
        bot_username: str = "svodka_bot",
        *,
        bot_name: str = "Svodka",
        inline_mode: bool = True,
    ) -> None:
        self.token = token
        # Switched on with @BotFather's /setinline; without it Telegram sends no inline
        # queries.
        self.inline_mode = inline_mode
        head = token.split(":", 1)[0]
        self.bot_user: dict[str, Any] = {
            "id": int(head) if head.isdigit() else 1,
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
        }
        self.calls: list[Call] = []
        self.violations: list[Violation] = []
        self.blocked: dict[Any, str] = {}
        self.migrated: dict[Any, int] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {}
        # (kind, language_code) -> text, kind being "description" or "short_description".
        self.descriptions: dict[tuple[str, str], str] = {}
        self._url: str | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._changed = asyncio.Event()
        self._updates: list[dict[str, Any]] = []
        self._last_update_id = 0
        self._allowed_updates: list[str] = []
        self._last_message_id: dict[Any, int] = {}
        self._messages: dict[tuple[Any, int], dict[str, Any]] = {}
        self._queries: dict[str, bool] = {}  # callback query id -> answered
        self._inline_queries: dict[str, bool] = {}  # inline query id -> answered
        # inline query id -> the answer's parameters, as the bot sent them
        self.inline_answers: dict[str, dict[str, Any]] = {}
        self._query_ids = itertools.count(1)
        self._chats: dict[Any, dict[str, Any]] = {}
        self._admins: dict[Any, list[dict[str, Any]]] = {}
        self._bot_status: dict[Any, str] = {}
        # The bot's own ChatMember where a test set more than its status (a channel's rights).
        self._bot_member: dict[Any, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._random: dict[str, _RandomFaults] = {}
        self._limits: _Limits | None = None
        self._hold: _Hold | None = None
        # Called with every call once it is answered (a benchmark's stopwatch).
        self.listeners: list[Callable[[Call], None]] = []
        self._handlers: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "setMyDescription": self._set_my_description,
                "getMyDescription": self._get_my_description,
                "setMyShortDescription": self._set_my_short_description,
                "getMyShortDescription": self._get_my_short_description,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "answerCallbackQuery": self._answer_callback_query,
                "answerInlineQuery": self._answer_inline_query,
                "sendChatAction": self._send_chat_action,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
                "getChatAdministrators": self._get_chat_administrators,
                "leaveChat": self._leave_chat,
            }.items()
        }

    # -- lifecycle ------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeTelegram is not running; use 'async with FakeTelegram()'")
        return self._url

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            # A long poll whose client went away must not linger until its timeout.
            handler_cancellation=True,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(self._runner, sock)
        await site.start()
        self._url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    async def close(self) -> None:
        self._closing = True
        self._notify()  # long polls answer at once instead of holding shutdown
        self.release()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- inspection -----------------------------------------------------------------

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """Messages delivered (successful sendMessage calls), optionally to one chat."""
        return [
            call
            for call in self.calls
            if call.method == "sendMessage"
            and call.ok
            and (chat_id is None or same_chat(call.chat_id, chat_id))
        ]

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def clear_calls(self) -> None:
        self.calls.clear()
        self.violations.clear()

    def pending_updates(self) -> list[dict[str, Any]]:
        return list(self._updates)

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        *,
        timeout: float = 5.0,
        count: int = 1,
        ok: bool | None = True,
    ) -> list[Call]:
        """Wait until ``count`` calls of ``method`` match, counting those already made.

        ``ok=True`` (default) counts successful calls only, ``False`` failed ones,
        ``None`` both. Returns every matching call; raises TimeoutError otherwise.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted = method.lower()
        while True:
            changed = self._changed
            matches = [
                call
                for call in self.calls
                if call.method.lower() == wanted
                and (ok is None or call.ok == ok)
                and (predicate is None or predicate(call))
            ]
            if len(matches) >= count:
                return matches
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = ", ".join(f"{c.method}:{c.status}" for c in self.calls[-20:])
                raise TimeoutError(
                    f"waited {timeout}s for {count} {method} call(s), got {len(matches)}; "
                    f"last calls: {seen or 'none'}"
                )
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    # -- configuration --------------------------------------------------------------

    def set_chat(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        """Override how a chat looks (type, title, username, ...)."""
        chat = {**self.chat(chat_id), **fields}
        self._chats[chat_id] = chat
        return chat

    def set_admins(self, chat_id: int, admins: Iterable[Mapping[str, Any] | int]) -> None:
        """The chat's administrators: user ids, user dicts, or ChatMember dicts."""
        members = []
        for admin in admins:
            if isinstance(admin, Mapping) and "status" in admin:
                user = self.user(admin["user"])
                members.append(
                    member(
                        user,
                        admin["status"],
                        **{k: v for k, v in admin.items() if k not in ("status", "user")},
                    )
                )
            else:
                members.append(member(self.user(admin), "administrator"))
        self._admins[chat_id] = members

    def set_channel(
        self, chat_id: int, *, username: str | None = None, title: str | None = None
    ) -> dict[str, Any]:
        """A channel, found by getChat as ``@username`` when it has one. The bot is not
        in it until ``set_bot_member``."""
        fields: dict[str, Any] = {"type": "channel", "title": title or f"Channel {chat_id}"}
        if username is not None:
            fields["username"] = username
        self._chats[chat_id] = {"id": chat_id, **fields}
        self._bot_status.setdefault(chat_id, "left")
        return dict(self._chats[chat_id])

    def set_bot_member(self, chat_id: int, status: str, **rights: Any) -> None:
        """The bot's own membership of a chat, with rights: in a channel an administrator
        posts only with ``can_post_messages=True``."""
        self._bot_status[chat_id] = status
        self._bot_member[chat_id] = member(dict(self.bot_user), status, **rights)

    def _channel_poster(self, chat_id: int) -> None:
        """Telegram's answers to a send into a channel the bot may not post in."""
        if self.chat(chat_id)["type"] != "channel":
            return
        status = self._bot_status.get(chat_id, "left")
        if status not in ("administrator", "creator"):
            raise ApiError(403, NOT_IN_CHANNEL)
        rights = self._bot_member.get(chat_id, {})
        if status == "administrator" and not rights.get("can_post_messages"):
            raise ApiError(400, NO_POST_RIGHTS)

    def block(self, chat_id: int | str, description: str = DESCRIPTIONS[403]) -> None:
        """From now on every call for this chat answers 403 with ``description``."""
        self.blocked[_chat_key(chat_id)] = description

    def unblock(self, chat_id: int | str) -> None:
        self.blocked.pop(_chat_key(chat_id), None)

    def migrate(self, chat_id: int, new_chat_id: int, *, notify: bool = False) -> None:
        """The group became a supergroup: calls for the old id answer 400 with the new id."""
        self.migrated[chat_id] = new_chat_id
        self._chats.setdefault(
            new_chat_id,
            {
                **self.chat(chat_id),
                "id": new_chat_id,
                "type": "supergroup",
            },
        )
        if notify:
            self.message("", chat_id=chat_id, migrate_to_chat_id=new_chat_id)
            self.message("", chat_id=new_chat_id, migrate_from_chat_id=chat_id)

    def fail(
        self,
        method: str,
        *,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | str | None = None,
        times: int | None = 1,
        after: int = 0,
    ) -> None:
        """The next ``times`` matching calls (None: all of them) fail like Telegram would.

        ``method`` is case-insensitive, ``"*"`` matches any method; ``chat_id`` narrows
        the rule to calls for that chat; ``after`` lets that many matching calls through
        first (a 429 on the fifth message: ``after=4``). Rules are checked in the order
        they were added.
        """
        if error_code == 429 and retry_after is None:
            retry_after = 1
        error = ApiError(
            error_code,
            description,
            retry_after=retry_after,
            migrate_to_chat_id=migrate_to_chat_id,
        )
        self._faults.append(
            _Fault(
                method=method.lower(),
                error_code=error_code,
                description=error.description,
                retry_after=retry_after,
                migrate_to_chat_id=migrate_to_chat_id,
                chat_id=chat_id,
                remaining=times,
                skip=after,
            )
        )

    def clear_faults(self) -> None:
        self._faults.clear()
        self._random.clear()

    def random_faults(
        self,
        method: str,
        rates: Mapping[int, float],
        *,
        seed: int | None = 0,
        retry_after: int = 1,
    ) -> None:
        """Fail a random share of ``method`` calls: ``rates={429: 0.05, 403: 0.01}``.

        A 403 blocks that chat for good, as a user who blocks the bot stays blocked.
        """
        if sum(rates.values()) > 1:
            raise ValueError("fault rates add up to more than 1")
        self._random[method.lower()] = _RandomFaults(
            rates=dict(rates), rng=random.Random(seed), retry_after=retry_after
        )

    def enforce_limits(
        self,
        global_per_sec: int = 30,
        per_chat_per_sec: int = 1,
        per_group_per_min: int = 20,
        *,
        tolerance: float = 0.05,
    ) -> None:
        """Count sends over Telegram's limits in sliding windows and answer them 429.

        ``tolerance`` (seconds) shortens each window a little: Telegram's limits are
        approximate, and a client paced exactly at the limit sees a few milliseconds of
        jitter between its clock and ours.
        """
        self._limits = _Limits(global_per_sec, per_chat_per_sec, per_group_per_min, tolerance)

    # -- update injection -----------------------------------------------------------

    def user(
        self, user: Mapping[str, Any] | int = DEFAULT_USER_ID, **fields: Any
    ) -> dict[str, Any]:
        if isinstance(user, Mapping):
            base = {"is_bot": False, "first_name": f"User {user['id']}", **user}
        else:
            base = {"id": user, "is_bot": False, "first_name": f"User {user}"}
        if not base.get("is_bot"):
            base.setdefault("language_code", "ru")
        return {**base, **fields}

    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        """The chat object Telegram would send for this id."""
        if chat_id in self._chats and chat_type is None:
            return dict(self._chats[chat_id])
        if chat_type is None:
            if chat_id > 0:
                chat_type = "private"
            elif chat_id <= _SUPERGROUP_BASE:
                chat_type = "supergroup"
            else:
                chat_type = "group"
        if chat_type == "private":
            return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
        return {"id": chat_id, "type": chat_type, "title": f"Chat {chat_id}"}

    def _remember_chat(self, chat_id: int, chat_type: str | None) -> dict[str, Any]:
        # A chat first seen as a supergroup stays one in the bot's replies too.
        chat = self.chat(chat_id, chat_type)
        if chat_type is not None and chat_id not in self._chats:
            self._chats[chat_id] = dict(chat)
        return chat

    def push_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw update; an update_id is assigned when missing."""
        update = dict(update)
        if "update_id" in update:
            update_id = int(update["update_id"])
            if update_id <= self._last_update_id:
                raise ValueError("update ids must increase")
        else:
            update_id = self._last_update_id + 1
            update = {"update_id": update_id, **update}
        self._last_update_id = update_id
        for key in ("message", "edited_message", "channel_post"):
            if isinstance(update.get(key), Mapping):
                msg = update[key]
                self._messages[(msg["chat"]["id"], msg["message_id"])] = dict(msg)
        if isinstance(update.get("callback_query"), Mapping):
            self._queries.setdefault(str(update["callback_query"]["id"]), False)
        if isinstance(update.get("inline_query"), Mapping):
            self._inline_queries.setdefault(str(update["inline_query"]["id"]), False)
        self._updates.append(update)
        self._notify()
        return update_id

    def message(
        self,
        text: str,
        *,
        chat_id: int | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_type: str | None = None,
        reply_to_message: Mapping[str, Any] | Call | None = None,
        entities: list[dict[str, Any]] | None = None,
        forward_origin: Mapping[str, Any] | None = None,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        **fields: Any,
    ) -> int:
        """Queue a user's text message; a leading /command gets its bot_command entity."""
        chat_id = user_id if chat_id is None else chat_id
        from_user = self.user(user_id)
        if language_code is not None:
            from_user["language_code"] = language_code
        if first_name is not None:
            from_user["first_name"] = first_name
        if username is not None:
            from_user["username"] = username
        chat = self._remember_chat(chat_id, chat_type)
        if chat["type"] == "private" and chat_id == user_id:
            chat["first_name"] = from_user["first_name"]
            if username is not None:
                chat["username"] = username
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": from_user,
            "chat": chat,
            "date": int(time.time()),
        }
        if text:
            msg["text"] = text
            if entities is None:
                command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
                if command:
                    entities = [
                        {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
                    ]
            if entities:
                msg["entities"] = entities
        if reply_to_message is not None:
            msg["reply_to_message"] = _message_dict(reply_to_message)
        if forward_origin is not None:
            msg["forward_origin"] = dict(forward_origin)
        msg.update(fields)
        return self.push_update({"message": msg})

    def channel_post(self, text: str, *, chat_id: int, **fields: Any) -> int:
        """Queue a post in a channel (set up with ``set_channel``): no sender but the
        channel itself, as Telegram sends them to a bot that administers the channel."""
        chat = self.chat(chat_id)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "sender_chat": chat,
            "chat": chat,
            "date": int(time.time()),
        }
        if text:
            msg["text"] = text
            command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
            if command:
                msg["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command.group())}
                ]
        msg.update(fields)
        return self.push_update({"channel_post": msg})

    def callback(
        self,
        data: str,
        *,
        message: Mapping[str, Any] | Call | None = None,
        user_id: int = DEFAULT_USER_ID,
        chat_id: int | None = None,
    ) -> int:
        """Queue a button press on ``message`` (default: the bot's last message in chat_id)."""
        if message is None:
            if chat_id is None:
                raise ValueError("callback() needs a message or a chat_id")
            sent = self.sent(chat_id)
            if not sent:
                raise ValueError(f"the bot sent nothing to chat {chat_id} to press a button on")
            message = sent[-1]
        msg = _message_dict(message)
        query_id = str(next(self._query_ids))
        return self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(user_id),
                    "message": msg,
                    "chat_instance": str(abs(msg["chat"]["id"]) * 7 + 1),
                    "data": data,
                }
            }
        )

    def inline_query(
        self,
        query: str,
        *,
        user_id: int = DEFAULT_USER_ID,
        offset: str = "",
        chat_type: str = "private",
        language_code: str | None = None,
    ) -> str:
        """Queue a user's `@bot query` typed in a chat of `chat_type`; returns the
        query's id, which the bot's answerInlineQuery names."""
        if not self.inline_mode:
            raise ValueError("inline mode is off: Telegram sends no inline queries")
        from_user = self.user(user_id)
        if language_code is not None:
            from_user["language_code"] = language_code
        query_id = f"inline-{next(self._query_ids)}"
        self.push_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": from_user,
                    # Telegram cuts what is typed after the bot's name to 256 characters.
                    "query": query[:256],
                    "offset": offset,
                    "chat_type": chat_type,
                }
            }
        )
        return query_id

    def my_chat_member(
        self,
        chat_id: int,
        new_status: str,
        old_status: str = "member",
        *,
        user_id: int = DEFAULT_USER_ID,
        chat_type: str | None = None,
        apply: bool = True,
    ) -> int:
        """Queue a change of the bot's own membership; ``apply`` makes sends react to it."""
        bot = dict(self.bot_user)
        if apply:
            self._bot_status[chat_id] = new_status
            if new_status in ("kicked", "left"):
                private = chat_id > 0
                self.block(chat_id, DESCRIPTIONS[403] if private else KICKED)
            else:
                self.unblock(chat_id)
        return self.push_update(
            {
                "my_chat_member": {
                    "chat": self._remember_chat(chat_id, chat_type),
                    "from": self.user(user_id),
                    "date": int(time.time()),
                    "old_chat_member": member(bot, old_status),
                    "new_chat_member": member(bot, new_status),
                }
            }
        )

    def chat_member(
        self,
        chat_id: int,
        user_id: int,
        new_status: str,
        old_status: str = "member",
        *,
        by: int = DEFAULT_USER_ID,
        chat_type: str | None = "supergroup",
        apply: bool = True,
    ) -> int:
        """Queue a change of a user's status in a group (a promotion, a demotion);
        ``apply`` changes what getChatAdministrators answers to match."""
        user = self.user(user_id)
        if apply:
            admins = [m for m in self._admins.get(chat_id, []) if m["user"]["id"] != user_id]
            if new_status in ("creator", "administrator"):
                admins.append(member(user, new_status))
            self._admins[chat_id] = admins
        return self.push_update(
            {
                "chat_member": {
                    "chat": self._remember_chat(chat_id, chat_type),
                    "from": self.user(by),
                    "date": int(time.time()),
                    "old_chat_member": member(user, old_status),
                    "new_chat_member": member(user, new_status),
                }
            }
        )

    # -- HTTP -----------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _json(ApiError(404).body(), 404)

    async def _handle(self, request: web.Request) -> web.Response:
        now = asyncio.get_running_loop().time()
        requested = request.match_info["method"]
        params = await _read_params(request)
        entry = self._handlers.get(requested.lower())
        call = Call(method=entry[0] if entry else requested, params=params, time=now)
        self.calls.append(call)
        hold = self._holding(call)
        if hold is not None and not hold.carry_out(call):
            # Not carried out: as if the request never got through.
            call.status = 0
            try:
                await hold.wait(call)
            except asyncio.CancelledError:
                call.status = 499
                raise
            call.status = 200
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401)
            if entry is None:
                raise ApiError(404)
            self._check_faults(call)
            result = entry[1](params)
            if asyncio.iscoroutine(result):
                result = await result
        except asyncio.CancelledError:
            call.status = 499  # the client went away (a long poll it stopped waiting for)
            raise
        except ApiError as error:
            call.status = error.error_code
            call.response = error.body()
        else:
            call.response = {"ok": True, "result": result}
        self._notify()
        for listener in self.listeners:
            listener(call)
        if hold is not None and hold.accepted is call:
            # Carried out, and its answer lost: the client never learns of it. Its status
            # stays what Telegram did, even when the client goes away meanwhile.
            await hold.wait(call)
        return _json(call.response, call.status)

    def _holding(self, call: Call) -> _Hold | None:
        hold = self._hold
        if hold is None or hold.method not in ("*", call.method.lower()):
            return None
        done = sum(
            1
            for c in self.calls
            if c.ok and c is not call and hold.method in ("*", c.method.lower())
        )
        return hold if done - hold.before >= hold.after else None

    def hold(self, method: str = "*", *, after: int = 0, accept: bool = False) -> _Hold:
        """A network that stops: after ``after`` more successful calls of ``method``
        (``"*"``: any), every call of it waits unanswered until ``release()``, and is
        carried out then if its client is still there (a partition). With ``accept``,
        the first held call is carried out at once and only its answer held: a message
        Telegram delivered whose confirmation never reached the bot."""
        wanted = method.lower()
        before = sum(
            1 for c in self.calls if c.ok and (wanted == "*" or c.method.lower() == wanted)
        )
        self._hold = _Hold(wanted, after, accept, before)
        return self._hold

    def release(self) -> None:
        """Ends a hold: the calls held go on."""
        if self._hold is not None:
            self._hold.released.set()
            self._hold = None

    def _check_faults(self, call: Call) -> None:
        method = call.method.lower()
        chat = call.chat_id
        if self._limits is not None and method in _SEND_METHODS:
            self._check_limits(chat, call.time)
        if chat is not None:
            key = _chat_key(chat)
            if key in self.blocked:
                raise ApiError(403, self.blocked[key])
            if key in self.migrated:
                raise ApiError(400, migrate_to_chat_id=self.migrated[key])
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.chat_id is not None and not same_chat(fault.chat_id, chat):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            raise ApiError(
                fault.error_code,
                fault.description,
                retry_after=fault.retry_after,
                migrate_to_chat_id=fault.migrate_to_chat_id,
            )
        randomly = self._random.get(method)
        if randomly is not None:
            roll = randomly.rng.random()
            for code, rate in randomly.rates.items():
                if roll < rate:
                    if code == 403 and chat is not None:
                        self.block(chat)
                    raise ApiError(code, retry_after=randomly.retry_after if code == 429 else None)
                roll -= rate

    def _check_limits(self, chat: Any, now: float) -> None:
        limits = self._limits
        assert limits is not None
        key = _chat_key(chat) if chat is not None else None
        windows: list[tuple[str, deque[float], int, float]] = [
            ("global", limits.sent, limits.global_per_sec, 1.0),
        ]
        if key is not None:
            windows.append(("chat", limits.per_chat[("chat", key)], limits.per_chat_per_sec, 1.0))
            if isinstance(key, int) and key < 0:
                windows.append(
                    ("group", limits.per_chat[("group", key)], limits.per_group_per_min, 60.0)
                )
        for kind, window, limit, span in windows:
            horizon = now - (span - limits.tolerance)
            while window and window[0] <= horizon:
                window.popleft()
            if len(window) >= limit:
                self.violations.append(Violation(kind, chat, now))
                wait = window[0] + span - now
                raise ApiError(429, retry_after=max(1, math.ceil(wait)))
        for _, window, _, _ in windows:
            window.append(now)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _next_message_id(self, chat_id: Any) -> int:
        key = _chat_key(chat_id)
        self._last_message_id[key] = self._last_message_id.get(key, 0) + 1
        return self._last_message_id[key]

    # -- methods ----------------------------------------------------------------------

    def _true(self, params: dict[str, Any]) -> bool:
        return True

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": self.inline_mode,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            # Telegram remembers allowed_updates until a call changes them.
            self._allowed_updates = [str(kind) for kind in allowed]
        if isinstance(offset, int):
            if offset < 0:
                self._updates = self._updates[offset:]
            else:
                # An update is confirmed by asking for a higher offset; it is gone then.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            batch = [u for u in self._updates if self._is_allowed(u)][:limit]
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing:
                return batch
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                continue

    def _is_allowed(self, update: dict[str, Any]) -> bool:
        if not self._allowed_updates:
            # As Telegram: these only for a bot that asks for them by name.
            return not any(kind in update for kind in _NOT_BY_DEFAULT)
        return any(kind in update for kind in self._allowed_updates)

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {key: value for key, value in params.items() if key != "certificate"}
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = list(params["allowed_updates"])
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self.webhook = {}
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook.get("max_connections"):
            info["max_connections"] = self.webhook["max_connections"]
        if self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        return info

    @staticmethod
    def _commands_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands are invalid")
        for command in commands:
            name = command.get("command", "") if isinstance(command, dict) else ""
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(params)] = commands
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _set_description(self, kind: str, limit: int, params: dict[str, Any]) -> bool:
        text = str(params.get(kind) or "")
        if len(text) > limit:
            raise ApiError(400, f"Bad Request: {kind.upper()}_INVALID")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self.descriptions[key] = text
        else:
            self.descriptions.pop(key, None)  # an empty text removes it, as in Telegram
        return True

    def _set_my_description(self, params: dict[str, Any]) -> bool:
        return self._set_description("description", 512, params)

    def _set_my_short_description(self, params: dict[str, Any]) -> bool:
        return self._set_description("short_description", 120, params)

    def _get_my_description(self, params: dict[str, Any]) -> dict[str, Any]:
        key = ("description", str(params.get("language_code") or ""))
        return {"description": self.descriptions.get(key, "")}

    def _get_my_short_description(self, params: dict[str, Any]) -> dict[str, Any]:
        key = ("short_description", str(params.get("language_code") or ""))
        return {"short_description": self.descriptions.get(key, "")}

    def _resolve_chat(self, params: dict[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if isinstance(chat_id, int):
            return chat_id
        if isinstance(chat_id, str):
            for known in self._chats.values():
                if known.get("username") and f"@{known['username']}" == chat_id:
                    return int(known["id"])
        if chat_id in (None, ""):
            raise ApiError(400, "Bad Request: chat_id is empty")
        raise ApiError(400, "Bad Request: chat not found")

    def _text_and_entities(self, params: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        text = params.get("text")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "")
        if mode.lower() == "html":
            try:
                # Cached and shared: `_strip` below makes new entities, never edits these.
                text, entities = _parsed_html(text)
            except EntityParseError as error:
                raise ApiError(400, f"Bad Request: can't parse entities: {error}") from None
        elif mode:
            if mode not in ("Markdown", "MarkdownV2"):
                raise ApiError(400, "Bad Request: unsupported parse_mode")
            entities = []  # Markdown is not modelled: the text is taken as it is
        else:
            raw = params.get("entities")
            entities = list(raw) if isinstance(raw, list) else []
        text, entities = _strip(text, entities)
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MESSAGE_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    @staticmethod
    def _inline_markup(params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if not isinstance(markup, dict):
            return None
        rows = markup.get("inline_keyboard")
        if rows is None:
            return None  # reply keyboards are not echoed back in the Message
        if not isinstance(rows, list):
            raise ApiError(400, "Bad Request: can't parse inline keyboard button")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "url" in button and not _valid_button_url(button["url"]):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
        return {"inline_keyboard": rows}

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._resolve_chat(params)
        self._channel_poster(chat_id)
        text, entities = self._text_and_entities(params)
        markup = self._inline_markup(params)
        reply_to = self._reply_target(chat_id, params)
        msg: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": self.chat(chat_id),
            "date": int(time.time()),
            "text": text,
        }
        if entities:
            msg["entities"] = entities
        if markup is not None:
            msg["reply_markup"] = markup
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        if isinstance(params.get("message_thread_id"), int):
            msg["message_thread_id"] = params["message_thread_id"]
        preview = params.get("link_preview_options")
        if isinstance(preview, dict) and preview:
            msg["link_preview_options"] = preview
        self._messages[(chat_id, msg["message_id"])] = msg
        return msg

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            lenient = bool(reply.get("allow_sending_without_reply"))
        else:
            message_id = params.get("reply_to_message_id")
            lenient = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        target = self._messages.get((chat_id, message_id))
        if target is None and not lenient:
            raise ApiError(400, "Bad Request: message to be replied not found")
        if target is None:
            return None
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _stored(self, params: dict[str, Any], missing: str) -> dict[str, Any]:
        chat_id = self._resolve_chat(params)
        message_id = params.get("message_id")
        stored = self._messages.get((chat_id, message_id)) if isinstance(message_id, int) else None
        if stored is None:
            raise ApiError(400, missing)
        return stored

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, entities = self._text_and_entities(params)
        markup = self._inline_markup(params)
        if params.get("inline_message_id"):
            return True
        stored = self._stored(params, "Bad Request: message to edit not found")
        if stored.get("from", {}).get("id") != self.bot_user["id"]:
            raise ApiError(400, "Bad Request: message can't be edited")
        unchanged = (
            stored.get("text") == text
            and stored.get("entities", []) == entities
            and stored.get("reply_markup") == markup
        )
        if unchanged:
            raise ApiError(400, NOT_MODIFIED)
        stored["text"] = text
        stored["edit_date"] = int(time.time())
        for key, value in (("entities", entities), ("reply_markup", markup)):
            if value:
                stored[key] = value
            else:
                stored.pop(key, None)
        return dict(stored)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = self._inline_markup(params)
        if params.get("inline_message_id"):
            return True
        stored = self._stored(params, "Bad Request: message to edit not found")
        if stored.get("reply_markup") == markup:
            raise ApiError(400, NOT_MODIFIED)
        if markup:
            stored["reply_markup"] = markup
        else:
            stored.pop("reply_markup", None)
        stored["edit_date"] = int(time.time())
        return dict(stored)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        stored = self._stored(params, "Bad Request: message to delete not found")
        del self._messages[(stored["chat"]["id"], stored["message_id"])]
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._queries.get(query_id, True):
            # Unknown, or answered already: Telegram takes one answer per query.
            raise ApiError(400, QUERY_INVALID)
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._queries[query_id] = True
        return True

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        if self._inline_queries.get(query_id, True):
            raise ApiError(400, QUERY_INVALID)
        results = params.get("results")
        if not isinstance(results, list):
            raise ApiError(400, "Bad Request: can't parse inline query results")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            if not isinstance(result, dict) or result.get("type") not in _INLINE_TYPES:
                raise ApiError(400, "Bad Request: RESULT_TYPE_INVALID")
            result_id = result.get("id")
            if not isinstance(result_id, str) or not (
                1 <= len(result_id.encode()) <= INLINE_ID_LIMIT
            ):
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            if result_id in seen:
                raise ApiError(400, "Bad Request: RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if result["type"] == "article":
                self._check_article_result(result)
        next_offset = params.get("next_offset")
        if next_offset is not None and len(str(next_offset).encode()) > INLINE_ID_LIMIT:
            raise ApiError(400, "Bad Request: NEXT_OFFSET_INVALID")
        cache_time = params.get("cache_time")
        if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
            raise ApiError(400, "Bad Request: CACHE_TIME_INVALID")
        button = params.get("button")
        if button is not None:
            if not isinstance(button, dict) or not button.get("text"):
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            start = button.get("start_parameter")
            if start is not None and not _START_PARAMETER.fullmatch(str(start)):
                raise ApiError(400, "Bad Request: START_PARAM_INVALID")
        self._inline_queries[query_id] = True
        self.inline_answers[query_id] = params
        return True

    def _check_article_result(self, result: dict[str, Any]) -> None:
        """An article result: a title, and a text message checked as sendMessage checks
        one (its HTML parsed, at most 4096 characters after parsing), buttons as well."""
        if not isinstance(result.get("title"), str) or not result["title"].strip():
            raise ApiError(400, "Bad Request: RESULT_TITLE_EMPTY")
        content = result.get("input_message_content")
        if not isinstance(content, dict) or "message_text" not in content:
            raise ApiError(400, "Bad Request: MESSAGE_EMPTY")
        self._text_and_entities(
            {
                "text": content["message_text"],
                "parse_mode": content.get("parse_mode"),
                "entities": content.get("entities"),
            }
        )
        self._inline_markup({"reply_markup": result.get("reply_markup")})

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        self._resolve_chat(params)
        if not params.get("action"):
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self.chat(self._resolve_chat(params))
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    def _get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._resolve_chat(params)
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise ApiError(400, "Bad Request: invalid user_id specified")
        if user_id == self.bot_user["id"]:
            if chat_id in self._bot_member:
                return self._bot_member[chat_id]
            return member(dict(self.bot_user), self._bot_status.get(chat_id, "member"))
        if self.chat(chat_id)["type"] == "channel" and self._bot_status.get(chat_id) not in (
            "administrator",
            "creator",
        ):
            # Only a channel's administrators may look at its members.
            raise ApiError(400, MEMBERS_INACCESSIBLE)
        for admin in self._admins.get(chat_id, []):
            if admin["user"]["id"] == user_id:
                return admin
        return member(self.user(user_id), "member")

    def _get_chat_administrators(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat_id = self._resolve_chat(params)
        if self.chat(chat_id)["type"] == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return list(self._admins.get(chat_id, []))

    def _leave_chat(self, params: dict[str, Any]) -> bool:
        chat_id = self._resolve_chat(params)
        self._bot_status[chat_id] = "left"
        self.block(chat_id, NOT_A_MEMBER)
        return True


# ---------------------------------------------------------------------------------------


class LoopbackSession(AiohttpSession):
    """aiogram's aiohttp session, whose close() skips the 250 ms wait kept for TLS.

    Requests go through AiohttpSession unchanged; only closing differs, because a
    plain-HTTP loopback connection has no TLS shutdown to wait for and every test
    closes a session.
    """

    def __init__(self, api: TelegramAPIServer, **kwargs: Any) -> None:
        super().__init__(api=api, **kwargs)
        self._client: ClientSession | None = None

    async def create_session(self) -> ClientSession:
        self._client = await super().create_session()
        return self._client

    async def close(self) -> None:
        if self._client is not None and not self._client.closed:
            await self._client.close()


def make_bot(tg: FakeTelegram, *, token: str | None = None, **kwargs: Any) -> Bot:
    """A Bot on aiogram's aiohttp session, pointed at ``tg``; use ``async with``."""
    session = LoopbackSession(api=TelegramAPIServer.from_base(tg.url))
    return Bot(token or tg.token, session=session, **kwargs)


def member(user: dict[str, Any], status: str, **fields: Any) -> dict[str, Any]:
    """A ChatMember dict with the fields aiogram requires for that status."""
    base: dict[str, Any] = {"status": status, "user": user}
    if status == "creator":
        base["is_anonymous"] = False
    elif status == "administrator":
        base.update(
            {
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_send_welcome_messages": False,
                "can_pin_messages": True,
            }
        )
    elif status == "restricted":
        flags = (
            "can_send_messages",
            "can_send_audios",
            "can_send_documents",
            "can_send_photos",
            "can_send_videos",
            "can_send_video_notes",
            "can_send_voice_notes",
            "can_send_polls",
            "can_send_other_messages",
            "can_add_web_page_previews",
            "can_react_to_messages",
            "can_edit_tag",
            "can_change_info",
            "can_invite_users",
            "can_pin_messages",
            "can_manage_topics",
        )
        base.update(dict.fromkeys(flags, False))
        base.update({"is_member": True, "until_date": 0})
    elif status == "kicked":
        base["until_date"] = 0
    base.update(fields)
    return base


def _chat_key(chat_id: Any) -> Any:
    if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
        return int(chat_id)
    return chat_id


def same_chat(left: Any, right: Any) -> bool:
    """Chat ids compare equal whether they arrived as int or as a string."""
    return _chat_key(left) == _chat_key(right)


_same_chat = same_chat  # the name tests/conftest.py imports


def _message_dict(message: Mapping[str, Any] | Call) -> dict[str, Any]:
    if isinstance(message, Call):
        if not isinstance(message.result, dict):
            raise ValueError(f"{message.method} call did not return a message")
        return dict(message.result)
    return dict(message)


def _decode(key: str, value: str) -> Any:
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params
    form = await request.post()
    for key, value in form.items():
        if isinstance(value, str):
            params[key] = _decode(key, value)
        elif isinstance(value, bytes | bytearray):
            params[key] = {"filename": key, "size": len(value)}
        else:
            # An uploaded file: keep what a test may want to look at.
            params[key] = {"filename": value.filename, "size": len(value.file.read())}
    return params


def _json(body: dict[str, Any], status: int) -> web.Response:
    return web.json_response(body, status=status)


def _valid_button_url(url: object) -> bool:
    """Telegram takes http(s) and tg URLs with a host and refuses the message otherwise:
    `javascript:alert(1)` or a URL with a space in it gets BUTTON_URL_INVALID."""
    text = str(url or "")
    if not text or re.search(r"\s", text):
        return False
    return re.match(r"(?i)(https?://[^/?#\s]+|tg://\w)", text) is not None
