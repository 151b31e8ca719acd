"""Summary speed: bot.nlp.fast against stock sumy, per algorithm, in the same run.

    python benchmarks/summary_speed.py            # seed, 20, 50, 200, 1000 sentences; 5 runs
    python benchmarks/summary_speed.py --quick    # seed, 20, 50, 200; 3 runs

Both sides get the same sumy document (our razdel tokenizer), the same cached
pymorphy3 lemmatizer and the same stop words; a warm-up run fills the caches first,
so the figures are the algorithms' own time. The synthetic texts are the first
sentences of ../shared/eval/ru_sci_abstracts_100.jsonl, in order. Each figure is the
median of the runs with the lowest and highest (the speed-up: of each run's ratio, the
two sides run in turns), in milliseconds of this process's CPU time (time.process_time):
other work on a shared machine disturbs it less than wall time, and numpy's BLAS
threads, if any, count against the fast side. `summarize` is the bot's whole path
(sentence splitting, filtering, rating, selection) with the default algorithm.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import DEFAULT_EVAL_DIR, SEED, Spread, load_sci
from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.summarizers.edmundson import EdmundsonSummarizer
from sumy.summarizers.kl import KLSummarizer
from sumy.summarizers.lex_rank import LexRankSummarizer
from sumy.summarizers.lsa import LsaSummarizer
from sumy.summarizers.luhn import LuhnSummarizer
from sumy.summarizers.sum_basic import SumBasicSummarizer
from sumy.summarizers.text_rank import TextRankSummarizer

from bot.nlp import fast
from bot.nlp.lemmas import lemma, stop_words
from bot.nlp.summarizer import BONUS_WORDS, STIGMA_WORDS, summarize
from bot.nlp.tokenizer import RazdelTokenizer, segment

PAIRS: dict[str, tuple[type, type]] = {
    "lexrank": (LexRankSummarizer, fast.FastLexRankSummarizer),
    "textrank": (TextRankSummarizer, fast.FastTextRankSummarizer),
    "lsa": (LsaSummarizer, fast.FastLsaSummarizer),
    "luhn": (LuhnSummarizer, fast.FastLuhnSummarizer),
    "kl": (KLSummarizer, fast.FastKLSummarizer),
    "sumbasic": (SumBasicSummarizer, fast.FastSumBasicSummarizer),
    # Edmundson is linear already: bot.nlp.fast only exposes its ratings, unchanged.
    "edmundson": (EdmundsonSummarizer, fast.RatedEdmundsonSummarizer),
}
# Stock KL grows with the cube of the sentence count (7.8 s for a 190-sentence paper):
# above this size it is not run, and the row says so.
STOCK_KL_LIMIT = 200


def _build(summarizer_class: type) -> Any:
    summarizer = summarizer_class(lemma)
    if issubclass(summarizer_class, EdmundsonSummarizer):
        summarizer.bonus_words = BONUS_WORDS
        summarizer.stigma_words = STIGMA_WORDS
        summarizer.null_words = stop_words()
    else:
        summarizer.stop_words = stop_words()
    return summarizer


def _document(sentences: list[str]) -> Any:
    tokenizer = RazdelTokenizer(letters_only=True)
    paragraphs = [
        Paragraph([Sentence(s, tokenizer) for s in sentences[i : i + 5]])
        for i in range(0, len(sentences), 5)
    ]
    return ObjectDocumentModel(paragraphs)


def _ms(run: Callable[[], object]) -> float:
    started = time.process_time()
    run()
    return 1000 * (time.process_time() - started)


def _pair_runs(
    stock: Callable[[], object] | None, fast: Callable[[], object], repeats: int
) -> tuple[list[float], list[float]]:
    """Times of the two sides, run in turns so that both see the same machine."""
    stock_ms: list[float] = []
    fast_ms: list[float] = []
    for _ in range(repeats):
        fast_ms.append(_ms(fast))
        if stock is not None:
            stock_ms.append(_ms(stock))
            # Seconds-long stock runs vary little; more than two only make the run longer.
            if len(stock_ms) >= 2 and min(stock_ms) > 2000:
                stock = None
    return stock_ms, fast_ms


def inputs(eval_dir: Path, sizes: list[int]) -> list[tuple[str, list[str]]]:
    seed = [s.text for s in segment(SEED.read_text(encoding="utf-8")) if not s.heading]
    pool: list[str] = []
    for pair in load_sci(eval_dir):
        pool.extend(s.text for s in segment(pair.text) if not s.heading)
        if len(pool) >= max(sizes):
            break
    return [("seed", seed)] + [(f"{n} sentences", pool[:n]) for n in sizes]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--quick", action="store_true", help="no 1000-sentence text, one repeat")
    parser.add_argument("--sentences", type=int, default=3, help="summary length")
    args = parser.parse_args()
    sizes = [20, 50, 200] if args.quick else [20, 50, 200, 1000]
    repeats = 3 if args.quick else 5

    print(
        f"summary of {args.sentences} sentences; median (min–max) of {repeats} runs;"
        " milliseconds of CPU time"
    )
    print("| text | algorithm | stock sumy | bot.nlp.fast | speed-up, x | same selection |")
    print("|---|---|---|---|---|---|")
    for label, sentences in inputs(args.eval_dir, sizes):
        document = _document(sentences)
        for name, (stock_class, fast_class) in PAIRS.items():
            stock, quick = _build(stock_class), _build(fast_class)
            picked = [str(s) for s in quick(document, args.sentences)]  # warm-up: caches
            skip_stock = name == "kl" and len(sentences) > STOCK_KL_LIMIT
            stock_runs, fast_runs = _pair_runs(
                None if skip_stock else lambda s=stock, d=document: s(d, args.sentences),
                lambda q=quick, d=document: q(d, args.sentences),
                repeats,
            )
            fast_ms = Spread.of(fast_runs).format(".1f")
            if not stock_runs:
                print(f"| {label} | {name} | not run | {fast_ms} | — | — |", flush=True)
                continue
            speed_up = Spread.of(
                [s / f for s, f in zip(stock_runs, fast_runs[: len(stock_runs)], strict=True)]
            )
            same = [str(s) for s in stock(document, args.sentences)] == picked
            same_text = "yes" if same else "NO"
            if name == "lsa" and not same:
                # Stock LSA breaks exact ties by SVD rounding noise, which changes with
                # the hash seed; tests/test_fast_equivalence.py checks ties properly.
                same_text = "tie"
            print(
                f"| {label} | {name} | {Spread.of(stock_runs).format('.1f')} | {fast_ms} "
                f"| {speed_up.format('.1f')} | {same_text} |",
                flush=True,
            )
        text = "\n\n".join(" ".join(sentences[i : i + 5]) for i in range(0, len(sentences), 5))
        summarize(text, sentences=args.sentences)
        _, whole_runs = _pair_runs(
            None, lambda t=text: summarize(t, sentences=args.sentences), repeats
        )
        whole_ms = Spread.of(whole_runs).format(".1f")
        print(f"| {label} | summarize() | | {whole_ms} | | |", flush=True)


if __name__ == "__main__":
    main()
