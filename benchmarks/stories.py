"""Stories: the same-story decision, the silver day's clusters, ranking and the cost.

    python benchmarks/stories.py            # everything; 100,000 articles for the cost
    python benchmarks/stories.py --quick    # the same figures; 23,000 articles for the cost
    python benchmarks/stories.py --natasha  # also: entities from natasha's NER (if installed)

Timings (features, assignment, ingest) are the median and range of 3 runs (--quick: 2);
the scores are the same in every run.

Data: ../shared/eval/stories/ (see its README). What each figure is:

pairs     F1 on positive pairs, the Dialogue 2021 measure. The hard title pairs and
          the silver day are where the weights and the threshold were chosen; the
          gold pairs are the held-out test and were never used to choose anything.
          Each pair is decided by `bot.nlp.stories.cluster.same_story`: the clusterer's
          own score, one article against a story of the other.
silver    the day's 4,608 articles assigned one at a time, in time order, frequencies
          counted as they come (as when they are stored), against the silver threads:
          pairwise precision, recall and F1, over all pairs and over pairs of different
          outlets (the silver system never put two articles of one outlet together).
ranking   our weights of our stories against the silver threads' `importance`: overlap
          of the top 10 and 20 and Spearman's rank correlation; also our weight formula
          applied to the silver threads themselves.
cost      one article's assignment with N articles already clustered: the silver day
          repeated, each copy three days after the last, so N grows while the stories
          open at any moment stay those of about one day. Against the first copy's.
ingest    storing the day through ArticleRepo.add (lemmas, FTS5, duplicate checks) into a
          fresh SQLite file, against the same plus features and assignment per article.
briefing  ranking the day's stories and writing headline and summary of the top 7.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import DEFAULT_EVAL_DIR, Spread
from bot.nlp.stories.cluster import DEFAULT_TUNING, Clusterer, Story, pair_score
from bot.nlp.stories.features import DocumentFrequencies, Features, extract
from bot.nlp.stories.rank import weight
from bot.nlp.stories.text import headline, summary

STORIES = "stories"
SILVER = "silver_tgcontest_ru_20200502_03_articles.jsonl"
THREADS = "silver_tgcontest_ru_20200502_03_threads.jsonl"
GOLD = "gold_pairs.jsonl"
GOLD_ARTICLES = "gold_pairs_articles.jsonl"
TITLE_PAIRS = "gold_titlepairs_0517_hard.jsonl"
# Undated gold articles (most of them) get one shared time: the pair has no time to go by.
UNDATED = datetime(2020, 5, 25, tzinfo=UTC)
# The silver day's end: "now" for its ranking.
DAY_END = datetime(2020, 5, 4, 0, 0, tzinfo=UTC)
ANCHORS = (
    "anchors (Dialogue 2021, another day): TF-IDF+SVD 0.831, multilingual USE 0.893, "
    "tuned embeddings 0.932, best supervised BERT 0.960"
)

Extractor = Callable[[dict[str, object]], Features]


@dataclass(frozen=True, slots=True)
class Item:
    """An article of the evaluation data, shaped as the story text functions expect."""

    title: str
    text: str
    source: str
    date: datetime


def rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def when(value: object) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def plain(row: dict[str, object]) -> Features:
    return extract(
        str(row["title"]),
        str(row["text"]),
        time=when(row.get("date")) or UNDATED,
        source=str(row.get("source") or ""),
    )


def f1(decisions: Sequence[bool], labels: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(d and y for d, y in zip(decisions, labels, strict=True))
    predicted, actual = sum(decisions), sum(labels)
    p = tp / predicted if predicted else 0.0
    r = tp / actual if actual else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a same-story pair scores above a different-story one."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


# --- pairs -------------------------------------------------------------------------------


def gold_pairs(
    folder: Path, extractor: Extractor, seen: Sequence[Features]
) -> tuple[float, float, float]:
    articles = {str(r["id"]): r for r in rows(folder / GOLD_ARTICLES)}
    features = {key: extractor(row) for key, row in articles.items()}
    # Frequencies from what a store would have seen: the silver day and these articles.
    df = DocumentFrequencies()
    df.update(seen)
    df.update(features.values())
    decisions, labels = [], []
    for pair in rows(folder / GOLD):
        a, b = features[str(pair["id1"])], features[str(pair["id2"])]
        if not (articles[str(pair["id1"])]["date"] and articles[str(pair["id2"])]["date"]):
            a, b = dataclasses.replace(a, time=UNDATED), dataclasses.replace(b, time=UNDATED)
        decisions.append(pair_score(a, b, df) >= DEFAULT_TUNING.threshold)
        labels.append(bool(pair["same_story"]))
    return f1(decisions, labels)


def title_pairs(
    folder: Path, extractor: Extractor, seen: Sequence[Features]
) -> tuple[tuple[float, float, float], float]:
    pairs = rows(folder / TITLE_PAIRS)
    moment = "2020-05-17 12:00"
    features = [
        (
            extractor({"title": str(p["title1"]), "text": "", "date": moment}),
            extractor({"title": str(p["title2"]), "text": "", "date": moment}),
        )
        for p in pairs
    ]
    df = DocumentFrequencies()
    df.update(seen)
    for a, b in features:
        df.update((a, b))
    scores = [pair_score(a, b, df) for a, b in features]
    labels = [bool(p["same_story"]) for p in pairs]
    decisions = [s >= DEFAULT_TUNING.threshold for s in scores]
    return f1(decisions, labels), auc(scores, labels)


# --- the silver day ----------------------------------------------------------------------


def pair_count(groups: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in groups.values())


def pairwise(
    predicted: Sequence[object], gold: Sequence[object], outlets: Sequence[str] | None = None
) -> tuple[float, float, float]:
    """Pairwise P/R/F1 of a clustering; with `outlets`, over pairs of different outlets."""

    def count(*keys: Sequence[object]) -> int:
        total = pair_count(Counter(zip(*keys, strict=True)))
        if outlets is not None:
            total -= pair_count(Counter(zip(*keys, outlets, strict=True)))
        return total

    tp = count(predicted, gold)
    p = tp / count(predicted)
    r = tp / count(gold)
    return p, r, 2 * p * r / (p + r)


def cluster_day(features: Sequence[Features]) -> tuple[list[int], dict[int, Story], float]:
    """Assigns the day's articles one at a time, in time order, frequencies as they come.
    Returns each article's story, the stories, and the mean ms per article."""
    clusterer = Clusterer()
    keys = [0] * len(features)
    stories: dict[int, Story] = {}
    started = time.perf_counter()
    for index in sorted(range(len(features)), key=lambda i: features[i].time):
        keys[index] = clusterer.add(index, features[index])
        for story in clusterer.closed:
            stories[story.key] = story
        clusterer.closed.clear()
    elapsed = time.perf_counter() - started
    stories.update(clusterer.stories)
    return keys, stories, elapsed / len(features) * 1000


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def story_weight(story: Story, features: Sequence[Features]) -> float:
    members = [features[m] for m in story.members]
    return weight([f.source for f in members], [f.time for f in members], DAY_END)


