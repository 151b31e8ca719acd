"""sumy's summarizers without their quadratic pure-Python loops.

Each class subclasses the stock sumy summarizer and replaces only the slow step, so
that, given the same document, stemmer and stop words, it selects the same sentences:

* LexRank builds its thresholded similarity graph from one sparse tf-idf product
  instead of a Python cosine per pair of sentences (and counts document frequencies
  in one pass); the matrix handed to sumy's power method is the same, bit for bit.
  Pairs whose cosine lands within rounding distance of the threshold are decided by
  sumy's own cosine, so float summation order never flips an edge.
* TextRank builds its edge weights (shared words over the sum of log lengths) from
  one sparse count product; integer overlaps and the same float operations give the
  same matrix, then sumy's normalisation and power method run unchanged.
* LSA keeps every singular dimension by default (REDUCTION_RATIO = 1), and a
  sentence's rank, sqrt(sum_i sigma_i^2 v_i^2), is then exactly the Euclidean norm of
  its column of the term matrix, so the SVD is skipped. The tf smoothing is vectorised.
* KL and SumBasic pick sentences greedily and rate them by pick order; only the
  first `sentences_count` picks decide the summary, so the greedy loop stops there.
* Luhn looks its significant words up in a set instead of a tuple.

Documents of a few sentences go to sumy's own code (`stock_below`): there its loops
cost less than scipy's fixed overhead, so the fast classes are never the slower ones.
`sentence_ratings(document, limit)` returns one rating per sentence (higher is better)
for callers that re-rank, such as `bot.nlp.summarizer`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sumy.summarizers.edmundson import EdmundsonSummarizer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer
from sumy.utils import ItemsCount

# An edge whose float cosine is this close to LexRank's threshold is re-decided with
# sumy's own arithmetic; the vectorised sum differs from it only in the last bits.
_THRESHOLD_GUARD = 1e-9
# Ratings of sentences a greedy method never reached: below every real rating.
_UNRATED = -math.inf


def _vocabulary(sentences: Sequence[Sequence[str]]) -> dict[str, int]:
    index: dict[str, int] = {}
    for words in sentences:
        for word in words:
            if word not in index:
                index[word] = len(index)
    return index


def _count_matrix(
    sentences: Sequence[Sequence[str]], index: dict[str, int], dtype: Any = np.int64
) -> sparse.csr_matrix:
    """Sentences x terms matrix of word counts (words missing from `index` are skipped)."""
    rows: list[int] = []
    cols: list[int] = []
    for row, words in enumerate(sentences):
        for word in words:
            col = index.get(word)
            if col is not None:
                rows.append(row)
                cols.append(col)
    data = np.ones(len(rows), dtype=dtype)
    shape = (len(sentences), len(index))
    # Duplicate (row, col) pairs are summed on conversion: that is the count.
    return sparse.csr_matrix((data, (rows, cols)), shape=shape, dtype=dtype)


def _requested_count(sentences_count: object, total: int) -> int | None:
    """How many sentences sumy's ItemsCount would keep, or None for a callable count."""
    if callable(sentences_count):
        return None
    return len(ItemsCount(sentences_count)(list(range(total))))


