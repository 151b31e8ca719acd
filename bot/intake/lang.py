"""Which language an article is in: py3langid, with a correction for short Cyrillic text."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

RUSSIAN = "ru"
UNKNOWN = "und"
# Enough text for a confident answer; more only costs time.
_SAMPLE_CHARS = 1500
# Below this many letters the model confuses Russian with Bulgarian, Macedonian and
# Serbian (measured: headlines of 2–8 words); longer texts it gets right.
_SHORT_LETTERS = 200

_LETTER = re.compile(r"[^\W\d_]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
# Letters Russian does not use: Ukrainian, Belarusian, Serbian/Macedonian, Kazakh and others.
_NOT_RUSSIAN_CYRILLIC = re.compile(r"[іїєґўђјљњћџѓќѕәғқңөұүһӘҒҚҢӨҰҮҺІЇЄҐЎЂЈЉЊЋЏЃЌЅ]")


@cache
def _identifier() -> Any:
    # The model takes ~0.7 s to load: on first use, once per process.
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language ("ru", "en", …), "und" when it has no letters."""
    sample = text[:_SAMPLE_CHARS]
    letters = _LETTER.findall(sample)
    if not letters:
        return UNKNOWN
    cyrillic = sum(1 for ch in letters if _CYRILLIC.match(ch))
    if (
        len(letters) < _SHORT_LETTERS
        and cyrillic * 2 > len(letters)
        and not _NOT_RUSSIAN_CYRILLIC.search(sample)
    ):
        # A short Cyrillic text with no letter foreign to Russian: for a Russian news
        # bot, Russian is the far likelier reading than Bulgarian.
        return RUSSIAN
    code, _probability = _identifier().classify(sample)
    return str(code)


def is_russian(text: str) -> bool:
    return detect_language(text) == RUSSIAN


def article_language(title: str, text: str) -> str:
    return detect_language(f"{title}\n{text}")
