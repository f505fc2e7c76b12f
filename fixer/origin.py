"""Positions in the text between codemods, mapped back to the file as it is on disk.

Each codemod's edits are splices of the text it saw. Walking those splices
backwards turns a position in a later text into one in the original: a
position after a splice shifts by the splice's change in length, a position
inside inserted text maps to where the insertion happened.
"""
from __future__ import annotations

from array import array
from typing import Iterable

from .text import Edit


Splices = array      # one edit set: (start, end, size) per splice, flat, in apply order:
                     # [start, end) of the older text was replaced by `size` characters
                     # (a run keeps one per edit of every file: 8 bytes a number)


def splices(edits: Iterable[Edit]) -> Splices:
    """One edit set (edits into the same text) in the order apply_edits applies them."""
    unique = dict.fromkeys(e for e in edits if not e.deletes_file)
    out = array("q")
    for start, end, size in sorted(((e.start, e.end, len(e.text or "")) for e in unique),
                                   key=lambda t: (t[0], t[1])):
        out.extend((start, end, size))
    return out


def _triples(ss: Splices):
    return zip(ss[0::3], ss[1::3], ss[2::3])


def back(sets: list[Splices], pos: int) -> int:
    """Position in the original text of `pos` in the text after all these edit sets."""
    for ss in reversed(sets):
        shift = 0
        for start, end, size in _triples(ss):
            new_start = start + shift
            if pos < new_start:
                break
            if pos < new_start + size:     # inside inserted text
                pos = new_start
                break
            shift += size - (end - start)
        pos -= shift
    return pos


def back_span(sets: list[Splices], start: int, end: int) -> tuple[int, int] | None:
    """(start, end) in the original text, or None when the span touches an earlier edit."""
    for ss in reversed(sets):
        shift = 0
        for s_start, s_end, size in _triples(ss):
            new_start = s_start + shift
            new_end = new_start + size
            if end < new_start:
                break
            if start > new_end:
                shift += size - (s_end - s_start)
                continue
            return None
        start, end = start - shift, end - shift
    return start, end


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def line_start(text: str, line: int) -> int:
    """Offset where 1-based `line` starts (the end of the text past the last line)."""
    pos = 0
    for _ in range(line - 1):
        nl = text.find("\n", pos)
        if nl < 0:
            return len(text)
        pos = nl + 1
    return pos


class Origins:
    """Per path, the edit sets applied so far in a run."""

    def __init__(self):
        self.sets: dict[str, list[Splices]] = {}

    def record(self, path: str, edits: Iterable[Edit]) -> None:
        self.sets.setdefault(path, []).append(splices(edits))

    def line(self, path: str, current: str, original: str | None, line: int) -> int:
        """The line of the original file that `line` of the current text comes from."""
        sets = self.sets.get(path)
        if not sets or original is None or line <= 0:
            return line
        return line_of(original, back(sets, line_start(current, line)))
