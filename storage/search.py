"""The full-text index over lemmas: FTS5 in SQLite, a tsvector with a GIN index in
PostgreSQL. Both hold the same lemma strings (bot.nlp.index) and rank title words
`TITLE_WEIGHT` times higher than the body's.

Ranking every match costs time in proportion to how many there are, and a common word
matches most of the store. Only the newest matches are ranked (each index's
`CANDIDATES`); where fewer match, that is all of them, and the result is the same as
ranking everything. Newer matches are the likelier answer for a news bot, and a query
whose best answer is older than that many matches is too vague to have one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from storage.db import Database, Row

# A title hit says more about what the article is about than one in the body.
TITLE_WEIGHT = 10.0

Groups = Sequence[tuple[str, ...]]


class SearchIndex(Protocol):
    async def add(self, article_id: int, title_lemmas: str, text_lemmas: str) -> None: ...

    async def match(
        self, groups: Groups, *, every_word: bool, limit: int, columns: str
    ) -> list[Row]:
        """The best `limit` articles (`columns` of `articles AS a`) that hold every
        group (`every_word`) or any group; a group matches by any of its forms."""
        ...


def _quoted(term: str) -> str:
    # FTS5 reads a NUL as the end of the query string ("unterminated string").
    return '"' + term.replace("\x00", "").replace('"', '""') + '"'


def match_expression(groups: Groups, operator: str) -> str:
    """Each term a quoted FTS5 string, so no user input is ever read as query syntax;
    a word's alternative forms are OR-ed, the words joined by `operator`."""
    parts = [
        _quoted(group[0]) if len(group) == 1 else "(" + " OR ".join(map(_quoted, group)) + ")"
        for group in groups
    ]
    return f" {operator} ".join(parts)


class _Index:
    CANDIDATES: int

    def __init__(self, db: Database, candidates: int | None = None) -> None:
        self._db = db
        self.candidates = candidates or self.CANDIDATES


class Fts5Index(_Index):
    """rowid = articles.id; an AFTER DELETE trigger removes an article's row."""

    # bm25 first counts the rows that hold each term, in one pass over the index (about
    # 10 ms for a word in 80,000 of 100,000 articles); scoring the candidates after that
    # costs little (benchmarks/scale.py).
    CANDIDATES = 1000

    async def add(self, article_id: int, title_lemmas: str, text_lemmas: str) -> None:
        await self._db.execute(
            "INSERT INTO articles_fts (rowid, title_lemmas, text_lemmas) VALUES (?, ?, ?)",
            (article_id, title_lemmas, text_lemmas),
        )

    async def match(
        self, groups: Groups, *, every_word: bool, limit: int, columns: str
    ) -> list[Row]:
        # FTS5 walks its index in rowid order and stops after `candidates` rows: bm25
        # is computed for those only.
        return await self._db.fetchall(
            f"SELECT {columns} FROM (SELECT rowid, bm25(articles_fts, ?, 1.0) AS score"
            " FROM articles_fts WHERE articles_fts MATCH ? ORDER BY rowid DESC LIMIT ?)"
            " AS c JOIN articles AS a ON a.id = c.rowid"
            " ORDER BY c.score, a.id DESC LIMIT ?",
            (
                TITLE_WEIGHT,
                match_expression(groups, "AND" if every_word else "OR"),
                self.candidates,
                limit,
            ),
        )


# The first window, in candidates; each further one is this many times the last.
FIRST_WINDOW = 4
WINDOW_GROWTH = 8
# For the windows after the first, in the search's own transaction (SET LOCAL): rows
# are found through the indexes, the GIN index's matches intersected with the window's
# ids, and only those are read.
_BY_INDEX = "SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = off"
_PLANNER_FREE = "SET LOCAL enable_indexscan = on; SET LOCAL enable_seqscan = on"

# ts_rank's weights are listed for D, C, B, A: the body is D (to_tsvector's default),
# the title A (schema.py).
_WEIGHTS = f"'{{{1 / TITLE_WEIGHT}, 0, 0, 1}}'"


class TsvectorIndex(_Index):
    """article_lemmas.terms and .document are computed by PostgreSQL from the lemma
    strings (schema.py).

    The newest matches are found window by window, newest articles first: first the
    newest FIRST_WINDOW x CANDIDATES articles, each further window WINDOW_GROWTH times
    the last, until there are enough candidates or no articles left. A common word fills
    them in the first window, where checking article after article is cheapest; a rarer
    one then reads its own rows only, through the indexes (the GIN index's matches
    within the window's ids). Left to itself, the planner misjudges how rare a rare word
    is, and would check article after article through the whole store.
    """

    # ts_rank reads each candidate's document from TOAST: fewer candidates than FTS5's
    # keep a common word's search within budget (benchmarks/scale.py).
    CANDIDATES = 250

    async def add(self, article_id: int, title_lemmas: str, text_lemmas: str) -> None:
        await self._db.execute(
            "INSERT INTO article_lemmas (article_id, title_lemmas, text_lemmas) VALUES (?, ?, ?)",
            (article_id, title_lemmas, text_lemmas),
        )

    async def match(
        self, groups: Groups, *, every_word: bool, limit: int, columns: str
    ) -> list[Row]:
        # Each form through the same parser as the document: a hyphenated form is its
        # compound lexeme and its parts (AND-ed, which GIN answers without rechecking
        # rows, unlike a phrase); terms are parameters, never query syntax.
        words = [
            "(" + " || ".join("plainto_tsquery('simple', ?)" for _ in group) + ")"
            for group in groups
        ]
        query = "(" + (" && " if every_word else " || ").join(words) + ")"
        forms = [form for group in groups for form in group]
        async with self._db.transaction():
            row = await self._db.fetchone("SELECT max(article_id) FROM article_lemmas")
            top = int(row[0]) if row is not None and row[0] is not None else 0
            found: list[int] = []
            size, by_index = self.candidates * FIRST_WINDOW, False
            while top > 0 and len(found) < self.candidates:
                window = await self._db.fetchall(
                    "SELECT article_id FROM article_lemmas WHERE article_id <= ?"
                    f" AND article_id > ? AND terms @@ {query}"
                    " ORDER BY article_id DESC LIMIT ?",
                    (top, top - size, *forms, self.candidates - len(found)),
                )
                found += [r[0] for r in window]
                top, size = top - size, size * WINDOW_GROWTH
                if not by_index and top > 0 and len(found) < self.candidates:
                    await self._db.execute(_BY_INDEX)
                    by_index = True
            if by_index:
                await self._db.execute(_PLANNER_FREE)
            if not found:
                return []
            # Ranked on their own: ts_rank reads the candidates' documents only.
            return await self._db.fetchall(
                f"SELECT {columns} FROM article_lemmas AS l"
                " JOIN articles AS a ON a.id = l.article_id WHERE l.article_id = ANY(?)"
                f" ORDER BY ts_rank({_WEIGHTS}, l.document, {query}, 1) DESC, a.id DESC"
                " LIMIT ?",
                (found, *forms, limit),
            )


def search_index(db: Database, candidates: int | None = None) -> SearchIndex:
    return TsvectorIndex(db, candidates) if db.dialect == "postgres" else Fts5Index(db, candidates)
