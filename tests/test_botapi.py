"""The Bot API test server, checked with aiogram's real Bot and aiohttp session."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import Command
from aiogram.types import (
    CallbackQuery,
    ChatMemberAdministrator,
    ChatMemberOwner,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.botapi import EntityParseError, FakeTelegram, make_bot, parse_html, utf16_len
from tests.conftest import TOKEN


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[Bot]:
    async with make_bot(tg) as client:
        yield client


async def test_get_me_describes_the_bot(bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == int(TOKEN.split(":")[0])  # the bot id is the token's first part
    assert me.is_bot
    assert me.username == "svodka_bot"
    assert me.can_join_groups


async def test_send_message_returns_the_parsed_message(tg: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Тезисы", callback_data="art:points:1")]]
    )
    first = await bot.send_message(
        42,
        "  <b>Сводка</b> &amp; новости 😀 <i>дня</i> ",
        parse_mode="HTML",
        reply_markup=keyboard,
    )
    second = await bot.send_message(42, "ещё")
    other = await bot.send_message(-100500, "группа")

    assert isinstance(first, Message)
    assert first.text == "Сводка & новости 😀 дня"
    assert first.from_user is not None and first.from_user.username == "svodka_bot"
    assert first.chat.type == "private"
    assert [(e.type, e.offset, e.length) for e in first.entities or []] == [
        ("bold", 0, 6),
        ("italic", 20, 3),  # the emoji is two UTF-16 code units
    ]
    assert first.reply_markup is not None
    assert first.reply_markup.model_dump() == keyboard.model_dump()
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert other.chat.type == "group"

    call = tg.sent(42)[0]
    assert call.params["parse_mode"] == "HTML"
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "art:points:1"
    assert [c.text for c in tg.sent(42)] == ["  <b>Сводка</b> &amp; новости 😀 <i>дня</i> ", "ещё"]


async def test_retry_after_raises_with_its_delay(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail("sendMessage", error_code=429, retry_after=3)

    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after == 3
    assert tg.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    await bot.send_message(1, "x")  # the fault was for one call only
    assert len(tg.sent(1)) == 1


async def test_blocked_chat_raises_forbidden_until_unblocked(tg: FakeTelegram, bot: Bot) -> None:
    tg.block(7)

    for _ in range(2):
        with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
            await bot.send_message(7, "x")
    await bot.send_message(8, "other chats are fine")
    tg.unblock(7)
    await bot.send_message(7, "x")


async def test_migrated_group_raises_migrate_to_chat(tg: FakeTelegram, bot: Bot) -> None:
    tg.fail("sendMessage", error_code=400, migrate_to_chat_id=-1001234567890, chat_id=-55)

    with pytest.raises(TelegramMigrateToChat) as caught:
        await bot.send_message(-55, "x")
    assert caught.value.migrate_to_chat_id == -1001234567890
    assert "group chat was upgraded to a supergroup chat" in caught.value.message

    tg.migrate(-56, -1009)
    with pytest.raises(TelegramMigrateToChat):
        await bot.send_message(-56, "x")
    message = await bot.send_message(-1009, "x")
    assert message.chat.type == "supergroup"


@pytest.mark.parametrize(
    ("code", "description"), [(500, "Internal Server Error"), (502, "Bad Gateway")]
)
async def test_server_errors_raise_server_error(
    tg: FakeTelegram, bot: Bot, code: int, description: str
) -> None:
    tg.fail("sendMessage", error_code=code)

    with pytest.raises(TelegramServerError, match=description):
        await bot.send_message(1, "x")


@pytest.mark.parametrize(
    "markup",
    ["<b>bold", "a < b", "Tom & Jerry", "<x>unknown</x>", "<b><i>crossed</b></i>", "</b>"],
)
async def test_malformed_html_is_refused(bot: Bot, markup: str) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, markup, parse_mode="HTML")


async def test_the_same_characters_pass_without_parse_mode(bot: Bot) -> None:
    message = await bot.send_message(1, "a < b & <b>")
    assert message.text == "a < b & <b>"


async def test_length_is_counted_in_utf16_after_parsing(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "я" * 5000)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "😀" * 2049)  # 4098 UTF-16 code units

    tags_do_not_count = "<b>" + "я" * 4096 + "</b>"
    message = await bot.send_message(1, tags_do_not_count, parse_mode="HTML")
    assert message.text is not None and len(message.text) == 4096


async def test_blank_text_is_refused(bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, " \n ")
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await bot.send_message(1, "<b> </b>", parse_mode="HTML")


async def test_wrong_token_and_unknown_method(tg: FakeTelegram) -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(tg.url))
    async with Bot("999:WRONG", session=session) as stranger:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tg.url}/bot{TOKEN}/sendTelepathy", data={"chat_id": "1"}) as resp,
    ):
        assert resp.status == 404
        assert await resp.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_get_updates_confirms_by_offset(tg: FakeTelegram, bot: Bot) -> None:
    first = tg.message("/start", chat_id=5)
    second = tg.message("привет", chat_id=5)

    updates = await bot.get_updates(timeout=0)
    assert [u.update_id for u in updates] == [first, second]
    assert updates[0].message is not None and updates[0].message.entities is not None
    assert updates[0].message.entities[0].type == "bot_command"

    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == []

    # A long poll returns as soon as an update arrives.
    poll = asyncio.create_task(bot.get_updates(offset=second + 1, timeout=10))
    await asyncio.sleep(0.05)
    third = tg.message("ещё", chat_id=5)
    updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [third]


async def test_callback_query_is_answered_once(tg: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Ещё", callback_data="more")]]
    )
    await bot.send_message(5, "статья", reply_markup=keyboard)
    tg.callback("more", chat_id=5)

    [update] = await bot.get_updates(timeout=0)
    query = update.callback_query
    assert query is not None and query.data == "more"
    assert isinstance(query.message, Message) and query.message.text == "статья"

    assert await bot.answer_callback_query(query.id)
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)


async def test_button_data_over_64_bytes_is_refused(bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="я" * 33)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1, "x", reply_markup=keyboard)


async def test_editing_checks_the_message(tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(5, "<b>было</b>", parse_mode="HTML")

    edited = await bot.edit_message_text(
        "<b>стало</b>", chat_id=5, message_id=sent.message_id, parse_mode="HTML"
    )
    assert isinstance(edited, Message) and edited.text == "стало"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text(
            "<b>стало</b>", chat_id=5, message_id=sent.message_id, parse_mode="HTML"
        )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await bot.edit_message_text("x", chat_id=5, message_id=999)
    assert await bot.delete_message(5, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(5, sent.message_id)


async def test_admins_are_configurable(tg: FakeTelegram, bot: Bot) -> None:
    tg.set_admins(-77, [{"status": "creator", "user": {"id": 1}}, 2])

    admins = await bot.get_chat_administrators(-77)
    assert [type(a) for a in admins] == [ChatMemberOwner, ChatMemberAdministrator]
    assert (await bot.get_chat_member(-77, 2)).status == "administrator"
    assert (await bot.get_chat_member(-77, 3)).status == "member"
    chat = await bot.get_chat(-77)
    assert chat.type == "group"


async def test_bot_removed_from_a_group_is_forbidden_there(tg: FakeTelegram, bot: Bot) -> None:
    tg.my_chat_member(-88, "kicked", "member")

    [update] = await bot.get_updates(timeout=0)
    assert update.my_chat_member is not None
    assert update.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError, match="kicked"):
        await bot.send_message(-88, "x")


async def test_random_faults_repeat_with_the_seed_and_blocks_persist(
    tg: FakeTelegram, bot: Bot
) -> None:
    tg.random_faults("sendMessage", {403: 0.3}, seed=1)

    outcomes = []
    for chat in range(1, 21):
        try:
            await bot.send_message(chat, "x")
            outcomes.append(True)
        except TelegramForbiddenError:
            outcomes.append(False)
    blocked = [chat for chat, ok in zip(range(1, 21), outcomes, strict=True) if not ok]
    assert blocked and set(tg.blocked) == set(blocked)
    tg.clear_faults()
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(blocked[0], "x")


async def test_enforced_limits_answer_bursts_with_429(tg: FakeTelegram, bot: Bot) -> None:
    tg.enforce_limits(per_chat_per_sec=1)

    await bot.send_message(1, "x")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "y")
    await bot.send_message(2, "x")
    assert [(v.kind, v.chat_id) for v in tg.violations] == [("chat", 1)]


async def test_dispatcher_polls_and_replies_end_to_end(tg: FakeTelegram) -> None:
    router = Router()

    @router.message(Command("start"))
    async def start(message: Message) -> None:
        await message.answer("<b>Привет</b>", parse_mode="HTML")

    @router.callback_query(F.data == "ping")
    async def ping(query: CallbackQuery) -> None:
        await query.answer("pong")

    dp = Dispatcher()
    dp.include_router(router)
    bot = make_bot(tg)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
    try:
        tg.message("/start@svodka_bot", chat_id=-100, chat_type="group")
        [reply] = await tg.wait_for("sendMessage")
        assert reply.result["text"] == "Привет"
        tg.callback("ping", message=reply)
        await tg.wait_for("answerCallbackQuery")
    finally:
        await dp.stop_polling()
        await polling
        await bot.session.close()


def _random_html(rng: random.Random, depth: int = 0) -> tuple[str, str, list[dict[str, Any]]]:
    """Random HTML with what Telegram should make of it: (source, text, entities), the
    entities' offsets in UTF-16 code units of the text as built so far."""
    source: list[str] = []
    text = ""
    entities: list[dict[str, Any]] = []
    pieces = ["абв", "Xi ", "😀", "𝕏", "\n", " ", "1,5", "ё"]
    escapes = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#1071;": "Я",
               "&#x1F600;": "😀"}  # fmt: skip
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.45 or depth >= 3:
            chunk = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 8)))
            source.append(chunk)
            text += chunk
        elif roll < 0.6:
            escape = rng.choice(list(escapes))
            source.append(escape)
            text += escapes[escape]
        else:
            tag, kind = rng.choice([("b", "bold"), ("i", "italic"), ("u", "underline"),
                                    ("s", "strikethrough"), ("a", "text_link")])  # fmt: skip
            inner_source, inner_text, inner = _random_html(rng, depth + 1)
            start = utf16_len(text)
            opening = f'<a href="https://e.org/{len(source)}">' if tag == "a" else f"<{tag}>"
            source.append(f"{opening}{inner_source}</{tag}>")
            # Inner tags close first, so their entities come first among equals.
            entities.extend({**e, "offset": e["offset"] + start} for e in inner)
            if inner_text:
                entity: dict[str, Any] = {"type": kind, "offset": start,
                                          "length": utf16_len(inner_text)}  # fmt: skip
                if tag == "a":
                    entity["url"] = f"https://e.org/{len(source) - 1}"
                entities.append(entity)
            text += inner_text
    return "".join(source), text, entities


