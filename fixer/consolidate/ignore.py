"""A small .dockerignore matcher (Go filepath.Match patterns, `**`, `!` exceptions)."""
from __future__ import annotations

import re


def _pattern(p: str) -> re.Pattern:
    out, i = [], 0
    while i < len(p):
        c = p[i]
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if p.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = p.find("]", i)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = p[i + 1:j].replace("\\", "\\\\")
                out.append("[" + ("^" + body[1:] if body.startswith("^") else body) + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + "(?:/.*)?$")


class DockerIgnore:
    def __init__(self, text: str | None):
        self.rules: list[tuple[bool, re.Pattern]] = []
        for line in (text or "").splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            neg = line.startswith("!")
            line = line[1:].strip() if neg else line
            line = re.sub(r"/+", "/", line).strip("/")
            while line.startswith("./"):
                line = line[2:]
            if line in ("", "."):
                continue
            self.rules.append((neg, _pattern(line)))

    def excluded(self, rel: str) -> bool:
        """True when path `rel` (relative to the context) is left out of the context."""
        out = False
        for neg, pat in self.rules:
            if pat.match(rel):
                out = not neg
        return out
