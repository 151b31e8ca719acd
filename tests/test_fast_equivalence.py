"""bot.nlp.fast selects what stock sumy selects, given the same document and settings."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.nlp.stemmers import Stemmer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

from bot.nlp.fast import (
    FastKLSummarizer,
    FastLexRankSummarizer,
    FastLsaSummarizer,
    FastLuhnSummarizer,
    FastSumBasicSummarizer,
    FastTextRankSummarizer,
)
from bot.nlp.lemmas import lemma, stop_words
from bot.nlp.tokenizer import RazdelTokenizer, segment

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "000_04ae095c1d503094.txt"
EVAL = ROOT.parent / "shared" / "eval" / "ru_sci_abstracts_100.jsonl"
# Stock LexRank is quadratic in pure Python (20 s for the longest paper): the first
# sentences of every paper keep the suite short, and two whole papers of about 260
# sentences cover larger graphs.
TRUNCATED = 40
WHOLE_PAPER_SIZES = range(250, 300)

GRAPH_PAIRS: list[tuple[type, type]] = [
    (LexRankSummarizer, FastLexRankSummarizer),
    (TextRankSummarizer, FastTextRankSummarizer),
]


def document(sentences: list[str], tokenizer: Any = None) -> Any:
    tokenizer = tokenizer or RazdelTokenizer()
    return ObjectDocumentModel(
        [
            Paragraph([Sentence(s, tokenizer) for s in sentences[i : i + 4]])
            for i in range(0, len(sentences), 4)
        ]
    )


def build(summarizer_class: type, stemmer: Callable[[str], str] = lemma) -> Any:
    summarizer = summarizer_class(stemmer)
    summarizer.stop_words = stop_words()
    return summarizer


def texts(selection: tuple[Any, ...]) -> list[str]:
    return [str(s) for s in selection]


@cache
def seed_sentences() -> list[str]:
    return [s.text for s in segment(SEED.read_text(encoding="utf-8"))]


@cache
def papers() -> list[list[str]]:
    if not EVAL.parent.is_dir():
        pytest.skip(f"evaluation data not found at {EVAL.parent}")
    with EVAL.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [[s.text for s in segment(row["text"])] for row in rows]


def stock_lsa_ranks(summarizer: LsaSummarizer, doc: Any) -> list[float]:
    """sumy's own LSA ranks, through its SVD."""
    dictionary = summarizer._create_dictionary(doc)
    matrix = summarizer._compute_term_frequency(summarizer._create_matrix(doc, dictionary))
    _u, sigma, v = np.linalg.svd(matrix, full_matrices=False)
    return [float(r) for r in summarizer._compute_ranks(sigma, v)]


def assert_lsa_equivalent(doc: Any, count: int) -> None:
    """The fast pick is a top-`count` of stock's ranks, up to rounding-level ties.

    Stock LSA numbers terms in frozenset order, so its SVD rounding, and with it the
    order of exactly tied sentences, changes with PYTHONHASHSEED: a tie may go either way.
    """
    stock = build(LsaSummarizer)
    fast = build(FastLsaSummarizer)
    if not stock._create_dictionary(doc):
        assert fast(doc, count) == stock(doc, count) == ()
        return
    ranks = stock_lsa_ranks(stock, doc)
    assert np.allclose(ranks, fast.sentence_ratings(doc), rtol=1e-9, atol=1e-12)

    picked = {id(s) for s in fast(doc, count)}
    assert len(picked) == min(count, len(doc.sentences))
    inside = [r for s, r in zip(doc.sentences, ranks, strict=True) if id(s) in picked]
    outside = [r for s, r in zip(doc.sentences, ranks, strict=True) if id(s) not in picked]
    if outside:
        tolerance = 1e-9 * max(ranks)
        assert min(inside) >= max(outside) - tolerance
        if min(inside) - max(outside) > tolerance:
            # No tie at the cut: stock's own selection step over its ranks agrees.
            rated = iter(ranks)
            stock_pick = stock._get_best_sentences(doc.sentences, count, lambda s: next(rated))
            assert picked == {id(s) for s in stock_pick}


@pytest.mark.parametrize("count", [1, 3, 5])
@pytest.mark.parametrize("stemmer", [lemma, Stemmer("russian")], ids=["lemma", "snowball"])
def test_every_fast_class_matches_stock_on_the_seed(
    count: int, stemmer: Callable[[str], str]
) -> None:
    doc = document(seed_sentences())
    pairs = [
        *GRAPH_PAIRS,
        (LuhnSummarizer, FastLuhnSummarizer),
        (KLSummarizer, FastKLSummarizer),
        (SumBasicSummarizer, FastSumBasicSummarizer),
    ]
    for stock_class, fast_class in pairs:
        stock = texts(build(stock_class, stemmer)(doc, count))
        assert texts(build(fast_class, stemmer)(doc, count)) == stock, fast_class.__name__
        assert len(stock) == count
    assert_lsa_equivalent(doc, count)


def test_graph_methods_match_stock_on_every_paper() -> None:
    checked = 0
    for sentences in papers():
        doc = document(sentences[:TRUNCATED])
        for stock_class, fast_class in GRAPH_PAIRS:
            stock = texts(build(stock_class)(doc, 3))
            assert texts(build(fast_class)(doc, 3)) == stock, fast_class.__name__
        assert_lsa_equivalent(doc, 3)
        checked += 1
    assert checked == 100


