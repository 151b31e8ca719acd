"""The interface's language: Russian, or English from a gettext catalog.

The Russian strings of `bot/texts.py` are the message ids themselves, so Russian needs
no catalog and a string not yet in the English one still reads, in Russian. The English
catalog is `bot/locales/en/LC_MESSAGES/svodka.po`, read with Babel when first needed (no
compiled `.mo` to keep in step). `bot.i18n` hands the same catalogs and the same current
language to aiogram's i18n.

    python -m bot.catalogs      # adds texts.py's new strings to the catalogs, drops gone ones

No aiogram here: the command line reads `bot.texts` too.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

DEFAULT = "ru"
LANGUAGES = ("ru", "en")
DOMAIN = "svodka"
LOCALES = Path(__file__).resolve().parent / "locales"

# The language of what is being answered; set per update by bot.i18n's middleware.
current: ContextVar[str] = ContextVar("svodka_language", default=DEFAULT)


def pick(language_code: str | None) -> str:
    """The interface language for a Telegram `language_code` (`en`, `en-GB`, `ru`, None)."""
    code = (language_code or "").lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else DEFAULT


def catalog_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language`, compiled in memory from its `.po` file."""
    path = catalog_path(language)
    if language == DEFAULT or not path.exists():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(message: str) -> str:
    """`message` (a Russian string of texts.py) in the current language."""
    language = current.get()
    if language == DEFAULT:
        return message
    return translations(language).gettext(message)


def translate_plural(singular: str, plural: str, n: int) -> str:
    return translations(current.get()).ngettext(singular, plural, n)


@contextmanager
def use(language: str) -> Iterator[None]:
    """Everything rendered inside speaks `language` (scheduled digests, tests)."""
    token = current.set(language if language in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        current.reset(token)
