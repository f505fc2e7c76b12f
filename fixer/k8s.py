"""Kubernetes workloads in manifests and Helm templates: find pod specs and containers,
and add YAML where it is safe (outside every template action)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Iterator

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import helm
from .text import Edit
from .yamldoc import (ParseError, to_python, get, has_own, render_entry, render_flow, render_scalar,
                       render_value_lines, scalar)

POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                      "ReplicationController"}
WORKLOAD_KINDS = POD_TEMPLATE_KINDS | {"Pod", "CronJob"}
JOB_KINDS = {"Job", "CronJob"}
_WORKLOAD_KIND = re.compile(r"^\s*kind:\s*[\"']?(?:" + "|".join(sorted(WORKLOAD_KINDS)) + r"|\{\{)", re.M)

_CONTROL = re.compile(r"^\{\{-?\s*(if|else|end|with|range|define|block|/\*)\b")
_OPEN = re.compile(r"^\{\{-?\s*(if|with|range|define|block)\b")
_END = re.compile(r"^\{\{-?\s*end\b")
_VALUES = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")


class Unsafe(Exception):
    """No place to edit outside template actions; str() is the reason."""


@dataclass
class Workload:
    kind: str
    name: str | None           # None when it is not a plain string (a template action)
    namespace: str | None
    node: MappingNode          # the resource
    pod_spec: MappingNode
    line: int                  # 1-based line of `kind:`

    @property
    def is_job(self) -> bool:
        return self.kind in JOB_KINDS

    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind


@dataclass
class Container:
    node: MappingNode
    name: str | None
    init: bool                 # an initContainer
    index: int

    def label(self) -> str:
        kind = "init container" if self.init else "container"
        return f"{kind} {self.name}" if self.name else f"{kind} #{self.index + 1}"


def is_template(doc) -> bool:
    return isinstance(doc, helm.HelmTemplate)


def _plain(doc, node) -> str | None:
    """A scalar's value unless it is (part of) a template action."""
    v = scalar(node)
    if v is None:
        return None
    if is_template(doc) and doc.has_action(node.start_mark.index, node.end_mark.index):
        return None
    return v


def resources(doc) -> Iterator[MappingNode]:
    """Every resource mapping: documents and the items of `kind: List`."""
    for root in doc.docs:
        if not isinstance(root, MappingNode):
            continue
        if scalar(get(root, "kind")) == "List" or scalar(get(root, "kind")) is not None \
                and str(scalar(get(root, "kind"))).endswith("List"):
            items = get(root, "items")
            if isinstance(items, SequenceNode):
                for it in items.value:
                    if isinstance(it, MappingNode):
                        yield it
            continue
        yield root


def pod_spec_of(res: MappingNode, kind: str) -> MappingNode | None:
    if kind == "Pod":
        spec = get(res, "spec")
    elif kind == "CronJob":
        spec = get(get(get(get(get(res, "spec"), "jobTemplate"), "spec"), "template"), "spec")
    else:
        spec = get(get(get(res, "spec"), "template"), "spec")
    return spec if isinstance(spec, MappingNode) else None


def may_hold_workload(text: str) -> bool:
    """Cheap test before parsing: a workload kind (or a templated kind) appears."""
    return _WORKLOAD_KIND.search(text) is not None


def may_edit_workload(text: str) -> bool:
    """The workload codemods' cheap test: a workload kind and its pod template or containers."""
    return ("containers" in text or "template" in text) and may_hold_workload(text)


def hidden_pod_specs(doc) -> Iterator[tuple[int, str]]:
    """(line, reason) of workloads whose pod spec a template action renders out of sight."""
    for res in resources(doc):
        kind_node = get(res, "kind")
        kind = scalar(kind_node)
        if kind in WORKLOAD_KINDS and pod_spec_of(res, kind) is None and is_template(doc):
            yield kind_node.start_mark.line + 1, (f"{kind}: its pod spec is rendered by a template "
                                                  "action (a helper in _helpers.tpl?); not edited")


