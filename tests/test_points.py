from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.models import Points
from bot.nlp.points import extract_points

SEED = Path(__file__).resolve().parents[1] / "seeds" / "000_04ae095c1d503094.txt"

MARKER = re.compile(r"\bв[о]?[\s\-‐‑–—]*(первых|вторых|третьих|четв[её]ртых)\b", re.IGNORECASE)
SEED_ATTRIBUTIONS = (
    "как отметил",
    "по словам",
    "продолжил председатель",
    "как указал",
    "председатель КНР,",
)


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


def texts(points: Points) -> list[str]:
    return [point.text for point in points.items]


# --- the seed ----------------------------------------------------------------------


def test_seed_has_four_enumerated_points_in_order() -> None:
    points = extract_points(seed_text())

    assert points.enumerated is True
    assert len(points.items) == 4
    first, second, third, fourth = texts(points)
    assert first == (
        "Стратегическое взаимодоверие высокого уровня должно направлять развитие "
        "двусторонних отношений."
    )
    assert "Пояса и пути" in second
    assert second.startswith("Высококачественное сотрудничество")
    assert third.startswith(
        "Необходимо осуществлять всестороннее сотрудничество в области безопасности"
    )
    assert "культурно-гуманитарные" in fourth
    assert fourth.startswith("Необходимо проводить разнообразные")


def test_seed_points_are_capitalised_and_free_of_markers_and_attribution() -> None:
    for text in texts(extract_points(seed_text())):
        assert text[0].isupper(), text
        assert not MARKER.search(text), text
        for attribution in SEED_ATTRIBUTIONS:
            assert attribution not in text, (attribution, text)
        assert "Си Цзиньпин" not in text


def test_seed_points_are_first_sentences_and_details_are_whole_paragraphs() -> None:
    text = seed_text()
    paragraphs = {line.strip() for line in text.splitlines() if line.strip()}
    points = extract_points(text)
    starts = ("Во-первых,", "Во-вторых,", "В-третьих,", "В-четвертых,")

    for point, start in zip(points.items, starts, strict=True):
        assert point.detail in paragraphs
        assert point.detail.startswith(start)
        # The statement is the item's own words, shorter than the passage.
        assert point.text[1:] in point.detail
        assert len(point.text) < len(point.detail)
    assert "Обе страны должны и впредь оказывать друг другу поддержку" in points.items[0].detail
    assert "Он призвал надлежащим образом организовать Год туризма" in points.items[3].detail
    # The first point stops at its first sentence.
    assert "Обе страны" not in points.items[0].text


# --- ordinal adverbs ---------------------------------------------------------------------


def test_ordinal_adverbs_with_any_dash_and_attribution_in_any_form() -> None:
    text = (
        "Министр финансов выступила на форуме.\n\n"
        "Во\u2011первых, как отметила министр, бюджет будет сбалансирован. Это важно.\n\n"
        "Во – вторых, подчеркнули в ведомстве, расходы на науку вырастут.\n\n"
        "В—третьих, по её словам, налоги не повысят.\n\n"
        "вчетвертых, заявляет она, инфляция замедлится.\n\n"
        "В-пятых, считают эксперты, рубль укрепится.\n\n"
        "Форум продлится три дня."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Бюджет будет сбалансирован.",
        "Расходы на науку вырастут.",
        "Налоги не повысят.",
        "Инфляция замедлится.",
        "Рубль укрепится.",
    ]
    assert points.items[0].detail == (
        "Во\u2011первых, как отметила министр, бюджет будет сбалансирован. Это важно."
    )
    assert "Форум продлится" not in points.items[-1].detail


def test_ordinal_adverbs_without_hyphen_and_in_caps() -> None:
    text = "ВО ПЕРВЫХ, цены стабильны. Во вторых: зарплаты растут. Втретьих — спрос высок."
    assert texts(extract_points(text)) == [
        "Цены стабильны.",
        "Зарплаты растут.",
        "Спрос высок.",
    ]


