"""Any link summarised on request: a URL alone in a private chat, `/summary URL` anywhere,
and the follow-ups on such an answer (its buttons, and replies to it)."""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import BaseFilter, Command, CommandObject
from aiogram.types import CallbackQuery, InaccessibleMessage, Message
from aiogram.utils.chat_action import ChatActionSender

from bot import render, texts
from bot.answers import Answers
from bot.articles import FOLLOW_UPS
from bot.clock import Clock
from bot.filters import OnLoop
from bot.links import LinkAnswer, LinkService
from bot.models import LinkPage
from bot.render import LinkAction
from handlers.common import threaded, toast, topic_of

# A message that is one URL, of any scheme: the fetcher refuses what is not http(s) in
# one line, rather than a file: link turning into a search.
URL = r"^\s*[A-Za-z][A-Za-z0-9+.-]*://\S+\s*$"


def sender_of(message: Message) -> int:
    """Whose minute a request counts against (an anonymous admin's: the chat's)."""
    if message.sender_chat is not None:
        return message.sender_chat.id
    return message.from_user.id if message.from_user is not None else message.chat.id


async def send_link(
    message: Message, answer: LinkAnswer, links: LinkService, answers: Answers
) -> None:
    """Sends the answer about a kept page and records its messages, so that replies to
    them are about the page."""
    sent = await answers.deliver(
        message.chat.id,
        render.link_reply(answer),
        reply_to=threaded(message),
        thread_id=topic_of(message),
    )
    await links.remember(message.chat.id, answer.page.id, sent)


def _typing(bot: Bot, chat_id: int) -> ChatActionSender:
    return ChatActionSender.typing(bot=bot, chat_id=chat_id, initial_sleep=0.5)


async def summarize(
    message: Message, url: str, bot: Bot, links: LinkService, clock: Clock, answers: Answers
) -> None:
    answer = await links.summarize(
        message.chat.id,
        sender_of(message),
        url.strip(),
        now=clock(),
        busy=lambda: _typing(bot, message.chat.id),
    )
    await send_link(message, answer, links, answers)


async def link_text(
    message: Message, bot: Bot, links: LinkService, clock: Clock, answers: Answers
) -> None:
    await summarize(message, message.text or "", bot, links, clock, answers)


async def summary_command(
    message: Message,
    command: CommandObject,
    bot: Bot,
    links: LinkService,
    clock: Clock,
    answers: Answers,
) -> None:
    await summarize(message, command.args or "", bot, links, clock, answers)


class RepliesToLink(BaseFilter):
    """A reply to the bot's answer about a kept page; gives the handler the `page`."""

    async def __call__(
        self, message: Message, bot: Bot, links: LinkService, clock: Clock
    ) -> bool | dict[str, object]:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
            return False
        page = await links.for_message(message.chat.id, replied.message_id, now=clock())
        return {"page": page} if page is not None else False


async def reply_follow_up(
    message: Message,
    command: CommandObject,
    page: LinkPage,
    bot: Bot,
    links: LinkService,
    answers: Answers,
) -> None:
    """`page` is the one RepliesToLink found."""
    answer = await links.follow_up(
        message.chat.id,
        page,
        command.command.lower(),
        busy=lambda: _typing(bot, message.chat.id),
    )
    await send_link(message, answer, links, answers)


async def button(
    callback: CallbackQuery,
    callback_data: LinkAction,
    bot: Bot,
    links: LinkService,
    clock: Clock,
    answers: Answers,
) -> None:
    message = callback.message
    page = None
    if (
        message is not None
        and not isinstance(message, InaccessibleMessage)
        and callback_data.action in FOLLOW_UPS
    ):
        page = await links.get(message.chat.id, callback_data.id, now=clock())
    if page is None or message is None or isinstance(message, InaccessibleMessage):
        await toast(callback, answers, texts.CB_LINK_GONE, alert=True)
        return
    # Answer first: Telegram shows a spinner on the button until it is answered.
    await toast(callback, answers)
    answer = await links.follow_up(
        message.chat.id,
        page,
        callback_data.action,
        busy=lambda: _typing(bot, message.chat.id),
    )
    await send_link(message, answer, links, answers)


def build_commands() -> Router:
    """Before the article commands: `/summary URL` and replies to a page's answer."""
    router = Router(name=f"{__name__}.commands")
    router.message.register(summary_command, Command("summary", magic=F.args.regexp(URL)))
    router.message.register(reply_follow_up, Command(*FOLLOW_UPS), RepliesToLink())
    router.callback_query.register(button, LinkAction.filter())
    return router


def build_private_text() -> Router:
    """Before the private chat's search: a message that is one link is that page."""
    router = Router(name=f"{__name__}.private_text")
    router.message.register(
        link_text,
        OnLoop(F.chat.type == ChatType.PRIVATE),
        OnLoop(F.text.regexp(URL)),
    )
    return router
