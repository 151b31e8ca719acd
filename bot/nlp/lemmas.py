"""Lemmas through pymorphy3, cached per word; stop words from the stop-words package."""

from __future__ import annotations

import re
from functools import cache, lru_cache

from razdel import tokenize

_WORD = re.compile(r"\w", re.UNICODE)


@cache
def _morph():  # type: ignore[no-untyped-def]
    # Loading the dictionaries takes ~0.3 s and ~15 MB, so it happens on first use, once.
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """Normal form of one lowercase word; non-Cyrillic words come back lowercased."""
    word = word.lower().replace("ё", "е")
    if not any("а" <= ch <= "я" for ch in word):
        return word
    return str(_morph().parse(word)[0].normal_form).replace("ё", "е")


def words(text: str) -> list[str]:
    """Word tokens of a text (razdel), punctuation dropped."""
    return [tok.text for tok in tokenize(text) if _WORD.search(tok.text)]


def lemmatize_text(text: str) -> str:
    """Space-separated lemmas of every word: what the full-text index stores and queries."""
    return " ".join(lemma(w) for w in words(text))


@cache
def stop_words() -> frozenset[str]:
    from stop_words import get_stop_words

    base = {w.lower().replace("ё", "е") for w in get_stop_words("russian")}
    return frozenset(base | {lemma(w) for w in base})
