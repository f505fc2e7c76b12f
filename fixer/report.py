"""Printing plans: unified diffs grouped by codemod, a summary table, JSON."""
from __future__ import annotations

import difflib
import json
from typing import Iterable, Iterator

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .engine import ChangeSet
from .secrets import masker  # noqa: F401  (imported from here by other modules)


def unified(path: str, old: str | None, new: str | None) -> str:
    a = (old or "").splitlines(keepends=True)
    b = (new or "").splitlines(keepends=True)
    lines = list(difflib.unified_diff(
        a, b, "/dev/null" if old is None else f"a/{path}", "/dev/null" if new is None else f"b/{path}"))
    out = []
    for ln in lines:
        if ln.endswith("\n"):
            out.append(ln)
        else:
            out.append(ln + "\n\\ No newline at end of file\n")
    return "".join(out)


def changed(changesets: list[ChangeSet]) -> list[ChangeSet]:
    return [cs for cs in changesets if cs.changes]


def plan_lines(changesets: list[ChangeSet], skipped_files, secrets, verbose: bool = False):
    """The text plan as (text, style) lines, masked; a style of "rule" is a section heading.
    A generator: a plan of thousands of files is written as it is made."""
    mask = masker(secrets)
    for cs in changed(changesets):
        cm = cs.codemod
        label = f" [{cm.safety}]" if getattr(cm, "safety", "safe") == "unsafe" else ""
        yield (f"{cm.id}{label}: {cm.title}", "rule")
        for f in cs.findings:
            check = f" ({f.check})" if f.check else ""
            yield (mask(f"{f.path}:{f.line}: {f.message}{check}  [{status_tag(f)}]"), None)
        for path in sorted(cs.changes):      # one text pair at a time (they are packed)
            old, new = cs.changes[path]
            for ln in mask(unified(path, old, new)).splitlines():
                style = None
                if ln.startswith("+") and not ln.startswith("+++"):
                    style = "green"
                elif ln.startswith("-") and not ln.startswith("---"):
                    style = "red"
                elif ln.startswith("@@"):
                    style = "cyan"
                yield (ln, style)
        for s in cs.skips:
            yield (mask(f"skipped {s.path}:{s.line}: {s.reason}"), "yellow")
    for cs in changesets:
        if cs.changes or not (cs.skips or cs.findings):
            continue
        yield (f"{cs.codemod.id}: nothing changed", "dim rule")
        for f in cs.findings:
            yield (mask(f"{f.path}:{f.line}: {f.message}  [{status_tag(f)}]"), None)
        for s in cs.skips:
            yield (mask(f"skipped {s.path}:{s.line}: {s.reason}"), "yellow")


def status_tag(f) -> str:
    """`safe` / `evidenced` / `unsafe` for a fix; otherwise its status, label and note."""
    if f.status == "fixed":
        return f.safety
    label = f" ({f.safety})" if f.safety and f.status != "held" else ""
    return f"{f.status}{label}{': ' + f.note if f.note else ''}"


def held(changesets: list[ChangeSet]) -> list:
    """Fixes labelled unsafe that this run did not apply."""
    return [f for cs in changesets for f in cs.findings if f.status == "held"]


