"""pin-image-digest: pin image references to the digest their tag points to today."""
from __future__ import annotations

import re

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.imagerefs import SITES, Site
from fixer.text import Edit

_LITERAL_IMAGE = re.compile(r"^[ \t-]*image:[ \t]*[\"']?[^\s{\"'][^{\n]*$", re.M)

CHECKS = {
    "dockerfile": "hadolint:DL3007",
    "k8s": "checkov:CKV_K8S_43",
    "helm": "checkov:CKV_K8S_43",
}


def make_resolver(ctx):
    """One Resolver per run, configured from settings (CLI or [tool.fixer])."""
    if "resolver" in ctx.shared:
        return ctx.shared["resolver"]
    from fixer.registry import Resolver

    s = ctx.settings
    mirrors = dict(s.get("registry-mirrors", {}) or {})
    for item in s.get("registry_mirror", []) or []:
        host, _, url = item.partition("=")
        mirrors[host.strip()] = url.strip()
    insecure = list(s.get("insecure-registries", []) or []) + list(s.get("insecure_registry", []) or [])
    resolver = Resolver(offline=ctx.offline, refresh=bool(s.get("refresh")), cache_dir=s.get("cache_dir"),
                        mirrors=mirrors or None, insecure=insecure,
                        concurrency=int(s.get("registry-concurrency", 8)))
    ctx.shared["resolver"] = resolver
    return resolver


