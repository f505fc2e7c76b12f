"""Every place that builds a Dockerfile, and how to point it at the merged target.

A Ref knows the Dockerfile(s) it builds and rewrites itself given where each one went
(`Dest`); it raises Unsafe when it cannot. Mentions of a Dockerfile path that no Ref
claims block that file: fixer never deletes a file something still uses.
"""
from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field
from typing import Callable

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .. import discovery as disc
from ..text import Edit
from ..yamldoc import get, items, render_scalar, scalar, to_python
from . import shell, shvars
from .merge import EXPR, Unsafe, target_name
from .members import dirname, under


@dataclass
class Dest:
    """Where a merged Dockerfile went."""

    path: str                       # the merged file
    common: str                     # directory its target names are relative to
    names: dict[str, str]           # old path -> target
    stages: dict[str, dict[str, str]]   # old path -> old stage name (lower) -> new


@dataclass
class Ref:
    path: str
    line: int
    files: list[str]                                  # Dockerfiles it builds
    contexts: dict[str, str] = field(default_factory=dict)
    spans: list[tuple[int, int]] = field(default_factory=list)
    rewrite: Callable[[Callable[[str], Dest | None]], list[Edit]] | None = None
    problem: str = ""                                 # set: cannot be rewritten

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def norm(*parts: str) -> str:
    p = posixpath.normpath(posixpath.join(*[x for x in parts if x]))
    return "" if p == "." else p


def relto(path: str, start: str) -> str:
    return posixpath.relpath(path, start or ".")