class FastLexRankSummarizer(LexRankSummarizer):
    # Below this many sentences sumy's own loops beat scipy's fixed costs.
    stock_below = 12

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        sentences_words = [self._to_words_set(s) for s in document.sentences]
        if not sentences_words:
            return []
        tf_metrics = self._compute_tf(sentences_words)
        idf_metrics = self._compute_idf(sentences_words)
        matrix = self._create_matrix(sentences_words, self.threshold, tf_metrics, idf_metrics)
        # With no content word anywhere the matrix is zero and sumy's power method
        # normalises by zero; the NaNs it returns are the caller's to handle.
        with np.errstate(invalid="ignore", divide="ignore"):
            return [float(x) for x in self.power_method(matrix, self.epsilon)]

    @staticmethod
    def _compute_idf(sentences: Sequence[Sequence[str]]) -> dict[str, float]:
        document_frequency: Counter[str] = Counter()
        for words in sentences:
            document_frequency.update(set(words))
        count = len(sentences)
        idf: dict[str, float] = {}
        for words in sentences:
            for term in words:
                if term not in idf:
                    idf[term] = math.log(count / (1 + document_frequency[term]))
        return idf

    def _create_matrix(
        self,
        sentences: Sequence[Sequence[str]],
        threshold: float,
        tf_metrics: Sequence[dict[str, float]],
        idf_metrics: dict[str, float],
    ) -> np.ndarray:
        count = len(sentences)
        if count < self.stock_below:
            return super()._create_matrix(sentences, threshold, tf_metrics, idf_metrics)
        index = _vocabulary(sentences)
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for row, tf in enumerate(tf_metrics):
            for term, frequency in tf.items():
                rows.append(row)
                cols.append(index[term])
                values.append(frequency * idf_metrics[term])
        weights = sparse.csr_matrix(
            (np.array(values, dtype=float), (rows, cols)), shape=(count, len(index))
        )
        norms = np.sqrt(np.asarray(weights.multiply(weights).sum(axis=1)).ravel())
        # Only pairs sharing a term can pass the threshold: work on the sparse product.
        products = (weights @ weights.T).tocoo()
        rows_, cols_ = products.row, products.col
        denominators = norms[rows_] * norms[cols_]
        positive = denominators > 0
        rows_, cols_ = rows_[positive], cols_[positive]
        cosine = products.data[positive] / denominators[positive]
        edges = np.zeros((count, count), dtype=bool)
        edges[rows_, cols_] = cosine > threshold

        near = np.abs(cosine - threshold) < _THRESHOLD_GUARD
        for row, col in zip(rows_[near], cols_[near], strict=True):
            exact = self.cosine_similarity(
                sentences[row], sentences[col], tf_metrics[row], tf_metrics[col], idf_metrics
            )
            edges[row, col] = exact > threshold

        degrees = edges.sum(axis=1).astype(float)
        degrees[degrees == 0] = 1.0
        return edges.astype(float) / degrees[:, np.newaxis]


class FastTextRankSummarizer(TextRankSummarizer):
    stock_below = 8

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        if not document.sentences:
            return []
        matrix = self._create_matrix(document)
        return [float(x) for x in self.power_method(matrix, self.epsilon)]

    def _create_matrix(self, document: Any) -> np.ndarray:
        if len(document.sentences) < self.stock_below:
            return super()._create_matrix(document)
        sentences_as_words = [self._to_words_set(sent) for sent in document.sentences]
        count = len(sentences_as_words)
        counts = _count_matrix(sentences_as_words, _vocabulary(sentences_as_words))
        # Shared words counted with multiplicity, as sumy's sum(words2.count(w) for w in words1).
        overlaps = (counts @ counts.T).tocoo()
        # math.log, not np.log: numpy's vectorised log may differ in the last bit.
        logs = np.array([math.log(len(w)) if w else 0.0 for w in sentences_as_words])
        norms = logs[overlaps.row] + logs[overlaps.col]
        shared = overlaps.data.astype(float)
        # sumy: rank / (log|s1| + log|s2|), or the rank itself when both are one word long.
        near_zero = np.isclose(norms, 0.0)
        values = np.where(near_zero, shared, shared / np.where(near_zero, 1.0, norms))
        weights = np.zeros((count, count))
        weights[overlaps.row, overlaps.col] = np.where(overlaps.data == 0, 0.0, values)

        # From here on, sumy's own arithmetic.
        weights /= weights.sum(axis=1)[:, np.newaxis] + self._ZERO_DIVISION_PREVENTION
        return np.full((count, count), (1.0 - self.damping) / count) + self.damping * weights


