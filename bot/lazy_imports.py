"""Lighter imports of aiogram and nltk, installed by the entry point (`bot.__main__.entry`).

What they buy, measured by benchmarks/imports.py against the same commands without them
(docs/benchmarks.md has the figures): the bot and the console hold half the memory
(about 140 MB against 290), the bot starts polling sooner and `console --once` answers
in half the time; `summarize` takes about a third less memory and time. Nothing else in
the tree depends on them: without `install()` (the tests, the benchmarks that import
the bot) everything works the same, only heavier.

`aiogram.types` ends with a loop that calls `model_rebuild()` on each of its ~450
pydantic models, so importing it builds a validator for every type the Bot API has:
2 of the 3 seconds aiogram takes to import and 110 of its 170 MB. The bot meets a few
dozen of those types, and aiogram already declares its models `defer_build=True`; only
that loop makes the builds eager. The hook runs the module with the loop's
`model_rebuild()` calls skipped for aiogram's own models, then puts the names the loop
would have passed into the modules whose annotations refer to them. Pydantic then
builds a model's validator, with the same schema, on its first validation; `build_now`
builds the ones the bot meets at its start, so no user waits for them and a model that
no longer builds stops the start, not a reply.

`aiogram.methods.base`: the ~190 method models are not deferred, and building them
at import would build the types they take. The hook defers them the same way.

`nltk`: sumy imports nltk for its Snowball stemmer, and nltk's own `__init__` imports
`scipy.stats` when scipy is installed (it is: `bot.nlp.fast` uses `scipy.sparse`).
That is 50 MB and half a second for statistics that nothing here calls (nltk's
collocation scores, Fisher's test, Gale-Church alignment). The hook hides
`scipy.stats` while nltk initialises; nltk has a fallback for each, and after the
import `scipy.stats` imports as usual.

What they rely on, and what happens when it no longer holds:

* aiogram, pydantic and nltk within the upper bounds pinned in pyproject.toml, the
  versions tests/test_lazy_imports.py has passed on. Raise a bound only with that test
  passing on the new version.
* `aiogram.types` ending with that loop: one that does not is imported as it is, and a
  warning says so (slower, not broken).
* aiogram or nltk not imported before `install()`: one that was is left as it is, and a
  warning says so.
* nltk guarding its `scipy.stats` imports: an nltk that needs it fails its import with a
  RuntimeError that names this module, rather than a summarizer that half works.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import logging
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from pydantic import BaseModel

    # Runs a module (the first argument runs its code) with something changed around it.
    Wrapper = Callable[[Callable[[], None], ModuleType], None]


log = logging.getLogger(__name__)


def install() -> None:
    """Puts the hooks in front of the imports below. Idempotent."""
    if any(isinstance(finder, _Finder) for finder in sys.meta_path):
        return
    for name in _WRAPPERS:
        if name in sys.modules:
            log.warning(
                "%s was imported before bot.lazy_imports.install(): it stays as it is,"
                " with a slower start and more memory",
                name,
            )
    sys.meta_path.insert(0, _Finder())


def build_now(models: Iterable[type[BaseModel]]) -> list[type[BaseModel]]:
    """Builds the validators of `models` now, not at their first use; for a Bot API
    method, also the validator of its response. A no-op for what is built already (all
    of it, without the hooks). Raises RuntimeError for a model that does not build.

    Returns the models built, responses included: pydantic keeps a response model such
    as `Response[Message]` only while something refers to it, so the caller holds them.
    """
    from aiogram.methods.base import Response, TelegramMethod

    built: list[type[BaseModel]] = []
    for model in models:
        built.append(model)
        if issubclass(model, TelegramMethod):
            built.append(Response[model.__returning__])  # type: ignore[name-defined]
    for target in built:
        try:
            target.model_rebuild(raise_errors=True)
        except Exception as exc:
            raise RuntimeError(
                f"{target.__name__} does not build; if aiogram or pydantic was upgraded"
                " past the bounds in pyproject.toml, see bot/lazy_imports.py"
            ) from exc
    return built


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        wrap = _WRAPPERS.get(fullname)
        if wrap is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not _looks_as_expected(fullname, spec):
            return None
        spec.loader = _Loader(spec.loader, wrap)
        return spec


def _looks_as_expected(name: str, spec: importlib.machinery.ModuleSpec) -> bool:
    """Whether `aiogram.types` still ends with the loop the hook replaces. A future
    aiogram that builds its types another way is imported as it is: slower, not broken."""
    if name != "aiogram.types":
        return True
    try:
        source = Path(spec.origin or "").read_text(encoding="utf-8")
    except (OSError, ValueError):
        source = ""
    if "model_rebuild(_types_namespace=_types_namespace)" in source:
        return True
    log.warning(
        "aiogram.types no longer ends with the loop bot/lazy_imports.py skips: its types"
        " are built at import, with a slower start and more memory"
    )
    return False


class _Loader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, wrap: Wrapper) -> None:
        self._inner = inner
        self._wrap = wrap

    def __getattr__(self, name: str) -> Any:
        # get_code, get_resource_reader and the like: the path loader's own.
        return getattr(self._inner, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._wrap(lambda: self._inner.exec_module(module), module)


def _types(run: Callable[[], None], module: ModuleType) -> None:
    from pydantic import BaseModel

    rebuild = BaseModel.__dict__["model_rebuild"]

    def skip_aiogram(cls: type[BaseModel], *args: Any, **kwargs: Any) -> bool | None:
        if cls.__module__.startswith("aiogram."):
            return None
        return rebuild.__func__(cls, *args, **kwargs)

    BaseModel.model_rebuild = classmethod(skip_aiogram)  # type: ignore[method-assign,assignment]
    try:
        run()
    finally:
        BaseModel.model_rebuild = rebuild  # type: ignore[method-assign]
    _hand_out_namespace(module)


def _methods(run: Callable[[], None], module: ModuleType) -> None:
    run()
    # Subclasses take their config from this one when their classes are created.
    module.TelegramMethod.model_config["defer_build"] = True


def _nltk(run: Callable[[], None], module: ModuleType) -> None:
    hidden = "scipy.stats" not in sys.modules
    if hidden:
        # None in sys.modules makes `import scipy.stats` raise ImportError.
        sys.modules["scipy.stats"] = None  # type: ignore[assignment]
    try:
        run()
    except ImportError as exc:
        if hidden and exc.name == "scipy.stats":
            raise RuntimeError(
                "nltk now needs scipy.stats to import, which bot/lazy_imports.py hides from"
                " it: pin nltk below this version or drop that hook"
            ) from exc
        raise
    finally:
        if hidden and sys.modules.get("scipy.stats", "") is None:
            del sys.modules["scipy.stats"]


def _hand_out_namespace(package: ModuleType) -> None:
    """Puts the names each model's annotations use into the model's module.

    aiogram's types import each other only for type checkers (`if TYPE_CHECKING:`), so
    a type's own module lacks the names its string annotations refer to; aiogram's loop
    passes them all at once. A validator may first be built as part of another model
    (a method's, or a generic `Response[Message]`), and pydantic then resolves a nested
    model's annotations in that model's module, so the names go there: only the ones
    missing, a few per module.
    """
    from aiogram.client.default import Default
    from pydantic import BaseModel

    names = list(getattr(package, "__all__", ()))
    namespace: dict[str, Any] = {
        "List": list,
        "Optional": Optional,
        "Union": Union,
        "Literal": Literal,
        "Default": Default,
        **{name: getattr(package, name) for name in names},
    }
    words: dict[type, set[str]] = {}  # a base's names, read once for all its subclasses
    for name in names:
        model = namespace[name]
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        home = vars(sys.modules[model.__module__])
        # Inherited fields too: pydantic reads a base's annotations in the subclass's
        # module (MenuButtonCommands has MenuButton's `web_app: WebAppInfo`). Only
        # aiogram's own classes: pydantic's BaseModel names nothing of aiogram's.
        for klass in model.__mro__:
            if not klass.__module__.startswith("aiogram."):
                continue
            if klass not in words:
                words[klass] = {
                    word
                    for annotation in inspect.get_annotations(klass).values()
                    if isinstance(annotation, str)
                    for word in _WORD.findall(annotation)
                    if word in namespace
                }
            for word in words[klass]:
                home.setdefault(word, namespace[word])


_WORD = re.compile(r"[A-Za-z_]\w*")


_WRAPPERS: dict[str, Wrapper] = {
    "aiogram.types": _types,
    "aiogram.methods.base": _methods,
    "nltk": _nltk,
}
