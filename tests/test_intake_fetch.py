"""The safe fetcher: only public addresses unless FETCH_ALLOW_PRIVATE, in every form a
host can take, after every redirect, and for names that resolve to private addresses."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot import texts
from bot.config import Settings
from bot.intake import Fetcher, IntakeService
from bot.intake.errors import BlockedAddress, FetchFailed, UnsupportedScheme
from bot.intake.fetch import AddressPolicy, literal_address
from storage.articles import ArticleRepo
from storage.db import Database
from storage.feeds import FeedRepo
from tests.conftest import ADMIN_ID, RunningBot
from tests.site import Site
from tests.test_intake_feeds import Item, html_page, rss, ru_text, ru_title, teaser

NOW = datetime(2025, 6, 17, 9, 0, tzinfo=UTC)
SECRET = "Внутренний пароль администратора: хризантема-42. Никому не сообщайте его."
SECRET_PAGE = html_page("Служебная страница", "\n\n".join([SECRET] * 4))


@pytest.fixture
async def internal() -> AsyncIterator[Site]:
    """A machine inside the network (127.0.0.2): what the bot must never read."""
    server = Site(host="127.0.0.2")
    await server.start()
    server.put("/admin", SECRET_PAGE)
    server.put("/secret", SECRET_PAGE)
    try:
        yield server
    finally:
        await server.close()


class FakeDns(AbstractResolver):
    """Names resolved from a table, as a DNS server would answer; counts lookups."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.lookups.append(host)
        if host not in self.table:
            raise OSError(f"no such host {host}")
        address = self.table[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        return None


def service(db: Database, fetcher: Fetcher) -> IntakeService:
    return IntakeService(fetcher, ArticleRepo(db), FeedRepo(db))


# --- the rules ------------------------------------------------------------------------

REFUSED_ALWAYS = [
    "169.254.169.254",  # cloud metadata
    "fe80::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",
    "::",
    "0.1.2.3",
    "240.0.0.1",
    "255.255.255.255",
    "fec0::1",
    "::ffff:169.254.169.254",
]
PRIVATE = ["127.0.0.1", "127.8.9.10", "10.0.0.5", "172.16.3.4", "192.168.1.1", "::1", "fc00::7"]
PRIVATE += ["::ffff:127.0.0.1", "::ffff:10.0.0.5", "64:ff9b::7f00:1", "2002:7f00:1::1"]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2001:4860:4860::8888", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED_ALWAYS + PRIVATE)
def test_private_and_special_addresses_are_refused_by_default(address: str) -> None:
    assert not AddressPolicy().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PRIVATE)
def test_allow_private_opens_loopback_and_private_networks(address: str) -> None:
    assert AddressPolicy(allow_private=True).allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", REFUSED_ALWAYS)
def test_link_local_multicast_and_reserved_stay_refused_with_allow_private(address: str) -> None:
    assert not AddressPolicy(allow_private=True).allows(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert AddressPolicy().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:7f00:1", "::ffff:127.0.0.1"),
        ("example.ru", None),
        ("cafe", None),
        ("1e100.net", None),
    ],
)
def test_numeric_hosts_are_read_the_way_the_resolver_reads_them(
    host: str, address: str | None
) -> None:
    expected = ipaddress.ip_address(address) if address else None
    assert literal_address(host) == expected


# --- every form of an internal URL, before any connection ------------------------------


def forms(site: Site) -> list[str]:
    port = site.port
    return [
        f"http://127.0.0.1:{port}/admin",
        f"http://localhost:{port}/admin",
        f"http://LOCALHOST.:{port}/admin",
        f"http://status.localhost:{port}/admin",
        f"http://0x7f000001:{port}/admin",
        f"http://2130706433:{port}/admin",
        f"http://017700000001:{port}/admin",
        f"http://127.1:{port}/admin",
        f"http://[::1]:{port}/admin",
        f"http://[::ffff:127.0.0.1]:{port}/admin",
        f"http://user:pw@127.0.0.1:{port}/admin",
        # Full-width digits and dots: folded to 127.0.0.1 by IDNA, as aiohttp would.
        f"http://１２７．０．０．１:{port}/admin",
        f"https://127.0.0.1:{port}/admin",
    ]


