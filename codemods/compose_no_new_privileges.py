"""compose-no-new-privileges: stop processes gaining privileges through setuid binaries."""
from __future__ import annotations

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer import imagedb
from fixer.compose import UNKNOWN, each_service, expand, has_build, image_of, lookup, root_user, seq_values
from yaml.nodes import SequenceNode

from fixer.yamldoc import Flow, Raw, get, has_own, scalar

OPT = Raw('"no-new-privileges:true"')


def _state(opts) -> str | None:
    """'on', 'off' or None for a security_opt sequence node."""
    for item in getattr(opts, "value", []) or []:
        v = (scalar(item) or "").replace("=", ":").strip().lower()
        if v in ("no-new-privileges", "no-new-privileges:true"):
            return "on"
        if v == "no-new-privileges:false":
            return "off"
    return None


class ComposeNoNewPrivileges(Codemod):
    id = "compose-no-new-privileges"
    title = "Set no-new-privileges on compose services"
    kinds = ("compose",)
    severity = "medium"
    safety = "evidenced"
    checks = ("cis-docker:5.25",)
    order = 220
    scope = "file"
    rationale = (
        "With no-new-privileges a process cannot gain privileges through setuid or "
        "setgid binaries (su, sudo, ping), which blocks a common escalation path after "
        "a container is compromised. Almost no application relies on setuid at run time.")
    examples = [
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx:1.27  # front\n",
                "services:\n  web:\n    image: nginx:1.27  # front\n"
                "    security_opt: [\"no-new-privileges:true\"]\n"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    security_opt:\n      - label:disable\n",
                "services:\n  web:\n    image: nginx\n    security_opt:\n      - label:disable\n"
                "      - \"no-new-privileges:true\"\n"),
        Example("compose.yaml",
                "services:\n  web:\n    image: nginx\n    security_opt: [no-new-privileges:true]\n"),
        Example("compose.yaml",
                "services:\n  web: {image: nginx}\n",
                "services:\n  web: {image: nginx, security_opt: [\"no-new-privileges:true\"]}\n"),
        Example("docker-compose.override.yml",
                "services:\n  web:\n    ports: [\"8080:80\"]\n", skip="a partial service of an overlay"),
    ]

    def fix(self, doc, ctx):
        for t in each_service(doc, ctx, adds=("security_opt",), later=()):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            why = _file_caps(doc, svc, ctx)
            if why:
                yield Skip(doc.path, line, f"service {name} {why}")
                continue
            opts = get(svc, "security_opt")
            if opts is None:
                via = lookup(doc, svc, "security_opt", ctx)
                if via is UNKNOWN:
                    yield Skip(doc.path, line, f"service {name} extends a service fixer cannot read")
                    continue
                if _state(via) == "on":
                    continue   # inherited through extends
            state = _state(opts)
            if state == "on":
                continue
            if state == "off":
                yield Skip(doc.path, line, f"service {name} sets no-new-privileges:false explicitly")
                continue
            if opts is not None and not isinstance(opts, SequenceNode):
                yield Skip(doc.path, line, f"service {name}: security_opt is not a list")
                continue
            if has_own(svc, "security_opt"):
                edit = doc.append_item(opts, OPT)
            elif opts is not None:
                # inherited through a merge key: keep the inherited items
                inherited = [Raw(doc.span(i)) for i in opts.value]
                edit = doc.add_entry(svc, "security_opt", Flow(inherited + [OPT]))
            else:
                edit = doc.add_entry(svc, "security_opt", Flow([OPT]))
            yield Finding(doc.path, line, f"service {name} can gain new privileges",
                          [edit], check="cis-docker:5.25")


def _file_caps(doc, svc, ctx) -> str | None:
    """Why no-new-privileges could stop the service: it adds capabilities but may not run
    as root, so they reach its process only through file capabilities or a setuid binary,
    which no-new-privileges switches off (Collabora's coolforkit-caps, ping, sudo)."""
    caps = lookup(doc, svc, "cap_add", ctx)
    if caps is None or caps is UNKNOWN or not seq_values(caps):
        return None
    if root_user(doc, svc, ctx):
        return None
    if lookup(doc, svc, "user", ctx) is None and not has_build(doc, svc, ctx):
        image = image_of(doc, svc, ctx)
        facts = imagedb.lookup(expand(image)) if image else None
        if facts is not None and facts.root:
            return None
    return ("adds capabilities and may run as a non-root user: they would reach it only through "
            "file capabilities or setuid, which no-new-privileges switches off")
