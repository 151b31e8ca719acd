"""Which chats hear of a new story at once, and whether silently.

The decisions only: sending goes through the digest's one paced sender, and what was
sent is recorded by the delivery ledger. A chat gets an alert when it has alerts on,
something in the story is followed and nothing excluded (bot.nlp.interests), the story
is new to it (or an update, for chats with `/alerts updates`), and it has had fewer
than ALERTS_PER_HOUR alerts in the past hour; in its quiet hours the alert is silent.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import as_utc
from bot.models import ChatSettings
from bot.nlp.interests import InterestIndex, ItemTerms
from bot.parsing import is_quiet

HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Alert:
    chat_id: int
    story_id: int
    # Sent with disable_notification: the chat's quiet hours.
    silent: bool


def select_alerts(
    story_id: int,
    terms: ItemTerms,
    *,
    update: bool,
    index: InterestIndex,
    chats: Mapping[int, ChatSettings],
    alerted: Collection[int],
    recent: Mapping[int, Sequence[datetime]],
    per_hour: int,
    now: datetime,
) -> list[Alert]:
    """The alerts for one story (or its update) that has just arrived.

    `chats` holds the settings of the chats the index may name; `alerted` the chats
    already told of this story; `recent` each chat's alert times, any period."""
    now = as_utc(now)
    found = []
    for chat_id in sorted(index.match(terms)):
        chat = chats.get(chat_id)
        if chat is None or chat.alerts == "off":
            continue
        if chat_id in alerted and not (update and chat.alerts == "updates"):
            continue
        if _within_hour(recent.get(chat_id, ()), now) >= per_hour:
            continue
        local = now.astimezone(ZoneInfo(chat.timezone)).time()
        found.append(Alert(chat_id, story_id, silent=is_quiet(chat.quiet, local)))
    return found


def _within_hour(times: Iterable[datetime], now: datetime) -> int:
    return sum(1 for moment in times if now - as_utc(moment) < HOUR)
