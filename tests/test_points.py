from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.models import Points
from bot.nlp.points import extract_points
from bot.nlp.summarizer import summarize

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


def test_finally_before_a_fourth_ordinal_is_not_part_of_the_point() -> None:
    text = (
        "Во-первых, растут цены на жильё. Во-вторых, дорожают кредиты. В-третьих, растут "
        "налоги. Наконец, в-четвертых, застройщики сокращают стройки."
    )
    assert texts(extract_points(text))[3] == "Застройщики сокращают стройки."


def test_a_conjunction_or_a_condition_before_the_marker_is_not_the_point() -> None:
    text = (
        "Почему автомат? Потому что, во-первых, дробовик — отдельный ствол. Во-вторых, дроны "
        "несут до трёх килограммов.\n\n"
        "Поскольку у нас общая граница, да, то есть компании, которые, во-первых, переводят "
        "деньги, а во-вторых, привозят товары, и, в-третьих, продают их."
    )
    assert texts(extract_points(text)) == [
        "Есть компании, которые переводят деньги",
        "Есть компании, которые привозят товары",
        "Есть компании, которые продают их.",
    ]
    first_pair = extract_points(text.split("\n\n")[0])
    assert texts(first_pair) == [
        "Дробовик — отдельный ствол.",
        "Дроны несут до трёх килограммов.",
    ]


def test_hard_wrapped_items_are_points_on_one_line() -> None:
    text = (
        "Мы обсудили это с коллегами, и у\nнас есть два довода. Во-первых,\nэто дешевле, "
        "чем\nлюбая другая схема. Во-вторых, это\nбыстрее, потому что\nничего не нужно "
        "согласовывать.\nНа этом всё."
    )
    points = extract_points(text)
    assert texts(points) == [
        "Это дешевле, чем любая другая схема.",
        "Это быстрее, потому что ничего не нужно согласовывать.",
    ]
    assert all(point.detail in text for point in points.items)


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
    # Two theses at most, and fewer where they would only repeat the summary.
    assert 1 <= len(points.items) <= 2
    for point in points.items:
        assert point.text in text


def test_paragraph_ordinals_head_sections_whose_point_is_the_proposal() -> None:
    text = (
        "Назову три направления работы.\n\n"
        "Первое. В прошлом году в стране построили сто новых школ. Этого мало. Предлагаю "
        "до 2030 года построить ещё тысячу школ в малых городах.\n\n"
        "Второе. Нужно повысить зарплаты учителей в сельских школах.\n\n"
        "Третье. Многие районы остаются без врачей. Такие районы получат выплаты на "
        "строительство поликлиник, и мы направим на это 20 миллиардов рублей.\n\n"
        "Средства начнут поступать со следующего года.\n\n"
        "Теперь о другом. Экономика растёт третий год подряд."
    )
    points = extract_points(text)

    assert points.enumerated is True
    assert texts(points) == [
        "Предлагаю до 2030 года построить ещё тысячу школ в малых городах.",
        "Нужно повысить зарплаты учителей в сельских школах.",
        # "Такие районы" refers back: the sentence before it comes along.
        "Многие районы остаются без врачей. Такие районы получат выплаты на строительство "
        "поликлиник, и мы направим на это 20 миллиардов рублей.",
    ]
    assert points.items[0].detail.startswith("Первое. В прошлом году")
    # The last section runs on no longer than the longest before it: one paragraph.
    assert points.items[2].detail.endswith("20 миллиардов рублей.")


def test_an_ordinal_with_a_full_stop_inside_a_paragraph_marks_nothing() -> None:
    text = (
        "Команда заняла место первое. Второе. Это было неожиданно для всех болельщиков "
        "клуба. Третье место досталось гостям из Казани, которые играли лучше."
    )
    assert extract_points(text).enumerated is False


def test_ordinal_adverbs_win_a_tie_with_ordinal_words() -> None:
    text = (
        "Для меня возможны две линии поведения. Первая — оперативно реагировать. Вторая — "
        "собирать случаи для законов.\n\n"
        "Во-первых, я тоже руководство университета. Во-вторых, позиция университета есть "
        "на сайте."
    )
    assert texts(extract_points(text)) == [
        "Я тоже руководство университета.",
        "Позиция университета есть на сайте.",
    ]


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


def test_interview_turns_are_not_a_bulleted_list() -> None:
    text = (
        "Корреспондент поговорил с проректором о выборах.\n\n"
        "— Почему вы так поступили?\n\n"
        "— Для меня это было совершенно естественно.\n\n"
        "— Поддержка арестованных выглядит геройством.\n\n"
        "— В таком случае у нас очень много героев.\n\n"
        "— Вы пытались вести переговоры?\n\n"
        "— Сейчас это полностью епархия силовиков."
    )
    assert extract_points(text).enumerated is False


