"""Helpers shared by the compose codemods.

Lookups follow merge keys (`<<: *x`) and `extends`, so a key a service
inherits counts as present; fixes always go on the service itself.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import imagedb
from .codemod import Skip
from .project import SWARM_IGNORED
from .yamldoc import YamlFile, get, has_own, items, scalar

UNKNOWN = object()      # a lookup that goes through an `extends` fixer cannot read

_INTERP = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?+])?([^}]*)\}")


def services(doc: YamlFile):
    """(name, key node, service mapping or None) for each service of a compose file."""
    if not doc.docs:
        return
    root = doc.docs[0]
    svcs = get(root, "services")
    if not isinstance(svcs, MappingNode):
        return
    for k, v in svcs.value:
        name = getattr(k, "value", None)
        if not isinstance(name, str) or name == "<<":
            continue
        yield name, k, (v if isinstance(v, MappingNode) else None)


def service_map(doc: YamlFile) -> dict:
    return {name: svc for name, _, svc in services(doc)}


def expand(value: str) -> str:
    """`${VAR:-default}` -> default, `${VAR}` -> '' (what the file says without an environment)."""
    return _INTERP.sub(lambda m: m.group(3) if m.group(2) in ("-", ":-") else "", value)


def interpolated(value: str | None) -> bool:
    return bool(value) and "$" in value


def lookup(doc: YamlFile, svc: MappingNode, key: str, ctx=None, _depth: int = 0):
    """Value node of a service key through merge keys and `extends`.

    None when absent, UNKNOWN when an `extends` target cannot be read.
    """
    node = get(svc, key)
    if node is not None or key == "extends":
        return node
    ext = get(svc, "extends")
    if ext is None:
        return None
    if _depth > 5:
        return UNKNOWN
    base = extends_target(doc, ext, ctx)
    if base is None:
        return UNKNOWN
    bdoc, bsvc = base
    return lookup(bdoc, bsvc, key, ctx, _depth + 1)


def extends_target(doc: YamlFile, ext, ctx):
    """(document, service mapping) an `extends` points at, or None."""
    if isinstance(ext, ScalarNode):
        name, file = ext.value, None
    elif isinstance(ext, MappingNode):
        name, file = scalar(get(ext, "service")), scalar(get(ext, "file"))
    else:
        return None
    if not name:
        return None
    target = doc
    if file:
        if ctx is None or interpolated(file):
            return None
        path = posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), file))
        target = ctx.document(path)
        if target is None or not hasattr(target, "docs"):
            return None
    svc = service_map(target).get(name)
    return (target, svc) if isinstance(svc, MappingNode) else None


def image_of(doc, svc, ctx=None) -> str | None:
    node = lookup(doc, svc, "image", ctx)
    return scalar(node) if node is not UNKNOWN else None


def has_build(doc, svc, ctx=None) -> bool:
    node = lookup(doc, svc, "build", ctx)
    return node is not None and node is not UNKNOWN


def partial(doc, svc, ctx=None) -> bool:
    """A service without image or build: a piece of an overlay merged with `-f`."""
    return image_of(doc, svc, ctx) is None and not has_build(doc, svc, ctx)


def split_image(image: str) -> tuple[str, str]:
    """(repository path, tag) of an image reference, interpolation expanded."""
    ref = expand(image).strip().split("@", 1)[0]
    repo, tag = ref, ""
    if ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
    return repo.lower(), tag


def family(image: str | None) -> str | None:
    """The knowledge base entry an image is (fixer/data/images), None when unknown."""
    facts = imagedb.lookup(expand(image)) if image else None
    return facts.name if facts else None


def major(image: str | None) -> int | None:
    """Leading version number of the tag (`16-alpine` -> 16), None for `latest` or none."""
    if not image:
        return None
    m = re.match(r"v?(\d+)", split_image(image)[1])
    return int(m.group(1)) if m else None


def service_family(doc, svc, ctx=None) -> str | None:
    return family(image_of(doc, svc, ctx))


def is_datastore(doc, svc, ctx=None) -> bool:
    image = image_of(doc, svc, ctx)
    facts = imagedb.lookup(expand(image)) if image else None
    return bool(facts and facts.datastore)


def is_true(node) -> bool:
    v = scalar(node)
    return v is not None and v.strip().lower() in ("true", "yes", "on", "1")


def seq_values(node) -> list[str]:
    return [scalar(i) or "" for i in node.value] if isinstance(node, SequenceNode) else []


def volume_mounts(node) -> list[tuple[object, str, str, bool]]:
    """(item node, source, target, read_only) of a service's volumes."""
    out = []
    if not isinstance(node, SequenceNode):
        return out
    for item in node.value:
        if isinstance(item, ScalarNode):
            parts = item.value.split(":")
            if len(parts) == 1:
                out.append((item, "", parts[0], False))
            else:
                opts = parts[2].split(",") if len(parts) > 2 else []
                out.append((item, parts[0], parts[1], "ro" in opts))
        elif isinstance(item, MappingNode):
            out.append((item, scalar(get(item, "source")) or "", scalar(get(item, "target")) or "",
                        is_true(get(item, "read_only"))))
    return out


