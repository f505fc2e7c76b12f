"""Text files that keep every byte, and edits applied as splices."""
from __future__ import annotations

import bisect
from dataclasses import dataclass

BOM = "\ufeff"


class DecodeError(Exception):
    """The file is not UTF-8 text."""


class EditConflict(Exception):
    """Two edits overlap."""


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace text[start:end] of file `path` with `text`.

    A `text` of None deletes the whole file; an edit on a path that does not
    exist yet (start == end == 0) creates it.
    """

    path: str
    start: int
    end: int
    text: str | None

    @property
    def deletes_file(self) -> bool:
        return self.text is None


def decode(raw: bytes, path: str = "") -> tuple[str, bool]:
    """Return (text without BOM, had_bom). Raise DecodeError for non-UTF-8."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"not UTF-8 text (byte {exc.start})") from None
    if text.startswith(BOM):
        return text[1:], True
    return text, False


def encode(text: str, bom: bool) -> bytes:
    return ((BOM if bom else "") + text).encode("utf-8")


def apply_edits(text: str, edits: list[Edit]) -> str:
    """Apply non-overlapping edits (character offsets into `text`)."""
    ordered = sorted(enumerate(edits), key=lambda p: (p[1].start, p[1].end, p[0]))
    out: list[str] = []
    pos = 0
    last: Edit | None = None
    for _, e in ordered:
        if e.start < pos or e.end < e.start or e.end > len(text):
            if last is not None and e == last:
                continue  # the same edit twice
            raise EditConflict(f"{e.path}: edits overlap at offset {e.start}")
        out.append(text[pos:e.start])
        out.append(e.text or "")
        pos = e.end
        last = e
    out.append(text[pos:])
    return "".join(out)


class TextFile:
    """Original text of one file plus helpers for line/offset arithmetic."""

    kind = "text"

    def __init__(self, path: str, text: str, bom: bool = False):
        self.path = path
        self.text = text
        self.bom = bom
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self._starts: list[int] | None = None

    @classmethod
    def from_bytes(cls, path: str, raw: bytes) -> "TextFile":
        text, bom = decode(raw, path)
        return cls(path, text, bom)

    # -- lines -------------------------------------------------------------
    @property
    def line_starts(self) -> list[int]:
        if self._starts is None:
            starts = [0]
            find = self.text.find
            i = find("\n")
            while i != -1:
                starts.append(i + 1)
                i = find("\n", i + 1)
            self._starts = starts
        return self._starts

    def line_of(self, offset: int) -> int:
        """0-based line number of a character offset."""
        return bisect.bisect_right(self.line_starts, offset) - 1

    def line_start(self, line: int) -> int:
        starts = self.line_starts
        return starts[line] if line < len(starts) else len(self.text)

    def line_end(self, line: int) -> int:
        """Offset just after the line's newline (or end of text)."""
        starts = self.line_starts
        return starts[line + 1] if line + 1 < len(starts) else len(self.text)

    def line_text(self, line: int) -> str:
        return self.text[self.line_start(line):self.line_end(line)].rstrip("\r\n")

    def indent_of_line(self, line: int) -> str:
        s = self.line_text(line)
        return s[: len(s) - len(s.lstrip(" \t"))]

    # -- edits -------------------------------------------------------------
    def replace(self, start: int, end: int, text: str) -> Edit:
        return Edit(self.path, start, end, text)

    def insert(self, offset: int, text: str) -> Edit:
        return Edit(self.path, offset, offset, text)

    def insert_lines_after(self, line: int, lines: list[str]) -> Edit:
        """Insert whole lines after 0-based `line`, in the file's newline style."""
        nl = self.newline
        at = self.line_end(line)
        body = nl.join(lines) + nl
        if at == len(self.text) and self.text and not self.text.endswith("\n"):
            # the file has no final newline: keep it that way
            return Edit(self.path, at, at, nl + body[: -len(nl)])
        return Edit(self.path, at, at, body)

    def insert_lines_before(self, line: int, lines: list[str]) -> Edit:
        nl = self.newline
        at = self.line_start(line)
        return Edit(self.path, at, at, nl.join(lines) + nl)
