from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot import texts
from bot.__main__ import main
from bot.app import build_app
from bot.config import Settings
from bot.errors import BadArticleFile
from storage.articles import ArticleRepo
from storage.seeds import MAX_FILE_BYTES, load_seeds, read_article_file, read_path

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


def test_plain_text_title_paragraphs_and_no_source_from_the_file_name(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tass-2026.txt",
        "\n\n  Саммит в Астане  \n\nПервая строка абзаца\nвторая строка.\n\n\n\nВторой абзац.\n",
    )
    (article,) = read_article_file(path)
    assert article.title == "Саммит в Астане"
    assert article.text == "Первая строка абзаца\nвторая строка.\n\nВторой абзац."
    # The file names no source: "tass-2026" is a file name, not an outlet.
    assert article.source == ""
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


# --- hostile and odd JSON -------------------------------------------------------------

DEEP = "[" * 5000 + "]" * 5000  # 10 KB


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.json", DEEP),
        ("deep-object.json", '{"a":' * 5000 + "1" + "}" * 5000),
        ("deep.jsonl", '{"title": "А", "text": "Один."}\n' + DEEP + "\n"),
    ],
)
def test_deeply_nested_json_is_one_clear_error(tmp_path: Path, name: str, content: str) -> None:
    path = write(tmp_path / name, content)
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(path)
    assert "nested too deeply" in caught.value.reason
    assert "вложенность" in texts.error_text(caught.value)


def test_json_over_the_size_cap_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(path)
    assert caught.value.reason == "file too large"


async def test_bad_json_seeds_are_skipped_with_a_log_line_and_the_rest_load(
    articles: ArticleRepo, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(tmp_path / "a_deep.json", DEEP)
    huge = tmp_path / "b_huge.json"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    # Their texts are markup only: nothing left once read as text.
    write(tmp_path / "c_empty_html.jsonl", '{"title": "Пусто", "text": "<p>&nbsp;</p>"}\n')
    write(tmp_path / "d_html_only.jsonl", '{"title": "Пусто", "text": "<p><br></p>"}\n')
    write(tmp_path / "e_good.json", json.dumps({"title": "Хороший", "text": "Текст статьи."}))
    with caplog.at_level(logging.WARNING):
        assert await load_seeds(tmp_path, articles, now=NOW) == 1
    skipped = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert len(skipped) == 4
    assert any("a_deep.json" in line and "nested too deeply" in line for line in skipped)
    assert any("b_huge.json" in line and "file too large" in line for line in skipped)
    assert [a.title for a in await articles.latest()] == ["Хороший"]


def test_a_json_file_of_json_lines_is_read_as_lines(tmp_path: Path) -> None:
    lines = '{"title": "А", "text": "Один."}\n{"title": "Б", "text": "Два."}\n'
    assert [a.title for a in read_article_file(write(tmp_path / "x.json", lines))] == ["А", "Б"]
    broken = lines + '{"title": "В", "text": "Три."}\n{"title": oops}\n'
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(write(tmp_path / "y.json", broken))
    assert caught.value.reason == "invalid JSON on line 4"
    assert "строка 4" in texts.error_text(caught.value)


def test_a_broken_json_document_names_its_line(tmp_path: Path) -> None:
    document = '[\n  {"title": "А", "text": "Один."},\n  {"title": "Б" "text": "Два."}\n]\n'
    with pytest.raises(BadArticleFile) as caught:
        read_article_file(write(tmp_path / "x.json", document))
    assert caught.value.reason == "invalid JSON on line 3"


def test_date_is_read_like_published_at(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.jsonl",
        '{"title": "А", "text": "Один.", "date": "2019-10-01 15:14:05"}\n'
        '{"title": "Б", "text": "Два.", "date": "2019-10-01T15:14:05+03:00",'
        ' "published_at": "2020-01-02T03:04:05Z"}\n',
    )
    first, second = read_article_file(path)
    assert first.published_at == datetime(2019, 10, 1, 15, 14, 5, tzinfo=UTC)
    # Both given: published_at, the field Svodka's own files use, wins.
    assert second.published_at == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_html_text_and_title_in_json_become_text(tmp_path: Path) -> None:
    item = {
        "title": "Утечка нефти &laquo;в&nbsp;Канаде&raquo;",
        "text": "<p><strong></strong></p>\n<p><strong>москва, 1 дек&nbsp;&mdash; риа новости."
        "</strong> около 60 тысяч литров нефти вытекли.</p>\n<p>второй абзац.</p>",
    }
    (article,) = read_article_file(write(tmp_path / "x.json", json.dumps(item)))
    assert article.title == "Утечка нефти «в Канаде»"
    assert article.text == (
        "москва, 1 дек — риа новости. около 60 тысяч литров нефти вытекли.\n\nвторой абзац."
    )


def test_plain_text_with_ampersands_and_angles_is_left_alone(tmp_path: Path) -> None:
    item = {"title": "AT&T и Procter & Gamble", "text": "Если a < b и b > c, то…\n\nАбзац."}
    (article,) = read_article_file(write(tmp_path / "x.json", json.dumps(item)))
    assert (article.title, article.text) == (item["title"], item["text"])


def test_ingest_of_deeply_nested_json_is_one_clear_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(cli_env / "deep.json", DEEP)

    assert main(["ingest", str(path)]) == 2

    [err] = capsys.readouterr().err.splitlines()
    # A long path is shortened from its start; the file's name stays.
    assert err.startswith("ошибка: Не могу прочитать «")
    assert err.endswith("/deep.json»: слишком глубокая вложенность JSON.")
    assert err.split("«")[1].split("»")[0].lstrip("…") in str(path)
    assert not (cli_env / "db.sqlite3").exists()


@pytest.fixture
def deep_seeds(tmp_path: Path, seed_path: Path) -> Path:
    seeds = tmp_path / "seeds"
    write(seeds / "000_seed.txt", seed_path.read_bytes())
    write(seeds / "001_deep.json", DEEP)
    write(seeds / "002_deep.jsonl", DEEP + "\n")
    return seeds


async def test_the_bot_starts_when_a_seed_file_is_deeply_nested(
    bot_settings: Settings, deep_seeds: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        app = await build_app(bot_settings.model_copy(update={"seeds_dir": deep_seeds}))
    try:
        assert await ArticleRepo(app.services.db).count() == 1
    finally:
        await app.close()
    assert sum("nested too deeply" in r.getMessage() for r in caplog.records) == 2
