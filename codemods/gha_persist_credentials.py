"""gha-persist-credentials: actions/checkout without the token left in .git/config."""
from __future__ import annotations

import posixpath
import re

from yaml.nodes import MappingNode, ScalarNode

from fixer import shell
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.yamldoc import get, scalar

from ._gha_common import step_label, steps

# actions that push, open pull requests or tag with the git credentials checkout stored
PUSHING_ACTIONS = (
    "stefanzweifel/git-auto-commit-action", "peter-evans/create-pull-request", "endbug/add-and-commit",
    "ad-m/github-push-action", "changesets/action", "cycjimmy/semantic-release-action",
    "codfish/semantic-release-action", "jamesives/github-pages-deploy-action", "peaceiris/actions-gh-pages",
    "mathieudutour/github-tag-action", "anothrnick/github-tag-action", "googleapis/release-please-action",
    "google-github-actions/release-please-action", "release-it/", "s0/git-publish-subdir-action",
    "devops-infra/action-commit-push", "actions-js/push", "github-actions-x/commit",
    # coding agents that run git themselves
    "anthropics/claude-code-action", "openai/codex-action", "google-github-actions/run-gemini-cli",
)
# git subcommands that talk to the remote with the stored credentials
GIT_REMOTE = {"push", "fetch", "pull", "ls-remote", "submodule", "remote", "clone"}
# release tools that commit, tag and push through git
RELEASE_TOOLS = {"semantic-release", "release-it", "lerna", "standard-version", "changeset", "cargo-release",
                 "goreleaser", "bumpversion", "bump2version", "bump-my-version", "git-chglog", "versionize",
                 "nx", "mvn", "gradle"}
_RELEASE_ARGS = {"mvn": ("release:",), "gradle": ("release",), "nx": ("release",), "lerna": ("publish", "version"),
                 "changeset": ("publish", "version", "tag"), "goreleaser": ("release",)}
# gh subcommands that run git with the stored credentials
GH_GIT = {("pr", "checkout"), ("repo", "clone"), ("repo", "sync"), ("pr", "create"), ("release", "create")}
# words in an action's name that say it may commit, tag or push with git
_GIT_WORDS = re.compile(r"commit|push|revert|backport|cherry-pick|merge|sync|bump|version|changelog|tag|release|publish")
# actions with such names that push images or use the REST API, never git
_API_ONLY = ("softprops/action-gh-release", "ncipollo/release-action", "actions/create-release",
             "actions/upload-release-asset", "svenstaro/upload-release-action", "release-drafter/release-drafter",
             "pypa/gh-action-pypi-publish", "getsentry/action-release", "docker/metadata-action",
             "docker/build-push-action", "docker/bake-action", "redhat-actions/push-to-registry",
             "aws-actions/amazon-ecr-login", "codecov/codecov-action")
_SCRIPT = re.compile(r"^(?:\./|\.github/|scripts?/)\S+\.(?:sh|bash)$")


def _checkout(step) -> bool:
    uses = (scalar(get(step, "uses")) or "").lower()
    return uses.split("@", 1)[0] == "actions/checkout"


def _run_needs(text: str) -> str | None:
    """Why a script needs the stored credentials, or None."""
    for cmd in shell.parse(text).commands:
        v = cmd.values
        name = cmd.name
        if name == "git":
            sub = next((w for w in v[1:] if not w.startswith("-") and "=" not in w), "")
            if sub in GIT_REMOTE:
                return f"`git {sub}`"
        if name == "gh" and len(v) > 2 and (v[1], v[2]) in GH_GIT:
            return f"`gh {v[1]} {v[2]}`"
        words = [name] + [w.rsplit("/", 1)[-1] for w in v[1:3]]
        for w in words:
            base = w.split("@")[0]
            if base in RELEASE_TOOLS:
                need = _RELEASE_ARGS.get(base)
                if need is None or any(a.startswith(need) for a in v[1:]):
                    return f"`{base}` (a release tool that pushes)"
    return None


