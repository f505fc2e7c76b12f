"""Values of shell words the way a reader follows them (tree-sitter-bash).

`docker build -f "$dockerfile"` names a known file when `$dockerfile` is a loop
variable over a literal list, a variable assigned once (globally or `local` in a
function), a function's positional parameter whose call sites pass literals, or a
path built from the script's own folder (`$(dirname "$0")`, `${BASH_SOURCE[0]}`).
Anything else stays unknown (None).
"""
from __future__ import annotations

import itertools
import posixpath
import re
from dataclasses import dataclass, field

from .. import shell as sh

REPO = "\0repo/"          # a value that starts here is relative to the repository root
MAX_VALUES = 256
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)|\$(\d)")
_SELF_DIR = re.compile(
    r"""^\$\(\s*(?:cd\s+)?"?\$\(\s*dirname\s+"?\$(?:0|\{0\}|\{BASH_SOURCE(?:\[0\])?\}|BASH_SOURCE)"?\s*\)"?"""
    r"""(?P<up>(?:/\.\.)*)"?\s*(?:&&\s*pwd\s*(?:-P\s*)?)?\)$""")


@dataclass
class Scope:
    start: int
    end: int
    name: str = ""                       # function name ("" for a for loop)
    var: str = ""                        # loop variable
    items: list[str] | None = None       # loop values (None: not all literal)


@dataclass
class Script:
    text: str
    dir: str                                         # the script's folder in the repository
    functions: dict[str, Scope] = field(default_factory=dict)
    loops: list[Scope] = field(default_factory=list)
    assigns: dict[tuple[str, str], list[tuple[int, str]]] = field(default_factory=dict)  # (func, var)
    calls: dict[str, list[tuple[int, list[str]]]] = field(default_factory=dict)   # name -> (offset, args)
    spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # offset -> its words' spans
    values_at: dict[int, tuple[int, int]] = field(default_factory=dict)    # assignment -> value span


def read(text: str, path: str, base: int = 0) -> Script:
    data = text.encode("utf-8", "surrogatepass")
    tree = sh._parser().parse(data)
    s = Script(text, posixpath.dirname(path))
    _walk(tree.root_node, s, sh._Offsets(text, data, base), "")
    return s


def _lit(node) -> str | None:
    return sh._literal(node)


def _raw(node) -> str:
    return node.text.decode("utf-8", "surrogatepass")


def _walk(node, s: Script, off, func: str) -> None:
    for child in node.named_children:
        t = child.type
        if t == "function_definition":
            name = child.child_by_field_name("name")
            n = _raw(name) if name is not None else ""
            s.functions[n] = Scope(off(child.start_byte), off(child.end_byte), n)
            _walk(child, s, off, n)
            continue
        if t == "for_statement":
            var = child.child_by_field_name("variable")
            vals = [c for i, c in enumerate(child.children) if child.field_name_for_child(i) == "value"]
            items = [_lit(v) for v in vals]
            s.loops.append(Scope(off(child.start_byte), off(child.end_byte), "",
                                 _raw(var) if var is not None else "",
                                 None if None in items or not items else items))   # type: ignore[arg-type]
        elif t == "variable_assignment":
            name = child.child_by_field_name("name")
            value = child.child_by_field_name("value")
            if name is not None:
                s.assigns.setdefault((func, _raw(name)), []).append(
                    (off(child.start_byte), _raw(value) if value is not None else ""))
                if value is not None:
                    s.values_at[off(child.start_byte)] = (off(value.start_byte), off(value.end_byte))
        elif t == "command":
            words = [c for i, c in enumerate(child.children) if child.field_name_for_child(i) in ("name", "argument")]
            if words:
                s.calls.setdefault(_raw(words[0]), []).append(
                    (off(child.start_byte), [_lit(w) if _lit(w) is not None else _raw(w) for w in words[1:]]))
                s.spans[off(child.start_byte)] = [(off(w.start_byte), off(w.end_byte)) for w in words]
        if t not in ("string", "raw_string", "comment", "heredoc_body"):
            _walk(child, s, off, func)


def values(s: Script, raw: str, at: int, depth: int = 0) -> list[str] | None:
    """Every value word `raw` (as written) can take at offset `at`, or None."""
    if depth > 6:
        return None
    word = _unquote(raw)
    if "`" in word or "$((" in word:
        return None
    parts: list[list[str]] = []
    for tok in _tokens(word):
        if isinstance(tok, str):
            parts.append([tok])
            continue
        kind, name, _ = tok
        if kind == "self":
            parts.append([REPO + posixpath.normpath(posixpath.join(s.dir or ".", name))])
        else:
            got = _var(s, name, at, depth)
            if got is None:
                return None
            parts.append(got)
    out = []
    for combo in itertools.product(*parts):
        out.append("".join(combo))
        if len(out) > MAX_VALUES:
            return None
    return out


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.replace('"', "")