def env_pairs(node):
    """(key, value or None, value node or item node, form) of an `environment:` node.

    form is 'map' (value node is the mapping value) or 'list' (node is the KEY=VALUE item).
    """
    out = []
    if isinstance(node, MappingNode):
        for k, v in items(node):
            out.append((k, scalar(v) if isinstance(v, ScalarNode) and v.tag != "tag:yaml.org,2002:null"
                        else None, v, "map"))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            s = scalar(item)
            if s is None:
                continue
            k, sep, v = s.partition("=")
            out.append((k.strip(), v if sep else None, item, "list"))
    return out


def is_overlay_name(path: str) -> bool:
    return "override" in posixpath.basename(path).lower()


def overlay(doc, ctx=None) -> bool:
    """An override file, or one with partial services merged onto a base file."""
    if is_overlay_name(doc.path):
        return True
    return any(svc is not None and partial(doc, svc, ctx) for _, _, svc in services(doc))


def top(doc, key: str):
    return get(doc.docs[0], key) if doc.docs else None


def own_or_inherited(svc, key: str) -> str | None:
    """'own', 'inherited' (through a merge key) or None."""
    if has_own(svc, key):
        return "own"
    return "inherited" if get(svc, key) is not None else None


def read_side_file(ctx, path: str) -> str | None:
    """Text of a non-infrastructure file (e.g. `.env.example`), made editable in the workspace.

    '' when it does not exist, None when it exists but cannot be read.
    """
    ws = ctx.ws
    st = ws.files.get(path)
    if st is not None:
        return st.text or ""
    if not ctx.exists(path):
        return ""
    text = ctx.read(path)
    if text is None:
        return None
    ws.add(path, "", "100644", text, False)
    return text


def service_skip(doc, name: str, svc, ctx=None) -> str | None:
    """Why a service cannot be fixed at all, or None."""
    if svc is None:
        return f"service {name} is not a mapping"
    if lookup(doc, svc, "image", ctx) is UNKNOWN:
        return f"service {name} extends a service fixer cannot read"
    if partial(doc, svc, ctx):
        return f"service {name} has no image or build (a partial service of an overlay): fix the base file"
    if get(svc, "extends") is not None:
        return f"service {name} extends another service: the fix goes on that service"
    return None


def container_ports(doc, svc, ctx=None) -> list[int]:
    """Container-side port numbers a service publishes or exposes."""
    out = []
    for key in ("ports", "expose"):
        node = lookup(doc, svc, key, ctx)
        if not isinstance(node, SequenceNode):
            continue
        for item in node.value:
            if isinstance(item, MappingNode):
                v = scalar(get(item, "target")) or ""
            else:
                v = expand(scalar(item) or "").split("/")[0].rsplit(":", 1)[-1]
            m = re.match(r"(\d+)", v)
            if m:
                out.append(int(m.group(1)))
    return out


def build_file(doc, build) -> tuple[str | None, str | None, str | None]:
    """(Dockerfile path, inline Dockerfile text, target) of a service's `build:`; the path is
    None when it is computed (variables, a remote context) or given inline."""
    if isinstance(build, ScalarNode):
        context, dockerfile, target = build.value, "Dockerfile", None
    else:
        context = scalar(get(build, "context")) or "."
        dockerfile = scalar(get(build, "dockerfile")) or "Dockerfile"
        target = scalar(get(build, "target"))
        inline = scalar(get(build, "dockerfile_inline"))
        if inline is not None:
            return None, inline, target
    if interpolated(context) or interpolated(dockerfile) or "://" in context:
        return None, None, target
    return posixpath.normpath(posixpath.join(posixpath.dirname(doc.path), context, dockerfile)), None, target


