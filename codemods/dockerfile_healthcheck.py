"""dockerfile-healthcheck: a serving image gets a HEALTHCHECK its own tools can run."""
from __future__ import annotations

import json
import posixpath
import re

import yaml

from fixer import images
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.yamldoc import ParseError, get, items, to_python

from ._dockerfile_util import external_base, final_stages, insert_after, installed, stage_chain

FLAGS = "--interval=30s --timeout=5s --start-period=30s --retries=3"
_URL = re.compile(r"https?://(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(?::(\d+))?(/[^\s\"'\],]*)?")
_ROUTE = re.compile(r"@app\.(?:get|route|api_route)\(\s*[\"'](/[\w/.-]*health[\w.-]*)[\"']")
_VAR = re.compile(r"^\$\{?(\w+)\}?$")
# default ports of well-known server commands
_SERVERS = [
    (re.compile(r"\b(gunicorn|uvicorn|hypercorn|waitress-serve)\b"), 8000),
    (re.compile(r"\bmanage\.py\s+runserver\b"), 8000),
    (re.compile(r"\bflask\s+run\b"), 5000),
    (re.compile(r"\brails\s+s(erver)?\b|\bpuma\b"), 3000),
]
_PORT_FLAG = re.compile(r"(?:--bind|-b|--port|-p|--listen)[ =](?:[\w.\[\]:]*:)?(\d{2,5})\b")
_RUNSERVER = re.compile(r"runserver\s+(?:[\w.]*:)?(\d{2,5})\b")


def stage_env(doc, stage) -> dict[str, str]:
    """ENV values and ARG defaults of the stage chain (later ones win)."""
    env: dict[str, str] = {}
    for st in reversed(stage_chain(doc, stage)):
        for ins in st.instructions:
            if ins.cmd not in ("ENV", "ARG"):
                continue
            vals = list(ins.value)
            if ins.cmd == "ENV" and vals and len(vals) % 2 == 0 and not any("=" in v for v in vals[::2]):
                env.update(zip(vals[::2], vals[1::2]))    # ENV key value
                continue
            for v in vals:
                if "=" in v:
                    k, val = v.split("=", 1)
                    env[k] = val.strip("\"'")
    return env


def ports(doc, stage) -> list[int]:
    env = stage_env(doc, stage)
    out: list[int] = []
    for st in stage_chain(doc, stage):
        for ins in st.find("EXPOSE"):
            for v in ins.value:
                p, _, proto = v.partition("/")
                if proto and proto.lower() != "tcp":
                    continue
                m = _VAR.match(p)
                if m:
                    p = env.get(m.group(1), "")
                if p.isdigit() and 0 < int(p) < 65536:
                    out.append(int(p))
    if out:
        return out
    for st in stage_chain(doc, stage):
        for ins in st.find("CMD") + st.find("ENTRYPOINT"):
            text = " ".join(ins.value)
            for rx, default in _SERVERS:
                if rx.search(text):
                    m = _PORT_FLAG.search(text) or _RUNSERVER.search(text)
                    return [int(m.group(1)) if m else default]
    return []


def health_path(doc, ctx, port: int) -> tuple[str, int] | None:
    """(path, port) of an HTTP health endpoint the repository shows for this image."""
    idx = _health_index(ctx)
    found = idx["compose"].get(posixpath.normpath(doc.path))
    if found:
        return found
    if port in idx["k8s"]:
        return idx["k8s"][port], port
    here = posixpath.dirname(doc.path)
    for path, route in idx["python"]:
        if not here or path.startswith(here + "/"):
            return route, port
    return None