class PinImageDigest(Codemod):
    id = "pin-image-digest"
    title = "Pin container images to digests"
    kinds = ("dockerfile", "compose", "k8s", "helm", "workflow")
    severity = "high"
    checks = ("hadolint:DL3007", "checkov:CKV_K8S_43", "kube-linter:latest-tag")
    order = 50
    needs_network = True
    config = (Option("digests", {"type": "object", "additionalProperties": {
                         "type": "string", "pattern": "^sha256:[0-9a-f]{64}$",
                         "description": "a digest such as sha256:<64 hex digits>"}}, None,
                     "known digests by reference (\"nginx:1.25\" = \"sha256:...\"), used without a look-up"),)
    rationale = (
        "A tag such as `postgres:16` or `latest` can point to a different image tomorrow: "
        "builds stop being reproducible and a compromised tag reaches production unnoticed. "
        "fixer pins the digest the tag points to now, keeping the tag for readability "
        "(`nginx:1.25@sha256:…`). Multi-architecture images are pinned by their index digest, "
        "so every platform keeps working. References fixer cannot resolve are skipped with "
        "the reason, never guessed.")
    # Registry look-ups are tested against a real registry in tests/registry; the examples
    # use the `digests` option (known digests, e.g. from a lock file, for air-gapped runs).
    examples = [
        Example("Dockerfile",
                "# syntax=docker/dockerfile:1\nARG BASE=python:3.12-slim\nFROM ${BASE} AS build\n"
                "FROM --platform=linux/amd64 nginx AS web\nCOPY --from=build /a /a\n"
                "COPY --from=busybox:1.36 /bin/sh /sh\n",
                "# syntax=docker/dockerfile:1\nARG BASE=python:3.12-slim@sha256:" + "1" * 64 + "\n"
                "FROM ${BASE} AS build\nFROM --platform=linux/amd64 nginx@sha256:" + "2" * 64 + " AS web\n"
                "COPY --from=build /a /a\nCOPY --from=busybox:1.36@sha256:" + "3" * 64 + " /bin/sh /sh\n",
                options={"digests": {"python:3.12-slim": "sha256:" + "1" * 64,
                                     "nginx": "sha256:" + "2" * 64,
                                     "busybox:1.36": "sha256:" + "3" * 64}}),
        Example("compose.yaml",
                "services:\n  db:\n    image: 'postgres:16'  # db\n  app:\n    build: .\n    image: me/app\n",
                "services:\n  db:\n    image: 'postgres:16@sha256:" + "4" * 64 + "'  # db\n"
                "  app:\n    build: .\n    image: me/app\n",
                options={"digests": {"postgres:16": "sha256:" + "4" * 64}}),
        Example("Dockerfile", "FROM scratch\nCOPY app /app\n"),
        Example("Dockerfile", "FROM alpine:3.20@sha256:" + "a" * 64 + "\n"),
        Example("Dockerfile", "FROM ${IMAGE}\n", skip="has no ARG default before the first FROM"),
    ]

    def run(self, ctx):
        # decided file by file while the document is in hand; only plain sites are kept
        # (holding every document until the look-ups would hold every parse at once)
        verify = bool(ctx.settings.get("verify_pins") or ctx.settings.get("update_pins"))
        todo: list[tuple[str, Site]] = []      # (the file's kind, site)
        for doc in ctx.documents(self.kinds, needles=("image", "FROM", "from", "COPY", "docker://")):
            if doc.kind == "helm" and not _LITERAL_IMAGE.search(doc.text):
                continue  # every image is templated: nothing to pin, no need to parse
            for site in ctx.guard(self, doc, lambda d, c: SITES[d.kind](d)):
                if site.skip:
                    yield Skip(site.path, site.line, f"{site.where}: {site.text}: {site.skip}")
                    continue
                why = next(filter(None, (suppress.why(doc, u, self.id) for u in site.users)), "")
                if why:   # a suppressed FROM keeps the image its ARG names
                    yield Skip(site.path, site.line, f"{site.where}: {site.text}: a FROM using it is {why}")
                    continue
                if "@" not in site.text or verify:
                    todo.append((doc.kind, site))
        if not todo:
            return
        from fixer.registry import Resolution, parse_reference

        pins = [(kind, s) for kind, s in todo if "@" not in s.text]
        pinned = [(kind, s) for kind, s in todo if "@" in s.text]
        known = dict(self.options(ctx).get("digests", {}))
        results = {(s.text, s.platform): Resolution(s.text, s.platform, digest=known[s.text])
                   for _, s in pins if s.text in known}
        wanted = sorted({(s.text, s.platform) for _, s in pins} - set(results),
                        key=lambda k: (k[0], k[1] or ""))
        resolver = make_resolver(ctx) if wanted or pinned else None
        if wanted:
            results.update(resolver.resolve_many(wanted))
        for kind, site in pins:
            res = results[(site.text, site.platform)]
            if not res.ok:
                yield Skip(site.path, site.line, f"{site.where}: {site.text}: {res.reason}")
                continue
            ref = parse_reference(site.text)
            new = ref.pinned(res.digest)
            msg = f"{site.where}: {site.text} is not pinned to a digest"
            if res.warning:
                msg += f" (warning: {res.warning})"
            check = CHECKS.get(kind, "")
            if kind == "dockerfile" and ref.tag not in (None, "latest"):
                check = ""  # DL3007 is about floating latest tags
            yield Finding(site.path, site.line, msg, [Edit(site.path, site.start, site.end, new)], check=check)
        if pinned:
            yield from self._verify(ctx, resolver, pinned)

    def _verify(self, ctx, resolver, pinned):
        from fixer.registry import parse_reference

        update = bool(ctx.settings.get("update_pins"))
        checks = resolver.verify_many(sorted({s.text for _, s in pinned}))
        for _, site in pinned:
            v = checks[site.text]
            if v.reason:
                yield Skip(site.path, site.line, f"{site.where}: {site.text}: {v.reason}")
            elif v.exists is False:
                yield Finding(site.path, site.line,
                              f"{site.where}: pinned digest no longer exists in the registry")
            elif v.up_to_date is False and v.suggested:
                msg = f"{site.where}: tag {v.tag} now points to {v.suggested}"
                edits = []
                if update:
                    edits = [Edit(site.path, site.start, site.end, parse_reference(site.text).pinned(v.suggested))]
                yield Finding(site.path, site.line, msg, edits)
