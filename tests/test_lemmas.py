from __future__ import annotations

from bot.nlp.lemmas import lemma, parse_tags
from bot.nlp.summarizer import summarize


def test_a_word_with_an_unnamed_character_is_kept_as_it_is() -> None:
    # U+17000 (Tangut) has no name in unicodedata, which pymorphy3 asks for.
    word = "\U00017000астане"
    assert lemma(word) == word
    assert parse_tags(word) == frozenset()
    assert lemma("Астане") == "астана"


def test_a_text_with_an_unnamed_character_is_summarised() -> None:
    text = (
        "Астане Астане Астане. Астане Астане Астане Астане Астане Астане. "
        "Астане Астане Астане \U00017000Астане Астане Астане. "
    )
    assert summarize(text, algorithm="lexrank", sentences=1)
