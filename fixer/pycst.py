"""libcst, imported on first use: `from fixer.pycst import cst` then `cst.Name` as usual.
Importing libcst costs about 0.1 s, which a run that parses no Python should not pay."""
from __future__ import annotations

import importlib


class _OnFirstUse:
    def __init__(self, module: str):
        self._name = module

    def __getattr__(self, attr: str):
        mod = importlib.import_module(self._name)
        value = getattr(mod, attr)
        setattr(self, attr, value)
        return value


cst = _OnFirstUse("libcst")
metadata = _OnFirstUse("libcst.metadata")
