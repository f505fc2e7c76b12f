"""compose-privileged: privileged mode, host PID namespace, Docker socket and host /proc, /sys mounts."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import (append_all, env_pairs, image_of, is_true, lookup, overlay, remove_item,
                           root_user, seq_values, service_skip, services, split_image, top,
                           volume_mounts)
from fixer.text import Edit
from fixer.yamldoc import Flow, get, get_pair, has_own, render_entry, scalar
from yaml.nodes import MappingNode, SequenceNode

# Images that are run privileged but need only these capabilities (and why).
PRIVILEGED_CAPS = {
    "wireguard": {"NET_ADMIN": "creates the wg interface and routes", "SYS_MODULE": "loads the wireguard module"},
    "wg-easy": {"NET_ADMIN": "creates the wg interface and routes", "SYS_MODULE": "loads the wireguard module"},
    "pihole": {"NET_ADMIN": "answers DHCP (raw sockets, routes)"},
}

SOCKET = ("/var/run/docker.sock", "/run/docker.sock")
PROXY = "docker-socket-proxy"
PROXY_IMAGE = "ghcr.io/tecnativa/docker-socket-proxy:0.4.1"
PROXY_HOST = f"tcp://{PROXY}:2375"
# Socket consumers that only read the API and honour DOCKER_HOST, with the API sections they need.
SOCKET_READERS = {
    "dozzle": ("CONTAINERS", "INFO"),
    "logspout": ("CONTAINERS",),
    "nginx-proxy": ("CONTAINERS",),
}


def _base(image: str | None) -> str:
    return split_image(image)[0].rsplit("/", 1)[-1] if image else ""


class ComposePrivileged(Codemod):
    id = "compose-privileged"
    title = "Remove privileged mode and the Docker socket from compose services"
    kinds = ("compose",)
    uses_model = True
    severity = "high"
    safety = "evidenced"
    checks = ("cis-docker:5.4", "cis-docker:5.15", "cis-docker:5.31", "cis-docker:5.5")
    order = 205
    scope = "file"
    rationale = (
        "`privileged: true` gives a container every capability and every host device; "
        "`pid: host` shows it every host process; a mounted /var/run/docker.sock is root on "
        "the host. Known images get the capabilities they really need instead of privileged "
        "mode; read-only Docker API consumers get a socket proxy (a pinned proxy image on an "
        "internal network that refuses writes) through DOCKER_HOST. Everything else is "
        "reported with the risk.")
    examples = [
        Example("compose.yaml",
                "services:\n  vpn:\n    image: linuxserver/wireguard:1.0\n    privileged: true\n",
                "services:\n  vpn:\n    image: linuxserver/wireguard:1.0\n    cap_add: [NET_ADMIN, SYS_MODULE]\n"),
        Example("compose.yaml",
                "services:\n  logs:\n    image: amir20/dozzle:v8\n    volumes:\n"
                "      - /var/run/docker.sock:/var/run/docker.sock:ro\n",
                "services:\n  logs:\n    image: amir20/dozzle:v8\n"
                "    environment:\n      DOCKER_HOST: tcp://docker-socket-proxy:2375\n"
                "    networks: [default, docker-socket-proxy]\n"
                "  docker-socket-proxy:\n    image: ghcr.io/tecnativa/docker-socket-proxy:0.4.1\n"
                "    environment:\n      CONTAINERS: \"1\"\n      INFO: \"1\"\n"
                "    volumes: [/var/run/docker.sock:/var/run/docker.sock:ro]\n"
                "    networks: [docker-socket-proxy]\n    restart: unless-stopped\n"
                "networks:\n  docker-socket-proxy:\n    internal: true\n"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    privileged: false\n"),
        Example("compose.yaml", "x-base: &base\n  cap_add: [NET_ADMIN]\nservices:\n  vpn:\n    <<: *base\n"
                "    image: linuxserver/wireguard:1.0\n    privileged: true\n", skip="cap_add cannot be extended"),
    ]

    def fix(self, doc, ctx):
        readers = []
        for name, key, svc in services(doc):
            line = key.start_mark.line + 1
            if svc is None:
                continue
            yield from self._privileged(doc, ctx, name, svc, line)
            pid = lookup(doc, svc, "pid", ctx)
            if scalar(pid) == "host":
                yield Finding(doc.path, line, f"service {name} shares the host PID namespace (pid: host): "
                              "it sees and can signal every host process; remove it unless the "
                              "service monitors the host", check="cis-docker:5.15")
            vols = lookup(doc, svc, "volumes", ctx)
            for item, src, target, ro in volume_mounts(vols if isinstance(vols, SequenceNode) else None):
                iline = item.start_mark.line + 1
                if src in SOCKET:
                    r = self._socket(doc, ctx, name, svc, vols, item, line)
                    if isinstance(r, tuple):
                        readers.append(r)
                    else:
                        yield r
                elif src.rstrip("/") in ("/proc", "/sys") or (src == "/" and target):
                    risk = ("shows host processes, their command lines and environment"
                            if src.startswith("/proc") else "shows host hardware and kernel settings")
                    if src == "/":
                        risk = "exposes the whole host filesystem"
                    yield Finding(doc.path, iline,
                                  f"service {name} mounts host {src} {'read-only' if ro else 'read-write'}: "
                                  f"{risk}; keep it only for host monitoring agents", check="cis-docker:5.5")
        if readers:
            yield from self._proxy(doc, ctx, readers)

    def _privileged(self, doc, ctx, name, svc, line):
        priv = lookup(doc, svc, "privileged", ctx)
        if not is_true(priv):
            return
        base = _base(image_of(doc, svc, ctx))
        caps = PRIVILEGED_CAPS.get(base)
        stack, root = ctx.model.stack(doc.path), root_user(doc, svc, ctx)
        if caps is not None and (stack or root):
            yield Skip(doc.path, line, f"service {name}: " + (
                f"a Swarm stack ({stack}); docker stack deploy ignores privileged, so capabilities "
                "in its place would change what runs" if stack else
                f"runs as root on purpose (user: {root}); privileged mode left for a human to narrow"))
            caps = None
        if caps is None or not has_own(svc, "privileged") or svc.flow_style:
            yield Finding(doc.path, line, f"service {name} runs privileged (every capability and host "
                          "device); replace it with the capabilities it needs", check="cis-docker:5.4")
            return
        cap_add = get(svc, "cap_add")
        if cap_add is not None and not (has_own(svc, "cap_add") and isinstance(cap_add, SequenceNode)):
            yield Skip(doc.path, line, f"service {name}: cap_add cannot be extended")
            return
        missing = [c for c in caps if c not in [v.upper() for v in seq_values(cap_add)]]
        k, v = get_pair(svc, "privileged", merged=False)
        col = k.start_mark.column
        first = doc.line_of(k.start_mark.index)
        start, end = doc.line_start(first), doc.line_end(doc.last_line(v))
        edits = []
        if cap_add is None:
            new = render_entry("cap_add", Flow(missing), col, doc.indent_step(), 2)[0] + doc.newline
            if end == len(doc.text) and not doc.text.endswith("\n"):
                new = new[: -len(doc.newline)]
            edits.append(Edit(doc.path, start, end, new))
        else:
            edits.append(Edit(doc.path, start, end, ""))
            if missing:
                edits.append(append_all(doc, cap_add, missing))
        why = "; ".join(f"{c}: {r}" for c, r in caps.items())
        yield Finding(doc.path, line, f"service {name} runs privileged; {base} needs only {', '.join(caps)} ({why})",
                      edits, check="cis-docker:5.4")

    def _socket(self, doc, ctx, name, svc, vols, item, line):
        iline = item.start_mark.line + 1
        report = Finding(doc.path, iline, f"service {name} mounts the Docker socket: root on the host. "
                         "Give it a socket proxy that allows only the API calls it needs",
                         check="cis-docker:5.31")
        base = _base(image_of(doc, svc, ctx))
        if base not in SOCKET_READERS:
            return report
        if (overlay(doc, ctx) or not has_own(svc, "volumes") or svc.flow_style or vols.flow_style
                or get(svc, "network_mode") is not None or get(svc, "extends") is not None):
            return Skip(doc.path, iline, f"service {name}: socket mount left alone (overlay, inherited "
                        "or flow-style keys)")
        env = get(svc, "environment")
        if env is not None and not has_own(svc, "environment"):
            return Skip(doc.path, iline, f"service {name} inherits environment: socket mount left alone")
        if any(k == "DOCKER_HOST" for k, *_ in env_pairs(env)):
            return Skip(doc.path, iline, f"service {name} sets DOCKER_HOST already")
        nets = get(svc, "networks")
        if nets is not None and (not has_own(svc, "networks") or getattr(nets, "flow_style", False) and
                                 isinstance(nets, MappingNode)):
            return Skip(doc.path, iline, f"service {name}: networks cannot be extended")
        edits = [remove_item(doc, svc, "volumes", vols, item)]
        if edits[0] is None:
            return Skip(doc.path, iline, f"service {name}: the socket mount shares its line with other content")
        if env is None:
            edits.append(doc.add_entry(svc, "environment", {"DOCKER_HOST": PROXY_HOST}))
        elif isinstance(env, MappingNode):
            edits.append(doc.add_entry(env, "DOCKER_HOST", PROXY_HOST))
        else:
            edits.append(doc.append_item(env, f"DOCKER_HOST={PROXY_HOST}"))
        if nets is None:
            edits.append(doc.add_entry(svc, "networks", Flow(["default", PROXY])))
        elif isinstance(nets, MappingNode):
            edits.append(doc.add_entry(nets, PROXY, {}))
        else:
            edits.append(doc.append_item(nets, PROXY))
        return (name, iline, edits, SOCKET_READERS[base])

    def _proxy(self, doc, ctx, readers):
        svcs = top(doc, "services")
        names = {n for n, _, _ in services(doc)}
        root = doc.docs[0]
        topnets = top(doc, "networks")
        if PROXY in names or svcs.flow_style or root.flow_style or (
                topnets is not None and (not isinstance(topnets, MappingNode) or topnets.flow_style
                                         or get(topnets, PROXY) is not None)):
            for name, iline, _, _ in readers:
                yield Skip(doc.path, iline, f"service {name}: cannot add the {PROXY} service here")
            return
        sections = sorted({s for *_, secs in readers for s in secs})
        proxy = {
            "image": PROXY_IMAGE,
            "environment": {s: "1" for s in sections},
            "volumes": Flow(["/var/run/docker.sock:/var/run/docker.sock:ro"]),
            "networks": Flow([PROXY]),
            "restart": "unless-stopped",
        }
        common = [doc.add_entry(svcs, PROXY, proxy)]
        if topnets is None:
            common.append(doc.add_entry(root, "networks", {PROXY: {"internal": True}}))
        else:
            common.append(doc.add_entry(topnets, PROXY, {"internal": True}))
        edits = [e for _, _, es, _ in readers for e in es] + common
        who = ", ".join(n for n, *_ in readers)
        yield Finding(doc.path, readers[0][1],
                      f"service(s) {who} mounted the Docker socket; they now reach a read-only API "
                      f"proxy ({PROXY}, sections {', '.join(sections)}) on an internal network",
                      edits, check="cis-docker:5.31")
