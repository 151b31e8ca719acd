"""Lighter imports of aiogram and nltk: the bot starts in a third of the time and half the memory.

Three third-party imports do far more work than the bot needs. `install()`, called
when the `bot` package is imported, puts an import hook in front of each; each is
measured in benchmarks/startup.py and benchmarks/memory.py and checked in
tests/test_lazy_imports.py, in fresh processes.

`aiogram.types` ends with a loop that calls `model_rebuild()` on each of its ~450
pydantic models, so importing it builds a validator for every type the Bot API has:
on our machines that is 2 of the 3 seconds aiogram takes to import and 110 of its
170 MB. The bot meets a few dozen of those types, and aiogram already declares its
models `defer_build=True`; only that loop makes the builds eager. The hook runs the
module with the loop's `model_rebuild()` calls skipped for aiogram's own models, then
puts the names the loop would have passed into the modules whose annotations refer
to them. Pydantic then builds a model's validator, with the same schema, on its
first validation.

`aiogram.methods.base`: the ~190 method models are not deferred, and building them
at import would build the types they take. The hook defers them the same way.

`nltk`: sumy imports nltk for its Snowball stemmer, and nltk's own `__init__` imports
`scipy.stats` when scipy is installed (it is: `bot.nlp.fast` uses `scipy.sparse`).
That is 50 MB and half a second for statistics that nothing here calls (nltk's
collocation scores, Fisher's test, Gale-Church alignment). The hook hides
`scipy.stats` while nltk initialises; nltk has a fallback for each, and after the
import `scipy.stats` imports as usual.

If aiogram or nltk was imported before `bot`, the hook for it does nothing; nor does
it for an `aiogram.types` that no longer ends with that loop.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    # Runs a module (the first argument runs its code) with something changed around it.
    Wrapper = Callable[[Callable[[], None], ModuleType], None]


def install() -> None:
    """Put the hook in front of the imports below. Idempotent."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Finder())


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
        return False
    return "model_rebuild(_types_namespace=_types_namespace)" in source


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
