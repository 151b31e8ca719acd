"""The whole path: FakeTelegram on 127.0.0.1 <- aiogram's aiohttp session <- the production
app polling getUpdates, with its real SQLite file."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot import texts
from bot.config import Settings
from bot.models import NewArticle
from bot.render import MESSAGE_LIMIT, ArticleAction, utf16_len
from tests.botapi import Call, FakeTelegram
from tests.conftest import ADMIN_ID, BOT_USERNAME, RunningBot

SEED_TITLE = "Китай рассчитывает вместе с Казахстаном"


def shown(call: Call) -> str:
    """The message as the user sees it: the text after Telegram parsed the HTML."""
    return str(call.result["text"])


def numbered(call: Call) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", shown(call), flags=re.MULTILINE)


def buttons(call: Call) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


async def test_help_lists_every_command(running: RunningBot) -> None:
    [reply] = await running.say("/help")
    for name, _, _ in texts.COMMANDS:
        assert f"/{name}" in shown(reply)
    assert "/feed_add" not in shown(reply)


async def test_points_of_the_seed_are_its_four_directions(running: RunningBot) -> None:
    [reply] = await running.say("/points")
    points = numbered(reply)
    assert len(points) == 4
    for point, word in zip(
        points,
        ("взаимодоверие", "Пояса и пути", "безопасности", "культурно-гуманитарные"),
        strict=True,
    ):
        assert word in point
        assert point[0].isupper()
        assert "Во-" not in point and "В-" not in point
    assert SEED_TITLE in shown(reply)


async def test_summary_by_inflected_words_is_verbatim_and_has_buttons(
    running: RunningBot, seed_path
) -> None:  # type: ignore[no-untyped-def]
    [reply] = await running.say("/summary Казахстана")
    text = shown(reply)
    assert SEED_TITLE in text
    body = text.split(texts.SUMMARY_LABEL, 1)[1].strip().split("\n\n")
    article = seed_path.read_text(encoding="utf-8")
    assert len(body) == 3
    assert all(sentence in article for sentence in body)
    assert [article.index(s) for s in body] == sorted(article.index(s) for s in body)
    actions = {ArticleAction.unpack(b["callback_data"]).action for b in buttons(reply)}
    assert {"points", "more", "full", "source"} <= actions


async def test_reply_to_summary_with_points_uses_that_article(running: RunningBot) -> None:
    [added] = await running.say(
        "/add Выборы в Исландии\nВ Исландии прошли выборы. Во-первых, явка была высокой. "
        "Во-вторых, победила оппозиция. В-третьих, подсчёт занял сутки.",
        user_id=ADMIN_ID,
    )
    assert "номером 2" in shown(added)
    [seed_summary] = await running.say("/summary 1", user_id=ADMIN_ID)
    await running.say("/summary 2", user_id=ADMIN_ID)  # the chat's current article is now 2
    [current] = await running.say("/points", user_id=ADMIN_ID)
    assert numbered(current) == [
        "Явка была высокой.",
        "Победила оппозиция.",
        "Подсчёт занял сутки.",
    ]
    [points] = await running.say("/points", user_id=ADMIN_ID, reply_to_message=seed_summary)
    assert SEED_TITLE in shown(points)
    assert len(numbered(points)) == 4


async def test_button_press_is_answered_and_shows_the_follow_up_in_place(
    running: RunningBot,
) -> None:
    [summary] = await running.say("/summary 1")
    button = next(b for b in buttons(summary) if b.get("callback_data", "").endswith(":points:1"))
    running.tg.callback(button["callback_data"], message=summary)
    await running.tg.wait_for("answerCallbackQuery")
    [edit] = await running.tg.wait_for("editMessageText")
    assert edit.params["message_id"] == summary.result["message_id"]
    assert len(numbered(edit)) == 4
    assert running.tg.sent() == [summary]


async def test_forged_button_data_is_answered(running: RunningBot) -> None:
    [summary] = await running.say("/summary 1")
    running.tg.callback("art:points:99999", message=summary)
    running.tg.callback("garbage", message=summary)
    answers = await running.tg.wait_for("answerCallbackQuery", count=2)
    assert all(a.ok for a in answers)


async def test_full_text_of_a_long_article_is_split_within_limits(running: RunningBot) -> None:
    sentence = "Длинная статья о событиях недели, в которой много подробностей. "
    body = "\n\n".join(sentence * 10 for _ in range(8))
    assert len(body) > 5000
    await running.say(f"/add Очень длинная статья\n{body}", user_id=ADMIN_ID)
    parts = await running.say("/full 2", user_id=ADMIN_ID, count=2)
    assert all(utf16_len(shown(p)) <= MESSAGE_LIMIT for p in parts)
    assert sum(shown(p).count("подробностей") for p in parts) == 80
    assert not [c for c in running.tg.calls if not c.ok and c.method == "sendMessage"]


async def test_unknown_ids_get_a_short_russian_reply(running: RunningBot) -> None:
    for command in ("/summary 999", "/points 123456789012345", "/full 0"):
        [reply] = await running.say(command)
        assert "нет" in shown(reply)
        assert len(shown(reply)) < 200


async def test_hostile_search_strings_are_answered(running: RunningBot) -> None:
    for query in (
        '"AND OR NEAR(*',
        "<b>жирный</b> & ;DROP TABLE articles;--",
        "*",
        "😀" * 50,
        "title:Казахстан",
        "-Китай",
    ):
        [reply] = await running.say(f"/search {query}")
        assert reply.ok
    [after] = await running.say("/search Казахстан")
    assert "№\u00a01" in shown(after)
    bad = [c for c in running.tg.calls if not c.ok]
    assert bad == []


async def test_private_plain_text_is_a_search(running: RunningBot) -> None:
    [reply] = await running.say("сотрудничество с Казахстаном")
    assert "№\u00a01" in shown(reply)


async def test_group_answers_own_mention_and_ignores_others(running: RunningBot) -> None:
    group = -100500
    await running.quiet("/summary@OtherBot", chat_id=group, chat_type="supergroup")
    await running.quiet("просто разговор про Казахстан", chat_id=group, chat_type="supergroup")
    assert running.tg.sent(group) == []
    [reply] = await running.say(f"/points@{BOT_USERNAME}", chat_id=group, chat_type="supergroup")
    assert len(numbered(reply)) == 4


async def test_group_settings_are_for_admins_only(running: RunningBot) -> None:
    group, admin, member = -100600, 11, 12
    running.tg.set_admins(group, [admin])
    [refused] = await running.say(
        "/settings sentences 5", chat_id=group, user_id=member, chat_type="supergroup"
    )
    assert shown(refused) == texts.NOT_GROUP_ADMIN
    saved = await running.say(
        "/settings sentences 5", chat_id=group, user_id=admin, chat_type="supergroup", count=2
    )
    assert "Длина изложения: 5\u00a0предложений" in shown(saved[-1])
    # An anonymous admin writes as the group itself.
    anonymous = await running.say(
        "/settings algorithm lsa",
        chat_id=group,
        user_id=1087968824,
        chat_type="supergroup",
        sender_chat=running.tg.chat(group),
        count=2,
    )
    assert "Алгоритм: lsa" in shown(anonymous[-1])
    [listed] = await running.say("/settings", chat_id=group, user_id=member, chat_type="supergroup")
    assert "Алгоритм: lsa" in shown(listed)


async def test_bad_settings_values_are_explained(running: RunningBot) -> None:
    for command, fragment in (
        ("/settings algorithm gpt", "Неизвестный алгоритм"),
        ("/settings sentences 0", "Число предложений"),
        ("/settings timezone Mars/Olympus", "Mars/Olympus"),
        ("/settings colour red", "/settings алгоритм"),
        ("/settings пояс Марс", "/settings пояс Москва"),
        ("/latest 1000", "/latest 5"),
    ):
        [reply] = await running.say(command)
        assert fragment in shown(reply), command


async def test_only_bot_admins_add_articles(running: RunningBot) -> None:
    [refused] = await running.say("/add Заголовок\nТекст статьи.", user_id=77)
    assert shown(refused) == texts.NOT_ALLOWED
    [listing] = await running.say("/latest", user_id=77)
    assert "Заголовок" not in shown(listing)


async def test_joining_a_group_introduces_once(running: RunningBot) -> None:
    group = -100700
    running.tg.my_chat_member(group, "member", "left", chat_type="supergroup")
    await running.tg.wait_for("sendMessage", lambda c: c.chat_id == group)
    running.tg.my_chat_member(group, "left", "member", chat_type="supergroup")
    running.tg.my_chat_member(group, "member", "left", chat_type="supergroup")
    await running.say("/help@" + BOT_USERNAME, chat_id=group, chat_type="supergroup")
    intros = [c for c in running.tg.sent(group) if "Всем привет" in shown(c)]
    assert len(intros) == 1


async def test_restart_keeps_follow_ups_working(bot_settings: Settings, tg: FakeTelegram) -> None:
    first = await RunningBot(bot_settings, tg).start()
    try:
        await first.say(
            "/add Вторая статья\nПервое предложение. Второе предложение.", user_id=ADMIN_ID
        )
        [about_seed] = await first.say("/summary 1", user_id=ADMIN_ID)
        await first.say("/summary 2", user_id=ADMIN_ID)
    finally:
        await first.stop()
    second = await RunningBot(bot_settings, tg).start()
    try:
        [current] = await second.say("/summary", user_id=ADMIN_ID)
        assert "Вторая статья" in shown(current)
        [reply] = await second.say("/points", user_id=ADMIN_ID, reply_to_message=about_seed)
        assert SEED_TITLE in shown(reply)
        assert len(numbered(reply)) == 4
    finally:
        await second.stop()


async def test_article_in_another_language_is_marked(running: RunningBot) -> None:
    await running.say(
        "/add Elections in Iceland\nIceland held a general election on Saturday. The opposition "
        "won a clear majority. Turnout was the highest in twenty years.",
        user_id=ADMIN_ID,
    )
    [reply] = await running.say("/summary 2", user_id=ADMIN_ID)
    assert "на английском языке" in shown(reply)
    [seed] = await running.say("/summary 1", user_id=ADMIN_ID)
    assert "языке" not in shown(seed)


async def test_the_warm_up_caches_recent_articles_and_freezes_the_heap_when_asked(
    bot_settings: Settings,
) -> None:
    import gc

    from bot.app import build_app
    from storage.articles import ArticleRepo
    from storage.cache import SummaryCache

    app = await build_app(bot_settings)
    try:
        seed = await ArticleRepo(app.services.db).newest()
        assert seed is not None
        await app.services.articles.forget_summaries()
        await app.warm_cache()  # as in tests: no freezing
        assert gc.get_freeze_count() == 0
        cache = SummaryCache(app.services.db)
        kept = await cache.get_summary(
            seed.id, bot_settings.summary_algorithm, bot_settings.summary_sentences
        )
        assert kept is not None and kept.sentences
        assert await cache.get_points(seed.id) is not None
        app.freeze_heap = True  # as `python -m bot run` sets it
        await app.warm_cache()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        await app.close()


async def test_housekeeping_runs_daily_and_trims_message_links(running: RunningBot) -> None:
    from bot.jobs import HOUSEKEEPING_JOB, KEEP_MESSAGE_LINKS, housekeeping
    from storage.articles import ArticleRepo

    job = running.app.jobs.scheduler.get_job(HOUSEKEEPING_JOB)
    assert job is not None
    assert (job.next_run_time.hour, job.next_run_time.minute) == (4, 0)
    assert job.next_run_time.utcoffset().total_seconds() == 0
    seed = await ArticleRepo(running.app.services.db).newest()
    assert seed is not None
    chats = running.app.services.chats
    chats.remember(77, [(m, seed.id) for m in range(KEEP_MESSAGE_LINKS + 5)])
    ledger = running.app.subscriptions.outbox.repo
    await housekeeping(chats, running.app.services.intake, ledger, running.app.clock)
    assert await chats.article_for_message(77, 4) is None
    assert await chats.article_for_message(77, 5) == seed.id


async def test_an_article_with_an_unusable_url_is_answered_without_its_link(
    running: RunningBot,
) -> None:
    services = running.app.services
    text = "Правительство утвердило план. Работы начнутся весной. Их оплатит бюджет."
    for bad in ("javascript:alert(1)", "https://example.org/a b"):
        article, _ = await services.articles.add(
            NewArticle(f"План {bad}", text, source="Вестник", url=bad), now=services.clock()
        )
        [reply] = await running.say(f"/summary {article.id}")
        assert texts.SUMMARY_LABEL in shown(reply)
        assert not [b for b in buttons(reply) if "url" in b]
        assert "source" in {ArticleAction.unpack(b["callback_data"]).action for b in buttons(reply)}


async def test_an_update_that_cannot_be_decoded_is_logged_skipped_and_polling_goes_on(
    running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    chat = {"id": 1001, "type": "private", "first_name": "Гость"}
    broken = {"message_id": 7, "date": "вчера", "chat": chat, "text": "/latest"}
    with caplog.at_level(logging.WARNING, logger="bot.updates"):
        bad = running.tg.push_update({"message": broken})
        # Confirmed by the next getUpdates rather than asked for again and again.
        await running.tg.wait_for(
            "getUpdates", lambda c: int(c.params.get("offset", 0)) > bad, ok=None, timeout=10
        )
        [reply] = await running.say("/latest")
    assert texts.LATEST_STORIES_TITLE.removeprefix("<b>").removesuffix("</b>") in shown(reply)
    asked = [c for c in running.tg.calls_to("getUpdates") if int(c.params.get("offset", 0)) <= bad]
    assert len(asked) <= 3
    [line] = [r.getMessage() for r in caplog.records if r.name == "bot.updates"]
    assert f"update {bad} " in line and "date" in line


async def test_numbers_that_are_not_ascii_digits_get_a_plain_answer(
    running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Superscripts, circled digits and 5,000-digit numbers pass `str.isdigit` but not
    `int` or the store: each gets an ordinary answer, never the apology."""
    with caplog.at_level(logging.ERROR):
        for command in (
            "/latest ²",
            "/summary ①",
            "/settings sentences ²",
            "/latest " + "9" * 5000,
            "/full " + "9" * 30,
        ):
            [reply] = await running.say(command)
            assert shown(reply) != texts.UNEXPECTED, command
        [reply] = await running.say("/feed_remove ²", user_id=ADMIN_ID)
        assert shown(reply) != texts.UNEXPECTED
        [summary] = await running.say("/summary 1")
        for forged in ("art:full:99999999999999999999999", "story:99999999999999999999999"):
            running.tg.callback(forged, message=summary)
        pressed = await running.tg.wait_for("answerCallbackQuery", count=2)
        assert all(p.ok for p in pressed)
    assert not [c for c in running.tg.sent() if shown(c) == texts.UNEXPECTED]
    assert not [r for r in caplog.records if r.exc_info]
