"""dockerfile-exec-form: shell-form CMD/ENTRYPOINT with no shell syntax -> JSON form (DL3025)."""
from __future__ import annotations

import json
import re

from fixer.codemod import Codemod, Example, Finding, Skip

from ._dockerfile_util import stage_chain

_PLAIN = re.compile(r"^[A-Za-z0-9_./:@%+,=-]+$")


def plain_words(doc, ins) -> list[str] | None:
    words = [w for w, _, _ in doc.words(ins)[1:]]
    if not words or not all(_PLAIN.match(w) for w in words):
        return None
    if words[0] == "exec":
        words = words[1:]
    if not words or "=" in words[0]:
        return None
    return words


class DockerfileExecForm(Codemod):
    id = "dockerfile-exec-form"
    title = "Use JSON (exec) form for CMD and ENTRYPOINT"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL3025",)
    order = 115
    scope = "file"
    rationale = (
        "In shell form the process runs under `/bin/sh -c` and does not receive SIGTERM, so "
        "containers stop only after the kill timeout. Only commands made of plain words (no "
        "variables, quotes, globs, redirections or operators) are rewritten, where the shell "
        "adds nothing. An ENTRYPOINT is rewritten only when the stage sets no CMD, and a CMD "
        "only when no ENTRYPOINT of this file would receive it as arguments.")
    examples = [
        Example("Dockerfile", "FROM python:3.12-slim\nCMD gunicorn -b 0.0.0.0:8000 app:app\n",
                "FROM python:3.12-slim\nCMD [\"gunicorn\", \"-b\", \"0.0.0.0:8000\", \"app:app\"]\n"),
        Example("Dockerfile", "FROM alpine:3.20\nCMD exec /app/server --port 80\n",
                "FROM alpine:3.20\nCMD [\"/app/server\", \"--port\", \"80\"]\n"),
        Example("Dockerfile", "FROM alpine:3.20\nCMD /app/server --port $PORT\n", skip="CMD uses shell syntax or variables"),
        Example("Dockerfile", "FROM alpine:3.20\nENTRYPOINT [\"/tini\"]\nCMD /app/server\n", skip="the ENTRYPOINT would receive different arguments"),
    ]

    def fix(self, doc, ctx):
        for st in doc.stages:
            chain = stage_chain(doc, st)
            has_cmd = any(s.find("CMD") for s in chain)
            has_ep = any(s.find("ENTRYPOINT") for s in chain)
            for ins in st.instructions:
                if ins.cmd not in ("CMD", "ENTRYPOINT") or ins.json:
                    continue
                line = ins.start_line + 1
                if ins.cmd == "ENTRYPOINT" and has_cmd:
                    yield Skip(doc.path, line, "exec-form ENTRYPOINT would receive CMD as arguments")
                    continue
                if ins.cmd == "CMD" and has_ep:
                    yield Skip(doc.path, line, "the ENTRYPOINT would receive different arguments")
                    continue
                if ins.end_line != ins.start_line:
                    yield Skip(doc.path, line, f"{ins.cmd} spans several lines")
                    continue
                words = plain_words(doc, ins)
                if words is None:
                    yield Skip(doc.path, line, f"{ins.cmd} uses shell syntax or variables")
                    continue
                kw = doc.words(ins)[0]
                text = kw[0] + " [" + ", ".join(json.dumps(w) for w in words) + "]"
                end = ins.start + len(doc.line_text(ins.start_line).rstrip())
                yield Finding(doc.path, line, f"shell-form {ins.cmd} does not pass signals to the process",
                              [doc.replace(kw[1], end, text)], check="hadolint:DL3025")
