"""Dates out of range: clamped when stored, from feeds and files; shown safely when an
older store holds one (issue 13, item 5: year 9999 broke /latest, /digest and the
scheduled digest in every zone east of UTC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import texts
from bot.__main__ import main
from bot.digest import latest_due
from bot.intake import Fetcher, IntakeService
from bot.models import NewArticle
from bot.render import format_date
from storage.articles import EARLIEST_DATE, ArticleRepo, sane_date
from storage.db import Database
from storage.feeds import FeedRepo
from storage.subscriptions import SubscriptionRepo
from tests.botapi import DEFAULT_USER_ID, FakeTelegram
from tests.conftest import RunningBot
from tests.site import Site
from tests.test_intake_feeds import Item, rss, ru_text, ru_title

NOW = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (YEAR_9999, NOW),
        (NOW + timedelta(days=400), NOW),
        (YEAR_1, EARLIEST_DATE),
        (datetime(1899, 12, 31, tzinfo=UTC), EARLIEST_DATE),
        # A few hours ahead is a feed in a wrong zone: kept as it is.
        (NOW + timedelta(hours=5), NOW + timedelta(hours=5)),
        (datetime(1995, 3, 1, tzinfo=UTC), datetime(1995, 3, 1, tzinfo=UTC)),
        (datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_dates_are_kept_within_a_sane_range(given: datetime, kept: datetime) -> None:
    assert sane_date(given, now=NOW) == kept


async def test_the_store_clamps_what_it_is_given(articles: ArticleRepo) -> None:
    late, _ = await articles.add(NewArticle("А", "Текст один.", published_at=YEAR_9999), now=NOW)
    early, _ = await articles.add(NewArticle("Б", "Текст два.", published_at=YEAR_1), now=NOW)
    assert (late.published_at, early.published_at) == (NOW, EARLIEST_DATE)
    assert [a.published_at for a in await articles.latest()] == [EARLIEST_DATE, NOW]


async def test_a_feed_pubdate_of_year_9999_is_stored_as_the_time_it_arrived(
    site: Site, db: Database
) -> None:
    items = [
        Item(ru_title(1), site.url("/n/1"), ru_text(1), guid="1", published=YEAR_9999),
        Item(ru_title(2), site.url("/n/2"), ru_text(2), guid="2", published=YEAR_1),
    ]
    async with Fetcher(timeout=2.0, allow_private=True) as fetcher:
        intake = IntakeService(fetcher, ArticleRepo(db), FeedRepo(db))
        result = await intake.ingest_url(site.put("/rss", rss(items)), now=NOW)
    dates = {item.article.title: item.article.published_at for item in result.items}
    assert dates == {ru_title(1): NOW, ru_title(2): EARLIEST_DATE}


def test_json_dates_out_of_range_are_clamped_by_ingest(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = cli_env / "far.jsonl"
    rows = [
        {"title": "Далёкое будущее", "text": "Текст о будущем.", "published_at": "9999-12-31"},
        # West of UTC, the last moment of year 9999 has no UTC form at all.
        {"title": "Ещё дальше", "text": "Текст о дальнем.", "date": "9999-12-31T23:00:00-05:00"},
        {"title": "Древность", "text": "Текст о прошлом.", "date": "0001-01-01T00:00:00"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")

    assert main(["ingest", str(path)]) == 0
    assert main(["summarize", "1"]) == 0
    assert main(["summarize", "3"]) == 0
    out = capsys.readouterr().out
    assert "9999" not in out and "0001-01-01" not in out
    assert EARLIEST_DATE.isoformat(timespec="minutes") in out


@pytest.mark.parametrize(
    "zone", ["Europe/Moscow", "Asia/Kamchatka", "Pacific/Kiritimati", "America/New_York"]
)
@pytest.mark.parametrize("moment", [YEAR_9999, YEAR_1, datetime.max.replace(tzinfo=UTC)])
def test_a_date_at_the_edge_of_datetime_is_shown_in_any_zone(moment: datetime, zone: str) -> None:
    assert str(moment.year) in format_date(moment, zone)


async def test_an_old_store_with_dates_out_of_range_still_answers_and_sends_digests(
    running: RunningBot, tg: FakeTelegram
) -> None:
    """Stored before dates were clamped: year 9999 east of UTC (Moscow, the default)
    and year 1 west of it are shown, not an apology."""
    subscriptions = running.app.subscriptions
    repo = SubscriptionRepo(running.app.services.db)
    [subscribed] = await running.say("/subscribe 09:00")
    assert subscribed.text is not None and "Europe/Moscow" in subscribed.text
    periods: list[str] = []
    for days, (stored, zone) in enumerate(
        [
            ("9999-12-31T23:59:59.999999+00:00", None),
            ("0001-01-01T00:00:00.000000+00:00", "America/New_York"),
        ],
        start=2,
    ):
        await running.app.services.db.execute("UPDATE articles SET published_at = ?", (stored,))
        # Each round starts with no digest sent, so each shows the article again.
        await running.app.services.db.execute("DELETE FROM digest_runs")
        if zone is not None:
            # "Сохранено." and the settings themselves.
            await running.say(f"/settings timezone {zone}", count=2)
        for command in ("/latest", "/digest", "/summary 1"):
            replies = await running.say(command)
            assert all(texts.UNEXPECTED not in (r.text or "") for r in replies), command
            if command.startswith("/summary"):
                # The article's own header shows its date; lists of stories show none.
                assert stored[:4].lstrip("0") in (replies[0].text or ""), command

        # The scheduled digest is sent, and its run is not left pending for another try.
        subscription = await repo.get(DEFAULT_USER_ID)
        assert subscription is not None
        # A period after today's, which `/subscribe` and `/digest` above may have taken,
        # and another one each round: a period's digest is recorded once, and New York's
        # latest 09:00 may fall on the date Moscow's did in the round before.
        moment = datetime.now(UTC) + timedelta(days=days)
        due = latest_due(subscription, moment)
        while due is not None and periods and due[0] <= periods[-1]:
            moment += timedelta(days=1)
            due = latest_due(subscription, moment)
        assert due is not None
        periods.append(due[0])
        before = len(tg.sent(DEFAULT_USER_ID))
        assert await subscriptions.run_digest(DEFAULT_USER_ID, now=due[1] + timedelta(minutes=1))
        assert len(tg.sent(DEFAULT_USER_ID)) > before
        assert await repo.pending_runs() == []
