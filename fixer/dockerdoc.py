"""Dockerfiles: located with BuildKit's own parser, edited by splice."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import buildkit

from .text import Edit, TextFile
from .yamldoc import ParseError

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z]+)\s*=\s*(.*?)\s*$")


@dataclass(slots=True)
class Instruction:
    cmd: str                 # upper-case keyword: FROM, RUN, …
    start_line: int          # 0-based, first line of the instruction
    end_line: int            # 0-based, last line (continuations, heredocs)
    start: int               # offset of the first line's start
    end: int                 # offset just after the last line's newline
    flags: tuple[str, ...]
    value: tuple[str, ...]
    json: bool
    heredocs: tuple
    original: str
    stage: int = -1          # index of the stage it belongs to (-1: before FROM)


@dataclass(slots=True)
class Stage:
    index: int
    from_ins: Instruction
    base: str                # image reference as written (may hold ${ARG})
    name: str | None
    platform: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def find(self, cmd: str) -> list[Instruction]:
        return [i for i in self.instructions if i.cmd == cmd]

    def last(self, cmd: str) -> Instruction | None:
        found = self.find(cmd)
        return found[-1] if found else None


class Dockerfile(TextFile):
    kind = "dockerfile"

    def __init__(self, path: str, text: str, bom: bool = False):
        super().__init__(path, text, bom)
        self._ins: list[Instruction] | None = None
        self._stages: list[Stage] | None = None
        self._words: dict[int, list] = {}

    # -- parsing -----------------------------------------------------------
    @property
    def directives(self) -> dict[str, tuple[str, int]]:
        """Parser directives at the top: name -> (value, 0-based line)."""
        out: dict[str, tuple[str, int]] = {}
        for n in range(len(self.line_starts)):
            m = _DIRECTIVE.match(self.line_text(n))
            if not m or m.group(1).lower() in out:
                break
            out[m.group(1).lower()] = (m.group(2), n)
        return out

    @property
    def escape(self) -> str:
        value = self.directives.get("escape", ("\\", 0))[0]
        return value if value in ("\\", "`") else "\\"

    @property
    def instructions(self) -> list[Instruction]:
        if self._ins is None:
            self._parse()
        return self._ins  # type: ignore[return-value]

    @property
    def stages(self) -> list[Stage]:
        if self._stages is None:
            self._parse()
        return self._stages  # type: ignore[return-value]

    @property
    def global_args(self) -> list[Instruction]:
        return [i for i in self.instructions if i.stage == -1 and i.cmd == "ARG"]

    def _parse(self) -> None:
        try:
            cmds = buildkit.parse(self.text)
        except buildkit.ParseError as exc:
            raise ParseError(f"invalid Dockerfile: {str(exc).splitlines()[0]}") from None
        ins: list[Instruction] = []
        stages: list[Stage] = []
        for c in cmds:
            s, e = c.start_line - 1, c.end_line - 1
            i = Instruction(c.cmd.upper(), s, e, self.line_start(s), self.line_end(e),
                            tuple(c.flags), tuple(c.value), c.json, tuple(c.heredocs), c.original)
            if i.cmd == "FROM":
                name = None
                vals = list(i.value)
                if len(vals) >= 3 and vals[1].lower() == "as":
                    name = vals[2]
                platform = next((f.split("=", 1)[1] for f in i.flags if f.startswith("--platform=")), None)
                stages.append(Stage(len(stages), i, vals[0] if vals else "", name, platform))
            if stages:
                i.stage = len(stages) - 1
                stages[-1].instructions.append(i)
            ins.append(i)
        self._ins, self._stages = ins, stages

    # -- words with offsets --------------------------------------------------
    def words(self, ins: Instruction) -> list[tuple[str, int, int]]:
        """Whitespace-separated words of an instruction with their offsets (cached)."""
        found = self._words.get(ins.start)
        if found is None:
            found = self._words[ins.start] = self._split_words(ins)
        return list(found)

    def _split_words(self, ins: Instruction) -> list[tuple[str, int, int]]:
        """Whitespace-separated words of an instruction with their offsets.

        Line continuations (escape char + newline) count as whitespace and
        comment lines inside a continuation are skipped, as BuildKit does.
        """
        text, esc = self.text, self.escape
        out: list[tuple[str, int, int]] = []
        i, end = ins.start, ins.end
        line_start = True
        cur = -1
        while i < end:
            ch = text[i]
            if line_start and i > ins.start:
                j = i
                while j < end and text[j] in " \t":
                    j += 1
                if j < end and text[j] == "#":
                    i = text.find("\n", j, end)
                    i = end if i == -1 else i + 1
                    continue
            line_start = False
            if ch == esc and _only_eol(text, i + 1):
                if cur >= 0:
                    out.append((text[cur:i], cur, i))
                    cur = -1
                i = text.find("\n", i) + 1
                line_start = True
                continue
            if ch == "\n":
                if cur >= 0:
                    out.append((text[cur:i].rstrip("\r"), cur, i - (1 if text[i - 1] == "\r" else 0)))
                break
            if ch in " \t\r":
                if cur >= 0:
                    out.append((text[cur:i], cur, i))
                    cur = -1
            elif cur < 0:
                cur = i
            i += 1
        else:
            if cur >= 0:
                out.append((text[cur:end], cur, end))
        return out

    # -- editing -----------------------------------------------------------
    def insert_before(self, ins: Instruction, lines: list[str]) -> Edit:
        return self.insert_lines_before(ins.start_line, lines)

    def insert_after(self, ins: Instruction, lines: list[str]) -> Edit:
        return self.insert_lines_after(ins.end_line, lines)

    def replace_instruction(self, ins: Instruction, text: str) -> Edit:
        """Replace a whole instruction (keeps the trailing newline)."""
        end = ins.end
        tail = self.text[ins.start:end]
        stripped = tail.rstrip("\r\n")
        return Edit(self.path, ins.start, ins.start + len(stripped), text)


def _only_eol(text: str, i: int) -> bool:
    """After an escape char at i-1: only optional spaces then a newline."""
    j = i
    while j < len(text) and text[j] in " \t\r":
        j += 1
    return j < len(text) and text[j] == "\n"
