"""Extractive summaries with sumy's algorithms over Russian preprocessing."""

from __future__ import annotations

from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
from sumy.summarizers.lex_rank import LexRankSummarizer

from bot.errors import BadSentenceCount, UnknownAlgorithm
from bot.nlp.lemmas import lemma, stop_words
from bot.nlp.tokenizer import RazdelTokenizer, split_sentences

ALGORITHMS = ("lexrank", "textrank", "lsa", "luhn", "kl", "sumbasic", "edmundson")


def summarize(text: str, *, algorithm: str = "lexrank", sentences: int = 3) -> tuple[str, ...]:
    """Whole sentences of `text`, verbatim, in the text's order."""
    if algorithm not in ALGORITHMS:
        raise UnknownAlgorithm(algorithm)
    if sentences < 1:
        raise BadSentenceCount(str(sentences))
    all_sentences = split_sentences(text)
    if len(all_sentences) <= sentences:
        return tuple(all_sentences)
    tokenizer = RazdelTokenizer()
    document = ObjectDocumentModel(
        [Paragraph([Sentence(s, tokenizer) for s in all_sentences])]
    )
    summarizer = LexRankSummarizer(lemma)
    summarizer.stop_words = stop_words()
    return tuple(str(s) for s in summarizer(document, sentences))
