"""Inline suppression: `# fixer: ignore[codemod-id, …]` or `# fixer: ignore`.

A comment suppresses a finding when it sits on the finding's line, or on the
line that opens an enclosing block: a YAML mapping key or list item that
contains the finding (compose service, Kubernetes document or container,
workflow job or step), a Dockerfile instruction or its stage's FROM line, a
Python statement, class or function. On each of those lines the comment may
be at the end of the line or on comment-only lines directly above it.

The same comment protects its block from edits: `Suppressions(doc, text, cid)` lists the
suppressed blocks of a file, and the engine drops any edit of `cid` that lands in one
(codemods that decide for a whole file consult it first, see `blocks`).
"""
from __future__ import annotations

import ast
import bisect
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, SequenceNode

_IGNORE = re.compile(r"#.*?\bfixer:\s*ignore(?:\[([^\]]*)\])?")
_COMMENT_ONLY = re.compile(r"^\s*#")


def matches(line_text: str, cid: str) -> bool:
    """Whether a line carries an ignore comment that covers codemod `cid`."""
    m = _IGNORE.search(line_text)
    if not m:
        return False
    if m.group(1) is None:
        return True
    return cid in [x.strip() for x in m.group(1).split(",")]


def _comment_line(lines: list[str], n: int, cid: str) -> int | None:
    """0-based line of the comment covering line n: n itself or a comment-only line right above."""
    if not 0 <= n < len(lines):
        return None
    if matches(lines[n], cid):
        return n
    k = n - 1
    while k >= 0 and _COMMENT_ONLY.match(lines[k]):
        if matches(lines[k], cid):
            return k
        k -= 1
    return None


def _covered(lines: list[str], n: int, cid: str) -> bool:
    """Line n (0-based) or the comment-only lines right above it carry the comment."""
    return _comment_line(lines, n, cid) is not None


def anchors(doc, line0: int) -> list[int]:
    """0-based lines that open the blocks enclosing 0-based line `line0`."""
    kind = getattr(doc, "kind", "")
    try:
        if hasattr(doc, "docs"):
            return _yaml_anchors(doc, line0)
        if kind == "dockerfile":
            return _docker_anchors(doc, line0)
        if kind == "python":
            return _python_anchors(doc.text, line0)
    except Exception:  # an unparsable file: only the finding's own line counts
        return []
    return []


def _yaml_anchors(doc, line0: int) -> list[int]:
    out: list[int] = []
    for root in doc.docs:
        if not (root.start_mark.line <= line0 <= _last_line(doc, root)):
            continue
        out.append(root.start_mark.line)
        node = root
        while True:
            nxt = None
            if isinstance(node, MappingNode):
                for k, v in node.value:
                    if k.start_mark.line <= line0 <= max(k.start_mark.line, _last_line(doc, v)):
                        out.append(k.start_mark.line)
                        nxt = v
                        break
            elif isinstance(node, SequenceNode):
                for item in node.value:
                    if item.start_mark.line <= line0 <= _last_line(doc, item):
                        out.append(item.start_mark.line)
                        nxt = item
                        break
            if nxt is None or nxt is node:
                break
            node = nxt
    return out


def _last_line(doc, node) -> int:
    return doc.last_line(node)


def _docker_anchors(doc, line0: int) -> list[int]:
    out: list[int] = []
    for ins in doc.instructions:
        if ins.start_line <= line0 <= ins.end_line:
            out.append(ins.start_line)
            if ins.stage >= 0:
                out.append(doc.stages[ins.stage].from_ins.start_line)
            break
    else:
        # a line between instructions: the stage it falls in
        for st in doc.stages:
            if st.from_ins.start_line <= line0:
                out = [st.from_ins.start_line]
    return out


def _python_anchors(text: str, line0: int) -> list[int]:
    tree = ast.parse(text)
    out: list[int] = []
    target = line0 + 1
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= target <= (node.end_lineno or node.lineno):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            out.append(first - 1)
    return out


def suppressed(doc, text: str, line: int, cid: str) -> bool:
    """Whether a finding of `cid` at 1-based `line` is suppressed.

    `doc` is the parsed document (or None); `text` its text. A whole-file
    finding (line 0) is suppressed by a comment in the file's leading
    comment block.
    """
    lines = text.splitlines()
    if line <= 0:
        for ln in lines:
            if not _COMMENT_ONLY.match(ln) and ln.strip():
                return False
            if matches(ln, cid):
                return True
        return False
    if _covered(lines, line - 1, cid):
        return True
    if doc is None:
        return False
    return any(_covered(lines, n, cid) for n in set(anchors(doc, line - 1)))


def comment_line(doc, text: str, line: int, cid: str) -> int:
    """1-based line of the comment that suppresses a finding of `cid` at 1-based `line`
    (see `suppressed`), or 0."""
    lines = text.splitlines()
    if line <= 0:
        for n, ln in enumerate(lines):
            if not _COMMENT_ONLY.match(ln) and ln.strip():
                return 0
            if matches(ln, cid):
                return n + 1
        return 0
    for n in [line - 1] + (sorted(set(anchors(doc, line - 1)), reverse=True) if doc is not None else []):
        c = _comment_line(lines, n, cid)
        if c is not None:
            return c + 1
    return 0


