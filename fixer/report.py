"""Printing plans: unified diffs grouped by codemod, a summary table, JSON."""
from __future__ import annotations

import difflib
import json
from typing import Iterable

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


def print_plan(changesets: list[ChangeSet], skipped_files, errors, secrets, console: Console,
               verbose: bool = False) -> None:
    mask = masker(secrets)
    for cs in changed(changesets):
        cm = cs.codemod
        console.rule(Text(f"{cm.id}: {cm.title}", style="bold"))
        for f in cs.findings:
            tag = "" if f.status == "fixed" else f"  [{f.status}{': ' + f.note if f.note else ''}]"
            check = f" ({f.check})" if f.check else ""
            console.print(Text(mask(f"{f.path}:{f.line}: {f.message}{check}{tag}")))
        for path, (old, new) in sorted(cs.changes.items()):
            diff = mask(unified(path, old, new))
            for ln in diff.splitlines():
                style = None
                if ln.startswith("+") and not ln.startswith("+++"):
                    style = "green"
                elif ln.startswith("-") and not ln.startswith("---"):
                    style = "red"
                elif ln.startswith("@@"):
                    style = "cyan"
                console.print(Text(ln, style=style), soft_wrap=True)
        for s in cs.skips:
            console.print(Text(mask(f"skipped {s.path}:{s.line}: {s.reason}"), style="yellow"))
    quiet = [cs for cs in changesets if not cs.changes and (cs.skips or cs.findings)]
    for cs in quiet:
        console.rule(Text(f"{cs.codemod.id}: nothing changed", style="dim"))
        for f in cs.findings:
            console.print(Text(mask(f"{f.path}:{f.line}: {f.message}  [{f.status}"
                                    f"{': ' + f.note if f.note else ''}]")))
        for s in cs.skips:
            console.print(Text(mask(f"skipped {s.path}:{s.line}: {s.reason}"), style="yellow"))
    print_summary(changesets, console)
    if skipped_files:
        console.print(Text(f"{len(skipped_files)} file(s) not scanned:", style="dim"))
        for path, reason in skipped_files[: (None if verbose else 20)]:
            console.print(Text(f"  {path}: {reason}", style="dim"))
        if not verbose and len(skipped_files) > 20:
            console.print(Text(f"  … and {len(skipped_files) - 20} more (--verbose)", style="dim"))


def print_summary(changesets: list[ChangeSet], console: Console) -> None:
    table = Table(title="fixer plan", show_lines=False)
    for col in ("codemod", "files", "fixed", "reported", "skipped", "dropped"):
        table.add_column(col, justify="left" if col == "codemod" else "right")
    for cs in changesets:
        st = [f.status for f in cs.findings]
        if not (cs.changes or st or cs.skips):
            continue
        table.add_row(cs.codemod.id, str(len(cs.changes)), str(st.count("fixed")),
                      str(st.count("reported") + st.count("suppressed")), str(len(cs.skips)),
                      str(st.count("dropped")))
    if table.row_count:
        console.print(table)
    else:
        console.print("nothing to change")


def plan_entries(changesets: list[ChangeSet], mask):
    """One JSON-ready entry per (codemod, file)."""
    for cs in changesets:
        findings: dict[str, list] = {}
        skips: dict[str, list] = {}
        for f in cs.findings:
            findings.setdefault(f.path, []).append(f)
        for s in cs.skips:
            skips.setdefault(s.path, []).append(s)
        for path in sorted(set(cs.changes) | set(findings) | set(skips)):
            old, new = cs.changes.get(path, (None, None))
            yield {
                "codemod": cs.codemod.id,
                "title": cs.codemod.title,
                "severity": cs.codemod.severity,
                "file": path,
                "findings": [{"line": f.line, "message": mask(f.message), "check": f.check,
                              "status": f.status, "note": mask(f.note)}
                             for f in findings.get(path, [])],
                "skipped": [{"line": s.line, "reason": mask(s.reason)} for s in skips.get(path, [])],
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
