"""Every answer goes through the one paced sender: a 429 or a 502 on a reply loses
nothing, a long /full is paced and resumed (across a 429 and across a restart), and a
button press edits the message it is under. End to end through the Bot API test server;
plus a check on the source that no handler calls Telegram any other way."""

from __future__ import annotations

import ast
import asyncio
import re
from collections import Counter
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from bot import render
from bot.config import Settings
from bot.delivery import Limits
from bot.models import NewArticle
from bot.outbox import Retry
from bot.root import open_services
from tests.botapi import Call, FakeTelegram
from tests.conftest import DEFAULT_USER_ID, RunningBot
from tests.test_bot_e2e import buttons, shown

ROOT = Path(__file__).resolve().parent.parent
GROUP = -4242
# One message every 50 ms to a chat: Telegram's one a second, scaled for a test's time.
FAST_CHAT = 20.0
FAST = Limits(global_per_sec=1000, per_chat_per_sec=FAST_CHAT, per_group_per_min=6000)
# Retries that a test can wait for: one in-place retry, then the ledger's, soon.
QUICK = Retry(
    first=timedelta(milliseconds=200),
    longest=timedelta(milliseconds=400),
    poll=0.2,
    attempts=1,
    backoff=0.05,
)


async def store_long_article(settings: Settings, chars: int) -> tuple[int, list[str]]:
    """Stores an article of about `chars` characters, each paragraph numbered, and
    returns its id and the texts of its /full parts as the bot renders them."""
    paragraph = "Подробности дела изложены в материалах суда, опубликованных в среду. " * 6
    count = chars // (len(paragraph) + 12)
    body = "\n".join(f"Абзац {n:04d}. {paragraph}" for n in range(count))
    services = await open_services(settings)
    try:
        new = NewArticle(title="Очень длинный материал", text=body, source="Тест")
        article, _ = await services.articles.add(new, now=services.clock())
        zone = await services.articles.timezone(DEFAULT_USER_ID)
        parts = [r.html for r in render.full_reply(article, zone)]
    finally:
        await services.close()
    return article.id, parts


def paragraphs(calls: list[Call]) -> Counter[str]:
    return Counter(n for call in calls for n in re.findall(r"Абзац (\d{4})\.", shown(call)))


def failed_sends(tg: FakeTelegram, chat_id: int) -> list[Call]:
    return [c for c in tg.calls_to("sendMessage") if not c.ok and c.chat_id == chat_id]


# -- one short answer -------------------------------------------------------------------


async def test_a_429_on_a_reply_is_waited_out_and_the_reply_arrives_once(
    running: RunningBot,
) -> None:
    tg = running.tg
    tg.fail("sendMessage", error_code=429, retry_after=2, chat_id=DEFAULT_USER_ID)
    [reply] = await running.say("/summary 1", timeout=15)
    assert "Китай" in shown(reply)
    assert len(failed_sends(tg, DEFAULT_USER_ID)) == 1
    # Waited as told, not hammered.
    [refused] = failed_sends(tg, DEFAULT_USER_ID)
    assert reply.time - refused.time >= 1.9
    await asyncio.sleep(0.5)
    assert [shown(c) for c in tg.sent(DEFAULT_USER_ID)].count(shown(reply)) == 1


async def test_a_502_on_a_reply_is_retried_and_the_reply_arrives_once(
    running: RunningBot,
) -> None:
    tg = running.tg
    tg.fail("sendMessage", error_code=502, chat_id=DEFAULT_USER_ID)
    [reply] = await running.say("/summary 1")
    assert "Китай" in shown(reply)
    assert len(failed_sends(tg, DEFAULT_USER_ID)) == 1
    await asyncio.sleep(0.5)
    assert [shown(c) for c in tg.sent(DEFAULT_USER_ID)].count(shown(reply)) == 1


# -- a long answer ----------------------------------------------------------------------