async def test_every_form_of_a_loopback_url_is_refused_without_a_request(
    site: Site, db: Database
) -> None:
    site.put("/admin", SECRET_PAGE)
    intake = service(db, Fetcher(timeout=2.0))
    for url in forms(site):
        with pytest.raises(BlockedAddress) as caught:
            await intake.ingest_url(url, now=NOW)
        assert texts.error_text(caught.value).startswith("Адрес ")
        with pytest.raises(BlockedAddress):
            await intake.add_feed(url, now=NOW)
    await intake.close()
    assert site.requests == []
    assert await ArticleRepo(db).count() == 0 and await FeedRepo(db).all() == []


async def test_with_allow_private_the_same_site_is_read(site: Site, db: Database) -> None:
    site.put("/admin", SECRET_PAGE)
    intake = service(db, Fetcher(timeout=2.0, allow_private=True))
    result = await intake.ingest_url(f"http://localhost:{site.port}/admin", now=NOW)
    await intake.close()
    assert len(result.added) == 1 and SECRET in result.added[0].article.text


async def test_refusal_is_one_russian_line_naming_the_host() -> None:
    text = texts.error_text(BlockedAddress("http://user:pw@127.0.0.1:1/admin", "127.0.0.1"))
    assert "\n" not in text and "127.0.0.1" in text and "pw" not in text
    assert texts.error_text(BlockedAddress("http://x/", "<b>")) != texts.UNEXPECTED
    assert "&lt;b&gt;" in texts.error_text(BlockedAddress("http://x/", "<b>"))


# --- redirects and names ------------------------------------------------------------------


