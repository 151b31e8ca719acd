"""Key points and summaries of real texts nobody on the project wrote.

The texts are in ../shared/eval/realworld/ (its README says where each came from);
`enumerations/EXPECTED.md` says what a careful reader would list for each enumerated
one, and each row of it is a test here. The Telegram contest pages are turned into
text by the same extraction the bot's ingest uses.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from bot.intake.pages import extract_page
from bot.models import Points
from bot.nlp.points import extract_points
from bot.nlp.summarizer import summarize

REALWORLD = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "realworld"
ENUMERATIONS = REALWORLD / "enumerations"
TGNEWS = REALWORLD / "pages" / "tgnews"
ODS = REALWORLD / "news_texts" / "ods_63_newlines_restored.jsonl"

pytestmark = pytest.mark.skipif(
    not REALWORLD.is_dir(),
    reason=f"the real-world evaluation texts are not at {REALWORLD} (see docs/benchmarks.md)",
)


def enumeration(name: str) -> str:
    return (ENUMERATIONS / name).read_text(encoding="utf-8")


@cache
def page(name: str) -> str:
    """A contest page's article text, as the bot's ingest extracts it."""
    meta = json.loads((TGNEWS / "meta.json").read_text(encoding="utf-8"))
    path = TGNEWS / f"{name}.html"
    return extract_page(path.read_bytes(), url=meta[path.name]["url"], charset=None).text


def texts(points: Points) -> list[str]:
    return [point.text for point in points.items]


def assert_clean(points: Points, text: str) -> None:
    """What every point shows: one line, a capital where it starts with a word, no
    marker; and its detail is a passage of the text."""
    for point in points.items:
        assert "\n" not in point.text, point.text
        first = next(ch for ch in point.text if ch.isalnum())
        assert not first.isalpha() or first.isupper(), point.text
        assert not re.match(r"\W*(?:во?-?\s*(?:первых|вторых)|наконец)\b", point.text, re.I)
        assert point.detail in text


def contains(point: str, *fragments: str) -> bool:
    return all(fragment.lower() in point.lower() for fragment in fragments)


# --- rows 1-3: the 2024 Address, «Первое. … Второе. … Третье.» ---------------------------

FAMILY = (
    ("регион", "75 миллиардов"),  # more money for regional family support, to 2030
    ("ипотек", "2030"),  # the family mortgage extended to 2030
    ("вычет", "2800"),  # large families: the tax deduction doubled
)
TECH = (
    ("независим", "здоровья"),  # own technology in health and food security
    ("технологического суверенитета", "сквозных"),
    ("конкурентные продукты", "космических"),
)


def assert_points(points: Points, expected: tuple[tuple[str, ...], ...]) -> None:
    assert points.enumerated is True
    assert len(points.items) == len(expected), texts(points)
    for point, fragments in zip(texts(points), expected, strict=True):
        assert contains(point, *fragments), (fragments, point)


def test_paragraph_ordinals_of_the_family_excerpt_are_its_three_proposals() -> None:
    text = enumeration("putin2024_family.txt")
    points = extract_points(text)

    assert_points(points, FAMILY)
    assert_clean(points, text)
    # Each section opens with background; the point is the proposal, not the first line.
    assert not texts(points)[1].startswith("В прошлом году в России было построено")
    assert points.items[1].detail.startswith("Второе.")
    assert "Ещё важнее" in points.items[1].detail  # the section spans its paragraphs


def test_paragraph_ordinals_of_the_technology_excerpt() -> None:
    text = enumeration("putin2024_tech.txt")
    points = extract_points(text)

    assert_points(points, TECH)
    assert_clean(points, text)
    assert texts(points)[0].startswith("Мы должны быть независимы")


def test_the_whole_address_has_both_runs_of_three() -> None:
    text = enumeration("putin2024_full.txt")
    points = extract_points(text)

    assert_points(points, FAMILY + TECH)
    assert_clean(points, text)
    # The same points as in the excerpts, found in the whole speech.
    excerpts = texts(extract_points(enumeration("putin2024_family.txt")))
    excerpts += texts(extract_points(enumeration("putin2024_tech.txt")))
    assert texts(points) == excerpts


# --- row 4: an interview's dashes are turns; its «Во-первых… Во-вторых…» is the list ----


def test_interview_turns_are_no_list_and_its_ordinal_pair_is_found() -> None:
    text = enumeration("meduza_hse_interview.txt")
    points = extract_points(text)

    assert points.enumerated is True
    first, second = texts(points)
    assert contains(first, "тоже руководство университета")
    assert contains(second, "позиция университета")
    assert_clean(points, text)
    assert not any("естественно" in t or "героев" in t for t in texts(points))


# --- rows 5-11: the contest pages -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # 5: «Во-первых, … Во-вторых, …»
        ("4169793924144669124", (("курса гривни",), ("контрафакт",))),
        # 6: both items in one sentence
        ("4169793924225254850", (("трудовую книжку",), ("центр занятости", "пособие"))),
        # 7: six «- » items
        (
            "4169793925004764033",
            (
                ("1,277 млрд",),
                ("с 650 грн до 1000 грн",),
                ("91 дня",),
                ("с 1 дня регистрации",),
                ("4,723 млрд",),
                ("малого и среднего",),
            ),
        ),
        # 8: four price lines
        ("4321729650980073955", (("$300",), ("$320",), ("$350",), ("$400",))),
        # 9: three facts
        ("4307021367126780197", (("50 лет",), ("Шальке",), ("61 матч",))),
        # 11: eight «- » items, in Ukrainian
        (
            "4169793923707428463",
            (
                ("юридичні особи",),
                ("у день їхньої виплати",),
                ("застереження",),
                ("строк сплати",),
                ("реінвестиції",),
                ("натурою",),
                ("інвалюті",),
                ("15 %",),
            ),
        ),
    ],
)
def test_contest_page_lists_are_found_in_order(
    name: str, expected: tuple[tuple[str, ...], ...]
) -> None:
    text = page(name)
    points = extract_points(text)

    assert_points(points, expected)
    assert_clean(points, text)


def test_a_summary_quotes_no_bullet_and_no_list_fragment() -> None:
    text = page("4169793925004764033")
    for count in (3, 5, 8):
        for sentence in summarize(text, sentences=count):
            assert not sentence.startswith(("-", "—", "•")), sentence
            assert not sentence.endswith(";"), sentence


def test_a_list_inside_one_item_of_a_news_digest_is_not_the_digests_points() -> None:
    # Row 10: «Что новенького», a dozen short news items; one of them lists who gets the
    # higher benefit («— тех, кто …; — молодежи, которая …»).
    text = page("4169793925034924842")
    points = extract_points(text)

    assert points.enumerated is False
    assert points.items
    for statement in texts(points):
        assert not statement.startswith(("Тех, кто", "Молодежи", "Внутренне", "Нужно нажать"))


# --- row 12: a hard-wrapped transcript ----------------------------------------------------


def test_transcript_points_are_one_line_and_keep_only_their_main_clause() -> None:
    text = enumeration("drone_transcript.txt")
    points = extract_points(text)

    assert points.enumerated is True
    statements = texts(points)
    pairs = [("транзакции", "привозят"), ("дробовик", "3 кг")]
    assert any(
        len(statements) == 2 and contains(statements[0], a) and contains(statements[1], b)
        for a, b in pairs
    ), statements
    assert_clean(points, text)
    # "Поскольку у нас с Китаем есть общая граница, да, то …" is the condition, not the item.
    assert not any(s.startswith("Поскольку") for s in statements)


def test_transcript_summary_sentences_are_one_line() -> None:
    summary = summarize(enumeration("drone_transcript.txt"), sentences=5)
    assert len(summary) == 5
    assert all("\n" not in sentence for sentence in summary)


# --- controls: texts that enumerate nothing -------------------------------------------------


@pytest.mark.parametrize("name", ["ria_china_fruit_expert.txt", "ria_school_budget_expert.txt"])
def test_a_lone_ordinal_or_na_pervoe_vremya_is_no_enumeration(name: str) -> None:
    points = extract_points(enumeration(name))
    assert points.enumerated is False
    assert len(points.items) == 3


def ods_texts() -> list[tuple[str, str]]:
    with ODS.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(row["title"], row["text"]) for row in rows]


def control_pages() -> list[str]:
    meta = json.loads((TGNEWS / "meta.json").read_text(encoding="utf-8"))
    listed = {
        "4169793924144669124",
        "4169793924225254850",
        "4169793925004764033",
        "4321729650980073955",
        "4307021367126780197",
        "4169793925034924842",
        "4169793923707428463",
    }
    return [
        name.removesuffix(".html")
        for name, info in sorted(meta.items())
        if info["lang"] == "ru" and name.removesuffix(".html") not in listed
    ]


def test_news_texts_that_enumerate_nothing_get_theses_unlike_their_summary() -> None:
    enumerated = []
    for title, text in ods_texts():
        if "Жалко, что большинство участников митинга" in title:
            continue  # the interview above
        points = extract_points(text)
        if points.enumerated:
            enumerated.append(title)
            continue
        assert points.items, title
        assert texts(points) != list(summarize(text)), title
        assert_clean(points, text)
    assert enumerated == []


def test_contest_pages_that_enumerate_nothing_get_theses_unlike_their_summary() -> None:
    names = control_pages()
    assert len(names) == 23
    for name in names:
        text = page(name)
        points = extract_points(text)
        assert points.enumerated is False, (name, texts(points))
        assert points.items, name
        assert texts(points) != list(summarize(text)), name


def test_a_reference_list_is_not_key_points() -> None:
    folder = REALWORLD / "pages" / "readability" / "wikipedia-2"
    text = extract_page((folder / "source.html").read_bytes(), url="https://x/", charset=None).text
    points = extract_points(text)

    assert points.enumerated is False
    assert 1 <= len(points.items) <= 3
    assert not any(t.startswith("^") for t in texts(points))


def test_an_age_at_the_start_of_a_thesis_keeps_its_case() -> None:
    # trafilatura's only Russian page opens «31-летний Лукаш Подольски …».
    html = (REALWORLD / "pages" / "trafilatura" / "football.ua.podolski.html").read_bytes()
    text = extract_page(html, url="https://football.ua/", charset=None).text
    statements = texts(extract_points(text))
    assert not any("-Летн" in t for t in statements), statements
    assert any(t.startswith("31-летний") for t in texts(extract_points(text, theses=8)))
