"""What the same-story decision knows about an article, computed once when it is stored.

An article is reduced to three bags of normal forms and a time:
- terms: lemmas of the title (weighted up: a headline says what the story is) and of the
  lead, stop words and numbers left out;
- entities: names of people, places and organisations, by pymorphy3's tags, by a capital
  letter inside a sentence, by Latin script or by capitals throughout ("ЦИК", "NASA");
- numbers: the figures of the title and lead ("15,5", "41"), which two reports of one
  event share more often than two events do;
- time: when it was published, else when it was stored.

Weights are raw counts here; inverse document frequencies are applied when two of them
are compared, from running counts of what has been seen (`DocumentFrequencies`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from bot.nlp.lemmas import lemma, parse_tags, stop_words
from bot.nlp.text import tidy_word
from bot.nlp.titles import clean_title
from bot.nlp.tokenizer import dateline_span

# A headline carries the story; its words count this many times a lead's.
TITLE_WEIGHT = 3.0
# The lead: the first characters of the body, where news says what happened.
LEAD_CHARS = 1000
# Rare words say more about which event a text reports than idf alone gives them.
IDF_POWER = 1.0
_PROPER = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad"})
# Words (hyphens and apostrophes inside them kept: "Петропавловск-Камчатский",
# "COVID-19"), and the marks that end a sentence. razdel's tokenizer is right more
# often on odd tokens, but takes most of the time here, and bags need only words.
_TOKEN = re.compile(r"\d+[.,]\d+|\w+(?:[-'’]\w+)*|[.!?…]+")
_SENTENCE_END = re.compile(r"^[.!?…]+$")
_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_CYRILLIC_OR_LATIN_WORD = re.compile(r"^[^\W\d_][\w'’-]*$")


@dataclass(frozen=True, slots=True)
class Features:
    """One article as the same-story decision sees it. `terms` and `entities` map a
    normal form to its weight in the article."""

    terms: Mapping[str, float]
    entities: Mapping[str, float]
    numbers: frozenset[str]
    time: datetime
    source: str = ""
    title: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "terms": dict(self.terms),
            "entities": dict(self.entities),
            "numbers": sorted(self.numbers),
            "time": self.time.isoformat(),
            "source": self.source,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Features:
        return cls(
            terms=dict(data["terms"]),
            entities=dict(data["entities"]),
            numbers=frozenset(data["numbers"]),
            time=datetime.fromisoformat(data["time"]),
            source=data.get("source", ""),
            title=data.get("title", ""),
        )

    def vocabulary(self) -> set[str]:
        """What this article adds to the document frequencies: each form once."""
        return {
            *self.terms,
            *(entity_key(e) for e in self.entities),
            *(_number_key(n) for n in self.numbers),
        }


# Entities and numbers share the frequency table with terms but must not collide with them.
ENTITY = "@"
NUMBER = "#"


def entity_key(entity: str) -> str:
    return ENTITY + entity


def _number_key(number: str) -> str:
    return NUMBER + number


def _is_entity(word: str, sentence_start: bool) -> bool:
    if not _LETTER.search(word) or not _CYRILLIC_OR_LATIN_WORD.match(word):
        return False
    if _LATIN.search(word) and word[:1].isupper():
        return True
    if len(word) >= 2 and word.isupper():
        return True
    if not word[:1].isupper():
        return False
    if not sentence_start:
        return True
    return bool(parse_tags(word) & _PROPER)


def lead(text: str) -> str:
    span = dateline_span(text)
    if span is not None:
        text = text[: span[0]] + text[span[1] :]
    if len(text) <= LEAD_CHARS:
        return text
    # End on a word boundary, so the last word is a whole word.
    cut = text.rfind(" ", 0, LEAD_CHARS)
    return text[: cut if cut > 0 else LEAD_CHARS]


@dataclass(frozen=True, slots=True)
class _Token:
    """What one token gives the bags, known from its text alone."""

    end: bool = False  # it ends a sentence
    number: str | None = None
    form: str | None = None  # a word's normal form
    entity: bool = False  # a name, inside a sentence
    term: bool = False


_END = _Token(end=True)
_NOTHING = _Token()


@lru_cache(maxsize=100_000)
def _token(word: str) -> _Token:
    # News repeats its words: a text's tokens are mostly seen before, and looking one
    # up costs less than the lemma, the stop-word and the name checks it stands for.
    # Full, it holds about 20 MB; the two-day corpus (4,608 articles) has 63,000 tokens.
    if _SENTENCE_END.match(word):
        return _END
    if _NUMBER.match(word):
        return _Token(number=word.replace(",", "."))
    if not _LETTER.search(word):
        return _NOTHING
    form = lemma(word)
    return _Token(
        form=form,
        entity=_is_entity(word, False),
        term=form not in stop_words() and len(form) > 1,
    )


@lru_cache(maxsize=50_000)
def _entity_at_start(word: str) -> bool:
    return _is_entity(word, True)


def _bags(text: str, terms: Counter[str], entities: Counter[str], numbers: set[str]) -> None:
    sentence_start = True
    for word in _TOKEN.findall(tidy_word(text)):
        token = _token(word)
        if token.end:
            sentence_start = True
            continue
        if token.number is not None:
            numbers.add(token.number)
        elif token.form is not None:
            if _entity_at_start(word) if sentence_start else token.entity:
                entities[token.form] += 1
            if token.term:
                terms[token.form] += 1
        sentence_start = False


def _sublinear(counts: Counter[str], scale: float = 1.0) -> dict[str, float]:
    return {t: scale * (1.0 + math.log(c)) for t, c in counts.items()}


def _as_utc(moment: datetime) -> datetime:
    # Stored times without a zone are UTC throughout the store.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def extract(
    title: str,
    text: str,
    *,
    time: datetime,
    source: str = "",
) -> Features:
    """Features of one article; `time` is its publication time, else its store time."""
    headline = clean_title(title, source or None)
    title_terms: Counter[str] = Counter()
    lead_terms: Counter[str] = Counter()
    entities: Counter[str] = Counter()
    numbers: set[str] = set()
    _bags(headline, title_terms, entities, numbers)
    _bags(lead(text), lead_terms, entities, numbers)
    terms = _sublinear(lead_terms)
    for term, weight in _sublinear(title_terms, TITLE_WEIGHT).items():
        terms[term] = terms.get(term, 0.0) + weight
    return Features(
        terms=terms,
        entities=_sublinear(entities),
        numbers=frozenset(numbers),
        time=_as_utc(time),
        source=source,
        title=headline,
    )


class _Idf(dict[str, float]):
    """idf values as of one number of documents, each computed when first looked up."""

    def __init__(self, documents: int, counts: Counter[str]) -> None:
        super().__init__()
        self._documents = documents
        self.counts = counts

    def __missing__(self, key: str) -> float:
        # Smoothed: a form never seen weighs as one seen once.
        value = math.log((self._documents + 1) / (self.counts.get(key, 0) + 1)) + 1.0
        self[key] = value = value**IDF_POWER
        return value


@dataclass(slots=True)
class DocumentFrequencies:
    """Running document frequencies of terms, entities and numbers: every article seen
    counts once. Kept as counts, so they can be saved and added to as articles come."""

    documents: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    # idf values as of `_cached_at` documents: a score computes thousands of them, and
    # they move little until the collection has grown by a few percent.
    _cache: _Idf | None = None
    _cached_at: int = 0

    def add(self, features: Features) -> None:
        self.documents += 1
        self.counts.update(features.vocabulary())

    def update(self, many: Iterable[Features]) -> None:
        for features in many:
            self.add(features)

    def table(self) -> Mapping[str, float]:
        """The current idf of every key (a term, `entity_key(e)`, a number's key),
        filled as it is read: for loops over many keys, where a call each costs more
        than the lookup."""
        stale = self.documents > self._cached_at * 1.02 + 8
        if stale:
            self._cached_at = self.documents
        if stale or self._cache is None or self._cache.counts is not self.counts:
            self._cache = _Idf(self._cached_at, self.counts)
        return self._cache

    def term_idf(self, term: str) -> float:
        return self.table()[term]
