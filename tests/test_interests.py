"""Interests: parsing /follow, matching words in any form, phrases, exclusions, the index
over many chats and the digest's arrangement."""

from __future__ import annotations

import random

import pytest

from bot.digest import story_terms
from bot.nlp.interests import (
    Candidate,
    Follows,
    InterestIndex,
    arrange,
    interest_from,
    item_terms,
    match_each,
    parse_interests,
)


def follows(args: str) -> Follows:
    return Follows(tuple(parse_interests(args)))


@pytest.mark.parametrize(
    ("followed", "title"),
    [
        ("Казахстан", "Выборы в Казахстане"),
        ("Токаев", "Встреча с Токаевым"),
        ("Токаевым", "Токаев прибыл в Москву"),
        ("выборы", "Итоги выборов"),
        ("ЦБ", "ЦБ снизил ставку"),
    ],
)
def test_a_word_matches_in_any_form(followed: str, title: str) -> None:
    assert follows(followed).wants(item_terms(title))


def test_a_word_does_not_match_another_word() -> None:
    assert not follows("Казахстан").wants(item_terms("Выборы в Узбекистане"))


def test_the_lead_counts_and_the_rest_of_the_text_does_not() -> None:
    lead = "Казахстан объявил о новых правилах. "
    assert follows("Казахстан").wants(item_terms("Новые правила", lead))
    late = "Прочие новости дня. " * 60 + "Казахстан тоже упомянут."
    assert not follows("Казахстан").wants(item_terms("Новые правила", late))


def test_a_quoted_phrase_matches_its_words_in_order_only() -> None:
    phrase = follows('"центральный банк"')
    [interest] = phrase.interests
    assert interest.kind == "phrase"
    assert phrase.wants(item_terms("Решение Центрального банка"))
    assert not phrase.wants(item_terms("Банк открыл центральный офис"))
    assert follows("«центральный банк»").interests == phrase.interests


def test_excluded_word_drops_an_item_that_also_matches() -> None:
    chat = follows("Казахстан -футбол")
    assert chat.wants(item_terms("Казахстан принял новый бюджет"))
    assert not chat.wants(item_terms("Казахстан выиграл в футбол"))
    assert chat.drops(item_terms("Футбольный матч: футболисты и футбола"))


def test_parsing_keeps_one_interest_per_word_whatever_its_form_and_skips_stop_words() -> None:
    parsed = parse_interests("Казахстан Казахстане в и -футбол -футбола")
    assert [(i.kind, i.term) for i in parsed] == [("word", "Казахстан"), ("exclude", "футбол")]
    assert parse_interests("в и на") == []
    assert parse_interests('"" - --') == []


def test_an_excluded_phrase_drops_that_phrase_only() -> None:
    chat = follows('Казахстан -"чемпионат мира"')
    assert not chat.wants(item_terms("Казахстан на чемпионате мира"))
    assert chat.wants(item_terms("Казахстан и мир: чемпионат страны"))


def test_an_interest_read_back_from_the_store_is_the_same() -> None:
    for interest in parse_interests('Казахстан "центральный банк" -футбол'):
        assert interest_from(interest.kind, interest.term) == interest
    assert interest_from("colour", "красный") is None


def test_tokens_fit_telegram_button_data() -> None:
    [interest] = parse_interests("«" + "очень длинная фраза " * 2 + "»")
    assert len(interest.token.encode()) <= 16


def _items() -> list[Candidate[str]]:
    return [
        Candidate("sport", item_terms("Казахстан выиграл матч по футболу"), "ТАСС"),
        Candidate("budget", item_terms("Бюджет Казахстана принят"), "РИА"),
        Candidate("weather", item_terms("Погода в Москве"), "ТАСС"),
        Candidate("bank", item_terms("Центральный банк снизил ставку"), "Интерфакс"),
    ]


def test_first_mode_puts_followed_items_first_and_keeps_the_rest() -> None:
    chat = follows('Казахстан "центральный банк" -футбол')
    assert arrange(_items(), chat, mode="first") == ["budget", "bank", "weather"]


def test_only_mode_keeps_followed_items_alone() -> None:
    chat = follows("Казахстан -футбол")
    assert arrange(_items(), chat, mode="only") == ["budget"]


def test_muted_outlets_are_dropped_whatever_the_mode() -> None:
    assert arrange(_items(), Follows(), muted=frozenset({"ТАСС"})) == ["budget", "bank"]
    assert arrange(_items(), follows("Москва"), mode="only", muted=frozenset({"ТАСС"})) == []


def test_a_chat_that_follows_nothing_gets_everything_in_order() -> None:
    assert arrange(_items(), Follows()) == ["sport", "budget", "weather", "bank"]


WORDS = [
    "Казахстан", "Токаев", "выборы", "бюджет", "нефть", "футбол", "банк", "ставка",
    "Москва", "погода", "школа", "налог", "рубль", "газ", "суд", "армия",
]  # fmt: skip


def test_the_index_finds_exactly_the_chats_a_per_chat_loop_finds() -> None:
    rng = random.Random(7)
    chats: dict[int, Follows] = {}
    for chat_id in range(400):
        picked = rng.sample(WORDS, 3)
        args = " ".join(picked[:2])
        if rng.random() < 0.3:
            args += f" -{picked[2]}"
        if rng.random() < 0.2:
            args += ' "центральный банк"'
        chats[chat_id] = follows(args)
    index = InterestIndex({c: f.interests for c, f in chats.items()})
    titles = [
        "Токаев обсудил бюджет и нефть",
        "Центральный банк и ставка рубля",
        "Суд над футбольным клубом в Москве",
        "Погода испортила выборы",
        "Новости без интересов",
    ]
    for title in titles:
        item = item_terms(title, "Подробности о налогах и газе.")
        expected = match_each(chats, item)
        assert index.match(item) == expected
    assert index.match(item_terms("Токаев обсудил бюджет")), "some chat follows these words"


def test_a_story_follows_what_one_of_its_articles_has_and_a_phrase_stays_in_one() -> None:
    [bank] = parse_interests('"центральный банк"')
    [kazakhstan] = parse_interests("Казахстан")
    apart = story_terms([item_terms("Совет выбрал центральный"), item_terms("Банк снизил ставку")])
    together = story_terms([item_terms("Погода"), item_terms("Центральный банк снизил ставку")])
    assert not bank.matches(apart)
    assert bank.matches(together)
    many = story_terms([item_terms("Выборы в Казахстане"), item_terms("Итоги голосования")])
    assert Follows((kazakhstan,)).follows(many)
