"""Python deploy scripts: `docker build -f …` argument lists and docker SDK `build(dockerfile=…)`."""
from __future__ import annotations

from ..pycst import cst, metadata

from ..text import Edit
from .merge import Unsafe
from .members import dirname
from .refs import Ref, Template, map_target, norm, relto


def _offset(doc, pos) -> int:
    return doc.line_start(pos.line - 1) + pos.column


def _string(node) -> str | None:
    """Literal value; an f-string of plain names becomes a `{name}` template."""
    if isinstance(node, cst.SimpleString) and "b" not in node.prefix.lower():
        return node.evaluated_value
    if isinstance(node, cst.FormattedString):
        out = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                if "{" in part.value or "\\" in part.value:
                    return None
                out.append(part.value)
            elif isinstance(part.expression, cst.Name) and part.format_spec is None and part.conversion is None:
                out.append("{" + part.expression.value + "}")
            else:
                return None
        return "".join(out)
    return None


def _quote(node) -> str:
    if isinstance(node, cst.SimpleString):
        return node.quote
    return node.end if isinstance(node, cst.FormattedString) else '"'


class _Assigns(cst.CSTVisitor):
    """(function, name) -> values of every `name = value` (module level: function None)."""

    def __init__(self):
        self.func: list = [None]
        self.found: dict[tuple, list] = {}

    def visit_FunctionDef(self, node):
        self.func.append(node)

    def leave_FunctionDef(self, node):
        self.func.pop()

    def visit_Assign(self, node):
        for t in node.targets:
            if isinstance(t.target, cst.Name):
                self.found.setdefault((self.func[-1], t.target.value), []).append(node.value)
            else:
                for n in _names(t.target):
                    self.found.setdefault((self.func[-1], n), []).append(None)

    def visit_AugAssign(self, node):
        if isinstance(node.target, cst.Name):
            self.found.setdefault((self.func[-1], node.target.value), []).append(None)

    def visit_For(self, node):
        for n in _names(node.target):
            self.found.setdefault((self.func[-1], n), []).append(None)


def _names(node) -> list[str]:
    if isinstance(node, cst.Name):
        return [node.value]
    if isinstance(node, (cst.Tuple, cst.List)):
        return [n for e in node.elements for n in _names(e.value)]
    return []


class _Finder(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (metadata.PositionProvider,)

    def __init__(self, doc, members, assigns):
        self.doc, self.members, self.refs = doc, members, []
        self.bases = ["", dirname(doc.path)] if dirname(doc.path) else [""]
        self.assigns = assigns
        self.func: list = [None]

    def visit_FunctionDef(self, node):
        self.func.append(node)

    def leave_FunctionDef(self, node):
        self.func.pop()

    def _value(self, node):
        """(string, node holding it) of a literal, or of a name assigned a literal once
        (in this function, else at module level; an f-string only in this function)."""
        got = _string(node)
        if got is not None or not isinstance(node, cst.Name):
            return got, node
        for func in dict.fromkeys((self.func[-1], None)):
            vals = self.assigns.get((func, node.value))
            if vals is None:
                continue
            if len(vals) != 1 or vals[0] is None:
                return None, node
            v = _string(vals[0])
            if v is None or ("{" in v and func is not self.func[-1]):
                return None, node
            return v, vals[0]
        return None, node

    def span(self, node):
        r = self.get_metadata(metadata.PositionProvider, node)
        return _offset(self.doc, r.start), _offset(self.doc, r.end)

    def _resolve(self, value: str):
        """(base, member paths or Template) for a path value, or None."""
        for b in self.bases:
            p = norm(b, value)
            if "{" in value:
                try:
                    t = Template(p, None, self.members)
                except Unsafe:
                    return None
                if t.files:
                    return b, t
            elif p in self.members:
                return b, p
        return None

    def _seq(self, node):
        els = [e.value for e in node.elements if isinstance(e, cst.Element)]
        got = [self._value(e) for e in els]
        vals = [g[0] for g in got]
        if "build" not in vals and "bud" not in vals:
            return
        for i, v in enumerate(vals[:-1]):
            if v not in ("-f", "--file"):
                continue
            fv = vals[i + 1]
            if fv is None:
                continue
            hit = self._resolve(fv)
            if hit is None:
                continue
            fnode, use = got[i + 1][1], els[i + 1]
            tnode = els[vals.index("--target") + 1] if "--target" in vals[:-1] else None
            ctx = vals[-1] if i + 1 < len(vals) - 1 else None
            self._add(fnode, hit, tnode, ctx, sdk=False, at=use)

    def visit_List(self, node):
        self._seq(node)

    def visit_Tuple(self, node):
        self._seq(node)

    def visit_Call(self, node):
        f = node.func
        if not (isinstance(f, cst.Attribute) and f.attr.value == "build"):
            return
        kw = {a.keyword.value: a.value for a in node.args if a.keyword}
        if "dockerfile" not in kw:
            return
        ctx = self._value(kw["path"])[0] if "path" in kw else None
        dv, dnode = self._value(kw["dockerfile"])
        if ctx is None or dv is None or "{" in ctx:
            return
        for b in self.bases:
            if norm(b, ctx, dv) in self.members:
                self._add(dnode, (b, norm(b, ctx, dv)), kw.get("target"), ctx, sdk=True, sdk_ctx=norm(b, ctx),
                          at=kw["dockerfile"])
                return

    def _add(self, fnode, hit, tnode, ctx, sdk, sdk_ctx=None, at=None):
        base, what = hit
        s, e = self.span(fnode)
        end = self.span(at)[1] if at is not None else e
        line = self.get_metadata(metadata.PositionProvider, fnode).start.line
        ref = Ref(self.doc.path, line, sorted(what.files) if isinstance(what, Template) else [what],
                  spans=[(s, e)])
        if ctx is not None and "{" not in ctx and not isinstance(what, Template):
            ref.contexts[ref.files[0]] = sdk_ctx if sdk else norm(base, ctx)
        tval = _string(tnode) if tnode is not None else None
        if tnode is not None and (tval is None or isinstance(what, Template)):
            ref.problem = f"{ref.where()}: a target together with a computed path"
            self.refs.append(ref)
            return
        q = _quote(fnode)
        doc = self.doc
        tspan = self.span(tnode) if tnode is not None else None

        def rewrite(dest_of):
            if isinstance(what, Template):
                new_path, name = what.target(dest_of)
                name_lit = f"f{q}{name}{q}"
            else:
                d = dest_of(what)
                if d is None:
                    raise Unsafe(f"{ref.where()}: not merged")
                new_path, name = d.path, map_target(d, what, tval)
                name_lit = f"{q}{name}{q}"
            newf = relto(new_path, sdk_ctx if sdk else base)
            edits = [Edit(doc.path, s, e, f"{q}{newf}{q}")]
            if tnode is not None:
                ts, te = tspan
                edits.append(Edit(doc.path, ts, te, name_lit))
            elif sdk:
                edits.append(Edit(doc.path, end, end, f", target={name_lit}"))
            else:
                edits.append(Edit(doc.path, end, end, f", {q}--target{q}, {name_lit}"))
            return edits
        ref.rewrite = rewrite
        self.refs.append(ref)


def find(doc, members: set[str]) -> list[Ref]:
    assigns = _Assigns()
    doc.module.visit(assigns)
    finder = _Finder(doc, members, assigns.found)
    metadata.MetadataWrapper(doc.module, unsafe_skip_copy=True).visit(finder)
    return finder.refs