def workloads(doc) -> Iterator[Workload]:
    for res in resources(doc):
        kind_node = get(res, "kind")
        kind = scalar(kind_node)
        if kind not in WORKLOAD_KINDS:
            continue
        spec = pod_spec_of(res, kind)
        if spec is None:
            continue
        meta = get(res, "metadata")
        yield Workload(kind, _plain(doc, get(meta, "name")), _plain(doc, get(meta, "namespace")),
                       res, spec, kind_node.start_mark.line + 1)


def containers(doc, spec: MappingNode, init: bool = True) -> Iterator[Container]:
    keys = ("initContainers", "containers") if init else ("containers",)
    for key in keys:
        seq = get(spec, key)
        if not isinstance(seq, SequenceNode):
            continue
        for i, c in enumerate(seq.value):
            if isinstance(c, MappingNode):
                yield Container(c, _plain(doc, get(c, "name")), key == "initContainers", i)


def privileged_node_agent(w: Workload) -> str | None:
    """The reason a workload is a node agent that needs host access, or None."""
    spec = w.pod_spec
    for key in ("hostPID", "hostNetwork", "hostIPC"):
        if scalar(get(spec, key)) in ("true", "True"):
            return f"{w.label()} uses {key}: true (a node agent)"
    if w.kind == "DaemonSet":
        vols = get(spec, "volumes")
        for v in getattr(vols, "value", []) if isinstance(vols, SequenceNode) else []:
            if has_own(v, "hostPath"):
                return f"{w.label()} mounts a hostPath volume (a node agent)"
    return None


# -- Helm: where actions render structure ---------------------------------------------

def action_lines(doc) -> set[int]:
    """0-based lines that hold only template actions (masked into comments)."""
    if not is_template(doc):
        return set()
    cache = getattr(doc, "_k8s_action_lines", None)
    if cache is None:
        cache = set()
        src, text = doc.source.split("\n"), doc.text.split("\n")
        for i, (m, t) in enumerate(zip(src, text)):
            if m.strip().startswith("#") and not t.strip().startswith("#"):
                cache.add(i)
        doc._k8s_action_lines = cache
    return cache


def _actions_in(doc, start: int, end: int) -> list[str]:
    return [m.group(0) for m in helm.actions(doc.text) if m.start() < end and m.end() > start]


def control_depth(doc, start: int, end: int) -> int | None:
    """Net nesting of if/with/range blocks opened in text[start:end]; None if one closes
    a block opened before `start` (the range leaves a block)."""
    depth = 0
    for m in helm.actions(doc.text):
        if m.start() < start or m.start() >= end:
            continue
        a = m.group(0)
        if _OPEN.match(a):
            depth += 1
        elif _END.match(a):
            depth -= 1
            if depth < 0:
                return None
    return depth


def open_scopes(doc, offset: int) -> list[tuple[str, str, bool]]:
    """(keyword, action text, in an else branch) of the blocks open at `offset`."""
    stack: list[list] = []
    for m in helm.actions(doc.text):
        if m.start() >= offset:
            break
        a = m.group(0)
        o = _OPEN.match(a)
        if o:
            stack.append([o.group(1), a, False])
        elif _END.match(a) and stack:
            stack.pop()
        elif re.match(r"^\{\{-?\s*else\b", a) and stack:
            stack[-1][2] = True
    return [tuple(x) for x in stack]


def _next_literal_line(doc, line: int) -> int:
    """First line after `line` that is neither blank nor action-only (or the line count)."""
    acts = action_lines(doc)
    n = len(doc.line_starts)
    i = line + 1
    while i < n and (i in acts or not doc.line_text(i).strip()):
        i += 1
    return i


