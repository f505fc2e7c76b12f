"""Find `docker build` commands in shell text (scripts, Makefile recipes, workflow `run:`)."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, ScalarNode

from .. import discovery as disc
from .. import shell as sh
from ..yamldoc import ParseError, compose_all, walk

CMD = re.compile(r"(?<![\w./-])(docker(?:[ \t]+buildx|[ \t]+image)?[ \t]+build|podman[ \t]+build"
                 r"|buildah[ \t]+(?:bud|build))(?![\w-])")
VALUE_OPTS = {
    "-t", "--tag", "--build-arg", "--label", "--platform", "--cache-from", "--cache-to", "--secret",
    "--ssh", "-o", "--output", "--network", "--progress", "--iidfile", "--metadata-file",
    "--build-context", "--add-host", "--shm-size", "-m", "--memory", "--memory-swap", "--cpu-shares",
    "--cpuset-cpus", "--cpuset-mems", "--cpu-period", "--cpu-quota", "--ulimit", "--isolation",
    "--builder", "--provenance", "--sbom", "--attest", "--annotation", "--allow", "--cgroup-parent",
    "--security-opt", "--call", "--check", "--root", "--runroot", "--storage-driver", "--format",
    "--layers", "--timestamp", "--jobs", "--arch", "--os", "--variant", "--creds", "--authfile",
    "--build-arg-file", "--env", "--volume", "-v", "--pull",
}
FLAG_OPTS = {"-q", "--quiet", "--no-cache", "--rm", "--force-rm", "--pull", "--push", "--load",
             "--squash", "--compress", "--disable-content-trust", "--debug", "--tls-verify=false",
             "--no-cache-filter"}
TEMPLATE = re.compile(r"\$\{\{.*?\}\}|\$\{[^}]*\}|\$\([^)]*\)|\$\w+|`[^`]*`|%\w+%")


@dataclass
class Tok:
    raw: str
    start: int
    end: int

    @property
    def value(self) -> str:
        r = self.raw
        if len(r) >= 2 and r[0] == r[-1] and r[0] in "'\"":
            return r[1:-1]
        return r


@dataclass
class Command:
    start: int            # offset of `docker build`
    end_kw: int           # offset just after the build keyword
    tool: str
    file: Tok | None = None
    file_eq: bool = False           # --file=X form (raw includes the option)
    target: Tok | None = None
    target_eq: bool = False
    context: Tok | None = None
    problem: str = ""
    end: int = 0


def commands(text: str, path: str = "", kind: str = ""):
    """`docker build` (podman, buildah) commands of a shell script, Makefile recipes or
    the shell scalars of a YAML file, read with tree-sitter-bash: commands inside quoted
    strings, heredoc bodies and comments are not commands."""
    # cheap tests first (YAML files can be megabytes of CRDs)
    if ("build" not in text and "bud" not in text) or \
            ("docker" not in text and "podman" not in text and "buildah" not in text):
        return
    for start, end in regions(text, path, kind):
        if not CMD.search(text, start, end):
            continue
        for cmd in sh.parse(mask(text[start:end], path, kind), start).commands:
            yield from _build(text, cmd)


def _build(text: str, cmd: sh.Command):
    vals = cmd.values
    tool = cmd.name
    if tool == "docker":
        at = 2 if vals[1:2] in (["buildx"], ["image"]) else 1
        ok = vals[at:at + 1] == ["build"]
    elif tool == "podman":
        at, ok = 1, vals[1:2] == ["build"]
    elif tool == "buildah":
        at, ok = 1, vals[1:2] in (["bud"], ["build"])
    else:
        return
    if not ok:
        return
    words = cmd.words
    toks = [Tok(text[w.start:w.end], w.start, w.end) for w in words[at + 1:]]
    c = Command(words[0].start, words[at].end, tool, end=cmd.end)
    if not cmd.editable:
        c.problem = cmd.why_not
    pos: list[Tok] = []
    i = 0
    while i < len(toks):
        t, v = toks[i], toks[i].value
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if v in ("-f", "--file"):
            c.file, i = nxt, i + 2
        elif v.startswith("--file="):
            c.file, c.file_eq, i = t, True, i + 1
        elif v == "--target":
            c.target, i = nxt, i + 2
        elif v.startswith("--target="):
            c.target, c.target_eq, i = t, True, i + 1
        elif v.startswith("--") and "=" in v:
            i += 1
        elif v in FLAG_OPTS and v not in VALUE_OPTS:
            i += 1
        elif v in VALUE_OPTS:
            i += 2
        elif v.startswith("-") and v != "-":
            if re.fullmatch(r"-[q]+", v):
                i += 1
            else:
                c.problem = f"option {v} is not known to fixer"
                i += 1
        else:
            pos.append(t)
            i += 1
    if c.file is None and c.file_eq is False and any(t.value in ("-f", "--file") for t in toks[-1:]):
        c.problem = "-f without a value"
    if len(pos) == 1:
        c.context = pos[0]
    elif not c.problem:
        c.problem = "no single build context" if pos else "no build context"
    yield c


def regions(text: str, path: str, kind: str, pattern: re.Pattern = CMD) -> list[tuple[int, int]]:
    """Spans of `text` that are shell: all of a script, recipe lines of a Makefile or
    justfile, `run:` values of a workflow, string scalars of other YAML files (CI scripts);
    of YAML, only the scalars where `pattern` (default: a build command) occurs."""
    low = posixpath.basename(path).lower()
    if kind in (disc.WORKFLOW, disc.YAML):
        return _yaml_regions(text, path, kind == disc.WORKFLOW, pattern)
    if low in ("makefile", "gnumakefile", "justfile") or low.endswith(".mk"):
        return _recipe_regions(text, low == "justfile")
    return [(0, len(text))]


def _yaml_regions(text: str, path: str, run_only: bool, pattern: re.Pattern = CMD) -> list[tuple[int, int]]:
    """String scalars (of a workflow: `run:` values) that hold a build command."""
    try:
        docs = compose_all(text, path)
    except ParseError:
        return []
    out = []
    for doc in docs:
        if run_only:
            nodes = [v for n in walk(doc) if isinstance(n, MappingNode)
                     for k, v in n.value if isinstance(k, ScalarNode) and k.value == "run"]
        else:
            nodes = list(walk(doc))
        for node in nodes:
            if not isinstance(node, ScalarNode) or not pattern.search(node.value):
                continue
            s, e = node.start_mark.index, node.end_mark.index
            if node.style in ("|", ">"):
                s = text.find("\n", s, e) + 1 or e
            elif node.style in ("'", '"'):
                s, e = s + 1, e - 1
            out.append((s, e))
    return out


def _recipe_regions(text: str, just: bool) -> list[tuple[int, int]]:
    """Recipe lines (a tab first; for a justfile any indent), continuation lines included."""
    out = []
    pos, n = 0, len(text)
    while pos < n:
        end = text.find("\n", pos)
        end = n if end < 0 else end
        line = text[pos:end]
        if line[:1] == "\t" or (just and line[:1] == " " and line.strip()):
            start = pos + len(line) - len(line.lstrip(" \t"))
            while end < n and text[pos:end].rstrip("\r").endswith("\\"):
                pos = end + 1
                end = text.find("\n", pos)
                end = n if end < 0 else end
            out.append((start, end))
        pos = end + 1
    return out


def mask(text: str, path: str, kind: str) -> str:
    """Template expressions the shell never sees (`${{ }}`, make's `$(...)`, just's `{{ }}`)
    become letters of the same length, so the shell parser reads them as part of a word;
    a recipe's leading `@`, `-`, `+` become spaces."""
    low = posixpath.basename(path).lower()
    make = low in ("makefile", "gnumakefile") or low.endswith(".mk")
    out = list(text)
    i, n = 0, len(text)
    while i < n:
        if text.startswith("${{", i) or (low == "justfile" and text.startswith("{{", i)):
            j = text.find("}}", i)
            j = n if j < 0 else j + 2
        elif make and text.startswith("$$", i):
            i += 2
            continue
        elif make and text.startswith(("$(", "${"), i):
            close = ")" if text[i + 1] == "(" else "}"
            depth, j = 0, i + 1
            while j < n:
                depth += 1 if text[j] == text[i + 1] else -1 if text[j] == close else 0
                j += 1
                if depth == 0:
                    break
        else:
            i += 1
            continue
        out[i:j] = "x" * (j - i)
        i = j
    if make or low == "justfile":
        k = 0
        while k < n and out[k] in "@-+ \t":
            out[k] = " " if out[k] in "@-+" else out[k]
            k += 1
    return "".join(out)


def file_value(c: Command) -> str | None:
    if c.file is None:
        return None
    return c.file.value[7:] if c.file_eq else c.file.value


def target_value(c: Command) -> str | None:
    if c.target is None:
        return None
    return c.target.value[9:] if c.target_eq else c.target.value
