from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlp.text import clean_text, dateline_end, one_line
from bot.nlp.tokenizer import RazdelTokenizer, dateline_span, paragraphs, segment, split_sentences

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_04ae095c1d503094.txt"


def without_dateline(text: str) -> str:
    """`text` with the dateline span the tokenizer finds cut out."""
    span = dateline_span(text)
    return text if span is None else text[: span[0]] + text[span[1] :]


def assert_verbatim(text: str) -> list[str]:
    sentences = split_sentences(text)
    position = 0
    for sentence in sentences:
        found = text.find(sentence, position)
        assert found >= 0, sentence
        position = found + len(sentence)
    for s in segment(text):
        assert text[s.start : s.end] == s.text
    return sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Контракт на 3 млн долл. США был назван рекордным. Сделку одобрили.",
            ["Контракт на 3 млн долл. США был назван рекордным.", "Сделку одобрили."],
        ),
        (
            "Он родился в 1799 г. в Москве. Потом уехал в Петербург.",
            ["Он родился в 1799 г. в Москве.", "Потом уехал в Петербург."],
        ),
        (
            "Встреча состоялась в 2025 г. Переговоры продлились три часа.",
            ["Встреча состоялась в 2025 г.", "Переговоры продлились три часа."],
        ),
        (
            "В 2024 г. Москва приняла бюджет. Он вырос.",
            ["В 2024 г. Москва приняла бюджет.", "Он вырос."],
        ),
        (
            "Это решение, т.е. закон, вступит в силу. Это решение, т. е. закон, тоже.",
            ["Это решение, т.е. закон, вступит в силу.", "Это решение, т. е. закон, тоже."],
        ),
        (
            "Об этом заявил председатель КНР Си Цзиньпин. Визит продлится два дня.",
            ["Об этом заявил председатель КНР Си Цзиньпин.", "Визит продлится два дня."],
        ),
        (
            "Бюджет составил 1,5 млрд рублей. Расходы выросли на 3 млн.",
            ["Бюджет составил 1,5 млрд рублей.", "Расходы выросли на 3 млн."],
        ),
        (
            "Поэт А. С. Пушкин родился в Москве. Он писал стихи.",
            ["Поэт А. С. Пушкин родился в Москве.", "Он писал стихи."],
        ),
        (
            "Он сказал: «Мы придём. Обязательно». Потом ушёл.",
            ["Он сказал: «Мы придём. Обязательно».", "Потом ушёл."],
        ),
        (
            'Саммит "Китай -- Центральная Азия" прошёл -- успешно. Лидеры довольны.',
            ['Саммит "Китай -- Центральная Азия" прошёл -- успешно.', "Лидеры довольны."],
        ),
        (
            "Он сослался на документ (см. прил. 1). Документ опубликован.",
            ["Он сослался на документ (см. прил. 1).", "Документ опубликован."],
        ),
    ],
)
def test_sentence_boundaries_in_news_text(text: str, expected: list[str]) -> None:
    assert assert_verbatim(text) == expected


def test_lowercased_text_is_still_split_into_sentences() -> None:
    text = (
        "около 60 тысяч литров нефти вытекли. инцидент произошел в четверг."
        " компания подала заявление."
    )
    assert assert_verbatim(text) == [
        "около 60 тысяч литров нефти вытекли.",
        "инцидент произошел в четверг.",
        "компания подала заявление.",
    ]


def test_odd_spaces_are_kept_verbatim() -> None:
    text = "Курс\xa0вырос на\u202f2%. Ещё\xa0одно предложение\u2009здесь."
    assert assert_verbatim(text) == [
        "Курс\xa0вырос на\u202f2%.",
        "Ещё\xa0одно предложение\u2009здесь.",
    ]


def test_unclosed_quote_does_not_swallow_the_paragraph() -> None:
    text = "Он сказал: «Мы придём. " + " ".join(f"Предложение номер {i}." for i in range(30))
    sentences = assert_verbatim(text)
    assert len(sentences) > 20


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Астана, 16 июня /Синьхуа/ -- Китай рассчитывает на рост.", "Китай рассчитывает на рост."),
        (
            "МОСКВА, 1 дек — РИА Новости. Около 60 тысяч литров нефти вытекли.",
            "Около 60 тысяч литров нефти вытекли.",
        ),
        ("Москва, 5 марта 2024 г. (ТАСС) — Президент подписал указ.", "Президент подписал указ."),
        ("МОСКВА, 17 июня. /ТАСС/. Правительство утвердило план.", "Правительство утвердило план."),
        ("Москва. 5 марта. ИНТЕРФАКС - Банк снизил ставку.", "Банк снизил ставку."),
        ("магас, 1 дек — риа новости, адам буражев. дед мороз приехал.", "дед мороз приехал."),
        ("Нью-Йорк, 3 января /ТАСС/ -- Биржи открылись ростом.", "Биржи открылись ростом."),
        ("Ростов-на-Дону,\xa03\xa0янв\xa0— РИА Новости. Мост открыли.", "Мост открыли."),
    ],
)
def test_dateline_is_not_part_of_the_first_sentence(text: str, rest: str) -> None:
    assert without_dateline(text) == rest
    assert split_sentences(text)[0] == rest
    assert text.endswith(rest) and dateline_end(text) == len(text) - len(rest)


@pytest.mark.parametrize(
    "text",
    [
        "Москва — столица России. Это крупный город.",
        "Вчера, в понедельник, прошёл дождь. Синоптики его предсказали.",
        "16 июня состоялись переговоры. Они прошли успешно.",
        "Китай, Казахстан и Россия подписали соглашение. Оно вступит в силу.",
    ],
)
def test_text_without_dateline_is_left_alone(text: str) -> None:
    assert without_dateline(text) == text
    assert dateline_span(text) is None
    assert "".join(split_sentences(text)).replace(" ", "") == text.replace(" ", "")


