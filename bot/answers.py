"""Answers to commands and button presses, through the same paced sender as digests.

One `Deliverer` per bot process paces every message (per chat, per group, overall),
waits out 429s and retries 5xx and network failures a bounded number of times. On top
of it, `Answers`:

* sends a one-message answer at once, in memory: if it still fails after the
  Deliverer's retries it is logged and lost (the window in docs/reliability.md);
* records an answer of several parts (/full of a long article, long lists) in the
  ledger (kind "answer") before its first part, so its parts go out paced, a 429 on
  one of them is waited out, an outage is retried with backoff for hours, and a
  restart sends only the parts not yet marked sent;
* edits a message in place (a button press), falling back to a new message when the
  message is gone or cannot be edited, and taking "message is not modified" as done;
* answers button presses (answerCallbackQuery) with retries.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiogram.types import InlineKeyboardMarkup, InlineQueryResultArticle, ReplyParameters

from bot.delivery import Deliverer, Outgoing
from bot.models import OutboxPart
from bot.outbox import Outbox, part
from bot.render import Reply

log = logging.getLogger(__name__)

# (chat id, Telegram's message id, what the message was): replies to it find its article.
OnSent = Callable[[int, int, OutboxPart], Awaitable[None]]

KIND = "answer"


class Rendered(Protocol):
    """What `bot.render` makes of an answer: one message's HTML, buttons, and what it
    is about."""

    @property
    def html(self) -> str: ...

    @property
    def keyboard(self) -> InlineKeyboardMarkup | None: ...

    @property
    def article_id(self) -> int | None: ...

    @property
    def numbers(self) -> tuple[tuple[int, int], ...]: ...


def _thread(reply_to: int | None) -> ReplyParameters | None:
    if reply_to is None:
        return None
    # The question may be deleted before the answer goes out.
    return ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)


def answer_ref(request: str, parts: Sequence[Rendered]) -> str:
    """The ledger's name for an answer: what asked (a message or a button press) and
    what the answer says, so the same update handled twice records it once."""
    digest = hashlib.blake2b(digest_size=8)
    for reply in parts:
        digest.update(reply.html.encode())
    return f"{request}:{digest.hexdigest()}"


class Answers:
    def __init__(self, deliverer: Deliverer, outbox: Outbox, *, on_sent: OnSent) -> None:
        self._deliverer = deliverer
        self._outbox = outbox
        self._on_sent = on_sent

    async def send(
        self,
        chat_id: int,
        parts: Sequence[Rendered],
        *,
        request: str,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> int:
        """Sends an answer; returns how many of its parts were delivered by now (the
        ledger sends the rest of a long one later if it must)."""
        if not parts:
            return 0
        if len(parts) == 1:
            return int(await self._send_one(chat_id, parts[0], reply_to, thread_id) is not None)
        recorded = [
            part(
                r.html,
                r.keyboard,
                r.article_id,
                r.numbers,
                reply_to if i == 0 else None,
                thread_id=thread_id,
            )
            for i, r in enumerate(parts)
        ]
        await self._outbox.record(chat_id, KIND, answer_ref(request, parts), recorded)
        # The chat's queue, this answer's parts included, goes out now; parts that could
        # not (an outage) are the ledger's to retry.
        return await self._outbox.flush(chat_id)

    async def text(self, chat_id: int, html: str, *, reply_to: int | None = None) -> bool:
        """A short answer of one message without buttons."""
        return await self._send_one(chat_id, Reply(html), reply_to) is not None

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        parts: Sequence[Rendered],
        *,
        request: str,
        rest: bool = True,
        thread_id: int | None = None,
    ) -> bool:
        """Rewrites message `message_id` to read the answer's first part, then sends its
        other parts (with `rest`) after it. A message that cannot be edited (deleted,
        too old) gets the whole answer as new messages instead. False when nothing
        could be shown."""
        if not parts:
            return False
        first = parts[0]
        edited = await self._deliverer.edit(
            chat_id, message_id, Outgoing(first.html, first.keyboard)
        )
        if edited.refused is not None:
            shown = parts if rest else parts[:1]
            return await self.send(chat_id, shown, request=request, thread_id=thread_id) > 0
        if edited.message is None and not edited.unchanged:
            log.error("chat %s: message %s could not be edited; answer lost", chat_id, message_id)
            return False
        await self._remember(chat_id, message_id, first)
        if rest and len(parts) > 1:
            await self.send(chat_id, parts[1:], request=request, thread_id=thread_id)
        return True

    async def deliver(
        self,
        chat_id: int,
        parts: Sequence[Rendered],
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> list[int]:
        """Sends an answer whose messages the caller keeps a note of itself (a page
        summarised on request, kept per chat): paced and retried like the others, and
        held in memory, not in the ledger. Returns the ids of the messages delivered."""
        ids: list[int] = []
        for i, reply in enumerate(parts):
            first = reply_to if i == 0 else None
            message_id = await self._send_one(chat_id, reply, first, thread_id)
            if message_id is None:
                break
            ids.append(message_id)
        return ids

    async def offer_results(
        self, query_id: str, results: Sequence[InlineQueryResultArticle], **options: Any
    ) -> bool:
        """Answers an inline query: the results Telegram shows under the typed words."""
        return await self._deliverer.offer_results(query_id, results, **options)

    async def acknowledge(
        self, query_id: str, text: str | None = None, *, alert: bool = False
    ) -> bool:
        """Answers a button press: the spinner stops; `text` as a toast, or a box."""
        return await self._deliverer.acknowledge(query_id, text, show_alert=alert)

    async def _send_one(
        self, chat_id: int, reply: Rendered, reply_to: int | None, thread_id: int | None = None
    ) -> int | None:
        thread = _thread(reply_to)
        result = await self._deliverer.send_many(
            chat_id,
            [
                Outgoing(
                    reply.html, reply.keyboard, reply_parameters=thread, message_thread_id=thread_id
                )
            ],
        )
        if not result.messages and reply.keyboard is not None and result.refused is not None:
            # A button Telegram does not accept must not cost the answer its text.
            result = await self._deliverer.send_many(
                result.final_chat_id,
                [Outgoing(reply.html, reply_parameters=thread, message_thread_id=thread_id)],
            )
        if not result.messages:
            log.error(
                "chat %s: answer not delivered (%s)",
                chat_id,
                "blocked" if result.blocked else result.refused or "gave up after retries",
            )
            return None
        message_id = result.messages[0].message_id
        await self._remember(result.final_chat_id, message_id, reply)
        return message_id

    async def _remember(self, chat_id: int, message_id: int, reply: Rendered) -> None:
        if reply.article_id is not None or reply.numbers:
            await self._on_sent(
                chat_id, message_id, OutboxPart(reply.html, None, reply.article_id, reply.numbers)
            )
