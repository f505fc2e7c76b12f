"""Helpers shared by the Dockerfile codemods: shell words, stages, base images."""
from __future__ import annotations

import re

from fixer import images

OPERATORS = {"&&", "||", ";", "|", "&"}
_ARG = re.compile(r"\$\{?(\w+)\}?")


def commands(doc, ins) -> list[list[tuple[str, int, int]]] | None:
    """Simple commands of a shell-form RUN/CMD as lists of (word, start, end).

    None when the instruction is not a plain shell form (JSON, heredoc).
    A trailing `;` or `&&` glued to a word ends the command; the word keeps its
    offsets without the operator.
    """
    if ins.json or ins.heredocs:
        return None
    words = doc.words(ins)
    # drop the keyword and the flags
    i = 1
    while i < len(words) and words[i][0].startswith("--") and len(words[i][0]) > 2:
        i += 1
    out: list[list[tuple[str, int, int]]] = [[]]
    for w, s, e in words[i:]:
        if w in OPERATORS:
            out.append([])
            continue
        glued = next((op for op in ("&&", "||", ";") if w.endswith(op) and len(w) > len(op)), None)
        if glued:
            out[-1].append((w[:-len(glued)], s, e - len(glued)))
            out.append([])
            continue
        out[-1].append((w, s, e))
    return [c for c in out if c]


def strip_sudo(cmd):
    while cmd and cmd[0][0] in ("sudo", "command", "exec"):
        cmd = cmd[1:]
    return cmd


def stage_chain(doc, stage) -> list:
    """The stage and the stages of this file it is built FROM, nearest first."""
    chain, seen = [stage], {stage.index}
    cur = stage
    while True:
        base = cur.base.lower()
        prev = next((s for s in doc.stages[:cur.index] if s.name and s.name.lower() == base), None)
        if prev is None or prev.index in seen:
            return chain
        chain.append(prev)
        seen.add(prev.index)
        cur = prev


def arg_defaults(doc) -> dict[str, str]:
    out: dict[str, str] = {}
    for ins in doc.global_args:
        for v in ins.value:
            if "=" in v:
                k, val = v.split("=", 1)
                out.setdefault(k, val.strip("\"'"))
    return out


def external_base(doc, stage) -> str:
    """The external image a stage finally builds on, ARG defaults expanded."""
    ref = stage_chain(doc, stage)[-1].base
    args = arg_defaults(doc)
    ref = _ARG.sub(lambda m: args.get(m.group(1), m.group(0)), ref)
    ref = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", ref)
    return ref


def base_family(doc, stage) -> str | None:
    return images.family(external_base(doc, stage))


def installed(doc, stage) -> set[str]:
    """Packages RUN instructions of the stage and its ancestors install and keep.

    Packages removed again (`apk del`, `apt-get purge/remove`, virtual groups
    deleted later) do not count.
    """
    added: set[str] = set()
    removed: set[str] = set()
    groups: dict[str, set[str]] = {}
    for st in reversed(stage_chain(doc, stage)):
        for ins in st.find("RUN"):
            for cmd in (commands(doc, ins) or []) + heredoc_commands(ins):
                words = [w for w, _, _ in strip_sudo(cmd)]
                pkgs = package_args(cmd)
                if pkgs:
                    added |= set(pkgs)
                    for flag in ("--virtual", "-t"):
                        if flag in words and words[0].endswith("apk") and words.index(flag) + 1 < len(words):
                            groups[words[words.index(flag) + 1]] = set(pkgs)
                elif len(words) > 2 and words[0].rsplit("/", 1)[-1] in ("apk", "apt-get", "apt", "yum", "dnf") \
                        and words[1] in ("del", "purge", "remove", "autoremove", "erase"):
                    for w in words[2:]:
                        removed |= groups.get(w, {w})
    return added - removed


_TAKES_ARG = {"-o", "-t", "--target-release", "--repository", "-X", "-p", "--virtual", "-t",
              "--setopt", "--enablerepo", "--disablerepo", "--repo", "--installroot", "--releasever"}


