"""fixer's command line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from . import config, runner
from .report import print_plan, write_plan_json

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Repair infrastructure files and hand the fixes back as reviewable git history.")

OnlyOpt = typer.Option(None, "--only", help="Run only these codemods (comma-separated ids).")
SkipOpt = typer.Option(None, "--skip", help="Do not run these codemods (comma-separated ids).")
ExcludeOpt = typer.Option(None, "--exclude", help="Glob of paths to leave alone (repeatable).")
OfflineOpt = typer.Option(False, "--offline", help="No network access at all.")
MirrorOpt = typer.Option(None, "--registry-mirror",
                         help="Resolve a registry through a mirror: docker.io=http://127.0.0.1:5000 (repeatable).")
InsecureOpt = typer.Option(None, "--insecure-registry", help="Allow plain HTTP for this registry host (repeatable).")
CacheOpt = typer.Option(None, "--cache-dir", help="Digest cache directory (default: user cache dir).")
RefreshOpt = typer.Option(False, "--refresh", help="Ignore cached digests.")
OnlineOpt = typer.Option(False, "--online", help="Allow network look-ups (offline by default).")
OutputOpt = typer.Option(None, "--output", "-o", help="Write the report to this file.")


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, highlight=False, soft_wrap=True,
                   force_terminal=None, no_color=not stream.isatty())


def _fail(msg: str) -> None:
    _console(stderr=True).print(f"fixer: {msg}", markup=False, highlight=False)
    raise typer.Exit(2)


def _settings(root: Path, only, skip, exclude, offline, **extra) -> config.Settings:
    try:
        return config.load(root, only=only, skip=skip, exclude=exclude,
                           offline=offline or None, **extra)
    except config.ConfigError as exc:
        _fail(str(exc))
        raise


def _errors(result) -> None:
    err = _console(stderr=True)
    from .report import masker

    mask = masker(result.secrets)
    for e in result.errors:
        err.print(f"warning: {mask(e)}", markup=False, highlight=False)


@app.command()
def plan(
    path: Path = typer.Argument(Path("."), help="Repository or folder to scan."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    offline: bool = OfflineOpt,
    fmt: str = typer.Option("text", "--format", help="text, json, sarif, github or patch."),
    output: Optional[Path] = OutputOpt,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="List every file not scanned."),
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
    verify_pins: bool = typer.Option(False, "--verify-pins", help="Check existing digest pins."),
    update_pins: bool = typer.Option(False, "--update-pins", help="Move pins whose tag moved."),
) -> None:
    """Show every fix as a diff, grouped by codemod. Nothing is written.

    Exit 0: nothing to change; 1: changes proposed; 2: error.
    """
    if fmt not in ("text", "json", "sarif", "github", "patch"):
        _fail(f"unknown format '{fmt}' (text, json, sarif, github, patch)")
    try:
        root = runner.check_path(path)
        settings = _settings(root, only, skip, exclude, offline, registry_mirror=registry_mirror,
                             insecure_registry=insecure_registry, cache_dir=cache_dir,
                             refresh=refresh or None, verify_pins=verify_pins or None,
                             update_pins=update_pins or None)
        result = runner.plan(root, settings)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    if fmt in ("sarif", "github"):
        _ci_output(result, root, fmt, output)
    elif fmt == "patch":
        from .report import patch

        _emit(patch(result), output)
    elif fmt == "json" and output is None:
        write_plan_json(sys.stdout, result.changesets, result.skipped_files, result.errors, result.secrets)
    elif output is not None:
        from .report import plan_json, plan_lines, plain_rule, summary_text

        _emit(plan_json(result.changesets, result.skipped_files, result.errors, result.secrets) if fmt == "json"
              else "".join((plain_rule(t, 80) if st and "rule" in st else t) + "\n"
                           for t, st in plan_lines(result.changesets, result.skipped_files, result.secrets))
              + summary_text(result.changesets, 80), output)
    else:
        print_plan(result.changesets, result.skipped_files, result.errors, result.secrets,
                   _console(), verbose)
    _errors(result)
    if result.processed == 0 and result.errors:
        raise typer.Exit(2)
    raise typer.Exit(1 if result.changed else 0)


@app.command()
def apply(
    path: Path = typer.Argument(Path("."), help="Repository (or a folder in it)."),
    branch: Optional[str] = typer.Option(None, "--branch", help="Branch to create (default fixer/remediation)."),
    force: bool = typer.Option(False, "--force", help="Replace a branch fixer created earlier."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    offline: bool = OfflineOpt,
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
) -> None:
    """Create a branch from HEAD with one commit per codemod. Your branch, index and
    working tree are left as they are."""
    import git

    from .gitout import GitError, write_branch

    try:
        root = runner.check_path(path)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        _fail(f"{path}: not a git repository (fixer apply writes a branch; use fixer plan)")
        return
    if repo.bare:
        _fail(f"{path}: bare repository")
    try:
        base = repo.head.commit
    except ValueError:
        _fail(f"{path}: the repository has no commits yet")
        return
    top = Path(repo.working_tree_dir).resolve()
    prefix = "" if root == top else root.relative_to(top).as_posix() + "/"
    settings = _settings(root, only, skip, exclude, offline, registry_mirror=registry_mirror,
                         insecure_registry=insecure_registry, cache_dir=cache_dir, refresh=refresh or None)
    name = branch or settings.branch
    out = _console()
    try:
        source = runner.head_source(repo, prefix)
        result = runner.run(source, settings, root=root)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    _errors(result)
    if not result.changed:
        out.print("nothing to change; no branch created")
        raise typer.Exit(0)
    modes = {p: st.mode for p, st in result.engine.ws.files.items()}
    boms = {p: st.bom for p, st in result.engine.ws.files.items()}
    dirty = _dirty(repo)
    touched = {prefix + p for cs in result.changesets for p in cs.changes}
    for p in sorted(touched & dirty):
        _console(stderr=True).print(f"warning: {p}: has uncommitted changes; the fix is based on HEAD's version",
                                    markup=False)
    try:
        commits = write_branch(repo, base, result.changesets, name, prefix, modes, boms,
                               result.secrets, force)
    except GitError as exc:
        _fail(str(exc))
        return
    out.print(f"created branch {name} with {len(commits)} commit(s) on {base.hexsha[:12]}:", markup=False)
    for c in commits:
        out.print(f"  {c.sha[:12]} {c.subject}", markup=False)
    out.print(f"review:  git log -p {base.hexsha[:12]}..{name}", markup=False)
    out.print(f"merge:   git merge {name}", markup=False)


def _emit(text: str, output: Optional[Path]) -> None:
    """Print, or write the file atomically."""
    if output is None:
        sys.stdout.write(text)
        return
    from .writer import write_atomic

    write_atomic(output.resolve(), text.encode("utf-8"))


def _dirty(repo) -> set[str]:
    out = repo.git.status("--porcelain", "-z", "--untracked-files=no")
    paths = set()
    for rec in out.split("\0"):
        if len(rec) > 3:
            paths.add(rec[3:])
    return paths


@app.command()
def rules() -> None:
    """List the codemods."""
    table = Table(title="fixer codemods")
    table.add_column("id", no_wrap=True)
    for col in ("title", "files", "severity", "resolves"):
        table.add_column(col)
    for c in runner.all_codemods():
        table.add_row(c.id, c.title, ", ".join(c.kinds), c.severity, ", ".join(c.checks))
    _console().print(table)


@app.command()
def explain(codemod_id: str = typer.Argument(..., help="Codemod id, see `fixer rules`.")) -> None:
    """Print a codemod's rationale and an example before/after."""
    from .report import unified

    found = {c.id: c for c in runner.all_codemods()}
    c = found.get(codemod_id)
    if c is None:
        _fail(f"unknown codemod '{codemod_id}' (see `fixer rules`)")
        return
    out = _console()
    out.print(f"{c.id}: {c.title}", markup=False)
    out.print(f"severity: {c.severity}; files: {', '.join(c.kinds)}; resolves: {', '.join(c.checks) or '-'}",
              markup=False)
    out.print("", c.rationale, "", markup=False)
    ex = next((e for e in c.examples if e.after is not None), None)
    if ex:
        out.print("example:", markup=False)
        out.print(unified(ex.path, ex.before, ex.after), markup=False, highlight=False)


