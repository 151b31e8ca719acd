"""A story's own text: its headline and its 1–2 sentences, drawn from all its articles.

The headline is the title closest to what the story's articles say together, not the
first one stored, and without its site's name. The summary sentences come from the
articles' leads, where news puts what happened. Sentences that say the same thing
(one outlet's update of another's report, or two outlets quoting one agency) form one
group; a group counts by how many outlets say it, and speaks with the sentence of its
newest article, so when figures move ("30% протоколов" at noon, "41%" in the evening)
the newest are told. The second sentence must come from another group.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.nlp.lemmas import lemma, stop_words, words
from bot.nlp.titles import clean_title
from bot.nlp.tokenizer import segment

# Lead sentences of each article that may speak for the story.
LEAD_SENTENCES = 3
MIN_WORDS, MAX_WORDS = 6, 45
# Two sentences whose word bags (figures left out) are at least this close say the
# same thing. Chosen on the silver day's leads (benchmarks/stories.py prints examples).
SAME_THING = 0.45
# Past this many characters the first sentence is enough.
MAX_SUMMARY_CHARS = 420
# The summary reads the leads of at most this many articles: the earliest and the
# newest, which is where a story starts and where its figures are freshest.
MAX_ARTICLES = 24
# Share of a candidate's weight that must be new to what is chosen (the second sentence).
MIN_NOVELTY = 0.6
MIN_NEW_GROUP_NOVELTY = 0.85
ROOT = 5
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
# A sentence that leans on one before it ("Ранее она...", "Об этом сообщил...") cannot
# open a summary of sentences from other articles.
_ANAPHORA = re.compile(
    r"^(?:(?:ранее|также|при этом|кроме того|об этом|в то же время|вместе с тем|однако|"
    r"он|она|оно|они|его|ее|её|их|ему|ей|им|этот|эта|это|эти|там|тогда|поэтому)\b"
    r"|по (?:его|ее|её|их) (?:словам|данным)|как (?:сообщ|отмеч|писал|пишет|ранее))",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"[?]\s*$")


# "Об этом сообщает ТАСС." says where the news is from, not what it is.
_ATTRIBUTION = re.compile(
    r"^(?:об этом|как (?:сообщ|пишет|переда|отмеча|рассказ)|сообща|пишет|переда|информацию)",
    re.IGNORECASE,
)


class StoryArticle(Protocol):
    """What the story's text needs of an article (bot.models.Article has it)."""

    @property
    def title(self) -> str: ...

    @property
    def text(self) -> str: ...

    @property
    def source(self) -> str: ...

    @property
    def date(self) -> datetime: ...


def _bag(text: str) -> Counter[str]:
    stops = stop_words()
    return Counter(
        form
        for form in (lemma(w) for w in words(text))
        if form not in stops and not _NUMBER.fullmatch(form) and len(form) > 1
    )


def _idf(bags: Sequence[Mapping[str, float]]) -> dict[str, float]:
    df: Counter[str] = Counter()
    for bag in bags:
        df.update(bag.keys())
    total = len(bags)
    return {t: math.log(1 + total / n) for t, n in df.items()}


