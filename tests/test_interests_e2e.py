"""Interests, digest modes, outlets, quiet hours and alerts end to end: updates through
long polling, the real Dispatcher and store, replies through aiogram's HTTP session to
the Bot API test server."""

from __future__ import annotations

import json
from typing import Any

from bot import texts
from bot.clock import utc_now
from bot.models import NewArticle
from tests.botapi import Call
from tests.conftest import RunningBot

OIL = "Нефть подорожала на биржах"
OIL_CLUB = "Нефтяная компания купила футбольный клуб"
WEATHER = "Погода в Москве испортится"


def shown(call: Call) -> str:
    return str(call.result["text"])


def buttons(call: Call) -> list[dict[str, str]]:
    markup = call.params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


async def store_news(running: RunningBot) -> None:
    # Stored as a feed would store them: each with its outlet.
    for title, text, source in (
        (OIL, "Цены на нефть выросли третий день подряд. Аналитики ждут роста.", "Интерфакс"),
        (OIL_CLUB, "Сделку по продаже клуба закрыли. Нефть и футбол снова вместе.", "ТАСС"),
        (WEATHER, "Синоптики обещают дожди. Температура упадёт до нуля.", "ТАСС"),
    ):
        _, created = await running.app.services.articles.add(
            NewArticle(title=title, text=text, source=source), now=utc_now()
        )
        assert created


async def digest(running: RunningBot, **kw: Any) -> str:
    replies = await running.say("/digest", **kw)
    return "\n".join(shown(r) for r in replies)


async def test_only_mode_shows_followed_news_alone_and_an_excluded_word_drops_one(
    running: RunningBot,
) -> None:
    await store_news(running)
    [added] = await running.say("/follow нефть -футбол")
    assert shown(added) == "Добавлено: нефть, без: футбол."
    await running.say("/settings режим только", count=2)
    text = await digest(running)
    assert OIL in text
    assert OIL_CLUB not in text  # follows "нефть", but "футбол" is excluded
    assert WEATHER not in text


async def test_first_mode_puts_followed_news_first_and_keeps_the_rest(running: RunningBot) -> None:
    await store_news(running)
    # A chat that follows nothing: the stories by importance, the weather among the first.
    everything = await digest(running, user_id=31)
    assert everything.index(WEATHER) < everything.index(OIL)
    # Another chat follows oil: both oil stories before the weather, which stays.
    await running.say("/follow нефть", user_id=32)
    text = await digest(running, user_id=32)
    assert max(text.index(OIL), text.index(OIL_CLUB)) < text.index(WEATHER)


async def test_only_mode_without_interests_says_so_in_one_line(running: RunningBot) -> None:
    await store_news(running)
    [_, overview] = await running.say("/settings режим только", count=2)
    assert "Режим сводки: только интересное" in shown(overview)
    [reply] = await running.say("/digest")
    assert shown(reply).splitlines()[-1] == texts.DIGEST_ONLY_NONE
    assert OIL not in shown(reply)


async def test_follow_lists_interests_with_buttons_that_remove_each(running: RunningBot) -> None:
    [empty] = await running.say("/follow")
    assert shown(empty) == texts.FOLLOW_NONE
    await running.say('/follow Казахстан "Центральный банк"')
    [again] = await running.say("/follow Казахстане")
    assert shown(again) == texts.FOLLOW_NOTHING_NEW
    [listing] = await running.say("/follow")
    assert "• Казахстан" in shown(listing) and "• «Центральный банк»" in shown(listing)
    labels = [b["text"] for b in buttons(listing)]
    assert labels == ["✕ Казахстан", "✕ «Центральный банк»"]
    running.tg.callback(buttons(listing)[0]["callback_data"], message=listing)
    [edited] = await running.tg.wait_for("editMessageText")
    assert "Казахстан" not in str(edited.params["text"])
    assert [b["text"] for b in buttons(edited)] == ["✕ «Центральный банк»"]
    [gone] = await running.say("/unfollow центральный банк")
    assert "Убрано" in shown(gone)
    [bad] = await running.say("/follow в и на")
    assert shown(bad) == texts.NO_INTERESTS


async def test_in_groups_only_admins_change_interests(running: RunningBot) -> None:
    group, admin, member = -100700, 21, 22
    running.tg.set_admins(group, [admin])
    kw: dict[str, Any] = {"chat_id": group, "chat_type": "supergroup"}
    [refused] = await running.say("/follow нефть", user_id=member, **kw)
    assert shown(refused) == texts.NOT_GROUP_ADMIN
    [added] = await running.say("/follow нефть", user_id=admin, **kw)
    assert shown(added) == "Добавлено: нефть."
    [listing] = await running.say("/follow", user_id=member, **kw)
    assert "• нефть" in shown(listing)
    running.tg.callback(buttons(listing)[0]["callback_data"], message=listing, user_id=member)
    [answer] = await running.tg.wait_for("answerCallbackQuery")
    assert answer.params["text"] == texts.NOT_GROUP_ADMIN
    [still] = await running.say("/follow", user_id=member, **kw)
    assert "• нефть" in shown(still)


