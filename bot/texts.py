"""Every string a user sees, in Russian, and plural forms. Placeholders take escaped HTML.

The Russian strings are also the message ids of the translation catalogs (bot/locales;
`python -m bot.catalogs` adds new ones): reading a string constant of this module, as
`texts.NAME`, gives it in the language of the update being answered (bot.language), or
as written here when no catalog has it yet. Functions below translate with `_()`.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.language import translate as _
from bot.language import translate_plural

if TYPE_CHECKING:
    from bot.intake.service import EntryNote


class _Translated(types.ModuleType):
    """`texts.NAME` in the current language, for every string constant (new ones too)."""

    def __getattribute__(self, name: str) -> Any:
        value = super().__getattribute__(name)
        if type(value) is str and not name.startswith("_"):
            return _(value)
        return value


sys.modules[__name__].__class__ = _Translated

# The command menus and /help are built from these tables, so they cannot disagree.
COMMANDS: Sequence[tuple[str, str, str]] = (
    # (command, arguments, description)
    ("start", "", "что умеет бот"),
    ("help", "", "список команд"),
    ("latest", "[N]", "последние сюжеты"),
    ("story", "N", "сюжет: все источники и изложение"),
    ("stories", "", "все сюжеты за сутки"),
    ("summary", "[номер, слова или ссылка]", "краткое изложение статьи или страницы"),
    ("points", "[номер или слова]", "главные тезисы статьи"),
    ("more", "", "изложение подробнее"),
    ("full", "[номер]", "полный текст статьи"),
    ("search", "слова", "поиск по статьям"),
    ("subscribe", "[@канал] [ЧЧ:ММ] [город]", "ежедневная сводка в этот чат или канал"),
    ("unsubscribe", "[@канал]", "отключить сводку"),
    ("subscriptions", "", "подписки чатов, которыми вы управляете"),
    ("digest", "", "сводка прямо сейчас"),
    (
        "settings",
        "[алгоритм A | длина N | пояс город | язык ru/en | режим первые/только"
        " | тишина ЧЧ:ММ-ЧЧ:ММ]",
        "настройки чата",
    ),
    ("follow", "[слова, «фраза», -слово]", "следить за темами; без слов — список"),
    ("unfollow", "слова", "перестать следить"),
    ("sources", "", "источники: включить и выключить"),
    ("alerts", "[вкл | выкл | обновления]", "сразу присылать новости по интересам"),
)
# In the menus of ADMIN_IDS only (each admin's own chat), and in their /help.
ADMIN_COMMANDS: Sequence[tuple[str, str, str]] = (
    ("add", "текст или ссылка", "добавить статью"),
    ("feeds", "", "ленты новостей"),
    ("feed_add", "ссылка", "добавить ленту RSS/Atom"),
    ("feed_remove", "N", "удалить ленту"),
    ("feed_resume", "N", "возобновить ленту"),
)

# The empty chat's screen (setMyDescription) and the bot's profile (setMyShortDescription).
DESCRIPTION = (
    "Сводка пересказывает новости на русском языке: краткое изложение из предложений "
    "самой статьи, главные тезисы, поиск и ежедневная сводка в личный чат, группу или канал."
)
SHORT_DESCRIPTION = "Новости кратко: изложение, тезисы и ежедневная сводка."

GREETING = (
    "<b>Сводка</b> — бот новостей на русском языке. Я храню статьи, пишу их краткое "
    "изложение из предложений самой статьи, выделяю главные тезисы и каждый день "
    "присылаю сводку в подписанные чаты."
)
WELCOME = (
    "<b>Сводка</b>: новости кратко. Пришлите слово — найду статьи о нём; "
    "кнопки ниже — сводка за сегодня, подписка и все команды."
)
BTN_TODAY = "Сводка за сегодня"
BTN_SUBSCRIBE = "Подписаться"
BTN_HELP = "Команды"
COMMANDS_TITLE = "<b>Команды</b>"
ADMIN_COMMANDS_TITLE = "<b>Для администраторов бота</b>"
REPLY_HINT = (
    "Ответьте на моё сообщение о статье командой /points, /summary, /more или /full — "
    "и я отвечу про ту же статью."
)
GROUP_HINT = "В группе обращайтесь ко мне командами, например /summary@{username}."
GROUP_INTRO = (
    "Всем привет! Я <b>Сводка</b>: кратко пересказываю новости и выделяю главные тезисы. "
    "Список команд: /help@{username}"
)
UNKNOWN_COMMAND = "Такой команды нет. Список команд: /help"


def command_lines(commands: Sequence[tuple[str, str, str]]) -> list[str]:
    lines = []
    for name, args, description in commands:
        suffix = f" {_(args)}" if args else ""
        lines.append(f"/{name}{_escape(suffix)} — {_(description)}")
    return lines


def help_text(username: str | None = None, *, admin: bool = False) -> str:
    lines = [_(GREETING), "", _(COMMANDS_TITLE), *command_lines(COMMANDS)]
    if admin:
        lines += ["", _(ADMIN_COMMANDS_TITLE), *command_lines(ADMIN_COMMANDS)]
    lines += ["", _(REPLY_HINT)]
    if username:
        lines += ["", _(GROUP_HINT).format(username=username)]
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# Non-breaking space: keeps «№ 12», «16 июня», «5 статей» and «3 МБ» on one line.
NBSP = "\u00a0"
# The nouns count() agrees with a number; each is a catalog entry with plural forms.
NOUNS = ("статья", "символ", "сюжет", "источник", "предложение")


@cache
def _parsed(noun: str) -> Any:
    return _morph().parse(noun)[0]


@cache
def _morph() -> Any:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


def plural_form(noun: str) -> str:
    """The nominative plural of a Russian noun: статья -> статьи."""
    return str(_parsed(noun).inflect({"plur"}).word)


def noun_for(n: int, noun: str) -> str:
    """`noun` agreeing with `n` (pymorphy3): 1 статья, 2 статьи, 5 статей, 21 статья."""
    from bot import language

    if language.current.get() != language.DEFAULT:
        return translate_plural(noun, plural_form(noun), n)
    return str(_parsed(noun).make_agree_with_number(abs(n)).word)


def format_number(n: int | float) -> str:
    """Digits grouped the way the current language groups them: 200 001, 200,001."""
    from babel.numbers import format_decimal

    from bot import language

    return str(format_decimal(n, locale=language.current.get())).replace("\u202f", NBSP)


def count(n: int, noun: str) -> str:
    """`200 001 символ`: the number grouped, the noun agreeing, a non-breaking space."""
    return f"{format_number(n)}{NBSP}{noun_for(n, noun)}"


def articles_word(n: int) -> str:
    return noun_for(n, "статья")


def articles_count(n: int) -> str:
    return count(n, "статья")


def date_text(day: date) -> str:
    """`16 июня 2025`, `16 June 2025` (Babel), its spaces non-breaking."""
    from babel.dates import format_date

    from bot import language

    return str(format_date(day, "d MMMM y", locale=language.current.get())).replace(" ", NBSP)


def date_time_text(moment: datetime) -> str:
    """`16 июня 2025, 14:30` in `moment`'s own zone."""
    return f"{date_text(moment.date())}, {moment:%H:%M}"


