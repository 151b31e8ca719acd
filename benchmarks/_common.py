"""Shared pieces of the benchmarks: the evaluation data, ROUGE, the stock sumy baseline."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    # Benchmarks run as plain scripts (`python benchmarks/quality.py`).
    sys.path.insert(0, str(ROOT))

# The evaluation data lives beside the repository and is never copied into it.
DEFAULT_EVAL_DIR = ROOT.parent / "shared" / "eval"
SCI_FILE = "ru_sci_abstracts_100.jsonl"
RIA_FILE = "ria_20.json"
SEED = ROOT / "seeds" / "000_04ae095c1d503094.txt"


@dataclass(frozen=True, slots=True)
class Spread:
    """A figure measured in several runs: its median and the lowest and highest run.

    One run on a shared machine says little (a neighbour's burst moves it by a fifth);
    the median of several, with their range, is what the docs quote and what a rerun
    should reproduce.
    """

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("no runs")
        return cls(statistics.median(values), min(values), max(values), len(values))

    def format(self, spec: str = ".2f") -> str:
        """`0.50 (0.42–0.55, 5 runs)`; one run is shown alone."""
        if self.runs == 1:
            return f"{self.median:{spec}} (1 run)"
        return f"{self.median:{spec}} ({self.low:{spec}}–{self.high:{spec}}, {self.runs} runs)"

    def __str__(self) -> str:
        return self.format()


@dataclass(frozen=True, slots=True)
class Pair:
    text: str
    reference: str
    title: str


def json_lines(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def load_sci(eval_dir: Path, limit: int | None = None) -> list[Pair]:
    """Scientific articles with their authors' abstracts as references."""
    rows = list(json_lines(eval_dir / SCI_FILE))[:limit]
    return [Pair(r["text"], r["summary"], r["title"]) for r in rows]


class _HtmlText(HTMLParser):
    """Text of an HTML fragment, one paragraph per block element."""

    _BLOCKS = frozenset({"p", "div", "br", "li", "h1", "h2", "h3", "h4", "blockquote", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    paragraphs = ("".join(parser.parts)).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def load_ria(eval_dir: Path, limit: int | None = None) -> list[Pair]:
    """RIA news (lowercased HTML) with their headlines as references."""
    rows = list(json_lines(eval_dir / RIA_FILE))[:limit]
    return [Pair(html_to_text(r["text"]), r["title"], r["title"]) for r in rows]


def rouge_scores(hypotheses: list[str], references: list[str]) -> dict[str, float]:
    """Mean F1 x 100 of ROUGE-1/2/L, as in the Gazeta paper: razdel tokens, lowercase."""
    from razdel import tokenize
    from rouge import Rouge

    def prepare(text: str) -> str:
        return " ".join(t.text for t in tokenize(text)).lower()

    # `rouge` raises on an empty hypothesis (and splits at full stops, so "." is empty
    # too); a word no reference has scores zero, as an empty summary should.
    prepared = [prepare(h) for h in hypotheses]
    hyps = [h if h.strip(" .") else "\ue000" for h in prepared]
    refs = [prepare(r) for r in references]
    # `rouge` rebuilds each longest common subsequence by recursion, one level per word
    # of a sentence pair: a long unpunctuated sentence goes past Python's default 1000.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20_000))
    scores = Rouge().get_scores(hyps, refs, avg=True)
    return {name: 100.0 * scores[f"rouge-{name}"]["f"] for name in ("1", "2", "l")}


class PlainRazdelTokenizer:
    """Unmodified razdel behind sumy's tokenizer interface: the stock baseline's tokenizer."""

    language = "russian"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        from razdel import sentenize

        return tuple(s.text for s in sentenize(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        from razdel import tokenize

        return tuple(t.text for t in tokenize(sentence) if any(c.isalnum() for c in t.text))


def stock_stop_words() -> frozenset[str]:
    from stop_words import get_stop_words

    return frozenset(get_stop_words("russian"))


def stock_summary(text: str, summarizer_class: type, sentences: int) -> list[str]:
    """Stock sumy as the evaluation README's baselines ran it."""
    from sumy.nlp.stemmers import Stemmer
    from sumy.parsers.plaintext import PlaintextParser

    document = PlaintextParser.from_string(text, PlainRazdelTokenizer()).document
    summarizer = summarizer_class(Stemmer("russian"))
    summarizer.stop_words = stock_stop_words()
    return [str(s) for s in summarizer(document, sentences)]


def lead(text: str, sentences: int) -> list[str]:
    from razdel import sentenize

    return [s.text for s in sentenize(text)][:sentences]
