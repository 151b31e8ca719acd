"""bot.lazy_imports: aiogram's models are built on first use, and built the same; a
started bot has built every model it meets; the summarizer stack loads with the first
summary, without scipy.stats; where the hooks' assumptions fail, they say so.

Each check runs in a fresh interpreter: this test process imported aiogram long ago.
The hooks are installed as the entry point (bot.__main__.entry) installs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

UPDATE = {
    "update_id": 7,
    "message": {
        "message_id": 10,
        "date": 0,
        "chat": {"id": -100, "type": "supergroup", "title": "Новости"},
        "from": {"id": 1, "is_bot": False, "first_name": "Аня"},
        "text": "/summary",
        "entities": [{"type": "bot_command", "offset": 0, "length": 8}],
        "reply_to_message": {
            "message_id": 9,
            "date": 0,
            "chat": {"id": -100, "type": "supergroup", "title": "Новости"},
            "from": {"id": 2, "is_bot": True, "first_name": "Svodka", "username": "svodka_bot"},
            "text": "Сводка",
            "reply_markup": {
                "inline_keyboard": [[{"text": "Тезисы", "callback_data": "a:points:1"}]]
            },
        },
    },
}

# The models the bot meets, whose JSON schema must not change with the hook.
ROOTS = ["Update", "Message", "CallbackQuery", "ChatMemberUpdated", "InlineKeyboardMarkup"]
METHOD_ROOTS = ["SendMessage", "AnswerCallbackQuery", "SetMyCommands", "GetUpdates"]


INSTALL = "from bot import lazy_imports; lazy_imports.install()\n"


def run(script: str, *, hooks: bool = True) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", (INSTALL if hooks else "") + textwrap.dedent(script)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def run_with_packages(folder: Path, statement: str) -> subprocess.CompletedProcess[str]:
    """`statement` with the hooks installed and the packages in `folder` ahead of the
    installed ones."""
    return subprocess.run(
        [sys.executable, "-c", INSTALL + statement],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PYTHONPATH": f"{folder}{os.pathsep}{ROOT}"},
    )


SCHEMAS = f"""
    import warnings
    import aiogram.methods as M, aiogram.types as T
    warnings.simplefilter("ignore")  # aiogram's Default(...) values have no JSON form
    out = {{name: getattr(T, name).model_json_schema() for name in {ROOTS!r}}}
    out.update({{name: getattr(M, name).model_json_schema() for name in {METHOD_ROOTS!r}}})
    print(json.dumps(out, sort_keys=True))