class FastLsaSummarizer(LsaSummarizer):
    stock_below = 10

    def __call__(self, document: Any, sentences_count: Any) -> tuple[Any, ...]:
        if len(document.sentences) < self.stock_below:
            return tuple(super().__call__(document, sentences_count))
        self._ensure_dependecies_installed()
        dictionary = self._create_dictionary(document)
        if not dictionary:
            return ()
        ranks = iter(self._ranks(document, dictionary))
        return tuple(
            self._get_best_sentences(document.sentences, sentences_count, lambda s: next(ranks))
        )

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        dictionary = self._create_dictionary(document)
        if not dictionary:
            return [0.0] * len(document.sentences)
        return self._ranks(document, dictionary)

    def _create_dictionary(self, document: Any) -> dict[str, int]:
        words = map(self.normalize_word, document.words)
        unique = {self.stem_word(w) for w in words if w not in self._stop_words}
        # sumy numbers terms in frozenset order, which changes with the hash seed; the
        # ranks do not depend on the order, so a sorted one keeps runs reproducible.
        return {w: i for i, w in enumerate(sorted(unique))}

    def _ranks(self, document: Any, dictionary: dict[str, int]) -> list[float]:
        stems = [[self.stem_word(w) for w in s.words] for s in document.sentences]
        # Terms x sentences, as sumy builds it.
        counts = _count_matrix(stems, dictionary, dtype=float).T.tocsc()
        smooth = 0.4
        max_frequencies = counts.max(axis=0).toarray().ravel()
        dimensions = max(self.MIN_DIMENSIONS, int(min(counts.shape) * self.REDUCTION_RATIO))
        if dimensions < min(counts.shape):
            return self._svd_ranks(counts.toarray(), max_frequencies, smooth, dimensions)

        # Every cell of a sentence with words is smooth + (1 - smooth) * count / max,
        # zeros included; the column norm is sum over cells of that squared.
        ranks: list[float] = []
        terms = counts.shape[0]
        for col in range(counts.shape[1]):
            peak = max_frequencies[col]
            if peak == 0:
                ranks.append(0.0)
                continue
            start, stop = counts.indptr[col], counts.indptr[col + 1]
            present = smooth + (1.0 - smooth) * (counts.data[start:stop] / peak)
            absent = terms - (stop - start)
            ranks.append(math.sqrt(float(np.sum(present**2)) + absent * smooth**2))
        return ranks

    def _svd_ranks(
        self, matrix: np.ndarray, max_frequencies: np.ndarray, smooth: float, dimensions: int
    ) -> list[float]:
        nonempty = max_frequencies != 0
        matrix[:, nonempty] = smooth + (1.0 - smooth) * (
            matrix[:, nonempty] / max_frequencies[nonempty]
        )
        _u, sigma, v = np.linalg.svd(matrix, full_matrices=False)
        powered = np.where(np.arange(len(sigma)) < dimensions, sigma**2, 0.0)
        return [math.sqrt(float(x)) for x in (powered[:, np.newaxis] * v**2).sum(axis=0)]


def _greedy_selection(
    summarizer: Any, document: Any, sentences_count: Any, picks: Iterator[int]
) -> tuple[Any, ...] | None:
    """sumy's selection from a greedy method's picks, stopping as soon as it is known.

    sumy rates a pick with -len(ratings), keyed by Sentence; a later pick of an equal
    sentence re-rates that key below everything rated so far. So a key whose copies
    are all picked, rated above -len(ratings), keeps its place whatever comes next;
    once such keys cover the requested count, later picks cannot change the summary.
    Returns None when the full run is needed (a callable count) or costs nothing more
    (a count that keeps every sentence).
    """
    sentences = document.sentences
    wanted = _requested_count(sentences_count, len(sentences))
    if wanted is None or wanted >= len(sentences):
        # Every sentence is kept anyway: nothing to save by stopping early.
        return None
    multiplicity = Counter(sentences)
    unpicked = Counter(sentences)
    ratings: dict[Any, float] = {}
    floor = 0
    exhausted = True
    for index in picks:
        key = sentences[index]
        ratings[key] = -1 * len(ratings)
        unpicked[key] -= 1
        floor = -len(ratings)
        settled = sum(multiplicity[k] for k, r in ratings.items() if unpicked[k] == 0 and r > floor)
        if settled >= wanted:
            exhausted = False
            break

    def rate(sentence: Any) -> float:
        if sentence not in ratings:
            return _UNRATED
        if exhausted or (unpicked[sentence] == 0 and ratings[sentence] > floor):
            return ratings[sentence]
        return _UNRATED

    return tuple(summarizer._get_best_sentences(sentences, sentences_count, rate))


