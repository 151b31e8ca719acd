"""A small in-process copy of hot rows.

Where the bot is the only writer of its database (SQLite: one process), a copy kept
beside the repository that does the writing stays true; where other processes share the
store (PostgreSQL), only rows that never change may be kept. It saves a trip to the
database on the commonest requests: a cached summary of a recent article.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """Least recently used entries, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self.size:
            self._items.popitem(last=False)

    def split(self, keys: Iterable[K]) -> tuple[dict[K, V], list[K]]:
        """The kept values among `keys`, and the keys not kept (each once): what a
        repository reads of many rows in one query, the rest from memory."""
        kept: dict[K, V] = {}
        missing: dict[K, None] = {}
        for key in keys:
            value = self.get(key)
            if value is None:
                missing[key] = None
            else:
                kept[key] = value
        return kept, list(missing)

    def pop(self, key: K) -> None:
        self._items.pop(key, None)

    def discard_where(self, stale: Callable[[K], bool]) -> None:
        for key in [key for key in self._items if stale(key)]:
            del self._items[key]
