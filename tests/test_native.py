"""The bot as Telegram users expect it, end to end through the Bot API test server:
menus and descriptions in both languages, English for English-speaking users, the
conventions of /start, /help, unknown commands and buttons."""

from __future__ import annotations

import asyncio
import json

from bot import texts
from bot.clock import utc_now
from bot.models import NewArticle
from bot.render import ArticleAction, StoryAction
from tests.botapi import DEFAULT_USER_ID, Call
from tests.conftest import ADMIN_ID, RunningBot

ADMIN_ONLY = {name for name, _, _ in texts.ADMIN_COMMANDS}


def shown(call: Call) -> str:
    return str(call.result["text"])


def menu(running: RunningBot, scope: dict[str, object], language_code: str = "") -> list[str]:
    key = (json.dumps(scope, sort_keys=True), language_code)
    return [command["command"] for command in running.tg.commands[key]]


def descriptions(running: RunningBot, kind: str) -> dict[str, str]:
    return {lang: text for (k, lang), text in running.tg.descriptions.items() if k == kind}


async def test_menus_and_descriptions_are_registered_in_both_languages(
    running: RunningBot,
) -> None:
    await running.tg.wait_for("setMyShortDescription", count=2)
    private = {"type": "all_private_chats"}
    groups = {"type": "all_group_chats"}
    admin = {"type": "chat", "chat_id": ADMIN_ID}
    for code in ("", "en"):
        everyone = menu(running, private, code)
        assert "summary" in everyone and "settings" in everyone
        assert not ADMIN_ONLY & set(everyone)
        assert not ADMIN_ONLY & set(menu(running, groups, code))
        assert "start" not in menu(running, groups, code)
        assert set(menu(running, admin, code)) >= ADMIN_ONLY
    russian = running.tg.commands[(json.dumps(private, sort_keys=True), "")]
    english = running.tg.commands[(json.dumps(private, sort_keys=True), "en")]
    assert next(c for c in russian if c["command"] == "search")["description"] == (
        "поиск по статьям"
    )
    assert next(c for c in english if c["command"] == "search")["description"] == (
        "search the articles"
    )
    long, short = descriptions(running, "description"), descriptions(running, "short_description")
    assert set(long) == set(short) == {"", "en"}
    assert "Сводка" in long[""] and "Svodka" in long["en"]
    assert len(short["en"]) <= 120 and len(long[""]) <= 512


async def test_an_english_speaking_user_gets_english(running: RunningBot) -> None:
    [help_reply] = await running.say("/help", language_code="en")
    assert "/search words — search the articles" in shown(help_reply)
    [latest] = await running.say("/latest", language_code="en-GB")
    assert shown(latest).startswith("Latest stories")
    assert "1\u00a0source" in shown(latest)
    [bad] = await running.say("/latest 1000", language_code="en")
    assert shown(bad) == "Give a number from 1 to 30: /latest 5"
    # The article stays in its own language.
    [summary] = await running.say("/summary 1", language_code="en")
    assert "Китай" in shown(summary) and "Summary" in shown(summary)
    assert "June" in shown(summary)
    [russian] = await running.say("/latest", user_id=2002)
    assert shown(russian).startswith("Последние сюжеты")


async def test_settings_language_overrides_telegram_for_the_chat(running: RunningBot) -> None:
    saved = await running.say("/settings язык en", count=2)
    assert shown(saved[0]) == "Saved."
    assert "Language: English" in shown(saved[1])
    [latest] = await running.say("/latest")
    assert shown(latest).startswith("Latest stories")
    assert "1\u00a0source" in shown(latest)
    saved = await running.say("/settings language ru", language_code="en", count=2)
    assert shown(saved[0]) == "Сохранено."
    [listing] = await running.say("/settings", language_code="en")
    assert "Язык: русский" in shown(listing)
    [bad] = await running.say("/settings язык klingon")
    assert "ru или en" in shown(bad)


