"""The translation catalogs, kept in step with bot/texts.py by one command:

    python -m bot.catalogs

Every Russian string of texts.py (module constants, and the strings inside its tuples
and dicts) is a message id; the command adds new ones to each catalog with an empty
translation, keeps the translations of the rest and drops the entries of strings that
are gone. Then fill in the empty `msgstr ""` lines. tests/test_language.py fails while a
string is missing, untranslated or unused, and names it.

What only the command line prints (its help, backup and migration reports) stays in
Russian: operators read it, not the bot's users.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from bot import language

_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
# Names in texts.py whose strings only the command line prints.
COMMAND_LINE_ONLY = (
    "CLI_",
    "BACKUP_",
    "STORE_FILE_",
    "MIGRATED",
    "COPY_",
    "STORE_UNAVAILABLE",
    "TOKEN_REFUSED",
    "API_UNREACHABLE",
    "FILE_REASONS",
)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        if _CYRILLIC.search(value):
            yield value
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def messages() -> dict[str, str]:
    """Each message id of texts.py and the name it is found under, in file order."""
    from bot import texts

    found: dict[str, str] = {}
    for name, value in vars(texts).items():
        if name.startswith("_") or name.startswith(COMMAND_LINE_ONLY) or name == "NOUNS":
            continue
        for text in _strings(value):
            found.setdefault(text, name)
    return found


def plurals() -> list[tuple[str, str]]:
    """The nouns texts.count() agrees with a number: (singular, plural) message ids."""
    from bot import texts

    return [(noun, texts.plural_form(noun)) for noun in texts.NOUNS]


def template() -> Catalog:
    catalog = Catalog(domain=language.DOMAIN, locale=language.DEFAULT, project="Svodka")
    for text, name in messages().items():
        catalog.add(text, auto_comments=[name])
    for singular, plural in plurals():
        catalog.add((singular, plural), auto_comments=["NOUNS"])
    return catalog


def read(lang: str) -> Catalog:
    path = language.catalog_path(lang)
    if not path.exists():
        return Catalog(
            domain=language.DOMAIN,
            locale=lang,
            project="Svodka",
            header_comment=f"# Svodka's interface in {lang}: the strings of bot/texts.py.\n"
            "# Kept in step by `python -m bot.catalogs`; fill in the empty msgstr lines.",
            fuzzy=False,
        )
    with path.open("rb") as source:
        return read_po(source, locale=lang, domain=language.DOMAIN)


def update() -> None:
    fresh = template()
    for lang in language.LANGUAGES:
        if lang == language.DEFAULT:
            continue
        catalog = read(lang)
        # No fuzzy matching: a changed Russian string gets a new, empty translation
        # rather than the old string's, which may no longer say the same.
        catalog.update(fresh, no_fuzzy_matching=True, update_creation_date=False)
        path = language.catalog_path(lang)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(out, catalog, width=0, ignore_obsolete=True, include_lineno=False)
        print(f"{path}: {len(catalog)} entries")


def _translated(string: object) -> bool:
    if isinstance(string, str):
        return bool(string)
    return isinstance(string, tuple | list) and all(string)


@dataclass(frozen=True)
class Check:
    missing: list[str]  # in texts.py, not in the catalog
    unused: list[str]  # in the catalog, not in texts.py
    untranslated: list[str]  # in both, with no (or a fuzzy) translation


def check(lang: str) -> Check:
    catalog = read(lang)
    wanted = {*messages(), *(singular for singular, _ in plurals())}
    entries = {
        message.id if isinstance(message.id, str) else message.id[0]: message
        for message in catalog
        if message.id
    }
    untranslated = [
        key
        for key, message in entries.items()
        if key in wanted and (message.fuzzy or not _translated(message.string))
    ]
    return Check(
        missing=[key for key in wanted if key not in entries],
        unused=[key for key in entries if key not in wanted],
        untranslated=untranslated,
    )


if __name__ == "__main__":
    update()
