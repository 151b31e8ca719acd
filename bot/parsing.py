"""What users type after a command, read into values: one definition of each.

Every function raises the domain error (bot/errors.py) that tells the user what was
wrong, except `parse_hhmm` and `check_timezone`, which Settings uses and which raise
ValueError as pydantic expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.errors import (
    BadAlerts,
    BadCount,
    BadLanguage,
    BadMode,
    BadQuiet,
    BadSentenceCount,
    BadSubscribe,
    BadTime,
    BadTimezone,
    EmptyText,
    UnknownAlgorithm,
    UnknownSetting,
)
from bot.models import NewArticle
from bot.nlp import ALGORITHMS

# The longest summary a chat may ask for (`/settings sentences N`); the CLI has no limit.
MAX_SENTENCES = 20
# The longest search query, in characters.
MAX_QUERY = 300
# /latest shows 5 articles, at most 30; a digest's "и ещё N" names `/latest N` up to it.
LATEST_DEFAULT = 5
LATEST_MAX = 30
# Article and feed numbers are SQLite rowids: a longer string of digits names nothing.
_MAX_ID_DIGITS = 11


def is_digits(text: str, *, max_len: int = 9) -> bool:
    """ASCII digits only, at most `max_len` of them. `str.isdigit` also accepts `²` and
    `①`, which `int()` refuses, and a 5,000-digit number is no count or id of ours."""
    return 0 < len(text) <= max_len and text.isascii() and text.isdigit()


def parse_hhmm(value: str) -> time:
    """`9:05` or `09:05` -> time; anything else raises ValueError."""
    hours, sep, minutes = value.strip().partition(":")
    if not sep or not is_digits(hours, max_len=2) or not is_digits(minutes, max_len=2):
        raise ValueError(f"time must look like HH:MM, got {value!r}")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60) or len(minutes) != 2:
        raise ValueError(f"time must look like HH:MM, got {value!r}")
    return time(h, m)


@lru_cache(maxsize=1)
def _zones_by_lower_name() -> dict[str, str]:
    # Zone files are case-sensitive on Linux, but people type `asia/almaty`.
    return {name.lower(): name for name in available_timezones()}


def _city_key(name: str) -> str:
    return " ".join(name.lower().replace("ё", "е").replace("_", " ").replace("-", " ").split())


@lru_cache(maxsize=1)
def _zones_by_city() -> dict[str, str]:
    """Zones by the city that names them, in Russian and in English, from the CLDR data
    Babel ships: `Москва`, `Алматы`, `Новосибирск`, `Almaty`, `New York`."""
    from babel import Locale

    zones = available_timezones()
    cities: dict[str, str] = {}
    for zone in sorted(zones):
        area, _, city = zone.rpartition("/")
        if area and area not in ("Etc", "SystemV", "US"):
            cities.setdefault(_city_key(city), zone)
    for locale in ("en", "ru"):
        for zone, names in Locale.parse(locale).time_zones.items():
            if zone in zones and (city := names.get("city")):
                cities.setdefault(_city_key(city), zone)
    return cities


def zone_name(value: str) -> str | None:
    """The IANA name of the zone `value` names, in any letter case, or by its city's
    Russian or English name; None for none."""
    name = value.strip()
    if not name or name.startswith("/") or ".." in name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # "Europe" names a folder of the zone database: OSError, not ZoneInfoNotFoundError.
        found = _zones_by_lower_name().get(name.lower())
        return found if found is not None else _zones_by_city().get(_city_key(name))
    return name


def check_timezone(value: str) -> str:
    """The IANA name for Settings; ValueError when the zone is unknown."""
    name = zone_name(value)
    if name is None:
        raise ValueError(f"unknown time zone {value!r}")
    return name


def parse_timezone(value: str) -> str:
    name = zone_name(value)
    if name is None:
        raise BadTimezone(value)
    return name


def parse_algorithm(value: str) -> str:
    name = value.strip().lower()
    if name not in ALGORITHMS:
        raise UnknownAlgorithm(value)
    return name


def parse_sentences(value: str, *, limit: int | None = MAX_SENTENCES) -> int:
    """A summary length: a whole number from 1 to `limit`, or with no upper bound."""
    text = value.strip()
    if not is_digits(text) or int(text) < 1 or (limit is not None and int(text) > limit):
        raise BadSentenceCount(value)
    return int(text)


def parse_count(value: str | None, *, default: int, limit: int) -> int:
    """An optional count such as `/latest 10`: `default` when absent, 1 to `limit`."""
    text = (value or "").strip()
    if not text:
        return default
    if not (is_digits(text) and 1 <= int(text) <= limit):
        raise BadCount(text, limit)
    return int(text)


def parse_offset(value: str, *, limit: int) -> int:
    """An inline query's `offset`, which the bot itself set as `next_offset`: a number
    up to `limit`; anything else (a client's own, or none) starts from the top."""
    return int(value) if is_digits(value, max_len=4) and int(value) <= limit else 0


def number_in(value: str) -> str | None:
    """The digits of `12`, `№12` or `#12`; None when `value` is not such a number."""
    digits = value.strip().lstrip("№#").strip()
    return digits if digits and digits.isascii() and digits.isdigit() else None


def parse_number(value: str) -> int | None:
    """An article or feed number, None when `value` is not one (or too long to be one)."""
    digits = number_in(value)
    if digits is None or len(digits) > _MAX_ID_DIGITS:
        return None
    return int(digits)


@dataclass(frozen=True, slots=True)
class SettingChange:
    """One `/settings` change, checked: `algorithm`, `sentences`, `timezone` or
    `language`."""

    name: str
    value: str | int


# The Russian words are the ones /settings shows; the English ones work too.
SETTING_ALIASES = {
    "алгоритм": "algorithm",
    "предложения": "sentences",
    "предложений": "sentences",
    "длина": "sentences",
    "length": "sentences",
    "пояс": "timezone",
    "tz": "timezone",
    "часовой_пояс": "timezone",
    "город": "timezone",
    "язык": "language",
    "lang": "language",
    "mode": "digest_mode",
    "режим": "digest_mode",
    "тихие_часы": "quiet",
    "тишина": "quiet",
    "quiet_hours": "quiet",
}
LANGUAGE_WORDS = {
    "ru": "ru",
    "рус": "ru",
    "русский": "ru",
    "en": "en",
    "англ": "en",
    "английский": "en",
    "english": "en",
    "russian": "ru",
}
MODE_ALIASES = {
    "первые": "first",
    "сначала": "first",
    "first": "first",
    "только": "only",
    "only": "only",
}
ALERT_ALIASES = {
    "on": "on",
    "вкл": "on",
    "off": "off",
    "выкл": "off",
    "updates": "updates",
    "обновления": "updates",
}
_QUIET_OFF = {"off", "none", "нет", "выкл"}


def parse_setting(args: str) -> SettingChange:
    """`алгоритм lsa`, `длина 5`, `пояс Алматы`, `язык en`; the English words too."""
    parts = args.split(maxsplit=1)
    if len(parts) != 2:
        raise UnknownSetting(" ".join(parts))
    key, value = parts[0], parts[1].strip()
    name = SETTING_ALIASES.get(key.lower(), key.lower())
    if name != "timezone" and len(value.split()) != 1:
        # A city's name may take two words (Нью-Йорк, New York); nothing else does.
        raise UnknownSetting(" ".join(args.split()))
    if name == "language":
        language = LANGUAGE_WORDS.get(value.lower())
        if language is None:
            raise BadLanguage(value)
        return SettingChange(name, language)
    if name == "algorithm":
        return SettingChange(name, parse_algorithm(value))
    if name == "sentences":
        return SettingChange(name, parse_sentences(value))
    if name == "timezone":
        return SettingChange(name, parse_timezone(value))
    if name == "digest_mode":
        mode = MODE_ALIASES.get(value.lower())
        if mode is None:
            raise BadMode(value)
        return SettingChange(name, mode)
    if name == "quiet":
        return SettingChange(name, parse_quiet(value))
    raise UnknownSetting(name)


def parse_quiet(value: str) -> str:
    """`23:00-08:00` -> the same, normalised; `off` -> "" (no quiet hours)."""
    if value.strip().lower() in _QUIET_OFF:
        return ""
    start, sep, end = value.strip().partition("-")
    try:
        hours = parse_hhmm(start), parse_hhmm(end)
    except ValueError as exc:
        raise BadQuiet(value) from exc
    if not sep or hours[0] == hours[1]:
        raise BadQuiet(value)
    return f"{hours[0]:%H:%M}-{hours[1]:%H:%M}"


def quiet_hours(value: str) -> tuple[time, time] | None:
    """A stored `HH:MM-HH:MM` as its two times; None for none."""
    if not value:
        return None
    start, _, end = value.partition("-")
    return parse_hhmm(start), parse_hhmm(end)


def is_quiet(value: str, local: time) -> bool:
    """Whether a local time of day falls in the quiet hours (which may span midnight)."""
    hours = quiet_hours(value)
    if hours is None:
        return False
    start, end = hours
    if start < end:
        return start <= local < end
    return local >= start or local < end


def parse_alerts(value: str) -> str:
    """`on`, `off` or `updates` (or вкл, выкл, обновления)."""
    found = ALERT_ALIASES.get(value.strip().lower())
    if found is None:
        raise BadAlerts(value)
    return found


def parse_subscribe(args: str, *, default_at: time, default_timezone: str) -> tuple[time, str]:
    """`[HH:MM] [Area/City]` in either order, each optional -> (time, IANA zone).

    A word with digits is read as a time and one with a slash as a zone, so the reply can
    say which of the two was malformed; anything else is the wrong form altogether.
    """
    words = args.split()
    if len(words) > 2:
        raise BadSubscribe(args)
    at: time | None = None
    zone: str | None = None
    for word in words:
        if "/" not in word and any(ch.isdigit() for ch in word):
            if at is not None:
                raise BadSubscribe(args)
            try:
                at = parse_hhmm(word)
            except ValueError as exc:
                raise BadTime(word) from exc
            continue
        name = zone_name(word)
        if name is None:
            if "/" in word:
                raise BadTimezone(word, "subscribe")
            raise BadSubscribe(args)
        if zone is not None:
            raise BadSubscribe(args)
        zone = name
    return at or default_at, zone or default_timezone


def split_title(text: str) -> NewArticle:
    """Text from a chat: the first line is the title, the rest the article."""
    stripped = text.strip()
    if not stripped:
        raise EmptyText
    title, _, body = stripped.partition("\n")
    body = body.strip()
    if not body:
        # One paragraph: its first sentence serves as the title.
        body = stripped
        title = re.split(r"(?<=[.!?])\s", stripped, maxsplit=1)[0]
    return NewArticle(title=title.strip()[:300], text=body)
