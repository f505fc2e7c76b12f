"""Shell commands and their words, located with tree-sitter-bash.

Commands inside quoted strings, heredoc bodies and comments are text, not
commands, and are never listed. Offsets are character offsets into the text
the caller holds (tree-sitter counts UTF-8 bytes; they are converted here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import tree_sitter_bash
from tree_sitter import Language, Parser

# wrappers that run the command named after them (and the options they take a value for)
WRAPPERS = {
    "sudo": {"-u", "-g", "-h", "-p", "-C", "-D", "-U", "-r", "-t", "-T"},
    "env": {"-u", "-C", "-S"},
    "command": set(), "exec": {"-a"}, "nohup": set(), "time": set(), "nice": {"-n"},
}
SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}


@dataclass(frozen=True, slots=True)
class Word:
    text: str        # as written, quotes kept
    value: str       # quotes and escapes removed; the text itself when it holds expansions
    start: int       # offsets in the caller's text; -1 when the word is not in it
    end: int


@dataclass(slots=True)
class Command:
    """One simple command: its words after variable assignments and wrappers (sudo, env)."""

    words: list[Word]
    start: int
    end: int
    why_not: str = ""       # why the command must not be edited ("" when it may be)

    @property
    def name(self) -> str:
        return self.words[0].value.rsplit("/", 1)[-1] if self.words else ""

    @property
    def values(self) -> list[str]:
        return [w.value for w in self.words]

    @property
    def editable(self) -> bool:
        return not self.why_not


@dataclass(slots=True)
class Script:
    commands: list[Command] = field(default_factory=list)
    append_at: int | None = None    # where `&& cmd` can follow the whole script; None: nowhere
    error: bool = False             # the text does not parse as shell


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(Language(tree_sitter_bash.language()))


class _Offsets:
    """UTF-8 byte offsets of a text -> character offsets plus a base."""

    def __init__(self, text: str, data: bytes, base: int):
        self.base = base
        self.chars: list[int] | None = None
        if len(data) != len(text):
            chars = []
            for i, ch in enumerate(text):
                chars.extend([i] * len(ch.encode("utf-8")))
            chars.append(len(text))
            self.chars = chars

    def __call__(self, byte: int) -> int:
        return self.base + (byte if self.chars is None else self.chars[byte])


def parse(text: str, base: int = 0, why_not: str = "") -> Script:
    """The simple commands of a shell text, in order (nested ones included).

    `base` is added to every offset; commands get `why_not` as their reason not to be
    edited (every command does when the text has a syntax error).
    """
    data = text.encode("utf-8", "surrogatepass")
    tree = _parser().parse(data)
    root = tree.root_node
    off = _Offsets(text, data, base)
    script = Script(error=root.has_error)
    if script.error and not why_not:
        why_not = "its shell text does not parse"
    _collect(root, off, why_not, script.commands)
    if not script.error:
        script.append_at = _append_at(root, off)
    return script


def _collect(node, off, why_not: str, out: list[Command]) -> None:
    for child in node.named_children:
        t = child.type
        if t in ("string", "raw_string", "ansi_c_string", "translated_string", "comment",
                 "heredoc_body", "heredoc_content"):
            continue
        if t == "command":
            cmd = _command(child, off, why_not)
            if cmd is not None:
                out.append(cmd)
        _collect(child, off, why_not, out)


def _command(node, off, why_not: str) -> Command | None:
    words: list[Word] = []
    for i, child in enumerate(node.children):
        name = node.field_name_for_child(i)
        if name in ("name", "argument"):
            words.append(_word(child, off))
    words = unwrap(words)
    if not words:
        return None
    return Command(words, off(node.start_byte), off(node.end_byte), why_not)


def _word(node, off) -> Word:
    text = node.text.decode("utf-8", "surrogatepass")
    return Word(text, _value(node, text), off(node.start_byte), off(node.end_byte))


def _value(node, text: str) -> str:
    """The word as the shell passes it on; the text itself when it holds expansions."""
    value = _literal(node)
    return text if value is None else value


def _literal(node) -> str | None:
    t, text = node.type, node.text.decode("utf-8", "surrogatepass")
    if t == "command_name" and node.named_child_count == 1:
        return _literal(node.named_children[0])
    if t == "word":
        return re.sub(r"\\(.)", r"\1", text, flags=re.S)
    if t == "raw_string":
        return text[1:-1]
    if t == "string" and all(p.type == "string_content" for p in node.named_children):
        return text[1:-1]
    if t == "concatenation":
        parts = [_literal(p) for p in node.named_children]
        return None if None in parts else "".join(parts)   # type: ignore[arg-type]
    return None


def unwrap(words: list[Word]) -> list[Word]:
    """The command a wrapper (sudo, env, command, exec, …) runs, with the wrapper's options dropped."""
    while words and words[0].value.rsplit("/", 1)[-1] in WRAPPERS:
        takes = WRAPPERS[words[0].value.rsplit("/", 1)[-1]]
        i = 1
        while i < len(words):
            v = words[i].value
            if v == "--":
                i += 1
                break
            if v in takes:
                i += 2
            elif v.startswith("-") or ("=" in v and not v.startswith("=") and words[0].value == "env"):
                i += 1
            else:
                break
        words = words[i:]
    return words