def quote_like(raw: str, value: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[0] + value + raw[0]
    return value


def map_target(dest: Dest, old: str, given: str | None) -> str:
    if given is None:
        return dest.names[old]
    new = dest.stages[old].get(given.lower())
    if new is None:
        raise Unsafe(f"--target {given} is not a stage of {old}")
    return new


# -- templates ---------------------------------------------------------------

def template_regex(path: str) -> re.Pattern:
    out, pos = [], 0
    for m in EXPR.finditer(path):
        out.append(re.escape(path[pos:m.start()]))
        out.append(f"(?P<v{len(out)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(path[pos:]))
    return re.compile("".join(out) + "$")


def wildcard(value: str) -> str:
    return shell.TEMPLATE.sub("*", value)


class Template:
    """A Dockerfile path with one placeholder (`${{ matrix.x }}` or an f-string `{x}`)."""

    def __init__(self, path: str, values: list[str] | None, members: set[str]):
        self.path = path
        exprs = set(EXPR.findall(path))
        if len(exprs) != 1:
            raise Unsafe(f"{path}: only one placeholder is supported")
        self.expr = exprs.pop()
        rx = template_regex(path)
        if values is None:     # every file that exists and fits
            self.files = {m: rx.match(m).group(1) for m in sorted(members) if rx.match(m)}
        else:
            self.files = {}
            for v in values:
                p = path.replace(self.expr, str(v))
                if p not in members:
                    raise Unsafe(f"{path}: value {v} names {p}, which fixer does not merge")
                self.files[p] = str(v)

    def target(self, dest_of) -> tuple[str, str]:
        """(new file, target template); Unsafe unless every value maps consistently."""
        if not self.files:
            raise Unsafe(f"{self.path}: no Dockerfile matches")
        dests = {p: dest_of(p) for p in self.files}
        if any(d is None for d in dests.values()):
            left = sorted(p for p, d in dests.items() if d is None)[0]
            raise Unsafe(f"{self.path}: {left} is not merged with the others")
        if len({d.path for d in dests.values()}) != 1:
            raise Unsafe(f"{self.path}: the files it can name end in different merged files")
        d = next(iter(dests.values()))
        name = target_name(self.path, d.common)
        for p, v in self.files.items():
            if name.replace(self.expr, v) != d.names[p]:
                raise Unsafe(f"{self.path}: target of {p} is {d.names[p]}, not {name.replace(self.expr, v)}")
        return d.path, name


# -- shell-like text ---------------------------------------------------------

def shell_refs(path: str, kind: str, text: str, members: set[str], exists, matrix_of=None) -> list[Ref]:
    low = posixpath.basename(path).lower()
    if kind == disc.WORKFLOW or kind == disc.YAML:
        bases = [""]
    elif low in ("makefile", "gnumakefile", "justfile") or low.endswith(".mk"):
        bases = [dirname(path)]
    else:
        bases = ["", dirname(path)] if dirname(path) else [""]
    out = []
    scripts: dict[str, shvars.Script] = {}
    if kind == disc.SCRIPT and low not in ("makefile", "gnumakefile", "justfile") and not low.endswith(".mk"):
        scripts["text"] = text
    for c in shell.commands(text, path, kind):
        line = text.count("\n", 0, c.start) + 1
        fv = shell.file_value(c)
        ctx = c.context.value if c.context else None
        ref = Ref(path, line, [])
        spans = [t for t in (c.file, c.context) if t]
        ref.spans = [(t.start, t.end) for t in spans]
        implicit = fv is None
        raw = fv if fv is not None else (ctx + "/Dockerfile" if ctx and ctx != "-" else None)
        if raw is None:
            continue
        templated = bool(shell.TEMPLATE.search(raw))
        matrix = templated and "${{" in raw and matrix_of is not None and all(
            e.replace(" ", "").startswith("${{matrix.") for e in shell.TEMPLATE.findall(raw))
        if templated and not matrix:
            ref.files, ref.problem = _followed(c, raw, implicit, path, bases, members, scripts, ref)
            if ref.files:
                out.append(ref)
            continue
        base = None
        if not templated:
            for b in bases:
                if norm(b, raw) in members:
                    base = b
                    break
            if base is None:
                continue
            ref.files = [norm(base, raw)]
            if ctx and ctx != "-":
                ref.contexts[ref.files[0]] = norm(base, ctx)
        else:
            base = ""
            var = EXPR.search(raw).group(0).replace(" ", "")[len("${{matrix."):-2]
            values = matrix_of(c.start, var)
            try:
                tpl = Template(norm(base, raw), values, members)
            except Unsafe as exc:
                pat = wildcard(raw)
                ref.files = sorted(m for m in members if _fn(m, norm(base, pat)))
                ref.problem = f"{ref.where()}: {exc}"
                if ref.files:
                    out.append(ref)
                continue
            ref.files = sorted(tpl.files)
            if ctx:
                for p, v in tpl.files.items():
                    ref.contexts[p] = norm(base, ctx.replace(tpl.expr, v)) if tpl.expr in ctx else norm(base, ctx)
        if c.problem:
            ref.problem = f"{ref.where()}: {c.problem}"
        elif shell.target_value(c) and templated:
            ref.problem = f"{ref.where()}: --target together with a templated path"
        else:
            ref.rewrite = _shell_rewrite(c, ref, base, implicit, tpl if templated else None)
        out.append(ref)
    return out


def _followed(c, raw: str, implicit: bool, path: str, bases: list[str], members: set[str],
              scripts: dict, ref: Ref) -> tuple[list[str], str]:
    """(files, problem) of a computed Dockerfile path: the files a reader can follow it to
    (loops over literal lists, variables assigned once, call sites of a function, the
    script's own folder), else only those its pattern or its build context could name."""
    word = (c.context.raw if implicit else c.file.raw)
    if "text" in scripts and not isinstance(scripts["text"], shvars.Script):
        scripts["text"] = shvars.read(scripts["text"], path)
    script = scripts.get("text")
    vals = shvars.values(script, word, c.start) if script is not None else None
    ctxs = shvars.values(script, c.context.raw, c.start) if script is not None and c.context else None
    if vals is not None:
        found = []
        for v in vals:
            v = v + "/Dockerfile" if implicit else v
            cands = [norm(v[len(shvars.REPO):])] if v.startswith(shvars.REPO) else [norm(b, v) for b in bases]
            found += [p for p in cands if p in members and p not in found]
        for f in found:
            for cv in ctxs or ():
                for d in [norm(cv[len(shvars.REPO):])] if cv.startswith(shvars.REPO) else [norm(b, cv) for b in bases]:
                    if under(f, d) and len(d) >= len(ref.contexts.get(f, "")):
                        ref.contexts[f] = d
        if not implicit and found:
            try:
                ref.rewrite = _follow_rewrite(c, script, ref, bases, members)
                return sorted(found), ""
            except Unsafe as exc:
                why = str(exc)
        else:
            why = "fixer rewrites only literal paths and matrix values"
        return sorted(found), (f"{ref.where()}: the Dockerfile path {raw} is followed to "
                               f"{', '.join(sorted(found)[:3])}{' …' if len(found) > 3 else ''}, "
                               f"but {why}")
    problem = f"{ref.where()}: the Dockerfile path {raw} is computed when the command runs"
    pat = wildcard(raw)
    if pat.strip("*/"):
        return sorted({m for b in bases for m in members if _fn(m, norm(b, pat))}), problem
    # nothing of the path is known: the folders it builds, else the script's own folder
    dirs = []
    for cv in ctxs or ():
        dirs += [norm(cv[len(shvars.REPO):])] if cv.startswith(shvars.REPO) else [norm(b, cv) for b in bases]
    if ctxs is None:
        dirs = [dirname(path)]
    return sorted({m for m in members for d in dirs if under(m, d)}), problem


def _at_base(v: str, bases: list[str], members: set[str]) -> tuple[str, str] | None:
    for b in bases:
        if norm(b, v) in members:
            return b, norm(b, v)
    return None


def _follow_rewrite(c, script, ref: Ref, bases: list[str], members: set[str]):
    """The rewrite of a followed `-f` word where its value is written; Unsafe when none."""
    o = shvars.origin(script, c.file.raw, c.start)
    if o is None:
        raise Unsafe("its value is not written in one place fixer can rewrite")
    if c.target is not None or c.file_eq:
        raise Unsafe("--target or --file= together with a followed path")
    text = script.text
    if o.kind == "assign":
        if o.value_span is None:
            raise Unsafe("the assignment has no value")
        vs, ve = o.value_span
        at = _at_base(shell.Tok(text[vs:ve], vs, ve).value, bases, members)
        if at is None:
            raise Unsafe("the assigned path is not a Dockerfile fixer merges")
        b, old = at
        ref.spans.append((vs, ve))

        def assign(dest_of):
            d = dest_of(old)
            if d is None:
                raise Unsafe(f"{ref.where()}: not merged")
            return [Edit(ref.path, vs, ve, quote_like(text[vs:ve], relto(d.path, b))),
                    Edit(ref.path, c.file.end, c.file.end, f" --target {d.names[old]}")]
        return assign
    if o.kind == "loop":
        loop = next(lp for lp in script.loops if lp.var == o.var and lp.start <= c.start < lp.end)
        word = shvars._unquote(c.file.raw)
        tpath = re.sub(r"\$\{?" + re.escape(o.var) + r"\}?(?!\w)", "{" + o.var + "}", word)
        b = next((b for b in bases if _at_base(tpath.replace("{" + o.var + "}", loop.items[0]), [b], members)), None)
        if b is None:
            raise Unsafe("the loop's first value names no Dockerfile fixer merges")
        tpl = Template(norm(b, tpath), loop.items, members)
        ref.files = sorted(tpl.files)

        def loop_rewrite(dest_of):
            new_path, name = tpl.target(dest_of)
            name = name.replace("{" + o.var + "}", "${" + o.var + "}")
            return [Edit(ref.path, c.file.start, c.file.end, quote_like(c.file.raw, relto(new_path, b))),
                    Edit(ref.path, c.file.end, c.file.end, f' --target "{name}"')]
        return loop_rewrite
    k = shvars.free_positional(script, o.func, o.calls)
    if k is None:
        raise Unsafe(f"function {o.func.name} reads all its arguments ($@, shift) or its call sites differ "
                     "in length: no free argument for --target")
    sites = []
    for _, args, spans in o.calls:
        v = args[o.arg - 1]
        if "$" in v:
            raise Unsafe(f"a call of {o.func.name} passes a computed path")
        at = _at_base(v, bases, members)
        sites.append((at, spans[o.arg - 1], spans[-1][1]))
        ref.spans.append(spans[o.arg - 1])

    def call_rewrite(dest_of):
        edits = []
        for at, (s0, e0), last in sites:
            d = dest_of(at[1]) if at else None
            if d is None:
                continue
            edits.append(Edit(ref.path, s0, e0, quote_like(text[s0:e0], relto(d.path, at[0]))))
            edits.append(Edit(ref.path, last, last, f" {d.names[at[1]]}"))
        if not edits:
            raise Unsafe(f"{ref.where()}: not merged")
        edits.append(Edit(ref.path, c.file.end, c.file.end, f' ${{{k}:+--target "${{{k}}}"}}'))
        return edits
    return call_rewrite


def _fn(path: str, pattern: str) -> bool:
    """Could `path` be what `pattern` (a path with `*` for computed parts) names? A computed
    whole folder may also be `.` or empty (`images/${{ x }}/${{ y }}/` can be `images/a/.`)."""
    return bool(_pattern(pattern).match(path))


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str) -> re.Pattern:
    out = []
    for i, seg in enumerate(pattern.split("/")):
        last = i == pattern.count("/")
        if seg == "*" and not last:
            out.append("(?:.*/)?")
            continue
        out.append(".*".join(re.escape(x) for x in seg.split("*")) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z", re.S)


def _shell_rewrite(c: shell.Command, ref: Ref, base: str, implicit: bool, tpl):
    def rewrite(dest_of):
        if tpl is not None:
            new_path, name = tpl.target(dest_of)
        else:
            d = dest_of(ref.files[0])
            if d is None:
                raise Unsafe(f"{ref.where()}: not merged")
            new_path, name = d.path, map_target(d, ref.files[0], shell.target_value(c))
        newf = relto(new_path, base)
        edits = []
        if implicit:
            edits.append(Edit(ref.path, c.end_kw, c.end_kw, f" -f {newf} --target {name}"))
            return edits
        if c.file_eq:
            edits.append(Edit(ref.path, c.file.start, c.file.end, quote_like(c.file.raw, "--file=" + newf)))
        else:
            edits.append(Edit(ref.path, c.file.start, c.file.end, quote_like(c.file.raw, newf)))
        if c.target is not None:
            raw = ("--target=" + name) if c.target_eq else name
            edits.append(Edit(ref.path, c.target.start, c.target.end, quote_like(c.target.raw, raw)))
        else:
            edits.append(Edit(ref.path, c.file.end, c.file.end, f" --target {name}"))
        return edits
    return rewrite


# -- workflows ---------------------------------------------------------------

def workflow_matrix(doc):
    """offset -> (var -> values or None) for the job holding that offset."""
    root = doc.docs[0] if doc.docs else None
    jobs = get(root, "jobs")

    def matrix_of(offset: int, var: str):
        for _, job in items(jobs):
            if job.start_mark.index <= offset <= job.end_mark.index:
                m = get(get(job, "strategy"), "matrix")
                if not isinstance(m, MappingNode):
                    return None
                vals = get(m, var)
                out = []
                if vals is not None:
                    if not isinstance(vals, SequenceNode) or not all(isinstance(v, ScalarNode) for v in vals.value):
                        return None
                    out = [v.value for v in vals.value]
                inc = get(m, "include")
                if isinstance(inc, SequenceNode):
                    for e in inc.value:
                        v = get(e, var)
                        if isinstance(v, ScalarNode) and v.value not in out:
                            out.append(v.value)
                        elif v is not None and not isinstance(v, ScalarNode):
                            return None
                return out or None
        return None
    return matrix_of


def action_refs(doc, members: set[str], matrix_of) -> list[Ref]:
    """docker/build-push-action steps (`file:`, `context:`, `target:`)."""
    root = doc.docs[0] if doc.docs else None
    out = []
    for _, job in items(get(root, "jobs")):
        steps = get(job, "steps")
        if not isinstance(steps, SequenceNode):
            continue
        for step in steps.value:
            uses = scalar(get(step, "uses")) or ""
            if not uses.startswith("docker/build-push-action"):
                continue
            w = get(step, "with")
            fnode, cnode, tnode = get(w, "file"), get(w, "context"), get(w, "target")
            ctx = scalar(cnode) or "."
            raw = scalar(fnode) if fnode is not None else norm(ctx, "Dockerfile")
            if raw is None:
                continue
            line = step.start_mark.line + 1
            ref = Ref(doc.path, line, [], spans=[(n.start_mark.index, n.end_mark.index) for n in (fnode, cnode) if n])
            target = scalar(tnode)
            tpl = None
            if "${{" in raw:
                m = re.fullmatch(r".*\$\{\{\s*matrix\.(\w+)\s*\}\}.*", raw)
                try:
                    if not m or len(EXPR.findall(raw)) != 1:
                        raise Unsafe(f"the path {raw} is computed when the workflow runs")
                    tpl = Template(norm("", raw), matrix_of(step.start_mark.index, m.group(1)), members)
                    ref.files = sorted(tpl.files)
                    if target:
                        raise Unsafe("target: together with a templated file:")
                except Unsafe as exc:
                    ref.files = sorted(mm for mm in members if _fn(mm, norm("", wildcard(raw))))
                    ref.problem = f"{ref.where()}: {exc}"
                    if ref.files:
                        out.append(ref)
                    continue
                for p, v in tpl.files.items():
                    ref.contexts[p] = norm(ctx.replace(tpl.expr, v))
            else:
                p = norm(raw)
                if p not in members:
                    continue
                ref.files = [p]
                ref.contexts[p] = norm(ctx)
            if w is not None and not isinstance(w, MappingNode) or (w is not None and w.flow_style):
                ref.problem = f"{ref.where()}: with: is not a block mapping"
            elif w is None:
                ref.problem = f"{ref.where()}: no with: block"
            else:
                ref.rewrite = _action_rewrite(doc, ref, w, fnode, tnode, target, tpl)
            out.append(ref)
    return out


def _action_rewrite(doc, ref, w, fnode, tnode, target, tpl):
    def rewrite(dest_of):
        if tpl is not None:
            new_path, name = tpl.target(dest_of)
        else:
            d = dest_of(ref.files[0])
            if d is None:
                raise Unsafe(f"{ref.where()}: not merged")
            new_path, name = d.path, map_target(d, ref.files[0], target)
        return [doc.set_value(w, "file", new_path, fnode), doc.set_value(w, "target", name, tnode)]
    return rewrite


# -- compose -----------------------------------------------------------------

def compose_refs(doc, members: set[str], load) -> list[Ref]:
    """References of a compose file's services. A reference keeps no parse: its rewrite
    reads the file again through `load` (path -> document); a repository's compose files,
    all parsed at once, would hold hundreds of MB."""
    from ..compose import services

    out = []
    here = dirname(doc.path)
    for name, _, svc in services(doc):
        b = get(svc, "build")
        if b is None:
            continue
        line = b.start_mark.line + 1
        if isinstance(b, ScalarNode):
            ctx, dnode, tnode = b.value, None, None
        elif isinstance(b, MappingNode):
            ctx = scalar(get(b, "context")) or "."
            dnode, tnode = get(b, "dockerfile"), get(b, "target")
            if get(b, "dockerfile_inline") is not None:
                continue
        else:
            continue
        if "://" in ctx or ctx.startswith("git@"):
            continue
        dfile = scalar(dnode) if dnode is not None else "Dockerfile"
        ref = Ref(doc.path, line, [], spans=[(b.start_mark.index, b.end_mark.index)])
        raw = norm(here, ctx, dfile) if not posixpath.isabs(dfile) else None
        if raw is None:
            continue
        if "$" in raw:
            ref.files = sorted(m for m in members if _fn(m, wildcard(raw)))
            ref.problem = f"{ref.where()}: service {name} builds a path computed from variables"
            if ref.files:
                out.append(ref)
            continue
        if raw not in members:
            continue
        ref.files = [raw]
        ref.contexts[raw] = norm(here, ctx)
        ref.rewrite = _compose_rewrite(load, doc.path, name, ref, norm(here, ctx))
        out.append(ref)
    return out


def _build_nodes(doc, service: str):
    """(build, dockerfile, target) nodes of a service."""
    from ..compose import services

    for name, _, svc in services(doc):
        if name == service:
            b = get(svc, "build")
            if isinstance(b, MappingNode):
                return b, get(b, "dockerfile"), get(b, "target")
            return b, None, None
    raise Unsafe(f"{doc.path}: service {service} is gone")


def _compose_rewrite(load, path, service, ref, ctxdir):
    def rewrite(dest_of):
        d = dest_of(ref.files[0])
        if d is None:
            raise Unsafe(f"{ref.where()}: not merged")
        doc = load(path)
        b, dnode, tnode = _build_nodes(doc, service)
        name = map_target(d, ref.files[0], scalar(tnode))
        newf = relto(d.path, ctxdir)
        if isinstance(b, ScalarNode):
            text = (f"{{context: {doc.span(b)}, dockerfile: {render_scalar(newf)}, "
                    f"target: {render_scalar(name)}}}")
            return [doc.replace_node(b, text)]
        if b.flow_style:
            raise Unsafe(f"{ref.where()}: build: is a flow mapping")
        return [doc.set_value(b, "dockerfile", newf, dnode), doc.set_value(b, "target", name, tnode)]
    return rewrite


# -- Python ------------------------------------------------------------------

_BUILD_WORD = re.compile(r"""['"](?:build|bud)['"]""")
_FILE_FLAG = re.compile(r"""['"](?:-f|--file)['"]""")


def may_refer(text: str) -> bool:
    """Cheap test before parsing: the text can hold a build command list (`"build"` and
    `"-f"` as strings) or a docker SDK `.build(..., dockerfile=...)` call."""
    return bool(_BUILD_WORD.search(text) and _FILE_FLAG.search(text)) or \
        (".build" in text and "dockerfile" in text)


def python_refs(doc, members: set[str]) -> list[Ref]:
    from .pyrefs import find
    return find(doc, members)


# -- mentions nobody claimed ---------------------------------------------------

MENTION = re.compile(r"[\w.${}()/@-]*(?:[Dd]ockerfile|[Cc]ontainerfile|DOCKERFILE)[\w.${}-]*")
DOCS = (".md", ".rst", ".txt", ".adoc", ".html", ".markdown")


def mentions(path: str, text: str, members: set[str], claimed: list[tuple[int, int]]):
    """(member, line, token) for every unclaimed mention of a member's path."""
    bases = ["", dirname(path)] if dirname(path) else [""]
    claimed = sorted(claimed)
    for m in MENTION.finditer(text):
        s = m.start()
        if any(a <= s < b for a, b in claimed):
            continue
        tok = m.group(0).strip("./") if m.group(0).startswith("./") else m.group(0)
        if "$" in tok or "{" in tok:
            pat = wildcard(EXPR.sub("*", tok))
            hit = {mm for b in bases for mm in members if _fn(mm, norm(b, pat))} if pat.strip("*/") else set()
        else:
            hit = {norm(b, tok) for b in bases} & members
        for h in sorted(hit):
            yield h, text.count("\n", 0, s) + 1, m.group(0)
