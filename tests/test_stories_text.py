"""A story's headline, summary and weight; headlines without site names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.nlp.stories.rank import weight
from bot.nlp.stories.text import headline, summary
from bot.nlp.titles import clean_title

T0 = datetime(2024, 10, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Item:
    title: str
    text: str
    source: str
    date: datetime


# --- site suffixes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "source", "expected"),
    [
        ("Взрыв в порту Бейрута | DW | 19.01.2020", None, "Взрыв в порту Бейрута"),
        ("В Москве открылись парки - РИА Новости", None, "В Москве открылись парки"),
        ("Рубль укрепился к доллару — Lenta.ru", None, "Рубль укрепился к доллару"),
        ("How we scaled search - Stack Overflow Blog", None, "How we scaled search"),
        ("Число кошельков ETH превысило 40 млн — bitbetnews", "bitbetnews.com", None),
        ("Новость дня - Звезда", "Телеканал «Звезда»", "Новость дня"),
        ("Кельн — Майнц: где смотреть - 17.05.2020 ⋆ СПОРТ.UA", "sport.ua", None),
        ("РИА Новости | Глава ЦИК назвал дату выборов", None, "Глава ЦИК назвал дату выборов"),
    ],
)
def test_site_names_and_dates_are_stripped(
    title: str, source: str | None, expected: str | None
) -> None:
    cleaned = clean_title(title, source)
    if expected is not None:
        assert cleaned == expected
    assert not any(s in cleaned for s in ("bitbetnews", "СПОРТ.UA", "17.05.2020", "|", "⋆"))
    assert cleaned and cleaned in title


@pytest.mark.parametrize(
    "title",
    [
        # A dash before a name is attribution: who said it is part of the news.
        "Запасы масок в Москве составляют 15,5 млн штук - Мантуров",
        "Россия победит коронавирус к концу лета — Бокерия",
        "Курс доллара: озвучен прогноз на май - 2020",
        "Донателле Версаче - 65: как изменилась звезда",
        "Кельн — Майнц",
    ],
)
def test_headline_text_is_kept(title: str) -> None:
    assert clean_title(title, "Коммерсантъ") == title


def test_a_title_that_is_only_a_site_name_is_kept() -> None:
    assert clean_title("РИА Новости", "РИА Новости") == "РИА Новости"
    assert clean_title("  Взрыв\u00a0 в  порту  ") == "Взрыв в порту"
    assert clean_title("") == ""


# --- the headline ----------------------------------------------------------------------

ELECTION = [
    Item(
        "Срочно! Что происходит в Молдавии?",
        "В Молдавии проходят президентские выборы. ЦИК начал подсчёт голосов.",
        "Блог Кишинёва",
        T0,
    ),
    Item(
        "Санду лидирует на выборах президента Молдавии - РИА Новости",
        "МОСКВА, 20 окт — РИА Новости. Действующий президент Молдавии Майя Санду лидирует "
        "на выборах после подсчёта 30% протоколов, сообщил ЦИК. Она набирает 38% голосов.",
        "РИА Новости",
        T0 + timedelta(hours=1),
    ),
    Item(
        "Майя Санду лидирует на президентских выборах в Молдавии",
        "Майя Санду лидирует на выборах президента Молдавии после подсчёта 41% протоколов. "
        "Она набирает 40% голосов, сообщил ЦИК Молдавии.",
        "ТАСС",
        T0 + timedelta(hours=6),
    ),
    Item(
        "ЦИК: Санду набирает 40% на выборах в Молдавии",
        "Центризбирком Молдавии сообщил, что Майя Санду набирает 40% голосов на выборах "
        "президента после подсчёта 41% протоколов.",
        "Интерфакс",
        T0 + timedelta(hours=7),
    ),
]


def test_headline_is_the_most_representative_title_not_the_first() -> None:
    title = headline(ELECTION)
    assert title != ELECTION[0].title
    assert "Санду" in title and "Молдавии" in title
    assert "РИА Новости" not in title


def test_headline_does_not_depend_on_the_order_of_articles() -> None:
    assert headline(ELECTION) == headline(list(reversed(ELECTION)))


def test_headline_of_one_article_is_its_clean_title() -> None:
    assert headline(ELECTION[1:2]) == "Санду лидирует на выборах президента Молдавии"
    assert headline([]) == ""


# --- the summary -----------------------------------------------------------------------

QUAKE = [
    Item(
        "Землетрясение у Камчатки",
        "ПЕТРОПАВЛОВСК-КАМЧАТСКИЙ, 20 октября. /ТАСС/. Землетрясение магнитудой 6,1 "
        "произошло у восточного побережья Камчатки, сообщила служба сейсмологии. "
        "Сведений о разрушениях и пострадавших нет, угрозы цунами нет.",
        "ТАСС",
        T0,
    ),
    Item(
        "На Камчатке произошло землетрясение магнитудой 6,1",
        "Землетрясение магнитудой 6,1 произошло у восточного побережья Камчатки, сообщила "
        "служба сейсмологии. Жители Петропавловска-Камчатского ощутили толчки силой до "
        "пяти баллов.",
        "РИА Новости",
        T0 + timedelta(minutes=15),
    ),
    Item(
        "Мощное землетрясение у берегов Камчатки",
        "Землетрясение магнитудой 6,1 произошло у восточного побережья полуострова Камчатка, "
        "сообщила служба сейсмологии. Очаг залегал на глубине 40 километров.",
        "Интерфакс",
        T0 + timedelta(minutes=30),
    ),
]


def _words(sentence: str) -> set[str]:
    return {w.strip(".,«»").lower() for w in sentence.split() if len(w) > 3}


def test_summary_takes_the_shared_lead_once() -> None:
    sentences = summary(QUAKE)
    assert 1 <= len(sentences) <= 2
    assert "магнитудой 6,1" in sentences[0]
    if len(sentences) == 2:
        first, second = (_words(s) for s in sentences)
        assert len(first & second) / len(second) < 0.5
    assert not any("ТАСС" in s for s in sentences)


def test_summary_sentences_are_verbatim_from_the_articles() -> None:
    texts = " ".join(item.text for item in QUAKE + ELECTION)
    for sentence in summary(QUAKE) + summary(ELECTION):
        assert sentence in texts


def test_summary_prefers_the_newest_figures() -> None:
    told = " ".join(summary(ELECTION))
    assert "41%" in told
    assert "30%" not in told
    # Whatever order the articles come in.
    assert " ".join(summary(list(reversed(ELECTION)))) == told


def test_summary_of_one_sentence_and_of_nothing() -> None:
    assert len(summary(QUAKE, sentences=1)) == 1
    assert summary([]) == ()
    assert summary([Item("Заголовок", "Коротко.", "ТАСС", T0)]) == ()


# --- the weight ------------------------------------------------------------------------


def _times(n: int, start: datetime = T0, step: timedelta = timedelta(minutes=20)) -> list[datetime]:
    return [start + i * step for i in range(n)]


NOW = T0 + timedelta(hours=4)


def test_more_outlets_weigh_more() -> None:
    five = weight(["ТАСС", "РИА", "РБК", "Интерфакс", "Известия"], _times(5), NOW)
    two = weight(["ТАСС", "РИА"], _times(2), NOW)
    assert five > two > 0


def test_an_outlet_repeating_itself_counts_once() -> None:
    repeated = weight(["ТАСС"] * 5, _times(5), NOW)
    five = weight(["ТАСС", "РИА", "РБК", "Интерфакс", "Известия"], _times(5), NOW)
    single = weight(["ТАСС"], _times(1), NOW)
    assert single < repeated < five


def test_older_stories_weigh_less() -> None:
    sources = ["ТАСС", "РИА", "РБК"]
    fresh = weight(sources, _times(3), NOW)
    stale = weight(sources, _times(3, T0 - timedelta(days=1)), NOW)
    assert stale < fresh


def test_fast_growing_stories_weigh_more() -> None:
    sources = ["ТАСС", "РИА", "РБК", "Интерфакс"]
    latest = T0 + timedelta(hours=3)
    burst = [*_times(3, latest - timedelta(minutes=30), timedelta(minutes=10)), latest]
    slow = [*(latest - timedelta(hours=h) for h in (9, 6, 3)), latest]
    assert weight(sources, burst, NOW) > weight(sources, slow, NOW)


def test_a_story_with_no_articles_weighs_nothing() -> None:
    assert weight([], [], NOW) == 0.0


def test_summary_does_not_open_with_a_sentence_that_leans_on_another() -> None:
    lead = (
        "Учёные из Дублина обнаружили нарушение свёртываемости крови у всех пациентов "
        "с тяжёлой формой коронавируса."
    )
    leaning = (
        "Об этом заявил глава Ирландского центра сосудистой биологии профессор Джеймс "
        "О'Доннел, сообщает журнал."
    )
    items = [
        Item("Учёные нашли патологию у больных коронавирусом", f"{lead} {leaning}", "ТАСС", T0),
        *(
            Item(
                "Найдена патология у всех заражённых коронавирусом",
                f"{leaning} {lead}",
                source,
                T0 + timedelta(hours=n),
            )
            for n, source in enumerate(("РИА Новости", "Интерфакс", "РБК"), 1)
        ),
    ]
    sentences = summary(items)
    assert sentences[0] == lead
    assert not any(s.startswith("Об этом") for s in sentences)