async def test_an_outlet_turned_off_in_sources_leaves_the_digest(running: RunningBot) -> None:
    await store_news(running)
    [listing] = await running.say("/sources")
    labels = [b["text"] for b in buttons(listing)]
    assert labels[0] == "✅ ТАСС" and "✅ Интерфакс" in labels
    running.tg.callback(buttons(listing)[0]["callback_data"], message=listing)
    [edited] = await running.tg.wait_for("editMessageText")
    after = [b["text"] for b in buttons(edited)]
    assert after[0] == "🚫 ТАСС" and "✅ Интерфакс" in after
    text = await digest(running)
    assert OIL in text and WEATHER not in text and OIL_CLUB not in text


async def test_quiet_hours_and_alerts_are_stored_and_shown(running: RunningBot) -> None:
    [_, overview] = await running.say("/settings тишина 23:00-8:00", count=2)
    assert "Тихие часы: 23:00-08:00" in shown(overview)
    [alerts] = await running.say("/alerts обновления")
    assert texts.ALERTS["updates"] in shown(alerts)
    [state] = await running.say("/alerts")
    assert texts.ALERTS["updates"] in shown(state)
    [listed] = await running.say("/settings")
    assert "Оповещения: " + texts.ALERTS["updates"] in shown(listed)
    [_, cleared] = await running.say("/settings тишина выкл", count=2)
    assert "Тихие часы: нет" in shown(cleared)
    # The English words are aliases of the Russian ones.
    [_, english] = await running.say("/settings quiet 22:30-07:00", count=2)
    assert "Тихие часы: 22:30-07:00" in shown(english)
    [_, mode] = await running.say("/settings mode only", count=2)
    assert "Режим сводки: только интересное" in shown(mode)
    [_, mode] = await running.say("/settings режим первые", count=2)
    assert "Режим сводки: сначала интересное" in shown(mode)
    [off] = await running.say("/alerts off")
    assert texts.ALERTS["off"] in shown(off)
    for command, fragment in (
        ("/settings тишина 23:00", "ЧЧ:ММ-ЧЧ:ММ"),
        ("/settings режим всё", "/settings режим только"),
        ("/alerts иногда", "/alerts вкл"),
    ):
        [reply] = await running.say(command)
        assert fragment in shown(reply), command


QUAKE = (
    (
        "Землетрясение магнитудой 6,1 произошло у берегов Камчатки",
        "Землетрясение магнитудой 6,1 произошло в Тихом океане у восточного побережья "
        "Камчатки, сообщила Камчатская служба сейсмологии. Очаг залегал на глубине 40 км. "
        "Жители Петропавловска-Камчатского ощутили толчки силой до пяти баллов.",
        "ТАСС",
    ),
    (
        "Мощные толчки ощутили жители Петропавловска-Камчатского",
        "У побережья Камчатки произошло землетрясение магнитудой 6,1, передают сейсмологи. "
        "В Петропавловске-Камчатском толчки достигли пяти баллов, сведений о разрушениях "
        "и пострадавших нет.",
        "РИА Новости",
    ),
)


async def test_a_muted_outlet_leaves_a_story_it_shares_and_drops_one_it_alone_told(
    running: RunningBot,
) -> None:
    ids = []
    for title, text, source in QUAKE:
        article, _ = await running.app.services.articles.add(
            NewArticle(title=title, text=text, source=source), now=utc_now()
        )
        ids.append(article.id)
    stories = running.app.services.stories.repo
    assert await stories.story_of(ids[0]) == await stories.story_of(ids[1])
    _, created = await running.app.services.articles.add(
        NewArticle(title=WEATHER, text="Синоптики обещают дожди. Будет холодно.", source="ТАСС"),
        now=utc_now(),
    )
    assert created
    interests = running.app.services.interests
    tass = next(o for o in await interests.outlets(51) if o.source == "ТАСС")
    await interests.toggle(51, tass.token)
    text = await digest(running, user_id=51)
    # The quake stays, told by the outlet left: its TASS headline and outlet are gone.
    assert QUAKE[1][0] in text and "РИА Новости" in text
    assert QUAKE[0][0] not in text and "ТАСС" not in text
    # The weather, TASS's alone, is not shown at all.
    assert WEATHER not in text
    # A chat that turned nothing off sees both outlets of the quake.
    both = await digest(running, user_id=52)
    assert "ТАСС" in both and "РИА Новости" in both and WEATHER in both
