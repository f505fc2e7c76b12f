"""dockerfile-healthcheck: a serving image gets a HEALTHCHECK its own tools can run."""
from __future__ import annotations

import json
import re

from fixer import images, shell
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.yamldoc import get

from ._dockerfile_util import external_base, final_stages, insert_after, installed, stage_chain
from ._health_evidence import health_path
from ._image_facts import built_image, builders

FLAGS = "--interval=30s --timeout=5s --start-period=30s --retries=3"
_VAR = re.compile(r"^\$\{?(\w+)\}?$")
# compose commands that run a background worker, and words that mean a server runs too
_WORKER = re.compile(r"\b(celery|rq|rqworker|dramatiq|arq|huey_consumer|qcluster)\b|\bworker\b|\bbeat\b")
_SERVER = re.compile(r"\b(gunicorn|uvicorn|hypercorn|daphne|runserver|flower|serve|server)\b")
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


# commands that install or fetch software: a `$` in their arguments hides what they bring
_INSTALLERS = {"apt-get", "apt", "apk", "yum", "dnf", "microdnf", "zypper", "pip", "pip3", "npm", "conda",
               "mamba", "gem", "go", "cargo", "curl", "wget", "install", "tar", "unzip", "sh", "bash",
               "eval", "xargs", "uv"}


def _may_provide(doc, ins, tool: str) -> str:
    """Why this instruction may bring `tool` in a way fixer does not read ("" if it cannot):
    it names the tool, copies from a variable path, or a variable decides what a command
    that installs or fetches software does (read with the shell parser; a `$` elsewhere
    does not matter)."""
    if ins.cmd not in ("RUN", "COPY", "ADD"):
        return ""
    where = f"{ins.cmd} at line {ins.start_line + 1}"
    if re.search(rf"(?<![\w.-]){re.escape(tool)}(?![\w-])", ins.original):
        return f"{where} mentions {tool}"
    body = " ".join(ins.value)
    if "$" not in body:
        return ""
    if ins.cmd in ("COPY", "ADD"):
        return f"{where} copies a path built from variables"
    script = shell.dockerfile_run(doc, ins)
    if script.error or not script.commands:
        return f"{where} cannot be read as shell and uses variables"
    for cmd in script.commands:
        words = cmd.values
        if any("$" in w for w in words) and (words[0].startswith("$") or cmd.name in _INSTALLERS):
            return f"{where} runs `{' '.join(words)}`, whose effect depends on variables"
    return ""