def _append_at(root, off) -> int | None:
    """End of the last statement, when `&& cmd` may follow it (not after `;`, `&`, a heredoc)."""
    last = None
    for child in root.children:
        if child.type == "comment":
            continue
        last = child
    if last is None or not last.is_named or last.type in ("redirected_statement",) and any(
            c.type == "heredoc_redirect" for c in last.children):
        return None
    return off(last.end_byte)


# -- Dockerfile RUN instructions ----------------------------------------------

def dockerfile_run(doc, ins) -> Script:
    """The commands of a RUN as the shell sees them, with offsets into the Dockerfile.

    Exec-form (JSON) RUNs and heredoc RUNs are listed with a reason not to edit them.
    Parsed once per document and instruction.
    """
    cache = doc.__dict__.setdefault("_shell_scripts", {})
    found = cache.get(ins.start)
    if found is None:
        found = cache[ins.start] = _dockerfile_run(doc, ins)
    return found


def _dockerfile_run(doc, ins) -> Script:
    if ins.json:
        words = [Word(v, v, -1, -1) for v in ins.value]
        words = unwrap(words)
        cmds = [Command(words, -1, -1, "exec-form RUN")] if words else []
        return Script(cmds)
    src = shell_text(doc, ins)
    if not ins.heredocs:
        return parse(src, ins.start)
    why = "heredoc RUN"
    first = src[:src.find("\n") if "\n" in src else len(src)]
    script = parse(first, ins.start, why)
    script.append_at = None
    if not script.commands or script.commands[0].name in SHELLS:
        for h in ins.heredocs:
            at = doc.text.find(h.content, ins.start, ins.end) if h.content else -1
            body = parse(h.content, max(at, 0), why)
            script.commands += body.commands
    return script


def shell_text(doc, ins) -> str:
    """The source text of a shell-form RUN, same length, as a shell would read it.

    The keyword and flags become spaces; comment and blank lines inside a line
    continuation (BuildKit drops them) become spaces, their newline included; a
    continuation with spaces after the escape character, or a backtick escape,
    becomes a plain backslash-newline; a CR before a newline becomes a space.
    """
    text = doc.text[ins.start:ins.end]
    chars = list(text)
    words = doc.words(ins)
    k = 1
    while k < len(words) and words[k][0].startswith("--") and len(words[k][0]) > 2:
        k += 1
    for _, s, e in words[:k]:
        chars[s - ins.start:e - ins.start] = " " * (e - s)
    esc = doc.escape
    pos, continued = 0, True
    while pos < len(text) and continued:
        nl = text.find("\n", pos)
        end = len(text) if nl < 0 else nl
        line = text[pos:end]
        if pos > 0 and (not line.strip() or line.lstrip().startswith("#")):
            chars[pos:end + 1] = " " * (min(end + 1, len(text)) - pos)
            pos = end + 1
            continue
        body = line.rstrip(" \t\r")
        continued = nl >= 0 and body.endswith(esc)
        if continued:
            e = pos + len(body) - 1
            chars[e:end] = " " * (end - e)
            chars[end - 1] = "\\"
        elif nl > 0 and text[nl - 1] == "\r":
            chars[nl - 1] = " "
        pos = end + 1
    return "".join(chars)