async def test_full_of_a_199k_article_is_paced_and_a_429_on_part_5_loses_nothing(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    article_id, parts = await store_long_article(bot_settings, 199_000)
    assert len(parts) >= 40
    # The fifth message to the chat is refused once with a 429.
    tg.fail("sendMessage", error_code=429, retry_after=1, chat_id=DEFAULT_USER_ID, after=4)
    bot = await RunningBot(bot_settings, tg, limits=FAST).start()
    try:
        sent = await bot.say(f"/full {article_id}", count=len(parts), timeout=60)
        await asyncio.sleep(0.5)  # time for anything sent twice to show
    finally:
        await bot.stop()
    delivered = tg.sent(DEFAULT_USER_ID)
    assert [shown(c) for c in delivered[: len(parts)]] == [shown(c) for c in sent]
    assert len(failed_sends(tg, DEFAULT_USER_ID)) == 1
    # Every part once, in order, none twice.
    assert len(Counter(c.text for c in sent)) == len(parts)
    counts = paragraphs(sent)
    assert set(counts.values()) == {1}
    assert sorted(counts) == [f"{n:04d}" for n in range(len(counts))]
    # Paced at the chat's rate: any ten parts in a row span ten intervals at least (less
    # the jitter of a request's trip), and no two go out together. The server stamps a
    # part when its handler runs on the test's loop, which a busy machine delays by tens
    # of milliseconds now and then: two parts stamped closer than their interval need
    # not have gone out so; a burst would be well under a millisecond apart.
    spans = [b.time - a.time for a, b in zip(sent, sent[10:], strict=False)]
    assert min(spans) >= 10 / FAST_CHAT - 0.05
    assert min(b.time - a.time for a, b in pairwise(sent)) >= 0.1 / FAST_CHAT
    # The 429 was waited out between parts 4 and 5.
    assert sent[4].time - sent[3].time >= 0.9


async def test_full_to_a_private_chat_stays_within_telegrams_real_limit(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    article_id, parts = await store_long_article(bot_settings, 14_000)
    assert 3 <= len(parts) <= 6
    tg.enforce_limits()  # Telegram's own: one a second in a private chat
    bot = await RunningBot(bot_settings, tg, limits=Limits()).start()
    try:
        sent = await bot.say(f"/full {article_id}", count=len(parts), timeout=30)
    finally:
        await bot.stop()
    assert tg.violations == []
    assert all(b.time - a.time >= 0.9 for a, b in pairwise(sent))
    assert set(paragraphs(sent).values()) == {1}


async def test_a_restart_in_the_middle_of_full_sends_only_the_rest(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    article_id, parts = await store_long_article(bot_settings, 40_000)
    assert len(parts) >= 8
    # Three parts get through, then the API fails every send to the chat.
    tg.fail("sendMessage", error_code=502, chat_id=DEFAULT_USER_ID, after=3, times=None)
    first = await RunningBot(bot_settings, tg, limits=FAST, retry=QUICK).start()
    try:
        tg.message(f"/full {article_id}")
        await tg.wait_for("sendMessage", count=3)
        # The fourth is tried, in place and by the ledger, and stays undelivered.
        await tg.wait_for("sendMessage", ok=False, count=3, timeout=10)
    finally:
        await first.stop()
    before = list(tg.sent(DEFAULT_USER_ID))
    assert len(before) == 3
    tg.clear_faults()
    second = await RunningBot(bot_settings, tg, limits=FAST, retry=QUICK).start()
    try:
        await tg.wait_for("sendMessage", count=len(parts), timeout=30)
        await asyncio.sleep(0.5)  # time for anything sent twice to show
    finally:
        await second.stop()
    delivered = tg.sent(DEFAULT_USER_ID)
    assert [c.text for c in delivered] == parts
    assert set(paragraphs(delivered).values()) == {1}


# -- button presses ---------------------------------------------------------------------


def press(tg: FakeTelegram, message: Call, action: str) -> None:
    button = next(b for b in buttons(message) if b.get("callback_data", "").split(":")[1] == action)
    tg.callback(button["callback_data"], message=message)


async def test_a_press_in_a_group_edits_its_message_and_posts_nothing_new(
    running: RunningBot,
) -> None:
    tg = running.tg
    [summary] = await running.say("/summary 1", chat_id=GROUP, chat_type="group")
    # Threaded to the question.
    assert summary.params["reply_parameters"]["message_id"] > 0
    press(tg, summary, "more")
    [edit] = await tg.wait_for("editMessageText")
    assert edit.params["message_id"] == summary.result["message_id"]
    assert edit.params["text"] != summary.params["text"]
    press(tg, summary, "points")
    edits = await tg.wait_for("editMessageText", count=2)
    assert len(re.findall(r"^\d+\. ", edits[-1].result["text"], flags=re.MULTILINE)) == 4
    acks = await tg.wait_for("answerCallbackQuery", count=2)
    assert all(a.ok for a in acks)
    # The header is not posted again: one message in the group, edited twice.
    assert tg.sent(GROUP) == [summary]


async def test_full_by_button_in_a_group_posts_at_most_one_short_message(
    bot_settings: Settings, tg: FakeTelegram
) -> None:
    article_id, parts = await store_long_article(bot_settings, 14_000)
    assert len(parts) > 1
    bot = await RunningBot(bot_settings, tg, limits=FAST).start()
    try:
        [summary] = await bot.say(f"/summary {article_id}", chat_id=GROUP, chat_type="group")
        press(tg, summary, "full")
        [edit] = await tg.wait_for("editMessageText")
        await tg.wait_for("sendMessage", lambda c: c.chat_id == GROUP, count=2)
        await bot.quiet("/noop", chat_id=GROUP, chat_type="group")
    finally:
        await bot.stop()
    assert edit.params["text"] == parts[0]
    posted = tg.sent(GROUP)[1:]
    assert len(posted) == 1
    assert len(shown(posted[0])) < 100 and f"/full {article_id}" in shown(posted[0])


async def test_a_press_in_a_private_chat_edits_and_a_vanished_message_gets_a_new_one(
    running: RunningBot,
) -> None:
    tg = running.tg
    [summary] = await running.say("/summary 1")
    press(tg, summary, "points")
    await tg.wait_for("editMessageText")
    assert tg.sent(DEFAULT_USER_ID) == [summary]
    # The same content again: "message is not modified" is no error and posts nothing.
    press(tg, summary, "points")
    await tg.wait_for("editMessageText", ok=False)
    await tg.wait_for("answerCallbackQuery", count=2)
    # The message was deleted meanwhile: the answer comes as a new message instead.
    tg.fail("editMessageText", error_code=400, description="Bad Request: message to edit not found")
    press(tg, summary, "more")
    calls = await tg.wait_for("sendMessage", lambda c: c.chat_id == DEFAULT_USER_ID, count=2)
    assert "Китай" in shown(calls[-1])


# -- nothing bypasses the sender --------------------------------------------------------

# Bot API calls that put something in a chat or answer a press; only the sender makes them.
TELEGRAM_CALLS = re.compile(
    r"^(answer|reply|edit_text|edit_caption|edit_media|edit_reply_markup|delete|forward"
    r"|copy_to|send_copy|copy_message|forward_message|delete_message|edit_message_\w+"
    r"|answer_\w+|reply_\w+|send_(message|photo|document|audio|video|animation|voice"
    r"|video_note|media_group|location|venue|contact|poll|dice|sticker|paid_media))$"
)
SENDERS = {ROOT / "bot" / "delivery.py"}


def telegram_calls(path: Path, root: Path = ROOT) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(root)}:{node.lineno} .{node.func.attr}()"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and TELEGRAM_CALLS.match(node.func.attr)
    ]


def test_no_handler_or_service_calls_telegram_but_the_sender() -> None:
    paths = [p for d in ("bot", "handlers") for p in sorted((ROOT / d).rglob("*.py"))]
    found = [call for p in paths if p not in SENDERS for call in telegram_calls(p)]
    assert found == []


def test_the_check_finds_direct_calls(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "async def h(message, callback, bot):\n"
        "    await message.answer('x')\n"
        "    await callback.answer()\n"
        "    await bot.send_message(1, 'x')\n"
        "    await message.edit_text('x')\n"
        "    await answers.send(1, [])\n"
    )
    found = telegram_calls(sample, tmp_path)
    assert found == [
        "sample.py:2 .answer()",
        "sample.py:3 .answer()",
        "sample.py:4 .send_message()",
        "sample.py:5 .edit_text()",
    ]
