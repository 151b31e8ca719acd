"""What the full-text index stores for a text and how a query is matched against it.

pymorphy3 ranks the parses of a word, and for names the first is often wrong: "Токаев"
parses first as a form of "токай", while "Токаевым" gives "токаев". Indexing and
querying every likely normal form of a word makes either spelling find the other.

The surface form helps where no parse is right: pymorphy3 reads "Токаев" only as "токай".
Capitalised words (names, mostly) are indexed with their surface form too, and a query
word may match either; the index stays small because common words are lowercase.
"""

from __future__ import annotations

import re
from functools import lru_cache

from bot.nlp.lemmas import MAX_FORMS, lemma, normal_forms, stop_words, words

_CYRILLIC = re.compile(r"[а-я]")
# More parses than this are rarely plausible; each one adds a term to the index.
MAX_VARIANTS = MAX_FORMS


@lru_cache(maxsize=200_000)
def word_variants(word: str) -> tuple[str, ...]:
    """The word's normal forms, most likely first; the first is always `lemma(word)`."""
    first = lemma(word)
    lowered = word.lower().replace("ё", "е")
    if not _CYRILLIC.search(lowered):
        return (first,)
    forms = dict.fromkeys([first])
    for form in normal_forms(lowered)[:MAX_VARIANTS]:
        forms.setdefault(form, None)
    return tuple(forms)


def _surface(word: str) -> str:
    return word.lower().replace("ё", "е")


def index_forms(word: str) -> tuple[str, ...]:
    forms = word_variants(word)
    if word[:1].isupper() and (surface := _surface(word)) not in forms:
        forms = (*forms, surface)
    return forms


def index_text(text: str) -> str:
    """Space-separated normal forms of every word, as the FTS index stores them."""
    return " ".join(form for word in words(text) for form in index_forms(word))


def query_groups(query: str, *, max_terms: int = 16) -> list[tuple[str, ...]]:
    """One group of alternative normal forms per distinct query word; stop words are
    dropped unless nothing else is left. Terms hold letters or digits only, so no user
    input can become FTS5 syntax once quoted."""
    groups: dict[str, tuple[str, ...]] = {}
    for word in words(query):
        forms = dict.fromkeys((*word_variants(word), _surface(word)))
        variants = tuple(v for v in forms if any(ch.isalnum() for ch in v))
        if variants:
            groups.setdefault(variants[0], variants)
    content = [g for key, g in groups.items() if key not in stop_words()]
    return (content or list(groups.values()))[:max_terms]
