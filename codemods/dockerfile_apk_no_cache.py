"""dockerfile-apk-no-cache: `apk add` gets --no-cache (DL3019)."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip

from ._dockerfile_util import commands, left_alone


def apk_add(cmd):
    """The `add` word when the command is an `apk add` (options may come before the verb)."""
    words = cmd.values
    if cmd.name != "apk" or "add" not in words[1:]:
        return None
    at = words.index("add", 1)
    if any(not w.startswith("-") for w in words[1:at]):
        return None         # `add` is not the verb
    return cmd.words[at]


class DockerfileApkNoCache(Codemod):
    id = "dockerfile-apk-no-cache"
    title = "Install Alpine packages with apk add --no-cache"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL3019",)
    order = 112
    scope = "file"
    rationale = (
        "`apk add` without --no-cache leaves the package index in /var/cache/apk in the layer. "
        "--no-cache fetches a fresh index for the same install and keeps nothing. RUNs with a "
        "cache mount are left alone.")
    examples = [
        Example("Dockerfile", "FROM alpine:3.20\nRUN apk update && apk add --virtual .deps curl\n",
                "FROM alpine:3.20\nRUN apk update && apk add --no-cache --virtual .deps curl\n"),
        Example("Dockerfile", "FROM alpine:3.20\nRUN apk add --no-cache curl\n"),
        Example("Dockerfile", "FROM alpine:3.20\nRUN --mount=type=cache,target=/var/cache/apk apk add curl\n",
                skip="RUN uses a cache mount"),
    ]

    def fix(self, doc, ctx):
        for ins in doc.instructions:
            if ins.cmd != "RUN":
                continue
            hits = [c for c in commands(doc, ins) if apk_add(c) is not None and "--no-cache" not in c.values]
            if not hits:
                continue
            if any(f.startswith("--mount=") and "cache" in f for f in ins.flags):
                yield Skip(doc.path, ins.start_line + 1, "RUN uses a cache mount")
                continue
            yield from left_alone(doc, ins, hits, "apk add")
            edits = [doc.insert(apk_add(c).end, " --no-cache") for c in hits if c.editable]
            if not edits:
                continue
            yield Finding(doc.path, ins.start_line + 1, "apk add keeps its index in the image", edits,
                          check="hadolint:DL3019")
