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
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.nlp.stories.features import DocumentFrequencies, Features


@dataclass(frozen=True, slots=True)
class Tuning:
    """Weights of the same-story score and its threshold. Tuned on the silver day and
    the hard title pairs (benchmarks/stories.py); the gold pairs are never used here."""

    entity_weight: float = 0.2
    number_weight: float = 0.1
    # Beyond `grace` apart, the score drops by `time_weight` a day; beyond `window`, no.
    time_weight: float = 0.1
    grace: timedelta = timedelta(hours=12)
    window: timedelta = timedelta(hours=36)
    threshold: float = 0.5
    # Share of the best single article's score in a story's score (the rest is the
    # whole story's): stories of one topic must not swallow each other by drifting.
    link: float = 0.0
    # The story's newest articles that the single-article comparison looks at.
    recent: int = 8
    # Candidate stories come from this many of the article's most telling forms...
    probe_terms: int = 12
    # ...and at most this many of them are scored in full.
    max_candidates: int = 24


DEFAULT_TUNING = Tuning()
# How many of a story's newest articles it keeps for the single-article comparison.
RECENT = 16


@dataclass(slots=True)
class Story:
    """Articles about one event, and the sums the decision compares a newcomer with."""

    key: int
    members: list[Hashable] = field(default_factory=list)
    terms: Counter[str] = field(default_factory=Counter)
    entities: Counter[str] = field(default_factory=Counter)
    numbers: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    recent: list[Features] = field(default_factory=list)
    first: datetime | None = None
    latest: datetime | None = None
    # Norms under the idf they were computed with: (documents seen, size, norms).
    _norms: tuple[int, int, float, float, float] | None = None

    def add(self, member: Hashable, features: Features) -> None:
        self.members.append(member)
        self.terms.update(features.terms)
        self.entities.update(features.entities)
        self.numbers.update(dict.fromkeys(features.numbers, 1))
        self.sources[features.source] += 1
        self.recent.append(features)
        if len(self.recent) > RECENT:
            del self.recent[0]
        if self.first is None or features.time < self.first:
            self.first = features.time
        if self.latest is None or features.time > self.latest:
            self.latest = features.time
        self._norms = None

    def norms(self, df: DocumentFrequencies) -> tuple[float, float, float]:
        # idf moves slowly once many articles are seen: recompute after 2% more.
        cached = self._norms
        if cached is not None and cached[1] == len(self.members):
            seen = cached[0]
            if df.documents <= seen * 1.02 + 1:
                return cached[2], cached[3], cached[4]
        norms = (
            _norm(self.terms, df.term_idf),
            _norm(self.entities, df.entity_idf),
            _norm(self.numbers, df.number_idf),
        )
        self._norms = (df.documents, len(self.members), *norms)
        return norms


def _norm(weights: Mapping[str, float], idf: _Idf) -> float:
    return math.sqrt(sum((w * idf(t)) ** 2 for t, w in weights.items()))


class _Idf:
    def __call__(self, key: str) -> float: ...


def _cosine(
    a: Mapping[str, float], b: Mapping[str, float], idf: _Idf, norm_b: float
) -> tuple[float, float]:
    """(cosine, norm of a) of idf-weighted bags."""
    dot = 0.0
    norm_a = 0.0
    for key, weight in a.items():
        w = weight * idf(key)
        norm_a += w * w
        other = b.get(key)
        if other:
            dot += w * other * idf(key)
    norm_a = math.sqrt(norm_a)
    if not dot or not norm_b:
        return 0.0, norm_a
    return dot / (norm_a * norm_b), norm_a


def gap(moment: datetime, story: Story) -> timedelta:
    """How far `moment` is from the story's span of times (zero inside it)."""
    assert story.first is not None and story.latest is not None
    if moment < story.first:
        return story.first - moment
    if moment > story.latest:
        return moment - story.latest
    return timedelta(0)


def _link_score(
    article: Features, other: Features, df: DocumentFrequencies, tuning: Tuning
) -> float:
    text = _plain_cosine(article.terms, other.terms, df.term_idf)
    entities = _plain_cosine(article.entities, other.entities, df.entity_idf)
    numbers = _plain_cosine(
        dict.fromkeys(article.numbers, 1.0), dict.fromkeys(other.numbers, 1.0), df.number_idf
    )
    return text + tuning.entity_weight * entities + tuning.number_weight * numbers


