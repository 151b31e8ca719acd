"""The catalogs against bot/texts.py, and the Russian typography the texts get from
libraries (pymorphy3 plurals, Babel numbers and dates, city names for time zones)."""

from __future__ import annotations

import re
import string
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot import catalogs, language, texts
from bot.errors import BadLanguage, UnknownSetting
from bot.parsing import SettingChange, parse_setting, zone_name

NBSP = "\u00a0"


@pytest.mark.parametrize("lang", [lang for lang in language.LANGUAGES if lang != language.DEFAULT])
def test_every_string_is_in_the_catalog_translated_and_every_entry_is_used(lang: str) -> None:
    found = catalogs.check(lang)
    fix = "run `python -m bot.catalogs`, then fill in the empty msgstr lines"
    assert found.missing == [], f"not in the {lang} catalog ({fix}): {found.missing}"
    assert found.unused == [], f"in the {lang} catalog, no longer in texts.py ({fix})"
    assert found.untranslated == [], f"untranslated in {lang}: {found.untranslated}"


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_translations_keep_the_placeholders_and_the_markup_of_the_russian() -> None:
    translations = language.translations("en")
    for message in catalogs.messages():
        english = translations.gettext(message)
        assert _fields(english) == _fields(message), message
        assert re.findall(r"</?\w+>", english) == re.findall(r"</?\w+>", message), message


def test_a_string_not_yet_in_the_catalog_reads_in_russian() -> None:
    with language.use("en"):
        assert language.translate("Строка, которой нет в каталоге") == (
            "Строка, которой нет в каталоге"
        )
        assert texts.NO_ARTICLES == "No articles yet."
    assert texts.NO_ARTICLES == "Статей пока нет."


def test_language_comes_from_the_telegram_language_code() -> None:
    assert [language.pick(code) for code in ("en", "en-GB", "ru", "de", None, "")] == [
        "en",
        "en",
        "ru",
        "ru",
        "ru",
        "ru",
    ]


def test_numbers_are_grouped_and_nouns_agree_with_them() -> None:
    assert texts.count(200001, "символ") == f"200{NBSP}001{NBSP}символ"
    assert texts.count(5, "статья") == f"5{NBSP}статей"
    assert texts.count(22, "статья") == f"22{NBSP}статьи"
    assert texts.count(11, "сюжет") == f"11{NBSP}сюжетов"
    with language.use("en"):
        assert texts.count(200001, "символ") == f"200,001{NBSP}characters"
        assert texts.count(1, "статья") == f"1{NBSP}article"


def test_dates_and_numbers_keep_their_non_breaking_spaces() -> None:
    assert texts.date_text(date(2025, 6, 16)) == f"16{NBSP}июня{NBSP}2025"
    moment = datetime(2025, 6, 16, 14, 30, tzinfo=UTC)
    assert texts.date_time_text(moment) == f"16{NBSP}июня{NBSP}2025, 14:30"
    assert texts.article_number(12) == f"№{NBSP}12"
    with language.use("en"):
        assert texts.date_text(date(2025, 6, 16)) == f"16{NBSP}June{NBSP}2025"


def test_long_text_error_is_grouped_and_agrees() -> None:
    from bot.errors import TextTooLong

    reply = texts.error_text(TextTooLong(200001, 200000))
    assert f"200{NBSP}001{NBSP}символ," in reply
    assert f"200{NBSP}000." in reply


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Москва", "Europe/Moscow"),
        ("Алматы", "Asia/Almaty"),
        ("Новосибирск", "Asia/Novosibirsk"),
        ("Almaty", "Asia/Almaty"),
        ("екатеринбург", "Asia/Yekaterinburg"),
        ("New York", "America/New_York"),
        ("asia/almaty", "Asia/Almaty"),
    ],
)
def test_time_zones_by_city_name_in_russian_or_english(name: str, zone: str) -> None:
    assert zone_name(name) == zone


def test_settings_take_russian_words_and_english_aliases() -> None:
    assert parse_setting("алгоритм LSA") == SettingChange("algorithm", "lsa")
    assert parse_setting("длина 3") == SettingChange("sentences", 3)
    assert parse_setting("пояс Москва") == SettingChange("timezone", "Europe/Moscow")
    assert parse_setting("пояс Нью-Йорк") == SettingChange("timezone", "America/New_York")
    assert parse_setting("язык en") == SettingChange("language", "en")
    assert parse_setting("timezone Almaty") == SettingChange("timezone", "Asia/Almaty")
    assert parse_setting("language RU") == SettingChange("language", "ru")
    with pytest.raises(BadLanguage):
        parse_setting("язык klingon")
    with pytest.raises(UnknownSetting):
        parse_setting("длина 3 4")


def test_no_text_says_a_gendered_not_subscribed() -> None:
    for message in catalogs.messages():
        assert "подписан(а)" not in message
        assert message.strip() != "не подписан"


def _code_outside_texts() -> str:
    root = Path(__file__).resolve().parent.parent
    files = [*root.glob("bot/**/*.py"), *root.glob("handlers/**/*.py")]
    return "\n".join(f.read_text(encoding="utf-8") for f in files if f.name != "texts.py")


def test_every_string_of_the_catalogs_is_used_and_every_used_one_exists() -> None:
    """Each name of texts.py whose strings are catalog entries is read somewhere (by the
    bot's code, or by texts.py's own functions), and each `texts.NAME` the code reads
    exists: an entry nobody shows is a translation kept for nothing."""
    code = _code_outside_texts()
    source = (Path(texts.__file__)).read_text(encoding="utf-8")
    names = set(catalogs.messages().values())
    unused = [
        name
        for name in sorted(names)
        if f"texts.{name}" not in code
        and len(re.findall(rf"\b{name}\b", source)) < 2  # its definition, and a use
    ]
    assert unused == [], f"in the catalogs, never shown: {unused}"
    read = set(re.findall(r"(?<!`)\btexts\.([A-Z][A-Z0-9_]+)\b", code))
    missing = sorted(name for name in read if not hasattr(texts, name))
    assert missing == [], f"read by the code, not in texts.py: {missing}"
    # The nouns texts.count() agrees with numbers are named where they are counted.
    nouns = [noun for noun in texts.NOUNS if f'"{noun}"' not in code + source.split("NOUNS")[-1]]
    assert nouns == [], f"plural entries never counted: {nouns}"
