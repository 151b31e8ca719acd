"""HTTP for intake: one aiohttp session, timeouts, a size cap, conditional requests, charsets,
and the rules for which addresses the bot may reach at all."""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.intake.errors import (
    BadUrl,
    BlockedAddress,
    FetchFailed,
    FetchTimeout,
    HttpStatusError,
    ResponseTooLarge,
    UnsupportedScheme,
)

USER_AGENT = "SvodkaBot/0.1 (news digest)"
MAX_BYTES = 5 * 1024 * 1024
TIMEOUT_SECONDS = 20.0
MAX_URL_CHARS = 2048
_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9,"
    " text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5"
)

# Query parameters that only say where a click came from: two links that differ in them
# are the same article.
_TRACKING_PREFIXES = ("utm_", "openstat", "_openstat", "mc_", "pk_", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gclsrc",
        "yclid",
        "ysclid",
        "msclkid",
        "igshid",
        "ref",
        "ref_src",
        "_ga",
        "_gl",
        "mkt_tok",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def check_url(raw: str) -> str:
    """The URL, stripped, if it is an absolute http(s) URL with a host; raises otherwise."""
    url = raw.strip()
    if not url or len(url) > MAX_URL_CHARS or any(ch.isspace() for ch in url):
        raise BadUrl(url[:200])
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise BadUrl(url) from exc
    scheme = parts.scheme.lower()
    if not scheme or "://" not in url:
        raise BadUrl(url)
    if scheme not in _DEFAULT_PORTS:
        raise UnsupportedScheme(url, scheme)
    if not parts.hostname:
        raise BadUrl(url)
    return url


def normalize_url(url: str) -> str:
    """The form a link is stored and compared in: lowercase scheme and host, no default
    port, no fragment, no tracking parameters, no trailing slash, sorted query."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    # Built from the host alone: credentials in a link are never stored or compared.
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    query = sorted(
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(name)
    )
    path = parts.path.rstrip("/")
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_NAMES or lowered.startswith(_TRACKING_PREFIXES)


# --- which addresses the bot may reach ------------------------------------------------

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# "This network": a connection to 0.0.0.0 reaches the host itself.
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
# NAT64's well-known prefix carries an IPv4 address in its last 32 bits.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# What `socket` reads as an IPv4 address besides dotted quads: 2130706433, 0x7f000001,
# 017700000001, 127.1. yarl leaves them as they are; getaddrinfo does not.
_NUMERIC_HOST = re.compile(r"[0-9a-fA-FxX.]+")


def _embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one stands for (mapped, NAT64, 6to4, Teredo client), so
    that `::ffff:127.0.0.1` is judged as 127.0.0.1."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return address


def literal_address(host: str) -> IPAddress | None:
    """The address a URL's host names by itself, in any form a resolver accepts; None
    for a name that needs a lookup."""
    bare = host.strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(bare):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _is_localhost(host: str) -> bool:
    # RFC 6761: every name under .localhost is the host itself, resolver or not.
    name = host.rstrip(".").lower()
    return name == "localhost" or name.endswith(".localhost")


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses a fetch may connect to. Public ones always; loopback and private
    networks only with `allow_private` (tests, a self-hosted bot reading an intranet
    site). Never: link-local (cloud metadata services live there), multicast,
    unspecified, reserved. `exempt` networks are reachable whatever the rules."""

    allow_private: bool = False
    exempt: tuple[Network, ...] = ()

    def allows(self, address: IPAddress) -> bool:
        if any(address.version == net.version and address in net for net in self.exempt):
            return True
        address = _embedded_ipv4(address)
        if address.is_loopback:
            # Before the reserved check: Python counts ::1 as reserved too.
            return self.allow_private
        if (
            address.is_multicast
            or address.is_unspecified
            or address.is_link_local
            or address.is_reserved
            or address in _THIS_NETWORK
            or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)
        ):
            return False
        return address.is_global or self.allow_private


