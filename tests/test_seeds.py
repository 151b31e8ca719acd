from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.errors import BadArticleFile
from storage.articles import ArticleRepo
from storage.seeds import load_seeds, read_article_file, read_path

NOW = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
SEED_TITLE = (
    "Китай рассчитывает вместе с Казахстаном вносить больший вклад в мир и развитие"
    " в регионе и во всем мире -- Си Цзиньпин"
)


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_seed_header_becomes_title_source_and_time(seed_path: Path) -> None:
    (article,) = read_article_file(seed_path)
    assert article.title == SEED_TITLE
    assert article.source == "Russian.News.Cn"
    assert article.published_at == datetime(2025, 6, 16, 20, 5, 45, tzinfo=UTC)
    assert article.url is None
    assert article.text.startswith("Астана, 16 июня /Синьхуа/ -- Китай рассчитывает")
    assert article.text.endswith("добавил Си Цзиньпин.")
    assert SEED_TITLE not in article.text
    assert "丨" not in article.text and "Russian.news.cn" not in article.text
    paragraphs = article.text.split("\n\n")
    assert len(paragraphs) == 13
    assert paragraphs[6].startswith("Во-первых")


async def test_loading_seeds_twice_stores_them_once(articles: ArticleRepo, seed_path: Path) -> None:
    assert await load_seeds(seed_path.parent, articles, now=NOW) == 1
    assert await load_seeds(seed_path.parent, articles, now=NOW) == 0
    assert await articles.count() == 1
    (stored,) = await articles.latest()
    assert stored.title == SEED_TITLE


async def test_a_bad_seed_is_skipped_and_logged(
    articles: ArticleRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "a_good.txt", "Заголовок\n\nТекст статьи.")
    write(tmp_path / "b_binary.txt", b"\x89PNG\x00\x00")
    write(tmp_path / "c_good.json", json.dumps({"title": "Второй", "text": "Ещё текст."}))
    with caplog.at_level(logging.WARNING):
        assert await load_seeds(tmp_path, articles, now=NOW) == 2
    assert "b_binary.txt" in caplog.text and "binary file" in caplog.text
    assert [a.title for a in await articles.added_since(datetime.min.replace(tzinfo=UTC))] == [
        "Заголовок",
        "Второй",
    ]


async def test_missing_seeds_folder_loads_nothing(articles: ArticleRepo, tmp_path: Path) -> None:
    assert await load_seeds(tmp_path / "absent", articles, now=NOW) == 0


def test_plain_text_title_paragraphs_and_file_name_as_source(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tass-2026.txt",
        "\n\n  Саммит в Астане  \n\nПервая строка абзаца\nвторая строка.\n\n\n\nВторой абзац.\n",
    )
    (article,) = read_article_file(path)
    assert article.title == "Саммит в Астане"
    assert article.text == "Первая строка абзаца\nвторая строка.\n\nВторой абзац."
    assert article.source == "tass-2026"
    assert article.published_at is None


def test_markdown_heading_and_source_line(tmp_path: Path) -> None:
    path = write(tmp_path / "note.md", "# Итоги саммита\n\nИсточник: ТАСС\n\nЛидеры договорились.")
    (article,) = read_article_file(path)
    assert article.title == "Итоги саммита"
    assert article.source == "ТАСС"
    assert article.text == "Лидеры договорились."


def test_a_first_paragraph_is_not_taken_for_header(tmp_path: Path) -> None:
    path = write(tmp_path / "a.txt", "Заголовок\n\nКороткий первый абзац.\n\nВторой.")
    (article,) = read_article_file(path)
    assert article.text == "Короткий первый абзац.\n\nВторой."


def test_json_object_and_list(tmp_path: Path) -> None:
    one = write(
        tmp_path / "one.json",
        json.dumps(
            {
                "title": " Заголовок ",
                "text": "Текст.",
                "source": "РИА",
                "url": "https://ria.ru/1",
                "published_at": "2026-11-26T09:00:00+03:00",
            },
            ensure_ascii=False,
        ),
    )
    (article,) = read_article_file(one)
    assert (article.title, article.text, article.source, article.url) == (
        "Заголовок",
        "Текст.",
        "РИА",
        "https://ria.ru/1",
    )
    assert article.published_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)

    many = write(
        tmp_path / "many.json",
        json.dumps(
            [
                {"title": "А", "text": "Один."},
                {"title": "Б", "text": "Два.", "published_at": "2026-11-26T06:00:00"},
            ]
        ),
    )
    first, second = read_article_file(many)
    assert (first.title, first.source, first.url, first.published_at) == ("А", "", None, None)
    assert second.published_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def test_jsonl_skips_blank_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path / "feed.jsonl",
        '{"title": "А", "text": "Один."}\n\n{"title": "Б", "text": "Два.", "url": "u"}\n',
    )
    assert [(a.title, a.url) for a in read_article_file(path)] == [("А", None), ("Б", "u")]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\n", "empty file"),
        ("binary.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("latin.txt", "Заголовок\n\nТекст.".encode("cp1251"), "not UTF-8 text"),
        ("latin1.md", "Café crème\n\nSoupe à l'oignon.".encode("latin-1"), "not UTF-8 text"),
        ("article.pdf", b"%PDF-1.4 something", "unsupported file type"),
        ("noext", b"Title\n\nText.", "unsupported file type"),
        ("title-only.txt", "Только заголовок\n".encode(), "no title or no text"),
        ("bad.json", b"{not json", "invalid JSON"),
        ("no-text.json", '{"title": "Т"}'.encode(), "has no text"),
        ("no-title.json", '[{"text": "Т"}]'.encode(), "has no title"),
        ("scalar.json", b"42", "is not a JSON object"),
        ("empty-list.json", b"[]", "no articles in file"),
        (
            "bad-date.json",
            '{"title": "Т", "text": "Т", "published_at": "вчера"}'.encode(),
            "bad published_at",
        ),
        ("bad-line.jsonl", b'{"title": "A", "text": "B"}\n{oops\n', "line 2"),
    ],
)
def test_bad_files_raise_with_a_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(path)
    assert reason in caught.value.reason
    assert caught.value.path == str(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(tmp_path / "absent.txt")
    assert caught.value.reason == "file not found"
    with pytest.raises(BadArticleFile):
        read_path(tmp_path / "absent")


def test_read_path_walks_a_folder_in_order_skipping_hidden_and_unsupported(
    tmp_path: Path, seed_path: Path
) -> None:
    write(tmp_path / "b.txt", "Второй\n\nТекст два.")
    write(tmp_path / "a.md", "# Первый\n\nТекст один.")
    write(tmp_path / "sub" / "c.jsonl", '{"title": "Третий", "text": "Три."}')
    write(tmp_path / "image.png", b"\x89PNG\x00")
    write(tmp_path / ".hidden.txt", "Скрытый\n\nНе читать.")
    write(tmp_path / ".git" / "x.txt", "Служебный\n\nНе читать.")
    assert [a.title for a in read_path(tmp_path)] == ["Первый", "Второй", "Третий"]
    assert read_path(seed_path) == read_article_file(seed_path)