def value_actions(doc, key: Node, value: Node) -> list[str] | None:
    """The actions that render a key's value, or None when the value is literal YAML.

    `key: {{ toYaml .Values.x }}` or `key:` followed by action-only lines such as
    `{{- toYaml .Values.x | nindent 12 }}`.
    """
    if not is_template(doc):
        return None
    if isinstance(value, ScalarNode):
        if value.value in ("", None) or value.start_mark.index == value.end_mark.index:
            line = key.start_mark.line
            nxt = _next_literal_line(doc, line)
            out = []
            for a in _actions_in(doc, key.end_mark.index, doc.line_start(nxt)):
                if _CONTROL.match(a):
                    break  # `{{- end }}`: what follows belongs to something else
                out.append(a)
            return out or None
        if doc.has_action(value.start_mark.index, value.end_mark.index):
            return _actions_in(doc, value.start_mark.index, value.end_mark.index)
    return None


def rendered_entries(doc, mapping: MappingNode) -> str | None:
    """An action that renders entries of this mapping (so keys may be invisible), or None.

    Action-only lines indented deeper than the keys belong to a nested value; so do the
    lines right after a key with an empty value (`key:` then `{{- toYaml … }}`).
    """
    if not is_template(doc) or mapping.flow_style or not mapping.value:
        return None
    acts = action_lines(doc)
    col = mapping.value[0][0].start_mark.column
    first = mapping.value[0][0].start_mark.line
    last = doc.last_line(mapping)
    end = _next_literal_line(doc, last)
    owned: set[int] = set()
    for k, v in mapping.value:
        if isinstance(v, ScalarNode) and not v.value:
            owned.update(range(k.start_mark.line + 1, _next_literal_line(doc, k.start_mark.line)))
        if isinstance(v, (MappingNode, SequenceNode)) and v.value:
            hi = doc.last_line(v)
            owned.update(range(k.start_mark.line + 1, hi + 1))
            # the empty last key of a nested block owns the action lines after it
            owned.update(range(hi + 1, _next_literal_line(doc, hi)))
    # `parent: {{- include … | nindent 4 }}` on the line above renders entries too
    if first > 0:
        above = doc.line_start(first - 1)
        for m in helm.actions(doc.text):
            if above <= m.start() < doc.line_end(first - 1) and doc.source[m.start()] == "#" \
                    and doc.text[above:m.start()].strip():
                return m.group(0)
    for i in range(first, end):
        if i not in acts or i in owned:
            continue
        line = doc.line_text(i)
        indent = len(line) - len(line.lstrip(" "))
        if indent > col or (i > last and indent < col):
            continue
        a = line.strip()
        if not _CONTROL.match(a):
            return a
    return None


def values_path(doc, key: Node, value: Node) -> tuple[str | None, str]:
    """The `.Values` path whose content a key's value renders as YAML, and a reason if unclear."""
    acts = value_actions(doc, key, value)
    if not acts:
        return None, "not rendered by an action"
    paths: set[str] = set()
    for a in acts:
        if "toYaml" not in a:
            return None, f"rendered by {a}"
        ps = _VALUES.findall(a)
        if not ps:
            # `{{- with .Values.x }}` right before the key, then `toYaml .`
            if re.search(r"toYaml\s+\.\s*[|}]|\.\s*\|\s*toYaml", a):
                w = _with_before(doc, key)
                if w:
                    paths.add(w)
                    continue
            return None, f"rendered by {a}"
        paths.update(ps)
        if not re.search(r"(toYaml|omit)\s+\$?\.Values[\w.-]*\s*[|}\")]|\$?\.Values[\w.-]*\s*\|\s*toYaml", a):
            return None, f"rendered by {a}"
    if len(paths) != 1:
        return None, "rendered from several values: " + ", ".join(sorted(paths))
    return paths.pop().lstrip("."), ""


def _with_before(doc, key: Node) -> str | None:
    line = key.start_mark.line - 1
    while line >= 0 and not doc.line_text(line).strip():
        line -= 1
    if line < 0:
        return None
    m = re.match(r"^\s*\{\{-?\s*with\s+\$?\.Values((?:\.[\w-]+)+)\s*-?\}\}\s*$", doc.line_text(line))
    return m.group(1) if m else None


