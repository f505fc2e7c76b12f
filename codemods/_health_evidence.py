"""Where an HTTP health path for an image the repository builds comes from: the compose
service that builds it (its healthcheck URL), a Kubernetes container running the image
that service names (an httpGet probe, from the parsed manifest), or a Flask/FastAPI route
in the build context (found with libcst). Nothing else counts."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from fixer.pycst import cst

from fixer import imagedb
from fixer.k8s import containers, parse_or_reason, workloads
from fixer.yamldoc import get, scalar

from ._image_facts import builders

_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(/[^\s\"'\],]*)?")
_HEALTHY = re.compile(r"health|ready|live|ping", re.I)
_APPS = {"Flask", "FastAPI", "Quart", "Sanic"}
_ROUTE_METHODS = {"get", "route", "api_route", "head"}
# settings that move every route under a prefix
_PREFIXES = {"APPLICATION_ROOT", "SCRIPT_NAME", "root_path", "url_prefix"}


@dataclass
class HealthPath:
    path: str
    port: int | None      # None: the port the image exposes
    source: str           # where the path was seen


def health_path(doc, ctx) -> HealthPath | None:
    """The health path the repository shows for the image this Dockerfile builds."""
    sbs = builders(ctx, doc.path)
    for sb in sbs:
        m = _URL.search(sb.health_test)
        if m and m.group(2):
            return HealthPath(m.group(2), int(m.group(1) or 80), f"the healthcheck of compose service {sb.name}")
    names = {imagedb.split(sb.image)[0] for sb in sbs} - {""}
    if names:
        for repo, path, port, where in _k8s_probes(ctx):
            if repo in names:
                return HealthPath(path, port, where)
    for py in ctx.documents(("python",), under=posixpath.dirname(doc.path)):
        route = flask_health_route(py)
        if route:
            return HealthPath(route, None, f"a route in {py.path}")
    return None


def _k8s_probes(ctx) -> list[tuple[str, str, int | None, str]]:
    """(image repository, path, port, where) of httpGet probes with a health-like path."""
    key = "health-k8s-probes"
    if key in ctx.shared:
        return ctx.shared[key]
    out = []
    for doc in ctx.documents(("k8s",)):
        if "httpGet" not in doc.text or parse_or_reason(doc):
            continue
        for w in workloads(doc):
            for c in containers(doc, w.pod_spec, init=False):
                image = scalar(get(c.node, "image")) or ""
                named = {scalar(get(p, "name")): scalar(get(p, "containerPort"))
                         for p in getattr(get(c.node, "ports"), "value", []) or []}
                for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                    hg = get(get(c.node, probe), "httpGet")
                    path, port = scalar(get(hg, "path")), scalar(get(hg, "port"))
                    port = named.get(port, port)
                    if path and _HEALTHY.search(path) and port and port.isdigit():
                        out.append((imagedb.split(image)[0], path, int(port),
                                    f"the {probe} of {c.label()} in {doc.path}"))
    ctx.shared[key] = out
    return out


def flask_health_route(py) -> str | None:
    """A health-like route declared on a module-level Flask/FastAPI app, parsed with libcst;
    None when there is none or the app's routes may sit under a prefix."""
    try:
        module = py.module
    except Exception:     # not valid Python: no evidence
        return None
    apps: set[str] = set()
    for stmt in module.body:
        for small in getattr(stmt, "body", ()) if isinstance(stmt, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) \
                    and _name(small.value.func) in _APPS:
                if any(a.keyword and a.keyword.value in _PREFIXES for a in small.value.args):
                    return None
                apps |= {t.target.value for t in small.targets if isinstance(t.target, cst.Name)}
    if not apps or _mentions_prefix(module):
        return None
    for stmt in module.body:
        if not isinstance(stmt, cst.FunctionDef):
            continue
        for dec in stmt.decorators:
            call = dec.decorator
            if not (isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
                    and isinstance(call.func.value, cst.Name) and call.func.value.value in apps
                    and call.func.attr.value in _ROUTE_METHODS and call.args):
                continue
            first = call.args[0].value
            if isinstance(first, cst.SimpleString):
                path = first.evaluated_value
                if isinstance(path, str) and path.startswith("/") and _HEALTHY.search(path):
                    return path
    return None


def _name(func) -> str:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return ""


def _mentions_prefix(module) -> bool:
    class Finder(cst.CSTVisitor):
        found = False

        def visit_SimpleString(self, node):
            if node.evaluated_value in _PREFIXES:
                Finder.found = True

        def visit_Arg(self, node):
            if node.keyword is not None and node.keyword.value in _PREFIXES:
                Finder.found = True

    module.visit(Finder())
    return Finder.found
