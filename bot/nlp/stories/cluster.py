"""The same-story decision and the incremental clusterer built on it.

A story is the sum of its articles' bags (terms, entities, numbers) and the span of
their times. A new article is compared with the stories of its window only: the window
slides with each story's latest article, so a story that keeps getting updates stays
open and one that went quiet for `window` is closed. Candidates come from an inverted
index over the open stories' forms, so the cost of one article depends on how many
stories are open, not on how many articles are stored.

Two articles with no story around them are compared the same way: one of them is a
story of one article (`pair_score`).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.nlp.stories.features import ENTITY, NUMBER, DocumentFrequencies, Features, entity_key


@dataclass(frozen=True, slots=True)
class Tuning:
    """Weights of the same-story score and its threshold. Tuned on the silver day and
    the hard title pairs (benchmarks/stories.py); the gold pairs are never used here."""

    entity_weight: float = 0.2
    number_weight: float = 0.0
    # Beyond `grace` apart, the score drops by `time_weight` a day; beyond `window`, no.
    time_weight: float = 0.1
    grace: timedelta = timedelta(hours=12)
    window: timedelta = timedelta(hours=36)
    threshold: float = 0.5
    # Candidate stories are those holding one of the article's most telling forms...
    probe_terms: int = 12
    # ...and at most this many of them are scored in full.
    max_candidates: int = 8


DEFAULT_TUNING = Tuning()
Idf = Callable[[str], float]


@dataclass(slots=True)
class Story:
    """Articles about one event, and the sums the decision compares a newcomer with."""

    key: int
    members: list[int] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    numbers: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    latest: datetime | None = None
    # Squared norms of the three bags under the idf of `_seen` documents, kept up to
    # date as articles join, so a big story's norm is not recomputed at every article.
    _squares: list[float] | None = None
    _seen: int = 0

    def add(self, member: int, features: Features, df: DocumentFrequencies | None = None) -> None:
        numbers = dict.fromkeys(features.numbers, 1.0)
        if self._squares is not None and df is not None:
            bags = (
                (self.terms, features.terms, ""),
                (self.entities, features.entities, ENTITY),
                (self.numbers, numbers, NUMBER),
            )
            for n, (mine, theirs, prefix) in enumerate(bags):
                if not theirs:
                    continue
                idf = df.table()
                self._squares[n] += sum(
                    ((mine.get(t, 0.0) + w) ** 2 - mine.get(t, 0.0) ** 2) * idf[prefix + t] ** 2
                    for t, w in theirs.items()
                )
        else:
            self._squares = None
        self.members.append(member)
        self.terms.update(features.terms)
        self.entities.update(features.entities)
        self.numbers.update(numbers)
        self.sources[features.source] += 1
        if self.first is None or features.time < self.first:
            self.first = features.time
        if self.latest is None or features.time > self.latest:
            self.latest = features.time

    def norms(self, df: DocumentFrequencies) -> tuple[float, float, float]:
        # idf moves slowly once many articles are seen: recomputed after 5% more.
        if self._squares is None or df.documents > self._seen * 1.05 + 1:
            self._squares = [
                _square(self.terms, df, ""),
                _square(self.entities, df, ENTITY),
                _square(self.numbers, df, NUMBER),
            ]
            self._seen = df.documents
        terms, entities, numbers = (math.sqrt(max(v, 0.0)) for v in self._squares)
        return terms, entities, numbers


def _square(weights: Mapping[str, float], df: DocumentFrequencies, prefix: str) -> float:
    # The table is asked for only when there is a key to look up: asking may renew it,
    # and renewing it at another moment would give other idf values from then on.
    if not weights:
        return 0
    idf = df.table()
    # A list is summed faster than a generator, and in the same order.
    if not prefix:
        return sum([(w * idf[t]) ** 2 for t, w in weights.items()])
    return sum([(w * idf[prefix + t]) ** 2 for t, w in weights.items()])


@dataclass(frozen=True, slots=True)
class Probe:
    """An article made ready to be compared with many stories: each bag's weights
    multiplied by idf twice (once for each side of the dot product) and its norms."""

    features: Features
    bags: tuple[dict[str, float], dict[str, float], dict[str, float]]
    norms: tuple[float, float, float]

    @classmethod
    def of(cls, features: Features, df: DocumentFrequencies) -> Probe:
        bags = []
        norms = []
        for weights, prefix in (
            (features.terms, ""),
            (features.entities, ENTITY),
            (dict.fromkeys(features.numbers, 1.0), NUMBER),
        ):
            idf = df.table() if weights else {}
            factors = {key: idf[prefix + key] for key in weights}
            bags.append({key: w * factors[key] ** 2 for key, w in weights.items()})
            norms.append(math.sqrt(sum((w * factors[key]) ** 2 for key, w in weights.items())))
        return cls(features, (bags[0], bags[1], bags[2]), (norms[0], norms[1], norms[2]))


def _cosine(
    probe: Mapping[str, float], norm: float, bag: Mapping[str, float], other: float
) -> float:
    if not norm or not other:
        return 0.0
    dot = 0.0
    get = bag.get
    for key, weight in probe.items():
        mine = get(key)
        if mine:
            dot += weight * mine
    return dot / (norm * other)


def gap(moment: datetime, story: Story) -> timedelta:
    """How far `moment` is from the story's span of times (zero inside it)."""
    assert story.first is not None and story.latest is not None
    if moment < story.first:
        return story.first - moment
    if moment > story.latest:
        return moment - story.latest
    return timedelta(0)


