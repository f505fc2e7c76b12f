"""Settings from `[tool.fixer]` in pyproject.toml or `.fixer.toml`, then the CLI."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discovery import DEFAULT_MAX_SIZE


class ConfigError(Exception):
    pass


@dataclass
class Settings:
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    max_file_size: int = DEFAULT_MAX_SIZE
    offline: bool = False
    branch: str = "fixer/remediation"
    codemod: dict[str, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)   # other keys, for subsystems

    def codemod_options(self, cid: str) -> dict[str, Any]:
        return dict(self.codemod.get(cid, {}))

    def get(self, key: str, default: Any = None) -> Any:
        return self.extra.get(key, default)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def read_file_config(root: Path) -> dict[str, Any]:
    """The `[tool.fixer]` table (pyproject.toml) or `.fixer.toml` of a repository."""
    for name in (".fixer.toml", "pyproject.toml"):
        p = root / name
        if not p.is_file():
            continue
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{name}: invalid TOML: {exc}") from None
        if name == "pyproject.toml":
            data = data.get("tool", {}).get("fixer")
            if data is None:
                continue
        else:
            data = data.get("tool", {}).get("fixer", data)
        return data
    return {}


def load(root: Path, **cli: Any) -> Settings:
    data = read_file_config(root) if root.is_dir() else {}
    s = Settings()
    s.only = _as_list(data.get("only"))
    s.skip = _as_list(data.get("skip"))
    s.exclude = _as_list(data.get("exclude"))
    if "max-file-size" in data:
        s.max_file_size = int(data["max-file-size"])
    s.branch = str(data.get("branch", s.branch))
    s.offline = bool(data.get("offline", False))
    s.codemod = {k: dict(v) for k, v in data.get("codemod", {}).items()}
    known = {"only", "skip", "exclude", "max-file-size", "branch", "offline", "codemod"}
    s.extra = {k: v for k, v in data.items() if k not in known}
    for key, value in cli.items():
        if value is None or value == [] or value == ():
            continue
        if key in ("only", "skip"):
            setattr(s, key, _as_list(value))
        elif key == "exclude":
            s.exclude = s.exclude + _as_list(value)
        elif hasattr(s, key) and key not in ("extra", "codemod"):
            setattr(s, key, value)
        else:
            s.extra[key] = value
    return s