def _plain_cosine(a: Mapping[str, float], b: Mapping[str, float], idf: _Idf) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = 0.0
    for key, weight in a.items():
        other = b.get(key)
        if other:
            dot += weight * other * idf(key) ** 2
    if not dot:
        return 0.0
    return dot / (_norm(a, idf) * _norm(b, idf))


def score(
    article: Features, story: Story, df: DocumentFrequencies, tuning: Tuning = DEFAULT_TUNING
) -> float:
    """How strongly `article` belongs to `story`; it does when this reaches
    `tuning.threshold`. Minus infinity outside the story's window."""
    apart = gap(article.time, story)
    if apart > tuning.window:
        return -math.inf
    late = max(0.0, (apart - tuning.grace) / timedelta(days=1))
    whole = _story_score(article, story, df, tuning)
    if tuning.link and len(story.members) > 1:
        best = max(_link_score(article, f, df, tuning) for f in story.recent[-tuning.recent :])
        whole = (1 - tuning.link) * whole + tuning.link * best
    return whole - tuning.time_weight * late


def _story_score(
    article: Features, story: Story, df: DocumentFrequencies, tuning: Tuning
) -> float:
    term_norm, entity_norm, number_norm = story.norms(df)
    text, _ = _cosine(article.terms, story.terms, df.term_idf, term_norm)
    entities, _ = _cosine(article.entities, story.entities, df.entity_idf, entity_norm)
    numbers, _ = _cosine(
        dict.fromkeys(article.numbers, 1.0), story.numbers, df.number_idf, number_norm
    )
    return text + tuning.entity_weight * entities + tuning.number_weight * numbers


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
    two windows are closed: they leave the index and take no more articles.
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

    # --- the index ---------------------------------------------------------------------

    def _probes(self, features: Features) -> list[str]:
        """The article's most telling forms: highest tf-idf terms and entities."""
        df = self.df
        weighted = [(w * df.term_idf(t), t) for t, w in features.terms.items()]
        weighted += [(w * df.entity_idf(e), "@" + e) for e, w in features.entities.items()]
        weighted.sort(reverse=True)
        return [key for _, key in weighted[: self.tuning.probe_terms]]

    def _index_story(self, story: Story, features: Features) -> None:
        for key in self._probes(features):
            self._index.setdefault(key, set()).add(story.key)

    def _unindex(self, story: Story) -> None:
        for key in itertools.chain(story.terms, ("@" + e for e in story.entities)):
            postings = self._index.get(key)
            if postings is not None:
                postings.discard(story.key)
                if not postings:
                    del self._index[key]

    def _close_old(self) -> None:
        if self._clock is None:
            return
        horizon = self._clock - 2 * self.tuning.window
        while self._by_latest and self._by_latest[0][0] < horizon:
            latest, key = heapq.heappop(self._by_latest)
            story = self.stories.get(key)
            if story is None or story.latest is None:
                continue
            if story.latest > latest:
                # It grew since this entry was pushed; a newer entry stands for it.
                continue
            self._unindex(story)

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
        for story in self.candidates(features):
            value = score(features, story, self.df, self.tuning)
            if value > top:
                found, top = story, value
        return found, top

    def add(self, member: Hashable, features: Features, *, count: bool = True) -> int:
        """Puts the article into the best open story, or a new one; returns its key."""
        if count:
            self.df.add(features)
        story, value = self.best(features)
        if story is None or value < self.tuning.threshold:
            story = Story(key=self.next_key)
            self.next_key += 1
            self.stories[story.key] = story
        story.add(member, features)
        self._index_story(story, features)
        assert story.latest is not None
        heapq.heappush(self._by_latest, (story.latest, story.key))
        if self._clock is None or features.time > self._clock:
            self._clock = features.time
            self._close_old()
        return story.key

    def restore(self, story_key: int, member: Hashable, features: Features) -> None:
        """Puts back an article whose story is known (a store's window, at start);
        its frequencies are in the store's counts already."""
        story = self.stories.get(story_key)
        if story is None:
            story = self.stories[story_key] = Story(key=story_key)
        story.add(member, features)
        self._index_story(story, features)
        assert story.latest is not None
        heapq.heappush(self._by_latest, (story.latest, story.key))
        self.next_key = max(self.next_key, story_key + 1)
        if self._clock is None or features.time > self._clock:
            self._clock = features.time

    def open_stories(self) -> Iterable[Story]:
        return self.stories.values()
