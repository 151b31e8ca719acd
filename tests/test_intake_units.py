"""Intake's pure parts: URLs, charsets, feed entries, language, error texts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import texts
from bot.intake import check_url, detect_language, is_russian, normalize_url
from bot.intake.errors import (
    BadFeed,
    BadUrl,
    EmptyFeed,
    FeedNotFound,
    FetchFailed,
    FetchTimeout,
    HttpStatusError,
    NoArticleText,
    ResponseTooLarge,
    UnsupportedScheme,
)
from bot.intake.feeds import TEASER_CHARS, looks_like_feed, parse_feed
from bot.intake.fetch import html_encoding
from storage.seeds import read_article_file

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_04ae095c1d503094.txt"
HTTP_EQUIV = '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">Привет'
EVAL = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("HTTPS://Example.RU:443/News/1/", "https://example.ru/News/1"),
        (
            "http://example.ru:80/a?utm_source=tg&utm_campaign=x&id=5#top",
            "http://example.ru/a?id=5",
        ),
        ("https://example.ru/a?b=2&a=1&fbclid=XYZ&yclid=1", "https://example.ru/a?a=1&b=2"),
        ("https://example.ru/", "https://example.ru"),
        ("https://user:secret@example.ru:8443/x", "https://example.ru:8443/x"),
        ("https://пример.рф/новости/", "https://пример.рф/новости"),
    ],
)
def test_links_are_normalised_for_comparison(raw: str, normal: str) -> None:
    assert normalize_url(raw) == normal


def test_the_same_article_behind_decorated_links_has_one_form() -> None:
    forms = {
        normalize_url(u)
        for u in (
            "https://ria.ru/20250617/news.html",
            "https://RIA.ru/20250617/news.html?utm_source=yxnews&utm_medium=desktop",
            "https://ria.ru/20250617/news.html#comments",
            "https://ria.ru/20250617/news.html/",
        )
    }
    assert len(forms) == 1


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("", BadUrl),
        ("   ", BadUrl),
        ("новости", BadUrl),
        ("example.ru/rss", BadUrl),
        ("http://", BadUrl),
        ("https://exa mple.ru/", BadUrl),
        ("http://example.ru:99999/", BadUrl),
        ("ftp://example.ru/feed.xml", UnsupportedScheme),
        ("file:///etc/passwd", UnsupportedScheme),
        ("gopher://example.ru/", UnsupportedScheme),
    ],
)
def test_only_absolute_http_urls_pass(raw: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_url(raw)


def test_good_urls_pass_stripped() -> None:
    assert check_url("  https://lenta.ru/rss/news \n") == "https://lenta.ru/rss/news"


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        ("<meta charset='windows-1251'>Привет".encode("cp1251"), None, "cp1251"),
        (HTTP_EQUIV.encode("cp1251"), None, "cp1251"),
        # The HTTP header outranks the page's own meta tag, as in browsers.
        ("<meta charset='utf-8'>Привет".encode("cp1251"), "windows-1251", "cp1251"),
        ("\ufeff<meta charset='windows-1251'>Привет".encode(), None, "utf-8"),
        ("<p>Привет, мир</p>".encode(), None, "utf-8"),
        ("<meta charset='no-such-charset'>Привет".encode(), None, "utf-8"),
    ],
)
def test_page_encoding_follows_the_declaration_order(
    body: bytes, header: str | None, expected: str
) -> None:
    assert html_encoding(body, header) == expected


def test_undeclared_windows_1251_page_is_guessed() -> None:
    body = "<p>Председатель правительства провёл совещание о развитии транспорта.</p>" * 5
    assert html_encoding(body.encode("cp1251"), None) in {"cp1251", "windows-1251"}


def test_feed_or_page_is_told_by_type_and_opening() -> None:
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>'
    assert looks_like_feed("application/rss+xml", b"") is True
    assert looks_like_feed("application/atom+xml", b"") is True
    assert looks_like_feed("text/html", b"<!doctype html><html>") is False
    assert looks_like_feed("text/html", feed) is True
    assert looks_like_feed("text/plain", b"hello") is None


def test_entry_texts_ids_and_teasers() -> None:
    long_text = "Длинный текст статьи. " * 60
    document = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:yandex="http://news.yandex.ru"
     xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Лента &amp; Ко</title>
<item><title>Полный текст</title><link>https://example.ru/1?utm_source=rss</link>
  <guid>urn:1</guid><description>Анонс.</description>
  <content:encoded><![CDATA[<p>{long_text}</p><script>alert(1)</script>]]></content:encoded></item>
<item><title>Только анонс</title><link>https://example.ru/2</link>
  <description>Короткий анонс новости. Читать далее</description></item>
<item><title>Для Яндекса</title><link>https://example.ru/3</link>
  <yandex:full-text>{long_text}</yandex:full-text></item>
<item><description>Запись без заголовка и ссылки. Второе предложение.</description></item>
<item><title></title></item>
</channel></rss>""".encode()
    parsed = parse_feed(document, url="https://example.ru/rss", headers={})

    assert parsed.title == "Лента & Ко"
    first, second, third, untitled = parsed.entries
    assert (first.key, first.url, first.teaser) == ("urn:1", "https://example.ru/1", False)
    assert first.text == long_text.strip() and "alert" not in first.text
    assert second.teaser and second.key == "https://example.ru/2"
    assert not third.teaser and len(third.text) > TEASER_CHARS
    assert untitled.title == "Запись без заголовка и ссылки."
    assert untitled.key.startswith("sha256:") and not untitled.teaser


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body><p>not a feed</p></body></html>",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>X</title><item>',
        b"\x00\x01\x02 binary",
        b'<?xml version="1.0"?><catalog><book>XML, but not a feed</book></catalog>',
    ],
)
def test_what_is_not_a_well_formed_feed_is_refused(body: bytes) -> None:
    with pytest.raises(BadFeed):
        parse_feed(body, url="https://example.ru/rss", headers={})


