"""Helm templates: mask `{{ … }}` actions so YAML can be located, keep offsets 1:1."""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from .yamldoc import ParseError, YamlFile

ACTION = re.compile(r"\{\{.*?\}\}", re.S)
_INDENT = re.compile(r"\|\s*n?indent\s+\d+\s*-?\}\}$")
_KEY_BEFORE = re.compile(r"^[ \t]*(?:- )?[^#{}\s][^#{}]*:[ \t]+$")
_NOT_EOL = re.compile(r"[^\r\n]")
_OUTSIDE = re.compile(rb"\x00+")
_ACTION_LINE = re.compile(r"^([ \t]*)(x[x \t]*?)(?:[ \t]+#.*)?[ \t]*$")


@lru_cache(maxsize=512)
def actions(text: str) -> tuple[re.Match, ...]:
    return tuple(ACTION.finditer(text))


@lru_cache(maxsize=512)
def mask(text: str) -> str:
    """Same-length text where every action is YAML-neutral.

    Lines that hold only actions become comments; an action inside a line
    becomes a run of `x` (a plain scalar), so every offset is unchanged.
    """
    found = actions(text)
    if not found:
        return text
    pieces, pos = [], 0
    inside = bytearray(len(text))
    for m in found:
        s, e = m.start(), m.end()
        pieces.append(text[pos:s])
        a = m.group(0)
        pieces.append(_NOT_EOL.sub("x", a) if "\n" in a or "\r" in a else "x" * (e - s))
        inside[s:e] = b"\x01" * (e - s)
        pos = e
    pieces.append(text[pos:])
    masked = "".join(pieces)
    hashes: list[int] = []
    # `key: {{- include … | nindent 4 }}` renders a block on the following lines: the
    # action becomes a comment, so `key:` opens the block that follows it
    lines: set[int] = set()       # starts of the lines an action touches
    for m in found:
        a = m.group(0)
        line_start = text.rfind("\n", 0, m.start()) + 1
        if a.startswith("{{-") and _INDENT.search(a) and "\n" not in a:
            if _KEY_BEFORE.match(text[line_start:m.start()]):
                hashes.append(m.start())
        ls = line_start
        while True:
            lines.add(ls)
            nl = text.find("\n", ls, m.end())
            if nl < 0:
                break
            ls = nl + 1
    # lines made only of actions (and spaces) turn into comments
    for ls in lines:
        le = text.find("\n", ls)
        body = masked[ls:len(text) if le < 0 else le].rstrip("\r")
        # only actions, perhaps followed by a YAML comment: `{{- end }}  # tidy`
        m = _ACTION_LINE.match(body) if "x" in body else None
        if m and _only_actions(text, inside, ls + m.start(2), ls + m.end(2)):
            hashes.append(ls + m.start(2))
    if not hashes:
        return masked
    chars = list(masked)
    for at in hashes:
        chars[at] = "#"
    return "".join(chars)


def _only_actions(text: str, inside: bytearray, start: int, end: int) -> bool:
    """Every character of text[start:end] outside an action is a space or tab."""
    for run in _OUTSIDE.finditer(inside, start, end):
        if text[run.start():run.end()].strip(" \t"):
            return False
    return True


def action_multiset(text: str) -> Counter:
    return Counter(m.group(0) for m in actions(text))


def preserves_actions(old: str, new: str) -> bool:
    """The actions after an edit are a superset (as a multiset) of those before."""
    before, after = action_multiset(old), action_multiset(new)
    return all(after[a] >= n for a, n in before.items())


class HelmTemplate(YamlFile):
    kind = "helm"

    def __init__(self, path: str, text: str, bom: bool = False):
        super().__init__(path, text, bom)
        self._masked: str | None = None

    @property
    def source(self) -> str:
        if self._masked is None:
            self._masked = mask(self.text)
        return self._masked

    def has_action(self, start: int, end: int) -> bool:
        """Whether any template action overlaps text[start:end]."""
        return any(m.start() < end and m.end() > start for m in actions(self.text))

    @property
    def docs(self):
        try:
            return super().docs
        except ParseError as exc:
            raise ParseError(f"Helm template left alone: not YAML once its actions are masked "
                             f"({str(exc).removeprefix('invalid YAML ')})") from None
