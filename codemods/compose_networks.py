"""compose-networks: split the default network into frontend and an internal backend."""
from __future__ import annotations

import re

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import (UNKNOWN, is_datastore, lookup, overlay, service_skip, services, top,
                           volume_mounts)
from fixer.yamldoc import Flow, get, scalar, walk
from yaml.nodes import MappingNode, ScalarNode

_KEYS = ("networks", "network_mode", "external_links")


def _talks_to(doc, svc, names: dict[str, str]) -> set[str]:
    """Datastores a service names in depends_on, links or its own values (URLs, hosts).

    `names` maps each name a datastore answers to (service, container_name, hostname) to the service.
    """
    found = set()
    dep = get(svc, "depends_on")
    if isinstance(dep, MappingNode):
        found |= {k.value for k, _ in dep.value if isinstance(k, ScalarNode)}
    elif dep is not None:
        found |= {getattr(i, "value", "") for i in dep.value}
    for link in getattr(get(svc, "links"), "value", []) or []:
        found.add((getattr(link, "value", "") or "").split(":")[0])
    words = set()
    for node in walk(svc):
        if isinstance(node, ScalarNode):
            words |= set(re.split(r"[^A-Za-z0-9_.-]+", node.value))
    return {names[n] for n in (found | words) if n in names}


def _hidden_config(doc, svc, ctx) -> bool:
    """Settings fixer cannot read (env_file, mounted config files, configs) may name a datastore."""
    if lookup(doc, svc, "env_file", ctx) is not None or lookup(doc, svc, "configs", ctx) is not None:
        return True
    vols = lookup(doc, svc, "volumes", ctx)
    return any(src.startswith((".", "/", "~", "$")) and src not in ("/var/run/docker.sock",)
               for _, src, _, _ in volume_mounts(vols if vols is not UNKNOWN else None))


class ComposeNetworks(Codemod):
    id = "compose-networks"
    title = "Put datastores on an internal network"
    kinds = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("cis-docker:5.29",)
    order = 200
    scope = "file"
    rationale = (
        "On the default network every container reaches every other one, and datastores can "
        "reach the internet. fixer adds a `frontend` network and an `internal: true` `backend` "
        "network: datastores (postgres, mysql, redis, mongo, ... by image) join backend only; "
        "other services join frontend (their route out and to each other) plus backend when "
        "they talk to a datastore (depends_on, links, host names in their values) or read "
        "settings fixer cannot see (env_file, mounted config files). Files that already design their networks are left alone.")
    examples = [
        Example("compose.yaml",
                "services:\n  web:\n    build: .\n    ports: [\"8000:8000\"]\n"
                "    environment:\n      DATABASE_URL: postgres://db/app\n"
                "  db:\n    image: postgres:16\n",
                "services:\n  web:\n    build: .\n    ports: [\"8000:8000\"]\n"
                "    environment:\n      DATABASE_URL: postgres://db/app\n"
                "    networks: [frontend, backend]\n"
                "  db:\n    image: postgres:16\n    networks: [backend]\n"
                "networks:\n  frontend: {}\n  backend:\n    internal: true\n"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    networks: [edge]\n  db:\n    image: postgres\n"
                "networks:\n  edge: {}\n", skip="an existing design is left as it is"),
    ]

    def fix(self, doc, ctx):
        svcs = list(services(doc))
        root = doc.docs[0] if doc.docs else None
        if not svcs or not isinstance(root, MappingNode):
            return
        first = svcs[0][1].start_mark.line + 1
        if overlay(doc, ctx):
            yield Skip(doc.path, first, "overlay file: networks belong in the base file")
            return
        if top(doc, "networks") is not None:
            yield Skip(doc.path, first, "the file declares its own networks: an existing design is left as it is")
            return
        if root.flow_style or top(doc, "services").flow_style:
            yield Skip(doc.path, first, "flow-style services: networks not added")
            return
        stores, aliases, everyone = set(), {}, {}
        ignored = {name: suppress.why(doc, key.start_mark.line + 1, self.id) for name, key, _ in svcs}
        for name, key, svc in svcs:
            everyone[name] = name
            if ignored[name]:
                yield Skip(doc.path, key.start_mark.line + 1,
                           f"service {name}: {ignored[name]}; it stays on the default network")
                continue
            why = service_skip(doc, name, svc, ctx)
            if why:
                yield Skip(doc.path, key.start_mark.line + 1, why + "; networks not added")
                return
            for k in _KEYS:
                if lookup(doc, svc, k, ctx) is not None:
                    yield Skip(doc.path, key.start_mark.line + 1,
                               f"service {name} sets {k}: an existing design is left as it is")
                    return
            if svc.flow_style:
                yield Skip(doc.path, key.start_mark.line + 1, f"service {name} is flow-style; networks not added")
                return
            if is_datastore(doc, svc, ctx):
                stores.add(name)
                aliases[name] = name
            for k in ("container_name", "hostname"):
                alias = scalar(lookup(doc, svc, k, ctx))
                if alias:
                    everyone[alias] = name
                    if name in stores:
                        aliases[alias] = name
        if not stores or len(svcs) < 2:
            return
        # a suppressed service stays on the default network: what it talks to, and what
        # talks to it, stays there too
        kept = {n for n in ignored if ignored[n]}
        on_default = set(kept)
        for name, key, svc in svcs:
            if name in kept:
                on_default |= _talks_to(doc, svc, everyone)
                if _hidden_config(doc, svc, ctx):
                    on_default |= set(everyone.values())
            elif kept & _talks_to(doc, svc, everyone):
                on_default.add(name)
        edits, parts, first_edited = [], [], 0
        for name, key, svc in svcs:
            if name in kept:
                continue
            if name in stores:
                ports = lookup(doc, svc, "ports", ctx)
                nets = ["backend", "frontend"] if ports not in (None, UNKNOWN) else ["backend"]
            else:
                talks = _talks_to(doc, svc, aliases) or _hidden_config(doc, svc, ctx)
                nets = ["frontend", "backend"] if talks else ["frontend"]
            if name in on_default:
                nets.append("default")
            if not first_edited:
                first_edited = key.start_mark.line + 1
            edits.append(doc.add_entry(svc, "networks", Flow(nets)))
            parts.append(f"{name}: {'+'.join(nets)}")
        if not parts:
            return
        edits.append(doc.add_entry(root, "networks", {"frontend": {}, "backend": {"internal": True}}))
        yield Finding(doc.path, first_edited,
                      f"all services share the default network; datastores {', '.join(sorted(stores))} "
                      f"now sit on an internal network ({'; '.join(parts)})",
                      edits, check="cis-docker:5.29")
