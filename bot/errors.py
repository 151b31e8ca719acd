"""Domain errors: each maps to one Russian text in the errors router and the CLI."""

from __future__ import annotations


class SvodkaError(Exception):
    """Base of every error a user can cause; never shown with a traceback."""


class ArticleNotFound(SvodkaError):
    def __init__(self, query: str) -> None:
        super().__init__(query)
        self.query = query


class NoArticles(SvodkaError):
    pass


class UnknownAlgorithm(SvodkaError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class BadSentenceCount(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadTime(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadTimezone(SvodkaError):
    def __init__(self, value: str, command: str = "settings") -> None:
        super().__init__(value)
        self.value = value
        self.command = command  # whose example the reply gives: settings or subscribe


class EmptyText(SvodkaError):
    pass


class TextTooLong(SvodkaError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(length, limit)
        self.length = length
        self.limit = limit


class BadArticleFile(SvodkaError):
    """A file that is missing, binary, not UTF-8, empty or of an unknown shape."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path
        self.reason = reason


class UnknownSetting(SvodkaError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class BadCount(SvodkaError):
    """A number argument out of range, e.g. `/latest 500`."""

    def __init__(self, value: str, limit: int) -> None:
        super().__init__(value, limit)
        self.value = value
        self.limit = limit


class BadSubscribe(SvodkaError):
    """`/subscribe` with words that are neither a time nor a time zone."""


class StoryNotFound(SvodkaError):
    """No story by that number in the chat's digest or list (None: no number given)."""

    def __init__(self, number: str | None) -> None:
        super().__init__(number)
        self.number = number


class NoInterests(SvodkaError):
    """`/follow` or `/unfollow` with no word that can be followed."""

    def __init__(self, args: str) -> None:
        super().__init__(args)
        self.args_text = args


class TooManyInterests(SvodkaError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class UnknownChoice(SvodkaError):
    """A button or an argument that names nothing the chat has (any more)."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadMode(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadQuiet(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadAlerts(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class BadLanguage(SvodkaError):
    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class ChannelRefused(SvodkaError):
    """`/subscribe @channel` (or `/unsubscribe`) that cannot be done, with each thing that
    is missing: "not_found", "not_channel", "user_not_admin", "bot_not_admin",
    "bot_cannot_post"."""

    def __init__(self, channel: str, problems: tuple[str, ...]) -> None:
        super().__init__(channel, problems)
        self.channel = channel
        self.problems = problems


class TooManyLinks(SvodkaError):
    """More pages asked for in a minute than LINKS_PER_MINUTE allows."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds
