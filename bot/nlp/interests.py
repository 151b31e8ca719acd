"""What a chat follows, and which items match it: words in any grammatical form,
phrases word by word in order, excluded words.

Words are compared by their normal forms, the way the search index compares them
(bot/nlp/index.py): `Казахстан` follows `Казахстане`, `Токаев` follows `Токаевым`. An
item is a title and its lead; matching looks at nothing else, so it costs the same for
an article today and for a story later.

`InterestIndex` answers "which chats does this item concern" for many chats at once:
interests are indexed by normal form, so one item costs a lookup per distinct word in
it, whatever the number of chats (benchmarks/interests.py measures it against testing
every chat in turn).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Generic, Literal, TypeVar

from bot.nlp.index import index_forms, query_groups
from bot.nlp.lemmas import stop_words, words

Kind = Literal["word", "phrase", "exclude"]
DigestMode = Literal["first", "only"]
DIGEST_MODES: tuple[DigestMode, ...] = ("first", "only")

# The lead of an article: what a reader sees first, and what matching reads besides the
# title. Longer texts mention everything in passing.
LEAD_CHARS = 600
# A phrase longer than this is a sentence, not an interest.
MAX_PHRASE_WORDS = 6
MAX_TERM_CHARS = 80

T = TypeVar("T")

# "phrase" or «phrase», optionally excluded with a leading minus; else one word.
_TOKEN = re.compile(r'(-?)(?:"([^"]*)"|«([^»]*)»|“([^”]*)”|(\S+))')


def token(value: str) -> str:
    """A short stable name of an interest or an outlet for a button's data, which
    Telegram caps at 64 bytes (a Cyrillic phrase alone can be longer)."""
    return hashlib.blake2s(value.encode(), digest_size=6).hexdigest()


@dataclass(frozen=True, slots=True)
class Interest:
    """One followed word or phrase, or one excluded word.

    `groups` holds, per word, the normal forms any of which match it; `key` names the
    interest whatever form it was typed in, so `/follow Казахстане` after `/follow
    Казахстан` adds nothing."""

    kind: Kind
    term: str
    groups: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        return f"{self.kind}:{' '.join(group[0] for group in self.groups)}"

    @property
    def token(self) -> str:
        return token(self.key)

    def matches(self, item: ItemTerms) -> bool:
        if len(self.groups) == 1:
            return not item.forms.isdisjoint(self.groups[0])
        return item.has_phrase(self.groups)


@dataclass(frozen=True, slots=True)
class ItemTerms:
    """The normal forms of an item's words: as a set, and in order for phrases."""

    forms: frozenset[str]
    sequence: tuple[frozenset[str], ...]

    def has_phrase(self, groups: Sequence[Sequence[str]]) -> bool:
        width = len(groups)
        first = groups[0]
        for start in range(len(self.sequence) - width + 1):
            if self.sequence[start].isdisjoint(first):
                continue
            if all(not self.sequence[start + i].isdisjoint(groups[i]) for i in range(1, width)):
                return True
        return False


def item_terms(title: str, text: str = "") -> ItemTerms:
    """The terms of a title and the lead of its text."""
    lead = text[:LEAD_CHARS]
    sequence = tuple(_forms(word) for word in words(f"{title}\n{lead}"))
    return ItemTerms(frozenset().union(*sequence), sequence)


@lru_cache(maxsize=200_000)
def _forms(word: str) -> frozenset[str]:
    return frozenset(index_forms(word))


def _groups(text: str) -> tuple[tuple[str, ...], ...]:
    # query_groups merges repeated words; a phrase keeps every word in its place.
    return tuple(group for word in words(text) for group in query_groups(word, max_terms=1))


def parse_interests(args: str) -> list[Interest]:
    """`/follow` arguments: each word on its own, "a phrase" (or «phrase») as one,
    `-word` excluded. Stop words alone follow nothing and are left out."""
    found: dict[str, Interest] = {}
    for minus, *quoted in _TOKEN.findall(args):
        phrase = next((q for q in quoted[:3] if q), None)
        bare = quoted[3]
        if phrase is None and not bare:
            continue
        text = phrase if phrase is not None else bare
        groups = _groups(text)
        content = [g for g in groups if g[0] not in stop_words()]
        if not content or len(groups) > MAX_PHRASE_WORDS:
            continue
        # An excluded phrase drops only that phrase: "-чемпионат мира" keeps other news
        # of the world.
        kind: Kind = "exclude" if minus else "word" if len(groups) == 1 else "phrase"
        interest = Interest(kind, " ".join(text.split())[:MAX_TERM_CHARS], groups)
        found.setdefault(interest.key, interest)
    return list(found.values())


