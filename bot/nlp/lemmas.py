"""Lemmas through pymorphy3, cached per word; stop words from the stop-words package."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

from razdel import tokenize

_WORD = re.compile(r"\w", re.UNICODE)
_CYRILLIC = re.compile(r"[а-я]")


@cache
def _morph() -> Any:
    # Loading the dictionaries takes ~0.3 s and ~15 MB, so it happens on first use, once.
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang="ru")


# Normal forms kept per word by `normal_forms`: the search index takes up to three.
MAX_FORMS = 3


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """Normal form of one word, lowercase, ё written as е; non-Cyrillic words are only
    lowercased. This is the summarizer's stemmer and the search index's normaliser."""
    word = word.lower().replace("ё", "е")
    if not _CYRILLIC.search(word):
        return word
    forms = normal_forms(word)
    return forms[0] if forms else word


@lru_cache(maxsize=100_000)
def normal_forms(lowered: str) -> tuple[str, ...]:
    """The normal forms of the `MAX_FORMS` likeliest parses of a lowercase word (ё as е),
    in pymorphy3's order, repeats kept; empty when it has none. One analysis serves
    the lemma and the search index's variants: analysing a word not seen yet is most of
    what storing a new day's articles costs."""
    return tuple(str(p.normal_form).replace("ё", "е") for p in _parse(lowered)[:MAX_FORMS])


@lru_cache(maxsize=50_000)
def parse_tags(word: str) -> frozenset[str]:
    """Grammemes of the most likely parse of `word` (e.g. {"NOUN", "Geox", ...})."""
    if not _CYRILLIC.search(word.lower()):
        return frozenset()
    parses = _parse(word)
    return frozenset(parses[0].tag.grammemes) if parses else frozenset()


def _parse(word: str) -> list[Any]:
    try:
        return list(_morph().parse(word))
    except ValueError:
        # pymorphy3 asks unicodedata for the name of every letter, and characters the
        # database names by rule alone (Tangut, CJK ideographs: "Астане𗀀") have none.
        return []


def words(text: str) -> list[str]:
    """Word tokens of a text (razdel), punctuation dropped."""
    return [tok.text for tok in tokenize(text) if _WORD.search(tok.text)]


def lemmatize_text(text: str) -> str:
    """Space-separated lemmas of every word: what the full-text index stores and queries."""
    return " ".join(lemma(w) for w in words(text))


@cache
def stop_words() -> frozenset[str]:
    """Russian stop words, surface forms and their lemmas, ё written as е.

    sumy filters stop words before stemming, by the lowercased surface form, so the
    forms matter; the lemmas serve code that compares lemmas (cue words, search).
    """
    from stop_words import get_stop_words

    base = {w.lower().replace("ё", "е") for w in get_stop_words("russian")}
    return frozenset(base | {lemma(w) for w in base})
