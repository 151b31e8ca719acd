"""Which chats get an alert for a new story: interests, once per story, the hourly cap,
quiet hours."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.alerts import Alert, select_alerts
from bot.models import ChatSettings
from bot.nlp.interests import InterestIndex, item_terms, parse_interests
from bot.parsing import is_quiet, parse_quiet

# 12:00 in Moscow, 19:00 in Vladivostok.
NOW = datetime(2026, 6, 17, 9, 0, tzinfo=UTC)
BASE = ChatSettings(chat_id=0, algorithm="lexrank", sentences=3, timezone="Europe/Moscow")
STORY = item_terms("Токаев подписал закон о бюджете Казахстана")


def setup(**chats: str) -> tuple[InterestIndex, dict[int, ChatSettings]]:
    index = InterestIndex()
    settings = {}
    for n, (name, args) in enumerate(chats.items(), start=1):
        index.add(n, parse_interests(args))
        settings[n] = replace(BASE, chat_id=n, alerts="on" if name != "off" else "off")
    return index, settings


def decide(index: InterestIndex, chats: dict[int, ChatSettings], **kw: object) -> list[Alert]:
    args: dict[str, object] = {
        "update": False,
        "alerted": (),
        "recent": {},
        "per_hour": 6,
        "now": NOW,
    } | kw
    return select_alerts(7, STORY, index=index, chats=chats, **args)  # type: ignore[arg-type]


def test_a_chat_with_alerts_on_that_follows_the_story_gets_one() -> None:
    index, chats = setup(kz="Казахстан", off="Казахстан", other="футбол", excl="Токаев -бюджет")
    assert decide(index, chats) == [Alert(1, 7, silent=False)]


def test_a_chat_that_turned_the_outlet_off_gets_none() -> None:
    index, chats = setup(a="Казахстан", b="Токаев")
    assert decide(index, chats, muted={1}) == [Alert(2, 7, silent=False)]


def test_an_update_alerts_again_only_with_alerts_updates() -> None:
    index, chats = setup(a="Казахстан", b="Токаев")
    chats[2] = replace(chats[2], alerts="updates")
    assert decide(index, chats, alerted={1, 2}) == []
    assert decide(index, chats, alerted={1, 2}, update=True) == [Alert(2, 7, silent=False)]


def test_the_hourly_cap_holds_an_alert_back() -> None:
    index, chats = setup(a="Казахстан")
    full = {1: [NOW - timedelta(minutes=m) for m in (1, 10, 59)]}
    assert decide(index, chats, recent=full, per_hour=3) == [Alert(1, 7, silent=False, held=True)]
    older = {1: [NOW - timedelta(minutes=m) for m in (1, 10, 61)]}
    assert decide(index, chats, recent=older, per_hour=3) == [Alert(1, 7, silent=False)]


def test_alerts_in_quiet_hours_are_silent_in_the_chat_local_time() -> None:
    index, chats = setup(moscow="Казахстан", far="Казахстан")
    # 12:00 in Moscow; 19:00 in Vladivostok.
    chats[1] = replace(chats[1], quiet="11:00-13:00")
    chats[2] = replace(chats[2], quiet="18:00-20:00", timezone="Asia/Vladivostok")
    assert decide(index, chats) == [Alert(1, 7, silent=True), Alert(2, 7, silent=True)]
    chats[2] = replace(chats[2], timezone="Europe/Moscow")
    assert decide(index, chats)[1] == Alert(2, 7, silent=False)


def test_quiet_hours_may_span_midnight() -> None:
    night = parse_quiet("23:00-8:00")
    assert night == "23:00-08:00"
    assert is_quiet(night, datetime(2026, 1, 1, 23, 30).time())
    assert is_quiet(night, datetime(2026, 1, 1, 7, 59).time())
    assert not is_quiet(night, datetime(2026, 1, 1, 8, 0).time())
    assert not is_quiet("", datetime(2026, 1, 1, 3, 0).time())