def test_a_long_list_is_a_catalogue_not_key_points() -> None:
    items = "\n".join(f"- Пункт номер {n} длинного перечня товаров." for n in range(1, 14))
    text = f"В магазине продаются такие товары:\n{items}\nМагазин открыт до девяти вечера."
    assert extract_points(text).enumerated is False
    shorter = "\n".join(items.splitlines()[:12])
    assert len(extract_points(f"Товары:\n{shorter}").items) == 12


def test_a_reference_list_is_not_key_points() -> None:
    text = (
        "Литература\n"
        '1. Harris, Bruce (2009). "Replacement of the Royal Prerogative". Retrieved 2016.\n'
        "2. Иванов И. И. Теория графов // Вестник МГУ. 2010. С. 12–15.\n"
        "3. Сайт министерства: https://example.org/report (дата обращения: 01.02.2020)."
    )
    assert extract_points(text).enumerated is False


def test_list_fragments_are_points_only_where_the_list_is_the_text() -> None:
    items = (
        "Выплаты пойдут на:\n\n- пособия по безработице;\n\n- помощь уволенным по "
        "собственному желанию;\n\n- выплаты малому бизнесу на зарплаты."
    )
    central = f"Правительство выделило шесть миллиардов на выплаты безработным.\n\n{items}"
    assert texts(extract_points(central)) == [
        "Пособия по безработице",
        "Помощь уволенным по собственному желанию",
        "Выплаты малому бизнесу на зарплаты.",
    ]
    news = (
        "Город открыл новый парк на месте старого завода, и жители оценили его. В парке "
        "есть пруд, спортивные площадки, велодорожки и летний кинотеатр под открытым небом. "
    )
    digest = f"{news * 12}\n\n{items}\n\n{news * 12}"
    assert extract_points(digest).enumerated is False


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
    text = (
        "Москва, 5 марта /ТАСС/ -- Правительство России утвердило федеральный бюджет на 2025 "
        "год. Расходы на образование вырастут на десять процентов. Министр финансов Антон "
        "Силуанов представил документ депутатам. Госдума рассмотрит бюджет в первом чтении в "
        "октябре. Оппозиция уже раскритиковала расходы на оборону и безопасность."
    )
    points = extract_points(text, theses=3)

    assert points.enumerated is False
    assert len(points.items) == 3
    assert all("ТАСС" not in t and "5 марта" not in t for t in texts(points))
    assert "Правительство России утвердило федеральный бюджет на 2025 год." in texts(points)


def test_a_thesis_starting_with_a_number_keeps_its_case() -> None:
    text = (
        "31-летний Лукаш Подольски перешёл в турецкий «Галатасарай» из лондонского "
        "«Арсенала». Контракт нападающего рассчитан на три года с возможностью продления. "
        "Сумма трансфера составила около двух миллионов евро по данным прессы."
    )
    statements = texts(extract_points(text, theses=3))
    assert statements
    assert not any("31-Летний" in s for s in statements)
    assert any(s.startswith("31-летний Лукаш Подольски") for s in statements)


def test_theses_are_cut_to_their_main_clause_and_differ_from_the_summary() -> None:
    text = (
        "Правительство России утвердило бюджет на следующий год, сообщает пресс-служба "
        "кабинета министров страны.\n\n"
        "При этом, по словам министра финансов, расходы на образование вырастут на "
        "десять процентов.\n\n"
        "Доходы бюджета увеличатся за счёт налогов на прибыль крупных компаний.\n\n"
        "Министр финансов Антон Силуанов представил документ депутатам Госдумы в среду.\n\n"
        "Депутаты рассмотрят бюджет в первом чтении в октябре, как обычно бывает.\n\n"
        "Оппозиция раскритиковала расходы на оборону и безопасность в 2025 году."
    )
    points = extract_points(text, theses=3)
    statements = texts(points)

    assert points.enumerated is False
    assert len(statements) == 3
    assert statements != list(summarize(text, sentences=3))
    for statement, point in zip(statements, points.items, strict=True):
        assert statement[1:-1] in text or statement[1:-1] in point.detail
        assert "сообщает" not in statement and "по словам" not in statement
        assert not statement.startswith("При этом")
    # The sentences with names, numbers and dates carry the most distinct facts.
    assert "Министр финансов Антон Силуанов представил документ депутатам Госдумы в среду." in (
        statements
    )


def test_theses_of_a_text_no_longer_than_a_summary_say_less_than_it() -> None:
    text = (
        "Правительство России утвердило бюджет на следующий год. Расходы на образование "
        "вырастут на десять процентов в 2025 году."
    )
    summary = summarize(text, sentences=3)
    statements = texts(extract_points(text, theses=3))
    assert len(summary) == 2
    assert statements and statements != list(summary)
    assert set(statements) < set(summary)


@pytest.mark.parametrize("text", ["", "   \n\n  "])
def test_empty_text_has_no_points(text: str) -> None:
    assert extract_points(text) == Points(items=(), enumerated=False)