class _Refused(OSError):
    """Raised inside aiohttp's connector; `Fetcher.get` turns it into BlockedAddress."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, which is not allowed")
        self.host = host
        self.address = address


class CheckingResolver(AbstractResolver):
    """Resolves through `inner` and refuses a name if any of its addresses is not
    allowed. aiohttp connects to exactly the addresses returned here, so a name cannot
    resolve to a public address for the check and a private one for the connection."""

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver) -> None:
        self.policy = policy
        self.inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        for result in results:
            address = ipaddress.ip_address(result["host"].partition("%")[0])
            if not self.policy.allows(address):
                raise _Refused(host, str(address))
        return results

    async def close(self) -> None:
        await self.inner.close()


@dataclass(frozen=True, slots=True)
class Response:
    url: str
    status: int
    content_type: str
    charset: str | None
    body: bytes
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def headers(self) -> dict[str, str]:
        """What feedparser needs to honour the declared charset."""
        value = self.content_type + (f"; charset={self.charset}" if self.charset else "")
        return {"content-type": value}


class Fetcher:
    """Owns the one ClientSession intake uses; `start()` before use, `close()` at shutdown.

    Every URL, and every redirect's target, is checked against `AddressPolicy` before a
    connection is made: a host written as an address here, a host name by the resolver
    that the connection then uses."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
        user_agent: str = USER_AGENT,
        allow_private: bool = False,
        exempt: Iterable[str] = (),
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.policy = AddressPolicy(
            allow_private=allow_private,
            exempt=tuple(ipaddress.ip_network(net) for net in exempt),
        )
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            inner = self._resolver or aiohttp.DefaultResolver()
            self._session = aiohttp.ClientSession(
                # `total` bounds a server that trickles bytes forever, not only a silent one.
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT},
                # A few sockets per host: polite to news sites, enough for teaser pages.
                connector=aiohttp.TCPConnector(
                    limit=16, limit_per_host=4, resolver=CheckingResolver(self.policy, inner)
                ),
                # No proxy from the environment: the address checked is the one connected to.
                trust_env=False,
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def check(self, raw: str) -> str:
        """`check_url`, and a host that names a refused address (or localhost) refused too:
        no network, so a bad feed URL is turned away before it is stored."""
        url = check_url(raw)
        self._check_host(url, _parse(url))
        return url

    def _check_host(self, url: str, target: URL) -> None:
        host = target.host
        if not host:
            raise BadUrl(url)
        address = literal_address(host)
        if address is not None and not self.policy.allows(address):
            raise BlockedAddress(url, host)
        if address is None and _is_localhost(host) and not self.policy.allow_private:
            raise BlockedAddress(url, host)

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Response:
        """GET with If-None-Match / If-Modified-Since when given; a 304 comes back as a
        Response whose `not_modified` is true. Raises IntakeError for everything else
        that is not a 2xx with a body under the size cap, BlockedAddress for a URL or a
        redirect that leads where the policy does not allow."""
        url = self.check(url)
        if self._session is None or self._session.closed:
            # Normally opened at start-up; a caller that skipped it (the offline console)
            # still works, and close() ends the session all the same.
            await self.start()
        assert self._session is not None
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        target = _parse(url)
        try:
            # One deadline for the whole chain of redirects, not one per hop.
            async with asyncio.timeout(self.timeout):
                for _ in range(_MAX_REDIRECTS + 1):
                    # Redirects are followed here, not by aiohttp: each target is checked
                    # like the URL itself before anything connects to it.
                    async with self._session.get(
                        target, headers=headers, allow_redirects=False
                    ) as resp:
                        location = resp.headers.get("Location")
                        if resp.status in _REDIRECTS and location:
                            target = self._redirect(url, resp.url, location)
                            continue
                        return await self._response(url, resp, etag, last_modified)
        except TimeoutError as exc:
            raise FetchTimeout(url, self.timeout) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, _Refused):
                raise BlockedAddress(url, exc.os_error.host) from exc
            raise FetchFailed(url, type(exc).__name__) from exc
        except aiohttp.InvalidURL as exc:
            raise BadUrl(url) from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(url, type(exc).__name__) from exc
        raise FetchFailed(url, "too many redirects")

    def _redirect(self, url: str, base: URL, location: str) -> URL:
        try:
            target = base.join(URL(location))
        except ValueError as exc:
            raise BadUrl(url) from exc
        scheme = target.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            # A redirect to ftp:, file: and the like: refused like the URL itself would be.
            raise UnsupportedScheme(url, scheme or "?")
        self._check_host(url, target)
        return target

    async def _response(
        self,
        url: str,
        resp: aiohttp.ClientResponse,
        etag: str | None,
        last_modified: str | None,
    ) -> Response:
        final = str(resp.url)
        if resp.status == 304:
            return Response(final, 304, "", None, b"", etag, last_modified)
        if not 200 <= resp.status < 300:
            raise HttpStatusError(url, resp.status)
        if resp.content_length is not None and resp.content_length > self.max_bytes:
            raise ResponseTooLarge(url, self.max_bytes)
        body = await self._read(resp, url)
        return Response(
            url=final,
            status=resp.status,
            content_type=resp.content_type.lower(),
            charset=_known_charset(resp.charset),
            body=body,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
        )

    async def _read(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        # Content-Length may be absent or wrong (and gzip expands): count what arrives,
        # after decompression, and stop at the cap instead of buffering 20 MB.
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise ResponseTooLarge(url, self.max_bytes)
            chunks.append(chunk)
        return b"".join(chunks)


def _parse(url: str) -> URL:
    # yarl is what aiohttp connects by: the host checked is the host it will use
    # (it folds full-width and other look-alike digits and dots, for one).
    try:
        return URL(url)
    except ValueError as exc:
        raise BadUrl(url) from exc


def _known_charset(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None


_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def html_encoding(body: bytes, header_charset: str | None) -> str:
    """The encoding of an HTML page, in the order browsers use: BOM, the HTTP header,
    `<meta charset>` in the head, then a guess (valid UTF-8, else charset_normalizer)."""
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name
    if charset := _known_charset(header_charset):
        return charset
    found = _META_CHARSET.search(body[:4096])
    if found and (charset := _known_charset(found.group(1).decode("ascii"))):
        return charset
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    from charset_normalizer import from_bytes

    best = from_bytes(body[:65536]).best()
    # Russian sites that declare nothing are nearly always windows-1251.
    return best.encoding if best is not None else "cp1251"


def decode_html(body: bytes, header_charset: str | None) -> str:
    encoding = html_encoding(body, header_charset)
    text = body.decode(encoding, errors="replace")
    return text.removeprefix("\ufeff")
