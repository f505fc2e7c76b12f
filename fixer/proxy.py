"""Reverse proxies of a compose file and the services they route to.

A proxy is a service whose image is a known reverse proxy (nginx, caddy, traefik,
haproxy, envoy) or whose build context holds a proxy configuration. The services it
fronts come from its configuration files (mounted, or in its build context) and from
Traefik labels on the services. Proxy configuration languages have no parser on PyPI
that fixer can use, so their directives are read line by line, comments removed.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .compose import env_pairs, expand, image_of, lookup, split_image, volume_mounts
from .yamldoc import get, items, scalar

PROXY_IMAGES = {"nginx", "nginx-unprivileged", "openresty", "caddy", "traefik", "haproxy", "envoy",
                "nginx-proxy", "swag", "letsencrypt-nginx-proxy-companion"}
_CONFIG_NAME = re.compile(r"(\.conf|\.conf\.template|\.template|\.cfg|caddyfile[^/]*|/conf|\.ya?ml|\.toml)$", re.I)
_HOST = r"(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|[A-Za-z0-9_.-]+)(?::(\d+))?"
# directives of a proxy's own configuration language that name an upstream host (group 1)
# and port (group 2; the scheme's port when absent)
_ROUTES = [
    re.compile(r"\b(?:proxy_pass|grpc_pass|uwsgi_pass)\s+(?:([a-z]+)://)?" + _HOST),
    re.compile(r"\bfastcgi_pass\s+()" + _HOST),
    re.compile(r"^\s*server\s+()" + _HOST),                                # nginx upstream block
    re.compile(r"^\s*server\s+\S+\s+()" + _HOST),                          # haproxy backend
    re.compile(r"\breverse_proxy\s+(?:[@/*][^\s]*\s+)?(?:([a-z]+)://)?" + _HOST),  # Caddy
]
# YAML/TOML keys that name a host: only read for Traefik (file provider) and Envoy images,
# since any application's configuration has them too
_YAML_ROUTES = [
    re.compile(r"\burl\s*[:=]\s*[\"']?([a-z]+)://" + _HOST),
    re.compile(r"\baddress:\s*[\"']?()([A-Za-z][A-Za-z0-9_.-]*)()[\"']?\s*$"),
]
_SCHEME_PORTS = {"http": 80, "https": 443, "grpc": 80, "grpcs": 443, "h2c": 80}
_MAX_FILES = 200


@dataclass(slots=True)
class Routes:
    proxies: set[str] = field(default_factory=set)
    # service name -> evidence ("nginx: proxy_pass in nginx/default.conf:12")
    fronted: dict[str, str] = field(default_factory=dict)
    # service name -> the container ports the proxies use (absent: not known, any)
    ports: dict[str, set[int]] = field(default_factory=dict)
    unknown_port: set[str] = field(default_factory=set)

    def port_used(self, name: str, port: int | None) -> bool:
        return name in self.unknown_port or name not in self.ports or port in self.ports[name]


def _image_base(image: str | None) -> str:
    return split_image(image)[0].rsplit("/", 1)[-1].lower() if image else ""


def proxy_image(image: str | None) -> bool:
    return _image_base(expand(image or "")) in PROXY_IMAGES


def routes(doc, ctx, services: dict[str, MappingNode]) -> Routes:
    """Which services of the file a proxy of the file routes to, with the evidence."""
    out = Routes()
    base = posixpath.dirname(doc.path)
    traefik = False
    for name, svc in services.items():
        files = _config_files(doc, ctx, svc, base)
        image = image_of(doc, svc, ctx)
        known = proxy_image(image)
        rules = _ROUTES + (_YAML_ROUTES if _image_base(expand(image or "")) in ("traefik", "envoy") else [])
        env = {k: v for k, v, _, _ in env_pairs(get(svc, "environment")) if v}
        found = False
        for path in files:
            text = ctx.read(path, limit=256 * 1024)
            if not text:
                continue
            for n, line in enumerate(text.splitlines(), 1):
                line = line.split("#", 1)[0]
                for rx in rules:
                    for m in rx.finditer(line):
                        scheme, host, port = m.group(1), m.group(2), m.group(3)
                        if host.startswith("$"):   # nginx envsubst templates: the proxy's environment
                            value = env.get(host.strip("${}"), "")
                            host, _, port = re.split(r"/", value)[0].partition(":")
                        if host in services and host != name:
                            found = True
                            out.fronted.setdefault(host, f"{name} routes to it ({path}:{n})")
                            number = int(port) if port and port.isdigit() else _SCHEME_PORTS.get(scheme or "")
                            if number is None:
                                out.unknown_port.add(host)
                            else:
                                out.ports.setdefault(host, set()).add(number)
        if known or found:
            out.proxies.add(name)
        if _image_base(expand(image or "")) == "traefik":
            traefik = True
    if traefik:
        for name, svc in services.items():
            if name not in out.proxies and _traefik_labels(svc):
                out.fronted.setdefault(name, "Traefik labels route to it")
                port = _traefik_port(svc)
                if port is None:
                    out.unknown_port.add(name)
                else:
                    out.ports.setdefault(name, set()).add(port)
    return out


def _traefik_labels(svc) -> bool:
    labels = get(svc, "labels")
    keys: list[str] = []
    if isinstance(labels, MappingNode):
        keys = [k for k, _ in items(labels)]
        enabled = {k: (scalar(v) or "").lower() for k, v in items(labels)}.get("traefik.enable")
    elif isinstance(labels, SequenceNode):
        pairs = [(scalar(i) or "").partition("=") for i in labels.value]
        keys = [k.strip() for k, _, _ in pairs]
        enabled = next((v.strip().lower() for k, _, v in pairs if k.strip() == "traefik.enable"), None)
    else:
        return False
    if enabled == "false":
        return False
    return any(k.startswith("traefik.http.routers.") or k.startswith("traefik.tcp.routers.") for k in keys)


def _traefik_port(svc) -> int | None:
    """The `loadbalancer.server.port` label's value (None: Traefik picks the exposed port)."""
    labels = get(svc, "labels")
    pairs = [(k, scalar(v) or "") for k, v in items(labels)] if isinstance(labels, MappingNode) else \
        [tuple((scalar(i) or "").split("=", 1)) + ("",) for i in getattr(labels, "value", [])]
    for k, v, *_ in pairs:
        if k.strip().endswith(".loadbalancer.server.port") and v.strip().isdigit():
            return int(v.strip())
    return None


