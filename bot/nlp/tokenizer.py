"""razdel as a sumy tokenizer: sumy's own needs NLTK punkt data we cannot download."""

from __future__ import annotations

from razdel import sentenize

from bot.nlp.lemmas import words


class RazdelTokenizer:
    language = "russian"

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(s.text for s in sentenize(paragraph) if s.text.strip())

    def to_words(self, sentence: str) -> tuple[str, ...]:
        return tuple(words(sentence))


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, each a verbatim substring of it, paragraph by paragraph."""
    tokenizer = RazdelTokenizer()
    out: list[str] = []
    for paragraph in text.split("\n"):
        if paragraph.strip():
            out.extend(tokenizer.to_sentences(paragraph))
    return out