def score(
    article: Features | Probe,
    story: Story,
    df: DocumentFrequencies,
    tuning: Tuning = DEFAULT_TUNING,
) -> float:
    """How strongly `article` belongs to `story`; it does when this reaches
    `tuning.threshold`. Minus infinity outside the story's window."""
    probe = article if isinstance(article, Probe) else Probe.of(article, df)
    apart = gap(probe.features.time, story)
    if apart > tuning.window:
        return -math.inf
    late = max(0.0, (apart - tuning.grace) / timedelta(days=1))
    story_norms = story.norms(df)
    text, entities, numbers = (
        _cosine(bag, norm, mine, other)
        for bag, norm, mine, other in zip(
            probe.bags,
            probe.norms,
            (story.terms, story.entities, story.numbers),
            story_norms,
            strict=True,
        )
    )
    return (
        text
        + tuning.entity_weight * entities
        + tuning.number_weight * numbers
        - tuning.time_weight * late
    )


def pair_score(
    a: Features, b: Features, df: DocumentFrequencies, tuning: Tuning = DEFAULT_TUNING
) -> float:
    """The same-story score of two articles: `b` as a story of one."""
    story = Story(key=0)
    story.add(0, b)
    return score(a, story, df, tuning)


def same_story(
    a: Features, b: Features, df: DocumentFrequencies, tuning: Tuning = DEFAULT_TUNING
) -> bool:
    return pair_score(a, b, df, tuning) >= tuning.threshold


