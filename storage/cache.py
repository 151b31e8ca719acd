"""Summaries and key points, cached per article so sumy runs once per setting."""

from __future__ import annotations

import json
import logging

from bot.clock import utc_now
from bot.models import KeyPoint, Points, Summary
from storage.db import Database, to_db_time

logger = logging.getLogger(__name__)

# The primary key needs values; points depend on neither algorithm nor length.
_POINTS_ALGORITHM = ""
_POINTS_LENGTH = 0

# The article may be deleted between computing a summary and storing it; the EXISTS
# guard makes that a no-op instead of a foreign-key error.
_PUT = """
    INSERT INTO summaries (article_id, kind, algorithm, length, payload, created_at)
    SELECT ?, ?, ?, ?, ?, ?
    WHERE EXISTS (SELECT 1 FROM articles WHERE id = ?)
    ON CONFLICT (article_id, kind, algorithm, length)
    DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at
"""
_GET = (
    "SELECT payload FROM summaries"
    " WHERE article_id = ? AND kind = ? AND algorithm = ? AND length = ?"
)


def _stamp() -> str:
    # When an entry was computed, for people reading the table; nothing compares it.
    return to_db_time(utc_now())


class SummaryCache:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get_summary(self, article_id: int, algorithm: str, sentences: int) -> Summary | None:
        row = await self._db.fetchone(_GET, (article_id, "summary", algorithm, sentences))
        if row is None:
            return None
        try:
            stored = json.loads(row["payload"])
            return Summary(article_id, algorithm, tuple(str(s) for s in stored))
        except (ValueError, TypeError):
            # An unreadable entry is a miss: the caller recomputes and overwrites it.
            logger.warning("unreadable cached summary for article %s", article_id)
            return None

    async def put_summary(self, summary: Summary, sentences: int) -> None:
        payload = json.dumps(list(summary.sentences), ensure_ascii=False)
        await self._db.execute(
            _PUT,
            (
                summary.article_id,
                "summary",
                summary.algorithm,
                sentences,
                payload,
                _stamp(),
                summary.article_id,
            ),
        )

    async def get_points(self, article_id: int) -> Points | None:
        row = await self._db.fetchone(
            _GET, (article_id, "points", _POINTS_ALGORITHM, _POINTS_LENGTH)
        )
        if row is None:
            return None
        try:
            stored = json.loads(row["payload"])
            items = tuple(KeyPoint(str(i["text"]), str(i["detail"])) for i in stored["items"])
            return Points(items=items, enumerated=bool(stored["enumerated"]))
        except (ValueError, TypeError, KeyError):
            logger.warning("unreadable cached points for article %s", article_id)
            return None

    async def put_points(self, article_id: int, points: Points) -> None:
        payload = json.dumps(
            {
                "enumerated": points.enumerated,
                "items": [{"text": p.text, "detail": p.detail} for p in points.items],
            },
            ensure_ascii=False,
        )
        await self._db.execute(
            _PUT,
            (
                article_id,
                "points",
                _POINTS_ALGORITHM,
                _POINTS_LENGTH,
                payload,
                _stamp(),
                article_id,
            ),
        )

    async def clear(self, article_id: int | None = None) -> None:
        """Forgets the summaries and points of one article, or of all."""
        if article_id is None:
            await self._db.execute("DELETE FROM summaries")
        else:
            await self._db.execute("DELETE FROM summaries WHERE article_id = ?", (article_id,))