def _health_index(ctx) -> dict:
    """Health endpoints the repository shows, gathered once per run."""
    if "health-index" in ctx.shared:
        return ctx.shared["health-index"]
    compose: dict[str, tuple[str, int]] = {}
    # the compose files' parsed documents are shared with the compose codemods
    for comp in ctx.documents(("compose",), needles=("healthcheck",)):
        try:
            roots = comp.docs
        except ParseError:
            continue
        if len(roots) != 1:
            continue
        for _, node in items(get(roots[0], "services")):
            if get(node, "build") is None:
                continue
            try:
                svc = to_python(node)
            except yaml.YAMLError:
                continue
            if not isinstance(svc, dict) or "build" not in svc:
                continue
            build = svc["build"]
            context, dfile = (build, "Dockerfile") if isinstance(build, str) else (
                (build or {}).get("context", "."), (build or {}).get("dockerfile", "Dockerfile"))
            if not isinstance(context, str) or not isinstance(dfile, str):
                continue
            target = posixpath.normpath(posixpath.join(posixpath.dirname(comp.path), context, dfile))
            test = (svc.get("healthcheck") or {}).get("test")
            text = " ".join(map(str, test)) if isinstance(test, list) else str(test or "")
            m = _URL.search(text)
            if m and m.group(2):
                compose.setdefault(target, (m.group(2), int(m.group(1) or 80)))
    k8s: dict[int, str] = {}
    for doc in ctx.documents(("k8s",)):
        if "httpGet" not in doc.text:
            continue
        for m in re.finditer(r"httpGet:\s*\n((?:[ \t]+.*\n?){1,6})", doc.text):
            block = m.group(1)
            pm = re.search(r"^\s*path:\s*['\"]?(/[^\s'\"]*)", block, re.M)
            qm = re.search(r"^\s*port:\s*['\"]?(\d+)", block, re.M)
            if pm and qm and re.search(r"health|ready|live|ping", pm.group(1)):
                k8s.setdefault(int(qm.group(1)), pm.group(1))
    python: list[tuple[str, str]] = []
    for py in ctx.documents(("python",)):
        if "app" not in py.text or not re.search(r"^app\s*=\s*(Flask|FastAPI|Quart|Sanic)\(", py.text, re.M):
            continue
        if re.search(r"url_prefix|root_path|APPLICATION_ROOT|SCRIPT_NAME", py.text):
            continue
        m = _ROUTE.search(py.text)
        if m:
            python.append((py.path, m.group(1)))
    ctx.shared["health-index"] = idx = {"compose": compose, "k8s": k8s, "python": python}
    return idx


def probe(have: set[str], port: int, path: str | None) -> list[str] | None:
    host = "127.0.0.1"
    if path:
        url = f"http://{host}:{port}{path}"
        if "curl" in have:
            return ["curl", "-fsS", "-o", "/dev/null", url]
        if "wget" in have:
            return ["wget", "-q", "-O", "/dev/null", url]
        if "python3" in have:
            return ["python3", "-c", f"import urllib.request; urllib.request.urlopen('{url}', timeout=4)"]
        if "node" in have:
            return ["node", "-e", f"require('http').get('{url}', r => process.exit(r.statusCode < 400 ? 0 : 1))"
                    ".on('error', () => process.exit(1))"]
        return None
    if "python3" in have:
        return ["python3", "-c", f"import socket; socket.create_connection(('{host}', {port}), 4).close()"]
    if "node" in have:
        return ["node", "-e", f"require('net').connect({port}, '{host}').on('connect', () => process.exit(0))"
                ".on('error', () => process.exit(1))"]
    if "bash" in have:
        return ["bash", "-c", f"</dev/tcp/{host}/{port}"]
    if "nc" in have and "sh" in have:
        return ["sh", "-c", f"nc -w 3 {host} {port} </dev/null"]
    return None


def tools_of(doc, stage) -> tuple[set[str], bool]:
    """Probe tools the image has, and whether the list is known to be complete."""
    ref = external_base(doc, stage)
    have = images.tools(ref)
    pkgs = installed(doc, stage)
    for p in pkgs:
        if p in ("curl", "wget", "bash"):
            have.add(p)
        if p.startswith("python3") or p == "python":
            have.add("python3")
        if p in ("nodejs", "node"):
            have.add("node")
        if p in ("netcat-openbsd", "netcat-traditional", "netcat", "busybox-extras"):
            have.add("nc")
    return have, images.family(ref) is not None


