"""compose-resource-limits: memory and CPU limits for services that have none."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.compose import UNKNOWN, lookup, service_family, service_skip, services
from fixer.yamldoc import get, has_own
from yaml.nodes import MappingNode

DEFAULTS = {"memory": "512M", "cpus": "1.0"}
# Families whose documented minimum is above the default memory limit.
MEMORY = {"elasticsearch": "2G", "clickhouse": "2G", "kafka": "1G", "cassandra": "2G",
          "neo4j": "1G", "mssql": "2G", "mongo": "1G", "mysql": "1G", "mariadb": "1G",
          "postgres": "1G", "rabbitmq": "1G"}
# Any of these means the service already has limits in some form.
_LIMIT_KEYS = ("mem_limit", "memswap_limit", "mem_reservation", "cpus", "cpu_quota", "cpu_shares",
               "cpu_count", "cpu_percent", "cpuset", "cpu_period")


class ComposeResourceLimits(Codemod):
    id = "compose-resource-limits"
    title = "Set memory and CPU limits on compose services"
    kinds = ("compose",)
    severity = "low"
    safety = "unsafe"
    checks = ("cis-docker:5.10", "cis-docker:5.11")
    order = 260
    scope = "file"
    config = (
        Option("memory", {"type": ["string", "integer"], "pattern": r"^[0-9]+(\.[0-9]+)?\s*([bBkKmMgG][bB]?)?$",
                          "description": "a compose byte value such as 512M or 2G"},
               DEFAULTS["memory"], "memory limit (databases and JVM datastores get more)"),
        Option("cpus", {"type": ["string", "number"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "description": "a number of CPUs such as 0.5 or 2"},
               DEFAULTS["cpus"], "CPU limit"),
    )
    rationale = (
        "Without limits one runaway container (a memory leak, a fork bomb, a crypto miner) "
        "starves every other service on the host. fixer adds `deploy.resources.limits` "
        "(memory 512M and 1 CPU by default, more memory for databases and JVM datastores) "
        "unless the service limits itself in any form. Set `memory` and `cpus` under "
        "[tool.fixer.codemod.compose-resource-limits] to change the defaults.")
    examples = [
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n",
                "services:\n  app:\n    image: example/app\n    deploy:\n      resources:\n"
                "        limits:\n          memory: 512M\n          cpus: \"1.0\"\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n    mem_limit: 1g\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n",
                "services:\n  app:\n    image: example/app\n    deploy:\n      resources:\n"
                "        limits:\n          memory: 256M\n          cpus: \"0.5\"\n",
                options={"memory": "256M", "cpus": "0.5"}),
        Example("compose.yaml", "services:\n  base:\n    image: example/app\n    mem_limit: 1g\n  app:\n    extends: base\n",
                skip="extends another service"),
    ]

    def fix(self, doc, ctx):
        opts = self.options(ctx)
        for name, key, svc in services(doc):
            line = key.start_mark.line + 1
            why = service_skip(doc, name, svc, ctx)
            if why:
                yield Skip(doc.path, line, why)
                continue
            found = [k for k in _LIMIT_KEYS if lookup(doc, svc, k, ctx) is not None]
            if found:
                continue
            deploy = lookup(doc, svc, "deploy", ctx)
            if deploy is UNKNOWN:
                yield Skip(doc.path, line, f"service {name} extends a service fixer cannot read")
                continue
            if deploy is not None and get(deploy, "resources") is not None:
                continue
            fam = service_family(doc, svc, ctx)
            memory = str(opts.get("memory") or MEMORY.get(fam) or DEFAULTS["memory"])
            cpus = str(opts.get("cpus") or DEFAULTS["cpus"])
            limits = {"resources": {"limits": {"memory": memory, "cpus": cpus}}}
            if deploy is None:
                edit = doc.add_entry(svc, "deploy", limits)
            elif isinstance(deploy, MappingNode) and has_own(svc, "deploy") and deploy.value:
                edit = doc.add_entry(deploy, "resources", limits["resources"])
            else:
                yield Skip(doc.path, line, f"service {name}: deploy is inherited or empty; limits not added")
                continue
            yield Finding(doc.path, line, f"service {name} has no memory or CPU limit "
                          f"(now memory {memory}, cpus {cpus})", [edit], check="cis-docker:5.10")
