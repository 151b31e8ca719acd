"""Extractive summaries with sumy's algorithms over Russian preprocessing.

The pipeline, each step measured in benchmarks/quality.py:

1. Sentences come from `bot.nlp.tokenizer.segment`: offsets into the text, so every
   sentence returned is a verbatim substring of it (shown on one line, without a list
   item's bullet); the lead's dateline is not part of any sentence, and title lines
   become sumy headings rather than candidates.
2. Boilerplate never competes: captions, reference-list entries, table rows and
   formulas, list lead-ins ("Преимущества подхода:") and the fragments listed under
   them ("- пособия по безработице;"), very short and very long sentences, repeated
   sentences.
3. One of sumy's seven algorithms (the vectorised classes of `bot.nlp.fast`) rates
   the remaining sentences, with lemmas (pymorphy3) or Snowball stems as terms and
   the stop-words package's Russian list.
4. Its ratings, turned into ranks so that every algorithm speaks the same scale, are
   blended with a position prior (the lead of a news story, the introduction and
   the conclusion of a paper; it weighs more in a text of news-story length) and a
   mild preference for sentences of useful length.
5. Sentences are picked by maximal marginal relevance, so the summary does not say
   the same thing twice, and returned in the article's order.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

from bot.errors import BadSentenceCount, UnknownAlgorithm
from bot.nlp import ALGORITHMS
from bot.nlp.fast import (
    FastKLSummarizer,
    FastLexRankSummarizer,
    FastLsaSummarizer,
    FastLuhnSummarizer,
    FastSumBasicSummarizer,
    FastTextRankSummarizer,
    RatedEdmundsonSummarizer,
)
from bot.nlp.lemmas import lemma, stop_words
from bot.nlp.text import one_line
from bot.nlp.tokenizer import RazdelTokenizer, Segment, segment

STEMMERS = ("lemma", "snowball")
# Chosen by measurement on ../shared/eval (docs/benchmarks.md, "Summary quality").
DEFAULT_ALGORITHM = "lexrank"
DEFAULT_STEMMER = "lemma"


@dataclass(frozen=True, slots=True)
class Tuning:
    """Knobs of steps 2, 4 and 5; the defaults are what benchmarks/quality.py measured."""

    # Step 2: sentences outside these bounds (words with a letter) are not candidates.
    min_words: int = 6
    max_words: int = 70
    # Step 4: share of the position prior in a sentence's score; the prior decays over
    # `lead_span` of the sentences from the start and, scaled by `closing_weight`, from
    # the end (a paper's conclusion).
    position_weight: float = 0.4
    # A news story puts its news in the lead: up to `news_length` candidates the
    # prior's share is `news_position_weight`, and it falls to `position_weight` by
    # `long_text` candidates.
    news_position_weight: float = 0.7
    news_length: int = 20
    lead_span: float = 0.1
    closing_weight: float = 1.0
    # The closing prior grows with the text up to this many candidates: a paper or a
    # report ends with its conclusions, a short news story with background.
    long_text: int = 60
    # Bonus for a sentence as close as can be to a title line (cosine of tf-idf).
    title_weight: float = 0.3
    # Share of the length preference: sentences shorter than `full_length` words lose
    # up to this much of their score.
    length_weight: float = 0.4
    full_length: int = 20
    # Step 5: how much similarity to the already chosen sentences costs.
    redundancy: float = 0.2
    max_similarity: float = 0.7
    # Step 2: filter boilerplate at all (off only to measure what it brings).
    filter_boilerplate: bool = True
    # sumy's graph methods hold dense sentences x sentences matrices (32 MB each at
    # 2000): a longer text is rated on its first and last candidates only.
    max_candidates: int = 2000


DEFAULT_TUNING = Tuning()

# --- stemmers and cue words ------------------------------------------------------------


@cache
def _snowball() -> Callable[[str], str]:
    from functools import lru_cache

    from sumy.nlp.stemmers import Stemmer

    # nltk's Snowball works offline; it is slow per word (~70 us), so it is cached too.
    return lru_cache(maxsize=200_000)(Stemmer("russian"))


def _stemmer(name: str) -> Callable[[str], str]:
    if name == "lemma":
        return lemma
    if name == "snowball":
        return _snowball()
    raise ValueError(f"unknown stemmer {name!r}; expected one of {STEMMERS}")


# Edmundson's cue method counts these, as lemmas, since the stemmer lemmatizes:
# words with which news and papers announce what matters, and hedges that do not.
BONUS_WORDS = frozenset(
    (
        # reported speech that announces a statement
        "заявить",
        "отметить",
        "подчеркнуть",
        "сообщить",
        "объявить",
        "заключить",
        "указать",
        "сказать",
        "признать",
        "призвать",
        "сообщаться",
        # importance
        "важный",
        "главный",
        "основной",
        "ключевой",
        "существенный",
        "значительный",
        # outcomes and decisions
        "итог",
        "итоговый",
        "вывод",
        "результат",
        "решение",
        "принять",
        "утвердить",
        "договориться",
        "согласиться",
        # a paper's own account of what it does
        "цель",
        "задача",
        "необходимо",
        "необходимый",
        "предложить",
        "разработать",
        "показать",
        "установить",
        "выявить",
        "доказать",
        "определить",
        "рассмотреть",
        "исследование",
    )
)
STIGMA_WORDS = frozenset(
    (
        # hedges, asides and background
        "например",
        "возможно",
        "впрочем",
        "кстати",
        "видимо",
        "наверное",
        "пожалуй",
        "якобы",
        "вероятно",
        "допустим",
        "скажем",
        "кажется",
        "напомнить",
        "ранее",
        "также",
        "иногда",
        "отчасти",
    )
)

# --- boilerplate -----------------------------------------------------------------------

_CAPTION = re.compile(
    r"^\s*(?:рис(?:унок|\.)|табл(?:ица|\.)|fig(?:ure|\.)|table|схема|график|диаграмма"
    r"|фото|изображение|листинг|пример)\s*\.?\s*\d",
    re.IGNORECASE,
)
# Lines of a news page that are not the story.
_PAGE_CHROME = re.compile(
    r"^\s*(?:фото|видео|источник|читайте\s+также|смотрите\s+также|подписывайтесь"
    r"|реклама|поделиться|материалы\s+по\s+теме|теги|редакция)\b|©|все\s+права\s+защищены",
    re.IGNORECASE,
)
_BIBLIOGRAPHY = re.compile(
    r"//|\bURL\b|https?://|www\.|\bdoi\b|ISBN|ISSN|\(дата\s+обращения|\bС\.\s*\d+"
    r"|\bТ\.\s*\d+|№\s*\d+|\bVol\.|\bpp?\.\s*\d+|\bИзд(?:-во|ательство)\b|\b[МЛ]\.\s*:"
    r"|\bМосква\s*:|\bСПб\.?\s*:|\d+\s*с\.(?:\s|$)",
    re.IGNORECASE,
)
_REFERENCE_START = re.compile(r"^\s*(?:\[\d+\]|\d{1,3}\.\s+[А-ЯA-Z][а-яa-z]+,?\s+[А-ЯA-Z]\.)")
# "Недостатки данного подхода:" introduces a list; it says nothing on its own.
_LEAD_IN = re.compile(r":[\s.]*$")
_LETTER = re.compile(r"[^\W\d_]")


def is_boilerplate(sentence: str) -> bool:
    """Captions, reference entries, page chrome, list lead-ins, formulas and table rows."""
    if _CAPTION.match(sentence) or _PAGE_CHROME.search(sentence):
        return True
    if _REFERENCE_START.match(sentence) or len(_BIBLIOGRAPHY.findall(sentence)) >= 2:
        return True
    if _LEAD_IN.search(sentence):
        return True
    visible = [ch for ch in sentence if not ch.isspace()]
    letters = sum(1 for ch in visible if _LETTER.match(ch))
    # Formulas, numbers and table rows: mostly not letters.
    return not visible or letters / len(visible) < 0.6


# A list item's bullet or dash, or a line of dialogue's dash.
# Dashes need a space after them: "-5 градусов" is a number, not an item.
_LIST_MARK = re.compile(r"^(?:[-*\u2010-\u2015\u2212]{1,2}\s+|[•·▪●◦‣■►➢]\s*)(?=\S)")
_FRAGMENT_END = re.compile(r"[;,]\s*$")


def _without_mark(s: Segment) -> Segment | None:
    """A list item as a sentence of its own, without its bullet, or None when it is a
    fragment of its lead-in's sentence ("Средства пойдут на: - пособия;")."""
    mark = _LIST_MARK.match(s.text)
    if mark is None:
        return s
    rest = s.text[mark.end() :]
    letter = _LETTER.search(rest)
    if letter is None or rest[letter.start()].islower() or _FRAGMENT_END.search(rest):
        return None
    return dataclasses.replace(s, text=rest, start=s.start + mark.end())


