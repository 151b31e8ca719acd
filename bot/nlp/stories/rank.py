"""How important a story is at a given moment.

A story weighs more the more outlets tell it (one outlet repeating itself counts
once), the more articles it has (updates say it is moving), the more recent its latest
article and the faster it grew. The scale is only for ordering stories.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RankTuning:
    # Weight of the articles against the outlets (log2 of each, plus one).
    articles_weight: float = 0.3
    # A story loses half its weight for every `half_life` since its latest article.
    half_life: timedelta = timedelta(hours=12)
    # Outlets joining within `burst` of the first report make a story "fast".
    burst: timedelta = timedelta(hours=3)
    speed_weight: float = 0.3


DEFAULT_RANK = RankTuning()


def weight(
    sources: Sequence[str],
    times: Sequence[datetime],
    now: datetime,
    tuning: RankTuning = DEFAULT_RANK,
) -> float:
    """The weight of a story whose articles come from `sources` at `times` (one entry
    per article, in any order)."""
    if not times:
        return 0.0
    outlets = len(set(sources)) or 1
    articles = len(times)
    first, latest = min(times), max(times)
    mass = math.log2(1 + outlets) + tuning.articles_weight * math.log2(1 + articles)
    age = max(timedelta(0), now - latest)
    recency = 0.5 ** (age / tuning.half_life)
    # The outlets that reported within the burst window of the first article.
    early = {s for s, t in zip(sources, times, strict=True) if t - first <= tuning.burst}
    speed = 1 + tuning.speed_weight * math.log2(len(early) or 1)
    return mass * recency * speed