def test_parse_html_offsets_are_utf16_over_random_markup() -> None:
    """Runs of text are measured at once: every entity's offset and length must still be
    its own text's, counted in UTF-16 (astral characters count two)."""
    rng = random.Random(17)
    for _ in range(400):
        source, text, expected = _random_html(rng)
        parsed, entities = parse_html(source)
        assert parsed == text
        assert entities == sorted(expected, key=lambda e: (e["offset"], -e["length"]))
        wide = parsed.encode("utf-16-le")
        for entity in entities:
            piece = wide[2 * entity["offset"] : 2 * (entity["offset"] + entity["length"])]
            assert piece.decode("utf-16-le")  # never cuts a character in half


def test_parse_html_refuses_a_bare_ampersand_after_plain_text() -> None:
    with pytest.raises(EntityParseError, match='Unescaped "&" at byte offset 12'):
        parse_html("абв 😀 & b")


def test_parse_html_decodes_entities_and_nesting() -> None:
    text, entities = parse_html(
        '<a href="https://e.org/?a=1&amp;b=2">ссылка</a> &lt;&#1071;&#x44F;&gt; '
        '<pre><code class="language-python">x = 1</code></pre><blockquote expandable>q</blockquote>'
    )
    assert text == "ссылка <Яя> x = 1q"
    assert entities == [
        {"type": "text_link", "offset": 0, "length": 6, "url": "https://e.org/?a=1&b=2"},
        {"type": "pre", "offset": 12, "length": 5, "language": "python"},
        {"type": "expandable_blockquote", "offset": 17, "length": 1},
    ]
