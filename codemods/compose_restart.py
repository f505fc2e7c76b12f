"""compose-restart: a restart policy for long-running services."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import lookup, service_skip, services
from fixer.yamldoc import get, scalar, walk
from yaml.nodes import MappingNode, ScalarNode

# Services that run once and exit: a restart policy would loop them.
_ONE_SHOT_NAME = re.compile(r"(^|[-_])(migrat\w*|init|setup|seed\w*|bootstrap|createbuckets|tests?|"
                            r"upgrade|install\w*|build\w*|collectstatic|certbot|backup)($|[-_])", re.I)
_ONE_SHOT_CMD = re.compile(r"\b(migrate|db:migrate|db:setup|upgrade head|collectstatic|createbuckets|"
                           r"pytest|npm (ci|install|run build|test)|yarn (install|build|test))\b", re.I)


def _one_shot_names(doc) -> set[str]:
    """Services others wait on with `condition: service_completed_successfully`."""
    out = set()
    for _, _, svc in services(doc):
        dep = get(svc, "depends_on") if svc is not None else None
        if isinstance(dep, MappingNode):
            for k, v in dep.value:
                if scalar(get(v, "condition")) == "service_completed_successfully":
                    out.add(k.value)
    return out


class ComposeRestart(Codemod):
    id = "compose-restart"
    title = "Restart long-running compose services"
    kinds = ("compose",)
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
        once = _one_shot_names(doc)
        for name, key, svc in services(doc):
            line = key.start_mark.line + 1
            why = service_skip(doc, name, svc, ctx)
            if why:
                yield Skip(doc.path, line, why)
                continue
            if lookup(doc, svc, "restart", ctx) is not None:
                continue
            deploy = lookup(doc, svc, "deploy", ctx)
            if get(deploy, "restart_policy") is not None:
                continue
            cmd = " ".join(n.value for key_ in ("command", "entrypoint")
                           for n in walk(get(svc, key_) or ScalarNode("tag:yaml.org,2002:str", ""))
                           if isinstance(n, ScalarNode))
            if name in once or _ONE_SHOT_NAME.search(name) or _ONE_SHOT_CMD.search(cmd):
                yield Skip(doc.path, line, f"service {name} looks like a one-shot job: no restart policy")
                continue
            yield Finding(doc.path, line, f"service {name} has no restart policy",
                          [doc.add_entry(svc, "restart", "unless-stopped")], check=self.checks[0])
