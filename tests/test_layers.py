"""The layers of docs/architecture.md: what each package may import.

Read from the source (the imports a module runs; those under `if TYPE_CHECKING:` are
for type checkers only), plus one fresh interpreter for what the command line loads.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def runtime_imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking_only(node):
            found |= {name for child in node.orelse for name in runtime_imports(child)}
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            # `from bot import render` imports the module bot.render.
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
        found |= runtime_imports(node)
    return found


def imports() -> dict[str, set[str]]:
    """Each module of ours and the modules it imports (of ours: only those that exist)."""
    paths = [path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))]
    ours = {module_name(path) for path in paths}
    result: dict[str, set[str]] = {}
    for path in paths:
        names = runtime_imports(ast.parse(path.read_text(encoding="utf-8")))
        result[module_name(path)] = {
            name for name in names if name.split(".")[0] not in PACKAGES or name in ours
        }
    return result


def within(name: str, *prefixes: str) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def breaches(modules: tuple[str, ...], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{module} imports {name}"
        for module, names in imports().items()
        if within(module, *modules)
        for name in names
        if within(name, *forbidden)
    )


def test_the_scan_sees_imports() -> None:
    # The rules below are only as good as the scan: it must find what is there.
    found = imports()
    assert "storage.db" in found["bot.root"]
    assert "bot.render" in found["handlers.common"]
    assert "aiogram" in found["bot.app"]
    assert "storage.feeds" not in found["bot.render"]  # type checkers only


def test_handlers_reach_storage_and_nlp_only_through_services() -> None:
    assert breaches(("handlers",), ("storage", "bot.nlp", "sumy", "aiosqlite")) == []


def test_only_the_composition_root_imports_the_handlers() -> None:
    outside = [b for b in breaches(("bot", "storage"), ("handlers",)) if b.split()[0] != "bot.app"]
    assert outside == []


# Helpers that import nothing of ours, used below the services too: article files
# whose text is HTML are read by storage/seeds.py.
LEAF_MODULES = {"bot.intake.markup"}


def test_storage_and_nlp_know_nothing_of_telegram_or_services() -> None:
    telegram_or_above = ("aiogram", "handlers", "bot.app", "bot.root", "bot.render", "bot.texts")
    services = ("bot.articles", "bot.chats", "bot.subscriptions", "bot.digest", "bot.jobs")
    found = breaches(("storage", "bot.nlp"), telegram_or_above + services + ("bot.intake",))
    assert [b for b in found if b.split()[-1] not in LEAF_MODULES] == []
    assert breaches(("bot.nlp",), ("storage",)) == []


def test_the_leaf_helpers_import_nothing_of_ours() -> None:
    found = imports()
    assert {
        f"{leaf} imports {name}"
        for leaf in LEAF_MODULES
        for name in found[leaf]
        if name.split(".")[0] in PACKAGES
    } == set()


def test_the_services_without_telegram_import_no_aiogram() -> None:
    without = ("bot.root", "bot.articles", "bot.chats", "bot.digest", "bot.intake", "bot.jobs")
    assert breaches(without, ("aiogram",)) == []


def test_commands_that_do_not_talk_to_telegram_load_no_aiogram() -> None:
    # What `summarize`, `points`, `ingest` and `backup` import, all of it, in a fresh process.
    script = (
        "import json, sys\n"
        "import bot.__main__, bot.root, bot.nlp.points, storage.backup, storage.seeds\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