"""


def test_importing_the_bot_builds_no_telegram_type() -> None:
    built = run("""
        import json
        import bot.app
        import aiogram.types as T, aiogram.methods as M
        from pydantic import BaseModel
        bases = (M.TelegramMethod, M.Request, M.Response)
        def complete(module):
            models = [getattr(module, n) for n in module.__all__]
            models = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel)
                      and m not in bases]
            return sum(m.__pydantic_complete__ for m in models), len(models)
        print(json.dumps({"types": complete(T), "methods": complete(M)}))
    """)
    types_done, types_all = built["types"]
    methods_done, methods_all = built["methods"]
    assert types_all > 400 and methods_all > 150
    # Stock aiogram builds every one of them at import.
    assert types_done == 0
    assert methods_done == 0


def test_an_update_validates_into_the_nested_types() -> None:
    seen = run(f"""
        import json
        import bot.app
        from aiogram.types import Update
        update = Update.model_validate({UPDATE!r})
        message = update.message
        reply = message.reply_to_message
        button = reply.reply_markup.inline_keyboard[0][0]
        print(json.dumps([
            type(message).__name__, type(message.chat).__name__, type(message.from_user).__name__,
            type(message.entities[0]).__name__, message.entities[0].type,
            type(reply).__name__, reply.from_user.username,
            type(button).__name__, button.callback_data,
        ]))
    """)
    assert seen == [
        "Message",
        "Chat",
        "User",
        "MessageEntity",
        "bot_command",
        "Message",
        "svodka_bot",
        "InlineKeyboardButton",
        "a:points:1",
    ]


def test_every_type_and_method_still_builds() -> None:
    failures = run("""
        import json
        import bot.app
        import aiogram.methods as M, aiogram.types as T
        from aiogram.methods.base import Response
        from pydantic import BaseModel
        failures = []
        for module in (T, M):
            for name in module.__all__:
                model = getattr(module, name)
                if not (isinstance(model, type) and issubclass(model, BaseModel)):
                    continue
                if model in (M.TelegramMethod, M.Request, M.Response):
                    continue
                try:
                    model.model_rebuild(raise_errors=True)
                    if module is M:
                        Response[model.__returning__].model_rebuild(raise_errors=True)
                except Exception as error:
                    failures.append(f"{name}: {error}")
        print(json.dumps(failures))
    """)
    assert failures == []


def test_lazily_built_schemas_equal_aiograms_own() -> None:
    stock = run("import json\nimport bot.app\n" + textwrap.dedent(SCHEMAS), hooks=False)
    lazy = run("import json\nimport bot.app\n" + textwrap.dedent(SCHEMAS))
    assert set(lazy) == set(ROOTS) | set(METHOD_ROOTS)
    for name in lazy:
        assert lazy[name] == stock[name], name


def test_the_summarizer_stack_loads_with_the_first_summary_not_at_start() -> None:
    heavy = ["sumy", "nltk", "numpy", "scipy", "scipy.stats"]
    loaded = run(f"""
        import json, sys
        import bot.__main__, bot.app
        before = [name for name in {heavy!r} if name in sys.modules]
        from bot.articles import _summarize
        from bot.nlp.summarizer import summarize
        text = (
            "Первое предложение о торговле и ценах. Второе предложение об инвестициях в заводы. "
            "Третье предложение о другом, совсем о другом."
        )
        lemma = _summarize(text, algorithm="lexrank", sentences=1)
        snowball = summarize(text, algorithm="lexrank", sentences=1, stemmer="snowball")
        after = [name for name in {heavy!r} if name in sys.modules]
        import scipy.stats  # hidden from nltk only while nltk initialises
        print(json.dumps([before, after, len(lemma), len(snowball), scipy.stats.norm.cdf(0)]))
    """)
    before, after, lemma, snowball, half = loaded
    assert before == []
    assert after == ["sumy", "nltk", "numpy", "scipy"]  # not scipy.stats: 50 MB nobody uses
    assert lemma == snowball == 1
    assert half == 0.5


def test_an_aiogram_without_the_eager_loop_is_imported_as_it_is_and_says_so(
    tmp_path: Path,
) -> None:
    # A stand-in "aiogram.types" that builds its models another way: the hook must
    # leave it alone rather than skip builds it knows nothing about.
    package = tmp_path / "aiogram"
    (package / "types").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "types" / "__init__.py").write_text("BUILT = True\n")
    result = run_with_packages(
        tmp_path, "import aiogram.types as t, sys; print(t.BUILT, type(t.__loader__).__name__)"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "SourceFileLoader"]
    assert "aiogram.types no longer ends with the loop" in result.stderr


def test_a_package_imported_before_the_hooks_is_left_as_it_is_and_said_so() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import aiogram.types\n"
            + INSTALL
            + "print(aiogram.types.Message.__pydantic_complete__)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True"]  # built at import, as aiogram does it
    assert "aiogram.types was imported before bot.lazy_imports.install()" in result.stderr


def test_an_nltk_that_needs_scipy_stats_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "nltk").mkdir()
    (tmp_path / "nltk" / "__init__.py").write_text("import scipy.stats\n")
    result = run_with_packages(tmp_path, "import nltk")
    assert result.returncode != 0
    assert "RuntimeError: nltk now needs scipy.stats" in result.stderr
    assert "bot/lazy_imports.py" in result.stderr


def test_a_started_bot_has_built_every_telegram_model_it_meets() -> None:
    # The bot as `python -m bot run` runs it, hooks installed, against the Bot API test
    # server: once it polls, answering commands, button presses, group admin checks and
    # joining a group builds no further validator (App.start built them).
    newly_built = run(f"""
        import asyncio, json
        from pydantic import BaseModel
        from bot.app import build_app, poll
        from bot.config import Settings
        from tests.botapi import FakeTelegram, same_chat

        def built():
            seen, found, stack = set(), set(), [BaseModel]
            while stack:
                for sub in stack.pop().__subclasses__():
                    if sub not in seen:
                        seen.add(sub)
                        stack.append(sub)
                        if sub.__module__.startswith("aiogram.") and sub.__pydantic_complete__:
                            found.add(f"{{sub.__module__}}.{{sub.__qualname__}}")
            return found

        async def say(tg, text, chat_id=1001, **kw):
            count = len(tg.sent(chat_id)) + 1
            tg.message(text, chat_id=chat_id, **kw)
            await tg.wait_for(
                "sendMessage", lambda c: same_chat(c.chat_id, chat_id), count=count, timeout=60
            )
            return tg.sent(chat_id)[-1]

        async def converse(tg):
            for text in ("/start", "/latest", "/summary", "/search Казахстан", "Токаев",
                         "/subscribe 08:30", "/settings", "/unsubscribe"):
                await say(tg, text, user_id=1001)
            summary = await say(tg, "/summary 1", user_id=1001)
            button = summary.params["reply_markup"]["inline_keyboard"][0][0]
            tg.callback(button["callback_data"], message=summary, user_id=1001)
            await tg.wait_for("answerCallbackQuery", timeout=60)
            group = -1001700
            tg.my_chat_member(group, "member", "left", chat_type="supergroup")
            await tg.wait_for("sendMessage", lambda c: same_chat(c.chat_id, group))
            tg.set_admins(group, [1002])
            await say(tg, "/subscribe@svodka_bot 09:00", chat_id=group, user_id=1002)
            await say(tg, "/points@svodka_bot", chat_id=group, user_id=1003)
            await say(tg, "/feeds", user_id=500)

        async def main(folder):
            async with FakeTelegram(token="42:token", bot_username="svodka_bot") as tg:
                settings = Settings(
                    _env_file=None, bot_token="42:token", telegram_api_url=tg.url,
                    database_path=f"{{folder}}/svodka.sqlite3", seeds_dir={str(ROOT / "seeds")!r},
                    admin_ids=[500], flood_burst=10_000,
                )
                app = await build_app(settings)
                task = asyncio.create_task(poll(app, handle_signals=False, polling_timeout=1))
                try:
                    await tg.wait_for("getUpdates", ok=None, timeout=60)
                    before = built()
                    await converse(tg)
                    after = built()
                finally:
                    await app.dp.stop_polling()
                    await task
                    await app.close()
            return sorted(after - before)

        import tempfile
        with tempfile.TemporaryDirectory() as folder:
            print(json.dumps(asyncio.run(main(folder))))
    """)
    assert newly_built == []
