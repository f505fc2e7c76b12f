"""compose-healthcheck: health checks for well-known images; dependents wait until healthy."""
from __future__ import annotations

import re

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer import imagedb
from fixer.compose import (UNKNOWN, each_service, env_pairs, expand, has_build, image_of, lookup, major,
                           services)
from fixer.yamldoc import Flow, Raw, get, get_pair, has_own, render_flow, render_scalar, render_value_lines, scalar
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from ._image_facts import service_image

# A password or a mounted config file (which may set one) makes an unauthenticated ping fail.
_PASSWORD = re.compile(r"requirepass|REDIS_PASSWORD|VALKEY_PASSWORD|REDIS_ARGS|\.conf\b", re.I)
TIMING = {"interval": "10s", "timeout": "5s", "retries": 5, "start_period": "30s"}


def _healthy(doc, svc, ctx) -> bool | None:
    """True when a service has a working health check, None when unknown."""
    hc = lookup(doc, svc, "healthcheck", ctx)
    if hc is UNKNOWN:
        return None
    if not isinstance(hc, MappingNode):
        return False
    if (scalar(get(hc, "disable")) or "").lower() == "true":
        return False
    test = get(hc, "test")
    first = scalar(test.value[0]) if isinstance(test, SequenceNode) and test.value else scalar(test)
    return first not in (None, "NONE")


