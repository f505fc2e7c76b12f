"""Facts about images the repository builds: its Dockerfiles read through FROM chains on top
of the knowledge base (fixer.imagedb), and which compose services run them."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fixer import imagedb
from fixer.compose import UNKNOWN, interpolated, lookup, services
from fixer.yamldoc import get, scalar

from ._dockerfile_util import external_base, installed, stage_chain


@dataclass
class BuiltImage:
    """What a Dockerfile stage builds, as far as fixer can read it."""

    path: str
    stage: object
    base_ref: str
    base: imagedb.ImageFacts | None          # the external base, None when unknown
    own_user: str | None                     # the last USER of the file's stage chain
    ports: list[str] = field(default_factory=list)   # EXPOSE values of the file
    command: list[str] = field(default_factory=list)  # ENTRYPOINT + CMD words of the file
    packages: set[str] = field(default_factory=set)

    @property
    def user(self) -> str | None:
        """The user it starts as: its own USER, else the base's (None when unknown)."""
        if self.own_user:
            return self.own_user
        return self.base.user if self.base else None

    @property
    def wrapper(self) -> bool:
        """A known serving image with the file's additions: the base's program runs."""
        return self.base is not None and self.base.serves is not False and not self.command


def built_image(doc, stage) -> BuiltImage:
    chain = stage_chain(doc, stage)
    ref = external_base(doc, stage)
    user = next((" ".join(s.last("USER").value) for s in chain if s.last("USER")), None)
    ports = [v for s in chain for ins in s.find("EXPOSE") for v in ins.value]
    entry = next((s.last("ENTRYPOINT") for s in chain if s.last("ENTRYPOINT")), None)
    cmd = next((s.last("CMD") for s in chain if s.last("CMD")), None)
    words = [w for ins in (entry, cmd) if ins is not None
             for w in (list(ins.value) if ins.json else " ".join(ins.value).split())]
    return BuiltImage(doc.path, stage, ref, imagedb.lookup(ref), user, ports, words, installed(doc, stage))


@dataclass(slots=True)
class ServiceBuild:
    """A compose service that builds a Dockerfile: plain facts, no parse kept (an index of
    these lives for the whole run)."""

    compose: str                   # the compose file's path
    name: str
    line: int                      # 1-based line of the service
    dockerfile: str
    target: str | None
    command: list[str] | None      # the service's command: override, None when it has none
    entrypoint: list[str] | None
    image: str                     # its `image:` (the name the build is tagged with), "" when none
    own_healthcheck: bool          # `healthcheck:` written in the service itself
    health_test: str               # its healthcheck test as one line, extends and anchors followed


def service_build(doc, svc, ctx, name: str = "") -> ServiceBuild | None:
    """The Dockerfile a compose service builds, None when there is none or it cannot be read."""
    build = lookup(doc, svc, "build", ctx)
    if build is None or build is UNKNOWN:
        return None
    target = None
    if isinstance(build, ScalarNode):
        context, dockerfile = build.value, "Dockerfile"
    elif isinstance(build, MappingNode):
        if get(build, "dockerfile_inline") is not None:
            return None
        context = scalar(get(build, "context")) or "."
        dockerfile = scalar(get(build, "dockerfile")) or "Dockerfile"
        target = scalar(get(build, "target"))
    else:
        return None
    if interpolated(context) or interpolated(dockerfile) or "://" in context:
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), context, dockerfile))
    return ServiceBuild(doc.path, name, svc.start_mark.line + 1, path, target,
                        _words(lookup(doc, svc, "command", ctx)), _words(lookup(doc, svc, "entrypoint", ctx)),
                        scalar(get(svc, "image")) or "", get(svc, "healthcheck") is not None,
                        _health_test(lookup(doc, svc, "healthcheck", ctx)))


def _health_test(hc) -> str:
    test = get(hc, "test") if isinstance(hc, MappingNode) else None
    if isinstance(test, SequenceNode):
        return " ".join(scalar(i) or "" for i in test.value)
    return scalar(test) or "" if isinstance(test, ScalarNode) else ""


def _words(node) -> list[str] | None:
    if node is None or node is UNKNOWN:
        return None
    if isinstance(node, SequenceNode):
        return [scalar(i) or "" for i in node.value]
    return (scalar(node) or "").split()


def stage_of(ctx, sb: ServiceBuild):
    """(Dockerfile document, stage) a service builds, None when fixer cannot read it."""
    df = ctx.document(sb.dockerfile)
    stages = getattr(df, "stages", None)
    if not stages:
        return None
    if sb.target:
        st = next((s for s in stages if (s.name or "").lower() == sb.target.lower()), None)
        return (df, st) if st is not None else None
    return df, stages[-1]


def service_image(doc, svc, ctx) -> BuiltImage | None:
    """The image an own-build service runs, read from its Dockerfile."""
    sb = service_build(doc, svc, ctx)
    found = stage_of(ctx, sb) if sb and ctx is not None else None
    return built_image(*found) if found else None


def builders(ctx, path: str) -> list[ServiceBuild]:
    """Compose services of the repository that build the Dockerfile at `path`."""
    key = "image-facts-builders"
    if key not in ctx.shared:
        index: dict[str, list[ServiceBuild]] = {}
        for comp in ctx.documents(("compose",)):
            for name, _, svc in services(comp):
                sb = service_build(comp, svc, ctx, name) if svc is not None else None
                if sb:
                    index.setdefault(sb.dockerfile, []).append(sb)
        ctx.shared[key] = index
    return ctx.shared[key].get(posixpath.normpath(path), [])