def plain_rule(title: str, width: int) -> str:
    """A heading line as rich's Console.rule draws it without colour."""
    if len(title) > width - 4:
        title = title[:max(0, width - 5)] + "…"
    left = "─" * ((width - len(title)) // 2 - 1)
    return f"{left} {title} {'─' * (width - len(left) - len(title) - 2)}"


def print_plan(changesets: list[ChangeSet], skipped_files, errors, secrets, console: Console,
               verbose: bool = False) -> None:
    """Print the plan in one write: rich styles on a terminal, plain text otherwise."""
    lines = plan_lines(changesets, skipped_files, secrets, verbose)
    tail: list[str] = []
    if skipped_files:
        tail.append(f"{len(skipped_files)} file(s) not scanned:")
        tail += [f"  {path}: {reason}" for path, reason in skipped_files[: (None if verbose else 20)]]
        if not verbose and len(skipped_files) > 20:
            tail.append(f"  … and {len(skipped_files) - 20} more (--verbose)")
    if not console.is_terminal:
        batch: list[str] = []
        for t, st in lines:    # written in batches of lines, not one string of the whole plan
            batch.append((plain_rule(t, console.width) if st and "rule" in st else t) + "\n")
            if len(batch) >= 4096:
                console.file.write("".join(batch))
                batch = []
        console.file.write("".join(batch) + summary_text(changesets, console.width)
                           + "".join(ln + "\n" for ln in tail))
        console.file.flush()
        return
    from rich.rule import Rule

    with console:   # one buffer, written once on leaving
        block = Text()
        for text, style in lines:
            if style and "rule" in style:
                if block:
                    block.right_crop(1)     # the last line's newline: print adds one
                    console.print(block, soft_wrap=True)
                    block = Text()
                console.print(Rule(Text(text, style="dim" if "dim" in style else "bold")))
                continue
            block.append(text + "\n", style=style)
        if block:
            block.right_crop(1)
            console.print(block, soft_wrap=True)
        print_summary(changesets, console)
        if tail:
            console.print(Text("\n".join(tail), style="dim"))


def summary_text(changesets: list[ChangeSet], width: int) -> str:
    """The summary table as plain text."""
    import io

    buf = io.StringIO()
    print_summary(changesets, Console(file=buf, width=width, no_color=True, force_terminal=False,
                                      highlight=False, soft_wrap=True))
    return buf.getvalue()


def print_summary(changesets: list[ChangeSet], console: Console) -> None:
    table = Table(title="fixer plan", show_lines=False)
    cols = ["codemod", "files", "fixed", "reported", "skipped", "dropped"]
    any_held = bool(held(changesets))
    for col in cols + (["held"] if any_held else []):
        table.add_column(col, justify="left" if col == "codemod" else "right")
    for cs in changesets:
        st = [f.status for f in cs.findings]
        if not (cs.changes or st or cs.skips):
            continue
        row = [cs.codemod.id, str(len(cs.changes)), str(st.count("fixed")),
               str(st.count("reported") + st.count("suppressed")), str(len(cs.skips)),
               str(st.count("dropped"))]
        table.add_row(*row, *([str(st.count("held"))] if any_held else []))
    if table.row_count:
        console.print(table)
    else:
        console.print("nothing to change")


def by_path(records) -> Iterator[tuple[str, list]]:
    """(path, its records) in path order. Streamed when the records come in path order,
    as they are stored (file after file), so a big plan is never all in memory."""
    paths = [r.path for r in records]
    if paths != sorted(paths):
        grouped: dict[str, list] = {}
        for r in records:
            grouped.setdefault(r.path, []).append(r)
        yield from sorted(grouped.items())
        return
    group: list = []
    for r in records:
        if group and r.path != group[0].path:
            yield group[0].path, group
            group = []
        group.append(r)
    if group:
        yield group[0].path, group


def plan_entries(changesets: list[ChangeSet], mask):
    """One JSON-ready entry per (codemod, file)."""
    for cs in changesets:
        findings, skips = by_path(cs.findings), by_path(cs.skips)
        nf, ns = next(findings, None), next(skips, None)
        fpaths = {f.path for f in cs.findings} | {s.path for s in cs.skips}
        for path in sorted(set(cs.changes) | fpaths):
            mine_f: list = []
            mine_s: list = []
            if nf is not None and nf[0] == path:
                mine_f, nf = nf[1], next(findings, None)
            if ns is not None and ns[0] == path:
                mine_s, ns = ns[1], next(skips, None)
            old, new = cs.changes.get(path, (None, None))
            yield {
                "codemod": cs.codemod.id,
                "title": cs.codemod.title,
                "severity": cs.codemod.severity,
                "file": path,
                "findings": [{"line": f.line, "message": mask(f.message), "check": f.check,
                              "status": f.status, "safety": f.safety, "note": mask(f.note)}
                             for f in mine_f],
                "skipped": [{"line": s.line, "reason": mask(s.reason)} for s in mine_s],
                "diff": mask(unified(path, old, new)) if path in cs.changes else "",
            }


def write_plan_json(stream, changesets: list[ChangeSet], skipped_files, errors, secrets) -> None:
    """The plan as one JSON object, written entry by entry (large plans stay small in memory)."""
    mask = masker(secrets)
    stream.write('{\n  "changes": [')
    for i, entry in enumerate(plan_entries(changesets, mask)):
        stream.write(("," if i else "") + "\n    " + json.dumps(entry))
    stream.write('\n  ],\n  "files_not_scanned": ')
    stream.write(json.dumps([{"file": p, "reason": r} for p, r in skipped_files]))
    stream.write(',\n  "errors": ' + json.dumps([mask(e) for e in errors]) + "\n}\n")


def plan_json(changesets: list[ChangeSet], skipped_files, errors, secrets) -> str:
    import io

    buf = io.StringIO()
    write_plan_json(buf, changesets, skipped_files, errors, secrets)
    return buf.getvalue()


def patch(result) -> str:
    """The plan as one patch for `git apply` / `patch -p1`: per file, its final content
    against the source (all codemods combined), unmasked, new and deleted files as git
    writes them."""
    from .text import BOM, DecodeError, decode

    ws, source = result.engine.ws, result.engine.source
    out = []
    for path in sorted({p for cs in result.changesets for p in cs.changes}):
        st = ws.files.get(path)
        new = st.text if st else None
        old = st.original if st else None
        bom = bool(st and st.bom)
        if old is None and path in ws.all_paths and source is not None:
            try:     # a file no codemod loaded (.env.example), or one fixer creates
                old, bom = decode(source.read(path), path)
            except (OSError, KeyError):
                pass
            except DecodeError:
                continue
        if old == new:
            continue
        head = f"diff --git a/{path} b/{path}\n"
        if old is None:
            head += "new file mode 100644\n"
        elif new is None:
            head += f"deleted file mode {st.mode if st else '100644'}\n"
        pre = BOM if bom else ""
        out.append(head + unified(path, None if old is None else pre + old, None if new is None else pre + new))
    return "".join(out)