async def test_admins_see_their_commands_in_help_and_others_do_not(running: RunningBot) -> None:
    [admin_help] = await running.say("/help", user_id=ADMIN_ID)
    assert "/feed_add" in shown(admin_help)
    [help_reply] = await running.say("/help", user_id=77)
    assert "/feed_add" not in shown(help_reply) and "/add" not in shown(help_reply)


def buttons(call: Call) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


async def test_start_is_a_short_welcome_with_buttons(running: RunningBot) -> None:
    [welcome] = await running.say("/start")
    assert len(shown(welcome).splitlines()) <= 3
    assert "/summary" not in shown(welcome)
    labels = [b["text"] for b in buttons(welcome)]
    assert labels == [texts.BTN_TODAY, texts.BTN_SUBSCRIBE, texts.BTN_HELP]
    # Help turns the welcome itself into the full list: nothing new is posted.
    help_button = next(b for b in buttons(welcome) if b["text"] == texts.BTN_HELP)
    running.tg.callback(help_button["callback_data"], message=welcome)
    [edit] = await running.tg.wait_for("editMessageText")
    assert "/settings" in edit.params["text"] and "/summary" in edit.params["text"]
    assert len(running.tg.sent(welcome.chat_id)) == 1
    today = next(b for b in buttons(welcome) if b["text"] == texts.BTN_TODAY)
    running.tg.callback(today["callback_data"], message=welcome)
    calls = await running.tg.wait_for("sendMessage", count=2)
    assert shown(calls[-1]).startswith("Сводка за")


async def test_deep_links_open_their_article_story_or_digest(running: RunningBot) -> None:
    [article] = await running.say("/start article_1")
    assert "Китай рассчитывает" in shown(article)
    assert texts.SUMMARY_LABEL in shown(article)
    # story_N is the story itself: its headline and every source, not an article's summary.
    [(_, newest)] = await running.app.services.stories.latest(1)
    story_id = newest.story_id
    [story] = await running.say(f"/start story_{story_id}")
    assert "Китай рассчитывает" in shown(story)
    assert texts.STORY_SOURCES in shown(story) and texts.SUMMARY_LABEL not in shown(story)
    [gone] = await running.say(f"/start story_{story_id + 1000}")
    assert shown(gone) == texts.STORY_NOT_FOUND.format(number=story_id + 1000)
    [digest] = await running.say("/start digest")
    assert shown(digest).startswith("Сводка за")
    [missing] = await running.say("/start article_999")
    assert "999" in shown(missing) and "/latest" in shown(missing)


async def test_unknown_command_gets_a_hint_in_private_and_silence_in_a_group(
    running: RunningBot,
) -> None:
    [hint] = await running.say("/foo")
    assert shown(hint) == texts.UNKNOWN_COMMAND
    await running.quiet("/foo", chat_id=-100700, chat_type="supergroup")
    await running.quiet("/foo@svodka_bot", chat_id=-100700, chat_type="supergroup")
    assert running.tg.sent(-100700) == []


async def test_commands_are_case_insensitive(running: RunningBot) -> None:
    [reply] = await running.say("/SUMMARY 1")
    assert texts.SUMMARY_LABEL in shown(reply) and "Китай" in shown(reply)
    [group] = await running.say("/Points@Svodka_Bot 1", chat_id=-100701, chat_type="supergroup")
    assert texts.POINTS_LABEL in shown(group)


async def test_no_message_shows_link_previews(running: RunningBot) -> None:
    await running.say("/digest")
    await running.say("/summary 1")
    for call in running.tg.sent():
        assert call.params.get("link_preview_options") == {"is_disabled": True}


async def test_answers_in_groups_are_threaded_to_the_question(running: RunningBot) -> None:
    group = -100702
    [reply] = await running.say("/summary 1", chat_id=group, chat_type="supergroup")
    assert reply.result["reply_to_message"]["text"] == "/summary 1"
    [help_reply] = await running.say("/help", chat_id=group, chat_type="supergroup")
    assert help_reply.result["reply_to_message"]["text"] == "/help"
    [private] = await running.say("/summary 1")
    assert "reply_to_message" not in private.result


