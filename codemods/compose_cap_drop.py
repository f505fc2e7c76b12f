"""compose-cap-drop: drop every Linux capability, keep the few a well-known image needs."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer import imagedb
from fixer.compose import (UNKNOWN, append_all, container_ports, each_service, expand, has_build,
                           image_of, is_true, lookup, non_root, root_user, seq_values)
from fixer.yamldoc import Flow, get, has_own
from yaml.nodes import SequenceNode

from ._image_facts import service_image

# Keys that suggest a service needs more than no capabilities.
_NEEDS_MORE = ("privileged", "devices", "sysctls", "network_mode", "pid", "ipc", "userns_mode")


class ComposeCapDrop(Codemod):
    id = "compose-cap-drop"
    title = "Drop all Linux capabilities from compose services"
    kinds = ("compose", "dockerfile")   # Dockerfiles are read to learn an own build's USER
    targets = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("cis-docker:5.3", "checkov:CKV_DOCKER_COMPOSE_CAP_DROP")
    order = 210
    scope = "file"
    rationale = (
        "Containers start with 14 Linux capabilities (chown, setuid, net_raw, mknod, ...). "
        "An attacker inside a compromised container uses them to escalate. `cap_drop: [ALL]` "
        "removes them; `cap_add` gives back the few a well-known image needs to start (the "
        "image knowledge base, fixer/data/images, names each with its reason; `fixer explain "
        "IMAGE` shows them). An own build that only wraps such an image (`FROM postgres:16` "
        "without a command of its own) gets the base image's. Services whose needs are "
        "unknown are skipped with the reason.")
    examples = [
        Example("compose.yaml",
                "services:\n  db:\n    image: postgres:16\n",
                "services:\n  db:\n    image: postgres:16\n    cap_drop: [ALL]\n"
                "    cap_add: [CHOWN, DAC_OVERRIDE, FOWNER, SETGID, SETUID]\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n    user: \"1000\"\n",
                "services:\n  app:\n    image: example/app\n    user: \"1000\"\n    cap_drop: [ALL]\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n", skip="may run as root and need capabilities to start"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    cap_drop: [NET_RAW]\n",
                skip="sets its own cap_drop"),
    ]

    def fix(self, doc, ctx):
        for t in each_service(doc, ctx, adds=("cap_drop",), later=("cap_drop", "cap_add")):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            have = lookup(doc, svc, "cap_drop", ctx)
            if have is not None:
                if have is UNKNOWN or "ALL" not in [c.upper() for c in seq_values(have)]:
                    yield Skip(doc.path, line, f"service {name} sets its own cap_drop: left as written")
                continue
            for k in _NEEDS_MORE:
                v = lookup(doc, svc, k, ctx)
                if v is not None and (k != "privileged" or is_true(v) or v is UNKNOWN):
                    yield Skip(doc.path, line, f"service {name} sets {k}: capabilities left alone")
                    break
            else:
                yield from self._service(doc, ctx, name, svc, line)

    def _service(self, doc, ctx, name, svc, line):
        root = root_user(doc, svc, ctx)
        if root:
            yield Skip(doc.path, line, f"service {name} runs as root on purpose (user: {root}): "
                       "cap_drop ALL would take capabilities it runs with (CHOWN, SETUID, ...)")
            return
        cap_add = lookup(doc, svc, "cap_add", ctx)
        if cap_add is UNKNOWN or (cap_add is not None and not isinstance(cap_add, SequenceNode)):
            yield Skip(doc.path, line, f"service {name}: cap_add cannot be read")
            return
        have = [c.upper().removeprefix("CAP_") for c in seq_values(cap_add)]
        user = lookup(doc, svc, "user", ctx)
        uval = getattr(user, "value", None) if user is not UNKNOWN else None
        built = service_image(doc, svc, ctx) if has_build(doc, svc, ctx) else None
        if built is not None:
            facts = built.base if built.wrapper and not built.own_user else None
        else:
            image = image_of(doc, svc, ctx)
            facts = imagedb.lookup(expand(image)) if image and not has_build(doc, svc, ctx) else None
        if facts is not None and facts.caps is not None:
            how = _bypasses_entrypoint(doc, svc, ctx)
            if how and not non_root(uval):
                yield Skip(doc.path, line, f"service {name} {how}: the image's entrypoint does not "
                           "switch to its user then, so it runs as root and needs root's capabilities")
                return
            need = list(facts.caps)
            if non_root(uval) and facts.name != "nginx":
                need = []   # already runs as its user: the entrypoint does not switch
        else:
            if not non_root(uval) and built is not None:
                uval = built.own_user
            if not non_root(uval) and facts is not None and facts.user and not facts.root:
                uval = facts.user   # the image starts as a non-root user
            if not non_root(uval):
                what = "own build" if has_build(doc, svc, ctx) else f"image {image_of(doc, svc, ctx)}"
                if built is not None and built.base is not None and built.wrapper:
                    what = f"own build on {built.base.name}"
                yield Skip(doc.path, line,
                           f"service {name} ({what}) may run as root and need capabilities to start")
                return
            need = ["NET_BIND_SERVICE"] if any(p < 1024 for p in container_ports(doc, svc, ctx)) else []
        missing = [c for c in need if c not in have]
        edits = [doc.add_entry(svc, "cap_drop", Flow(["ALL"]))]
        if missing:
            if cap_add is None:
                edits.append(doc.add_entry(svc, "cap_add", Flow(missing)))
            elif has_own(svc, "cap_add"):
                # the append goes first: both splices may land at the same offset
                edits.insert(0, append_all(doc, cap_add, missing))
            else:
                yield Skip(doc.path, line, f"service {name} inherits cap_add: not changed")
                return
        yield Finding(doc.path, line,
                      f"service {name} keeps all default capabilities"
                      + (f" (keeps {', '.join(need)}: needed to start)" if need else ""),
                      edits, check="cis-docker:5.3")


_SHELLS = {"sh", "bash", "ash", "dash", "zsh", "/bin/sh", "/bin/bash", "/bin/ash", "/usr/bin/env"}


def _bypasses_entrypoint(doc, svc, ctx) -> str | None:
    """How the service keeps the image's entrypoint from stepping down from root: its own
    `entrypoint:`, or a `command:` run through a shell (official images step down only when
    the command is their server or its options)."""
    if lookup(doc, svc, "entrypoint", ctx) is not None:
        return "sets its own entrypoint"
    cmd = lookup(doc, svc, "command", ctx)
    if cmd is None or cmd is UNKNOWN:
        return None
    first = seq_values(cmd)[:1] if isinstance(cmd, SequenceNode) else (getattr(cmd, "value", "") or "").split()[:1]
    return f"runs its command through {first[0]}" if first and first[0] in _SHELLS else None