def ranking(
    silver: Sequence[dict[str, object]],
    features: Sequence[Features],
    keys: Sequence[int],
    stories: dict[int, Story],
    threads: Sequence[dict[str, object]],
) -> dict[str, float]:
    importance = {str(t["cluster"]): float(str(t["importance"])) for t in threads}
    reference = sorted(importance, key=lambda c: -importance[c])
    ours = sorted(stories.values(), key=lambda s: -story_weight(s, features))
    # Each of our stories stands for the silver thread most of its articles are in.
    majority = [
        Counter(str(silver[m]["cluster"]) for m in s.members).most_common(1)[0][0] for s in ours
    ]
    out: dict[str, float] = {}
    for k in (10, 20):
        mine = list(dict.fromkeys(majority))[:k]
        out[f"top{k}"] = len(set(mine) & set(reference[:k])) / k
    # Over threads of 2+ articles: importance against the weight of the story holding
    # most of the thread's articles.
    by_thread: dict[str, Counter[int]] = {}
    for row, key in zip(silver, keys, strict=True):
        by_thread.setdefault(str(row["cluster"]), Counter())[key] += 1
    weights = {s.key: story_weight(s, features) for s in ours}
    multi = [c for c, n in by_thread.items() if sum(n.values()) > 1 and c in importance]
    out["spearman_ours"] = spearman(
        [importance[c] for c in multi], [weights[by_thread[c].most_common(1)[0][0]] for c in multi]
    )
    # The weight formula alone, on the silver threads as stories.
    members: dict[str, list[Features]] = {}
    for row, f in zip(silver, features, strict=True):
        members.setdefault(str(row["cluster"]), []).append(f)
    formula = [
        weight([f.source for f in members[c]], [f.time for f in members[c]], DAY_END) for c in multi
    ]
    out["spearman_formula"] = spearman([importance[c] for c in multi], formula)
    return out


# --- cost --------------------------------------------------------------------------------


def copies(features: Sequence[Features], count: int) -> Iterator[tuple[int, Features]]:
    """The day `count` times, each copy three days after the one before, in time order."""
    ordered = sorted(features, key=lambda f: f.time)
    for copy in range(count):
        shift = timedelta(days=3 * copy)
        for f in ordered:
            yield copy, dataclasses.replace(f, time=f.time + shift)