def article_number(article_id: int) -> str:
    """«№ 12», with a non-breaking space."""
    return f"№{NBSP}{article_id}"


# Headers and labels
SEARCH_TITLE = "<b>Найдено по запросу «{query}»</b>"
SUMMARY_LABEL = "Кратко"
MORE_LABEL = "Подробнее"
POINTS_LABEL = "Главное"
THESES_LABEL = "Основные тезисы (сам текст ничего не перечисляет)"
# Under /search results, above one button per match.
SEARCH_FOOTER = "Нажмите на статью ниже — пришлю её краткое изложение."
SEARCH_BUTTON = "{number} · {title}"
# At the top of the second and later parts of a /full text too long for one message.
FULL_CONTINUED = "(продолжение {part}/{parts})"

# Buttons
BTN_POINTS = "Тезисы"
BTN_SUMMARY = "Кратко"
BTN_MORE = "Подробнее"
BTN_FULL = "Полный текст"
BTN_SOURCE = "Источник"

# Inline mode (`@bot words` in any chat): the message's source line, the button under
# it that opens the bot on the same article or story, and the button shown instead of
# results when nothing matched.
INLINE_SOURCE = "Источник: {sources}"
INLINE_SOURCES = "Источники: {sources}"
BTN_OPEN_IN_BOT = "Открыть в Сводке"
INLINE_NOTHING = "Ничего не нашлось — открыть Сводку"

# Answers to button presses (shown as a short toast)
CB_GONE = "Эта статья больше не доступна."
CB_SOURCE_NONE = "У этой статьи нет ссылки на источник. Источник: {source}"
# A button press in a group shows the first part of a long answer in place; the rest
# is one command away instead of a stream of messages in everyone's chat.
CB_FULL_IN_GROUP = "Целиком — по команде /full {number}."

