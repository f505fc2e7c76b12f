"""Python deploy scripts: `docker build -f …` argument lists and docker SDK `build(dockerfile=…)`."""
from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

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


class _Finder(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, doc, members):
        self.doc, self.members, self.refs = doc, members, []
        self.bases = ["", dirname(doc.path)] if dirname(doc.path) else [""]

    def span(self, node):
        r = self.get_metadata(PositionProvider, node)
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
        vals = [_string(e) for e in els]
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
            fnode = els[i + 1]
            tnode = els[vals.index("--target") + 1] if "--target" in vals[:-1] else None
            ctx = vals[-1] if i + 1 < len(vals) - 1 else None
            self._add(fnode, hit, tnode, ctx, sdk=False)

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
        ctx = _string(kw["path"]) if "path" in kw else None
        dv = _string(kw["dockerfile"])
        if ctx is None or dv is None or "{" in ctx:
            return
        for b in self.bases:
            if norm(b, ctx, dv) in self.members:
                self._add(kw["dockerfile"], (b, norm(b, ctx, dv)), kw.get("target"), ctx, sdk=True, sdk_ctx=norm(b, ctx))
                return

    def _add(self, fnode, hit, tnode, ctx, sdk, sdk_ctx=None):
        base, what = hit
        s, e = self.span(fnode)
        line = self.get_metadata(PositionProvider, fnode).start.line
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
                edits.append(Edit(doc.path, e, e, f", target={name_lit}"))
            else:
                edits.append(Edit(doc.path, e, e, f", {q}--target{q}, {name_lit}"))
            return edits
        ref.rewrite = rewrite
        self.refs.append(ref)


def find(doc, members: set[str]) -> list[Ref]:
    finder = _Finder(doc, members)
    MetadataWrapper(doc.module, unsafe_skip_copy=True).visit(finder)
    return finder.refs
