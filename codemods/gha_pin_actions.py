"""gha-pin-actions: pin `uses: owner/repo@tag` to the tag's commit, keeping the tag as a comment."""
from __future__ import annotations

import os
import re
import subprocess

from yaml.nodes import ScalarNode

from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.yamldoc import get

from ._gha_common import jobs, steps

_SHA = re.compile(r"^[0-9a-f]{40}$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{7,39}$")
_REF = re.compile(r"^([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)((?:/[^@\s]*)?)@([^\s@]+)$")
DEFAULT_BASE = "https://github.com"


class ResolveError(Exception):
    pass


def ls_remote(url: str, ref: str, timeout: float = 30) -> dict[str, str]:
    """{ref name: sha} for tag `ref` (and its peeled commit) and branch `ref` at `url`."""
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="true", SSH_ASKPASS="true")
    try:
        r = subprocess.run(["git", "ls-remote", "--", url, f"refs/tags/{ref}", f"refs/tags/{ref}^{{}}",
                            f"refs/heads/{ref}"], capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise ResolveError(f"git ls-remote {url} timed out") from None
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["failed"])[-1]
        raise ResolveError(f"git ls-remote {url}: {msg}")
    out = {}
    for line in r.stdout.splitlines():
        sha, _, name = line.partition("\t")
        if _SHA.match(sha):
            out[name] = sha
    return out


def resolve(url: str, ref: str) -> tuple[str, str] | None:
    """(commit sha, 'tag' or 'branch') for a ref, or None when the repository lacks it.

    Annotated tags resolve to the commit they point at (the peeled `^{}` entry).
    """
    refs = ls_remote(url, ref)
    for name, what in ((f"refs/tags/{ref}^{{}}", "tag"), (f"refs/tags/{ref}", "tag"),
                       (f"refs/heads/{ref}", "branch")):
        if name in refs:
            return refs[name], what
    return None


def parse_uses(value: str):
    """(owner, repo, subpath, ref) of a remote action reference, or None."""
    if value.startswith(("./", "docker://")) or "${{" in value:
        return None
    m = _REF.match(value.strip())
    return m.groups() if m else None


def uses_nodes(doc):
    """(label, value node) for each step `uses:` and each job-level reusable workflow."""
    for jid, _, job in jobs(doc):
        u = get(job, "uses")
        if isinstance(u, ScalarNode):
            yield f"job {jid}", u
        for i, st in steps(job):
            u = get(st, "uses")
            if isinstance(u, ScalarNode):
                yield f"job {jid} step {i + 1}", u


class GhaPinActions(Codemod):
    id = "gha-pin-actions"
    title = "Pin workflow actions to commit SHAs"
    kinds = ("workflow",)
    severity = "medium"
    checks = ("scorecard:Pinned-Dependencies", "zizmor:unpinned-uses", "checkov:CKV_GHA_7")
    order = 430
    needs_network = True
    config = (Option("base-url", {"type": "string"}, DEFAULT_BASE, "where actions are resolved (file:// works too)"),
              Option("pins", {"type": "object", "additionalProperties": {
                         "type": "string", "pattern": "^[0-9a-fA-F]{40}$", "description": "a full commit SHA"}},
                     None, "known commits by reference (\"actions/checkout@v4\" = \"<sha>\"), used first"))
    rationale = (
        "A tag such as `v4` can be moved by whoever controls the action's repository (or "
        "steals its credentials), and the next run executes the new code with the job's "
        "secrets, as happened with tj-actions/changed-files in 2025. A commit SHA cannot be "
        "moved. fixer resolves each tag with `git ls-remote` (annotated tags to the commit "
        "they point at) and writes `owner/repo@<sha> # v4`, which Dependabot and Renovate "
        "keep up to date. Local actions (`./…`) and `docker://` references are left alone. "
        "Options: `base-url` (default https://github.com; a GitHub Enterprise server or a "
        "mirror) and `pins` (a table of fixed `owner/repo@ref` = sha resolutions, used "
        "before the network and also offline).")
    examples = [
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n      - uses: \"acme/tools/lint@v1\"\n"
                "      - uses: ./local-action\n      - uses: docker://alpine:3.20\n",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4\n"
                "      - uses: \"acme/tools/lint@1111111111111111111111111111111111111111\" # v1\n"
                "      - uses: ./local-action\n      - uses: docker://alpine:3.20\n",
                options={"pins": {"actions/checkout@v4": "11bd71901bbe5b1630ceea73d27597364c9af683",
                                  "acme/tools@v1": "1" * 40}}),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683  # v4.2.2\n"),
        Example(".github/workflows/ci.yml", "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@11bd719\n", skip="looks like a short commit SHA"),
    ]

    def fix(self, doc, ctx):
        opts = self.options(ctx)
        base = str(opts.get("base-url", DEFAULT_BASE)).rstrip("/")
        pins = {k.lower(): str(v).lower() for k, v in dict(opts.get("pins", {})).items()}
        cache: dict = ctx.shared.setdefault(self.id, {})
        waiting = 0
        for label, node in uses_nodes(doc):
            parsed = parse_uses(node.value)
            if parsed is None:
                continue
            owner, repo, sub, ref = parsed
            line = node.start_mark.line + 1
            if _SHA.match(ref.lower()):
                continue
            if _SHORT_SHA.match(ref) and re.search(r"[a-f]", ref) and re.search(r"[0-9]", ref):
                yield Skip(doc.path, line, f"{label}: {node.value} looks like a short commit SHA")
                continue
            rest = doc.text[doc.content_end(node):doc.line_end(doc.line_of(node.start_mark.index))]
            if rest.strip() and not rest.strip().startswith("#"):
                yield Skip(doc.path, line, f"{label}: no room for a `# {ref}` comment on this line")
                continue
            key = f"{owner}/{repo}@{ref}".lower()
            sha = pins.get(key)
            if sha is None and ctx.offline:
                waiting += 1
                continue
            if sha is None:
                url = f"{base}/{owner}/{repo}"
                if (url, ref) not in cache:
                    try:
                        cache[(url, ref)] = resolve(url, ref)
                    except ResolveError as exc:
                        cache[(url, ref)] = exc
                got = cache[(url, ref)]
                if isinstance(got, ResolveError):
                    yield Skip(doc.path, line, f"{label}: cannot resolve {owner}/{repo}@{ref}: {got}")
                    continue
                if got is None:
                    yield Skip(doc.path, line, f"{label}: {owner}/{repo} has no tag or branch {ref}")
                    continue
                sha = got[0]
                if got[1] == "branch":
                    ctx.note(self, f"{owner}/{repo}@{ref} is a branch; pinned to its current commit")
            if not _SHA.match(sha):
                yield Skip(doc.path, line, f"{label}: pin for {key} is not a 40-hex commit SHA")
                continue
            span = doc.text[node.start_mark.index:doc.content_end(node)]
            quote = span[0] if node.style in ('"', "'") else ""
            new = f"{quote}{owner}/{repo}{sub}@{sha}{quote} # {ref}"
            yield Finding(doc.path, line, f"{label}: {node.value} is not pinned to a commit",
                          [doc.replace(node.start_mark.index, doc.content_end(node), new)],
                          check="scorecard:Pinned-Dependencies")
        if waiting:
            yield Skip(doc.path, 0, f"offline: {waiting} action reference(s) not resolved "
                                    "(run with network access to pin them)")
