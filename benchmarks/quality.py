"""Summary quality on news and on long texts, side by side: ROUGE of every algorithm and
stemmer against Lead and stock sumy, in one run.

    python benchmarks/quality.py            # 100 papers, 100 news, 1000 silver-day news
    python benchmarks/quality.py --quick    # 15 papers, 100 news, 200 silver-day news

Protocol of ../shared/eval/README.md: razdel tokens, lowercase, the `rouge` package's
mean F1. Papers (`ru_sci_abstracts_100.jsonl`) get 3-sentence summaries scored against
their authors' abstracts; news stories get 1-sentence summaries scored against their
editors' headline or description (benchmarks/_news.py says which and how they were
chosen). The Lead rows are the first 3 sentences on papers and the first one on news.

The weights were tuned on papers 1-50 and on the silver day (the "tuning" columns); the
papers and news columns are papers 51-100 and the news set, which no setting was chosen
on.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import _news
from _common import DEFAULT_EVAL_DIR, Pair, lead, load_sci, rouge_scores, stock_summary

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

PAPER_SENTENCES = 3
NEWS_SENTENCES = 1
TUNING_PAPERS = 50  # papers 1-50 tuned the weights; 51-100 are reported

# What each step of the pipeline brings: the default with one step switched off.
ABLATIONS: dict[str, Tuning] = {
    "no boilerplate filter": dataclasses.replace(DEFAULT_TUNING, filter_boilerplate=False),
    "no position prior": dataclasses.replace(
        DEFAULT_TUNING, position_weight=0.0, news_position_weight=0.0
    ),
    "no news-length prior (the papers' weight)": dataclasses.replace(
        DEFAULT_TUNING, news_position_weight=DEFAULT_TUNING.position_weight
    ),
    "no closing prior": dataclasses.replace(DEFAULT_TUNING, closing_weight=0.0),
    "no length preference": dataclasses.replace(DEFAULT_TUNING, length_weight=0.0),
    "no redundancy control": dataclasses.replace(
        DEFAULT_TUNING, redundancy=0.0, max_similarity=1.0
    ),
    "no title bonus": dataclasses.replace(DEFAULT_TUNING, title_weight=0.0),
    "none of the above": Tuning(
        filter_boilerplate=False,
        position_weight=0.0,
        news_position_weight=0.0,
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


def stock(name: str) -> Method:
    def method(pair: Pair, sentences: int) -> list[str]:
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.luhn import LuhnSummarizer

        classes = {"LexRank": LexRankSummarizer, "Luhn": LuhnSummarizer}
        return stock_summary(pair.text, classes[name], sentences)

    return method


def stock_lead(pair: Pair, sentences: int) -> list[str]:
    return lead(pair.text, sentences)


def our_lead(pair: Pair, sentences: int) -> list[str]:
    return [s.text for s in segment(pair.text) if not s.heading][:sentences]


def evaluate(method: Method, pairs: list[Pair], sentences: int) -> tuple[dict[str, float], float]:
    started = time.perf_counter()
    hypotheses = [" ".join(method(pair, sentences)) for pair in pairs]
    elapsed = (time.perf_counter() - started) / max(1, len(pairs))
    return rouge_scores(hypotheses, [p.reference for p in pairs]), 1000 * elapsed


def triple(scores: dict[str, float]) -> str:
    return f"{scores['1']:.1f} / {scores['2']:.1f} / {scores['l']:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--quick", action="store_true", help="15 papers, 200 silver-day news")
    parser.add_argument("--no-ablations", action="store_true")
    args = parser.parse_args()

    papers = load_sci(args.eval_dir)
    if args.quick:
        tuning_papers, report_papers = papers[:5], papers[TUNING_PAPERS : TUNING_PAPERS + 10]
    else:
        tuning_papers, report_papers = papers[:TUNING_PAPERS], papers[TUNING_PAPERS:]
    parts = _news.report_parts(args.eval_dir)
    news = [pair for part in parts for pair in part.pairs]
    silver_all = _news.silver(args.eval_dir)
    wanted = 200 if args.quick else 1000
    # Every k-th article: the day's outlets and topics in proportion, the same each run.
    silver = silver_all[:: max(1, len(silver_all) // wanted)][:wanted]
    # Load pymorphy3's dictionaries and the summarizer stack before anything is timed.
    summarize(papers[0].text)

    first = TUNING_PAPERS + 1
    print(
        f"papers, reported: {len(report_papers)} from number {first}; tuning: the first "
        f"{len(tuning_papers)} ({PAPER_SENTENCES} sentences vs the authors' abstract)"
    )
    print(f"news, reported ({NEWS_SENTENCES} sentence vs the editors' words): {len(news)} pairs")
    for part in parts:
        print(f"  {part.name}: {len(part.pairs)} ({part.note})")
    print(f"news, tuning: the silver day, {len(silver)} of {len(silver_all)} (headline)")

    rows: list[tuple[str, Method]] = [
        ("Lead-3 / Lead-1 (razdel sentences)", stock_lead),
        ("Lead-3 / Lead-1 (our sentences, no dateline)", our_lead),
        ("stock LexRank (razdel, Snowball, stop words)", stock("LexRank")),
        ("stock Luhn (razdel, Snowball, stop words)", stock("Luhn")),
    ]
    for algorithm in ALGORITHMS:
        for stemmer in STEMMERS:
            mark = " *" if (algorithm, stemmer) == (DEFAULT_ALGORITHM, DEFAULT_STEMMER) else ""
            rows.append((f"{algorithm} + {stemmer}{mark}", ours(algorithm, stemmer)))
    if not args.no_ablations:
        for name, tuning in ABLATIONS.items():
            rows.append((f"default, {name}", ours(DEFAULT_ALGORITHM, DEFAULT_STEMMER, tuning)))

    header = (
        f"| {'method':<48} | papers R-1 / R-2 / R-L | news R-1 / R-2 / R-L "
        "| tuning papers R-1 | tuning news R-1 | ms/paper |"
    )
    print()
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")
    by_part: dict[str, list[str]] = {}
    for name, method in rows:
        paper_scores, ms = evaluate(method, report_papers, PAPER_SENTENCES)
        news_scores, _ = evaluate(method, news, NEWS_SENTENCES)
        tuned_papers, _ = evaluate(method, tuning_papers, PAPER_SENTENCES)
        silver_scores, _ = evaluate(method, silver, NEWS_SENTENCES)
        print(
            f"| {name:<48} | {triple(paper_scores):>22} | {triple(news_scores):>20} "
            f"| {tuned_papers['1']:17.1f} | {silver_scores['1']:15.1f} | {ms:8.0f} |",
            flush=True,
        )
        if name.startswith(("Lead-3 / Lead-1 (our", "stock LexRank")) or name.endswith("*"):
            by_part[name] = [
                triple(evaluate(method, part.pairs, NEWS_SENTENCES)[0]) for part in parts
            ]
    print("* the default of bot.nlp.summarizer.summarize")
    print()
    print("| news, by part | " + " | ".join(f"{p.name} ({len(p.pairs)})" for p in parts) + " |")
    print("|---|" + "---|" * len(parts))
    for name, cells in by_part.items():
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
