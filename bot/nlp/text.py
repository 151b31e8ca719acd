"""Plain-text helpers for Russian news: whitespace clean-up and datelines.

Two promises meet here. Loaders may call `clean_text` before an article is stored,
so the stored text is tidy. The summarizer and the sentence splitter never rewrite
the text they are given: they work with offsets into it, treat odd spaces as spaces,
and every sentence they find is a verbatim substring of their input. What summaries
and key points show differs from it in one way only: `one_line` joins the line breaks
of a hard-wrapped sentence.
"""

from __future__ import annotations

import re

# NBSP, narrow NBSP, figure space, the en/em/thin spaces and friends: words are
# separated by them in pasted news, and `str.split()` already treats them as spaces.
_ODD_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Zero-width characters and the soft hyphen live inside words and break them apart.
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_TRAILING_SPACES = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(text: str) -> str:
    """A tidy copy for storage: one kind of space and line break, no invisible characters."""
    text = _LINE_BREAKS.sub("\n", text)
    text = _INVISIBLE.sub("", text)
    text = _ODD_SPACES.sub(" ", text)
    text = _TRAILING_SPACES.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def tidy_word(word: str) -> str:
    """A word without the invisible characters that split it, with ё written as е.

    Much of the press writes е for ё; one spelling keeps a word's counts together.
    """
    return _INVISIBLE.sub("", word).replace("ё", "е").replace("Ё", "Е")


_WRAP = re.compile(r"[^\S\n]*(?:\r\n?|[\n\u2028\u2029\x0b\x0c\x85])\s*")


def one_line(sentence: str) -> str:
    """A sentence with the line breaks inside it joined by a space.

    A hard-wrapped text (a transcript, an old feed) breaks its sentences wherever the
    line was full; shown to a reader, the sentence is one line again. This is the one
    change summaries and key points make to the text's own words.
    """
    return _WRAP.sub(" ", sentence)


# --- datelines -------------------------------------------------------------------------
# "Астана, 16 июня /Синьхуа/ -- ", "МОСКВА, 1 дек — РИА Новости. ",
# "Москва, 5 марта 2024 г. (ТАСС) — ", "МОСКВА, 17 июня. /ТАСС/. ",
# "Москва. 5 марта. ИНТЕРФАКС - ", "магас, 1 дек — риа новости, адам буражев. "
# A dateline names a place and a date (or an agency) and ends with a dash or with the
# agency's full stop; the sentence proper starts after it.

_MONTH = (
    r"(?:январ[ья]|феврал[ья]|март[а]?|апрел[ья]|ма[йя]|июн[ья]|июл[ья]|август[а]?"
    r"|сентябр[ья]|октябр[ья]|ноябр[ья]|декабр[ья]"
    r"|янв|фев|февр|мар|апр|июн|июл|авг|сен|сент|окт|ноя|нояб|дек)\.?"
)
_DASH = r"(?:-{1,2}|[‒–—―])"
_SP = r"[^\S\n]"  # any space but a line break: a dateline never spans lines
_PLACE_WORD = r"[^\W\d_][\w’'-]*"
_PLACE = rf"{_PLACE_WORD}(?:{_SP}+{_PLACE_WORD}){{0,2}}(?:{_SP}*\([^()\n]{{1,40}}\))?"
_DATE = rf"\d{{1,2}}{_SP}+{_MONTH}(?:{_SP}+\d{{4}}(?:{_SP}*г\.)?)?(?:{_SP}*г\.)?"
# Agencies written after the dash, e.g. "— РИА Новости." Matched by name, because a
# free pattern here would also swallow an ordinary first sentence ("— сегодня ...").
_AGENCIES = (
    r"(?:риа{_SP}+новости|р-спорт|прайм|тасс|итар-тасс|интерфакс(?:\.ru)?|interfax(?:\.ru)?"
    r"|синьхуа|рбк|regnum|регнум|ria{_SP}+novosti|reuters|рейтер|франс{_SP}+пресс|ap|afp"
    r"|кабар|казинформ|белта|bfm|известия|ура\.ру|ura\.ru|sputnik|спутник|ren{_SP}+tv|rt"
    r"|lenta\.ru|газета\.ru|дни\.ру|ведомости|коммерсантъ|новости|россия{_SP}+сегодня)"
).replace("{_SP}", _SP)
_BYLINE = rf"(?:,{_SP}+{_PLACE_WORD}(?:{_SP}+{_PLACE_WORD}){{0,2}})?"
_BRACKETED = r"(?:/[^/\n]{1,40}/|\([^()\n]{1,40}\))"

_DATELINE = re.compile(
    rf"""
    ^{_SP}*
    (?P<place>{_PLACE})
    {_SP}*[,.]{_SP}*
    (?:
        (?P<date>{_DATE})\.?{_SP}*                      # "16 июня", "5 марта 2024 г."
        (?:
            {_BRACKETED}{_SP}*\.?{_SP}*(?:{_DASH}{_SP}*)?    # "/Синьхуа/ --", "(ТАСС) —", "/ТАСС/."
          | {_DASH}{_SP}*{_AGENCIES}{_BYLINE}{_SP}*\.{_SP}*  # "— РИА Новости."
          | {_AGENCIES}{_SP}*(?:{_DASH}|\.){_SP}*            # "ИНТЕРФАКС -"
          | {_DASH}{_SP}*                                    # "5 марта — "
        )
      | {_BRACKETED}{_SP}*\.?{_SP}*(?:{_DASH}{_SP}*)?       # "ПЕКИН, /Синьхуа/ --"
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
# What follows a dateline starts a sentence: a letter, a digit or an opening quote.
_SENTENCE_START = re.compile(r"[\w«\"„“(\[]")


def dateline_end(paragraph: str) -> int:
    """Offset where the text after a leading news dateline starts; 0 without one."""
    match = _DATELINE.match(paragraph)
    if match is None:
        return 0
    end = match.end()
    # A dateline alone on its line ("МОСКВА, 17 июня. /ТАСС/.") is dropped whole.
    if end < len(paragraph.rstrip()) and not _SENTENCE_START.match(paragraph, end):
        return 0
    return end