class Clusterer:
    """Assigns articles to stories one at a time.

    `df` is shared with whoever keeps it (it is the store's running counts); articles
    added here are counted in it unless `count=False` is passed (they were counted when
    stored). Stories whose latest article is older than the newest article seen less
    two windows are closed: they leave `stories` and the index and take no more
    articles, so the clusterer holds the open stories only, however large the store.
    """

    def __init__(
        self,
        df: DocumentFrequencies | None = None,
        tuning: Tuning = DEFAULT_TUNING,
        *,
        first_key: int = 1,
    ) -> None:
        self.df = df if df is not None else DocumentFrequencies()
        self.tuning = tuning
        self.stories: dict[int, Story] = {}
        self._index: dict[str, set[int]] = {}
        self.next_key = first_key
        self._by_latest: list[tuple[datetime, int]] = []
        self._clock: datetime | None = None
        # Stories closed since the owner last emptied this list (to persist or report).
        self.closed: list[Story] = []

    def horizon(self, newest: datetime) -> datetime:
        """Stories whose latest article is older than this, with `newest` the newest
        article stored, are closed: a restart restores the articles of the others."""
        return newest - 2 * self.tuning.window

    # --- the index ---------------------------------------------------------------------

    def _probes(self, features: Features) -> list[str]:
        """The article's most telling forms: highest tf-idf terms and entities."""
        idf = self.df.table() if features.terms or features.entities else {}
        weighted = [(w * idf[t], t) for t, w in features.terms.items()]
        weighted += [(w * idf[ENTITY + e], ENTITY + e) for e, w in features.entities.items()]
        weighted.sort(reverse=True)
        return [key for _, key in weighted[: self.tuning.probe_terms]]

    def _index_story(self, story: Story, features: Features) -> None:
        # Every form of the story is indexed and only the newcomer's most telling ones
        # are looked up: two reports need not share their headline words to be found.
        for key in itertools.chain(features.terms, map(entity_key, features.entities)):
            self._index.setdefault(key, set()).add(story.key)

    def _unindex(self, story: Story) -> None:
        for key in itertools.chain(story.terms, map(entity_key, story.entities)):
            postings = self._index.get(key)
            if postings is not None:
                postings.discard(story.key)
                if not postings:
                    del self._index[key]

    def _close_old(self) -> list[Story]:
        closed: list[Story] = []
        if self._clock is None:
            return closed
        horizon = self.horizon(self._clock)
        while self._by_latest and self._by_latest[0][0] < horizon:
            latest, key = heapq.heappop(self._by_latest)
            story = self.stories.get(key)
            if story is None or story.latest is None or story.latest > latest:
                # Closed already, or it grew since: a newer entry stands for it.
                continue
            self._unindex(story)
            del self.stories[key]
            closed.append(story)
        return closed

    def candidates(self, features: Features) -> list[Story]:
        hits: Counter[int] = Counter()
        for key in self._probes(features):
            postings = self._index.get(key)
            if postings:
                hits.update(postings)
        best = hits.most_common(self.tuning.max_candidates)
        return [self.stories[key] for key, _ in best]

    # --- assignment --------------------------------------------------------------------

    def best(self, features: Features) -> tuple[Story | None, float]:
        """The open story the article fits best and its score, or (None, -inf)."""
        found: Story | None = None
        top = -math.inf
        probe = Probe.of(features, self.df)
        for story in self.candidates(features):
            value = score(probe, story, self.df, self.tuning)
            if value > top:
                found, top = story, value
        return found, top

    def add(self, member: int, features: Features, *, count: bool = True) -> int:
        """Puts the article into the best open story, or a new one; returns its key."""
        if count:
            self.df.add(features)
        story, value = self.best(features)
        if story is None or value < self.tuning.threshold:
            story = Story(key=self.next_key)
            self.next_key += 1
            self.stories[story.key] = story
        story.add(member, features, self.df)
        self._index_story(story, features)
        assert story.latest is not None
        heapq.heappush(self._by_latest, (story.latest, story.key))
        if self._clock is None or features.time > self._clock:
            self._clock = features.time
            self.closed.extend(self._close_old())
        return story.key

    def restore(self, story_key: int, member: int, features: Features) -> None:
        """Puts back an article whose story is known (a store's window, at start);
        its frequencies are in the store's counts already."""
        story = self.stories.get(story_key)
        if story is None:
            story = self.stories[story_key] = Story(key=story_key)
        story.add(member, features, self.df)
        self._index_story(story, features)
        assert story.latest is not None
        heapq.heappush(self._by_latest, (story.latest, story.key))
        self.next_key = max(self.next_key, story_key + 1)
        if self._clock is None or features.time > self._clock:
            self._clock = features.time

    def join(self, story_key: int, member: int, features: Features) -> None:
        """Puts the article into the story `story_key`, which the caller chose (from
        `best`) and numbered (a store's story id); stories that fall behind close."""
        advanced = self._clock is None or features.time > self._clock
        self.restore(story_key, member, features)
        if advanced:
            self.closed.extend(self._close_old())


def group(articles: Sequence[Features], tuning: Tuning = DEFAULT_TUNING) -> list[int]:
    """Story keys of a batch of articles (in their order), with nothing stored: the
    frequencies come from the batch itself, and articles are taken in time order, as
    they would have been stored."""
    df = DocumentFrequencies()
    df.update(articles)
    clusterer = Clusterer(df, tuning)
    keys = [0] * len(articles)
    for index in sorted(range(len(articles)), key=lambda i: articles[i].time):
        keys[index] = clusterer.add(index, articles[index], count=False)
        clusterer.closed.clear()
    return keys
