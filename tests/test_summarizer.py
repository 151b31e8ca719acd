from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import BadSentenceCount, UnknownAlgorithm
from bot.nlp.summarizer import ALGORITHMS, STEMMERS, Tuning, is_boilerplate, summarize
from bot.nlp.text import one_line
from bot.nlp.tokenizer import split_sentences

SEED = Path(__file__).resolve().parent.parent / "seeds" / "000_04ae095c1d503094.txt"

NEWS = "\n".join(
    [
        "Мэрия открыла новую линию метро",
        "",
        "МОСКВА, 3 марта — РИА Новости. Мэрия Москвы открыла новую линию метро, которая"
        " соединила северные и южные районы города.",
        "Линия длиной 25 километров включает двенадцать станций, сообщил мэр на церемонии"
        " открытия.",
        "По словам мэра, новая линия метро разгрузит две самые загруженные линии и сократит"
        " время поездок жителей южных районов на двадцать минут.",
        "Строительство линии метро обошлось городскому бюджету в 150 млрд рублей и заняло"
        " пять лет.",
        "Рисунок 1. Схема новой линии метро.",
        "Первые пассажиры прошли через турникеты в шесть утра, на станциях работали волонтёры.",
        "Ранее власти обещали открыть линию ещё в прошлом году, однако сроки сдвинулись из-за"
        " проблем с поставками оборудования.",
        "Мэр подчеркнул, что в ближайшие три года город построит ещё две линии метро и"
        " тридцать новых станций.",
        "Погода в день открытия была солнечной.",
    ]
)
LEAD = "Мэрия Москвы открыла новую линию метро, которая соединила северные и южные районы города."


def positions(text: str, sentences: tuple[str, ...]) -> list[int]:
    found = [text.find(s) for s in sentences]
    assert all(p >= 0 for p in found), "a summary sentence is not a substring of the text"
    return found


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("text", [SEED.read_text(encoding="utf-8"), NEWS], ids=["seed", "news"])
def test_every_algorithm_returns_verbatim_sentences_in_article_order(
    algorithm: str, text: str
) -> None:
    summary = summarize(text, algorithm=algorithm, sentences=3)
    assert len(summary) == 3
    assert len(set(summary)) == 3
    found = positions(text, summary)
    assert found == sorted(found)
    sentences = split_sentences(text)
    assert all(s in sentences for s in summary)


@pytest.mark.parametrize("stemmer", STEMMERS)
@pytest.mark.parametrize("count", [1, 2, 5])
def test_both_stemmers_give_the_requested_number_of_sentences(stemmer: str, count: int) -> None:
    summary = summarize(NEWS, sentences=count, stemmer=stemmer)
    assert len(summary) == count
    positions(NEWS, summary)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_dateline_is_in_no_summary_sentence(algorithm: str) -> None:
    for text, dateline in [(NEWS, "РИА Новости"), (SEED.read_text(encoding="utf-8"), "/Синьхуа/")]:
        summary = summarize(text, algorithm=algorithm, sentences=5)
        assert summary
        assert all(dateline not in s for s in summary)


def test_the_lead_without_its_dateline_can_be_chosen() -> None:
    summary = summarize(NEWS, sentences=1)
    assert summary[0].startswith("Мэрия Москвы открыла новую линию метро")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_short_text_comes_back_whole(algorithm: str) -> None:
    text = "Первое предложение короткой заметки. Второе предложение заметки!"
    assert summarize(text, algorithm=algorithm, sentences=3) == (
        "Первое предложение короткой заметки.",
        "Второе предложение заметки!",
    )
    assert summarize(text, algorithm=algorithm, sentences=2) == tuple(split_sentences(text))


@pytest.mark.parametrize("text", ["", "   \n\n\t", "\xa0"])
def test_empty_text_has_an_empty_summary(text: str) -> None:
    assert summarize(text) == ()


def test_unknown_algorithm_is_a_domain_error() -> None:
    with pytest.raises(UnknownAlgorithm) as info:
        summarize(NEWS, algorithm="gpt")
    assert info.value.name == "gpt"


@pytest.mark.parametrize("count", [0, -1])
def test_sentence_count_below_one_is_a_domain_error(count: int) -> None:
    with pytest.raises(BadSentenceCount):
        summarize(NEWS, sentences=count)


def test_unknown_stemmer_is_refused() -> None:
    with pytest.raises(ValueError, match="stemmer"):
        summarize(NEWS, stemmer="porter")


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_captions_are_never_chosen(algorithm: str) -> None:
    summary = summarize(NEWS, algorithm=algorithm, sentences=6)
    assert len(summary) == 6
    assert all(not s.startswith("Рисунок 1.") for s in summary)