def _ci_output(result, root: Path, fmt: str, output: Optional[Path]) -> None:
    import json

    from . import sarif

    if fmt == "sarif":
        text = json.dumps(sarif.sarif(result, root), indent=2)
    elif fmt == "github":
        text = sarif.github(result, root)
    else:
        text = sarif.findings_json(result)
    if text or output is not None:
        _emit(text + "\n", output)


@app.command()
def check(
    path: Path = typer.Argument(Path("."), help="Repository or folder to check."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: bool = OnlineOpt,
    fmt: str = typer.Option("text", "--format", help="text, json, sarif or github."),
    output: Optional[Path] = OutputOpt,
    write: bool = typer.Option(False, "--write", help="Apply the fixes to the files in place (atomic)."),
) -> None:
    """CI mode: report pending fixes. Offline unless --online.

    Exit 0: nothing to fix; 1: fixes pending (or written with --write); 2: error.
    """
    if fmt not in ("text", "json", "sarif", "github"):
        _fail(f"unknown format '{fmt}' (text, json, sarif, github)")
    try:
        root = runner.check_path(path)
        settings = _settings(root, only, skip, exclude, not online)
        result = runner.plan(root, settings)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    if fmt == "text":
        _check_text(result, output)
    else:
        _ci_output(result, root, fmt, output)
    _errors(result)
    if result.processed == 0 and result.errors:
        raise typer.Exit(2)
    if write and result.changed:
        from .writer import write_changes

        try:
            written = write_changes(root, result)
        except OSError as exc:
            _fail(str(exc))
            return
        for p in written:
            _console(stderr=True).print(f"fixed {p}", markup=False, highlight=False)
    raise typer.Exit(1 if result.changed else 0)


def _check_text(result, output: Optional[Path]) -> None:
    from .report import masker

    mask = masker(result.secrets)
    lines = []
    pending = 0
    for cs in result.changesets:
        for f in cs.findings:
            if f.status == "fixed":
                pending += 1
            check = f" ({f.check})" if f.check else ""
            note = f": {f.note}" if f.note else ""
            lines.append(mask(f"{f.path}:{f.line}: {cs.codemod.id}: {f.message}{check} [{f.status}{note}]"))
    files = len({p for cs in result.changesets for p in cs.changes})
    lines.append(f"{pending} fix(es) pending in {files} file(s)" if pending else "nothing to fix")
    _emit("\n".join(lines) + "\n", output)


@app.command()
def report(
    path: Path = typer.Argument(Path("."), help="Repository or folder to audit."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: bool = OnlineOpt,
    fmt: str = typer.Option("text", "--format", help="text, markdown or html."),
    output: Optional[Path] = OutputOpt,
) -> None:
    """An audit: inventory, near-duplicate files, findings by codemod, severity and area,
    and what apply would change. Nothing is written to the repository."""
    from . import audit
    from .discovery import WorkTree

    if fmt not in ("text", "markdown", "html"):
        _fail(f"unknown format '{fmt}' (text, markdown, html)")
    try:
        root = runner.check_path(path)
        settings = _settings(root, only, skip, exclude, not online)
        source = WorkTree(root, use_git=runner.in_git(root))
        result = runner.run(source, settings, root=root)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    a = audit.build(source, settings, result, audit.short_name(root))
    if fmt == "text" and output is None:
        audit.print_rich(a, _console())
        return
    text = audit.markdown(a) if fmt in ("markdown", "text") else audit.html_page(a)
    _emit(text, output)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
