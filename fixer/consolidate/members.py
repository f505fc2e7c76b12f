"""What each Dockerfile is, in the terms consolidation needs."""
from __future__ import annotations

import fnmatch
import posixpath
import sys
from array import array
from dataclasses import dataclass, field
from typing import Callable

from ..dockerdoc import Dockerfile, Instruction
from .family import generated, member_name, normalise

# instructions a shared base stage must stop before: an ARG is not inherited by a
# child stage, ONBUILD triggers would run in the child.
PREFIX_STOP = {"ARG", "ONBUILD"}


def key(ins: Instruction) -> tuple:
    """What an instruction means, independent of spelling and layout."""
    return (ins.cmd, tuple(f.lower() if f.startswith("--") and "=" not in f else f for f in ins.flags),
            ins.value, ins.json, tuple(map(str, ins.heredocs)))


def dirname(path: str) -> str:
    return posixpath.dirname(path)


def rel(path: str, start: str) -> str:
    return posixpath.relpath(path or ".", start or ".")


def under(path: str, d: str) -> bool:
    return not d or path == d or path.startswith(d + "/")


_BUCKETS: dict[tuple, tuple] = {}    # one shared copy of each bucket (most members share one)


@dataclass(eq=False, slots=True)
class Member:
    """A Dockerfile that may merge. Only a small summary is kept: the document is
    fetched again when needed (on a big repository, holding every parse costs memory;
    so does a summary: twenty thousand members keep theirs packed)."""

    path: str
    load: Callable[[str], Dockerfile]
    root: str = ""                                    # its family folder (family.root_of)
    contexts: set[str] = field(default_factory=set)   # directories it is built from
    refs: list = field(default_factory=list)
    name: str = ""
    generated: bool = False
    bucket: tuple = ()
    why_out: str | None = None                        # why it is left out of its cluster
    _exact: bytes = b""                               # instruction hashes, packed
    _words: tuple[str, ...] = ()

    def __post_init__(self):
        d = self.doc
        self.name = member_name(self.path, self.root)
        self.generated = generated(d)
        directives = tuple(sorted((k, v) for k, (v, _) in d.directives.items()))
        first = d.stages[0].from_ins if d.stages else None
        # members can only merge within a bucket: same directives, global ARGs, first base
        bucket = (directives, tuple(key(i) for i in self.prelude), key(first) if first else None)
        if len(_BUCKETS) > 10_000:
            _BUCKETS.clear()
        self.bucket = _BUCKETS.setdefault(bucket, bucket)
        body = [normalise(key(i), self.name) for i in d.instructions if i.stage >= 0]
        # what clustering compares: instructions with what varies per member replaced
        # (hashed) and their keywords
        self._exact = array("q", (hash(k) for k in body)).tobytes()
        self._words = tuple(sys.intern(k[0]) for k in body)

    @property
    def shape(self) -> tuple[tuple[int, ...], tuple[str, ...]]:
        exact = array("q")
        exact.frombytes(self._exact)
        return tuple(exact), self._words

    @property
    def doc(self) -> Dockerfile:
        return self.load(self.path)

    @property
    def prelude(self) -> list[Instruction]:
        return [i for i in self.doc.instructions if i.stage == -1]

    def copy_sources(self) -> list[tuple[Instruction, list[str]]]:
        """(instruction, sources) of every COPY/ADD that reads the build context."""
        out = []
        for ins in self.doc.instructions:
            if ins.cmd not in ("COPY", "ADD") or ins.heredocs:
                continue
            if any(f.lower().startswith("--from") for f in ins.flags):
                continue
            vals = list(ins.value)[:-1]
            out.append((ins, [v for v in vals if "://" not in v and not v.startswith("git@")]))
        return out

    def context_mounts(self) -> list[tuple[Instruction, str]]:
        """(instruction, source) of RUN --mount options that bind the build context
        (source "." when the whole context)."""
        out = []
        for ins in self.doc.instructions:
            for f in ins.flags:
                if f.lower().startswith("--mount="):
                    opts = dict(o.split("=", 1) if "=" in o else (o, "") for o in f[8:].split(","))
                    if opts.get("type", "bind") == "bind" and not opts.get("from"):
                        out.append((ins, opts.get("source") or opts.get("src") or "."))
        return out


def copies(sources: list[str], relpath: str) -> bool | None:
    """Does one of these COPY sources take context-relative `relpath`? None: cannot tell."""
    for s in sources:
        if "$" in s:
            return None
        s = posixpath.normpath(s.lstrip("/")) if s.strip("/") else "."
        if s == "." or relpath == s or relpath.startswith(s + "/"):
            return True
        if any(c in s for c in "*?["):
            parts = relpath.split("/")
            for n in range(1, len(parts) + 1):
                if fnmatch.fnmatchcase("/".join(parts[:n]), s):
                    return True
    return False