# Empty results and errors
NO_ARTICLES = "Статей пока нет."
NOT_FOUND_ID = "Статьи с номером {query} нет. Список последних: /latest"
NOT_FOUND_WORDS = "По запросу «{query}» ничего не нашлось. Попробуйте другие слова или /latest."
SEARCH_EMPTY = "Напишите, что искать: /search Казахстан"
SEARCH_TOO_LONG = "Слишком длинный запрос: не больше {limit} символов."
BAD_LATEST = "Укажите число от 1 до {limit}: /latest 5"
BAD_ALGORITHM = "Неизвестный алгоритм «{name}». Доступны: {choices}."
BAD_SENTENCES = "Число предложений должно быть целым от 1 до {limit}, например: /settings длина 3"
BAD_TIME = "Не понимаю время «{value}». Укажите его как ЧЧ:ММ, например: /subscribe 08:30"
BAD_TIMEZONE = (
    "Не знаю часовой пояс «{value}». Укажите город или Регион/Город, например: "
    "/settings пояс Москва или /settings пояс Asia/Almaty"
)
BAD_TIMEZONE_SUBSCRIBE = (
    "Не знаю часовой пояс «{value}». Укажите город или Регион/Город, например: "
    "/subscribe 08:30 Москва или /subscribe 08:30 Asia/Almaty"
)
BAD_SETTINGS = (
    "Не понимаю настройку. Примеры:\n"
    "/settings алгоритм lexrank\n/settings длина 3\n/settings пояс Москва\n/settings язык en\n"
    "/settings режим только\n/settings тишина 23:00-08:00"
)
BAD_SUBSCRIBE = "Формат: /subscribe [ЧЧ:ММ] [город], например: /subscribe 08:30 Алматы"
BAD_LANGUAGE = "Язык интерфейса — ru или en, например: /settings язык en"
BAD_MODE = (
    "Режим сводки — первые (сначала интересное) или только (только интересное): "
    "/settings режим только"
)
BAD_QUIET = (
    "Тихие часы указываются как ЧЧ:ММ-ЧЧ:ММ, например /settings тишина 23:00-08:00; "
    "отключить: /settings тишина выкл"
)
BAD_ALERTS = "Оповещения: /alerts вкл, /alerts выкл или /alerts обновления (и об обновлениях)."
EMPTY_TEXT = "Текст пустой: нечего сохранить."
TEXT_TOO_LONG = "Текст слишком длинный: {length}, можно не больше {limit}."
BAD_FILE = "Не могу прочитать «{path}»: {reason}."
NOT_ALLOWED = "Это могут делать только администраторы бота."
NOT_GROUP_ADMIN = "Менять подписку и настройки группы могут только её администраторы."
UNEXPECTED = "Что-то пошло не так. Мы уже разбираемся; попробуйте ещё раз чуть позже."

# /add
ADDED = "Статья сохранена под номером {id}: <b>{title}</b>"
ALREADY_STORED = "Такая статья уже есть, её номер {id}: <b>{title}</b>"
ADD_HINT = "Напишите текст после /add (первая строка — заголовок) или ответьте /add на сообщение."

# /settings
SETTINGS = (
    "<b>Настройки чата</b>\n"
    "Алгоритм: {algorithm}\n"
    "Длина изложения: {sentences}\n"
    "Часовой пояс: {timezone}\n"
    "Язык: {language}\n"
    "Ежедневная сводка: {subscription}\n"
    "Режим сводки: {mode}\n"
    "Тихие часы: {quiet}\n"
    "Оповещения: {alerts}\n\n"
    "Изменить: /settings алгоритм lexrank | длина 3 | пояс Москва | язык en | "
    "режим первые | режим только | тишина 23:00-08:00 | тишина выкл"
)
LANGUAGE_AUTO = "{language} (как в Telegram)"
LANGUAGE_LABELS = {"ru": "русский", "en": "английский"}
# Read through _() where shown: dictionaries are not translated on attribute access.
MODES = {"first": "сначала интересное", "only": "только интересное"}
QUIET_NONE = "нет"
ALERTS = {
    "off": "выключены",
    "on": "новые сюжеты по интересам",
    "updates": "новые сюжеты по интересам и их обновления",
}
SETTINGS_SAVED = "Сохранено."
SUBSCRIPTION_NONE = "выключена"
SUBSCRIPTION_AT = "каждый день в {at} ({timezone})"