def test_repeated_sentence_is_chosen_once() -> None:
    text = f"{NEWS}\n{LEAD}\n{LEAD}"
    summary = summarize(text, sentences=6)
    assert sum(s == LEAD for s in summary) == 1


def test_redundancy_control_skips_a_near_copy() -> None:
    lead = LEAD
    near_copy = (
        "Новая линия метро, которую открыла мэрия Москвы, соединила южные и северные районы города."
    )
    text = NEWS.replace(lead, f"{lead} {near_copy}")
    unchecked = Tuning(redundancy=0.0, max_similarity=1.0)
    assert {lead, near_copy} <= set(summarize(text, sentences=3, tuning=unchecked))
    for count in (2, 3, 5):
        summary = summarize(text, sentences=count)
        assert lead in summary
        assert near_copy not in summary


def test_summaries_are_deterministic() -> None:
    text = SEED.read_text(encoding="utf-8")
    for algorithm in ALGORITHMS:
        assert summarize(text, algorithm=algorithm) == summarize(text, algorithm=algorithm)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "text",
    [
        "1. 2. 3. 4. 5. 6. 7.",
        "Да. Нет. И. Но. А. Или. Так.",
        "Это он. Это она. Это мы. Это вы. Это они.",
        "Слово слово слово. Слово слово слово. Слово слово слово. Слово слово слово.",
        "\n".join(f"Строка номер {i} без точки" for i in range(8)),
    ],
    ids=["numbers", "one-word", "stop-words", "repeats", "headings"],
)
def test_degenerate_texts_still_give_verbatim_sentences(algorithm: str, text: str) -> None:
    summary = summarize(text, algorithm=algorithm, sentences=3)
    assert 1 <= len(summary) <= 3
    found = positions(text, summary)
    assert found == sorted(found)


def test_title_is_used_by_edmundson_but_never_returned() -> None:
    title = "Погода в день открытия метро"
    summary = summarize(NEWS, algorithm="edmundson", sentences=2, title=title)
    assert title not in summary
    positions(NEWS, summary)


def test_summary_sentences_of_a_hard_wrapped_text_are_on_one_line() -> None:
    text = "\n".join(
        [
            "Мэрия Москвы открыла новую линию",
            "метро, которая соединила северные и",
            "южные районы города. Линия длиной 25",
            "километров включает двенадцать станций,",
            "сообщил мэр на церемонии открытия. По",
            "словам мэра, новая линия разгрузит две",
            "самые загруженные линии метро. Первые",
            "пассажиры прошли через турникеты в шесть",
            "утра, на станциях работали волонтёры.",
        ]
    )
    summary = summarize(text, sentences=2)
    assert len(summary) == 2
    assert summary[0] == (
        "Мэрия Москвы открыла новую линию метро, которая соединила северные и южные районы города."
    )
    assert all("\n" not in s and s in one_line(text) for s in summary)


def test_a_summary_leaves_out_list_fragments_and_bullets() -> None:
    text = (
        "Правительство выделило шесть миллиардов гривен на выплаты безработным в этом году.\n\n"
        "Выделенные средства будут направлены на выплату:\n\n"
        "- пособия по безработице для всех, кто встал на учёт в центре занятости - 1,277 млрд;\n\n"
        "- помощи по частичной безработице для остановленных предприятий - 4,723 млрд;\n\n"
        "- Министерство обещает перечислить первые выплаты уже на следующей неделе.\n\n"
        "В министерстве отмечают, что постановление поможет работодателям сохранить рабочие "
        "места."
    )
    summary = summarize(text, sentences=3)
    assert summary == (
        "Правительство выделило шесть миллиардов гривен на выплаты безработным в этом году.",
        "Министерство обещает перечислить первые выплаты уже на следующей неделе.",
        "В министерстве отмечают, что постановление поможет работодателям сохранить рабочие места.",
    )


@pytest.mark.parametrize(
    ("sentence", "boilerplate"),
    [
        ("Рисунок 1. Схема новой линии метро.", True),
        ("Табл. 2. Результаты измерений.", True),
        ("Иванов И. И. Теория графов // Вестник МГУ. 2010. Т. 5. № 3. С. 12–15.", True),
        ("[4] Петров П. П. Методы оптимизации. М.: Наука, 1999. 240 с.", True),
        ("Преимущества подхода:.", True),
        ("1,47. 0,0055. 12100.", True),
        ("Фото: пресс-служба мэрии.", True),
        ("Мэр подчеркнул, что город построит ещё две линии метро.", False),
        ("На рисунке 1 показана схема новой линии.", False),
    ],
)
def test_boilerplate_is_recognised(sentence: str, boilerplate: bool) -> None:
    assert is_boilerplate(sentence) is boilerplate
