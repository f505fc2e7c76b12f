"""Compile fixer's modules once, as `pip install` does for an installed package: an
editable install under PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module at
every start, while the tools it is compared with, installed by pip, have their bytecode."""
from __future__ import annotations

import compileall
from pathlib import Path


def compile_fixer() -> None:
    root = Path(__file__).resolve().parent.parent
    for d in ("fixer", "codemods"):
        compileall.compile_dir(str(root / d), quiet=1)