# Subscriptions and digests
SUBSCRIBED = "Готово: сводка будет приходить каждый день в {at} ({timezone})."
UNSUBSCRIBED = "Сводка отключена."
NOT_SUBSCRIBED = "Этот чат не подписан на сводку. Подписаться: /subscribe 09:00"
DIGEST_TITLE = "<b>Сводка за {date}</b>"
DIGEST_EMPTY = "Новых сюжетов со времени прошлой сводки нет."
# A story sent in an earlier digest that has grown since.
DIGEST_UPDATE = "обновление"
DIGEST_MORE_STORIES = "…и ещё {n} {word}: /stories"
# Under a /stories list that was capped.
STORIES_MORE = "…и ещё {n} {word}"
# The numbered buttons under a digest, one per story.
STORY_BUTTON = "{n}"
STORY_SOURCES = "Источники"
STORY_FOLLOW_UPS = "Главная статья сюжета — №{id}: /points {id}, /more {id}, /full {id}"
STORIES_TITLE = "<b>Сюжеты за сутки</b>"
STORIES_EMPTY = "За сутки сюжетов нет."
LATEST_STORIES_TITLE = "<b>Последние сюжеты</b>"
STORIES_FOOTER = "Нажмите номер — покажу сюжет целиком."
STORY_NOT_FOUND = "Сюжета {number} нет. Список сюжетов: /stories"
STORY_NEEDS_NUMBER = "Укажите номер сюжета из сводки или списка: /story 1"


def stories_word(n: int) -> str:
    return noun_for(n, "сюжет")


def outlets_word(n: int) -> str:
    return noun_for(n, "источник")


# A digest names this many outlets of a story, then "и ещё N".
OUTLETS_SHOWN = 2
OUTLETS_MORE = "{shown} и ещё {rest}"


def outlets_text(outlets: Sequence[str]) -> str:
    """«ТАСС, РИА Новости и ещё 3» (plain text: escape it where HTML is built)."""
    shown = ", ".join(outlets[:OUTLETS_SHOWN])
    rest = len(outlets) - OUTLETS_SHOWN
    return _(OUTLETS_MORE).format(shown=shown, rest=rest) if rest > 0 else shown


def error_text(exc: BaseException) -> str:
    """The one Russian line for each domain error (used by the bot and the CLI)."""
    from bot import errors
    from bot.intake import errors as intake
    from bot.nlp import ALGORITHMS
    from bot.parsing import MAX_SENTENCES

    def esc(value: object) -> str:
        return _escape(str(value)[:80])

    def esc_path(path: object) -> str:
        # A long path keeps its end: the file's name is what tells the user which one.
        text = str(path)
        return _escape(text if len(text) <= 80 else "…" + text[-79:])

    match exc:
        case errors.ArticleNotFound(query=query) if query.isdigit():
            return _(NOT_FOUND_ID).format(query=esc(query))
        case errors.ArticleNotFound(query=query):
            return _(NOT_FOUND_WORDS).format(query=esc(query))
        case errors.NoArticles():
            return _(NO_ARTICLES)
        case errors.StoryNotFound(number=None):
            return _(STORY_NEEDS_NUMBER)
        case errors.StoryNotFound(number=number):
            return _(STORY_NOT_FOUND).format(number=esc(number))
        case errors.UnknownAlgorithm(name=name):
            return _(BAD_ALGORITHM).format(name=esc(name), choices=", ".join(ALGORITHMS))
        case errors.BadSentenceCount():
            return _(BAD_SENTENCES).format(limit=MAX_SENTENCES)
        case errors.BadCount(limit=limit):
            return _(BAD_LATEST).format(limit=limit)
        case errors.BadTime(value=value):
            return _(BAD_TIME).format(value=esc(value))
        case errors.BadTimezone(value=value, command="subscribe"):
            return _(BAD_TIMEZONE_SUBSCRIBE).format(value=esc(value))
        case errors.BadTimezone(value=value):
            return _(BAD_TIMEZONE).format(value=esc(value))
        case errors.UnknownSetting():
            return _(BAD_SETTINGS)
        case errors.BadLanguage():
            return _(BAD_LANGUAGE)
        case errors.EmptyText():
            return _(EMPTY_TEXT)
        case errors.TextTooLong(length=length, limit=limit):
            return _(TEXT_TOO_LONG).format(
                length=count(length, "символ"), limit=format_number(limit)
            )
        case errors.BadArticleFile(path=path, reason=reason):
            return _(BAD_FILE).format(path=esc_path(path), reason=esc(file_reason(reason)))
        case errors.BadSubscribe():
            return _(BAD_SUBSCRIBE)
        case errors.BadMode():
            return _(BAD_MODE)
        case errors.BadQuiet():
            return _(BAD_QUIET)
        case errors.BadAlerts():
            return _(BAD_ALERTS)
        case errors.NoInterests():
            return _(NO_INTERESTS)
        case errors.TooManyInterests(limit=limit):
            return _(TOO_MANY_INTERESTS).format(limit=limit)
        case errors.UnknownChoice():
            return _(UNKNOWN_CHOICE)
        case intake.BadUrl(url=url):
            return _(BAD_URL).format(url=esc(url))
        case intake.UnsupportedScheme(scheme=scheme):
            return _(UNSUPPORTED_SCHEME).format(scheme=esc(scheme))
        case intake.BlockedAddress(host=host):
            return _(BLOCKED_ADDRESS).format(host=esc(host))
        case intake.HttpStatusError(url=url, status=404 | 410):
            return _(PAGE_NOT_FOUND).format(url=esc(url))
        case intake.HttpStatusError(url=url, status=status):
            return _(HTTP_STATUS).format(status=status, url=esc(url))
        case intake.FetchTimeout(url=url, seconds=seconds):
            return _(FETCH_TIMEOUT).format(seconds=f"{seconds:g}", url=esc(url))
        case intake.FetchFailed(url=url):
            return _(FETCH_FAILED).format(url=esc(url))
        case intake.ResponseTooLarge(url=url, limit=limit):
            return _(RESPONSE_TOO_LARGE).format(mb=f"{limit / 1024 / 1024:g}", url=esc(url))
        case intake.BadFeed(url=url):
            return _(BAD_FEED).format(url=esc(url))
        case intake.EmptyFeed(url=url):
            return _(EMPTY_FEED).format(url=esc(url))
        case intake.NoArticleText(url=url):
            return _(NO_ARTICLE_TEXT).format(url=esc(url))
        case intake.FeedNotFound(number=number):
            return _(FEED_NOT_FOUND).format(number=esc(number))
        case errors.ChannelRefused(channel=channel, problems=problems):
            return "\n".join(
                _(CHANNEL_PROBLEMS[problem]).format(channel=esc(channel)) for problem in problems
            )
        case errors.TooManyLinks(seconds=seconds):
            return _(LINKS_WAIT).format(seconds=seconds)
    return _(UNEXPECTED)