class GhaPersistCredentials(Codemod):
    id = "gha-persist-credentials"
    title = "Check out without persisting the token in .git/config"
    kinds = ("workflow",)
    severity = "medium"
    safety = "evidenced"
    checks = ("zizmor:artipacked",)
    order = 440
    scope = "file"
    rationale = (
        "actions/checkout writes the job's GITHUB_TOKEN into .git/config by default, where "
        "every later step, and any artifact or cache that includes the checkout, can read "
        "it. `persist-credentials: false` keeps it out. Jobs whose later steps use those "
        "credentials (git push/fetch/pull, gh pr checkout, actions that commit or open pull "
        "requests such as git-auto-commit-action or create-pull-request, release tools such "
        "as semantic-release, local actions and scripts fixer cannot read) are left alone "
        "with the reason, since the option would break them.")
    guide = (
        "A job that pushes keeps the credentials; better still, give it a separate "
        "checkout and token scoped to the push. Add `persist-credentials: true` to say "
        "so explicitly: fixer then leaves the step alone.")
    examples = [
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n      - run: make test\n",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n        with:\n          persist-credentials: false\n"
                "      - run: make test\n"),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n        with:\n          fetch-depth: 0\n"
                "          persist-credentials: false\n"),
        Example(".github/workflows/fmt.yml",
                "on: push\njobs:\n  fmt:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n      - run: make fmt\n"
                "      - run: |\n          git commit -am fmt && git push\n",
                skip="`git push`"),
        Example(".github/workflows/fmt.yml",
                "on: push\njobs:\n  fmt:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n"
                "      - uses: stefanzweifel/git-auto-commit-action@v5\n",
                skip="stefanzweifel/git-auto-commit-action"),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n"
                "      - uses: actions/checkout@v4\n        with: {persist-credentials: false}\n"),
    ]

    def wants(self, text):
        return "actions/checkout" in text

    def fix(self, doc, ctx):
        from ._gha_common import jobs

        for jid, _, job in jobs(doc):
            all_steps = list(steps(job))
            for n, (i, st) in enumerate(all_steps):
                if not _checkout(st):
                    continue
                line = st.start_mark.line + 1
                with_ = get(st, "with")
                if with_ is not None and not isinstance(with_, MappingNode):
                    yield Skip(doc.path, line, f"job {jid} {step_label(i, st)}: `with` is not a mapping")
                    continue
                persist = scalar(get(with_, "persist-credentials")) if with_ is not None else None
                if persist is not None:
                    if persist.strip().lower() not in ("false", "'false'"):
                        yield Skip(doc.path, line, f"job {jid} {step_label(i, st)} sets persist-credentials: "
                                   f"{persist} explicitly")
                    continue
                own = [k for k in ("token", "ssh-key") if with_ is not None and get(with_, k) is not None
                       and "github.token" not in doc.span(get(with_, k)) and "GITHUB_TOKEN" not in doc.span(get(with_, k))]
                if own:
                    yield Skip(doc.path, line, f"job {jid} {step_label(i, st)} checks out with its own {own[0]}, "
                               "kept on purpose for later git operations")
                    continue
                why = self._later_use(doc, ctx, all_steps[n + 1:])
                if why:
                    yield Skip(doc.path, line, f"job {jid} {step_label(i, st)} keeps its credentials: a later "
                               f"step uses them ({why})")
                    continue
                if with_ is None:
                    edit = doc.add_entry(st, "with", {"persist-credentials": False})
                else:
                    edit = doc.add_entry(with_, "persist-credentials", False)
                yield Finding(doc.path, line, f"job {jid} {step_label(i, st)} leaves the token in .git/config",
                              [edit], check="zizmor:artipacked")

    def _later_use(self, doc, ctx, later) -> str | None:
        for i, st in later:
            uses = (scalar(get(st, "uses")) or "").split("@", 1)[0]
            low = uses.lower()
            hit = next((a for a in PUSHING_ACTIONS if low == a or (a.endswith("/") and low.startswith(a))), None)
            if hit:
                return f"{step_label(i, st)}: {uses}"
            if uses and not uses.startswith(("./", "docker://")) and low not in _API_ONLY:
                name = low.split("/", 1)[-1]
                m = _GIT_WORDS.search(name)
                if m:
                    return f"{step_label(i, st)}: {uses}, which may {m.group(0)} with git"
            if uses.startswith("./"):
                text = _local_action(ctx, uses)
                if text is None:
                    return f"{step_label(i, st)}: local action {uses}, which fixer cannot read"
                why = _action_needs(text)
                if why:
                    return f"{step_label(i, st)}: local action {uses} runs {why}"
            run = get(st, "run")
            if isinstance(run, ScalarNode):
                why = _run_needs(run.value)
                if why:
                    return f"{step_label(i, st)}: {why}"
                for cmd in shell.parse(run.value).commands:
                    for w in cmd.values[:2]:
                        if _SCRIPT.match(w):
                            text = ctx.read(posixpath.normpath(w))
                            if text is None:
                                return f"{step_label(i, st)}: runs {w}, which fixer cannot read"
                            why = _run_needs(text)
                            if why:
                                return f"{step_label(i, st)}: {w} runs {why}"
        return None


def _action_needs(text: str) -> str | None:
    """Why a local action's steps need the stored credentials (its runs and uses), or None."""
    from fixer.yamldoc import ParseError, compose_all, walk

    try:
        docs = compose_all(text)
    except ParseError:
        return "an action.yml fixer cannot parse"
    for d in docs:
        for node in walk(d):
            if isinstance(node, MappingNode):
                run = get(node, "run")
                if isinstance(run, ScalarNode):
                    why = _run_needs(run.value)
                    if why:
                        return why
                uses = (scalar(get(node, "uses")) or "").split("@", 1)[0].lower()
                if uses and (uses in PUSHING_ACTIONS or _GIT_WORDS.search(uses.split("/", 1)[-1])):
                    return uses
    return None


def _local_action(ctx, uses: str) -> str | None:
    base = posixpath.normpath(uses)
    for name in ("action.yml", "action.yaml"):
        text = ctx.read(name if base == "." else f"{base}/{name}")
        if text is not None:
            return text
    return None