class ComposeHealthcheck(Codemod):
    id = "compose-healthcheck"
    title = "Add health checks to well-known services and wait for them"
    kinds = ("compose", "dockerfile")   # Dockerfiles are read to follow wrappers
    uses_model = True
    targets = ("compose",)
    severity = "low"
    safety = "evidenced"
    checks = ("cis-docker:5.26",)
    order = 250
    scope = "file"
    rationale = (
        "Without a health check `depends_on` only waits for a container to start, not for the "
        "database in it to accept connections, so dependents crash-loop on first start. fixer "
        "adds the health command the image knowledge base (fixer/data/images) names for the "
        "image: postgres (pg_isready), redis (redis-cli ping), mysql/mariadb, mongo, "
        "rabbitmq, minio (mc ready local), temporal (temporal operator cluster health), opa, "
        "and upgrades `depends_on` on such a service to `condition: service_healthy`.")
    examples = [
        Example("compose.yaml",
                "services:\n  app:\n    build: .\n    depends_on:\n      - cache\n"
                "  cache:\n    image: redis:7\n",
                "services:\n  app:\n    build: .\n    depends_on:\n      cache:\n        condition: service_healthy\n"
                "  cache:\n    image: redis:7\n    healthcheck:\n"
                "      test: [CMD, redis-cli, ping]\n      interval: 10s\n      timeout: 5s\n"
                "      retries: 5\n      start_period: 30s\n"),
        Example("compose.yaml",
                "services:\n  cache:\n    image: redis:7\n    healthcheck:\n      disable: true\n"),
        Example("compose.yaml", "services:\n  cache:\n    image: redis:7\n    command: redis-server --requirepass s3cret\n",
                skip="may require a password"),
    ]

    def fix(self, doc, ctx):
        healthy: dict[str, bool | None] = {}
        svcs = list(services(doc))
        for t in each_service(doc, ctx, adds=("healthcheck",)):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            state = _healthy(doc, svc, ctx)
            healthy[name] = state
            if state is not False or lookup(doc, svc, "healthcheck", ctx) is not None:
                continue   # has one, disabled one on purpose, or cannot tell
            image = image_of(doc, svc, ctx)
            if has_build(doc, svc, ctx):
                built = service_image(doc, svc, ctx)     # a wrapper (FROM postgres:16) is its base
                facts = built.base if built is not None and built.wrapper else None
                image = built.base_ref if facts else None
            else:
                facts = imagedb.lookup(expand(image)) if image else None
            if facts is None or not facts.health:
                continue
            fam = facts.name
            env = {k if isinstance(k, str) else scalar(k) for k, *_ in env_pairs(lookup(doc, svc, "environment", ctx))}
            if facts.health_unless.startswith("env:") and facts.health_unless[4:] in env:
                yield Skip(doc.path, line, f"service {name} sets {facts.health_unless[4:]}: the {fam} "
                           "health command does not fit one role of a split deployment")
                continue
            if facts.health_requires_env and facts.health_requires_env not in env:
                yield Skip(doc.path, line, f"service {name}: the {fam} health command needs "
                           f"{facts.health_requires_env} set on the service")
                continue
            if facts.health_unless == "password" and _PASSWORD.search(doc.span(svc)):
                yield Skip(doc.path, line, f"service {name}: {fam} may require a password; "
                           "a ping health check would fail")
                continue
            m = major(image)
            if m is not None and m < facts.health_min_major:
                yield Skip(doc.path, line, f"service {name}: {fam} {m} lacks the health check command")
                continue
            test = Flow([Raw(render_scalar(t)) for t in facts.health])
            yield Finding(doc.path, line, f"service {name} ({fam}) has no health check",
                          [doc.add_entry(svc, "healthcheck", {"test": test, **TIMING, **(
                              {"start_period": facts.health_start_period} if facts.health_start_period else {})})],
                          check="cis-docker:5.26")
            # a suppressed service gets no health check: nothing may wait for one
            healthy[name] = not suppress.why(doc, line, self.id)
        stack = ctx.model.stack(doc.path)
        for name, key, svc in svcs:
            if svc is not None and name in healthy:
                if stack and get(svc, "depends_on") is not None:
                    yield Skip(doc.path, key.start_mark.line + 1, f"service {name}: a Swarm stack ({stack}); "
                               "docker stack deploy ignores depends_on conditions")
                    continue
                yield from self._depends(doc, name, svc, healthy)

    def _depends(self, doc, name, svc, healthy):
        dep = get(svc, "depends_on")
        if dep is None:
            return
        line = dep.start_mark.line + 1
        if not has_own(svc, "depends_on"):
            if any(healthy.get(n) for n in _names(dep)):
                yield Skip(doc.path, line, f"service {name} inherits depends_on: not changed")
            return
        if isinstance(dep, SequenceNode):
            targets = [n for n in _names(dep) if healthy.get(n)]
            if not targets or "#" in doc.text[doc.line_start(doc.line_of(dep.start_mark.index)):
                                             doc.line_end(doc.last_line(dep))]:
                return
            conds = {n: {"condition": "service_healthy" if healthy.get(n) else "service_started"}
                     for n in _names(dep)}
            edit = _as_mapping(doc, svc, dep, conds)
            yield Finding(doc.path, line, f"service {name} starts before {', '.join(targets)} is healthy",
                          [edit], check="cis-docker:5.26")
        elif isinstance(dep, MappingNode):
            for k, v in dep.value:
                n = getattr(k, "value", None)
                if not healthy.get(n):
                    continue
                if isinstance(v, MappingNode) and get(v, "condition") is None:
                    yield Finding(doc.path, k.start_mark.line + 1,
                                  f"service {name} starts before {n} is healthy",
                                  [doc.add_entry(v, "condition", "service_healthy")], check="cis-docker:5.26")


def _names(dep) -> list[str]:
    if isinstance(dep, SequenceNode):
        return [i.value for i in dep.value if isinstance(i, ScalarNode)]
    return [k.value for k, _ in dep.value if isinstance(k, ScalarNode)]


def _as_mapping(doc, svc, dep, conds):
    """Replace a depends_on list with the long form, in block style when the list is a block."""
    if dep.flow_style:
        return doc.replace_node(dep, render_flow(conds))
    key = get_pair(svc, "depends_on", merged=False)[0]
    first = doc.line_of(dep.value[0].start_mark.index)
    col = max(dep.start_mark.column, key.start_mark.column + doc.indent_step())
    if first == key.start_mark.line:
        return doc.replace_node(dep, render_flow(conds))
    lines = render_value_lines(conds, col, doc.indent_step(), 2)
    start, end = doc.line_start(first), doc.line_end(doc.last_line(dep))
    text = doc.newline.join(lines) + doc.newline
    if end == len(doc.text) and not doc.text.endswith("\n"):
        text = text[: -len(doc.newline)]
    return doc.replace(start, end, text)