# Interests, outlets, alerts
FOLLOW_NONE = (
    "Этот чат пока ни за чем не следит. Например: /follow Казахстан «Центральный банк» -футбол"
)
FOLLOW_TITLE = "<b>Интересы чата</b>"
FOLLOW_EXCLUDED = "без: {term}"
FOLLOW_HINT = (
    "Слово находится в любой форме, фраза в кавычках — целиком, слово с минусом "
    "исключает новость. Режим сводки: {mode} (/settings режим первые | только). "
    "Нажмите на слово, чтобы убрать его."
)
FOLLOW_ADDED = "Добавлено: {terms}."
FOLLOW_NOTHING_NEW = "Всё это уже есть в списке: /follow"
UNFOLLOWED = "Убрано: {terms}."
UNFOLLOW_NONE = "Таких слов в списке нет: /follow"
NO_INTERESTS = (
    "Напишите слова после команды: /follow Казахстан. Фразу — в кавычках: "
    "/follow «Центральный банк», исключение — с минусом: /follow -футбол"
)
TOO_MANY_INTERESTS = "Не больше {limit} слов и фраз на чат. Лишние можно убрать: /follow"
UNKNOWN_CHOICE = "Этого уже нет в списке: откройте его заново."
BTN_UNFOLLOW = "✕ {term}"
CB_REMOVED = "Убрано"
DIGEST_ONLY_NONE = "В сводке только интересное, а интересов нет: /follow слово"
SOURCES_TITLE = "<b>Источники</b>\nНажмите на источник, чтобы выключить его или включить снова."
SOURCES_NONE = "Источников пока нет: в базе нет статей с указанным источником."
BTN_SOURCE_ON = "✅ {source}"
BTN_SOURCE_OFF = "🚫 {source}"
ALERTS_STATE = "Оповещения: {state}. Изменить: /alerts вкл | выкл | обновления"
ALERT_NEW = "Новое по интересам чата"
ALERT_UPDATE = "Обновление сюжета по интересам чата"
BTN_ALERT_STORY = "Весь сюжет"


def mode_label(mode: str) -> str:
    """A digest mode as /settings shows it, in the current language."""
    return _(MODES[mode]) if mode in MODES else mode


def alerts_label(state: str) -> str:
    """An /alerts state as shown, in the current language."""
    return _(ALERTS[state]) if state in ALERTS else state


FILE_REASONS = {
    "file not found": "файла нет",
    "not a file": "это не файл",
    "unsupported file type": "неподдерживаемый тип файла (нужен .txt, .md, .json или .jsonl)",
    "file too large": "файл слишком большой",
    "cannot read file": "файл не читается",
    "binary file": "это двоичный файл, а не текст",
    "not UTF-8 text": "текст не в кодировке UTF-8",
    "empty file": "файл пустой",
    "no title or no text": "нет заголовка или текста",
    "invalid JSON": "ошибка в JSON",
    "JSON nested too deeply": "слишком глубокая вложенность JSON",
    "has no title": "нет заголовка",
    "has no text": "нет текста",
    "is not a JSON object": "ожидался объект JSON",
    "no articles in file": "в файле нет статей",
    "has a bad published_at": "неверная дата published_at",
}