# --- language -------------------------------------------------------------------------

ENGLISH = [
    "The central bank raised its key rate by two percentage points on Friday, citing"
    " persistent inflation and a weaker currency.",
    "Scientists have discovered a new species of frog in the rainforests of Ecuador, the"
    " university said in a statement.",
    "Oil prices rose sharply after producers agreed to extend output cuts until the end of"
    " the year.",
    "The match ended in a draw after a late goal from the visiting side.",
    "Apple unveils new iPhone",
    "Parliament approves budget",
]
RUSSIAN_SHORT = [
    "Путин провёл переговоры с Токаевым",
    "Курс доллара снизился",
    "В Москве открылась выставка",
    "Система поиска пути в трехмерном пространстве",
    "москва, 1 дек - риа новости",
]


def test_russian_samples_are_russian() -> None:
    samples = [*RUSSIAN_SHORT, read_article_file(SEED)[0].text]
    if (EVAL / "ru_sci_abstracts_100.jsonl").exists():
        with (EVAL / "ru_sci_abstracts_100.jsonl").open(encoding="utf-8") as f:
            rows = [json.loads(line) for line in f if line.strip()]
        samples += [r["title"] for r in rows] + [r["summary"] for r in rows]
    wrong = [s[:60] for s in samples if not is_russian(s)]
    assert wrong == []


def test_english_samples_are_english() -> None:
    assert [detect_language(s) for s in ENGLISH] == ["en"] * len(ENGLISH)


# Each of these came out as a rare language before (Scottish Gaelic, Fulah, Swedish,
# Welsh...): a few words tell py3langid little.
SHORT_ENGLISH = [
    "New Zealand",
    "Hello world",
    "Market update",
    "Tech news",
    "Oil prices",
    "Trade war",
    "Brexit deal",
    "Stock markets",
    "Royal wedding",
    "Data science",
    "Central bank",
    "JSON parsing: simdjson vs. JSON for Modern C++",
]


def test_short_english_titles_are_english() -> None:
    assert {t: detect_language(t) for t in SHORT_ENGLISH} == {t: "en" for t in SHORT_ENGLISH}


