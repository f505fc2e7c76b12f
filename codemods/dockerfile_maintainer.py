"""dockerfile-maintainer: MAINTAINER is deprecated; the same data belongs in a LABEL."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Skip

_KEYWORD = re.compile(r"[ \t]*(maintainer)[ \t]+", re.I)


def label_value(value: str, esc: str) -> str:
    """Double-quoted LABEL value meaning exactly `value` (no variable expansion)."""
    out = []
    for ch in value:
        if ch in ('"', "$") or ch == esc:
            out.append(esc)
        out.append(ch)
    return '"' + "".join(out) + '"'


class DockerfileMaintainer(Codemod):
    id = "dockerfile-maintainer"
    title = "Replace deprecated MAINTAINER with a maintainer LABEL"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL4000",)
    order = 120
    scope = "file"
    rationale = (
        "MAINTAINER is deprecated since Docker 1.13. `LABEL maintainer=…` keeps the "
        "same information in the image metadata where tools look for it.")
    examples = [
        Example("Dockerfile",
                "FROM alpine:3.20\nMAINTAINER Jane Doe <jane@example.com>\nCMD [\"sh\"]\n",
                "FROM alpine:3.20\nLABEL maintainer=\"Jane Doe <jane@example.com>\"\nCMD [\"sh\"]\n"),
        Example("Dockerfile",
                "from alpine:3.20\r\nmaintainer ops $TEAM\r\n",
                "from alpine:3.20\r\nlabel maintainer=\"ops \\$TEAM\"\r\n"),
        Example("Dockerfile", "FROM alpine:3.20\nLABEL maintainer=\"x\"\n"),
        Example("Dockerfile", "FROM alpine:3.20\nMAINTAINER Jane \\\n    Doe\n", skip="MAINTAINER spans several lines"),
    ]

    def fix(self, doc, ctx):
        for ins in doc.instructions:
            if ins.cmd != "MAINTAINER":
                continue
            line = ins.start_line + 1
            if ins.end_line != ins.start_line:
                yield Skip(doc.path, line, "MAINTAINER spans several lines")
                continue
            raw = doc.line_text(ins.start_line)
            m = _KEYWORD.match(raw)
            value = raw[m.end():].rstrip() if m else ""
            if not m or not value:
                yield Skip(doc.path, line, "MAINTAINER has no value")
                continue
            keyword = "label" if m.group(1).islower() else "LABEL"
            start = doc.line_start(ins.start_line) + m.start(1)
            end = doc.line_start(ins.start_line) + len(raw.rstrip())
            text = f"{keyword} maintainer={label_value(value, doc.escape)}"
            yield Finding(doc.path, line, "MAINTAINER is deprecated",
                          [doc.replace(start, end, text)], check="hadolint:DL4000")
