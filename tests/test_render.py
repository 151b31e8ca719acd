from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot import texts
from bot.models import Article, KeyPoint, Points, Summary
from bot.render import (
    MESSAGE_LIMIT,
    ArticleAction,
    Piece,
    article_keyboard,
    button_url,
    full_reply,
    paginate,
    points_reply,
    strip_tags,
    summary_reply,
    utf16_len,
)


def make_article(text: str, title: str = "Заголовок", url: str | None = None) -> Article:
    return Article(
        id=7,
        title=title,
        text=text,
        source="Источник",
        url=url,
        published_at=datetime(2025, 6, 16, 20, 5, tzinfo=UTC),
        added_at=datetime(2025, 6, 17, tzinfo=UTC),
        content_hash="x",
    )


def test_plural_forms_agree_with_the_number() -> None:
    assert [texts.articles_word(n) for n in (1, 2, 5, 11, 21, 112, 104)] == [
        "статья",
        "статьи",
        "статей",
        "статей",
        "статья",
        "статей",
        "статьи",
    ]


def test_utf16_counts_emoji_as_two_units() -> None:
    assert utf16_len("а😀") == 3


def test_hostile_title_is_escaped() -> None:
    article = make_article("Первое предложение. Второе.", title="<b>x</b> & <script>")
    reply = summary_reply(article, Summary(7, "lexrank", ("Первое предложение.",)), "UTC")[0]
    assert "<script>" not in reply.html
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;script&gt;" in reply.html


def test_long_text_is_split_within_limit_at_boundaries() -> None:
    sentence = "Это довольно длинное предложение о событиях дня, 😀 с эмодзи. "
    paragraphs = [sentence * 30 for _ in range(6)]
    article = make_article("\n\n".join(paragraphs))
    replies = full_reply(article, "Europe/Moscow")
    assert len(replies) > 1
    for reply in replies:
        assert utf16_len(strip_tags(reply.html)) <= MESSAGE_LIMIT
        # Every part ends at a sentence end, never in the middle of a word.
        assert strip_tags(reply.html).rstrip().endswith(".")
    assert replies[-1].keyboard is not None
    assert all(r.keyboard is None for r in replies[:-1])
    joined = " ".join(strip_tags(r.html) for r in replies)
    assert joined.count("эмодзи") == 6 * 30


def test_one_huge_word_is_cut_hard() -> None:
    pages = paginate([Piece("щ" * 10_000)])
    assert [utf16_len(p) for p in pages] == [4096, 4096, 1808]


def test_points_are_numbered_and_labelled() -> None:
    article = make_article("Текст.")
    points = Points((KeyPoint("Первый пункт.", "д"), KeyPoint("Второй пункт.", "д")), True)
    html = points_reply(article, points, "UTC")[0].html
    assert re.search(r"1\. Первый пункт\.\s+2\. Второй пункт\.", html)
    assert texts.POINTS_LABEL in html
    theses = points_reply(article, Points(points.items, False), "UTC")[0].html
    assert texts.THESES_LABEL in theses


def test_keyboard_offers_follow_ups_and_source_url() -> None:
    article = make_article("Текст.", url="https://example.org/a")
    keyboard = summary_reply(article, Summary(7, "lexrank", ("Текст.",)), "UTC")[0].keyboard
    assert keyboard is not None
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    actions = {ArticleAction.unpack(b.callback_data).action for b in buttons if b.callback_data}
    assert actions == {"points", "more", "full"}
    assert [b.url for b in buttons if b.url] == ["https://example.org/a"]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://example.org/a b",
        "https://example.org/a\tb",
        "http://",
        "ftp://example.org/a",
        "https://example.org:port/a",
        "//example.org/a",
        "https://example.org/" + "a" * 3000,
    ],
)
def test_a_url_telegram_would_refuse_gets_no_button_and_no_link(url: str) -> None:
    assert button_url(url) is None
    keyboard = article_keyboard(make_article("Текст.", url=url))
    buttons = [b for row in keyboard.inline_keyboard for b in row]
    assert [b.url for b in buttons if b.url] == []
    assert "source" in {
        ArticleAction.unpack(b.callback_data).action for b in buttons if b.callback_data
    }


def test_a_plain_web_url_keeps_its_button() -> None:
    assert button_url("HTTPS://Example.org/путь?q=1#x") == "HTTPS://Example.org/путь?q=1#x"