def _shown(sentence: str) -> str:
    """A chosen sentence as the reader sees it: one line, no bullet."""
    mark = _LIST_MARK.match(sentence)
    if mark is not None and len(sentence) > mark.end():
        sentence = sentence[mark.end() :]
    return one_line(sentence)


# --- the pipeline -------------------------------------------------------------------------


def _key(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").split())


# A candidate: where the sentence is in the text, and sumy's Sentence for it, whose
# words are tokenized once and kept (sumy caches them on the object).
Candidate = tuple[Segment, Sentence]


def _candidates(
    body: Sequence[Segment], tuning: Tuning, tokenizer: RazdelTokenizer
) -> list[Candidate]:
    seen: set[str] = set()
    unique: list[Candidate] = []
    for s in body:
        key = _key(s.text)
        if key not in seen:
            seen.add(key)
            unique.append((s, Sentence(s.text, tokenizer)))
    if not tuning.filter_boilerplate:
        return unique
    return [
        (s, sentence)
        for s, sentence in unique
        if tuning.min_words <= len(sentence.words) <= tuning.max_words
        and not is_boilerplate(s.text)
    ]


def _document(
    candidates: Sequence[Candidate], headings: Sequence[str], tokenizer: RazdelTokenizer
) -> Any:
    paragraphs: list[Paragraph] = []
    if headings:
        paragraphs.append(Paragraph([Sentence(h, tokenizer, is_heading=True) for h in headings]))
    current: list[Sentence] = []
    number: int | None = None
    for s, sentence in candidates:
        if number is not None and s.paragraph != number and current:
            paragraphs.append(Paragraph(current))
            current = []
        number = s.paragraph
        current.append(sentence)
    if current:
        paragraphs.append(Paragraph(current))
    return ObjectDocumentModel(paragraphs)


def _summarizer(algorithm: str, stem: Callable[[str], str]) -> Any:
    stops = stop_words()
    if algorithm == "edmundson":
        edmundson = RatedEdmundsonSummarizer(stem, cue_weight=1.0, key_weight=1.0)
        edmundson.bonus_words = BONUS_WORDS
        edmundson.stigma_words = STIGMA_WORDS
        edmundson.null_words = stops
        return edmundson
    classes: dict[str, type] = {
        "lexrank": FastLexRankSummarizer,
        "textrank": FastTextRankSummarizer,
        "lsa": FastLsaSummarizer,
        "luhn": FastLuhnSummarizer,
        "kl": FastKLSummarizer,
        "sumbasic": FastSumBasicSummarizer,
    }
    summarizer = classes[algorithm](stem)
    summarizer.stop_words = stops
    return summarizer


def _ratings(algorithm: str, document: Any, stem: Callable[[str], str], limit: int) -> list[float]:
    summarizer = _summarizer(algorithm, stem)
    if algorithm in ("kl", "sumbasic"):
        # Both divide by the number of content words; a text of stop words has none.
        content = [w for w in document.words if summarizer.normalize_word(w) not in stop_words()]
        if not content:
            return [0.0] * len(document.sentences)
    ratings = [float(r) for r in summarizer.sentence_ratings(document, limit)]
    # sumy's LexRank divides by a zero norm when no sentence has a content word left.
    return [r if not math.isnan(r) else 0.0 for r in ratings]


def _rank_scores(ratings: Sequence[float]) -> list[float]:
    """Ratings -> [0, 1] by rank (ties share the mean rank): 1 is the best sentence."""
    n = len(ratings)
    if n == 1:
        return [1.0]
    order = sorted(range(n), key=lambda i: ratings[i])
    scores = [0.0] * n
    i = 0
    while i < n:
        j = i
        while j + 1 < n and ratings[order[j + 1]] == ratings[order[i]]:
            j += 1
        value = (i + j) / 2 / (n - 1)
        for k in range(i, j + 1):
            scores[order[k]] = value
        i = j + 1
    return scores


_CONCLUSION = re.compile(
    r"^\W*(?:\d+(?:\.\d+)*\.?\s*)?(?:заключение|выводы?|итоги|основные\s+результаты"
    r"|conclusions?)\W*$",
    re.IGNORECASE,
)


def _conclusion_start(segments: Sequence[Segment], candidates: Sequence[Segment]) -> int | None:
    """Index of the first candidate after a "Заключение" / "Выводы" line, if any."""
    marks = [s.start for s in segments if len(s.text) < 60 and _CONCLUSION.match(s.text)]
    if not marks:
        return None
    return next((i for i, c in enumerate(candidates) if c.start > marks[-1]), None)


def _position_weight(total: int, tuning: Tuning) -> float:
    """The prior's share: a news story's lead weighs more than a paper's introduction."""
    if total <= tuning.news_length:
        return tuning.news_position_weight
    if total >= tuning.long_text:
        return tuning.position_weight
    share = (total - tuning.news_length) / (tuning.long_text - tuning.news_length)
    return tuning.news_position_weight + share * (
        tuning.position_weight - tuning.news_position_weight
    )


def _position_prior(index: int, total: int, conclusion: int | None, tuning: Tuning) -> float:
    """Lead sentences matter most; a long text's closing ones (its conclusions) next."""
    if total <= 1:
        return 1.0
    span = max(2.0, tuning.lead_span * total)
    lead = math.exp(-index / span)
    closing_weight = tuning.closing_weight * min(1.0, total / tuning.long_text)
    closing = closing_weight * math.exp(-(total - 1 - index) / span)
    section = 0.0
    if conclusion is not None and index >= conclusion:
        section = math.exp(-(index - conclusion) / span)
    return max(lead, closing, section)


def _term_vectors(
    sentences: Sequence[Any], headings: Sequence[Any], stem: Callable[[str], str]
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """Unit tf-idf vectors of sentences and headings (idf over the sentences)."""
    stops = stop_words()

    def bag(sentence: Any) -> Counter[str]:
        return Counter(stem(w.lower()) for w in sentence.words if w.lower() not in stops)

    bags = [bag(s) for s in sentences]
    df: Counter[str] = Counter()
    for b in bags:
        df.update(b.keys())
    total = len(bags)

    def vector(b: Counter[str]) -> dict[str, float]:
        weights = {t: c * math.log(1 + total / df.get(t, 1)) for t, c in b.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {t: v / norm for t, v in weights.items()}

    return [vector(b) for b in bags], [vector(bag(h)) for h in headings]


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(t, 0.0) for t, v in a.items())


def _select(
    scores: Sequence[float],
    vectors: Sequence[dict[str, float]],
    count: int,
    redundancy: float,
    max_similarity: float,
) -> list[int]:
    """Maximal marginal relevance: the best score, less similarity to what is chosen.

    A near copy of a chosen sentence (cosine above `max_similarity`) is taken only
    when nothing else is left.
    """
    chosen: list[int] = []
    closest = [0.0] * len(scores)
    while len(chosen) < min(count, len(scores)):
        best = max(
            (i for i in range(len(scores)) if i not in chosen),
            key=lambda i: (closest[i] <= max_similarity, scores[i] - redundancy * closest[i], -i),
        )
        chosen.append(best)
        for i in range(len(scores)):
            closest[i] = max(closest[i], _cosine(vectors[i], vectors[best]))
    return sorted(chosen)


def _checked(algorithm: str, sentences: int) -> None:
    if algorithm not in ALGORITHMS:
        raise UnknownAlgorithm(algorithm)
    if sentences < 1:
        raise BadSentenceCount(str(sentences))


def _prepared(
    segments: Sequence[Segment], sentences: int, tuning: Tuning, tokenizer: RazdelTokenizer
) -> list[Candidate]:
    """Step 2: the sentences that compete, at least `sentences` of them where the text
    has that many."""
    body = [s for s in segments if not s.heading] or list(segments)
    body = [s for s in map(_without_mark, body) if s is not None] or body
    candidates = _candidates(body, tuning, tokenizer)
    if len(candidates) < sentences:
        candidates = _candidates(body, Tuning(filter_boilerplate=False), tokenizer)
    if len(candidates) > tuning.max_candidates:
        tail = tuning.max_candidates // 4
        candidates = candidates[: tuning.max_candidates - tail] + candidates[-tail:]
    return candidates


def _scored(
    segments: Sequence[Segment],
    candidates: Sequence[Candidate],
    *,
    algorithm: str,
    stem: Callable[[str], str],
    title: str | None,
    tuning: Tuning,
    tokenizer: RazdelTokenizer,
    limit: int,
) -> tuple[list[float], list[dict[str, float]]]:
    """Steps 3 and 4: each candidate's score, and its tf-idf vector for step 5."""
    headings = [s.text for s in segments if s.heading]
    if title:
        headings.insert(0, title)
    document = _document(candidates, headings, tokenizer)
    ratings = _ratings(algorithm, document, stem, limit=limit)

    total = len(candidates)
    conclusion = _conclusion_start(segments, [s for s, _ in candidates])
    relevance = _rank_scores(ratings)
    vectors, heading_vectors = _term_vectors(document.sentences, document.headings, stem)
    weight = _position_weight(total, tuning)
    scores = []
    for i, (s, _) in enumerate(candidates):
        prior = _position_prior(i, total, conclusion, tuning)
        score = (1 - weight) * relevance[i] + weight * prior
        # A news lead restates the headline: closeness to a title line is a bonus.
        score += tuning.title_weight * max(
            (_cosine(vectors[i], h) for h in heading_vectors), default=0.0
        )
        length = min(1.0, len(s.text.split()) / tuning.full_length)
        scores.append(score * (1 - tuning.length_weight * (1 - length)))
    return scores, vectors


@dataclass(frozen=True, slots=True)
class Rated:
    """A summary and the sentences it was chosen from, each with its score."""

    summary: tuple[str, ...]
    # In the text's order; verbatim segments, a list item's bullet left out. A greedy
    # algorithm (KL, SumBasic) rates only its first picks and the rest lowest.
    sentences: list[tuple[Segment, float]]


def rate(
    text: str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    sentences: int = 3,
    stemmer: str = DEFAULT_STEMMER,
    title: str | None = None,
    tuning: Tuning = DEFAULT_TUNING,
    with_ratings: bool = True,
) -> Rated:
    """`summarize`'s answer and, unless `with_ratings` is off, every candidate's score."""
    _checked(algorithm, sentences)
    stem = _stemmer(stemmer)
    segments = segment(text)
    summary = tuple(_shown(s.text) for s in segments)
    # A text of at most `sentences` sentences is its own summary.
    settled = len(segments) <= sentences
    if settled and not with_ratings:
        return Rated(summary, [])
    tokenizer = RazdelTokenizer(letters_only=True)
    candidates = _prepared(segments, sentences, tuning, tokenizer)
    if not settled and len(candidates) <= sentences:
        summary, settled = tuple(_shown(s.text) for s, _ in candidates), True
    if settled and (not with_ratings or len(candidates) <= 1):
        return Rated(summary, [(s, 1.0) for s, _ in candidates] if with_ratings else [])
    scores, vectors = _scored(
        segments,
        candidates,
        algorithm=algorithm,
        stem=stem,
        title=title,
        tuning=tuning,
        tokenizer=tokenizer,
        limit=max(3 * sentences, 10),
    )
    if not settled:
        chosen = _select(scores, vectors, sentences, tuning.redundancy, tuning.max_similarity)
        summary = tuple(_shown(candidates[i][0].text) for i in chosen)
    return Rated(summary, [(s, score) for (s, _), score in zip(candidates, scores, strict=True)])


def summarize(
    text: str,
    *,
    algorithm: str = DEFAULT_ALGORITHM,
    sentences: int = 3,
    stemmer: str = DEFAULT_STEMMER,
    title: str | None = None,
    tuning: Tuning = DEFAULT_TUNING,
) -> tuple[str, ...]:
    """Whole sentences of `text`, in the text's order: verbatim, but for the line breaks
    of a hard-wrapped sentence (joined by a space) and a list item's bullet (left out).

    `stemmer` is "lemma" (pymorphy3) or "snowball" (nltk); `title`, when known, is a
    heading for Edmundson's title method. A text of at most `sentences` sentences
    comes back whole; an empty one gives ().
    """
    return rate(
        text,
        algorithm=algorithm,
        sentences=sentences,
        stemmer=stemmer,
        title=title,
        tuning=tuning,
        with_ratings=False,
    ).summary
