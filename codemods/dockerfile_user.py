"""dockerfile-user: the image runs as a non-root user that exists."""
from __future__ import annotations

import re

from fixer import images
from fixer.codemod import Codemod, Example, Finding, Skip

from ._app_writes import app_writes
from ._dockerfile_util import (append_command, commands, external_base, final_stages, insert_after, installed,
                               stage_chain)

UID = "10001"
NAME = "app"
_ROOT = re.compile(r"^(root|0)(:(root|0))?$", re.I)
_USER_OPTS_WITH_ARG = {
    "-b", "-c", "-d", "-e", "-f", "-g", "-G", "-k", "-K", "-p", "-s", "-u", "-Z", "-R", "-P", "-h",
    "--base-dir", "--comment", "--home-dir", "--home", "--expiredate", "--inactive", "--gid",
    "--groups", "--skel", "--key", "--password", "--shell", "--uid", "--root", "--prefix",
    "--selinux-user", "--ingroup", "--gecos", "--firstuid", "--lastuid", "--conf", "--firstgid",
    "--lastgid", "--add-extra-groups", "--extrausers"} - {"--add-extra-groups", "--extrausers"}
_SELF_SWITCH = re.compile(r"\b(gosu|su-exec|setpriv|s6-overlay|s6-setuidgid|supervisord|chpst|runuser)\b")
_START_INSTALL = re.compile(r"\b(apt-get|apt|apk|yum|dnf|microdnf|pip3?|npm|gem)\s+(install|add)\b")

CREATE = {
    images.ALPINE: f"addgroup -S -g {UID} {NAME} && adduser -S -D -H -u {UID} -G {NAME} {NAME}",
    images.DEBIAN: (f"groupadd --system --gid {UID} {NAME} && useradd --system --uid {UID} "
                    f"--gid {NAME} --no-create-home --shell /usr/sbin/nologin {NAME}"),
    images.RHEL: f"useradd -r -u {UID} {NAME}",
}


def created_users(doc, stage) -> list[tuple[str, str | None]]:
    """(name, uid or None) of users RUNs of the stage and its ancestors create."""
    out = []
    for st in reversed(stage_chain(doc, stage)):
        for ins in st.find("RUN"):
            for cmd in commands(doc, ins):
                if cmd.name not in ("useradd", "adduser"):
                    continue
                name, uid, skip = None, None, None
                for w in cmd.values[1:]:
                    if skip:
                        if skip in ("-u", "--uid"):
                            uid = w
                        skip = None
                        continue
                    if w.startswith("--uid="):
                        uid = w.split("=", 1)[1]
                    elif w.startswith("-u") and w[2:].isdigit():
                        uid = w[2:]
                    elif w in _USER_OPTS_WITH_ARG:
                        skip = w
                    elif w.startswith("-"):
                        continue
                    else:
                        name = w
                        break
                if name:
                    out.append((name, uid if uid and uid.isdigit() else None))
    return out


def last_user(doc, stage) -> str | None:
    for st in stage_chain(doc, stage):
        u = st.last("USER")
        if u is not None:
            return " ".join(u.value)
    return None


def earlier_nonroot(doc, stage) -> str | None:
    for st in stage_chain(doc, stage):
        for u in reversed(st.find("USER")):
            v = " ".join(u.value)
            if not _ROOT.match(v):
                return v
    return None


_REPL = re.compile(r"^(sh|bash|ash|zsh|python[\d.]*|pypy3?|node|irb|ruby|php|perl|ghci|iex|erl|jshell|"
                   r"lua[\d.]*|julia|R|swift|scala|clojure|mysql|psql|deno|bun)$")


def runs_repl(doc, stage) -> bool:
    """CMD is a bare interpreter or shell and there is no ENTRYPOINT: a base image."""
    chain = stage_chain(doc, stage)
    if any(s.find("ENTRYPOINT") for s in chain):
        return False
    cmd = next((s.last("CMD") for s in chain if s.last("CMD")), None)
    if cmd is None:
        return False
    words = list(cmd.value) if cmd.json else " ".join(cmd.value).split()
    return len(words) == 1 and bool(_REPL.match(words[0].rsplit("/", 1)[-1]))