def _config_files(doc, ctx, svc, base: str) -> list[str]:
    """Configuration files a service mounts (bind mounts of files or folders in the
    repository) or has in its build context."""
    roots: list[str] = []
    for _, source, _, _ in volume_mounts(get(svc, "volumes")):
        if source.startswith((".", "/")) or "/" in source:
            if source.startswith("/"):
                continue
            roots.append(posixpath.normpath(posixpath.join(base, expand(source))))
    build = lookup(doc, svc, "build", ctx)
    if isinstance(build, ScalarNode):
        roots.append(posixpath.normpath(posixpath.join(base, build.value)))
    elif isinstance(build, MappingNode) and scalar(get(build, "context")):
        ctxdir = scalar(get(build, "context")) or "."
        if "://" not in ctxdir:
            roots.append(posixpath.normpath(posixpath.join(base, ctxdir)))
    out: list[str] = []
    for r in roots:
        r = "" if r == "." else r
        if r in ctx.ws.all_paths:
            out.append(r)
            continue
        prefix = r + "/" if r else ""
        out.extend(p for p in ctx.ws.sorted_paths(r) if _CONFIG_NAME.search(p)
                   and p.count("/") - prefix.count("/") <= 2)
        if len(out) > _MAX_FILES:
            break
    return out[:_MAX_FILES]
