"""What each chat follows and which outlets it turned off: the digest's filter."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.errors import NoInterests, TooManyInterests, UnknownChoice
from bot.models import Followed
from bot.nlp.interests import (
    Follows,
    Interest,
    InterestIndex,
    interest_from,
    parse_interests,
    token,
)
from storage.articles import ArticleRepo
from storage.interests import InterestRepo

# Enough for the topics of one chat; every one of them is tested on every digest item.
MAX_INTERESTS = 50


@dataclass(frozen=True, slots=True)
class FollowChange:
    """What /follow or /unfollow did, and what the chat follows now."""

    changed: tuple[Interest, ...]
    follows: Follows


@dataclass(frozen=True, slots=True)
class Outlet:
    source: str
    muted: bool

    @property
    def token(self) -> str:
        return token(self.source)


class InterestService:
    def __init__(self, interests: InterestRepo, articles: ArticleRepo) -> None:
        self._interests = interests
        self._articles = articles

    async def follows(self, chat_id: int) -> Follows:
        return _follows(await self._interests.of_chat(chat_id))

    async def follow(self, chat_id: int, args: str, *, now: datetime) -> FollowChange:
        """Adds the words, phrases and exclusions in `args`; those already followed are
        kept once."""
        parsed = parse_interests(args)
        if not parsed:
            raise NoInterests(args)
        current = await self.follows(chat_id)
        known = {i.key for i in current.interests}
        new = [i for i in parsed if i.key not in known]
        if len(known) + len(new) > MAX_INTERESTS:
            raise TooManyInterests(MAX_INTERESTS)
        await self._interests.add(chat_id, [Followed(i.key, i.kind, i.term) for i in new], now=now)
        return FollowChange(tuple(new), await self.follows(chat_id))

    async def unfollow(self, chat_id: int, args: str) -> FollowChange:
        """Removes the interests `args` names; a word given without its minus removes its
        exclusion as well as the word, and words without quotes the phrase they make."""
        parsed = parse_interests(args)
        if not parsed:
            raise NoInterests(args)
        if not any(mark in args for mark in '"«»“”'):
            parsed += parse_interests(f'"{args}"')
        current = await self.follows(chat_id)
        names = {i.key for i in parsed}
        names |= {"exclude:" + i.key.partition(":")[2] for i in parsed}
        gone = [i for i in current.interests if i.key in names]
        await self._interests.remove(chat_id, [i.key for i in gone])
        return FollowChange(tuple(gone), await self.follows(chat_id))

    async def remove(self, chat_id: int, name: str) -> FollowChange:
        """Removes the interest whose `token` is `name` (a button under /follow)."""
        current = await self.follows(chat_id)
        gone = [i for i in current.interests if i.token == name]
        await self._interests.remove(chat_id, [i.key for i in gone])
        return FollowChange(tuple(gone), await self.follows(chat_id))

    async def index(self) -> InterestIndex:
        """Every chat's interests, indexed for matching one new item against all."""
        return interest_index(await self._interests.every_chat())

    # -- outlets ------------------------------------------------------------------------

    async def muted(self, chat_id: int) -> frozenset[str]:
        return await self._interests.muted(chat_id)

    async def follows_many(self, chat_ids: Sequence[int]) -> dict[int, Follows]:
        """`follows` of many chats at once (a page of the digest round)."""
        found = await self._interests.of_chats(chat_ids)
        return {chat: _follows(found.get(chat, ())) for chat in chat_ids}

    async def muted_many(self, chat_ids: Sequence[int]) -> dict[int, frozenset[str]]:
        """`muted` of many chats at once."""
        found = await self._interests.muted_of_chats(chat_ids)
        return {chat: found.get(chat, frozenset()) for chat in chat_ids}

    async def outlets(self, chat_id: int) -> list[Outlet]:
        """The outlets of the stored articles, each on or off for this chat."""
        muted = await self._interests.muted(chat_id)
        known = await self._articles.sources()
        # An outlet turned off stays listed (to turn it on again) after its articles go.
        names = [*known, *sorted(muted - set(known))]
        return [Outlet(name, name in muted) for name in names]

    async def toggle(self, chat_id: int, name: str) -> list[Outlet]:
        """Turns the outlet whose token is `name` off, or on again."""
        outlets = await self.outlets(chat_id)
        outlet = next((o for o in outlets if o.token == name), None)
        if outlet is None:
            raise UnknownChoice(name)
        await self._interests.set_muted(chat_id, outlet.source, not outlet.muted)
        return await self.outlets(chat_id)


def interest_index(chats: Mapping[int, Sequence[Followed]]) -> InterestIndex:
    """The stored interests of many chats, indexed for matching one new item."""
    index = InterestIndex()
    for chat_id, rows in chats.items():
        index.add(chat_id, _follows(rows).interests)
    return index


def _follows(rows: Sequence[Followed]) -> Follows:
    found = (interest_from(row.kind, row.term) for row in rows)
    return Follows(tuple(i for i in found if i is not None))