def cost(features: Sequence[Features], total: int) -> tuple[int, list[float], list[float]]:
    """ms per assignment of the first copy and of the last, with `total` articles fed."""
    count = max(2, math.ceil(total / len(features)))
    clusterer = Clusterer()
    first: list[float] = []
    last: list[float] = []
    fed = 0
    for copy, f in copies(features, count):
        started = time.perf_counter()
        clusterer.add(fed, f)
        elapsed = (time.perf_counter() - started) * 1000
        clusterer.closed.clear()
        fed += 1
        if copy == 0:
            first.append(elapsed)
        elif copy == count - 1:
            last.append(elapsed)
    return fed, first, last


# --- ingest ------------------------------------------------------------------------------


async def ingest_seconds(silver: Sequence[dict[str, object]]) -> tuple[float, float]:
    """Seconds spent storing the articles and seconds spent on their stories, timed
    article by article in one run, so both halves see the same load on the machine."""
    from bot.models import NewArticle
    from storage.articles import ArticleRepo
    from storage.db import Database

    now = datetime(2026, 1, 1, tzinfo=UTC)
    storing = clustering = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "ingest.sqlite3")
        try:
            repo = ArticleRepo(db)
            clusterer = Clusterer()
            for row in silver:
                new = NewArticle(
                    title=str(row["title"]),
                    text=str(row["text"]),
                    source=str(row["source"]),
                    url=str(row["url"]),
                    published_at=when(row["date"]),
                    lang="ru",
                )
                started = time.perf_counter()
                article, created = await repo.add(new, now=now)
                stored = time.perf_counter()
                if created:
                    features = extract(
                        article.title, article.text, time=article.date, source=article.source
                    )
                    clusterer.add(article.id, features)
                    clusterer.closed.clear()
                storing += stored - started
                clustering += time.perf_counter() - stored
        finally:
            await db.close()
    return storing, clustering


# --- the briefing ------------------------------------------------------------------------


def briefing(
    silver: Sequence[dict[str, object]], features: Sequence[Features], stories: dict[int, Story]
) -> tuple[float, list[tuple[float, Story, str, tuple[str, ...]]]]:
    started = time.perf_counter()
    ranked = sorted(stories.values(), key=lambda s: -story_weight(s, features))[:7]
    out = []
    for story in ranked:
        items = [
            Item(
                title=str(silver[i]["title"]),
                text=str(silver[i]["text"]),
                source=str(silver[i]["source"]),
                date=features[i].time,
            )
            for i in (m for m in story.members)
        ]
        out.append((story_weight(story, features), story, headline(items), summary(items)))
    return (time.perf_counter() - started) * 1000, out


# --- natasha -----------------------------------------------------------------------------


def natasha_extractor() -> Extractor | None:
    """Entities from natasha's NER (slovnet on navec), loaded from the package's own
    files, in place of the tag-and-capital rule; None when natasha is not installed."""
    try:
        from importlib.resources import files

        from navec import Navec
        from slovnet import NER
    except ImportError:
        return None
    data = files("natasha") / "data"
    navec = Navec.load(str(data / "emb" / "navec_news_v1_1B_250K_300d_100q.tar"))
    ner = NER.load(str(data / "model" / "slovnet_ner_news_v1.tar"))
    ner.navec(navec)

    from bot.nlp.lemmas import lemma, words
    from bot.nlp.stories.features import lead

    def extractor(row: dict[str, object]) -> Features:
        base = plain(row)
        text = base.title + ".\n" + lead(str(row.get("text") or ""))
        counts: Counter[str] = Counter()
        for span in ner(text).spans:
            counts.update(lemma(w) for w in words(text[span.start : span.stop]))
        entities = {e: 1.0 + math.log(n) for e, n in counts.items()}
        return dataclasses.replace(base, entities=entities)

    return extractor


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- report ------------------------------------------------------------------------------


def spread(values: Sequence[float]) -> str:
    return f"{statistics.median(values):.2f} (p90 {sorted(values)[int(len(values) * 0.9)]:.2f})"


