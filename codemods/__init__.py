"""fixer's codemods: every module in this package is scanned for Codemod classes."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from fixer.codemod import Codemod


@lru_cache(maxsize=1)
def all_codemods() -> tuple[Codemod, ...]:
    """Every codemod, in the order the engine runs them."""
    found: dict[str, Codemod] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(mod).values():
            if isinstance(obj, type) and issubclass(obj, Codemod) and obj.id and obj.__module__ == mod.__name__:
                if obj.id in found:
                    raise RuntimeError(f"duplicate codemod id {obj.id}")
                found[obj.id] = obj()
    return tuple(sorted(found.values(), key=lambda c: (c.order, c.id)))


def by_id() -> dict[str, Codemod]:
    return {c.id: c for c in all_codemods()}
