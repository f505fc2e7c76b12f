"""gha-permissions: least-privilege GITHUB_TOKEN permissions for workflows."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.yamldoc import get, has_own, scalar

from ._gha_common import jobs, root, runs_of, steps

# action (owner/repo[/path], lower case) -> permissions it needs beyond contents: read
ACTIONS: dict[str, dict[str, str]] = {
    "github/codeql-action/upload-sarif": {"security-events": "write"},
    "github/codeql-action/analyze": {"security-events": "write", "actions": "read"},
    "github/codeql-action/init": {"security-events": "write", "actions": "read"},
    "softprops/action-gh-release": {"contents": "write"},
    "ncipollo/release-action": {"contents": "write"},
    "actions/create-release": {"contents": "write"},
    "actions/upload-release-asset": {"contents": "write"},
    "svenstaro/upload-release-action": {"contents": "write"},
    "googleapis/release-please-action": {"contents": "write", "pull-requests": "write"},
    "google-github-actions/release-please-action": {"contents": "write", "pull-requests": "write"},
    "stefanzweifel/git-auto-commit-action": {"contents": "write"},
    "ad-m/github-push-action": {"contents": "write"},
    "peaceiris/actions-gh-pages": {"contents": "write"},
    "jamesives/github-pages-deploy-action": {"contents": "write"},
    "actions/deploy-pages": {"pages": "write", "id-token": "write"},
    "peter-evans/create-pull-request": {"contents": "write", "pull-requests": "write"},
    "peter-evans/create-or-update-comment": {"issues": "write", "pull-requests": "write"},
    "marocchino/sticky-pull-request-comment": {"pull-requests": "write"},
    "thollander/actions-comment-pull-request": {"pull-requests": "write"},
    "actions/labeler": {"pull-requests": "write"},
    "actions/stale": {"issues": "write", "pull-requests": "write"},
    "actions/attest-build-provenance": {"id-token": "write", "attestations": "write"},
    "actions/attest": {"id-token": "write", "attestations": "write"},
    "sigstore/gh-action-sigstore-python": {"id-token": "write"},
    "pypa/gh-action-pypi-publish": {"id-token": "write"},
    "aws-actions/configure-aws-credentials": {"id-token": "write"},
    "google-github-actions/auth": {"id-token": "write"},
    "azure/login": {"id-token": "write"},
    "dessant/lock-threads": {"issues": "write", "pull-requests": "write", "discussions": "write"},
    "release-drafter/release-drafter": {"contents": "write", "pull-requests": "write"},
    "actions/first-interaction": {"issues": "write", "pull-requests": "write"},
}
# actions that use the token at most to read (downloads, rate limits)
READ_ONLY = ("actions/checkout", "actions/setup-", "actions/cache", "actions/upload-artifact",
             "actions/download-artifact", "actions/dependency-review-action", "docker/", "codecov/",
             "pnpm/action-setup", "astral-sh/setup-uv", "dtolnay/rust-toolchain", "swatinem/rust-cache",
             "ruby/setup-ruby", "shivammathur/setup-php", "gradle/", "hashicorp/setup-",
             "oven-sh/setup-bun", "denoland/setup-deno", "pre-commit/action", "jdx/mise-action",
             "arduino/setup-protoc", "bufbuild/buf-setup-action", "golangci/golangci-lint-action",
             "sigstore/cosign-installer", "github/codeql-action/")
_TOKEN = re.compile(r"github\.token|secrets\.GITHUB_TOKEN|(^|\s)(github|repo|gh)[-_]token=", re.I)
# actions whose needs cannot be read from the workflow
UNKNOWN = ("actions/github-script",)
_GHCR = re.compile(r"\bghcr\.io\b")
_RUN_NEEDS = [
    (re.compile(r"\bgh\s+release\s+(create|upload|edit|delete)\b"), {"contents": "write"}),
    (re.compile(r"\bgit\s+push\b"), {"contents": "write"}),
    (re.compile(r"\bgh\s+pr\s+(create|comment|edit|merge|review|close)\b"), {"pull-requests": "write"}),
    (re.compile(r"\bgh\s+issue\s+(create|comment|edit|close)\b"), {"issues": "write"}),
    (re.compile(r"\b(docker|podman|buildah)\s+push\s+ghcr\.io/"), {"packages": "write"}),
    (re.compile(r"\bcosign\s+sign\b"), {"id-token": "write"}),
]
_ORDER = ["actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token", "issues",
          "packages", "pages", "pull-requests", "security-events", "statuses"]


def _merge(into: dict[str, str], more: dict[str, str]) -> None:
    for k, v in more.items():
        if into.get(k) != "write":
            into[k] = v


def job_needs(job) -> tuple[dict[str, str], str | None]:
    """Permissions a job needs beyond `contents: read`, and why it cannot be told (or None)."""
    need: dict[str, str] = {}
    for _, st in steps(job):
        uses = (scalar(get(st, "uses")) or "").split("@", 1)[0].lower()
        if not uses:
            continue
        if uses in UNKNOWN:
            return need, f"uses {uses}, whose permissions cannot be read from the workflow"
        base = "/".join(uses.split("/")[:3])
        for key in (base, "/".join(uses.split("/")[:2])):
            if key in ACTIONS:
                _merge(need, ACTIONS[key])
                break
        else:
            passed = _span(get(st, "with")) + " " + _span(get(st, "env"))
            if not uses.startswith(READ_ONLY) and _TOKEN.search(passed):
                return need, f"passes a token to {uses}, whose permissions cannot be read from the workflow"
        if uses == "docker/login-action":
            registry = scalar(get(get(st, "with"), "registry")) or ""
            if _GHCR.search(registry):
                _merge(need, {"packages": "write"})
    runs = runs_of(job)
    if re.search(r"\bgh\s+api\b|api\.github\.com", runs):
        return need, "calls the GitHub API from a script; the permissions it needs cannot be read"
    for rx, more in _RUN_NEEDS:
        if rx.search(runs):
            _merge(need, more)
    return need, None


def _span(node) -> str:
    """The scalars of a mapping (keys and values) as one string."""
    if not isinstance(node, MappingNode):
        return ""
    return " ".join(f"{getattr(k, 'value', '')}={getattr(v, 'value', '')}" for k, v in node.value)


def block(need: dict[str, str]) -> dict[str, str]:
    out = {"contents": need.get("contents", "read")}
    out.update({k: v for k, v in need.items() if k != "contents"})
    return {k: out[k] for k in sorted(out, key=lambda k: (_ORDER.index(k) if k in _ORDER else 99, k))}


class GhaPermissions(Codemod):
    id = "gha-permissions"
    title = "Give workflows least-privilege token permissions"
    kinds = ("workflow",)
    severity = "medium"
    safety = "evidenced"
    checks = ("scorecard:Token-Permissions", "zizmor:excessive-permissions")
    order = 420
    rationale = (
        "Without a `permissions:` block the GITHUB_TOKEN gets the repository's default "
        "permissions, often read-write on everything, so a compromised step or dependency "
        "can push code, publish packages or create releases. fixer sets `permissions: "
        "contents: read` for the workflow and gives a job-level block to the jobs whose "
        "actions clearly need more (docker/login-action to ghcr.io → packages: write, "
        "codeql upload-sarif → security-events: write, release actions or `gh release` → "
        "contents: write, cloud login through OIDC → id-token: write, …). Workflows that "
        "call reusable workflows or use actions whose needs cannot be read (github-script) "
        "are left alone.")
    examples = [
        Example(".github/workflows/ci.yml",
                "name: CI\non: [push]\n\njobs:\n  test:\n    runs-on: ubuntu-latest\n"
                "    steps:\n      - uses: actions/checkout@v4\n",
                "name: CI\non: [push]\n\npermissions:\n  contents: read\n\njobs:\n  test:\n"
                "    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"),
        Example(".github/workflows/release.yml",
                "on:\n  push:\n    tags: ['v*']\njobs:\n  image:\n    runs-on: ubuntu-latest\n"
                "    steps:\n      - uses: docker/login-action@v3\n        with:\n"
                "          registry: ghcr.io\n      - run: gh release create \"$GITHUB_REF_NAME\"\n",
                "on:\n  push:\n    tags: ['v*']\npermissions:\n  contents: read\njobs:\n  image:\n"
                "    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n"
                "      packages: write\n"
                "    steps:\n      - uses: docker/login-action@v3\n        with:\n"
                "          registry: ghcr.io\n      - run: gh release create \"$GITHUB_REF_NAME\"\n"),
        Example(".github/workflows/ci.yml",
                "on: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
                "    steps: [{run: 'true'}]\n"),
        Example(".github/workflows/ci.yml", "on: push\njobs:\n  call:\n    uses: ./.github/workflows/build.yml\n",
                skip="calls a reusable workflow"),
    ]

    def fix(self, doc, ctx):
        r = root(doc)
        if r is None or r.flow_style or get(r, "jobs") is None:
            return
        if has_own(r, "permissions"):
            return
        jobs_key = next(k for k, _ in r.value if getattr(k, "value", None) == "jobs")
        found = []
        # a workflow-level block would restrict a suppressed job too: then each other job
        # gets its own block instead
        ignored = {jid: suppress.why(doc, key.start_mark.line + 1, self.id) for jid, key, job in jobs(doc)
                   if not has_own(job, "permissions")}
        per_job = any(ignored.values())
        for jid, key, job in jobs(doc):
            line = key.start_mark.line + 1
            if has_own(job, "permissions"):
                continue
            if ignored[jid]:
                yield Skip(doc.path, line, f"job {jid}: {ignored[jid]}; no workflow-level block "
                                           "(it would restrict this job too), other jobs get their own")
                continue
            if get(job, "uses") is not None:
                yield Skip(doc.path, line, f"job {jid} calls a reusable workflow; the permissions it "
                                           "needs are not visible here, so the workflow is left alone")
                return
            need, unknown = job_needs(job)
            if unknown:
                yield Skip(doc.path, line, f"job {jid} {unknown}; the workflow is left alone")
                return
            if per_job or (need and need != {"contents": "read"}):
                if job.flow_style:
                    yield Skip(doc.path, line, f"job {jid} is a flow mapping")
                    return
                perms = block(need)
                first = getattr(job.value[0][0], "value", "")
                after = "runs-on" if has_own(job, "runs-on") else first
                edit = doc.add_entry_after(job, after, "permissions", perms)
                found.append(Finding(doc.path, line, f"job {jid} needs " + ", ".join(
                    f"{k}: {v}" for k, v in perms.items()), [edit], check="scorecard:Token-Permissions"))
        if not per_job:
            yield Finding(doc.path, jobs_key.start_mark.line + 1,
                          "workflow has no permissions block; the token gets the repository default",
                          [self._top(doc, jobs_key)], check="scorecard:Token-Permissions")
        yield from found

    def _top(self, doc, jobs_key):
        """`permissions: contents: read` before `jobs:` (and the comments above it)."""
        line = jobs_key.start_mark.line
        while line > 0 and doc.line_text(line - 1).lstrip().startswith("#"):
            line -= 1
        step = doc.indent_step()
        lines = ["permissions:", " " * step + "contents: read"]
        if line > 0 and not doc.line_text(line - 1).strip():
            lines.append("")
        return doc.insert_lines_before(line, lines)