def report_pairs(label: str, folder: Path, extractor: Extractor, seen: Sequence[Features]) -> None:
    (tp, tr, tf), title_auc = title_pairs(folder, extractor, seen)
    gp, gr, gf = gold_pairs(folder, extractor, seen)
    print(f"  {label}: hard title pairs P {tp:.3f} R {tr:.3f} F1 {tf:.3f} (AUC {title_auc:.3f})")
    print(f"  {label}: gold pairs (held out) P {gp:.3f} R {gr:.3f} F1 {gf:.3f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="23,000 articles for the cost")
    p.add_argument("--natasha", action="store_true", help="also measure natasha's NER")
    p.add_argument("--store", type=int, default=None, help="articles for the cost")
    p.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    args = p.parse_args()
    folder = args.eval_dir / STORIES
    if not (folder / SILVER).exists():
        sys.exit(f"no evaluation data in {folder}")
    total = args.store or (23_000 if args.quick else 100_000)

    silver = rows(folder / SILVER)
    threads = rows(folder / THREADS)
    plain({"title": "Прогрев", "text": "Прогрев словарей.", "date": "2020-05-02 00:00"})
    repeats = 2 if args.quick else 3
    extract_runs = []
    # The first pass analyses every word for the first time; the others find them cached.
    for _ in range(repeats + 1):
        started = time.perf_counter()
        features = [plain(r) for r in silver]
        extract_runs.append((time.perf_counter() - started) / len(silver) * 1000)
    extract_ms = extract_runs[0]
    print(f"Stories, {len(silver)} silver articles; tuning {DEFAULT_TUNING}")
    print(f"timings: median (min–max) of {repeats} runs")
    print(
        f"features: {extract_ms:.2f} ms/article with the words new,"
        f" {Spread.of(extract_runs[1:]).format('.2f')} with them seen"
    )

    print("pairs (same_story, one threshold for all):")
    report_pairs("ours", folder, plain, features)
    print(f"  {ANCHORS}")

    assign_runs = []
    for _ in range(repeats):
        keys, stories, assign_ms = cluster_day(features)
        assign_runs.append(assign_ms)
    gold = [r["cluster"] for r in silver]
    outlets = [str(r["source"]) for r in silver]
    ap, ar, af = pairwise(keys, gold)
    cp, cr, cf = pairwise(keys, gold, outlets)
    print(f"silver day: {len(stories)} stories against {len(set(gold))} threads")
    print(f"  all pairs P {ap:.3f} R {ar:.3f} F1 {af:.3f}")
    print(f"  pairs of different outlets P {cp:.3f} R {cr:.3f} F1 {cf:.3f}")
    print(f"  assignment {Spread.of(assign_runs).format('.2f')} ms/article (features not included)")

    figures = ranking(silver, features, keys, stories, threads)
    print(
        f"ranking against silver importance: top-10 overlap {figures['top10']:.0%}, "
        f"top-20 {figures['top20']:.0%}, Spearman {figures['spearman_ours']:.2f} "
        f"(the formula on the silver threads: {figures['spearman_formula']:.2f})"
    )

    fed, first, last = cost(features, total)
    ratio = statistics.median(last) / statistics.median(first)
    print(
        f"cost of one assignment, ms: first {len(first)} articles {spread(first)}; "
        f"with {fed - len(last):,} before {spread(last)}; ratio {ratio:.2f}"
    )

    day = silver[:1000] if args.quick else silver
    runs = [asyncio.run(ingest_seconds(day)) for _ in range(repeats)]
    shares = Spread.of([100 * c / s for s, c in runs])
    print(
        f"ingest of {len(day)} articles: storing {Spread.of([s for s, _ in runs]).format('.1f')}"
        f" s, stories {Spread.of([c for _, c in runs]).format('.1f')} s more:"
        f" +{shares.format('.0f')} %"
    )

    build_ms, top = briefing(silver, features, stories)
    print(f"briefing: ranking {len(stories)} stories and writing the top 7: {build_ms:.0f} ms")
    for n, (w, story, title, sentences) in enumerate(top, 1):
        sources = len({features[m].source for m in story.members})
        print(f"  {n}. [{w:.1f}; {sources} outlets, {len(story.members)} articles] {title}")
        for sentence in sentences:
            print(f"       {sentence}")

    if args.natasha:
        before = rss_mb()
        extractor = natasha_extractor()
        if extractor is None:
            print("natasha: not installed (pip install natasha)")
            return
        started = time.perf_counter()
        with_ner = [extractor(r) for r in silver[:500]]
        ner_ms = (time.perf_counter() - started) / len(with_ner) * 1000
        print(
            f"natasha NER: {ner_ms:.1f} ms/article against {extract_ms:.1f}; "
            f"peak memory +{rss_mb() - before:.0f} MB"
        )
        all_ner = with_ner + [extractor(r) for r in silver[500:]]
        report_pairs("natasha", folder, extractor, all_ner)
        keys_ner, _, _ = cluster_day(all_ner)
        _, _, nf = pairwise(keys_ner, gold)
        _, _, ncf = pairwise(keys_ner, gold, outlets)
        print(f"  natasha: silver day F1 {nf:.3f}, different outlets {ncf:.3f}")


if __name__ == "__main__":
    main()