def test_markers_inside_sentences_and_mid_paragraph() -> None:
    text = (
        "Глава ведомства отметил, во-первых, что экономика растет. Это подтверждает статистика. "
        "Во-вторых, по мнению министра, безработица снижается. "
        "В-третьих, — заявил он, — инвестиции увеличатся."
    )
    points = extract_points(text)

    assert texts(points) == [
        "Экономика растет.",
        "Безработица снижается.",
        "Инвестиции увеличатся.",
    ]
    assert points.items[0].detail == (
        "Глава ведомства отметил, во-первых, что экономика растет. Это подтверждает статистика."
    )
    assert points.items[1].detail.startswith("Во-вторых, по мнению министра")


def test_markers_in_one_sentence_share_its_lead_in() -> None:
    text = (
        "Нам нужно, во-первых, укрепить доверие, во-вторых, развивать торговлю "
        "и, в-третьих, расширять обмены."
    )
    points = extract_points(text)

    assert texts(points) == [
        "Нам нужно укрепить доверие",
        "Нам нужно развивать торговлю",
        "Нам нужно расширять обмены.",
    ]
    assert all(point.detail == text for point in points.items)


def test_trailing_attribution_goes_but_a_speech_verb_with_an_object_stays() -> None:
    text = (
        "Во-первых, инфляция замедлится, считает эксперт. "
        "Во-вторых, стороны подчеркнули важность диалога. "
        "В-третьих, ставка снизится, — заявил глава ЦБ."
    )
    assert texts(extract_points(text)) == [
        "Инфляция замедлится.",
        "Стороны подчеркнули важность диалога.",
        "Ставка снизится.",
    ]


def test_finally_closes_a_run_of_ordinals() -> None:
    text = "Во-первых, растёт экспорт. Во-вторых, снижается импорт. И, наконец, укрепляется рубль."
    assert texts(extract_points(text)) == [
        "Растёт экспорт.",
        "Снижается импорт.",
        "Укрепляется рубль.",
    ]


def test_in_third_countries_is_not_a_third_item() -> None:
    text = (
        "Во-первых, растёт экспорт. Во-вторых, поставки идут в третьих странах. "
        "Спрос остаётся высоким."
    )
    points = extract_points(text)

    assert texts(points) == ["Растёт экспорт.", "Поставки идут в третьих странах."]


# --- ordinal words and lists ----------------------------------------------------------------


def test_ordinal_words_at_sentence_start() -> None:
    text = (
        "Министр назвал приоритеты. Первое, необходимо снизить инфляцию. "
        "Второе — поддержать экспорт. Третье: развивать регионы. Первое место занял Казань."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Необходимо снизить инфляцию.",
        "Поддержать экспорт.",
        "Развивать регионы.",
    ]
    assert points.items[1].detail == "Второе — поддержать экспорт."


def test_masculine_ordinal_words_at_sentence_start() -> None:
    text = (
        "Вице-премьер назвал три направления сотрудничества. Первый — расширение торговли. "
        "Второй — инвестиции в инфраструктуру. Третий: обмены студентами, отметил он.\n\n"
        "Переговоры продолжатся осенью."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Расширение торговли.",
        "Инвестиции в инфраструктуру.",
        "Обмены студентами.",
    ]
    assert points.items[1].detail == "Второй — инвестиции в инфраструктуру."
    assert "Переговоры продолжатся" not in points.items[2].detail


def test_feminine_ordinal_words_with_colon_and_yo() -> None:
    text = (
        "Министр назвал задачи на год. Первая: снизить инфляцию. Вторая — поддержать "
        "экспорт. Третья, по словам министра, развивать регионы. Четвёртая — построить "
        "дороги. Первая партия товаров прибыла в порт."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Снизить инфляцию.",
        "Поддержать экспорт.",
        "Развивать регионы.",
        "Построить дороги.",
    ]
    assert points.items[1].detail == "Вторая — поддержать экспорт."
    # The last item runs to its paragraph's end; "Первая партия" starts no new item.
    assert points.items[3].detail.startswith("Четвёртая — построить дороги.")


def test_ordinal_words_of_different_genders_make_no_run() -> None:
    text = "Первое, растёт экспорт. Второй — снижается импорт. Третья: укрепляется рубль."
    assert extract_points(text).enumerated is False


