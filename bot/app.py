"""The composition root: Settings -> services (bot/root.py) -> Bot -> Dispatcher.

`build_app` builds the bot on `open_services`, which the CLI commands use alone.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, F
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import (
    AnswerCallbackQuery,
    AnswerInlineQuery,
    DeleteWebhook,
    EditMessageText,
    GetChat,
    GetChatAdministrators,
    GetChatMember,
    GetMe,
    GetUpdates,
    SendChatAction,
    SendMessage,
    SetMyCommands,
    SetMyDescription,
    SetMyShortDescription,
    SetWebhook,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    ReplyParameters,
    Update,
)

from bot import jobs, language, lazy_imports, texts
from bot.alerts import AlertService
from bot.answers import Answers
from bot.articles import load_summarizer
from bot.channels import ChannelService
from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.delivery import AdminNotifier, Limits
from bot.filters import AdminCache, OnLoop
from bot.i18n import Catalogs, ChatLanguage
from bot.jobs import Jobs
from bot.leader import Leadership, leadership
from bot.middlewares import CommandCase, FloodControl
from bot.outbox import Retry
from bot.root import Services, open_services
from bot.subscriptions import SubscriptionService
from bot.updates import TolerantSession
from handlers import build_router
from storage.alerts import AlertRepo
from storage.managers import ManagerRepo
from storage.outbox import OutboxRepo
from storage.subscriptions import SubscriptionRepo

if TYPE_CHECKING:
    from aiohttp import web
    from pydantic import BaseModel

log = logging.getLogger(__name__)


class MissingToken(RuntimeError):
    pass


@dataclass
class App:
    services: Services
    bot: Bot
    dp: Dispatcher
    jobs: Jobs
    subscriptions: SubscriptionService
    background: set[asyncio.Task[None]] = field(default_factory=set)
    # The Bot API models built at start (TELEGRAM_MODELS), held for as long as the app.
    telegram_models: list[type[BaseModel]] = field(default_factory=list)
    # Set by run(): after the warm-up, the heap so far is moved out of the garbage
    # collector's reach (gc.freeze). Not in tests, which start many apps in one process.
    freeze_heap: bool = False
    # Who runs the scheduled work among the processes sharing the store (App.start).
    leader: Leadership | None = None
    # Sends what matches chats' interests as it arrives; runs in the leader only.
    alerts: AlertService | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def clock(self) -> Clock:
        return self.services.clock

    async def start(self) -> None:
        """What the Dispatcher runs at start-up, before the first update."""
        services = self.services
        self.telegram_models = lazy_imports.build_now(TELEGRAM_MODELS)
        await register_commands(self.bot, self.settings.admin_ids)
        await services.intake.start()
        if added := await services.intake.ensure_feeds(self.settings.feeds, now=self.clock()):
            log.info("added %d feed(s) from FEEDS", added)
        self.jobs.start()
        # Scheduled work runs in one process at a time: on SQLite this one, always (the
        # first attempt succeeds before start() returns); on PostgreSQL whichever holds
        # the leader lock, and another within LEADER_RETRY_SECONDS when it dies.
        self.leader = leadership(
            services.db, retry=self.settings.leader_retry_seconds, on_change=self.lead
        )
        await self.leader.start()
        task = asyncio.create_task(self.warm_cache())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def lead(self, leading: bool) -> None:
        """Takes the scheduled work on (its jobs, and the catch-up of what was missed
        while nobody led), or gives it up."""
        if not leading:
            self.jobs.stand_down()
            if self.alerts is not None:
                await self.alerts.close()
            await self.subscriptions.close()
            return
        services = self.services
        await jobs.install(
            self.jobs,
            subscriptions=self.subscriptions,
            chats=services.chats,
            intake=services.intake,
            settings=self.settings,
        )
        self.subscriptions.start()
        if self.alerts is not None:
            await self.alerts.start()

    async def warm_cache(self) -> None:
        """Loads the summarizer stack and computes default summaries and points for recent
        articles, so first requests are cache hits; then, with `freeze_heap`, freezes the
        heap."""
        await asyncio.to_thread(load_summarizer)
        articles = self.services.articles
        for article in await articles.latest(50):
            await articles.warm(article)
        if self.freeze_heap:
            # What is loaded by now lives as long as the process. A full collection walks
            # every tracked object and holds the GIL throughout: 150-200 ms here once the
            # summarizer stack is in, a pause for every chat. Frozen objects are skipped.
            gc.freeze()

    async def close(self) -> None:
        if self.leader is not None:
            # Given up first, so that a follower takes over while this process closes.
            await self.leader.stop()
        for task in self.background:
            task.cancel()
        for task in list(self.background):
            with suppress(asyncio.CancelledError):
                await task
        if self.alerts is not None:
            await self.alerts.close()
        await self.subscriptions.close()
        self.jobs.shutdown()
        await self.bot.session.close()
        await self.services.close()


def make_session(settings: Settings) -> BaseSession:
    return TolerantSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))


async def build_app(
    settings: Settings,
    *,
    session: BaseSession | None = None,
    token: str | None = None,
    clock: Clock = utc_now,
    limits: Limits | None = None,
    retry: Retry | None = None,
) -> App:
    """Opens the store, loads the seeds and wires the Dispatcher. Nothing is sent yet.
    `limits` overrides Telegram's sending limits and `retry` the ledger's retry delays
    (tests that cannot wait for them)."""
    if token is None:
        if settings.bot_token is None or not settings.bot_token.get_secret_value().strip():
            raise MissingToken
        token = settings.bot_token.get_secret_value().strip()
    bot = Bot(
        token,
        session=session or make_session(settings),
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML,
            # Every message, digests included: a preview of the first link in a list of
            # articles shows one article as if it were the whole answer.
            link_preview=LinkPreviewOptions(is_disabled=not settings.link_previews),
        ),
    )
    notify = AdminNotifier(settings.admin_ids)
    services = await open_services(settings, clock=clock, notify=notify)
    try:
        await services.load_seeds()
        schedule = Jobs(clock=clock)
        subscriptions = SubscriptionService(
            # Stateless over the one connection, like every repository but ChatRepo.
            SubscriptionRepo(services.db),
            services.chats,
            services.digests,
            bot,
            settings,
            clock=clock,
            ledger=OutboxRepo(services.db),
            limits=limits,
            retry=retry,
        )
        alerts = AlertService(
            AlertRepo(services.db, OutboxRepo(services.db)),
            articles=services.articles,
            stories=services.stories,
            chats=services.chats,
            subscriptions=SubscriptionRepo(services.db),
            outbox=subscriptions.outbox,
            per_hour=settings.alerts_per_hour,
            clock=clock,
        )
        services.stories.on_placed.append(alerts.wake)
    except BaseException:
        await services.close()
        raise
    channels = ChannelService(bot, ManagerRepo(services.db), subscriptions, clock=clock)
    # One paced sender for everything: digests, answers, button presses, notices.
    notify.attach(subscriptions.deliverer)
    answers = Answers(
        subscriptions.deliverer, subscriptions.outbox, on_sent=subscriptions.remember_sent
    )
    dp = Dispatcher(
        answers=answers,
        settings=settings,
        clock=clock,
        articles=services.articles,
        chats=services.chats,
        subscriptions=subscriptions,
        intake=services.intake,
        stories=services.stories,
        links=services.links,
        channels=channels,
        interests=services.interests,
        inline=services.inline,
        admins=AdminCache(on_fetch=channels.remember_admins),
    )
    # Outer, first of all: everything after it (the flood notice, the apology for a
    # failed update) speaks the update's language.
    ChatLanguage(Catalogs(), services.chats).setup(dp)
    flood = FloodControl(burst=settings.flood_burst, rate=settings.flood_rate)
    # Outer: an update over the limit is dropped before any filter runs (filters may ask
    # Telegram, e.g. for a group's admins). One instance, so commands and button presses
    # share a sender's budget.
    dp.message.outer_middleware(flood)
    dp.callback_query.outer_middleware(flood)
    dp.message.outer_middleware(CommandCase())
    dp.channel_post.outer_middleware(CommandCase())
    # A channel's posts mirrored into its linked discussion group speak to nobody: they
    # are neither commands, nor articles, nor the word of the group's admins.
    dp.message.filter(OnLoop(~F.is_automatic_forward))
    dp.include_router(build_router())
    app = App(services, bot, dp, schedule, subscriptions, alerts=alerts)
    dp.startup.register(app.start)
    return app


# The Bot API models the bot meets: an update and what is in it, what the bot builds, the
# methods it calls and their answers. bot/lazy_imports.py defers building their validators
# to first use, 20-250 ms each here; App.start builds them before the first update
# (tests/test_lazy_imports.py checks that answering builds nothing more).
TELEGRAM_MODELS = (
    Update,
    InlineKeyboardMarkup,
    InlineKeyboardButton,
    LinkPreviewOptions,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeAllGroupChats,
    BotCommandScopeChat,
    GetMe,
    DeleteWebhook,
    SetWebhook,
    GetUpdates,
    SetMyCommands,
    SetMyDescription,
    SetMyShortDescription,
    SendMessage,
    EditMessageText,
    ReplyParameters,
    SendChatAction,
    AnswerCallbackQuery,
    GetChatAdministrators,
    GetChat,
    GetChatMember,
    AnswerInlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    InlineQueryResultsButton,
)


async def register_commands(bot: Bot, admin_ids: list[int]) -> None:
    """The command menus and the empty chat's descriptions, in each language: Russian
    for everyone, English for users whose Telegram is in English. Admin commands are
    only in each admin's own chat's menu."""
    for lang in language.LANGUAGES:
        code = None if lang == language.DEFAULT else lang
        with language.use(lang):
            commands = [
                BotCommand(command=name, description=language.translate(description))
                for name, _, description in texts.COMMANDS
            ]
            admin = commands + [
                BotCommand(command=name, description=language.translate(description))
                for name, _, description in texts.ADMIN_COMMANDS
            ]
            await bot.set_my_description(texts.DESCRIPTION, language_code=code)
            await bot.set_my_short_description(texts.SHORT_DESCRIPTION, language_code=code)
        private = BotCommandScopeAllPrivateChats()
        await bot.set_my_commands(commands, scope=private, language_code=code)
        await bot.set_my_commands(
            # /start means nothing in a group; everything else works there too.
            [c for c in commands if c.command != "start"],
            scope=BotCommandScopeAllGroupChats(),
            language_code=code,
        )
        for admin_id in admin_ids:
            scope = BotCommandScopeChat(chat_id=admin_id)
            await bot.set_my_commands(admin, scope=scope, language_code=code)


# Summaries run in a worker thread; the event loop still needs the GIL for every reply.
# Python hands it over every 5 ms by default, so each of a reply's trips to SQLite's
# thread could wait that long behind a summary. 0.5 ms keeps other chats' replies under
# 50 ms while a 1,000-sentence summary runs (benchmarks/responsiveness.py).
SWITCH_INTERVAL = 0.0005


async def run(settings: Settings) -> None:
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = await build_app(settings)
    app.freeze_heap = True
    try:
        if settings.webhook_url:
            await run_webhook(app)
        else:
            await poll(app, handle_signals=True)
    finally:
        await app.close()


async def poll(app: App, *, handle_signals: bool, polling_timeout: int = 10) -> None:
    """Long polling until stopped; with handle_signals, SIGINT and SIGTERM stop it cleanly."""
    await app.bot.delete_webhook(drop_pending_updates=False)
    await app.dp.start_polling(
        app.bot,
        allowed_updates=app.dp.resolve_used_update_types(),
        handle_signals=handle_signals,
        close_bot_session=False,
        polling_timeout=polling_timeout,
    )


def webhook_endpoint(webhook_url: str) -> tuple[str, str]:
    """The URL given to Telegram and the path served for it: WEBHOOK_URL plus /webhook,
    so `https://host/tg` is registered as `https://host/tg/webhook` and served at
    `/tg/webhook` (a proxy in front must pass the path on unchanged)."""
    registered = webhook_url.rstrip("/") + "/webhook"
    return registered, urlsplit(registered).path


def build_webhook_app(app: App, secret: str) -> web.Application:
    """The aiohttp application of webhook mode: updates are POSTed to the path of
    WEBHOOK_URL plus /webhook, exactly the URL registered with Telegram."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from aiohttp import web

    web_app = web.Application()
    path = webhook_endpoint(app.settings.webhook_url or "")[1]
    # Requests without our X-Telegram-Bot-Api-Secret-Token header are refused (401).
    SimpleRequestHandler(app.dp, app.bot, secret_token=secret).register(web_app, path=path)
    setup_application(web_app, app.dp, bot=app.bot)
    return web_app


def webhook_secret(settings: Settings) -> str:
    """WEBHOOK_SECRET, or a random one for this run: without a secret anyone who learns
    the URL could post updates as any user, admins included. Telegram gets the secret
    from setWebhook at every start, so a fresh one per run costs nothing."""
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    return secrets.token_urlsafe(32)


async def run_webhook(app: App, *, handle_signals: bool = True) -> None:
    from aiohttp import web

    settings = app.settings
    secret = webhook_secret(settings)
    runner = web.AppRunner(build_webhook_app(app, secret))
    await runner.setup()
    site = web.TCPSite(runner, settings.webhook_host, settings.webhook_port)
    await site.start()
    assert settings.webhook_url is not None
    await app.bot.set_webhook(
        webhook_endpoint(settings.webhook_url)[0],
        secret_token=secret,
        allowed_updates=app.dp.resolve_used_update_types(),
    )
    stop = asyncio.Event()
    if handle_signals:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    log.info("webhook server on %s:%s", settings.webhook_host, settings.webhook_port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
