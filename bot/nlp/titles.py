"""Headlines without the site's name: "Взрыв в Бейруте | DW | 05.08.2020" -> "Взрыв в Бейруте".

Pages put the outlet, the section or the date at the end of their <title>, and feeds and
forwarded posts carry them over. A story shows one headline for many outlets, so those
tails go. What goes is only what looks like a site: a trailing part after a pipe or a
star (news titles do not use those in their text), or, after a dash, the article's own
source, a domain, a date or a known outlet. A dash before a person's name is attribution
("Запасы масок составляют 15,5 млн штук - Мантуров") and stays.
"""

from __future__ import annotations

import re

# " | ", " ⋆ ", " • ", " :: ": site furniture, never part of a news headline.
_HARD_SEPARATOR = re.compile(r"\s+(?:[|⋆•·]|::)\s+")
# A spaced dash: both attribution and site names follow it, so what follows is checked.
_DASH_SEPARATOR = re.compile(r"\s+[-–—―]\s+|,\s+[-–—]\s+")
# At most this many words after a pipe is a site part; a longer one is a second headline.
_MAX_SITE_WORDS = 6
_DOMAIN = re.compile(
    r"^(?:www\.)?[\w-]+(?:\.[\w-]+)*\.(?:ru|su|рф|ua|by|kz|uz|com|net|org|info|io|tv|fm|news|"
    r"media|online|me|am|ge|md|kg|az|lv|lt|ee|de|uk|co)$",
    re.IGNORECASE,
)
_DATE = re.compile(
    r"^\d{1,2}[./]\d{1,2}[./]\d{2,4}(?:,?\s+\d{1,2}:\d{2})?$|^\d{4}-\d{2}-\d{2}(?:\s+\d{1,2}:\d{2})?$"
)
# Outlets whose names commonly end Russian-language headlines. Lowercase, ё as е.
_OUTLETS = frozenset(
    {
        "риа новости",
        "риа",
        "тасс",
        "интерфакс",
        "interfax",
        "прайм",
        "рбк",
        "коммерсантъ",
        "коммерсант",
        "ведомости",
        "известия",
        "lenta.ru",
        "лента.ру",
        "газета.ru",
        "газета.ру",
        "dw",
        "bbc",
        "би-би-си",
        "bbc news",
        "bbc news русская служба",
        "русская служба bbc",
        "meduza",
        "медуза",
        "rt",
        "rt на русском",
        "euronews",
        "reuters",
        "regnum",
        "фонтанка",
        "фонтанка.ру",
        "новая газета",
        "московский комсомолец",
        "мк",
        "комсомольская правда",
        "кп",
        "аиф",
        "аргументы и факты",
        "российская газета",
        "рг",
        "life",
        "лайф",
        "ura.ru",
        "ура.ру",
        "znak",
        "знак",
        "townsend",
        "новости",
        "последние новости",
        "главные новости",
        "новости дня",
        "свежие новости",
    }
)
# An English site name: "Stack Overflow Blog", "Sky News", "The Moscow Times".
_ENGLISH_SITE = re.compile(
    r"^(?:the\s+)?[A-Z][\w.&'-]*(?:\s+[A-Z][\w.&'-]*){0,3}\s+"
    r"(?:Blog|News|Times|Post|Daily|Online|Magazine|Journal|Tribune|Herald|Gazette|Weekly)$"
)
_WORD = re.compile(r"\w+")
_LEADING_SITE = re.compile(r"^(?P<site>[^|:⋆•]{1,40}?)\s*(?:[|⋆•]\s+|:\s+)(?P<rest>.+)$")
_TLD = re.compile(r"\.[a-zа-я]{2,6}$")


def _site_words(text: str) -> list[str]:
    """A site's name reduced for comparison: "www.Bitbetnews.com" and "bitbetnews" meet."""
    text = text.casefold().replace("ё", "е").strip()
    text = _TLD.sub("", text.removeprefix("www."))
    return _WORD.findall(text)


def _is_site(part: str, source: str | None) -> bool:
    stripped = part.strip(" .,:;!?«»\"'()[]")
    if not stripped:
        return True
    lowered = stripped.casefold().replace("ё", "е")
    if lowered in _OUTLETS or _DOMAIN.match(stripped) or _DATE.match(stripped):
        return True
    if _ENGLISH_SITE.match(stripped):
        return True
    if source:
        part_words, source_words = _site_words(stripped), _site_words(source)
        if part_words and part_words == source_words:
            return True
        # "Телеканал «Звезда»" as the source, "Звезда" at the end of the title.
        n = len(part_words)
        if n and sum(map(len, part_words)) >= 4:
            return any(
                source_words[i : i + n] == part_words for i in range(len(source_words) - n + 1)
            )
    return False


def _strip_tail(title: str, source: str | None) -> str:
    while True:
        hard = list(_HARD_SEPARATOR.finditer(title))
        dash = list(_DASH_SEPARATOR.finditer(title))
        last = max(hard + dash, key=lambda m: m.start(), default=None)
        if last is None or last.start() == 0:
            return title
        head, tail = title[: last.start()], title[last.end() :]
        if not head.strip(" -–—|"):
            return title
        is_hard = last in hard
        words = len(tail.split())
        if (is_hard and words <= _MAX_SITE_WORDS) or _is_site(tail, source):
            title = head.rstrip(" ,")
            continue
        return title


def _strip_head(title: str, source: str | None) -> str:
    """ "РИА Новости | Взрыв в Бейруте", "Lenta.ru: Взрыв в Бейруте"."""
    match = _LEADING_SITE.match(title)
    if match and _is_site(match["site"], source) and match["rest"].strip():
        return match["rest"]
    return title


def clean_title(title: str, source: str | None = None) -> str:
    """The headline without site names, section names or dates around it.

    `source` is the article's outlet (a name or a host); a tail naming it goes too.
    Whatever is left is never empty: a title that is all site name stays as it was.
    """
    original = " ".join(title.split())
    if not original:
        return original
    cleaned = _strip_tail(_strip_head(original, source), source).strip()
    return cleaned or original