@pytest.mark.parametrize(
    "text",
    [
        "Первый вице-премьер заявил о росте экономики. Второй год подряд экспорт растёт. "
        "Третий год подряд снижается безработица.",
        "Первая партия товаров прибыла в порт. Вторая волна поставок ожидается в мае. "
        "Третья партия задержится.",
        "Первый, второй и третий этапы пройдут в Москве. Второй, заключительный, — в Казани.",
        "Первое, второе и третье места заняли россияне. Второе, что важно, — призовые выросли.",
    ],
)
def test_ordinal_adjectives_in_ordinary_sentences_are_not_an_enumeration(text: str) -> None:
    points = extract_points(text, theses=2)

    assert points.enumerated is False
    assert len(points.items) == 2
    for point in points.items:
        assert point.text in text


def test_numbered_list() -> None:
    text = (
        "Программа включает три пункта:\n"
        "1. Строительство дорог. Работы начнутся весной.\n"
        "2) Ремонт школ;\n"
        "3 . Новые больницы\n"
        "Финансирование утвердят в мае."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == ["Строительство дорог.", "Ремонт школ", "Новые больницы"]
    assert points.items[0].detail == "Строительство дорог. Работы начнутся весной."
    assert points.items[2].detail == "Новые больницы"


def test_numbered_list_must_count_from_one_in_order() -> None:
    text = "Итоги года.\n2. Рост экспорта.\n3. Рост импорта.\n5. Рост цен."
    assert extract_points(text).enumerated is False


def test_bulleted_list() -> None:
    text = (
        "Главное за день:\n"
        "- курс рубля укрепился;\n"
        "• нефть подорожала;\n"
        "* биржи выросли.\n"
        "— золото подешевело.\n"
        "Подробности в вечернем выпуске."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Курс рубля укрепился",
        "Нефть подорожала",
        "Биржи выросли.",
        "Золото подешевело.",
    ]
    assert points.items[0].detail == "курс рубля укрепился;"


def test_dialogue_lines_are_not_a_bulleted_list() -> None:
    text = (
        "— Мы готовы к диалогу, — сказал министр.\n"
        "— Когда начнутся переговоры?\n"
        "— Переговоры продолжатся в июле, — добавил он."
    )
    assert extract_points(text).enumerated is False


def test_longest_enumeration_wins() -> None:
    text = (
        "Во-первых, это дорого. Во-вторых, это долго.\n"
        "План такой:\n"
        "1. Собрать данные.\n"
        "2. Обучить сотрудников.\n"
        "3. Запустить сервис."
    )
    assert texts(extract_points(text)) == [
        "Собрать данные.",
        "Обучить сотрудников.",
        "Запустить сервис.",
    ]


# --- no enumeration ------------------------------------------------------------------------


def test_lone_first_is_not_an_enumeration() -> None:
    text = (
        "Во-первых, это интересно. Потом всё изменилось. Город вырос. Жители довольны новым парком."
    )
    points = extract_points(text, theses=2)

    assert points.enumerated is False
    assert len(points.items) == 2


def test_ordinals_out_of_order_are_not_an_enumeration() -> None:
    text = "Во-вторых, цены выросли. В-третьих, спрос упал. Торговля замедлилась."
    assert extract_points(text).enumerated is False


def test_without_enumeration_key_theses_are_sentences_of_the_text() -> None:
    text = (
        "Правительство утвердило бюджет на следующий год. Расходы на образование вырастут "
        "на десять процентов. Доходы бюджета увеличатся за счет налогов на прибыль.\n\n"
        "Министр финансов представил документ депутатам. Депутаты рассмотрят бюджет в "
        "первом чтении в октябре. Оппозиция раскритиковала расходы на оборону.\n\n"
        "Экономисты ожидают замедления инфляции. Ставка центрального банка останется высокой."
    )
    points = extract_points(text, theses=3)

    assert points.enumerated is False
    assert len(points.items) == 3
    for point in points.items:
        assert point.text in text
        assert point.text[0].isupper()
        assert point.text in point.detail
    assert len(set(texts(points))) == 3


def test_key_theses_leave_out_the_dateline() -> None:
    text = "Москва, 5 марта /ТАСС/ -- Правительство утвердило бюджет. Расходы вырастут."
    points = extract_points(text, theses=3)

    assert points.enumerated is False
    assert texts(points) == ["Правительство утвердило бюджет.", "Расходы вырастут."]


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text_has_no_points(text: str) -> None:
    assert extract_points(text) == Points(items=(), enumerated=False)