def package_args(cmd) -> list[str]:
    """Package names of an install command (apt-get/apt/apk/yum/dnf/microdnf)."""
    cmd = strip_sudo(cmd)
    if len(cmd) < 2:
        return []
    tool = cmd[0][0].rsplit("/", 1)[-1]
    verbs = {"apt-get": "install", "apt": "install", "apk": "add", "yum": "install",
             "dnf": "install", "microdnf": "install"}
    if tool not in verbs:
        return []
    words = [w for w, _, _ in cmd[1:]]
    try:
        at = words.index(verbs[tool])
    except ValueError:
        return []
    out, skip = [], False
    for w in words[at + 1:]:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in _TAKES_ARG
            continue
        out.append(re.split(r"[=:<>~]", w.split("/", 1)[0], maxsplit=1)[0].strip("\"'"))
    return out


def stage_has(doc, stage, cmd: str) -> bool:
    return any(st.find(cmd) for st in stage_chain(doc, stage))


def final_stages(doc, ctx=None) -> list:
    """The last stage, plus stages a compose file builds as `target`."""
    if not doc.stages:
        return []
    out = [doc.stages[-1]]
    names = compose_targets(ctx) if ctx is not None else set()
    for st in doc.stages[:-1]:
        if st.name and st.name.lower() in names:
            out.append(st)
    return out


def compose_targets(ctx) -> set[str]:
    if "dockerfile-targets" in ctx.shared:
        return ctx.shared["dockerfile-targets"]
    names: set[str] = set()
    for doc in ctx.documents(("compose",)):
        names |= {m.lower() for m in re.findall(r"^\s*target:\s*['\"]?([\w.-]+)", doc.text, re.M)}
    ctx.shared["dockerfile-targets"] = names
    return names


def line_of(ins) -> int:
    return ins.start_line + 1


def keyword(doc, ins, word: str) -> str:
    """`word` in the case of the instruction's own keyword."""
    first = doc.words(ins)[0][0] if doc.words(ins) else ins.cmd
    return word.lower() if first.islower() else word.upper()


def append_command(doc, ins, command: str):
    """An edit that runs `command` after everything else in a shell-form RUN.

    Follows the instruction's continuation style: `&& cmd` on a new line when
    the RUN already spans lines, else on the same line. None when the RUN
    cannot be extended safely (JSON form, heredoc, trailing operator).
    """
    if ins.json or ins.heredocs:
        return None
    words = doc.words(ins)
    if len(words) < 2:
        return None
    last = words[-1]
    if last[0].endswith((";", "&", "|", "\\", "`")) or last[0] in ("then", "do", "else", "{", "("):
        return None
    if ins.end_line == ins.start_line:
        return doc.insert(last[2], f" && {command}")
    line_no = doc.line_of(last[1])
    indent = doc.indent_of_line(line_no)
    body = doc.line_text(line_no).strip()
    sep = " " + doc.escape + doc.newline + indent
    prev = doc.line_text(line_no - 1).rstrip() if line_no > ins.start_line else ""
    if not body.startswith("&&") and prev[:-1].rstrip().endswith("&&"):
        return doc.insert(last[2], " &&" + sep + command)   # trailing-&& style
    return doc.insert(last[2], sep + "&& " + command)


def heredoc_commands(ins) -> list[list[tuple[str, int, int]]]:
    """Simple commands of a RUN's heredoc bodies (words only, offsets are 0)."""
    out = []
    for h in ins.heredocs:
        for line in h.content.splitlines():
            for part in re.split(r"&&|\|\||;", line):
                words = [(w, 0, 0) for w in part.split()]
                if words and not words[0][0].startswith("#"):
                    out.append(words)
    return out


def insert_after(doc, ins, lines: list[str]):
    """Insert whole lines after an instruction.

    After a heredoc a blank line comes first: hadolint cannot read an
    instruction right after a heredoc's terminator.
    """
    if ins.heredocs:
        lines = [""] + lines
    return doc.insert_after(ins, lines)