def test_graph_methods_match_stock_on_whole_papers() -> None:
    whole = [s for s in papers() if len(s) in WHOLE_PAPER_SIZES][:2]
    assert len(whole) == 2
    for sentences, count in zip(whole, (3, "5%"), strict=True):
        doc = document(sentences)
        for stock_class, fast_class in GRAPH_PAIRS:
            stock = texts(build(stock_class)(doc, count))
            assert texts(build(fast_class)(doc, count)) == stock, fast_class.__name__
        assert_lsa_equivalent(doc, 3)


def test_greedy_and_luhn_match_stock_on_paper_openings() -> None:
    # Stock KL grows with the cube of the length: 25 sentences of every fifth paper.
    for sentences in papers()[::5]:
        doc = document(sentences[:25])
        for stock_class, fast_class in [
            (KLSummarizer, FastKLSummarizer),
            (SumBasicSummarizer, FastSumBasicSummarizer),
            (LuhnSummarizer, FastLuhnSummarizer),
        ]:
            stock = texts(build(stock_class)(doc, 3))
            assert texts(build(fast_class)(doc, 3)) == stock, fast_class.__name__


def test_greedy_methods_match_stock_with_repeated_sentences() -> None:
    # sumy rates by Sentence, so copies share one rating that later picks rewrite;
    # the early stop must still give stock's answer.
    base = seed_sentences()[3:15]
    repeated = [*base[:4], base[1], *base[4:8], base[1], base[5], *base[8:], base[0]]
    for count in range(1, 8):
        doc = document(repeated)
        for stock_class, fast_class in [
            (KLSummarizer, FastKLSummarizer),
            (SumBasicSummarizer, FastSumBasicSummarizer),
        ]:
            stock = texts(build(stock_class)(doc, count))
            assert texts(build(fast_class)(doc, count)) == stock, (fast_class.__name__, count)


# Stock LexRank divides by a zero norm when no term has a positive idf, and stock LSA
# warns about documents with fewer terms than sentences: both are stock behaviour.
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Number of words:UserWarning")
@pytest.mark.parametrize(
    "sentences",
    [
        ["Один.", "Два.", "Три."],
        ["и в на", "но а", "Кошка спит.", "и в на"],
        ["Слово.", "Слово.", "Слово.", "Другое слово здесь."],
        ["Первое предложение текста."],
    ],
    ids=["one-word", "stop-words", "duplicates", "single"],
)
def test_degenerate_documents_match_stock(
    sentences: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small documents go to sumy's own code; here the vectorised path is forced.
    for fast_class in (FastLexRankSummarizer, FastTextRankSummarizer, FastLsaSummarizer):
        monkeypatch.setattr(fast_class, "stock_below", 0)
    doc = document(sentences)
    for stock_class, fast_class in [*GRAPH_PAIRS, (LuhnSummarizer, FastLuhnSummarizer)]:
        stock = texts(build(stock_class)(doc, 2))
        assert texts(build(fast_class)(doc, 2)) == stock, fast_class.__name__
    assert_lsa_equivalent(doc, 2)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Number of words:UserWarning")
@pytest.mark.parametrize("size", [1, 2, 5, 11])
def test_small_documents_use_stock_code_and_agree(size: int) -> None:
    doc = document(seed_sentences()[3 : 3 + size])
    for stock_class, fast_class in [
        *GRAPH_PAIRS,
        (LsaSummarizer, FastLsaSummarizer),
        (KLSummarizer, FastKLSummarizer),
        (SumBasicSummarizer, FastSumBasicSummarizer),
    ]:
        for count in (1, 3, size):
            stock = texts(build(stock_class)(doc, count))
            assert texts(build(fast_class)(doc, count)) == stock, fast_class.__name__


def test_fast_lsa_ranks_are_column_norms_of_stocks_matrix() -> None:
    doc = document(seed_sentences())
    stock = build(LsaSummarizer)
    dictionary = stock._create_dictionary(doc)
    matrix = stock._compute_term_frequency(stock._create_matrix(doc, dictionary))
    norms = [math.sqrt(float(x)) for x in (matrix**2).sum(axis=0)]
    assert np.allclose(build(FastLsaSummarizer).sentence_ratings(doc), norms, rtol=1e-12)


def test_fast_lsa_falls_back_to_the_svd_when_dimensions_are_reduced() -> None:
    class Reduced(FastLsaSummarizer):
        REDUCTION_RATIO = 0.5

    class StockReduced(LsaSummarizer):
        REDUCTION_RATIO = 0.5

    doc = document(seed_sentences())
    # sumy reads the ratio from LsaSummarizer itself in _compute_ranks; mirror that.
    original = LsaSummarizer.REDUCTION_RATIO
    LsaSummarizer.REDUCTION_RATIO = 0.5
    try:
        ranks = stock_lsa_ranks(build(StockReduced), doc)
        fast_ranks = build(Reduced).sentence_ratings(doc)
    finally:
        LsaSummarizer.REDUCTION_RATIO = original
    assert np.allclose(ranks, fast_ranks, rtol=1e-9)
