"""The bot as Telegram users expect it, end to end through the Bot API test server:
menus and descriptions in both languages, English for English-speaking users, the
conventions of /start, /help, unknown commands and buttons."""

from __future__ import annotations

import json

from bot import texts
from tests.botapi import Call
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
    assert shown(latest).startswith("Latest articles")
    assert "June" in shown(latest)
    [bad] = await running.say("/latest 1000", language_code="en")
    assert shown(bad) == "Give a number from 1 to 30: /latest 5"
    # The article stays in its own language.
    [summary] = await running.say("/summary 1", language_code="en")
    assert "Китай" in shown(summary) and "Summary" in shown(summary)
    [russian] = await running.say("/latest", user_id=2002)
    assert shown(russian).startswith("Последние статьи")


async def test_settings_language_overrides_telegram_for_the_chat(running: RunningBot) -> None:
    saved = await running.say("/settings язык en", count=2)
    assert shown(saved[0]) == "Saved."
    assert "Language: English" in shown(saved[1])
    [latest] = await running.say("/latest")
    assert shown(latest).startswith("Latest articles")
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