def test_too_few_words_to_tell_is_unknown_not_a_rare_language() -> None:
    for text in ("Sports", "Obama interview", "World Cup", "Le Monde"):
        assert detect_language(text) == "und", text
    # Other languages still come through where the words say so.
    assert detect_language("Neue Regierung") == "de"
    assert detect_language("Prendre la parole") == "fr"
    assert detect_language("Nowy rząd") == "pl"


def test_tables_and_figures_do_not_decide_the_language() -> None:
    table = "\n".join(f"| {n} | 42°S {n}°E | 1{n},5 % | {n * 7} км² |" for n in range(40))
    prose = (
        "New Zealand is an island country in the southwestern Pacific Ocean. It consists"
        " of two main landmasses and over 700 smaller islands."
    )
    assert detect_language(f"Coordinates: 42°S 174°E\n{table}\n{prose}") == "en"


def test_other_cyrillic_languages_are_not_taken_for_russian() -> None:
    assert detect_language("Україна та Польща підписали угоду про співпрацю в енергетиці") == "uk"
    assert detect_language("Қазақстан мен Қытай арасындағы сауда көлемі өсті") == "kk"
    assert detect_language("12345 — !!!") == "und"


# Long enough (200 letters and more) to be read by the model, each written only in
# letters of the Cyrillic script, some with "ы", some with only Russian's letters.
OTHER_CYRILLIC = {
    "be": "Беларусь і Польшча падпісалі пагадненне аб супрацоўніцтве ў энергетыцы. ",
    "bg": "България и Румъния подписаха споразумение за сътрудничество в енергетиката. ",
    "kk": "Қазақстан мен Қытай арасындағы сауда көлемі өсті. Бұл туралы министрлік хабарлады. ",
    "uk": "Україна та Польща підписали угоду про співпрацю в енергетиці та транспорті. ",
    "sr": "Србија и Црна Гора потписале су споразум о сарадњи у енергетици. ",
}


def test_long_texts_of_other_cyrillic_languages_are_not_taken_for_russian() -> None:
    found = {code: detect_language(sentence * 5) for code, sentence in OTHER_CYRILLIC.items()}
    assert found == {code: code for code in OTHER_CYRILLIC}


def test_plainly_russian_texts_skip_the_model_and_get_its_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.intake import lang

    path = EVAL / "stories" / "silver_tgcontest_ru_20200502_03_articles.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not found")
    with path.open(encoding="utf-8") as f:
        texts = [f"{row['title']}\n{row['text']}" for row in map(json.loads, f)][:300]
    asked: list[str] = []
    model = lang.model_language

    def counted(sample: str, *, short: bool) -> str:
        asked.append(sample)
        return model(sample, short=short)

    monkeypatch.setattr(lang, "model_language", counted)
    answers = [detect_language(text) for text in texts]
    assert len(asked) < len(texts) // 10
    for text, answer in zip(texts, answers, strict=True):
        sample, letters = lang._prose(text)
        assert answer == model(sample, short=letters < lang._SHORT_LETTERS), text[:80]


# --- error texts ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        BadUrl("просто слова"),
        UnsupportedScheme("ftp://x", "ftp"),
        HttpStatusError("https://x/1", 404),
        HttpStatusError("https://x/1", 503),
        FetchTimeout("https://x/1", 20.0),
        FetchFailed("https://x/1", "ClientConnectorError"),
        ResponseTooLarge("https://x/1", 5 * 1024 * 1024),
        BadFeed("https://x/rss", "not well-formed"),
        EmptyFeed("https://x/rss"),
        NoArticleText("https://x/1"),
        FeedNotFound("7"),
    ],
)
def test_every_intake_error_has_its_own_russian_text(error: Exception) -> None:
    text = texts.error_text(error)
    assert text != texts.UNEXPECTED
    assert any("а" <= ch <= "я" for ch in text.lower())


def test_error_texts_escape_the_url() -> None:
    assert "&lt;b&gt;" in texts.error_text(BadUrl("<b>bold</b>"))


def test_transient_errors_are_the_ones_worth_retrying() -> None:
    assert FetchTimeout("u", 1).transient and FetchFailed("u", "x").transient
    assert HttpStatusError("u", 503).transient and HttpStatusError("u", 429).transient
    assert not HttpStatusError("u", 404).transient and not BadFeed("u", "x").transient
