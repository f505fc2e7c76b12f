"""Inline suppression: `# fixer: ignore[codemod-id, …]` or `# fixer: ignore`.

A comment suppresses a finding when it sits on the finding's line, or on the
line that opens an enclosing block: a YAML mapping key or list item that
contains the finding (compose service, Kubernetes document or container,
workflow job or step), a Dockerfile instruction or its stage's FROM line, a
Python statement, class or function. On each of those lines the comment may
be at the end of the line or on comment-only lines directly above it.
"""
from __future__ import annotations

import ast
import re

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


def _covered(lines: list[str], n: int, cid: str) -> bool:
    """Line n (0-based) or the comment-only lines right above it carry the comment."""
    if not 0 <= n < len(lines):
        return False
    if matches(lines[n], cid):
        return True
    k = n - 1
    while k >= 0 and _COMMENT_ONLY.match(lines[k]):
        if matches(lines[k], cid):
            return True
        k -= 1
    return False


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
