"""dockerfile-apk-no-cache: `apk add` gets --no-cache (DL3019)."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip

from ._dockerfile_util import commands, strip_sudo


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
            hits = []
            for cmd in commands(doc, ins) or []:
                body = strip_sudo(cmd)
                words = [w for w, _, _ in body]
                if len(words) < 2 or words[0].rsplit("/", 1)[-1] != "apk" or "add" not in words:
                    continue
                at = words.index("add")
                if any(w.startswith("-") is False for w in words[1:at]):
                    continue        # `add` is not the verb
                if "--no-cache" in words:
                    continue
                hits.append(body[at])
            if not hits:
                continue
            if any(f.startswith("--mount=") and "cache" in f for f in ins.flags):
                yield Skip(doc.path, ins.start_line + 1, "RUN uses a cache mount")
                continue
            yield Finding(doc.path, ins.start_line + 1, "apk add keeps its index in the image",
                          [doc.insert(end, " --no-cache") for _, _, end in hits],
                          check="hadolint:DL3019")