class DockerfileHealthcheck(Codemod):
    id = "dockerfile-healthcheck"
    title = "Add a HEALTHCHECK that the image can run"
    kinds = ("dockerfile", "compose", "k8s")        # compose/k8s files are read, never changed
    targets = ("dockerfile",)
    severity = "low"
    checks = ("checkov:CKV_DOCKER_2",)
    order = 160
    scope = "file"
    rationale = (
        "Without a HEALTHCHECK a hung service looks healthy to Docker, compose `depends_on` and "
        "Swarm. The probe is built from what the image has: a TCP connect with the runtime "
        "(python3, node), bash or BusyBox nc, or an HTTP request (curl, wget, python3, node) when "
        "the repository shows a health path for this image (compose healthcheck, Kubernetes "
        "probe, a `health` route). `HEALTHCHECK NONE` is respected; an existing probe that uses "
        "a tool the image does not have is rewritten to one it has.")
    examples = [
        Example("Dockerfile",
                "FROM python:3.12-slim\nCOPY app.py .\nEXPOSE 8000\nCMD [\"python\", \"app.py\"]\n",
                "FROM python:3.12-slim\nCOPY app.py .\nEXPOSE 8000\n"
                f"HEALTHCHECK {FLAGS} CMD [\"python3\", \"-c\", \"import socket; "
                "socket.create_connection(('127.0.0.1', 8000), 4).close()\"]\n"
                "CMD [\"python\", \"app.py\"]\n"),
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
                "EXPOSE 80\nHEALTHCHECK CMD wget -q --spider http://localhost/healthz || exit 1\nCMD [\"srv\"]\n",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\n"
                "EXPOSE 80\nHEALTHCHECK CMD [\"curl\", \"-fsS\", \"-o\", \"/dev/null\", \"http://localhost/healthz\"]\n"
                "CMD [\"srv\"]\n"),
        Example("Dockerfile", "FROM nginx:1.27\nEXPOSE 80\nHEALTHCHECK NONE\nCMD [\"nginx\"]\n"),
        Example("Dockerfile", "FROM alpine:3.20\nCMD [\"sh\"]\n"),
    ]

    def fix(self, doc, ctx):
        for st in final_stages(doc, ctx):
            yield from self._stage(doc, ctx, st)

    def _stage(self, doc, ctx, st):
        line = st.from_ins.start_line + 1
        existing = next((s.last("HEALTHCHECK") for s in stage_chain(doc, st) if s.last("HEALTHCHECK")), None)
        if existing is not None:
            if existing.stage == st.index:
                yield from self._repair(doc, st, existing)
            return
        if doc.escape == "`" or images.family(external_base(doc, st)) == images.WINDOWS:
            return
        if not any(s.find("CMD") or s.find("ENTRYPOINT") for s in stage_chain(doc, st)):
            return
        found = ports(doc, st)
        if not found:
            return
        port = found[0]
        have, known = tools_of(doc, st)
        hp = health_path(doc, ctx, port)
        cmd = probe(have, hp[1] if hp else port, hp[0] if hp else None)
        if cmd is None and hp:
            cmd = probe(have, port, None)
        if cmd is None:
            yield Skip(doc.path, line, "no probe tool known in the image (curl, wget, python3, node, bash)")
            return
        point = None
        for ins in st.instructions:
            if ins.cmd not in ("CMD", "ENTRYPOINT"):
                point = ins
        kw = "healthcheck" if point.original[:1].islower() else "HEALTHCHECK"
        cmdkw = "cmd" if kw == "healthcheck" else "CMD"
        text = f"{kw} {FLAGS} {cmdkw} [" + ", ".join(json.dumps(w) for w in cmd) + "]"
        what = f"HTTP {hp[0]}" if hp and "http://" in " ".join(cmd) else f"TCP port {port}"
        yield Finding(doc.path, line, f"no HEALTHCHECK; probing {what} with {cmd[0]}",
                      [insert_after(doc, point, [text])], check="checkov:CKV_DOCKER_2")

    def _repair(self, doc, st, hc):
        words = [w for w, _, _ in doc.words(hc)]
        if len(words) < 2 or words[1].upper() == "NONE" or hc.end_line != hc.start_line:
            return
        tool = None
        try:
            at = [w.upper() for w in words].index("CMD")
        except ValueError:
            return
        body = " ".join(hc.value[1:]) if hc.value and hc.value[0].upper() == "CMD" else ""
        first = body.split()[0].strip("[\"',") if body.split() else ""
        if first in ("curl", "wget"):
            tool = first
        have, known = tools_of(doc, st)
        if tool is None or not known or tool in have:
            return
        if any(tool in i.original or "$" in " ".join(i.value) for s in stage_chain(doc, st)
               for i in s.instructions if i.cmd in ("RUN", "COPY", "ADD")):
            return              # fetched, copied or installed in a way not read here
        m = re.search(r"https?://[^\s\"'\]]+", body)
        if not m:
            yield Skip(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}, absent from the image")
            return
        url = m.group(0)
        other = probe(have - {tool}, 0, "/") if have - {tool} else None
        if other is None:
            yield Skip(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}, absent from the image, "
                       "and no other probe tool is known")
            return
        new = [w.replace("http://127.0.0.1:0/", url) for w in other]
        cmd_start = doc.words(hc)[at][1]
        end = hc.start + len(doc.line_text(hc.start_line).rstrip())
        text = doc.words(hc)[at][0] + " [" + ", ".join(json.dumps(w) for w in new) + "]"
        yield Finding(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}, which the image does not have",
                      [doc.replace(cmd_start, end, text)], check="checkov:CKV_DOCKER_2")