def interest_from(kind: str, term: str) -> Interest | None:
    """An interest as the store keeps it (its kind and the words typed); None when the
    words no longer make one (a stop word list that grew)."""
    groups = _groups(term)
    if kind not in ("word", "phrase", "exclude") or not groups:
        return None
    return Interest(kind, term, groups)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Follows:
    """Everything one chat follows and excludes."""

    interests: tuple[Interest, ...] = ()
    followed: tuple[Interest, ...] = field(init=False, repr=False, compare=False)
    excluded: tuple[Interest, ...] = field(init=False, repr=False, compare=False)
    # The forms of every interest's first word: an item with none of them matches none,
    # which one set operation tells for most items.
    _followed_forms: frozenset[str] = field(init=False, repr=False, compare=False)
    _excluded_forms: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        followed = tuple(i for i in self.interests if i.kind != "exclude")
        excluded = tuple(i for i in self.interests if i.kind == "exclude")
        object.__setattr__(self, "followed", followed)
        object.__setattr__(self, "excluded", excluded)
        object.__setattr__(self, "_followed_forms", _first_forms(followed))
        object.__setattr__(self, "_excluded_forms", _first_forms(excluded))

    def wants(self, item: ItemTerms) -> bool:
        """Followed and not excluded."""
        return self.follows(item) and not self.drops(item)

    def follows(self, item: ItemTerms) -> bool:
        if item.forms.isdisjoint(self._followed_forms):
            return False
        return any(i.matches(item) for i in self.followed)

    def drops(self, item: ItemTerms) -> bool:
        if item.forms.isdisjoint(self._excluded_forms):
            return False
        return any(i.matches(item) for i in self.excluded)


def _first_forms(interests: Iterable[Interest]) -> frozenset[str]:
    return frozenset(form for i in interests for form in i.groups[0])


@dataclass(frozen=True, slots=True)
class Candidate(Generic[T]):
    """One item a digest may show: its terms and its outlet, with what it stands for."""

    value: T
    terms: ItemTerms
    source: str = ""


def arrange(
    items: Iterable[Candidate[T]],
    follows: Follows,
    *,
    mode: str = "first",
    muted: frozenset[str] = frozenset(),
) -> list[T]:
    """The items a chat's digest shows, in order: never an excluded or muted one; in
    "only" mode only followed ones; in "first" mode followed ones first, then the rest,
    each part in the order given. A chat that follows nothing gets everything else."""
    chosen: list[T] = []
    rest: list[T] = []
    for item in items:
        if item.source in muted or follows.drops(item.terms):
            continue
        if follows.follows(item.terms):
            chosen.append(item.value)
        elif mode != "only":
            rest.append(item.value)
    return chosen + rest


class InterestIndex:
    """Many chats' interests, indexed by normal form.

    `match(item)` gives the chats that follow something in the item and exclude nothing
    in it. Each interest is filed under every form of its first word; the item's forms
    pick the few to test, so the work grows with the item and the chats it concerns,
    not with all chats."""

    def __init__(self, chats: Mapping[int, Iterable[Interest]] | None = None) -> None:
        self._followed: dict[str, list[tuple[int, Interest]]] = {}
        self._excluded: dict[str, list[tuple[int, Interest]]] = {}
        for chat_id, interests in (chats or {}).items():
            self.add(chat_id, interests)

    def add(self, chat_id: int, interests: Iterable[Interest]) -> None:
        for interest in interests:
            target = self._excluded if interest.kind == "exclude" else self._followed
            for form in interest.groups[0]:
                target.setdefault(form, []).append((chat_id, interest))

    def _hits(self, table: dict[str, list[tuple[int, Interest]]], item: ItemTerms) -> set[int]:
        hits: set[int] = set()
        for form in item.forms:
            for chat_id, interest in table.get(form, ()):
                if chat_id not in hits and (len(interest.groups) == 1 or interest.matches(item)):
                    hits.add(chat_id)
        return hits

    def match(self, item: ItemTerms) -> set[int]:
        wanted = self._hits(self._followed, item)
        if wanted:
            wanted -= self._hits(self._excluded, item)
        return wanted


def match_each(chats: Mapping[int, Follows], item: ItemTerms) -> set[int]:
    """The same answer as `InterestIndex.match`, chat by chat: the baseline it is measured
    against, and its reference in tests."""
    return {chat_id for chat_id, follows in chats.items() if follows.wants(item)}