def file_reason(reason: str) -> str:
    """The loader's reasons, e.g. `line 3: invalid JSON`, in Russian."""
    prefix, _, rest = reason.rpartition(": ")
    head = prefix.replace("line", "строка").replace("item", "запись")
    for english, russian in FILE_REASONS.items():
        if rest.startswith(english):
            tail = rest[len(english) :].replace(" on line", ", строка")
            return f"{head}: {russian}{tail}" if head else f"{russian}{tail}"
    return reason


# Intake: web pages and news feeds
BAD_URL = "«{url}» — не ссылка. Нужен адрес, начинающийся с http:// или https://"
UNSUPPORTED_SCHEME = "Ссылки вида «{scheme}:» не поддерживаются: только http:// и https://."
BLOCKED_ADDRESS = (
    "Адрес {host} ведёт в локальную или внутреннюю сеть: такие ссылки бот не открывает."
)
PAGE_NOT_FOUND = "Страница не найдена (404): {url}"
HTTP_STATUS = "Сайт ответил ошибкой {status}: {url}"
FETCH_TIMEOUT = "Сайт не ответил за {seconds} с: {url}"
FETCH_FAILED = "Не удалось соединиться с сайтом: {url}"
RESPONSE_TOO_LARGE = "Слишком большой ответ (больше {mb} МБ): {url}"
BAD_FEED = "Это не лента RSS или Atom, или в ней ошибка разметки: {url}"
EMPTY_FEED = "В ленте нет ни одной записи: {url}"
NO_ARTICLE_TEXT = "На странице не нашлось текста статьи: {url}"
FEED_NOT_FOUND = "Ленты с номером {number} нет. Список лент: /feeds"

# Channels: /subscribe @channel, /unsubscribe @channel, /subscriptions
CHANNEL_NOT_FOUND = (
    "Канал {channel} не найден: проверьте имя; в закрытый канал сначала добавьте бота "
    "администратором."
)
CHANNEL_NOT_A_CHANNEL = "{channel} — не канал. Группу подписывают командой /subscribe в ней самой."
CHANNEL_USER_NOT_ADMIN = "Вы не администратор канала {channel}."
CHANNEL_BOT_NOT_ADMIN = "Бот не администратор канала {channel}: добавьте его в администраторы."
CHANNEL_BOT_CANNOT_POST = (
    "У бота нет права публиковать сообщения в канале {channel}: включите его в правах бота."
)
CHANNEL_PROBLEMS = {
    "not_found": CHANNEL_NOT_FOUND,
    "not_channel": CHANNEL_NOT_A_CHANNEL,
    "user_not_admin": CHANNEL_USER_NOT_ADMIN,
    "bot_not_admin": CHANNEL_BOT_NOT_ADMIN,
    "bot_cannot_post": CHANNEL_BOT_CANNOT_POST,
}
CHANNEL_SUBSCRIBED = (
    "Готово: сводка будет выходить в канале «{title}» каждый день в {at} ({timezone})."
)
CHANNEL_UNSUBSCRIBED = "Сводка в канале «{title}» отключена."
CHANNEL_NOT_SUBSCRIBED = "Канал «{title}» не подписан на сводку."
SUBSCRIPTIONS_TITLE = "<b>Подписки чатов, которыми вы управляете</b>"
SUBSCRIPTIONS_EMPTY = (
    "Подписок в чатах, которыми вы управляете, нет. Подписать канал: /subscribe @канал 09:00"
)
CHANNEL_FROM_PRIVATE = "Канал подписывают из личного чата с ботом: /subscribe @канал 09:00"
SUBSCRIPTIONS_PRIVATE_ONLY = "Список подписок — в личном чате с ботом: /subscriptions"
SUBSCRIPTION_LINE = "{place} — каждый день в {at} ({timezone})"
PLACE_PRIVATE = "этот чат"
PLACE_CHANNEL = "канал «{title}»"
PLACE_GROUP = "группа «{title}»"

# Any link, summarised on request (not stored as an article)
LINKS_WAIT = "Слишком много ссылок подряд: подождите {seconds} с и пришлите ещё раз."
CB_LINK_GONE = "Этой страницы уже нет в памяти бота: пришлите ссылку ещё раз."

# /add URL and `ingest URL`
ADD_FROM_FEED = "Из ленты «{title}»: новых статей {new}, уже были в базе {old}."
ADD_FROM_FEED_LIST = "Новые статьи:"
ADD_FROM_FEED_LINE = "№\u00a0{id} {title}"

