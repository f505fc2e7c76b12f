"""compose-networks: split the default network into frontend and an internal backend."""
from __future__ import annotations

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import UNKNOWN, is_datastore, lookup, overlay, service_skip, services, top
from fixer.yamldoc import Flow
from yaml.nodes import MappingNode

_KEYS = ("networks", "network_mode", "external_links")


class ComposeNetworks(Codemod):
    id = "compose-networks"
    title = "Put datastores on an internal network"
    kinds = ("compose",)
    uses_model = True
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
        "they talk to a datastore (depends_on, links, hosts in their environment, env_file, "
        "command or mounted nginx/Caddy/Prometheus/Grafana config), run their own code "
        "(build:) or read settings fixer cannot see. Every pair the project's file sets show "
        "talking stays reachable: a service an overlay's service talks to keeps `default`. "
        "Files that already design their networks are left alone.")
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
        model = ctx.model
        base = model.overlay_of(doc.path)
        if overlay(doc, ctx) or base:
            yield Skip(doc.path, first, f"overlay file{f' (merged onto {base})' if base else ''}: "
                       "networks belong in the base file")
            return
        if top(doc, "networks") is not None:
            yield Skip(doc.path, first, "the file declares its own networks: an existing design is left as it is")
            return
        dev = [model.dev_container(doc.path, name) for name, _, _ in svcs]
        if any(dev):
            yield Skip(doc.path, first, f"a development environment ({next(d for d in dev if d)} runs "
                       "this file): networks left as they are")
            return
        if root.flow_style or top(doc, "services").flow_style:
            yield Skip(doc.path, first, "flow-style services: networks not added")
            return
        stores = set()
        ignored = {name: suppress.why(doc, key.start_mark.line + 1, self.id) for name, key, _ in svcs}
        for name, key, svc in svcs:
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
        if not stores or len(svcs) < 2:
            return
        # the file's services in every file set it is run with; services of overlays keep
        # the networks the overlay gives them (none: default)
        sets = model.sets_of(doc.path)
        views = [model.services(fs) for fs in sets]
        mine = {name for name, _, _ in svcs if not ignored[name]}
        for fs, view in zip(sets, views):
            for other in fs.files[fs.files.index(doc.path) + 1:]:
                for name, s in view.items():
                    if other in s.files and name in mine and any(
                            k in (model.files[other]["services"][name] or {}) for k in _KEYS):
                        yield Skip(doc.path, first, f"{other} sets networks for service {name}; "
                                   "networks not added")
                        return
        nets: dict[str, list[str]] = {}
        for name, key, svc in svcs:
            if name not in mine:
                continue
            if name in stores:
                ports = lookup(doc, svc, "ports", ctx)
                nets[name] = ["backend", "frontend"] if ports not in (None, UNKNOWN) else ["backend"]
            else:
                talks = any((s := v.get(name)) and (s.reaches & stores or s.hidden or s.code or "configs" in s.data)
                            for v in views)
                nets[name] = ["frontend", "backend"] if talks else ["frontend"]
        why_more: dict[str, str] = {}

        def on(view, name) -> list[str]:
            if name in nets:
                return nets[name]
            own = view[name].data.get("networks") if name in view else None
            return list(own) if isinstance(own, (list, dict)) and own else ["default"]

        def join(name, net, why):
            if net not in nets[name]:
                nets[name].append(net)
                why_more.setdefault(name, why)

        for fs, view in zip(sets, views):
            for a, s in view.items():
                pairs = [(a, b, s.evidence.get(b, "")) for b in s.reaches if b in view]
                if a not in nets and (s.hidden or s.code):
                    pairs += [(a, b, s.hidden or s.code) for b in nets if s.hidden or b in stores]
                for x, y, ev in pairs:
                    if set(on(view, x)) & set(on(view, y)):
                        continue
                    where = "" if fs.seen == "the file alone" else f" (run as {' + '.join(fs.files)}, {fs.seen})"
                    why = f"{x} reaches {y} ({ev}){where}"
                    if x in nets and y in nets:
                        join(x if x in stores else y, on(view, y if x in stores else x)[0], why)
                    elif x in nets:
                        join(x, on(view, y)[0], why)
                    elif y in nets:
                        join(y, on(view, x)[0], why)
        isolated = sorted(n for n in stores if n in nets and nets[n] == ["backend"])
        if not isolated:
            detail = "; ".join(f"{n}: {'+'.join(nets[n])}" + (f" because {why_more[n]}" if n in why_more else
                                                           " (publishes ports)" if "frontend" in nets[n] else "")
                               for n in sorted(stores) if n in nets)
            yield Skip(doc.path, first, f"no datastore could be isolated on an internal network ({detail}); "
                       "networks not added")
            return
        edits, parts, first_edited = [], [], 0
        for name, key, svc in svcs:
            if name not in nets:
                continue
            if not first_edited:
                first_edited = key.start_mark.line + 1
            edits.append(doc.add_entry(svc, "networks", Flow(nets[name])))
            parts.append(f"{name}: {'+'.join(nets[name])}")
        edits.append(doc.add_entry(root, "networks", {"frontend": {}, "backend": {"internal": True}}))
        msg = (f"all services share the default network; {', '.join(isolated)} now "
               f"{'sits' if len(isolated) == 1 else 'sit'} only on the internal backend network")
        exposed = sorted(set(stores) & set(nets) - set(isolated))
        if exposed:
            msg += f" ({', '.join(exposed)} also on {'/'.join(sorted({x for n in exposed for x in nets[n]} - {'backend'}))})"
        if why_more:
            msg += "; kept reachable: " + "; ".join(why_more[n] for n in sorted(why_more))
        yield Finding(doc.path, first_edited, f"{msg} ({'; '.join(parts)})", edits, check="cis-docker:5.29")