class DockerfileHealthcheck(Codemod):
    id = "dockerfile-healthcheck"
    title = "Add a HEALTHCHECK that the image can run"
    kinds = ("dockerfile", "compose", "k8s", "python")   # all but Dockerfiles are read, never changed
    targets = ("dockerfile",)
    severity = "low"
    safety = "evidenced"
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
        Example("Dockerfile", "FROM alpine:3.20\nCMD [\"sh\"]\n", skip="no port exposed"),
        # a `$` in a RUN that installs nothing does not hide the tools
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\nRUN echo \"$HOME\" > /home.txt\n"
                "EXPOSE 80\nHEALTHCHECK CMD wget -q --spider http://localhost/healthz || exit 1\nCMD [\"srv\"]\n",
                "FROM debian:bookworm-slim\nRUN apt-get update && apt-get install -y curl\nRUN echo \"$HOME\" > /home.txt\n"
                "EXPOSE 80\nHEALTHCHECK CMD [\"curl\", \"-fsS\", \"-o\", \"/dev/null\", \"http://localhost/healthz\"]\n"
                "CMD [\"srv\"]\n"),
        Example("Dockerfile",
                "FROM debian:bookworm-slim\nARG EXTRA\nRUN apt-get update && apt-get install -y curl $EXTRA\n"
                "EXPOSE 80\nHEALTHCHECK CMD wget -q --spider http://localhost/healthz || exit 1\nCMD [\"srv\"]\n",
                skip="whose effect depends on variables"),
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
            yield from self._inherited(doc, ctx, st, existing)
            return
        if doc.escape == "`" or images.family(external_base(doc, st)) == images.WINDOWS:
            yield Skip(doc.path, line, "a Windows image: no probe is written for it")
            return
        built = built_image(doc, st)
        base = built.base if built.wrapper and built.base.ports else None   # runs a known server
        if base is None and not any(s.find("CMD") or s.find("ENTRYPOINT") for s in stage_chain(doc, st)):
            return   # a base image for others, not a service
        if base is not None and base.health and not base.health_requires_env:
            yield from self._insert(doc, st, line, _dockerfile_health(base.health), f"{base.name}'s own check")
            return
        found = ports(doc, st) or (list(base.ports) if base else [])
        if not found:
            what = " ".join(built.command)
            yield Skip(doc.path, line, f"no port exposed (EXPOSE) and its command ({what or 'none'}) is not a "
                       "server fixer knows: nothing known to probe")
            return
        port = found[0]
        have, known = tools_of(doc, st)
        if base is not None and base.tools:
            have |= base.tools
        hp = health_path(doc, ctx)
        cmd = probe(have, hp.port or port, hp.path) if hp else probe(have, port, None)
        if cmd is None and hp:
            cmd = probe(have, port, None)
        if cmd is None:
            yield Skip(doc.path, line, "no probe tool known in the image (curl, wget, python3, node, bash)")
            return
        text = "[" + ", ".join(json.dumps(w) for w in cmd) + "]"
        what = f"HTTP {hp.path} (from {hp.source})" if hp and "http://" in " ".join(cmd) else f"TCP port {port}"
        yield from self._insert(doc, st, line, text, f"{what} with {cmd[0]}")

    def _insert(self, doc, st, line, cmd_text, what):
        point = None
        for ins in st.instructions:
            if ins.cmd not in ("CMD", "ENTRYPOINT"):
                point = ins
        point = point or st.from_ins
        kw = "healthcheck" if point.original[:1].islower() else "HEALTHCHECK"
        cmdkw = "cmd" if kw == "healthcheck" else "CMD"
        text = f"{kw} {FLAGS} {cmdkw} {cmd_text}"
        yield Finding(doc.path, line, f"no HEALTHCHECK; probing {what}",
                      [insert_after(doc, point, [text])], check="checkov:CKV_DOCKER_2")

    def _inherited(self, doc, ctx, st, hc):
        """Report compose services that inherit this probe but run a command that serves nothing."""
        last = doc.stages[-1].index == st.index
        for sb in builders(ctx, doc.path):
            if (sb.target or "").lower() != (st.name or "").lower() and not (sb.target is None and last):
                continue
            cmd = " ".join(sb.command or [])
            if not cmd or not _WORKER.search(cmd) or _SERVER.search(cmd):
                continue
            if sb.own_healthcheck:
                continue
            yield Finding(sb.compose, sb.line,
                          f"service {sb.name} runs `{cmd}`, which serves nothing, and inherits the HEALTHCHECK "
                          f"of {doc.path} (line {hc.start_line + 1}): it will be reported unhealthy; give it "
                          "its own `healthcheck:` (or `disable: true`)", check="checkov:CKV_DOCKER_2")

    def _repair(self, doc, st, hc):
        words = [w for w, _, _ in doc.words(hc)]
        if len(words) < 2 or words[1].upper() == "NONE":
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
        if tool is None or tool in have:
            return
        if not known:
            yield Skip(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}; the base image "
                       f"{external_base(doc, st) or '?'} is unknown, so whether it has {tool} cannot be told")
            return
        unsure = next(filter(None, (_may_provide(doc, i, tool) for s in stage_chain(doc, st)
                                    for i in s.instructions)), None)
        if unsure:
            yield Skip(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}, not installed by a package "
                       f"fixer reads; {unsure}, so whether the image has it cannot be told")
            return
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
        end = hc.end
        while end > cmd_start and doc.text[end - 1] in " \t\r\n":
            end -= 1
        text = doc.words(hc)[at][0] + " [" + ", ".join(json.dumps(w) for w in new) + "]"
        yield Finding(doc.path, hc.start_line + 1, f"HEALTHCHECK uses {tool}, which the image does not have",
                      [doc.replace(cmd_start, end, text)], check="checkov:CKV_DOCKER_2")


def _dockerfile_health(test: tuple[str, ...]) -> str:
    """A compose-form health command (knowledge base) as HEALTHCHECK CMD text."""
    if test[0] == "CMD-SHELL":
        return test[1].replace("$$", "$")
    return "[" + ", ".join(json.dumps(w) for w in test[1:]) + "]"