def _ratings_from_picks(total: int, picks: Iterator[int], limit: int) -> list[float]:
    """-pick order for the first `limit` picks, the lowest rating for the rest."""
    ratings = [_UNRATED] * total
    for order, index in enumerate(picks):
        if order >= limit:
            break
        ratings[index] = -float(order)
    return ratings


class _GreedyPicks:
    """Shared by the summarizers that pick sentences one at a time (KL, SumBasic): the
    picks are a lazy sequence, so a summary stops after the sentences it needs."""

    def __call__(self, document: Any, sentences_count: Any) -> tuple[Any, ...]:
        picked = _greedy_selection(self, document, sentences_count, self._picks(document.sentences))
        if picked is None:
            return tuple(super().__call__(document, sentences_count))  # type: ignore[misc]
        return picked

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        sentences = document.sentences
        return _ratings_from_picks(len(sentences), self._picks(sentences), limit or len(sentences))

    def _picks(self, sentences: Sequence[Any]) -> Iterator[int]:
        raise NotImplementedError


class FastKLSummarizer(_GreedyPicks, KLSummarizer):
    def _picks(self, sentences: Sequence[Any]) -> Iterator[int]:
        """Indices in sumy's greedy order, computed lazily: callers stop early."""
        word_freq = self.compute_tf(sentences)
        remaining = list(range(len(sentences)))
        sentences_as_words = [self._get_content_words_in_sentence(s) for s in sentences]
        summary: list[Any] = []
        while remaining:
            # sumy joins the summary's raw words (not normalised, not filtered) with each
            # candidate's content words; kept as is, since it decides the picks.
            summary_words = self._get_all_words_in_doc(summary)
            kls = [
                self._kl_divergence(
                    self._joint_freq(sentences_as_words[i], summary_words), word_freq
                )
                for i in remaining
            ]
            best = remaining.pop(self._find_index_of_best_sentence(kls))
            summary.append(sentences[best])
            yield best


class FastSumBasicSummarizer(_GreedyPicks, SumBasicSummarizer):
    def _picks(self, sentences: Sequence[Any]) -> Iterator[int]:
        word_freq = self._compute_tf(sentences)
        remaining = list(range(len(sentences)))
        sentences_as_words = [self._get_content_words_in_sentence(s) for s in sentences]
        while remaining:
            candidates = [sentences_as_words[i] for i in remaining]
            best = remaining.pop(self._find_index_of_best_sentence(word_freq, candidates))
            self._update_tf(word_freq, sentences_as_words[best])
            yield best


class FastLuhnSummarizer(LuhnSummarizer):
    def __call__(self, document: Any, sentences_count: Any) -> tuple[Any, ...]:
        words = frozenset(self._get_significant_words(document.words))
        return tuple(
            self._get_best_sentences(document.sentences, sentences_count, self.rate_sentence, words)
        )

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        words = frozenset(self._get_significant_words(document.words))
        return [float(self.rate_sentence(s, words)) for s in document.sentences]


class RatedEdmundsonSummarizer(EdmundsonSummarizer):
    """sumy's Edmundson (already linear), with per-sentence ratings exposed.

    sumy only uses the weights to switch methods on and off and adds the methods'
    ratings up unweighted; here the weights weigh, which is the same at weight 1.
    """

    def sentence_ratings(self, document: Any, limit: int = 0) -> list[float]:
        methods: list[Any] = []
        if self._cue_weight > 0.0:
            methods.append((self._cue_weight, self._build_cue_method_instance()))
        if self._key_weight > 0.0:
            methods.append((self._key_weight, self._build_key_method_instance()))
        if self._title_weight > 0.0:
            methods.append((self._title_weight, self._build_title_method_instance()))
        if self._location_weight > 0.0:
            methods.append((self._location_weight, self._build_location_method_instance()))
        totals = [0.0] * len(document.sentences)
        for weight, method in methods:
            rated = method.rate_sentences(document)
            for i, sentence in enumerate(document.sentences):
                totals[i] += weight * rated[sentence]
        return totals