def test_seed_dateline_is_dropped_under_the_title_lines() -> None:
    text = SEED.read_text(encoding="utf-8")
    span = dateline_span(text)
    assert span is not None
    assert text[span[0] : span[1]].startswith("Астана, 16 июня /Синьхуа/")
    body = [s for s in segment(text) if not s.heading]
    assert body[0].text.startswith("Китай рассчитывает")
    assert all("Синьхуа/ --" not in s for s in assert_verbatim(text))
    assert without_dateline(text).count("Астана, 16 июня") == 0


def test_dateline_alone_on_its_line_is_dropped_whole() -> None:
    text = "Заголовок\n\nМОСКВА, 17 июня. /ТАСС/.\n\nПравительство утвердило план. Это важно."
    assert split_sentences(text) == ["Заголовок", "Правительство утвердило план.", "Это важно."]


def test_dateline_is_only_looked_for_in_the_lead() -> None:
    text = "Первый абзац новости. Он закончен.\n\nМосква, 5 марта — это дата из второго абзаца."
    assert dateline_span(text) is None
    assert "Москва, 5 марта — это дата из второго абзаца." in split_sentences(text)


def test_title_lines_are_headings_and_body_lines_are_not() -> None:
    text = "Заголовок новости\n\n2025-06-17 04:05:45\n\nПервое предложение. Второе предложение."
    segments = segment(text)
    assert [s.heading for s in segments] == [True, True, False, False]
    assert [s.paragraph for s in segments] == [0, 1, 2, 2]


def test_hard_wrapped_lines_are_one_paragraph() -> None:
    text = "Это длинное предложение,\nперенесённое на новую строку. Второе.\nТретье предложение."
    assert len(paragraphs(text)) == 2
    assert assert_verbatim(text) == [
        "Это длинное предложение,\nперенесённое на новую строку.",
        "Второе.",
        "Третье предложение.",
    ]


TRANSCRIPT = (
    "Можно ли тогда сказать, что Россия и\n"
    "Украина - это две самые передовые страны\n"
    "в том, что касается производства и\n"
    "разработки дронов? Однозначно американцы\n"
    "поставляли свои дроны, оказались полным\n"
    "провалом. Если говорить, что реально\n"
    "отработало на этой войне, это\n"
    "спутниковая связь."
)


def test_a_block_wrapped_at_a_width_is_one_paragraph() -> None:
    assert paragraphs(TRANSCRIPT) == [(0, len(TRANSCRIPT))]
    assert split_sentences(TRANSCRIPT) == [
        "Можно ли тогда сказать, что Россия и\nУкраина - это две самые передовые страны\n"
        "в том, что касается производства и\nразработки дронов?",
        "Однозначно американцы\nпоставляли свои дроны, оказались полным\nпровалом.",
        "Если говорить, что реально\nотработало на этой войне, это\nспутниковая связь.",
    ]


def test_a_column_of_titles_is_not_a_wrapped_block() -> None:
    text = "Главное за день\nКурс рубля укрепился\nНефть подорожала\nБиржи выросли"
    assert len(paragraphs(text)) == 4


def test_one_line_joins_the_line_breaks_of_a_sentence() -> None:
    assert one_line("Россия и  \n  Украина -\r\nэто две\u2028страны.") == (
        "Россия и Украина - это две страны."
    )
    assert one_line("Без переноса.") == "Без переноса."


def test_tokenizer_words_drop_punctuation_and_spell_yo_as_e() -> None:
    tokenizer = RazdelTokenizer()
    assert tokenizer.to_words("Ёлка «ёлочки» -- 1,5 млрд, т.е. всё!") == (
        "Елка",
        "елочки",
        "1,5",
        "млрд",
        "т",
        "е",
        "все",
    )
    assert RazdelTokenizer(letters_only=True).to_words("В 2024 году 1,5 млрд") == (
        "В",
        "году",
        "млрд",
    )
    assert tokenizer.to_sentences("Первое. Второе!") == ("Первое.", "Второе!")


def test_clean_text_normalises_spaces_and_line_breaks() -> None:
    text = "Курс\xa0вырос\u00ad на 2%.\r\n\r\n\r\n\r\nВторой\u200b абзац.  \r\n"
    assert clean_text(text) == "Курс вырос на 2%.\n\nВторой абзац."


def test_empty_and_blank_texts_have_no_sentences() -> None:
    assert split_sentences("") == []
    assert split_sentences(" \n\n\t ") == []


_PIECES = st.sampled_from(
    [
        "Китай и Казахстан подписали соглашение.",
        "Об этом заявил председатель КНР Си Цзиньпин.",
        "3 млн долл. США",
        "т. е.",
        "А. С. Пушкин",
        "«Мы придём.",
        "Обязательно».",
        " -- ",
        "\n",
        "\n\n",
        "\xa0",
        "Москва, 5 марта — ",
        "(см. рис. 1).",
        "в 2025 г.",
        "Переговоры",
        "...",
        "?!",
        "   ",
    ]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PIECES, max_size=25).map(" ".join))
def test_every_sentence_is_a_verbatim_substring_in_order(text: str) -> None:
    segments = segment(text)
    previous_end = 0
    for s in segments:
        assert text[s.start : s.end] == s.text
        assert s.text == s.text.strip() and s.text
        assert s.start >= previous_end
        previous_end = s.end