def _vector(bag: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    weights = {t: c * idf.get(t, 1.0) for t, c in bag.items()}
    norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
    return {t: v / norm for t, v in weights.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def headline(articles: Sequence[StoryArticle]) -> str:
    """The most representative title, cleaned: the one closest to all the titles and
    leads together. Questions lose to statements; ties go to the earlier article."""
    if not articles:
        return ""
    titles = [clean_title(a.title, a.source or None) for a in articles]
    bags = [_bag(t) for t in titles]
    leads = [_bag(articles[i].text[:600]) for i in _sample(articles)]
    idf = _idf([*bags, *leads])
    centre: Counter[str] = Counter()
    for bag in bags:
        centre.update({t: 2 * c for t, c in bag.items()})
    for lead in leads:
        centre.update(lead)
    centre_vector = _vector(centre, idf)

    by_date = sorted(range(len(articles)), key=lambda i: articles[i].date)
    rank = {i: n for n, i in enumerate(by_date)}

    def merit(i: int) -> tuple[float, int]:
        value = _cosine(_vector(bags[i], idf), centre_vector)
        if _QUESTION.search(titles[i]) or titles[i].isupper():
            value *= 0.8
        return value, -rank[i]

    best = max(range(len(articles)), key=merit)
    return titles[best]


@dataclass(slots=True)
class _Candidate:
    text: str
    article: int
    position: int
    source: str
    date: datetime
    vector: dict[str, float]
    numbers: frozenset[str]
    # The same words cut to their first letters: "Сингапура" and "сингапурские" meet,
    # which lemmas do not; used to tell whether a second sentence says anything new.
    roots: dict[str, float]


def _sample(articles: Sequence[StoryArticle]) -> list[int]:
    by_date = sorted(range(len(articles)), key=lambda i: articles[i].date)
    if len(by_date) <= MAX_ARTICLES:
        return by_date
    half = MAX_ARTICLES // 2
    return by_date[:half] + by_date[-half:]


def _candidates(articles: Sequence[StoryArticle]) -> list[_Candidate]:
    # Imported here: the summarizer module brings sumy (and numpy, scipy), which the
    # bot loads with the first summary, not at start.
    from bot.nlp.summarizer import is_boilerplate

    raw: list[tuple[str, int, int]] = []
    for index in _sample(articles):
        article = articles[index]
        taken = 0
        for s in segment(article.text):
            if taken >= LEAD_SENTENCES:
                break
            if s.heading or is_boilerplate(s.text):
                continue
            if not MIN_WORDS <= len(s.text.split()) <= MAX_WORDS:
                continue
            raw.append((s.text, index, taken))
            taken += 1
    bags = [_bag(text) for text, _, _ in raw]
    idf = _idf(bags)
    return [
        _Candidate(
            text=text,
            article=index,
            position=position,
            source=articles[index].source,
            date=articles[index].date,
            vector=_vector(bag, idf),
            numbers=frozenset(_NUMBER.findall(text)),
            roots=_roots(bag, idf),
        )
        for (text, index, position), bag in zip(raw, bags, strict=True)
        if bag
    ]


@dataclass(slots=True)
class _Group:
    members: list[_Candidate]
    centre: dict[str, float]

    def outlets(self) -> int:
        return len({c.source or f"#{c.article}" for c in self.members})

    def spokesman(self) -> _Candidate:
        """The newest article's sentence (among one article's, the earliest in it),
        unless it leans on a sentence before it and another does not."""
        return max(self.members, key=lambda c: (not _ANAPHORA.match(c.text), c.date, -c.position))


def _groups(candidates: Sequence[_Candidate]) -> list[_Group]:
    groups: list[_Group] = []
    for candidate in sorted(candidates, key=lambda c: (c.position, c.date)):
        best = max(groups, key=lambda g: _cosine(candidate.vector, g.centre), default=None)
        if best is not None and _cosine(candidate.vector, best.centre) >= SAME_THING:
            best.members.append(candidate)
        else:
            groups.append(_Group([candidate], dict(candidate.vector)))
    return groups


def summary(articles: Sequence[StoryArticle], sentences: int = 2) -> tuple[str, ...]:
    """Up to `sentences` sentences (1 or 2) telling the story, each from its articles'
    leads, never two that say the same thing; a sentence's newest version is told."""
    candidates = _candidates(articles)
    if not candidates:
        return ()
    everything: Counter[str] = Counter()
    for c in candidates:
        everything.update(c.vector)
    centre = _vector(everything, {})
    groups = _groups(candidates)

    def merit(group: _Group) -> float:
        lead = min(c.position for c in group.members)
        centrality = max(_cosine(c.vector, centre) for c in group.members)
        value = (1 + math.log(group.outlets())) * centrality * 0.6**lead
        return value * (0.1 if _ANAPHORA.match(group.spokesman().text) else 1.0)

    ranked = sorted(groups, key=merit, reverse=True)
    first = ranked[0].spokesman()
    if sentences < 2:
        return (first.text,)
    # The sentence after the first in its own article continues it without restating
    # it; a sentence of another group must be clearly new to stand beside it.
    following = [
        c for c in candidates if c.article == first.article and c.position == first.position + 1
    ]
    others = [g.spokesman() for g in ranked[1:]]
    for candidate, novelty in [(c, MIN_NOVELTY) for c in following] + [
        (c, MIN_NEW_GROUP_NOVELTY) for c in others
    ]:
        fits = len(first.text) + len(candidate.text) <= MAX_SUMMARY_CHARS
        if _ATTRIBUTION.match(candidate.text):
            continue
        if fits and _novelty(candidate.roots, first.roots) >= novelty:
            return (first.text, candidate.text)
    return (first.text,)


def _roots(bag: Mapping[str, float], idf: Mapping[str, float]) -> dict[str, float]:
    roots: dict[str, float] = {}
    for term, count in bag.items():
        roots[term[:ROOT]] = roots.get(term[:ROOT], 0.0) + count * idf.get(term, 1.0)
    return _vector(roots, {})


def _novelty(candidate: Mapping[str, float], chosen: Mapping[str, float]) -> float:
    """Share of the candidate's (squared, unit-vector) weight in words `chosen` lacks."""
    return sum(v * v for t, v in candidate.items() if t not in chosen)
