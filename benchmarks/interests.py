"""Matching many chats' interests against one new story, and a digest round with them.

    match   which of N chats follow something in one new item (title and lead) and
            exclude nothing in it: bot.nlp.interests.InterestIndex (interests indexed by
            normal form) against the naive way, every chat's interests tested in turn
            (bot.nlp.interests.match_each); both must give the same chats
    round   a digest round: every chat's digest arranged from the day's candidates
            (bot.nlp.interests.arrange: followed first, excluded dropped) against the
            same round without interests (the first DIGEST_SHOWN items)

The items are the articles of the silver story day in ../shared/eval/stories (not a
held-out set); chats follow 2-5 words of those titles, drawn by how often the words
occur, some a two-word phrase and some an exclusion. Without the data the seed article
stands in. Timings exclude building the index and each item's terms, done once per item
for all chats.

    python benchmarks/interests.py           # 10,000 chats, 200 items, 3 runs
    python benchmarks/interests.py --quick   # 2,000 chats, 30 items, 2 runs

A run matches every item once each way (the index's time per item the best of three
tries), or arranges one whole round; figures are the median of the runs, with the
lowest and highest, the ratios those of each run's two sides.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import statistics
import time
from collections import Counter
from pathlib import Path

from _common import DEFAULT_EVAL_DIR, SEED, Spread

from bot.digest import DIGEST_CANDIDATES
from bot.nlp.interests import (
    Candidate,
    Follows,
    InterestIndex,
    ItemTerms,
    arrange,
    item_terms,
    match_each,
    parse_interests,
)
from bot.nlp.lemmas import stop_words, words

DIGEST_SHOWN = 7  # DIGEST_STORIES by default
SILVER = "stories/silver_tgcontest_ru_20200502_03_articles.jsonl"


def load_items(eval_dir: Path, limit: int) -> list[tuple[str, str]]:
    path = eval_dir / SILVER
    if not path.exists():
        print(f"no {path}: the seed article stands in for the day's news")
        title, _, text = SEED.read_text(encoding="utf-8").partition("\n")
        return [(title, text)] * limit
    items = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            items.append((row["title"], row["text"]))
    random.Random(1).shuffle(items)
    return items[:limit]


def make_chats(titles: list[str], n: int, rng: random.Random) -> dict[int, Follows]:
    counts: Counter[str] = Counter()
    pairs: list[str] = []
    for title in titles:
        found = [w for w in words(title) if w.isalpha() and w.lower() not in stop_words()]
        counts.update(found)
        pairs += [f'"{a} {b}"' for a, b in itertools.pairwise(found)]
    vocabulary = [w for w, _ in counts.most_common(3000)]
    weights = [counts[w] for w in vocabulary]
    chats = {}
    for chat_id in range(n):
        picked = rng.choices(vocabulary, weights, k=rng.randint(3, 6))
        args = " ".join(picked[:-1])
        if rng.random() < 0.3:
            args += f" -{picked[-1]}"
        if pairs and rng.random() < 0.2:
            args += " " + rng.choice(pairs)
        chats[chat_id] = Follows(tuple(parse_interests(args)))
    return chats


def timed(work: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def bench_match(chats: dict[int, Follows], items: list[ItemTerms], runs: int) -> None:
    start = time.perf_counter()
    index = InterestIndex({c: f.interests for c, f in chats.items()})
    built = time.perf_counter() - start
    found = []
    for item in items:
        expected = match_each(chats, item)
        got = index.match(item)
        assert got == expected, "the index and the per-chat loop disagree"
        found.append(len(got))
    medians_fast, p95s, medians_naive = [], [], []
    for _ in range(runs):
        fast = [timed(lambda item=item: index.match(item)) for item in items]
        naive = [timed(lambda item=item: match_each(chats, item), repeat=1) for item in items]
        medians_fast.append(statistics.median(fast) * 1000)
        p95s.append(sorted(fast)[int(0.95 * (len(fast) - 1))] * 1000)
        medians_naive.append(statistics.median(naive) * 1000)
    ratios = [n / f for n, f in zip(medians_naive, medians_fast, strict=True)]
    print(f"match: {len(chats):,} chats, {len(items)} items, {statistics.mean(found):.0f} chats")
    print(f"  matched per item on average; index built in {built * 1000:.0f} ms; {runs} runs")
    print(
        f"  index       median {Spread.of(medians_fast).format('.3f')} ms"
        f"  p95 {Spread.of(p95s).format('.3f')} ms"
    )
    print(f"  per chat    median {Spread.of(medians_naive).format('.3f')} ms")
    print(f"  ratio       {Spread.of(ratios).format('.1f')}x")


def bench_round(chats: dict[int, Follows], items: list[ItemTerms], runs: int) -> None:
    candidates = [Candidate(i, terms) for i, terms in enumerate(items[:DIGEST_CANDIDATES])]

    def with_interests() -> None:
        for follows in chats.values():
            arrange(candidates, follows, mode="first")[:DIGEST_SHOWN]

    def without() -> None:
        for _ in chats:
            [c.value for c in candidates[:DIGEST_SHOWN]]

    filtered, plain = [], []
    for _ in range(runs):
        filtered.append(timed(with_interests, repeat=1) * 1000)
        plain.append(timed(without, repeat=1) * 1000)
    print(f"round: {len(chats):,} chats, {len(candidates)} candidate items each; {runs} runs")
    each = Spread.of([f / len(chats) * 1000 for f in filtered])
    print(
        f"  with interests    {Spread.of(filtered).format('.1f')} ms"
        f" ({each.format('.0f')} µs a chat)"
    )
    print(f"  without           {Spread.of(plain).format('.1f')} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, help="default 3; --quick 2")
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = parser.parse_args()
    n_chats, n_items = (2_000, 30) if args.quick else (10_000, DIGEST_CANDIDATES)
    raw = load_items(args.eval_dir, max(n_items, 500))
    chats = make_chats([title for title, _ in raw], n_chats, random.Random(2))
    start = time.perf_counter()
    items = [item_terms(title, text) for title, text in raw[:n_items]]
    print(f"terms of {len(items)} items in {(time.perf_counter() - start) * 1000:.0f} ms")
    runs = args.runs or (2 if args.quick else 3)
    bench_match(chats, items, runs)
    bench_round(chats, items, runs)


if __name__ == "__main__":
    main()
