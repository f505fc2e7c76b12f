"""fixer's codemods: every module in this package is scanned for Codemod classes."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from fixer.codemod import Codemod


@lru_cache(maxsize=1)
def module_ids() -> tuple[str, ...]:
    """The codemod ids, read from the module names (module `compose_cap_drop` holds the
    codemod `compose-cap-drop`) without importing them."""
    return tuple(sorted(info.name.replace("_", "-") for info in pkgutil.iter_modules(__path__)
                        if not info.name.startswith("_")))


@lru_cache(maxsize=1)
def all_codemods() -> tuple[Codemod, ...]:
    """Every codemod, in the order the engine runs them."""
    return some_codemods(module_ids())


@lru_cache(maxsize=64)
def some_codemods(ids: tuple[str, ...]) -> tuple[Codemod, ...]:
    """These codemods only, in run order: a run with `--only` imports no other module."""
    found: dict[str, Codemod] = {}
    for name in sorted(i.replace("-", "_") for i in ids):
        mod = importlib.import_module(f"{__name__}.{name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Codemod) and obj.id and obj.__module__ == mod.__name__:
                if obj.id in found:
                    raise RuntimeError(f"duplicate codemod id {obj.id}")
                found[obj.id] = obj()
    return tuple(sorted(found.values(), key=lambda c: (c.order, c.id)))


def by_id() -> dict[str, Codemod]:
    return {c.id: c for c in all_codemods()}
