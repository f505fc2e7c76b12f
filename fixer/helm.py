"""Helm templates: mask `{{ … }}` actions so YAML can be located, keep offsets 1:1."""
from __future__ import annotations

import re
from collections import Counter

from .yamldoc import YamlFile

ACTION = re.compile(r"\{\{.*?\}\}", re.S)
_INDENT = re.compile(r"\|\s*n?indent\s+\d+\s*-?\}\}$")
_KEY_BEFORE = re.compile(r"^[ \t]*(?:- )?[^#{}\s][^#{}]*:[ \t]+$")
_ACTION_LINE = re.compile(r"^([ \t]*)(x[x \t]*?)(?:[ \t]+#.*)?[ \t]*$")


def actions(text: str) -> list[re.Match]:
    return list(ACTION.finditer(text))


def mask(text: str) -> str:
    """Same-length text where every action is YAML-neutral.

    Lines that hold only actions become comments; an action inside a line
    becomes a run of `x` (a plain scalar), so every offset is unchanged.
    """
    chars = list(text)
    spans = [(m.start(), m.end()) for m in actions(text)]
    for s, e in spans:
        for i in range(s, e):
            if chars[i] not in "\r\n":
                chars[i] = "x"
    # `key: {{- include … | nindent 4 }}` renders a block on the following lines: the
    # action becomes a comment, so `key:` opens the block that follows it
    for m in actions(text):
        a = m.group(0)
        if a.startswith("{{-") and _INDENT.search(a) and "\n" not in a:
            line_start = text.rfind("\n", 0, m.start()) + 1
            if _KEY_BEFORE.match(text[line_start:m.start()]):
                chars[m.start()] = "#"
    masked = "".join(chars)
    # lines made only of actions (and spaces) turn into comments
    out = []
    pos = 0
    for line in masked.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        # only actions, perhaps followed by a YAML comment: `{{- end }}  # tidy`
        m = _ACTION_LINE.match(body)
        if m and _all_action(text, pos + m.start(2), pos + m.end(2)):
            lead = m.start(2)
            body = body[:lead] + "#" + body[lead + 1:]
            line = body + line[len(body):]
        out.append(line)
        pos += len(line)
    return "".join(out)


def _all_action(text: str, start: int, end: int) -> bool:
    """True when every non-blank character of text[start:end] is inside an action."""
    inside = [False] * (end - start)
    for m in ACTION.finditer(text):
        s, e = max(m.start(), start), min(m.end(), end)
        for i in range(s, e):
            inside[i - start] = True
    return all(inside[i] or text[start + i] in " \t" for i in range(end - start))


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