# Feed entries that did not go in whole: in replies to /add URL and /feed_add, on the
# command line, and to admins when a scheduled poll gave an entry up.
FEED_RECOVERED = "В разметке ленты есть ошибки: записи прочитаны, насколько удалось."
ENTRY_NOTES = {
    "feed_text": "«{title}»: сохранён текст из ленты, без страницы — {reason}",
    "skipped": "«{title}»: не сохранена — {reason}",
    "later": "«{title}»: страница пока недоступна, повторю при следующем опросе — {reason}",
}
ENTRIES_MORE = "…и ещё {n}"
FEED_ENTRIES_SKIPPED = "Лента №\u00a0{id} «{title}»: не сохранено записей: {n}."
# Five notes of at most ~300 characters each, with ten listed articles, stay well inside
# one message.
MAX_ENTRY_NOTES = 5


def entry_notes(notes: Sequence[EntryNote], *, limit: int = MAX_ENTRY_NOTES) -> list[str]:
    """One line per entry, at most `limit` of them: what happened and why."""
    lines = [
        _(ENTRY_NOTES[note.outcome]).format(
            title=_escape(note.title[:80]), reason=error_text(note.error)
        )
        for note in notes[:limit]
    ]
    if len(notes) > limit:
        lines.append(_(ENTRIES_MORE).format(n=len(notes) - limit))
    return lines


def feed_entries_skipped(feed_id: int, title: str, notes: Sequence[EntryNote]) -> str:
    head = _(FEED_ENTRIES_SKIPPED).format(id=feed_id, title=_escape(title[:120]), n=len(notes))
    return "\n".join([head, *entry_notes(notes)])


# /feeds, /feed_add, /feed_remove, /feed_resume (admins)
FEEDS_TITLE = "<b>Ленты новостей</b>"
FEEDS_EMPTY = "Лент пока нет. Добавить: /feed_add https://example.ru/rss"
FEED_LINE = "{id}. {title} — {url}"
FEED_LINE_PAUSED = "   на паузе ({error}); возобновить: /feed_resume {id}"
FEED_LINE_FAILING = "   ошибок подряд: {failures} ({error})"
FEEDS_FOOTER = "Удалить: /feed_remove N · добавить: /feed_add URL"
FEED_ADDED = "Лента №\u00a0{id} добавлена: <b>{title}</b>. Новых статей: {new}."
FEED_EXISTS = "Эта лента уже есть под номером {id}: <b>{title}</b>"
FEED_REMOVED = "Лента №\u00a0{id} «{title}» удалена. Статьи из неё остаются в базе."
FEED_RESUMED = "Лента №\u00a0{id} «{title}» снова опрашивается."
FEED_ADD_HINT = "Укажите адрес ленты RSS или Atom: /feed_add https://example.ru/rss"
FEED_NUMBER_HINT = "Укажите номер ленты из списка /feeds, например: /{command} 2"
FEED_PAUSED = (
    "Лента №\u00a0{id} «{title}» поставлена на паузу, ошибок подряд: {failures}. "
    "Последняя: {error}\nВозобновить: /feed_resume {id}"
)

# Articles that are not in Russian are kept, and the reader is told.
LANGUAGE_NAMES = {
    "en": "английском",
    "uk": "украинском",
    "be": "белорусском",
    "kk": "казахском",
    "bg": "болгарском",
    "sr": "сербском",
    "pl": "польском",
    "de": "немецком",
    "fr": "французском",
    "es": "испанском",
    "it": "итальянском",
    "pt": "португальском",
    "tr": "турецком",
    "zh": "китайском",
    "ja": "японском",
    "ar": "арабском",
}
FOREIGN_LANGUAGE = "Статья на {language} языке: краткое изложение может быть неточным."
FOREIGN_LANGUAGE_CODE = (
    "Статья не на русском языке ({code}): краткое изложение может быть неточным."
)
FOREIGN_IN_BATCH = "Не на русском языке: {n} — их краткое изложение может быть неточным."


def language_note(lang: str) -> str | None:
    """The warning for an article in another language; None for Russian or unknown."""
    if lang in ("ru", "und", ""):
        return None
    name = LANGUAGE_NAMES.get(lang)
    if name is None:
        return _(FOREIGN_LANGUAGE_CODE).format(code=_escape(lang[:10]))
    return _(FOREIGN_LANGUAGE).format(language=_(name))


# Flood control: the one notice a user gets when commands come faster than the limit.
FLOOD = "Слишком много запросов подряд: эти я пропущу. Подождите несколько секунд и повторите."

