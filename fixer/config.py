"""Settings from `[tool.fixer]` in pyproject.toml or `.fixer.toml`, then the CLI.

The file is checked against a JSON Schema built from the settings below and each
codemod's declared `config` options (`fixer config-schema` prints it; the published copy
is `fixer/data/config.schema.json`). A bad key or value is one line naming the file and
the key.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .discovery import DEFAULT_MAX_SIZE

SCHEMA_FILE = Path(__file__).parent / "data" / "config.schema.json"


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
        """The codemod's own options (the engine's `safety` key left out)."""
        return {k: v for k, v in self.codemod.get(cid, {}).items() if k != "safety"}

    def safety(self, cid: str) -> str | None:
        """The safety label the configuration gives a codemod's fixes, if any."""
        return self.codemod.get(cid, {}).get("safety")

    def get(self, key: str, default: Any = None) -> Any:
        return self.extra.get(key, default)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def schema(codemods=None) -> dict[str, Any]:
    """The JSON Schema of `[tool.fixer]` (and of `.fixer.toml`)."""
    if codemods is None:
        from codemods import all_codemods

        codemods = all_codemods()
    ids = [c.id for c in codemods]
    id_list = {"type": ["array", "string"], "items": {"enum": ids},
               "description": "codemod ids (a list, or one comma-separated string)"}
    from .codemod import SAFETY

    per_codemod = {}
    for c in codemods:
        props = {"safety": {"enum": list(SAFETY), "default": c.safety,
                            "title": "label of this codemod's fixes (unsafe ones need --unsafe-fixes)"}}
        for o in c.config:
            props[o.name] = dict(o.schema)
            if o.help:
                props[o.name]["title"] = o.help
            if o.default is not None:
                props[o.name]["default"] = o.default
        per_codemod[c.id] = {"type": "object", "description": c.title,
                             "properties": props, "additionalProperties": False}
    strings = {"type": ["array", "string"], "items": {"type": "string"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/fixer/fixer/config.schema.json",
        "title": "fixer settings ([tool.fixer] in pyproject.toml, or .fixer.toml)",
        "type": "object",
        "properties": {
            "only": {**id_list, "description": "run only these codemods"},
            "skip": {**id_list, "description": "do not run these codemods"},
            "exclude": {**strings, "description": "globs of paths to leave alone"},
            "max-file-size": {"type": "integer", "minimum": 1, "default": DEFAULT_MAX_SIZE,
                              "description": "bytes; larger files are reported and not scanned"},
            "branch": {"type": "string", "default": "fixer/remediation",
                       "description": "branch `fixer apply` writes"},
            "offline": {"type": "boolean",
                        "description": "no network look-ups unless --online (default: plan and apply "
                                       "online, check and report offline)"},
            "jobs": {"type": "integer", "minimum": 1,
                     "description": "processes for file-by-file work"},
            "registry-mirrors": {"type": "object", "additionalProperties": {"type": "string"},
                                 "description": "registry host -> mirror URL"},
            "insecure-registries": {"type": "array", "items": {"type": "string"},
                                    "description": "registry hosts allowed over plain HTTP"},
            "allow-parse-errors": {"type": "boolean", "default": False,
                                   "description": "`fixer check` exits 0/1 even when files cannot be parsed"},
            "include-inactive": {"type": ["boolean", "array"], "items": {"type": "string"}, "default": False,
                                 "description": "scan backup/archive/snapshot folders and workflows GitHub "
                                                "never runs (true, or globs of the ones to scan)"},
            "unsafe-fixes": {"type": "boolean", "default": False,
                             "description": "`apply` and `check --write` also apply fixes labelled unsafe"},
            "fail-on": {"enum": ["pending", "reported", "never", "low", "medium", "high", "critical"],
                        "default": "pending",
                        "description": "what makes `fixer check` exit 1 (a severity: open findings at or above it)"},
            "codemod": {"type": "object", "properties": per_codemod, "additionalProperties": False,
                        "description": "options per codemod"},
        },
        "additionalProperties": False,
    }


def _where(name: str, path: list) -> tuple[str, str]:
    """(table, key) for an error at `path` inside the file's fixer table."""
    table = "[tool.fixer]" if name == "pyproject.toml" else ""
    parts = [str(p) for p in path]
    if len(parts) >= 2 and parts[0] == "codemod":
        table = f"[{'tool.fixer.' if table else ''}codemod.{parts[1]}]"
        parts = parts[2:]
    elif parts[:1] == ["codemod"]:
        table = f"[{'tool.fixer.' if table else ''}codemod]"
        parts = []
    return table, ".".join(parts)


def _message(name: str, err) -> str:
    """One line for a jsonschema error: file, table, key, what is wrong."""
    path = list(err.absolute_path)
    if err.validator == "additionalProperties":
        known = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(known))
        label = " ".join(filter(None, _where(name, path + [extra[0]])))
        if path == ["codemod"]:
            return f"{name}: {_where(name, path)[0]} {extra[0]}: unknown codemod (see `fixer rules`)"
        hint = f" (known: {', '.join(known)})" if known else " (this codemod has no options)"
        return f"{name}: {label}: unknown key{hint}"
    if path and isinstance(path[-1], int):   # an item of a list: name the list
        path = path[:-1]
    label = " ".join(filter(None, _where(name, path)))
    value = err.instance
    if err.validator == "enum" and path and path[-1] in ("only", "skip"):
        return f"{name}: {label}: unknown codemod '{value}' (see `fixer rules`)"
    if err.validator == "type":
        want = err.validator_value if isinstance(err.validator_value, str) else " or ".join(err.validator_value)
        return f"{name}: {label}: expected {want}, got {_toml(value)}"
    if err.validator == "pattern" and "description" in err.schema:
        return f"{name}: {label}: {_toml(value)} is not {err.schema['description']}"
    return f"{name}: {label}: {err.message}"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def check(name: str, data: dict[str, Any], codemods=None) -> None:
    """Raise ConfigError for the first problem of the settings read from file `name`."""
    import jsonschema

    data = dict(data)
    for key in ("only", "skip"):   # comma-separated strings are lists of ids
        if isinstance(data.get(key), str):
            data[key] = _as_list(data[key])
    validator = jsonschema.Draft202012Validator(schema(codemods))
    errors = sorted(validator.iter_errors(data), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        raise ConfigError(_message(name, errors[0]))


def read_file_config(root: Path) -> dict[str, Any]:
    """The `[tool.fixer]` table (pyproject.toml) or `.fixer.toml` of a repository,
    checked against the schema."""
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
            if not isinstance(data, dict):
                raise ConfigError(f"{name}: [tool.fixer] must be a table")
        elif isinstance(data.get("tool"), dict) and "fixer" in data["tool"]:
            data = data["tool"]["fixer"]
        if data:
            check(name, data)
        return data
    return {}


def load(root: Path, offline_default: bool = False, **cli: Any) -> Settings:
    """Settings of the repository at root; `offline_default` is the command's own default
    when neither the file nor the command line says."""
    data = read_file_config(root) if root.is_dir() else {}
    s = Settings()
    s.only = _as_list(data.get("only"))
    s.skip = _as_list(data.get("skip"))
    s.exclude = _as_list(data.get("exclude"))
    if "max-file-size" in data:
        s.max_file_size = int(data["max-file-size"])
    s.branch = str(data.get("branch", s.branch))
    s.offline = bool(data.get("offline", offline_default))
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
