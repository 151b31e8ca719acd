"""Sentences and words of Russian text: razdel, with fixes for what it gets wrong in news.

sumy's own tokenizer needs NLTK's punkt data, which cannot be downloaded on our
machines, so razdel is wrapped in sumy's tokenizer interface instead. Sentences are
found as offsets into the input, so each one is a verbatim substring of it.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from razdel import sentenize, tokenize

from bot.nlp.text import dateline_end, tidy_word

Span = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Segment:
    """One sentence (or heading line) of a text and where it sits in it."""

    text: str
    start: int
    end: int
    paragraph: int
    # A short line without a full stop: a title, a timestamp, a subheading.
    heading: bool


# --- paragraphs ----------------------------------------------------------------------

_LINE = re.compile(r"[^\n\r\u2028\u2029\x0b\x0c\x85]+")
_TERMINAL = ".!?…"
_CLOSERS = "»\"”’')]"
# A heading is a title-sized line; a longer unpunctuated line is body text that lost
# its full stop, and is better kept as a sentence.
_MAX_HEADING_WORDS = 25
# Datelines sit in the first body paragraph, under a few title and timestamp lines.
_MAX_LEAD_PARAGRAPH = 6
# A hard-wrapped block: at least this many line breaks, this share of them inside a
# sentence, and this share of those going on in lowercase or after a comma.
_MIN_WRAPPED_BREAKS = 3
_WRAPPED_SHARE = 0.5
_CONTINUED_SHARE = 0.25


def _stripped(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _last_mark(line: str) -> str:
    line = line.rstrip().rstrip(_CLOSERS).rstrip()
    return line[-1:] if line else ""


def _first_letter_is_lower(line: str) -> bool:
    for ch in line:
        if ch.isalpha():
            return ch.islower()
        if not (ch.isspace() or ch in "«\"„“'(-–—"):
            return False
    return False


def _lines(text: str) -> list[Span]:
    spans = (_stripped(text, m.start(), m.end()) for m in _LINE.finditer(text))
    return [(start, end) for start, end in spans if start < end]


def _blank_line_between(text: str, end: int, start: int) -> bool:
    gap = text[end:start]
    return gap.count("\n") + gap.count("\r") - gap.count("\r\n") > 1


def _hard_wrapped(text: str, block: list[Span]) -> bool:
    """A block of lines wrapped at a width (a transcript, a mail, an old feed): most
    lines stop mid-sentence, and enough of the next ones go on in lowercase or after a
    comma that they cannot be a column of titles."""
    breaks = len(block) - 1
    if breaks < _MIN_WRAPPED_BREAKS:
        return False
    open_ends = continued = 0
    for (start, end), (next_start, next_end) in itertools.pairwise(block):
        mark = _last_mark(text[start:end])
        if mark not in _TERMINAL + ":;":
            open_ends += 1
            if mark in ",-–" or _first_letter_is_lower(text[next_start:next_end]):
                continued += 1
    return open_ends >= _WRAPPED_SHARE * breaks and continued >= _CONTINUED_SHARE * breaks


def paragraphs(text: str) -> list[Span]:
    """Paragraph spans: blank lines separate them, and so does a line break after a
    sentence or a title. A line that continues a sentence in lowercase is a hard wrap,
    and a block of lines wrapped at a width is one paragraph whatever its line ends."""
    blocks: list[list[Span]] = []
    for span in _lines(text):
        if blocks and not _blank_line_between(text, blocks[-1][-1][1], span[0]):
            blocks[-1].append(span)
        else:
            blocks.append([span])
    out: list[Span] = []
    for block in blocks:
        if _hard_wrapped(text, block):
            out.append((block[0][0], block[-1][1]))
            continue
        out.append(block[0])
        for start, end in block[1:]:
            last = text[out[-1][0] : out[-1][1]]
            line = text[start:end]
            if _last_mark(last) not in _TERMINAL + ":;" and _first_letter_is_lower(line):
                out[-1] = (out[-1][0], end)
            else:
                out.append((start, end))
    return out


def _is_heading(text: str, sentence_count: int) -> bool:
    if sentence_count != 1 or "\n" in text:
        return False
    if _last_mark(text) in _TERMINAL + ":;,":
        return False
    return len(text.split()) <= _MAX_HEADING_WORDS and any(ch.isalnum() for ch in text)


# --- sentence fixes ---------------------------------------------------------------------

# razdel splits after an abbreviation when the next word is capitalised; for these
# pairs the capital belongs to a name, not to a new sentence: "3 млн долл. США".
_GLUED_PAIRS: tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] = (
    (
        re.compile(r"(?:^|[\s(])(?:долл|дол|ам\.?\s*долл)\.$", re.IGNORECASE),
        re.compile(r"^(?:США|Канады|Австралии|Сингапура|Гонконга|Тайваня|Зимбабве)\b"),
    ),
)
_STRAIGHT_QUOTES = '"'
# Merging pieces to close a quote or bracket stops there: an unclosed quote must not
# swallow the rest of a paragraph.
_MAX_MERGED_CHARS = 600
_MAX_MERGES = 3

# "Встреча прошла в 2025 г. Переговоры..." razdel never ends a sentence at "г.".
_YEAR_ABBREVIATION = re.compile(r"\b\d{3,4}(?:-х)?\s*гг?\.(?=\s+([А-ЯЁ][а-яё]*)\b(?!\.))")
_PROPER_TAGS = frozenset({"Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr"})
_MIN_WORDS_BEFORE_YEAR = 2


def _open_marks(text: str) -> tuple[int, int, bool]:
    """Unclosed «, unclosed ( and whether a straight quote is left open."""
    guillemets = text.count("«") - text.count("»")
    brackets = text.count("(") - text.count(")")
    return guillemets, brackets, text.count(_STRAIGHT_QUOTES) % 2 == 1


def _unbalanced(text: str) -> bool:
    guillemets, brackets, straight = _open_marks(text)
    return guillemets > 0 or brackets > 0 or straight


def _closing_point(paragraph: str, start: int, end: int) -> int | None:
    """Where, within paragraph[start:end], what was open before `start` closes."""
    guillemets, brackets, straight = _open_marks(paragraph[:start])
    for i in range(start, end):
        ch = paragraph[i]
        if ch == "«":
            guillemets += 1
        elif ch == "»":
            guillemets -= 1
        elif ch == "(":
            brackets += 1
        elif ch == ")":
            brackets -= 1
        elif ch == _STRAIGHT_QUOTES:
            straight = not straight
        else:
            continue
        if guillemets <= 0 and brackets <= 0 and not straight:
            return i + 1
    return None


def _merge_unbalanced(paragraph: str, spans: list[Span]) -> list[Span]:
    """Glue a piece that opens a quote or bracket to the piece that closes it.

    razdel ends sentences inside quotes and brackets: «Мы придём. | Обязательно».
    The closing piece is cut after its closing mark when a new sentence starts there:
    "(см. прил. | 1). Документ опубликован." -> "(см. прил. 1)." + "Документ опубликован."
    """
    pieces = list(spans)
    out: list[Span] = []
    i = 0
    while i < len(pieces):
        start, end = pieces[i]
        if _unbalanced(paragraph[start:end]):
            for k in range(i + 1, min(len(pieces), i + 1 + _MAX_MERGES)):
                k_start, k_end = pieces[k]
                if k_end - start > _MAX_MERGED_CHARS:
                    break
                cut = _closing_point(paragraph[start:], k_start - start, k_end - start)
                if cut is None:
                    continue
                cut += start
                while cut < k_end and paragraph[cut] in _TERMINAL + _CLOSERS:
                    cut += 1
                rest = _stripped(paragraph, cut, k_end)
                if rest[0] < rest[1] and _starts_sentence(paragraph[rest[0] :]):
                    pieces[k] = rest
                    end = cut
                    i = k - 1
                else:
                    end = k_end
                    i = k
                break
        out.append((start, end))
        i += 1
    return out


def _starts_sentence(text: str) -> bool:
    first = text.lstrip('«"„“(—–- ')[:1]
    return bool(first) and (first.isupper() or first.isdigit())


def _merge_glued(paragraph: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in spans:
        if out:
            previous = paragraph[out[-1][0] : out[-1][1]]
            current = paragraph[start:end]
            if any(a.search(previous) and b.search(current) for a, b in _GLUED_PAIRS):
                out[-1] = (out[-1][0], end)
                continue
        out.append((start, end))
    return out


def _is_proper_noun(word: str) -> bool:
    from bot.nlp.lemmas import parse_tags

    return bool(parse_tags(word) & _PROPER_TAGS)


def _split_after_years(paragraph: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in spans:
        piece = paragraph[start:end]
        cut_from = 0
        for match in _YEAR_ABBREVIATION.finditer(piece):
            before = piece[cut_from : match.start()]
            # "В 2024 г. Москва приняла...": a year at the start of a sentence is followed
            # by its subject; only a year after a few words can close the sentence.
            if len(before.split()) - 1 < _MIN_WORDS_BEFORE_YEAR:
                continue
            if _is_proper_noun(match.group(1)):
                continue
            out.append(_stripped(paragraph, start + cut_from, start + match.end()))
            cut_from = match.end()
        out.append(_stripped(paragraph, start + cut_from, end))
    return [span for span in out if span[0] < span[1]]


_AFTER_STOP = re.compile(r"([.!?…][»\"”)]*\s+[«\"„(]?)([a-zа-яё])")


def _shadow_capitals(paragraph: str) -> str:
    """The same text with sentence starts capitalised, for razdel to see them.

    Some feeds lowercase everything; razdel then finds no sentence starts at all.
    Only one-character case changes are made, so offsets stay valid.
    """

    def upper(match: re.Match[str]) -> str:
        letter = match.group(2).upper()
        return match.group(1) + (letter if len(letter) == 1 else match.group(2))

    shadow = _AFTER_STOP.sub(upper, paragraph)
    first = next((i for i, ch in enumerate(shadow) if ch.isalpha()), None)
    if first is not None and len(shadow[first].upper()) == 1:
        shadow = shadow[:first] + shadow[first].upper() + shadow[first + 1 :]
    return shadow


def sentence_spans(paragraph: str) -> list[Span]:
    """Sentence spans within one paragraph."""
    source = paragraph
    if not any(ch.isupper() for ch in paragraph):
        source = _shadow_capitals(paragraph)
    spans = [_stripped(paragraph, s.start, s.stop) for s in sentenize(source) if s.text.strip()]
    spans = _merge_glued(paragraph, spans)
    spans = _merge_unbalanced(paragraph, spans)
    spans = _split_after_years(paragraph, spans)
    return spans


# --- whole texts ---------------------------------------------------------------------------


def _lead_dateline(text: str, paragraph_spans: list[Span]) -> tuple[int, Span] | None:
    """(index of the lead paragraph, dateline span) when the lead starts with a dateline."""
    for index, (start, end) in enumerate(paragraph_spans[:_MAX_LEAD_PARAGRAPH]):
        paragraph = text[start:end]
        cut = dateline_end(paragraph)
        if cut:
            return index, (start, start + cut)
        if not _is_heading(paragraph, len(sentence_spans(paragraph))):
            return None
    return None


def dateline_span(text: str) -> Span | None:
    """Offsets of the dateline that opens the first body paragraph, if there is one."""
    found = _lead_dateline(text, paragraphs(text))
    return None if found is None else found[1]


def segment(text: str) -> list[Segment]:
    """Sentences and heading lines of a text, in order; the lead's dateline is left out."""
    paragraph_spans = paragraphs(text)
    lead = _lead_dateline(text, paragraph_spans)
    out: list[Segment] = []
    number = 0
    for index, (start, end) in enumerate(paragraph_spans):
        if lead is not None and index == lead[0]:
            start = _stripped(text, lead[1][1], end)[0]
            if start >= end:
                continue
        paragraph = text[start:end]
        spans = sentence_spans(paragraph)
        heading = _is_heading(paragraph, len(spans))
        for s, e in spans:
            out.append(Segment(text[start + s : start + e], start + s, start + e, number, heading))
        number += 1
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of a text (title lines included), each a verbatim substring of it."""
    return [s.text for s in segment(text)]


def _word_tokens(sentence: str) -> tuple[str, ...]:
    return tuple(tok.text for tok in tokenize(sentence) if any(ch.isalnum() for ch in tok.text))


class RazdelTokenizer:
    """sumy's tokenizer interface over razdel.

    With `letters_only`, tokens without a letter (numbers, codes) are not words: the
    summarizer uses that, since "2024" and "1,5" say little about what a text is about.
    """

    language = "russian"

    def __init__(self, *, letters_only: bool = False) -> None:
        self._letters_only = letters_only

    def to_sentences(self, paragraph: str) -> tuple[str, ...]:
        return tuple(paragraph[s:e] for s, e in sentence_spans(paragraph))

    def to_words(self, sentence: str) -> tuple[str, ...]:
        tokens = _word_tokens(sentence)
        if self._letters_only:
            tokens = tuple(t for t in tokens if any(ch.isalpha() for ch in t))
        return tuple(tidy_word(t) for t in tokens)
