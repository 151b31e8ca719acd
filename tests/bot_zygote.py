"""Bot processes that start in a fraction of the time: `python -m tests.bot_zygote`.

Importing aiogram, pymorphy3 and sumy costs a bot process most of its start (about ten
seconds of CPU on a busy machine); a crash test that kills and restarts the bot twenty
times would spend minutes on it. This process imports all of it once, then forks: each
child is an ordinary process running `python -m bot run` (bot.__main__.main) with the
environment, folder and log it is given, and dies of a SIGKILL like any other.

Reads one JSON object a line on stdin, {"env": {...}, "cwd": "...", "log": "..."},
answers `started PID` for each, and `exit PID CODE` when a child ends (CODE negative:
killed by that signal).
"""

from __future__ import annotations

import json
import os
import select
import sys


def prepare() -> None:
    from bot import lazy_imports

    lazy_imports.install()
    import aiogram.exceptions  # noqa: F401  (what `run` imports first)

    import bot.app
    import handlers  # noqa: F401
    from bot.articles import load_summarizer

    lazy_imports.build_now(bot.app.TELEGRAM_MODELS)
    load_summarizer()


def child(order: dict[str, object]) -> None:
    from bot.__main__ import main

    env = order["env"]
    assert isinstance(env, dict)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in env.items()})
    os.chdir(str(order["cwd"]))
    log = os.open(str(order["log"]), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    code = 1
    try:
        code = main(["run"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def reap(children: set[int]) -> None:
    for pid in list(children):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            children.discard(pid)
            print(f"exit {pid} {os.waitstatus_to_exitcode(status)}", flush=True)


def serve() -> None:
    prepare()
    print("ready", flush=True)
    children: set[int] = set()
    pending = b""
    while True:
        readable, _, _ = select.select([0], [], [], 0.02)
        reap(children)
        if not readable:
            continue
        chunk = os.read(0, 65536)
        if not chunk:
            break
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            pid = os.fork()
            if pid == 0:
                child(json.loads(line))
            children.add(pid)
            print(f"started {pid}", flush=True)
    for pid in children:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    serve()
