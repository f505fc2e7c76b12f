"""Find `docker build` commands in shell text (scripts, Makefiles, workflow `run:`)."""
from __future__ import annotations

import re
from dataclasses import dataclass

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


def tokens(text: str, i: int) -> tuple[list[Tok], int]:
    """Words of one command starting at i (continuation lines joined); and its end."""
    out: list[Tok] = []
    n = len(text)
    cur = -1

    def close(j):
        nonlocal cur
        if cur >= 0:
            out.append(Tok(text[cur:j], cur, j))
            cur = -1

    while i < n:
        c = text[i]
        if c == "\\" and text[i + 1:i + 3] in ("\n", "\r\n") or text[i + 1:i + 2] == "\n" and c == "\\":
            close(i)
            i = text.index("\n", i) + 1
            continue
        if c == "\n" or (c in ";|&)" and cur < 0) or (c == "#" and cur < 0):
            close(i)
            break
        if c in " \t\r":
            close(i)
            i += 1
            continue
        if cur < 0:
            cur = i
        if text.startswith("${{", i):
            j = text.find("}}", i)
            i = n if j < 0 else j + 2
            continue
        if c in "'\"":
            j = text.find(c, i + 1)
            if j < 0 or "\n" in text[i:j]:
                close(i)
                break
            i = j + 1
            continue
        if text.startswith("$(", i):
            depth, j = 0, i + 1
            while j < n and text[j] != "\n":
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            i = j + 1
            continue
        i += 1
    else:
        close(n)
    return out, i


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


def commands(text: str):
    # cheap tests before the regular expression (YAML files can be megabytes of CRDs)
    if ("build" not in text and "bud" not in text) or \
            ("docker" not in text and "podman" not in text and "buildah" not in text):
        return
    for m in CMD.finditer(text):
        toks, end = tokens(text, m.end())
        c = Command(m.start(), m.end(), m.group(1).split()[0], end=end)
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


def file_value(c: Command) -> str | None:
    if c.file is None:
        return None
    return c.file.value[7:] if c.file_eq else c.file.value


def target_value(c: Command) -> str | None:
    if c.target is None:
        return None
    return c.target.value[9:] if c.target_eq else c.target.value
