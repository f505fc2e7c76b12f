"""Paths an image's app writes: Python code in the build context opening files for writing
(found with libcst), and data directories the Dockerfile creates with `mkdir`."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from fixer.pycst import cst, metadata

from ._dockerfile_util import commands, stage_chain

# calls that create or write the file named by their first argument
_WRITERS = {"makedirs", "mkdir", "FileHandler", "RotatingFileHandler", "TimedRotatingFileHandler",
            "connect"}       # sqlite3.connect("app.db") creates the file
_PATH_WRITERS = {"write_text", "write_bytes", "mkdir", "touch"}
_SCRATCH = ("/tmp", "/dev", "/proc", "/run/secrets")
# a module that names none of these calls writes nothing fixer can see: not parsed
_WRITE_NAMES = re.compile(r"\b(?:open|%s)\b" % "|".join(sorted(_WRITERS | _PATH_WRITERS)))


def _may_write(text: str) -> bool:
    return bool(_WRITE_NAMES.search(text))


@dataclass
class Writes:
    dirs: list[str] = field(default_factory=list)     # absolute directories the app writes in
    unknown: str = ""                                  # a write whose place cannot be told


def app_writes(doc, stage, ctx) -> Writes:
    out = Writes()
    workdir = _workdir(doc, stage)
    here = posixpath.dirname(doc.path)
    seen = ctx.shared.setdefault("app-writes", {})      # path -> writes: read once per run
    for py in ctx.documents(("python",), under=here, wants=_may_write):
        if _is_test(py.path):
            continue
        if py.path not in seen:
            seen[py.path] = _python_writes(py)
        for line, path in seen[py.path]:
            if path is None:
                out.unknown = out.unknown or f"{py.path} line {line} writes a path computed at run time"
                continue
            if not path.startswith("/"):
                if not workdir:
                    out.unknown = out.unknown or f"{py.path} line {line} writes {path} relative to /"
                    continue
                path = posixpath.normpath(posixpath.join(workdir, path))
            d = posixpath.dirname(path) if posixpath.splitext(path)[1] else path
            if not d.startswith(_SCRATCH):
                out.dirs.append(d)
    for st in reversed(stage_chain(doc, stage)):
        for ins in st.find("RUN"):
            for cmd in commands(doc, ins):
                if cmd.name == "mkdir":
                    for w in cmd.values[1:]:
                        if not w.startswith("-") and "$" not in w:
                            p = w if w.startswith("/") else posixpath.join(workdir or "/", w)
                            p = posixpath.normpath(p)
                            if workdir and p.startswith(workdir + "/"):     # a data dir, not WORKDIR itself
                                out.dirs.append(p)
    out.dirs = list(dict.fromkeys(out.dirs))
    return out


def _workdir(doc, stage) -> str | None:
    wd = None
    for st in reversed(stage_chain(doc, stage)):
        for ins in st.find("WORKDIR"):
            v = " ".join(ins.value)
            if "$" in v:
                return None
            wd = v if v.startswith("/") else posixpath.join(wd or "/", v)
    return posixpath.normpath(wd) if wd else None


def _python_writes(py) -> list[tuple[int, str | None]]:
    """(line, literal path or None) of each write the module makes."""
    try:
        wrapper = metadata.MetadataWrapper(py.module)
    except Exception:   # not valid Python: nothing seen
        return []
    found: list[tuple[int, str | None]] = []

    class Visitor(cst.CSTVisitor):
        METADATA_DEPENDENCIES = (metadata.PositionProvider,)

        def visit_Call(self, node):
            func = node.func
            name = func.value if isinstance(func, cst.Name) else func.attr.value \
                if isinstance(func, cst.Attribute) else ""
            line = self.get_metadata(metadata.PositionProvider, node).start.line
            if name == "open" and isinstance(func, cst.Name):
                if _mode_writes(node):
                    found.append((line, _literal(node.args[0].value) if node.args else None))
            elif name in _WRITERS and node.args and node.args[0].keyword is None \
                    and not (name == "connect" and not _sqlite(func)):
                found.append((line, _literal(node.args[0].value)))
            elif name in _PATH_WRITERS and isinstance(func, cst.Attribute):
                target = func.value
                if isinstance(target, cst.Call) and _callee(target) == "Path" and target.args:
                    found.append((line, _literal(target.args[0].value)))
                elif name != "mkdir":
                    found.append((line, None))

    wrapper.visit(Visitor())
    return found


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return any(p in ("tests", "test") for p in parts[:-1]) or parts[-1].startswith("test_") \
        or parts[-1] == "conftest.py"


def _callee(call) -> str:
    f = call.func
    return f.value if isinstance(f, cst.Name) else f.attr.value if isinstance(f, cst.Attribute) else ""


def _sqlite(func) -> bool:
    return isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "sqlite3"


def _mode_writes(call) -> bool:
    mode = None
    for i, a in enumerate(call.args):
        if (a.keyword is None and i == 1) or (a.keyword is not None and a.keyword.value == "mode"):
            mode = a.value
    if mode is None:
        return False
    text = _literal(mode)
    return text is None or any(c in text for c in "wax+")


def _literal(node) -> str | None:
    if isinstance(node, cst.SimpleString):
        v = node.evaluated_value
        return v if isinstance(v, str) else None
    return None
