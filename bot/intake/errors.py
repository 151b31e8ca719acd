"""What can go wrong when articles come from the web; each maps to one Russian text."""

from __future__ import annotations

from bot.errors import SvodkaError


class IntakeError(SvodkaError):
    """A URL, a response or a feed we cannot use.

    `transient` errors (timeouts, refused connections, 5xx, 429) may pass by themselves:
    a feed entry that hit one is retried at the next poll instead of being given up.
    """

    transient = False

    def __init__(self, url: str, *args: object) -> None:
        super().__init__(url, *args)
        self.url = url

    @property
    def reason(self) -> str:
        """A short English reason for logs and the feeds table."""
        return type(self).__name__


class BadUrl(IntakeError):
    """Not an absolute URL with a host."""

    @property
    def reason(self) -> str:
        return "not a URL"


class UnsupportedScheme(IntakeError):
    def __init__(self, url: str, scheme: str) -> None:
        super().__init__(url, scheme)
        self.scheme = scheme

    @property
    def reason(self) -> str:
        return f"unsupported scheme {self.scheme!r}"


class BlockedAddress(IntakeError):
    """A URL whose host is, or resolves to, an address the bot must not reach: its own
    machine, a private network, link-local, multicast or reserved ranges."""

    def __init__(self, url: str, host: str) -> None:
        super().__init__(url, host)
        self.host = host

    @property
    def reason(self) -> str:
        return f"address of {self.host} is not public"


class HttpStatusError(IntakeError):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(url, status)
        self.status = status

    @property
    def transient(self) -> bool:  # type: ignore[override]
        return self.status >= 500 or self.status in (408, 429)

    @property
    def reason(self) -> str:
        return f"HTTP {self.status}"


class FetchTimeout(IntakeError):
    transient = True

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(url, seconds)
        self.seconds = seconds

    @property
    def reason(self) -> str:
        return f"no answer within {self.seconds:g} s"


class FetchFailed(IntakeError):
    """The connection could not be made or broke off (DNS, refused, reset, TLS, redirects)."""

    transient = True

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(url, detail)
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"connection failed: {self.detail}"


class ResponseTooLarge(IntakeError):
    def __init__(self, url: str, limit: int) -> None:
        super().__init__(url, limit)
        self.limit = limit

    @property
    def reason(self) -> str:
        return f"response larger than {self.limit} bytes"


class BadFeed(IntakeError):
    """The response claims to be a feed (or was added as one) but is not well-formed."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(url, detail)
        self.detail = detail

    @property
    def reason(self) -> str:
        return f"malformed feed: {self.detail}"


class EmptyFeed(IntakeError):
    @property
    def reason(self) -> str:
        return "feed has no entries"


class NoArticleText(IntakeError):
    """A page from which no article text could be extracted."""

    @property
    def reason(self) -> str:
        return "no article text on the page"


class FeedNotFound(SvodkaError):
    """`/feed_remove N` or `/feed_resume N` with a number no feed has."""

    def __init__(self, number: str) -> None:
        super().__init__(number)
        self.number = number