async def test_a_redirect_into_the_network_is_refused_at_each_hop(
    site: Site, internal: Site, db: Database
) -> None:
    # 127.0.0.1 stands for a public site here; 127.0.0.2 stays internal.
    fetcher = Fetcher(timeout=2.0, exempt=["127.0.0.1/32"])
    intake = service(db, fetcher)
    site.put("/ok", html_page(ru_title(1), ru_text(1)))
    site.put("/hop2", "", status=301, headers={"Location": internal.url("/admin")})
    targets = {
        "/direct": internal.url("/admin"),
        "/relative-then-internal": "/hop2",
        "/localhost": f"http://localhost:{internal.port}/admin",
        "/numeric": f"http://2130706434:{internal.port}/admin",
        "/mapped": f"http://[::ffff:127.0.0.2]:{internal.port}/admin",
    }
    for path, location in targets.items():
        site.put(path, "", status=302, headers={"Location": location})
        with pytest.raises(BlockedAddress):
            await intake.ingest_url(site.url(path), now=NOW)

    site.put("/to-ok", "", status=307, headers={"Location": "/ok"})
    followed = await intake.ingest_url(site.url("/to-ok"), now=NOW)
    site.put("/to-file", "", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(UnsupportedScheme):
        await intake.ingest_url(site.url("/to-file"), now=NOW)
    await intake.close()

    assert internal.requests == []
    assert [item.article.text for item in followed.items] == [ru_text(1)]


async def test_a_name_that_resolves_to_a_private_address_is_refused(
    internal: Site, db: Database
) -> None:
    dns = FakeDns({"intranet.example": "127.0.0.2", "metadata.example": "169.254.169.254"})
    intake = service(db, Fetcher(timeout=2.0, resolver=dns))
    for name in ("intranet.example", "metadata.example"):
        with pytest.raises(BlockedAddress) as caught:
            await intake.ingest_url(f"http://{name}:{internal.port}/admin", now=NOW)
        assert caught.value.host == name
    await intake.close()
    assert internal.requests == []
    assert dns.lookups == ["intranet.example", "metadata.example"]


async def test_the_connection_goes_to_the_address_that_was_checked(
    internal: Site, db: Database
) -> None:
    # With private addresses allowed, the name is looked up once, and the request
    # arrives at the address that lookup gave: nothing resolves it again to connect.
    dns = FakeDns({"intranet.example": "127.0.0.2"})
    intake = service(db, Fetcher(timeout=2.0, resolver=dns, allow_private=True))
    result = await intake.ingest_url(f"http://intranet.example:{internal.port}/admin", now=NOW)
    await intake.close()
    assert len(result.added) == 1
    assert dns.lookups == ["intranet.example"]
    [request] = internal.requests
    assert request.headers["Host"] == f"intranet.example:{internal.port}"


async def test_a_public_feed_whose_teaser_links_point_inside_reads_none_of_them(
    site: Site, internal: Site, db: Database
) -> None:
    """Issue 13, item 4: a third-party feed made the bot fetch an internal page."""
    intake = service(db, Fetcher(timeout=2.0, exempt=["127.0.0.1/32"]))
    links = [
        internal.url("/secret"),
        f"http://localhost:{internal.port}/secret",
        f"http://0x7f000002:{internal.port}/secret",
    ]
    entries = [Item(ru_title(n), link, teaser(n), guid=f"t{n}") for n, link in enumerate(links)]
    url = site.put("/rss", rss(entries), content_type="application/rss+xml")

    added = await intake.add_feed(url, now=NOW)
    await intake.close()

    assert internal.requests == []
    assert added.poll is not None
    stored = await ArticleRepo(db).latest(10)
    # Each entry keeps its own short text; none has the internal page's.
    assert sorted(a.text for a in stored) == sorted(teaser(n) for n in range(3))
    assert all(SECRET not in a.text for a in stored)
    assert [type(note.error) for note in added.poll.notes] == [BlockedAddress] * 3
    assert [note.outcome for note in added.poll.notes] == ["feed_text"] * 3


# --- the bot, end to end -------------------------------------------------------------------


@pytest.fixture
def bot_settings(bot_settings: Settings) -> Settings:
    # The shipped default: only public addresses.
    return bot_settings.model_copy(update={"fetch_allow_private": False})


async def test_admin_add_of_an_internal_page_is_refused_and_search_finds_nothing(
    running: RunningBot, internal: Site
) -> None:
    """Issue 13, item 4: `/add http://127.0.0.1:P/admin` was stored, then found by anyone."""
    port = internal.port
    for url in [
        internal.url("/admin"),
        f"http://localhost:{port}/admin",
        f"http://0x7f000002:{port}/admin",
        f"http://user:pw@127.0.0.2:{port}/admin",
    ]:
        [reply] = await running.say(f"/add {url}", user_id=ADMIN_ID)
        assert reply.text is not None
        assert "локальную или внутреннюю сеть" in reply.text, reply.text
        assert "pw" not in reply.text

    [found] = await running.say("/search хризантема пароль")
    assert found.text is not None and "ничего не нашлось" in found.text
    assert internal.requests == []


async def test_feeds_from_settings_on_internal_addresses_are_skipped(db: Database) -> None:
    intake = service(db, Fetcher())
    urls = ["http://127.0.0.1:8080/rss", "http://[::1]/rss", "https://example.ru/rss"]
    assert await intake.ensure_feeds(urls, now=NOW) == 1
    assert [f.url for f in await intake.list_feeds()] == ["https://example.ru/rss"]


async def test_redirects_are_followed_five_times_at_most(site: Site, db: Database) -> None:
    for n in range(7):
        site.put(f"/r{n}", "", status=302, headers={"Location": f"/r{n + 1}"})
    site.put("/r7", html_page(ru_title(1), ru_text(1)))
    intake = service(db, Fetcher(timeout=2.0, allow_private=True))
    with pytest.raises(FetchFailed) as caught:
        await intake.ingest_url(site.url("/r0"), now=NOW)
    followed = await intake.ingest_url(site.url("/r2"), now=NOW)
    await intake.close()
    assert "too many redirects" in caught.value.reason
    assert [r.path for r in site.requests[:6]] == [f"/r{n}" for n in range(6)]
    assert len(followed.items) == 1
