"""compose-unconfined: remove seccomp:unconfined / apparmor:unconfined where nothing needs them."""
from __future__ import annotations

import re

from yaml.nodes import ScalarNode, SequenceNode

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import image_of, is_true, lookup, remove_item, seq_values, service_skip, services
from fixer.yamldoc import get

# What needs the default profiles off, by words in the image name or the command
# (and why): browsers sandbox themselves with syscalls the default profile blocks,
# debuggers need ptrace, nested container engines and systemd need mount and more.
NEEDS = {
    "chrome": "Chrome's sandbox", "chromium": "Chromium's sandbox", "puppeteer": "a browser sandbox",
    "playwright": "a browser sandbox", "browserless": "a browser sandbox", "selenium": "a browser sandbox",
    "headless-shell": "a browser sandbox", "firefox": "a browser sandbox",
    "strace": "ptrace (strace)", "gdb": "ptrace (gdb)", "delve": "ptrace (delve)", "dlv": "ptrace (delve)",
    "perf": "perf events", "bpf": "eBPF", "falco": "eBPF", "cadvisor": "host introspection",
    "debug": "a debug build (debuggers need ptrace)",
    "dind": "a nested Docker engine", "podman": "a nested container engine",
    "buildkit": "a nested build engine", "buildah": "a nested build engine", "kaniko": "a build engine",
    "systemd": "systemd", "kasm": "a desktop with a browser", "webtop": "a desktop with a browser",
    "vscode": "a development environment (debuggers)", "devcontainer": "a development environment (debuggers)",
    "code-server": "a development environment (debuggers)", "wine": "Wine", "steam": "Wine",
}
_SAYS_NEEDED = re.compile(r"\b(required|requires|needed|needs|need|debug\w*|ptrace|sandbox)\b", re.I)
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DEBUG_CAPS = {"SYS_PTRACE", "SYS_ADMIN", "ALL", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN"}


def _unconfined(value: str) -> bool:
    v = value.replace("=", ":").replace(" ", "").lower()
    return v in ("seccomp:unconfined", "apparmor:unconfined")


def _need(text: str) -> str | None:
    words = set(_WORD.findall(text.lower()))
    for part in list(words):
        words.update(part.split("-"))
    hit = next((w for w in NEEDS if w in words), None)
    return f"{hit}: {NEEDS[hit]}" if hit else None


class ComposeUnconfined(Codemod):
    id = "compose-unconfined"
    title = "Remove seccomp:unconfined and apparmor:unconfined where nothing needs them"
    kinds = ("compose", "dockerfile")   # an own build's Dockerfile tells what it runs
    targets = ("compose",)
    severity = "high"
    safety = "evidenced"
    checks = ("cis-docker:5.21", "cis-docker:5.1")
    order = 215
    scope = "file"
    confidence = "medium"   # what a service needs is judged from names (image, command, Dockerfile)
    rationale = (
        "`seccomp:unconfined` turns off Docker's default seccomp profile (about 50 blocked "
        "system calls: kernel module loading, keyrings, clock changes, ptrace on older "
        "kernels) and `apparmor:unconfined` the default AppArmor profile; both are copied "
        "from examples far more often than needed. They are removed, except for services "
        "that need them: browsers with their own sandbox (Chrome, Puppeteer, Playwright, "
        "Selenium; a service with `shm_size` or `ipc: host` counts as one), debuggers "
        "(strace, gdb, delve, debug images), nested container engines (docker:dind, "
        "buildkit, podman), systemd images, privileged services, services that add "
        "SYS_PTRACE/SYS_ADMIN and options a comment beside them explains. Own builds are checked through their Dockerfile text; when "
        "fixer cannot read it, the service is left alone.")
    guide = (
        "A service that breaks without the option (EPERM from a system call, a browser that "
        "will not start) needs it: keep it with `# fixer: ignore[compose-unconfined]` on the "
        "service, or better a custom seccomp profile that allows the one call.")
    examples = [
        Example("compose.yaml",
                "services:\n  api:\n    image: ghcr.io/acme/api:1\n    security_opt:\n"
                "      - seccomp:unconfined\n      - no-new-privileges:true\n",
                "services:\n  api:\n    image: ghcr.io/acme/api:1\n    security_opt:\n"
                "      - no-new-privileges:true\n"),
        Example("compose.yaml",
                "services:\n  api:\n    image: redis:7\n    security_opt: [\"apparmor=unconfined\"]  # copied\n"
                "    restart: always\n",
                "services:\n  api:\n    image: redis:7\n    restart: always\n"),
        Example("compose.yaml",
                "services:\n  pdf:\n    image: ghcr.io/browserless/chromium:latest\n"
                "    security_opt: [seccomp:unconfined]\n",
                skip="chromium: Chromium's sandbox"),
        Example("compose.yaml",
                "services:\n  ci:\n    image: docker:27-dind\n    privileged: true\n"
                "    security_opt: [seccomp=unconfined]\n",
                skip="is privileged"),
        Example("compose.yaml", "services:\n  api:\n    image: nginx:1.27\n    security_opt: [no-new-privileges:true]\n"),
    ]

    def wants(self, text):
        return "unconfined" in text

    def fix(self, doc, ctx):
        for name, key, svc in services(doc):
            opts = get(svc, "security_opt") if svc is not None else None
            if not isinstance(opts, SequenceNode):
                continue
            bad = [i for i in opts.value if isinstance(i, ScalarNode) and _unconfined(i.value)]
            if not bad:
                continue
            line = key.start_mark.line + 1
            what = ", ".join(i.value for i in bad)
            why = service_skip(doc, name, svc, ctx) or self._needed(doc, name, svc, ctx)
            if why:
                yield Skip(doc.path, line, f"service {name} keeps {what}: {why}")
                continue
            edit = self._remove(doc, svc, opts, bad)
            if edit is None:
                yield Skip(doc.path, line, f"service {name}: security_opt is written in a form fixer cannot edit")
                continue
            yield Finding(doc.path, line, f"service {name} turns off a default confinement profile ({what})",
                          [edit], check="cis-docker:5.21")

    def _needed(self, doc, name, svc, ctx) -> str | None:
        if is_true(get(svc, "privileged")):
            return f"service {name} is privileged (compose-privileged decides about it)"
        for key in ("shm_size", "ipc"):
            node = get(svc, key)
            if node is not None and (key == "shm_size" or doc.span(node).strip("'\"") == "host"):
                return f"it sets {key}: {doc.span(node)}, as headless browsers do"
        caps = {c.upper() for c in seq_values(get(svc, "cap_add"))}
        if caps & _DEBUG_CAPS:
            return f"it adds {', '.join(sorted(caps & _DEBUG_CAPS))}, which debugging or nested engines use"
        image = image_of(doc, svc, ctx) or ""
        if image.split("@")[0].split(":")[0].rsplit("/", 1)[-1] == "docker":
            return f"{image}: a Docker engine or client image (docker:dind needs it)"
        said = _comment_near(doc, get(svc, "security_opt"))
        if said:
            return f"a comment says why it is there ({said})"
        texts = [image, name]
        for k in ("command", "entrypoint"):
            node = get(svc, k)
            if node is not None:
                texts.append(doc.span(node))
        build = lookup(doc, svc, "build", ctx)
        if build is not None:
            text = _dockerfile_text(doc, build, ctx)
            if text is None:
                return "its own build's Dockerfile cannot be read, so what it runs is unknown"
            texts.append(text)
        for t in texts:
            hit = _need(t)
            if hit:
                return hit
        return None

    @staticmethod
    def _remove(doc, svc, opts, bad):
        if not opts.flow_style:
            if len(bad) == 1:
                return remove_item(doc, svc, "security_opt", opts, bad[0])
            if len(bad) == len(opts.value):
                return doc.remove_entry(svc, "security_opt")
            return None
        keep = [doc.span(i) for i in opts.value if i not in bad]
        if keep:
            return doc.replace(opts.start_mark.index, opts.end_mark.index, "[" + ", ".join(keep) + "]")
        edit = doc.remove_entry(svc, "security_opt")
        return edit


def _comment_near(doc, opts) -> str | None:
    """A comment on the lines right above `security_opt:` or on its items that says it is needed."""
    first = doc.line_of(opts.start_mark.index)
    lines = list(range(doc.line_of(opts.start_mark.index), doc.last_line(opts) + 1))
    n = first - 1
    while n >= 0 and doc.line_text(n).lstrip().startswith("#"):
        lines.append(n)
        n -= 1
    key_line = first - 1 if not opts.flow_style else first
    if key_line >= 0 and key_line not in lines:
        lines.append(key_line)
        n = key_line - 1
        while n >= 0 and doc.line_text(n).lstrip().startswith("#"):
            lines.append(n)
            n -= 1
    for n in sorted(lines):
        text = doc.line_text(n)
        if "#" in text:
            comment = text[text.index("#"):]
            if _SAYS_NEEDED.search(comment):
                return f"line {n + 1}: {comment[:80]}"
    return None


def _dockerfile_text(doc, build, ctx) -> str | None:
    from fixer.compose import build_file

    path, inline, _ = build_file(doc, build)
    return inline if path is None else ctx.read(path)
