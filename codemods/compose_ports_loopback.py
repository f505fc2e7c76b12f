"""compose-ports-loopback: publish ports on 127.0.0.1 when a reverse proxy fronts the service."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import service_skip, services
from fixer.proxy import routes
from fixer.yamldoc import get, render_scalar, scalar

LOOPBACK = "127.0.0.1"
_ALL = ("0.0.0.0", "::", "[::]")
_VAR = re.compile(r"\$\{[^}]*\}")


def _parts(value: str) -> tuple[str | None, str]:
    """(host or None, rest) of a short-syntax port: '0.0.0.0:80:80' -> ('0.0.0.0', '80:80').
    Colons inside `${VAR:-default}` do not count."""
    if value.startswith("["):
        end = value.find("]:")
        return (value[:end + 1], value[end + 2:]) if end > 0 else (None, value)
    masked = _VAR.sub(lambda m: "_" * len(m.group(0)), value)
    if masked.count(":") == 2:
        cut = masked.index(":")
        return value[:cut], value[cut + 1:]
    return None, value


def _target(item) -> int | None:
    """The container port of a published port (None: a range or a variable)."""
    if isinstance(item, MappingNode):
        v = scalar(get(item, "target")) or ""
    else:
        v = _parts(item.value)[1].split("/")[0].rsplit(":", 1)[-1]
    return int(v) if v.isdigit() else None


class ComposePortsLoopback(Codemod):
    id = "compose-ports-loopback"
    title = "Publish proxied services' ports on 127.0.0.1 only"
    kinds = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("compose-lint:CL-0005", "cis-docker:5.13")
    order = 240
    scope = "file"
    confidence = "medium"   # from evidence outside the service: a proxy's configuration or labels
    rationale = (
        "A port published without an address listens on every interface of the host, and "
        "Docker's own firewall rules bypass ufw/firewalld, so the service is open to the "
        "network. When a reverse proxy in the same compose file already routes to the "
        "service (Traefik labels, nginx `proxy_pass`/`upstream`, Caddy `reverse_proxy`, "
        "HAProxy `server`, Envoy `address`), the proxy reaches it over the compose network "
        "and the published port is only needed on the host itself: it is bound to 127.0.0.1. "
        "Only the ports the proxy uses are changed when its configuration names them (a "
        "metrics or debug port beside them may be reached directly). Without that evidence "
        "the port may be how users reach the service, so it is left alone with the reason. "
        "The proxy's own ports are never changed.")
    guide = (
        "When another host needs the port (a monitoring agent, a second proxy), "
        "write the address explicitly (`0.0.0.0:8080:80`) and add `# fixer: ignore[compose-ports-loopback]` "
        "or an entry in `.fixer-ignore.toml`.")
    examples = [
        Example("compose.yaml",
                "services:\n  proxy:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n"
                "    volumes: [./nginx.conf:/etc/nginx/conf.d/default.conf:ro]\n"
                "  app:\n    image: ghcr.io/acme/app:1\n    ports:\n      - \"8080:8080\"\n"
                "      - target: 9090\n        published: 9090\n",
                "services:\n  proxy:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n"
                "    volumes: [./nginx.conf:/etc/nginx/conf.d/default.conf:ro]\n"
                "  app:\n    image: ghcr.io/acme/app:1\n    ports:\n      - \"127.0.0.1:8080:8080\"\n"
                "      - target: 9090\n        published: 9090\n        host_ip: 127.0.0.1\n",
                files={"nginx.conf": "server {\n  location / { proxy_pass http://app:8080; }\n"
                                     "  location /api/ { proxy_pass http://app:9090/; }\n}\n"}),
        Example("compose.yaml",
                "services:\n  traefik:\n    image: traefik:v3.1\n    ports: [\"443:443\"]\n"
                "  web:\n    image: ghcr.io/acme/web:1\n    ports: [\"0.0.0.0:3000:3000\", \"[::]:3001:3001\"]\n"
                "    labels:\n      - traefik.http.routers.web.rule=Host(`example.com`)\n",
                "services:\n  traefik:\n    image: traefik:v3.1\n    ports: [\"443:443\"]\n"
                "  web:\n    image: ghcr.io/acme/web:1\n    ports: [\"127.0.0.1:3000:3000\", \"127.0.0.1:3001:3001\"]\n"
                "    labels:\n      - traefik.http.routers.web.rule=Host(`example.com`)\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: ghcr.io/acme/app:1\n    ports: [\"8080:8080\"]\n",
                skip="no reverse proxy in this file routes to it"),
        Example("compose.yaml",
                "services:\n  app:\n    image: ghcr.io/acme/app:1\n    ports: [\"127.0.0.1:8080:8080\", \"9000\"]\n"),
    ]

    def wants(self, text):
        return "ports" in text

    def fix(self, doc, ctx):
        svcs = {name: svc for name, _, svc in services(doc) if svc is not None}
        found = None
        for name, key, svc in services(doc):
            line = key.start_mark.line + 1
            ports = get(svc, "ports") if svc is not None else None
            if not isinstance(ports, SequenceNode) or not ports.value:
                continue
            open_items = [i for i in ports.value if self._all_interfaces(i)]
            if not open_items:
                continue
            why = service_skip(doc, name, svc, ctx)
            if why:
                yield Skip(doc.path, line, why)
                continue
            if found is None:
                found = routes(doc, ctx, svcs)
            if name in found.proxies:
                yield Skip(doc.path, line, f"service {name} is the reverse proxy: its ports are how users reach it")
                continue
            if (scalar(get(svc, "network_mode")) or "") == "host":
                yield Skip(doc.path, line, f"service {name} uses the host network: ports are not published")
                continue
            evidence = found.fronted.get(name)
            if evidence is None:
                yield Skip(doc.path, line, f"service {name} publishes {self._label(doc, open_items)} on all "
                           "interfaces, but no reverse proxy in this file routes to it: binding to 127.0.0.1 "
                           "could cut off its users")
                continue
            other = [i for i in open_items if not found.port_used(name, _target(i))]
            if other:
                used = ", ".join(map(str, sorted(found.ports.get(name, ()))))
                yield Skip(doc.path, line, f"service {name}: port {self._label(doc, other)} is not the one the "
                           f"proxy uses ({used}): it may be reached directly")
                open_items = [i for i in open_items if i not in other]
                if not open_items:
                    continue
            edits, left = [], []
            for item in open_items:
                edit = self._edit(doc, item)
                (edits.append(edit) if edit else left.append(doc.span(item)))
            if left:
                yield Skip(doc.path, line, f"service {name}: port {', '.join(left)} has an address fixer "
                           "cannot rewrite (a variable or an unusual form)")
            if edits:
                yield Finding(doc.path, line, f"service {name} publishes {self._label(doc, open_items)} on all "
                              f"interfaces; {evidence}, so 127.0.0.1 is enough", edits,
                              check="compose-lint:CL-0005")

    @staticmethod
    def _label(doc, items) -> str:
        return ", ".join(doc.span(i) if isinstance(i, ScalarNode) else
                         str(scalar(get(i, "published")) or scalar(get(i, "target"))) for i in items)

    @staticmethod
    def _all_interfaces(item) -> bool:
        if isinstance(item, MappingNode):
            if get(item, "published") is None:
                return False
            host = scalar(get(item, "host_ip"))
            return host is None or host in _ALL
        if not isinstance(item, ScalarNode):
            return False
        host, rest = _parts(item.value)
        if host is None:     # "8080:80" publishes; "80" alone gets a random host port
            return ":" in _VAR.sub("_", rest)
        return host.strip() in _ALL or host == ""     # "${BIND:-0.0.0.0}" is the user's choice

    def _edit(self, doc, item):
        if isinstance(item, MappingNode):
            host = get(item, "host_ip")
            if item.flow_style and host is None:
                return doc.add_entry(item, "host_ip", LOOPBACK)
            return doc.set_value(item, "host_ip", LOOPBACK, host)
        host, rest = _parts(item.value)
        if host is not None and "$" in host:
            return None
        new = f"{LOOPBACK}:{rest}"
        if item.style in ('"', "'") and "\\" not in doc.span(item) and "'" not in item.value:
            return doc.replace_node(item, item.style + new + item.style)
        return doc.replace_node(item, render_scalar(new))