NEVER = 1 << 30     # a column no inserted line is indented past: nothing appended belongs to the block
_NEW_UNIT = re.compile(r"(---|\.\.\.|FROM\s)", re.I)   # a new YAML document or Dockerfile stage


@dataclass(frozen=True, slots=True)
class Block:
    """A suppressed block: 0-based lines first..last, and the ignore comment's line.

    Lines inserted right after `last` belong to the block when indented past `column`
    (a YAML key's column; -1 for a document or a Dockerfile stage)."""

    first: int
    last: int
    column: int
    comment: int


def _yaml_blocks(doc) -> list[tuple[int, int, int]]:
    out = []

    def walk(node):
        if isinstance(node, MappingNode):
            for k, v in node.value:
                out.append((k.start_mark.line, max(k.start_mark.line, doc.last_line(v)), k.start_mark.column))
                walk(v)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                out.append((item.start_mark.line, doc.last_line(item), item.start_mark.column - 1))
                walk(item)

    for root in doc.docs:
        out.append((root.start_mark.line, doc.last_line(root), -1))
        walk(root)
    return out


def _docker_blocks(doc, n_lines: int) -> list[tuple[int, int, int]]:
    out = [(ins.start_line, ins.end_line, NEVER) for ins in doc.instructions]
    froms = [st.from_ins.start_line for st in doc.stages]
    for i, first in enumerate(froms):
        out.append((first, (froms[i + 1] - 1) if i + 1 < len(froms) else n_lines - 1, -1))
    return out


def _python_blocks(text: str) -> list[tuple[int, int, int]]:
    out = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.stmt):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            out.append((first - 1, (node.end_lineno or node.lineno) - 1, node.col_offset))
    return out


def _indent(text: str) -> int:
    for ln in text.splitlines():
        if ln.strip():
            return len(ln) - len(ln.lstrip(" "))
    return NEVER


class Suppressions:
    """The blocks of one file that `# fixer: ignore` comments protect from codemod `cid`."""

    def __init__(self, doc, text: str, cid: str):
        self.text = text
        lines = text.splitlines()
        self.blocks: list[Block] = []
        if "fixer:" not in text or not any(matches(ln, cid) for ln in lines):
            return
        spans = [(n, n, NEVER) for n in range(len(lines))]   # a commented line is a block of its own
        kind = getattr(doc, "kind", "")
        try:
            if hasattr(doc, "docs"):
                spans += _yaml_blocks(doc)
            elif kind == "dockerfile":
                spans += _docker_blocks(doc, len(lines))
            elif kind == "python":
                spans += _python_blocks(text)
        except Exception:  # an unparsable file: only commented lines count
            pass
        for first, last, column in spans:
            c = _comment_line(lines, first, cid)
            if c is not None:
                self.blocks.append(Block(first, last, column, c))
        self._starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def __bool__(self) -> bool:
        return bool(self.blocks)

    def _line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset) - 1

    def block_of(self, edit) -> Block | None:
        """The suppressed block an edit would change (a deleted file: the first block)."""
        if not self.blocks:
            return None
        if edit.text is None:
            return self.blocks[0]
        text, start, end, new = self.text, edit.start, edit.end, edit.text
        if end > start:
            a, b = self._line(start), self._line(end - 1)
            return next((k for k in self.blocks if a <= k.last and b >= k.first), None)
        if new[:1] in ("\n", "\r") and (start == len(text) or text[start] in "\r\n"):
            # "\nX" at a line's end is "X\n" at the next line's start
            start = text.find("\n", start) + 1 if "\n" in text[start:] else len(text)
            new = new.lstrip("\r\n")
            if start == len(text) and not text.endswith("\n"):
                return self._appended(len(self._starts), new)
        if start == 0 or text[start - 1] == "\n":
            return self._appended(self._line(start), new)
        ln = self._line(start)
        return next((k for k in self.blocks if k.first <= ln <= k.last), None)

    def _appended(self, line: int, new: str) -> Block | None:
        """Lines inserted before 0-based `line`."""
        unit = _NEW_UNIT.match(new.lstrip())
        for k in self.blocks:
            if k.first < line <= k.last:
                return k
            if line == k.last + 1 and _indent(new) > k.column and not (k.column < 0 and unit):
                return k
        return None

    @staticmethod
    def reason(block: Block) -> str:
        return reason(block.comment + 1)

    def covers_line(self, line: int) -> Block | None:
        """The suppressed block holding 1-based `line`."""
        return next((k for k in self.blocks if k.first <= line - 1 <= k.last), None)


def reason(comment: int) -> str:
    """Why a finding or edit was left: the 1-based line of the comment."""
    return f"suppressed by `# fixer: ignore` (line {comment})"


def why(doc, line: int, cid: str) -> str:
    """For codemods that decide for a whole file: the reason a target at 1-based `line`
    (a service's key, a job's key, a Dockerfile's FROM) is suppressed for `cid`, or ""."""
    text = getattr(doc, "text", "") or ""
    if "fixer:" not in text:
        return ""
    n = comment_line(doc, text, line, cid)
    return reason(n) if n else ""
