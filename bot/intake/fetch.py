"""HTTP for intake: one aiohttp session, timeouts, a size cap, conditional requests, charsets."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp

from bot.intake.errors import (
    BadUrl,
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
    """Owns the one ClientSession intake uses; `start()` before use, `close()` at shutdown."""

    def __init__(
        self,
        *,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BYTES,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                # `total` bounds a server that trickles bytes forever, not only a silent one.
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": self.user_agent, "Accept": ACCEPT},
                # A few sockets per host: polite to news sites, enough for teaser pages.
                connector=aiohttp.TCPConnector(limit=16, limit_per_host=4),
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

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Response:
        """GET with If-None-Match / If-Modified-Since when given; a 304 comes back as a
        Response whose `not_modified` is true. Raises IntakeError for everything else
        that is not a 2xx with a body under the size cap."""
        url = check_url(url)
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
        try:
            async with self._session.get(
                url, headers=headers, allow_redirects=True, max_redirects=_MAX_REDIRECTS
            ) as resp:
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
        except TimeoutError as exc:
            raise FetchTimeout(url, self.timeout) from exc
        except aiohttp.NonHttpUrlRedirectClientError as exc:
            # A redirect to ftp:, file: and the like: refused like the URL itself would be.
            target = str(exc.args[0]) if exc.args else ""
            raise UnsupportedScheme(url, urlsplit(target).scheme or "?") from exc
        except aiohttp.InvalidURL as exc:
            raise BadUrl(url) from exc
        except aiohttp.TooManyRedirects as exc:
            raise FetchFailed(url, "too many redirects") from exc
        except aiohttp.ClientError as exc:
            raise FetchFailed(url, type(exc).__name__) from exc

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