async def test_search_results_are_buttons_that_open_each_article(running: RunningBot) -> None:
    [found] = await running.say("/search Казахстан")
    assert "/summary" not in shown(found)
    [button] = buttons(found)
    assert button["text"].startswith(f"№{texts.NBSP}1 · ")
    assert button["callback_data"] == ArticleAction(action="open", id=1).pack()
    running.tg.callback(button["callback_data"], message=found)
    # The list stays as it was; the summary comes under it.
    calls = await running.tg.wait_for("sendMessage", count=2)
    assert not running.tg.calls_to("editMessageText")
    assert texts.SUMMARY_LABEL in shown(calls[-1]) and "Китай" in shown(calls[-1])


async def test_latest_stories_are_numbered_buttons_that_open_each_story(
    running: RunningBot,
) -> None:
    [listing] = await running.say("/latest")
    assert "/story" not in shown(listing)
    [(_, newest)] = await running.app.services.stories.latest(1)
    [button] = buttons(listing)
    assert button["text"] == "1"
    assert button["callback_data"] == StoryAction(id=newest.story_id).pack()
    running.tg.callback(button["callback_data"], message=listing)
    calls = await running.tg.wait_for("sendMessage", count=2)
    assert texts.STORY_SOURCES in shown(calls[-1])


async def store(running: RunningBot, title: str, text: str) -> int:
    article, _ = await running.app.services.articles.add(
        NewArticle(title, text, "Вести", lang="ru"), now=utc_now()
    )
    return article.id


def entities(call: Call) -> list[dict[str, object]]:
    return list(call.result.get("entities", []))


async def test_full_text_fits_one_message_or_is_marked_part_by_part(running: RunningBot) -> None:
    short_id = await store(running, "Короткая заметка", "Мост откроют весной. Так решил совет.")
    [whole] = await running.say(f"/full {short_id}")
    assert "продолжение" not in shown(whole) and "Мост откроют весной" in shown(whole)
    sentence = "Совет директоров обсудил строительство нового моста через реку Обь. "
    # 9,500 characters in one paragraph: no message may hold the header alone.
    long_id = await store(running, "Мост через Обь", sentence * 140)
    parts = await running.say(f"/full {long_id}", count=3)
    await asyncio.sleep(0.3)
    assert len(running.tg.sent(DEFAULT_USER_ID)) == 4  # the short one, then three parts
    total = len(parts)
    assert shown(parts[0]).startswith("Мост через Обь")
    assert "Совет директоров" in shown(parts[0]).split("\n\n", 2)[2]
    for number, part in enumerate(parts[1:], 2):
        assert shown(part).startswith(f"(продолжение {number}/{total})")
        assert "Мост через Обь" not in shown(part)
    joined = " ".join(shown(p) for p in parts)
    assert joined.count("Совет директоров") == 140
    # The follow-up buttons are under the last part only.
    assert [bool(buttons(p)) for p in parts] == [False, False, True]


async def test_a_long_quotation_is_an_expandable_blockquote(running: RunningBot) -> None:
    quote = "«" + "Мы продолжим работу над соглашением и доведём её до конца. " * 10 + "»"
    article_id = await store(
        running,
        "Заявление министра",
        f"Министр выступил на пресс-конференции.\n{quote}\nЗаявление передали агентства.",
    )
    [full] = await running.say(f"/full {article_id}")
    [block] = [e for e in entities(full) if e["type"] == "expandable_blockquote"]
    text = shown(full)
    start = len(text[: text.index("«")].encode("utf-16-le")) // 2
    assert block["offset"] == start
    assert "Министр выступил" not in text[start:][: int(str(block["length"]))]
