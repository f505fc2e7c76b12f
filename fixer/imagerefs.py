"""Where image references sit in each kind of file, as exact text spans."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .yamldoc import get, has_own, items, scalar, walk

_VAR = re.compile(r"^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))$")


@dataclass
class Site:
    path: str
    line: int            # 1-based
    start: int
    end: int
    text: str            # the reference as written
    where: str           # e.g. "FROM", "service web", "container api"
    platform: str | None = None
    skip: str | None = None   # why it cannot be pinned
    users: list[int] = field(default_factory=list)   # an ARG default: 1-based lines of the FROMs using it


def _scalar_span(doc, node: ScalarNode) -> tuple[int, int]:
    s, e = node.start_mark.index, node.end_mark.index
    if node.style in ('"', "'"):
        return s + 1, e - 1
    return s, doc.content_end(node)


def _yaml_site(doc, node, where: str, platform: str | None = None) -> Site | None:
    if not isinstance(node, ScalarNode) or node.style in ("|", ">"):
        return None
    s, e = _scalar_span(doc, node)
    text = doc.text[s:e]
    site = Site(doc.path, node.start_mark.line + 1, s, e, text, where, platform)
    if getattr(doc, "kind", "") == "helm" and doc.has_action(node.start_mark.index, node.end_mark.index):
        site.skip = "image is set by a template expression (pin it in values.yaml)"
    elif "${" in text or "$" in text:
        site.skip = "image is built from variables"
    elif text != node.value:
        site.skip = "image has escapes or line breaks in its quoting"
    return site


def dockerfile_sites(doc) -> list[Site]:
    out: list[Site] = []
    stage_names: set[str] = set()
    args = _global_args(doc)
    seen_args: dict[str, Site] = {}
    for stage in doc.stages:
        ins = stage.from_ins
        words = doc.words(ins)[1:]
        platform = None
        while words and words[0][0].startswith("--"):
            flag = words.pop(0)[0]
            if flag.startswith("--platform="):
                value = flag.split("=", 1)[1]
                platform = None if "$" in value else value
        if not words:
            continue
        text, s, e = words[0]
        low = text.lower()
        if low in stage_names or low == "scratch":
            pass
        else:
            m = _VAR.match(text)
            if m:
                name = m.group(1) or m.group(2)
                if name in args and name in seen_args:
                    seen_args[name].users.append(ins.start_line + 1)
                elif name in args:
                    a_text, a_s, a_e, a_line = args[name]
                    site = Site(doc.path, a_line, a_s, a_e, a_text, f"ARG {name} (used by FROM)", platform)
                    site.users.append(ins.start_line + 1)
                    seen_args[name] = site
                    if not a_text or "$" in a_text:
                        site.skip = f"ARG {name} has no literal default"
                    out.append(site)
                elif name not in args:
                    out.append(Site(doc.path, ins.start_line + 1, s, e, text, "FROM", platform,
                                    f"{text} has no ARG default before the first FROM"))
            else:
                site = Site(doc.path, ins.start_line + 1, s, e, text, "FROM", platform)
                if "$" in text:
                    site.skip = "reference built from variables; pin the ARG default instead"
                out.append(site)
        if stage.name:
            stage_names.add(stage.name.lower())
        for other in stage.instructions:
            if other.cmd != "COPY":
                continue
            for word, ws, we in doc.words(other)[1:]:
                if not word.startswith("--from="):
                    if not word.startswith("--"):
                        break
                    continue
                value = word[len("--from="):]
                if value.lower() in stage_names or value.isdigit() or not value:
                    continue
                site = Site(doc.path, other.start_line + 1, ws + len("--from="), we, value, "COPY --from")
                if "$" in value:
                    site.skip = "reference built from variables"
                out.append(site)
    return out


def _global_args(doc) -> dict[str, tuple[str, int, int, int]]:
    """ARG name -> (default text, start, end, line) for ARGs before the first FROM."""
    out = {}
    for ins in doc.global_args:
        for word, s, e in doc.words(ins)[1:]:
            name, eq, value = word.partition("=")
            if not eq:
                out.setdefault(name, ("", s, s, ins.start_line + 1))
                continue
            vs = s + len(name) + 1
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                out[name] = (value[1:-1], vs + 1, e - 1, ins.start_line + 1)
            else:
                out[name] = (value, vs, e, ins.start_line + 1)
    return out


def compose_sites(doc) -> list[Site]:
    from .compose import services

    out = []
    for name, _, svc in services(doc):
        image = get(svc, "image")
        if image is None:
            continue
        platform = scalar(get(svc, "platform"))
        site = _yaml_site(doc, image, f"service {name}", platform)
        if site is None:
            continue
        if get(svc, "build") is not None:
            site.skip = "the service builds its image; image: names the build output"
        elif not has_own(svc, "image"):
            continue  # inherited through a merge key: pinned where it is defined
        out.append(site)
    return out


def k8s_sites(doc) -> list[Site]:
    out = []
    for d in doc.docs:
        for n in walk(d):
            if not isinstance(n, MappingNode):
                continue
            for key, seq in items(n):
                if key not in ("containers", "initContainers", "ephemeralContainers"):
                    continue
                if not isinstance(seq, SequenceNode):
                    continue
                for c in seq.value:
                    image = get(c, "image")
                    cname = scalar(get(c, "name")) or "?"
                    site = _yaml_site(doc, image, f"container {cname}") if image is not None else None
                    if site:
                        out.append(site)
    return out


def workflow_sites(doc) -> list[Site]:
    out = []
    if not doc.docs:
        return out
    for job_name, job in items(get(doc.docs[0], "jobs")):
        container = get(job, "container")
        node = get(container, "image") if isinstance(container, MappingNode) else container
        if node is not None:
            site = _yaml_site(doc, node, f"job {job_name} container")
            if site:
                out.append(site)
        for svc_name, svc in items(get(job, "services")):
            node = get(svc, "image")
            site = _yaml_site(doc, node, f"job {job_name} service {svc_name}") if node is not None else None
            if site:
                out.append(site)
        steps = get(job, "steps")
        for step in (steps.value if isinstance(steps, SequenceNode) else []):
            uses = get(step, "uses")
            value = scalar(uses)
            if not value or not value.startswith("docker://"):
                continue
            site = _yaml_site(doc, uses, f"job {job_name} step docker://")
            if site:
                site.start += len("docker://")
                site.text = site.text[len("docker://"):]
                out.append(site)
    for site in out:
        if "${{" in site.text:
            site.skip = "image is set by an expression"
    return out


SITES = {
    "dockerfile": dockerfile_sites,
    "compose": compose_sites,
    "k8s": k8s_sites,
    "helm": k8s_sites,
    "workflow": workflow_sites,
}
