"""Summary quality: ROUGE of every algorithm and stemmer against Lead and stock sumy.

    python benchmarks/quality.py            # all 100 papers and 20 news stories
    python benchmarks/quality.py --quick    # 15 papers, the same 20 stories

Protocol of ../shared/eval/README.md: razdel tokens, lowercase, the `rouge` package's
mean F1. Papers get 3-sentence summaries scored against the authors' abstracts; RIA
news stories get 1-sentence summaries scored against their headlines.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

from _common import DEFAULT_EVAL_DIR, Pair, lead, load_ria, load_sci, rouge_scores, stock_summary

from bot.nlp.summarizer import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    DEFAULT_STEMMER,
    DEFAULT_TUNING,
    STEMMERS,
    Tuning,
    summarize,
)
from bot.nlp.tokenizer import segment

Method = Callable[[Pair, int], list[str]]

# What each step of the pipeline brings: the default with one step switched off.
ABLATIONS: dict[str, Tuning] = {
    "no boilerplate filter": dataclasses.replace(DEFAULT_TUNING, filter_boilerplate=False),
    "no position prior": dataclasses.replace(DEFAULT_TUNING, position_weight=0.0),
    "no closing prior": dataclasses.replace(DEFAULT_TUNING, closing_weight=0.0),
    "no length preference": dataclasses.replace(DEFAULT_TUNING, length_weight=0.0),
    "no redundancy control": dataclasses.replace(
        DEFAULT_TUNING, redundancy=0.0, max_similarity=1.0
    ),
    "no title bonus": dataclasses.replace(DEFAULT_TUNING, title_weight=0.0),
    "none of the above": Tuning(
        filter_boilerplate=False,
        position_weight=0.0,
        length_weight=0.0,
        redundancy=0.0,
        max_similarity=1.0,
        title_weight=0.0,
    ),
}


def ours(algorithm: str, stemmer: str, tuning: Tuning = DEFAULT_TUNING) -> Method:
    def method(pair: Pair, sentences: int) -> list[str]:
        return list(
            summarize(
                pair.text, algorithm=algorithm, sentences=sentences, stemmer=stemmer, tuning=tuning
            )
        )

    return method


def stock_lexrank(pair: Pair, sentences: int) -> list[str]:
    from sumy.summarizers.lex_rank import LexRankSummarizer

    return stock_summary(pair.text, LexRankSummarizer, sentences)


def stock_lead(pair: Pair, sentences: int) -> list[str]:
    return lead(pair.text, sentences)


def our_lead(pair: Pair, sentences: int) -> list[str]:
    return [s.text for s in segment(pair.text) if not s.heading][:sentences]


def evaluate(method: Method, pairs: list[Pair], sentences: int) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    hypotheses = [" ".join(method(pair, sentences)) for pair in pairs]
    elapsed = (time.perf_counter() - started) / max(1, len(pairs))
    return rouge_scores(hypotheses, [p.reference for p in pairs]), 1000 * elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--quick", action="store_true", help="15 papers instead of 100")
    parser.add_argument("--no-ablations", action="store_true")
    args = parser.parse_args()

    papers = load_sci(args.eval_dir, 15 if args.quick else None)
    news = load_ria(args.eval_dir)
    # Load pymorphy3's dictionaries before anything is timed.
    summarize(papers[0].text)

    rows: list[tuple[str, Method]] = [
        ("Lead (razdel sentences)", stock_lead),
        ("Lead (our sentences, no dateline)", our_lead),
        ("stock LexRank (Snowball, stop words)", stock_lexrank),
    ]
    for algorithm in ALGORITHMS:
        for stemmer in STEMMERS:
            mark = " *" if (algorithm, stemmer) == (DEFAULT_ALGORITHM, DEFAULT_STEMMER) else ""
            rows.append((f"{algorithm} + {stemmer}{mark}", ours(algorithm, stemmer)))
    if not args.no_ablations:
        for name, tuning in ABLATIONS.items():
            rows.append((f"default, {name}", ours(DEFAULT_ALGORITHM, DEFAULT_STEMMER, tuning)))

    print(
        f"papers: {len(papers)} (3 sentences vs abstract); news: {len(news)} (1 sentence vs title)"
    )
    header = f"| {'method':<44} | R-1 | R-2 | R-L | ms/article | news R-1 | R-2 | R-L |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, method in rows:
        paper_scores, ms = evaluate(method, papers, 3)
        news_scores, _ = evaluate(method, news, 1)
        print(
            f"| {name:<44} | {paper_scores['1']:.1f} | {paper_scores['2']:.1f} "
            f"| {paper_scores['l']:.1f} | {ms:10.0f} | {news_scores['1']:8.1f} "
            f"| {news_scores['2']:.1f} | {news_scores['l']:.1f} |",
            flush=True,
        )
    print("* the default of bot.nlp.summarizer.summarize")


if __name__ == "__main__":
    main()