def dockerfile_user(doc, svc, ctx) -> str | None:
    """The USER of the last stage of a service's own Dockerfile, when fixer can read it."""
    build = lookup(doc, svc, "build", ctx)
    if build is None or build is UNKNOWN or ctx is None:
        return None
    path, _, target = build_file(doc, build)
    if path is None:
        return None
    df = ctx.document(path)
    stages = getattr(df, "stages", None)
    if not stages:
        return None
    stage = stages[-1]
    if target:
        stage = next((s for s in stages if (s.name or "").lower() == target.lower()), None)
        if stage is None:
            return None
    user = None
    for ins in stage.instructions:
        if ins.cmd.lower() == "user":
            user = (ins.value[0] if ins.value else "").strip()
    return user


def non_root(user: str | None) -> bool:
    if not user or interpolated(user):
        return False
    u = user.split(":")[0].strip()
    return u not in ("", "0", "root")


def append_all(doc, seq, values):
    """One splice appending several items to a sequence (block or flow)."""
    from .text import Edit
    from .yamldoc import render_flow

    if not seq.value:
        return doc.replace(seq.start_mark.index, seq.end_mark.index,
                           "[" + ", ".join(render_flow(v) for v in values) + "]")
    first = doc.append_item(seq, values[0])
    text = first.text + "".join(doc.append_item(seq, v).text for v in values[1:])
    return Edit(first.path, first.start, first.end, text)


def remove_item(doc, mapping, key: str, seq, item):
    """Edit removing one item of a block sequence (the whole `key:` entry when it is the last)."""
    if seq.flow_style:
        return None
    if len(seq.value) == 1:
        return doc.remove_entry(mapping, key)
    first = doc.line_of(item.start_mark.index)
    before = doc.line_text(first)[: item.start_mark.column]
    if before.strip() != "-":
        return None
    last = doc.last_line(item)
    return doc.replace(doc.line_start(first), doc.line_end(last), "")


@dataclass(slots=True)
class Target:
    """A service a compose codemod may fix."""

    name: str
    key: Node               # the service's key in `services:`
    node: MappingNode
    line: int


def each_service(doc, ctx, adds: tuple[str, ...] = (), later: tuple[str, ...] | None = None,
                 base_only: bool = True):
    """The services of a compose file a codemod may fix, or a Skip with the reason.

    Left alone: what `service_skip` names; on a Swarm stack, a service when the codemod
    `adds` keys `docker stack deploy` ignores; with `base_only`, a service an earlier file
    of its project defines (the fix belongs there) or one a later overlay sets one of the
    `later` keys for (default: `adds`), since the overlay's value wins.
    """
    model = getattr(ctx, "model", None) if ctx is not None else None
    ignored = [k for k in adds if k in SWARM_IGNORED]
    stack = model.stack(doc.path) if model is not None and ignored else None
    for name, key, svc in services(doc):
        line = key.start_mark.line + 1
        why = service_skip(doc, name, svc, ctx)
        if why:
            yield Skip(doc.path, line, why)
            continue
        if stack:
            yield Skip(doc.path, line, f"service {name}: a Swarm stack ({stack}); docker stack deploy "
                       f"ignores {', '.join(ignored)}")
            continue
        dev = model.dev_container(doc.path, name) if model is not None else None
        if dev:
            yield Skip(doc.path, line, f"service {name}: a development environment ({dev} runs this "
                       "file): sudo, editor servers and tools need a writable root that gains privileges")
            continue
        if model is not None and base_only:
            base = model.base_of(doc.path, name)
            if base:
                yield Skip(doc.path, line, f"service {name} is defined in {base}, which this file overlays: "
                           "the fix goes there")
                continue
            over = model.set_later(doc.path, name, adds if later is None else later)
            if over:
                yield Skip(doc.path, line, f"service {name}: {over[0]} sets {over[1]} for it and wins "
                           "over this file")
                continue
        yield Target(name, key, svc, line)


def root_user(doc, svc, ctx=None) -> str | None:
    """The `user:` value when a service runs as root on purpose (`root`, `0`, `0:0`)."""
    node = lookup(doc, svc, "user", ctx)
    user = scalar(node) if node is not None and node is not UNKNOWN else None
    if user is None or interpolated(user):
        return None
    return user if user.split(":")[0].strip() in ("0", "root") else None


def words(value) -> list[str]:
    """Words of a `command:`/`entrypoint:` value as the shell would split a string, or the
    list items (plain data, as the safe loader builds it)."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    return [str(w) for w in value] if isinstance(value, list) else []
