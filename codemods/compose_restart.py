"""compose-restart: a restart policy for long-running services."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import each_service, lookup, split_image, words
from fixer.yamldoc import get

# Services that run once and exit: a restart policy would loop them.
_ONE_SHOT_NAME = re.compile(r"(^|[-_])(migrat\w*|init|setup|seed\w*|bootstrap|createbuckets|tests?|"
                            r"upgrade|install\w*|build\w*|collectstatic|certbot|backup|scan\w*)($|[-_])", re.I)
_ONE_SHOT_CMD = re.compile(r"\b(migrate|db:migrate|db:setup|upgrade head|collectstatic|createbuckets|"
                           r"pytest|npm (ci|install|run build|test)|yarn (install|build|test))\b", re.I)
# command-line tools that run to completion (an image or the command's first word);
# `server`/`serve`/`daemon` as their first argument makes them long-running
CLI_TOOLS = {"trivy", "grype", "syft", "snyk", "semgrep", "bandit", "checkov", "tfsec", "kube-bench",
             "nuclei", "gitleaks", "trufflehog", "hadolint", "dependency-check", "zap-baseline.py",
             "curl", "wget", "aws-cli", "awscli", "aws", "mc", "kubectl", "helm", "terraform", "flyway",
             "liquibase", "migrate", "certbot", "git", "sqlmap", "k6", "locust", "newman", "ansible-playbook"}
_SERVING = {"server", "serve", "daemon", "agent", "watch", "--watch", "-w"}
# profiles of services started only on demand
_ON_DEMAND = {"tools", "tool", "cli", "jobs", "job", "setup", "init", "migrate", "migration", "manual",
              "scripts", "test", "tests", "scan", "scanner", "ops", "debug", "maintenance"}


def _waited_on(ctx, doc) -> set[str]:
    """Services others wait on with `condition: service_completed_successfully`, in any
    file set the file is run in."""
    out = set()
    for fs in ctx.model.sets_of(doc.path):
        for s in ctx.model.services(fs).values():
            dep = s.data.get("depends_on")
            for k, v in (dep.items() if isinstance(dep, dict) else []):
                if isinstance(v, dict) and v.get("condition") == "service_completed_successfully":
                    out.add(k)
    return out



def one_shot(ctx, doc, name: str, waited: set[str]) -> str:
    """Why a service runs once and exits ("" when it looks long-running)."""
    if name == "sut":
        return "`sut` is the test runner of an automated test file; its exit code is the result"
    if name in waited:
        return "others wait for it to complete (service_completed_successfully)"
    if _ONE_SHOT_NAME.search(name):
        return "its name says it is a job"
    for s in ctx.model.service(doc.path, name):
        prof = {str(p).lower() for p in s.data.get("profiles") or []}
        if prof & _ON_DEMAND:
            return f"it is started on demand (profiles: {', '.join(sorted(prof & _ON_DEMAND))})"
        cmd = words(s.data.get("entrypoint")) + words(s.data.get("command"))
        if _ONE_SHOT_CMD.search(" ".join(cmd)):
            return "its command runs a one-off task"
        image = str(s.data.get("image") or "")
        tool = split_image(image)[0].rsplit("/", 1)[-1] if image else ""
        first = cmd[0].rsplit("/", 1)[-1] if cmd else ""
        args = cmd[1:] if first in CLI_TOOLS else cmd
        for t in (tool, first):
            if t in CLI_TOOLS and not (set(args[:1]) & _SERVING):
                return f"it runs the command-line tool {t} to completion"
    return ""


class ComposeRestart(Codemod):
    id = "compose-restart"
    title = "Restart long-running compose services"
    kinds = ("compose",)
    uses_model = True
    severity = "low"
    safety = "evidenced"
    checks = ("fixer:compose-restart",)
    order = 280
    scope = "file"
    rationale = (
        "Without a restart policy a service that crashes, or every service after a host "
        "reboot, stays down until someone notices. `restart: unless-stopped` brings it back "
        "but respects a manual `docker compose stop`. One-shot services (migrations, init "
        "jobs, tests, anything others wait on with service_completed_successfully) and "
        "services with a swarm `deploy.restart_policy` are left alone.")
    examples = [
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n",
                "services:\n  web:\n    image: nginx\n    restart: unless-stopped\n"),
        Example("compose.yaml",
                "services:\n  migrate:\n    build: .\n    command: python manage.py migrate\n", skip="looks like a one-shot job"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    restart: \"no\"\n"),
    ]

    def fix(self, doc, ctx):
        waited = _waited_on(ctx, doc)
        for t in each_service(doc, ctx, adds=("restart",), later=("restart", "deploy.restart_policy")):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            if lookup(doc, svc, "restart", ctx) is not None:
                continue
            deploy = lookup(doc, svc, "deploy", ctx)
            if get(deploy, "restart_policy") is not None:
                continue
            why = one_shot(ctx, doc, name, waited)
            if why:
                yield Skip(doc.path, line, f"service {name} looks like a one-shot job ({why}): no restart policy")
                continue
            yield Finding(doc.path, line, f"service {name} has no restart policy",
                          [doc.add_entry(svc, "restart", "unless-stopped")], check=self.checks[0])