# The command line: `python -m bot --help`, and what the commands print
CLI_DESCRIPTION = "Сводка: новости кратко."
CLI_HELP = {
    "run": "запустить бота (long polling или webhook)",
    "console": "офлайн-чат с ботом, без токена и сети",
    "console --once": "ответить на одну строку и выйти",
    "ingest": "добавить статьи из файлов, папок, лент и страниц",
    "summarize": "краткое изложение статьи",
    "points": "главные тезисы статьи",
    "backup": "копия базы данных (в том числе при работающем боте)",
    "backup --force": "перезаписать существующий файл",
    "migrate": "обновить схему базы данных (SQLite или PostgreSQL)",
    "copy-store": "скопировать базу SQLite в PostgreSQL (DATABASE_URL)",
    "stories": "сюжеты: статьи файла JSONL по сюжетам (без сохранения) или сюжеты базы за сутки",
    "stories --json": "по строке JSON на статью файла: её id и ключ сюжета",
}
CLI_STORY = "Сюжет {key}: {headline} ({articles}, {outlets} {outlets_word})"
CLI_STORY_ARTICLE = "  {id} · {source} · {title}"
CLI_STORED_STORY = "{n}. {headline} ({articles}; {outlets})"
CLI_NO_STORIES = "за сутки сюжетов нет"
CLI_MORE_STORIES = "…и ещё {n} {word}"
CLI_ERROR = "ошибка: {message}"
CLI_BAD_SETTING = "ошибка настройки {field}: {reason}"
CLI_NOT_ONE_ARTICLE = "в файле {path} {count}, нужна одна"
CLI_NO_ARTICLE = "статьи с номером {number} нет"
CLI_INGESTED = "{source}: {count}, новых {new}"
CLI_URLS_FAILED = "не загружено адресов: {failed} из {total}"
CLI_NO_TOKEN = (
    "не задан BOT_TOKEN: скопируйте .env.example в .env и впишите токен, "
    "или попробуйте бота без сети: python -m bot console"
)

# `python -m bot console`
CONSOLE_WELCOME = (
    "Сводка — офлайн-чат. Команды: /help; номер кнопки — нажать её; пустая строка или "
    "Ctrl+D — выход."
)
CONSOLE_YOU = "Вы"
BOT_NAME = "Сводка"  # the bot's name in the console

# `python -m bot backup PATH [--force]`
BACKUP_DONE = "копия базы сохранена: {path} ({articles}, {size})"
BACKUP_EXISTS = "файл {path} уже есть; чтобы перезаписать его, добавьте --force"
BACKUP_NO_DATABASE = "базы данных {path} нет: нечего копировать (проверьте DATABASE_PATH)"
BACKUP_NO_FOLDER = "папки {path} нет: создайте её или укажите другой путь"
BACKUP_IS_FOLDER = "{path} — это папка; укажите путь к файлу копии"
BACKUP_SAME_FILE = "копию нельзя записать поверх самой базы: укажите другой путь"
BACKUP_FAILED = "не удалось сделать копию базы: {reason}"
BACKUP_POSTGRES = (
    "база данных в PostgreSQL (DATABASE_URL): её копию делает pg_dump, например"
    ' pg_dump -Fc -f svodka.dump "$DATABASE_URL"'
)

# `python -m bot migrate` and `python -m bot copy-store SQLITE_PATH`
MIGRATED = "{where}: схема версии {version}"
MIGRATED_FROM = "{where}: схема обновлена с версии {before} до {version}"
STORE_UNAVAILABLE = "нет доступа к базе данных {where}: {reason}"
# A SQLite file that is there but unusable: the bot refuses to start on it.
STORE_FILE_EMPTY = "файл базы данных {path} пуст (0 байт)"
STORE_FILE_DAMAGED = "файл базы данных {path} повреждён ({reason})"
STORE_FILE_READONLY = "файл базы данных {path} доступен только для чтения"
STORE_FILE_RESTORE = (
    "{problem}: бот не запущен; восстановите базу из копии, сделанной командой"
    " python -m bot backup, или укажите другой DATABASE_PATH"
)
COPY_NEEDS_POSTGRES = (
    "copy-store копирует базу SQLite в PostgreSQL: задайте DATABASE_URL=postgresql://…"
)
COPY_SOURCE_UNREADABLE = "не удалось прочитать базу SQLite {path}: {reason}"
COPY_TARGET_NOT_EMPTY = (
    "в {where} уже есть данные (таблица {table}): копировать можно только в пустую базу"
)
COPY_DONE = "скопировано из {path} в {where}: {tables}"

# `python -m bot run` when Telegram cannot be reached or refuses the token at start-up
TOKEN_REFUSED = "Telegram не принял BOT_TOKEN: проверьте токен (его выдаёт @BotFather)"
API_UNREACHABLE = "нет связи с Bot API по адресу {url}: {reason}"


def size_text(size: int) -> str:
    """File sizes for the CLI: `512 Б`, `12 КБ`, `3,4 МБ`."""
    if size < 1024:
        return f"{size} Б"
    if size < 1024 * 1024:
        return f"{size // 1024} КБ"
    return f"{size / 1024 / 1024:.1f} МБ".replace(".", ",")
