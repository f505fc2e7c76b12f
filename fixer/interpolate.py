"""Compose-spec interpolation and `.env` files: does a compose file load with these values?

`${VAR}`, `$VAR`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
`${VAR:+replacement}`, `${VAR+replacement}`, nested defaults (`${A:-${B}}`) and `$$` (a
literal `$`) as `docker compose config` reads them. Values are interpolated, keys are not.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    pass


@dataclass
class Result:
    text: str
    missing: list[str] = field(default_factory=list)     # required variables not set (with their message)


def interpolate(text: str, env: dict[str, str]) -> Result:
    """`text` with its variables substituted; `missing` lists `${VAR:?…}`/`${VAR?…}` that fail.
    Raises InterpolationError on syntax compose refuses (`${`, `${VAR:x}`)."""
    res = Result("")
    res.text, _ = _expand(text, 0, env, res, stop=None)
    return res


def _expand(text: str, i: int, env, res: Result, stop: str | None) -> tuple[str, int]:
    out = []
    n = len(text)
    while i < n:
        c = text[i]
        if stop is not None and c == stop:
            return "".join(out), i
        if c != "$":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1] if i + 1 < n else ""
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            value, i = _braced(text, i + 2, env, res)
            out.append(value)
        else:
            m = _NAME.match(text, i + 1)
            if m:
                out.append(env.get(m.group(0), ""))
                i = m.end()
            else:
                out.append("$")
                i += 1
    if stop is not None:
        raise InterpolationError(f"unterminated ${{ in {text!r}")
    return "".join(out), i


def _braced(text: str, i: int, env, res: Result) -> tuple[str, int]:
    m = _NAME.match(text, i)
    if not m:
        raise InterpolationError(f"invalid interpolation format in {text!r}")
    name, i = m.group(0), m.end()
    if i < len(text) and text[i] == "}":
        return env.get(name, ""), i + 1
    op = text[i:i + 2] if text[i:i + 2] in (":-", ":?", ":+") else text[i:i + 1]
    if op not in (":-", ":?", ":+", "-", "?", "+"):
        raise InterpolationError(f"invalid interpolation format for {name} in {text!r}")
    arg, i = _expand(text, i + len(op), env, res, stop="}")
    i += 1
    is_set = name in env
    non_empty = bool(env.get(name))
    if op == ":-":
        return (env[name] if non_empty else arg), i
    if op == "-":
        return (env[name] if is_set else arg), i
    if op == ":+":
        return (arg if non_empty else ""), i
    if op == "+":
        return (arg if is_set else ""), i
    ok = non_empty if op == ":?" else is_set
    if not ok:
        res.missing.append(f"{name}: {arg}" if arg else name)
        return "", i
    return env[name], i


def required(text: str) -> set[str]:
    """Variables without which `text` fails to interpolate (`:?`/`?` forms)."""
    return {m.split(":")[0] for m in interpolate(text, {}).missing}


# -- .env files ----------------------------------------------------------------

_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$")


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE pairs of a `.env` file as compose reads them: comments, `export`, quotes;
    unquoted and double-quoted values are interpolated with the pairs above them."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        m = _ENV_LINE.match(line)
        if not m:
            continue
        key, raw = m.group(1), m.group(2).strip()
        if raw[:1] == "'" and raw.rfind("'") > 0:
            env[key] = raw[1:raw.rfind("'")]
            continue
        if raw[:1] == '"' and raw.rfind('"') > 0:
            raw = raw[1:raw.rfind('"')]
        else:
            raw = re.sub(r"\s+#.*$", "", raw)
        try:
            env[key] = interpolate(raw, env).text
        except InterpolationError:
            env[key] = raw
    return env


# -- compose files -------------------------------------------------------------

def compose_problems(text: str, env: dict[str, str]) -> list[str]:
    """Why `docker compose config` would refuse this compose text with these variables
    (required variables missing, bad interpolation syntax); [] when it loads."""
    import yaml

    from .yamldoc import ParseError, compose_all, walk

    try:
        docs = compose_all(text)      # shared parse, with its limits on alias expansion and size
    except ParseError as exc:
        return [f"not YAML: {exc}"]
    problems: list[str] = []
    for node in (n for d in docs for n in walk(d)):
        if isinstance(node, yaml.ScalarNode) and "$" in node.value:
            try:
                res = interpolate(node.value, env)
            except InterpolationError as exc:
                problems.append(str(exc))
                continue
            problems += [f"required variable {m} is not set" for m in res.missing]
    return sorted(set(problems))


def main(argv: list[str]) -> int:
    """`python -m fixer.interpolate COMPOSE [ENV_FILE]`: would the compose file load with
    these values? Prints each problem; exit 1 when there is one."""
    from pathlib import Path

    if not 1 <= len(argv) <= 2:
        print("usage: python -m fixer.interpolate COMPOSE [ENV_FILE]")
        return 2
    env = parse_env(Path(argv[1]).read_text("utf-8")) if len(argv) == 2 else {}
    problems = compose_problems(Path(argv[0]).read_text("utf-8"), env)
    for p in problems:
        print(f"{argv[0]}: {p}")
    if not problems:
        print(f"{argv[0]}: loads" + (f" with {argv[1]}" if len(argv) == 2 else ""))
    return 1 if problems else 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv[1:]))