def chart_dir(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    if "templates" in parts:
        i = len(parts) - 1 - list(reversed(parts)).index("templates")
        return "/".join(parts[:i])
    return None


def join(*parts: str) -> str:
    return "/".join(p for p in parts if p)


def values_node(vdoc, path: str) -> Node | None:
    node = vdoc.docs[0] if vdoc.docs else None
    for part in path.split("."):
        node = get(node, part)
        if node is None:
            return None
    return node


# -- adding YAML ---------------------------------------------------------------------

def local_seq_off(doc, node: Node) -> int:
    """How far `- ` sits from its key in block sequences near `node` (the file's style
    when there are none): files mixing both styles get the local one."""
    from .yamldoc import walk
    for n in walk(node):
        if isinstance(n, MappingNode) and not n.flow_style:
            for k, v in n.value:
                if isinstance(v, SequenceNode) and not v.flow_style and v.value \
                        and v.start_mark.line > k.start_mark.line:
                    return doc._dash_column(v) - k.start_mark.column
    return doc._seq_off()


def add_entry(doc, mapping: MappingNode, key: str, value: Any) -> Edit:
    """doc.add_entry, or for a Helm template an insertion outside every action."""
    if mapping.flow_style or not mapping.value:
        if is_template(doc) and doc.has_action(mapping.start_mark.index, mapping.end_mark.index):
            raise Unsafe("the mapping holds template actions")
        return doc.add_entry(mapping, key, value)
    if is_template(doc):
        reason = rendered_entries(doc, mapping)
        if reason:
            raise Unsafe(f"entries are rendered by {reason}")
        line = safe_line(doc, [v for _, v in mapping.value], mapping.value[0][0])
    else:
        line = doc.last_line(mapping)
    col = mapping.value[0][0].start_mark.column
    lines = render_entry(key, value, col, doc.indent_step(), local_seq_off(doc, mapping))
    return doc.insert_lines_after(line, lines)


def append_item(doc, seq: SequenceNode, value: Any) -> Edit:
    if not is_template(doc) or seq.flow_style or not seq.value:
        if is_template(doc) and doc.has_action(seq.start_mark.index, seq.end_mark.index):
            raise Unsafe("the list holds template actions")
        return doc.append_item(seq, value)
    line = safe_line(doc, seq.value, seq.value[0])
    dash = doc._dash_column(seq)
    item = render_value_lines(value, dash + 2, doc.indent_step(), doc._seq_off())
    if isinstance(value, (dict, list)):
        lines = [" " * dash + "- " + item[0].lstrip(" ")] + item[1:]
    else:
        lines = [" " * dash + "- " + item[0].lstrip(" ")]
    return doc.insert_lines_after(line, lines)


def safe_line(doc, children: list[Node], first: Node) -> int:
    """Last line after which new YAML can go: not before an action line, not inside a block."""
    acts = action_lines(doc)
    start = _scope_base(doc, first)
    for child in reversed(children):
        line = doc.last_line(child)
        nxt = line + 1
        while nxt < len(doc.line_starts) and not doc.line_text(nxt).strip():
            nxt += 1
        # step past `{{- end }}` lines that close blocks opened inside this node
        while nxt in acts and _END.match(doc.line_text(nxt).strip()) \
                and (control_depth(doc, start, doc.line_end(line)) or 0) > 0:
            line = nxt
            nxt = line + 1
            while nxt < len(doc.line_starts) and not doc.line_text(nxt).strip():
                nxt += 1
        if nxt in acts and not _END.match(doc.line_text(nxt).strip()) \
                and not _CONTROL.match(doc.line_text(nxt).strip()):
            continue  # the next line renders something that belongs here
        if isinstance(child, ScalarNode) and not child.value and nxt in acts:
            continue
        if control_depth(doc, start, doc.line_end(line)) != 0:
            continue
        return line
    # else at the top, right under the parent key (`spec:` then the new entry)
    fl = first.start_mark.line
    if isinstance(first, ScalarNode) and not doc.line_text(fl)[:first.start_mark.column].strip() \
            or isinstance(first, (MappingNode, SequenceNode, ScalarNode)) and \
            doc.line_text(fl).lstrip().startswith("- ") and _dash_first(doc, first):
        above = fl - 1
        while above >= 0 and (above in acts or not doc.line_text(above).strip()):
            above -= 1
        if above >= 0 and doc.line_text(above).rstrip().endswith(":") \
                and not doc.has_action(doc.line_start(above), doc.line_end(above)):
            return above
    raise Unsafe("no place outside template blocks")


def _scope_base(doc, first: Node) -> int:
    """Where the blocks a new entry must share are counted from: the end of the parent
    key's line (a block opening between it and the first key, `{{- if … }}` or
    `{{- with … }}` on the line above, holds only some entries), or the first key itself
    when it shares a line with its `- `."""
    fl = first.start_mark.line
    if doc.line_text(fl)[:first.start_mark.column].strip():
        return first.start_mark.index
    acts = action_lines(doc)
    above = fl - 1
    while above >= 0 and (above in acts or not doc.line_text(above).strip()):
        above -= 1
    return doc.line_end(above) if above >= 0 else 0


def conditional_block(doc, outer: Node, inner: Node) -> str | None:
    """The action opening a block that holds `inner` but not `outer` (None: `inner`
    renders whenever `outer` does)."""
    have = open_scopes(doc, outer.start_mark.index)
    extra = open_scopes(doc, inner.start_mark.index)[len(have):]
    return extra[0][1] if extra else None


def _dash_first(doc, node) -> bool:
    """`node` is the first item of a block sequence whose `- ` starts its line."""
    line = doc.line_text(node.start_mark.line)
    return line[:node.start_mark.column].strip() == "-"


def replace_pair(doc, key: Node, value: Node, new_key: str, new_value: Any, flow: bool,
                 moves_action: bool = False) -> Edit:
    """Replace `key: value` by `new_key: new_value` in place. moves_action: the caller
    writes the value's actions into another template in the same fix."""
    if is_template(doc) and doc.has_action(key.start_mark.index, value.start_mark.index):
        raise Unsafe("the entry holds a template action")
    if is_template(doc) and not moves_action and doc.has_action(value.start_mark.index,
                                                                 doc.content_end(value)):
        raise Unsafe("the entry holds a template action")
    if flow:
        return doc.replace(key.start_mark.index, doc.content_end(value),
                           f"{render_scalar(new_key)}: {render_flow(new_value)}")
    col = key.start_mark.column
    lines = render_entry(new_key, new_value, col, doc.indent_step(), doc._seq_off())
    text = lines[0][col:] + "".join(doc.newline + ln for ln in lines[1:])
    return doc.replace(key.start_mark.index, doc.content_end(value), text)


def parse_or_reason(doc) -> str | None:
    """Why a file cannot be edited (None: it can). Plain manifests must also load as data
    (`{{uid}}`-style placeholders compose but do not load)."""
    try:
        doc.docs
    except ParseError as exc:
        if is_template(doc):
            return f"template is not YAML once its actions are masked: {exc}"
        raise
    if not is_template(doc):
        cached = getattr(doc, "_k8s_load_error", False)
        if cached is False:
            import yaml
            try:
                for d in doc.docs:
                    to_python(d)
                cached = None
            except yaml.YAMLError as exc:
                cached = "does not load as YAML data: " + str(exc).splitlines()[0]
            doc._k8s_load_error = cached
        return cached
    return None


# -- chart values ----------------------------------------------------------------------

def values_defaults(ctx, doc, key, value, wanted: dict[str, Any], parent: MappingNode | None = None,
                    keep=None):
    """Edits adding `wanted` entries to the values.yaml block a template renders at `key: value`.

    Returns (edits, added keys, reason). Keys the block already has are kept; `keep(node)`
    may drop wanted keys given the values block. A key the template renders in several
    if/else branches (a preset when the value is empty, say) is left alone.
    """
    if parent is not None and sum(1 for k, _ in parent.value if scalar(k) == key.value) > 1:
        return [], [], f"{key.value} is rendered in several if/else branches"
    path, why = values_path(doc, key, value)
    if path is None:
        return [], [], why
    chart = chart_dir(doc.path)
    vpath = join(chart or "", "values.yaml")
    vdoc = ctx.document(vpath)
    if vdoc is None:
        return [], [], f"renders .Values.{path} and {vpath} is not there"
    try:
        reason = parse_or_reason(vdoc)
    except ParseError as exc:       # the values file is at fault, not the template
        ctx.error(vpath, str(exc))
        return [], [], f"{vpath}: {exc}"
    if reason:
        return [], [], reason
    node = values_node(vdoc, path)
    if not isinstance(node, MappingNode):
        return [], [], f"renders .Values.{path}, which is not a mapping in {vpath}"
    if scalar(get(node, "enabled")) in ("false", "False"):
        return [], [], f".Values.{path}.enabled is false"
    if keep is not None:
        wanted = keep(node, dict(wanted))
    done = ctx.shared.setdefault("k8s-values", set())
    edits, added = [], []
    missing = {k: v for k, v in wanted.items() if get(node, k) is None and (vpath, path, k) not in done}
    if not missing:
        return [], [], ""
    edits += add_entries(vdoc, node, missing)
    for k in missing:
        done.add((vpath, path, k))
        added.append(k)
    return edits, added, ""


def add_entries(doc, node: MappingNode, entries: dict[str, Any]) -> list[Edit]:
    """Add several entries; an empty `{}` is filled in one edit (a block under `key: {}`)."""
    if node.flow_style and not node.value:
        if is_template(doc) and doc.has_action(node.start_mark.index, node.end_mark.index):
            raise Unsafe("the mapping holds template actions")
        col = _block_parent(doc, node)
        if col is not None:
            lines = render_value_lines(entries, col + doc.indent_step(), doc.indent_step(),
                                       local_seq_off(doc, node))
            start = node.start_mark.index
            while start > 0 and doc.text[start - 1] == " ":
                start -= 1
            return [doc.replace(start, node.end_mark.index, "".join(doc.newline + ln for ln in lines))]
    if node.flow_style:
        return [_flow_all(doc, node, entries)]
    return [add_entry(doc, node, k, v) for k, v in entries.items()]


def _block_parent(vdoc, node) -> int | None:
    """Column of the key when a `{}` value sits alone after `key:` on its line."""
    line = vdoc.line_text(vdoc.line_of(node.start_mark.index))
    m = re.match(r"^( *)[^\s#][^#]*:\s*\{\s*\}\s*(#.*)?$", line)
    return len(m.group(1)) if m else None


def _flow_all(vdoc, node, missing):
    """All entries at once into a flow mapping (one edit, `{a: 1, b: 2}`)."""
    inner = vdoc.source[node.start_mark.index + 1:node.end_mark.index - 1]
    piece = ", ".join(f"{render_scalar(k)}: {render_flow(v)}" for k, v in missing.items())
    if inner.strip():
        stripped = inner.rstrip()
        at = node.start_mark.index + 1 + len(stripped)
        sep = " " if stripped.endswith(",") else ", "
        return vdoc.insert(at, sep + piece)
    return vdoc.replace(node.start_mark.index, node.end_mark.index, "{" + piece + "}")


def ordered(edits):
    """At one offset, deeper insertions first (a nested key before its parent's next key)."""
    def depth(e):
        t = (e.text or "").lstrip("\r\n")
        body = t.lstrip(" ")
        # at one indentation a list item goes before a key: it continues the list above
        return (-(len(t) - len(body)), 0 if body.startswith("- ") else 1)
    return sorted(edits, key=lambda e: (e.path, e.start, depth(e)))
