"""Helpers shared by the Dockerfile codemods: shell words, stages, base images."""
from __future__ import annotations

import re

from fixer import images, shell
from fixer.codemod import Skip

_ARG = re.compile(r"\$\{?(\w+)\}?")


def commands(doc, ins) -> list[shell.Command]:
    """Simple commands of a RUN (fixer.shell), wrappers such as sudo and env removed.

    Commands of exec-form and heredoc RUNs are listed too, not editable (`why_not`).
    """
    return shell.dockerfile_run(doc, ins).commands


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
            for cmd in commands(doc, ins):
                words = cmd.values
                pkgs = package_args(cmd)
                if pkgs:
                    added |= set(pkgs)
                    for flag in ("--virtual", "-t"):
                        if flag in words and cmd.name == "apk" and words.index(flag) + 1 < len(words):
                            groups[words[words.index(flag) + 1]] = set(pkgs)
                elif len(words) > 2 and cmd.name in ("apk", "apt-get", "apt", "yum", "dnf") \
                        and words[1] in ("del", "purge", "remove", "autoremove", "erase"):
                    for w in words[2:]:
                        removed |= groups.get(w, {w})
    return added - removed


_TAKES_ARG = {"-o", "-t", "--target-release", "--repository", "-X", "-p", "--virtual", "-t",
              "--setopt", "--enablerepo", "--disablerepo", "--repo", "--installroot", "--releasever"}


def package_args(cmd: shell.Command) -> list[str]:
    """Package names of an install command (apt-get/apt/apk/yum/dnf/microdnf)."""
    if len(cmd.words) < 2:
        return []
    verbs = {"apt-get": "install", "apt": "install", "apk": "add", "yum": "install",
             "dnf": "install", "microdnf": "install"}
    if cmd.name not in verbs:
        return []
    words = cmd.values[1:]
    try:
        at = words.index(verbs[cmd.name])
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
        out.append(re.split(r"[=:<>~]", w.split("/", 1)[0], maxsplit=1)[0])
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
    from fixer.compose import services

    from ._image_facts import service_build     # reads parsed compose files

    names: set[str] = set()
    for doc in ctx.documents(("compose",)):
        for name, _, svc in services(doc):
            sb = service_build(doc, svc, ctx, name) if svc is not None else None
            if sb and sb.target:
                names.add(sb.target.lower())
    ctx.shared["dockerfile-targets"] = names
    return names


def left_alone(doc, ins, hits, what: str):
    """Skips for commands a codemod would fix but must not edit (exec form, heredoc, no parse)."""
    for why in dict.fromkeys(c.why_not for c in hits if not c.editable):
        yield Skip(doc.path, ins.start_line + 1, f"{what} left as written: {why}")


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
    cannot be extended safely (JSON form, heredoc, trailing `;` or `&`, text
    that does not parse as shell).
    """
    if ins.json or ins.heredocs:
        return None
    at = shell.dockerfile_run(doc, ins).append_at
    if at is None:
        return None
    if ins.end_line == ins.start_line:
        return doc.insert(at, f" && {command}")
    line_no = doc.line_of(at - 1)
    indent = doc.indent_of_line(line_no)
    body = doc.line_text(line_no).strip()
    sep = " " + doc.escape + doc.newline + indent
    prev = doc.line_text(line_no - 1).rstrip() if line_no > ins.start_line else ""
    if not body.startswith("&&") and prev[:-1].rstrip().endswith("&&"):
        return doc.insert(at, " &&" + sep + command)   # trailing-&& style
    return doc.insert(at, sep + "&& " + command)


def insert_after(doc, ins, lines: list[str]):
    """Insert whole lines after an instruction.

    After a heredoc a blank line comes first: hadolint cannot read an
    instruction right after a heredoc's terminator.
    """
    if ins.heredocs:
        lines = [""] + lines
    return doc.insert_after(ins, lines)