def _tokens(word: str):
    """Literal text and ("var", name, end) / ("self", "..", end) pieces of a word."""
    i, lit = 0, []
    while i < len(word):
        if word.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(word) and depth:
                depth += (word[j] == "(") - (word[j] == ")")
                j += 1
            m = _SELF_DIR.match(word[i:j])
            if not m:
                yield ("var", "\0unknown", j)
                return
            if lit:
                yield "".join(lit)
                lit = []
            ups = m.group("up").count("..")
            yield ("self", "/".join([".."] * ups) or ".", j)
            i = j
            continue
        m = _VAR.match(word, i)
        if m:
            if lit:
                yield "".join(lit)
                lit = []
            yield ("var", m.group(1) or m.group(2) or m.group(3), m.end())
            i = m.end()
            continue
        if word[i] == "$":
            yield ("var", "\0unknown", i + 1)
            i += 1
            continue
        lit.append(word[i])
        i += 1
    if lit:
        yield "".join(lit)


def _var(s: Script, name: str, at: int, depth: int) -> list[str] | None:
    if name == "\0unknown":
        return None
    loops = [lp for lp in s.loops if lp.var == name and lp.start <= at < lp.end]
    if loops:
        return list(loops[-1].items) if loops[-1].items is not None else None
    func = next((f for f in s.functions.values() if f.start <= at < f.end), None)
    fname = func.name if func else ""
    if name.isdigit():
        if func is None:
            return None
        out = []
        for off, args in s.calls.get(fname, []):
            i = int(name) - 1
            if i >= len(args):
                return None
            got = values(s, args[i], off, depth + 1) if "$" in args[i] else [args[i]]
            if got is None:
                return None
            out += [g for g in got if g not in out]
        return out or None
    found = s.assigns.get((fname, name)) or (s.assigns.get(("", name)) if fname else None)
    if not found or len(found) != 1:
        return None
    off, raw = found[0]
    return values(s, raw, off, depth + 1) if raw else [""]


# -- where a followed value is written (for rewriting) ----------------------------

@dataclass
class Origin:
    """Where the value of a `-f` word is written, when fixer can rewrite it there."""

    kind: str                                   # "loop", "assign" or "call"
    var: str = ""                               # loop variable
    value_span: tuple[int, int] | None = None   # "assign": the assigned literal
    func: Scope | None = None                   # "call": the function
    arg: int = 0                                # "call": positional index (1-based)
    calls: list[tuple[int, list[str], list[tuple[int, int]]]] = field(default_factory=list)


_ONE = re.compile(r"^\$\{?(\w+)\}?$")


def origin(s: Script, raw: str, at: int) -> Origin | None:
    """How the `-f` word `raw` at `at` gets its value, for the shapes fixer rewrites:
    a loop variable inside the path, a variable assigned a literal once, a function's
    positional parameter (directly or through one `local x=$N`)."""
    word = _unquote(raw)
    names = {t[1] for t in _tokens(word) if not isinstance(t, str)}
    loops = [lp for lp in s.loops if lp.start <= at < lp.end and lp.var in names and lp.items]
    if len(names) == 1 and loops and not _ONE.match(word):
        return Origin("loop", var=loops[-1].var)
    m = _ONE.match(word)
    if not m or loops:
        return None
    name = m.group(1)
    func = next((f for f in s.functions.values() if f.start <= at < f.end), None)
    if not name.isdigit():
        found = s.assigns.get((func.name if func else "", name)) or s.assigns.get(("", name))
        if not found or len(found) != 1:
            return None
        off, value = found[0]
        if _lit_word(value) is not None and "$" not in value:
            return Origin("assign", value_span=s.values_at.get(off))
        m2 = _ONE.match(_unquote(value))
        if func is None or not m2 or not m2.group(1).isdigit():
            return None
        name = m2.group(1)
    if func is None:
        return None
    calls = [(o, args, s.spans[o][1:]) for o, args in s.calls.get(func.name, [])]
    return Origin("call", func=func, arg=int(name), calls=calls)


def free_positional(s: Script, func: Scope, calls) -> int | None:
    """The positional parameter a new trailing argument of every call site would be:
    None when the function reads `$@`, `$*`, `$#` or shifts, or call sites differ in length."""
    body = s.text[func.start:func.end]
    if re.search(r"\$[@*#]|\$\{[@*#]|\bshift\b|\$\{?\d\d", body):
        return None
    if len({len(args) for _, args, _ in calls}) != 1:
        return None
    used = max((int(x) for x in re.findall(r"\$\{?(\d)", body)), default=0)
    n = len(calls[0][1])
    return n + 1 if used <= n and n + 1 <= 9 else None


def _lit_word(raw: str) -> str | None:
    return _unquote(raw) if "$" not in raw and "`" not in raw else None