def low_ports(doc, stage) -> list[str]:
    out = []
    for st in stage_chain(doc, stage):
        for ins in st.find("EXPOSE"):
            for v in ins.value:
                p = v.split("/", 1)[0].split("-", 1)[0]
                if p.isdigit() and int(p) < 1024:
                    out.append(p)
    return out


def insertion_point(stage):
    """The instruction after which USER goes: after the last one needing root."""
    last = None
    for ins in stage.instructions:
        if ins.cmd in ("RUN", "USER"):
            last = ins
    if last is None:
        tail = ("CMD", "ENTRYPOINT", "EXPOSE", "HEALTHCHECK", "LABEL", "STOPSIGNAL")
        for ins in stage.instructions:
            if ins.cmd not in tail:
                last = ins
    return last


class DockerfileUser(Codemod):
    id = "dockerfile-user"
    title = "Run the image as a non-root user"
    kinds = ("dockerfile", "compose", "python")   # compose and Python files are read, never changed
    targets = ("dockerfile",)
    severity = "high"
    safety = "evidenced"
    checks = ("checkov:CKV_DOCKER_3", "checkov:CKV_DOCKER_8", "hadolint:DL3002")
    order = 150
    scope = "file"
    rationale = (
        "A container that runs as root turns any code execution bug into root in the container "
        "and makes escapes worse. The final stage gets a USER that exists: a user the file "
        "already creates, a user the base image ships, or a system user created the way the "
        "base image's family does it (addgroup/adduser on Alpine, groupadd/useradd on Debian, "
        "useradd -r on RHEL); distroless images get 65532 and scratch 65534, with no RUN. "
        "Base images, Windows images and images that need root at start (ports below 1024, "
        "privilege dropping entrypoints, package installs at start-up, volumes) are skipped.")
    examples = [
        Example("Dockerfile",
                "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install --no-cache-dir flask\n"
                "COPY app.py .\nCMD [\"python\", \"app.py\"]\n",
                "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install --no-cache-dir flask && "
                + CREATE[images.DEBIAN] + f"\nUSER {UID}:{UID}\n"
                "COPY app.py .\nCMD [\"python\", \"app.py\"]\n"),
        Example("Dockerfile",
                "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
                "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n"
                "ENTRYPOINT [\"/app\"]\n",
                "FROM golang:1.22 AS build\nRUN go build -o /out/app .\n"
                "FROM gcr.io/distroless/static-debian12\nCOPY --from=build /out/app /app\n"
                "USER 65532:65532\nENTRYPOINT [\"/app\"]\n"),
        Example("Dockerfile", "FROM alpine:3.20\nRUN apk add --no-cache curl\n", skip="no CMD or ENTRYPOINT"),
        Example("Dockerfile", "FROM alpine:3.20\nUSER 1000\nCMD [\"sh\"]\n", skip="runs only an interpreter or shell"),
    ]

    def fix(self, doc, ctx):
        if any(i.cmd == "ONBUILD" for i in doc.instructions):
            yield Skip(doc.path, 1, "ONBUILD: a base image for other images")
            return
        for st in final_stages(doc, ctx):
            yield from self._stage(doc, ctx, st)

    def _stage(self, doc, ctx, st):
        line = st.from_ins.start_line + 1
        chain = stage_chain(doc, st)
        if not any(s.find("CMD") or s.find("ENTRYPOINT") for s in chain):
            yield Skip(doc.path, line, "no CMD or ENTRYPOINT: looks like a base image for others")
            return
        if runs_repl(doc, st):
            yield Skip(doc.path, line, "runs only an interpreter or shell: looks like a base image for others")
            return
        current = last_user(doc, st)
        if current is not None and not _ROOT.match(current):
            return
        ref = external_base(doc, st)
        fam = images.family(ref)
        if current is None and images.runs_nonroot(ref):
            return
        if current is not None and "DL3002" in doc.text:
            yield Skip(doc.path, line, f"sets USER {current} with `hadolint ignore=DL3002`: root on purpose")
            return
        if current is not None and earlier_nonroot(doc, st) is None and not images.runs_nonroot(ref):
            yield Skip(doc.path, line, f"sets USER {current} explicitly on a base that runs as root: "
                       "root on purpose (a Docker socket client, an entrypoint that steps down itself)")
            return
        if fam == images.WINDOWS or doc.escape == "`":
            yield Skip(doc.path, line, "Windows image")
            return
        reason = self._needs_root(doc, st)
        if reason:
            yield Skip(doc.path, line, reason)
            return
        point = insertion_point(st)
        user, create = self._choose(doc, st, ref, fam)
        if user is None:
            yield Skip(doc.path, line, create)
            return
        writes = app_writes(doc, st, ctx)
        if writes.unknown:
            yield Skip(doc.path, line, f"the app writes files ({writes.unknown}): which paths must belong "
                       f"to the new user cannot be told")
            return
        if writes.dirs:
            dirs = " ".join(writes.dirs)
            chown = f"mkdir -p {dirs} && chown {user} {dirs}"
            create = f"{create} && {chown}" if create else chown
        kw = "user" if point.original[:1].islower() else "USER"
        edits = []
        if create:
            merged = append_command(doc, point, create) if point.cmd == "RUN" else None
            if merged is not None:
                edits = [merged, insert_after(doc, point, [f"{kw} {user}"])]
            else:
                run = "run" if kw == "user" else "RUN"
                edits = [insert_after(doc, point, [f"{run} {create}", f"{kw} {user}"])]
        else:
            edits = [insert_after(doc, point, [f"{kw} {user}"])]
        msg = "the image runs as root" if current is None else f"the image ends as {current}"
        if writes.dirs:
            msg += f"; the app writes in {', '.join(writes.dirs)}, which now belong to {user}"
        # an explicit `USER root` may be there on purpose even on a non-root base: a human decides
        yield Finding(doc.path, line, msg, edits, check="checkov:CKV_DOCKER_3",
                      safety="unsafe" if current is not None else "")

    @staticmethod
    def _needs_root(doc, st) -> str | None:
        ports = low_ports(doc, st)
        if ports and "cap_net_bind_service" not in doc.text.lower():
            return f"binds port {ports[0]} below 1024 (needs root or a capability)"
        if _SELF_SWITCH.search(doc.text):
            return "the entrypoint switches users itself (" + _SELF_SWITCH.search(doc.text).group(1) + ")"
        for s in stage_chain(doc, st):
            for ins in s.find("CMD") + s.find("ENTRYPOINT"):
                if _START_INSTALL.search(ins.original):
                    return "installs packages at start-up"
            if s.find("VOLUME"):
                return "declares a VOLUME the app writes to: its ownership needs review"
        return None

    @staticmethod
    def _choose(doc, st, ref, fam):
        """(USER value, RUN command creating it or "") or (None, reason)."""
        users = [u for u in created_users(doc, st) if not _ROOT.match(u[0])]
        prior = earlier_nonroot(doc, st)
        if prior:
            uid = next((u for n, u in users if n == prior and u), None)
            return uid or prior, ""
        if users:
            name, uid = users[-1]
            if "$" in name:
                return None, f"creates user {name}: set USER by hand"
            return (uid or name), ""
        known = images.known_user(ref)
        if known:
            return known[1], ""
        if fam == images.DISTROLESS:
            return "65532:65532", ""
        if fam == images.SCRATCH:
            return "65534:65534", ""
        if fam == images.RHEL and images.minimal(ref):
            return UID, ""
        if fam == images.RHEL and re.search(r"amazonlinux(:(2023|latest)|$)", ref) \
                and "shadow-utils" not in installed(doc, st):
            # the Amazon Linux 2023 image has no useradd: a numeric user needs no entry
            return UID, ""
        if fam in CREATE:
            return (UID if fam == images.RHEL else f"{UID}:{UID}"), CREATE[fam]
        return None, f"unknown base image {ref or '?'}: cannot tell how to add a user"
