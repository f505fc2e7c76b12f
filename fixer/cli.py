"""fixer's command line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from .codemod import SEVERITIES
from . import config, runner
from . import console as term
from . import options as opt

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Repair infrastructure files and hand the fixes back as reviewable git history.")

OnlyOpt, SkipOpt, ExcludeOpt = opt.Only, opt.Skip, opt.Exclude
MirrorOpt, InsecureOpt, CacheOpt, RefreshOpt = opt.Mirror, opt.Insecure, opt.CacheDir, opt.Refresh
OutputOpt, VerboseOpt = opt.Output, opt.Verbose
# help shows "PATH", not "PATH <path>" (typer prints a type label for arguments)
typer.core.TyperArgument.display_type_rich = lambda self, ctx: None


def _console(stderr: bool = False):
    return term.console(stderr)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"fixer {version('fixer')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    color: str = typer.Option("auto", "--color", metavar="auto|always|never",
                              help="Colour output: auto (a terminal, unless NO_COLOR is set), always, never."),
) -> None:
    """Repair infrastructure files and hand the fixes back as reviewable git history."""
    if color not in term.COLOR_MODES:
        raise typer.BadParameter(f"'{color}' (auto, always, never)", param_hint="--color")
    term.color_mode = color


def _fail(msg: str) -> None:
    _console(stderr=True).print(f"fixer: {msg}", markup=False, highlight=False)
    raise typer.Exit(2)


def _settings(root: Path, only, skip, exclude, online: Optional[bool], offline_default: bool,
              **extra) -> config.Settings:
    """Settings from the file and the command line; `online` is --online/--offline (None:
    the config file's `offline`, else the command's default)."""
    from . import waivers

    try:
        s = config.load(root, offline_default=offline_default, only=only, skip=skip, exclude=exclude,
                        offline=None if online is None else not online, **extra)
        s.extra["waivers"] = waivers.load(root)     # .fixer-ignore.toml
        return s
    except (config.ConfigError, waivers.WaiverError) as exc:
        _fail(str(exc))
        raise


def _not_scanned(result, verbose: bool) -> None:
    """-v: every file not scanned, with the reason, on stderr."""
    if verbose:
        err = _console(stderr=True)
        for path, why in result.skipped_files:
            err.print(f"not scanned: {path}: {why}", markup=False, highlight=False)


def _hold_unsafe(settings: config.Settings, unsafe_fixes: bool) -> None:
    """apply and check --write: fixes labelled unsafe are held back unless --unsafe-fixes
    (or `unsafe-fixes = true` in the configuration)."""
    settings.extra["hold-unsafe"] = not (unsafe_fixes or settings.get("unsafe-fixes", False))


def _held(result) -> None:
    """List the unsafe fixes that were not applied (never silently)."""
    from .report import held
    from .secrets import masker

    fixes = held(result.changesets)
    if not fixes:
        return
    mask = masker(result.secrets)
    err = _console(stderr=True)
    err.print(f"held back: {len(fixes)} unsafe fix(es), not applied (--unsafe-fixes to apply them):",
              markup=False, highlight=False)
    for f in fixes:
        first = f.message.splitlines()[0] if f.message else ""
        err.print(mask(f"  {f.path}:{f.line}: {f.codemod}: {first}"), markup=False, highlight=False)


def _errors(result) -> None:
    if not result.errors:
        return
    err = _console(stderr=True)
    from .secrets import masker

    mask = masker(result.secrets)
    for e in result.errors:
        err.print(f"warning: {mask(e)}", markup=False, highlight=False)


@app.command()
def plan(
    path: Path = typer.Argument(Path("."), help="Repository or folder to scan."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: Optional[bool] = opt.network("online"),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text, json, sarif, github or patch."),
    output: Optional[Path] = OutputOpt,
    verbose: bool = VerboseOpt,
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
    verify_pins: bool = typer.Option(False, "--verify-pins", help="Check existing digest pins."),
    update_pins: bool = typer.Option(False, "--update-pins", help="Move pins whose tag moved."),
) -> None:
    """Show every fix as a diff, grouped by codemod. Nothing is written.

    Exit 0: nothing to change; 1: changes proposed; 2: error.

    Example: fixer plan . --only compose-restart,pin-image-digest --offline
    """
    from .report import print_plan, write_plan_json

    if fmt not in ("text", "json", "sarif", "github", "patch"):
        _fail(f"unknown format '{fmt}' (text, json, sarif, github, patch)")
    try:
        root = runner.check_path(path)
        settings = _settings(root, only, skip, exclude, online, False, registry_mirror=registry_mirror,
                             insecure_registry=insecure_registry, cache_dir=cache_dir,
                             refresh=refresh or None, verify_pins=verify_pins or None,
                             update_pins=update_pins or None)
        with term.progress("fixer plan"):
            result = runner.plan(root, settings)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    if fmt in ("sarif", "github"):
        _ci_output(result, root, fmt, output)
    elif fmt == "patch":
        from .report import patch

        _emit(patch(result), output)
    elif fmt == "json":
        import io

        buf = io.StringIO() if output else sys.stdout
        write_plan_json(buf, result.changesets, result.skipped_files, result.errors, result.secrets)
        if output:
            _emit(buf.getvalue(), output)
    elif output:
        import io

        buf = io.StringIO()
        print_plan(result.changesets, result.skipped_files, result.errors, result.secrets,
                   term.console(file=buf), verbose)
        _emit(buf.getvalue(), output)
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
    branch: Optional[str] = typer.Option(None, "--branch", metavar="NAME", help="Branch to create (default fixer/remediation)."),
    force: bool = typer.Option(False, "--force", help="Replace a branch fixer created earlier."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: Optional[bool] = opt.network("online"),
    verbose: bool = VerboseOpt,
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes",
                                      help="Also apply fixes labelled unsafe (see `fixer rules`)."),
) -> None:
    """Create a branch from HEAD with one commit per codemod. Your branch, index and
    working tree are left as they are.

    Example: fixer apply . --branch fixer/hardening && git log -p HEAD..fixer/hardening
    """
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
    settings = _settings(root, only, skip, exclude, online, False, registry_mirror=registry_mirror,
                         insecure_registry=insecure_registry, cache_dir=cache_dir, refresh=refresh or None)
    _hold_unsafe(settings, unsafe_fixes)
    name = branch or settings.branch
    out = _console()
    try:
        source = runner.head_source(repo, prefix)
        with term.progress("fixer apply"):
            result = runner.run(source, settings, root=root)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    _not_scanned(result, verbose)
    _errors(result)
    _held(result)
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
def rules(fmt: Optional[str] = typer.Option(None, "--format", metavar="FORMAT",
                                            help="table (default on a terminal), text (default when piped) or json."),
          ) -> None:
    """List the codemods: id, title, files, severity, safety, scanner rules resolved.

    Example: fixer rules --format json | jq -r '.[].id'
    """
    fmt = fmt or ("table" if sys.stdout.isatty() else "text")
    if fmt not in ("table", "text", "json"):
        _fail(f"unknown format '{fmt}' (table, text, json)")
    rows = [{"id": c.id, "title": c.title, "files": list(c.kinds), "severity": c.severity,
             "safety": c.safety, "resolves": list(c.checks)} for c in runner.all_codemods()]
    if fmt == "json":
        import json

        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
    elif fmt == "text":
        sys.stdout.write("".join(f"{r['id']}\t{r['severity']}\t{r['safety']}\t{r['title']}\t"
                                 f"{','.join(r['files'])}\t{','.join(r['resolves']) or '-'}\n" for r in rows))
    else:
        from rich.table import Table

        table = Table(title="fixer codemods")
        table.add_column("id", no_wrap=True)
        for col in ("title", "files", "severity", "safety", "resolves"):
            table.add_column(col)
        for r in rows:
            table.add_row(r["id"], r["title"], ", ".join(r["files"]), r["severity"], r["safety"],
                          ", ".join(r["resolves"]))
        _console().print(table)


@app.command("config-schema")
def config_schema() -> None:
    """Print the JSON Schema of the settings ([tool.fixer] in pyproject.toml, .fixer.toml),
    for editors; the same file ships as fixer/data/config.schema.json.

    Example: fixer config-schema > fixer.schema.json
    """
    import json

    sys.stdout.write(json.dumps(config.schema(), indent=2) + "\n")


@app.command()
def explain(codemod_id: str = typer.Argument(..., metavar="ID|IMAGE",
                                             help="Codemod id (see `fixer rules`) or an image reference.")) -> None:
    """Print a codemod's guide (what its finding means, how fixer decides, an example, what
    it leaves alone, options, safety, confidence and how to override it), or what fixer
    knows about an image.

    Example: fixer explain compose-cap-drop (or an image: fixer explain postgres:16)
    """
    from . import imagedb
    from .report import unified

    found = {c.id: c for c in runner.all_codemods()}
    c = found.get(codemod_id)
    if c is None:
        known = imagedb.explain(codemod_id)
        if known is None:
            _fail(f"unknown codemod or image '{codemod_id}' (see `fixer rules`; images: fixer/data/images)")
            return
        _console().print("\n".join(known), markup=False, highlight=False)
        return
    out = _console()
    out.print(f"{c.id}: {c.title}", markup=False)
    out.print(f"severity: {c.severity}; files: {', '.join(c.kinds)}; resolves: {', '.join(c.checks) or '-'}",
              markup=False)
    out.print(explain_text(c), markup=False, highlight=False)


def explain_text(c) -> str:
    """A codemod's guide: what the finding means, how fixer decides (with the cases it
    leaves alone, from its examples), options, safety and how to override."""
    from .report import unified

    parts = ["What it means and how fixer decides", c.rationale]
    ex = next((e for e in c.examples if e.after is not None), None)
    if ex:
        parts += ["Example", unified(ex.path, ex.before, ex.after).rstrip("\n")]
    left = [e.skip for e in c.examples if e.skip]
    if left:
        parts += ["Left alone (each with a skip saying why), for example", "\n".join(f"- … {s} …" for s in left)]
    if c.config:
        parts += ["Options ([tool.fixer.codemod.%s])" % c.id,
                  "\n".join(f"- {o.name} (default {o.default!r}): {o.help}" for o in c.config)]
    parts += ["Safety and confidence",
              f"safety: {c.safety}" + (" (apply and check --write apply it only with --unsafe-fixes)" if c.safety == "unsafe"
                                       else "") + f"; confidence of its findings: {c.confidence}"]
    override = (c.guide + "\n" if c.guide else "") + (
        f"To leave a place alone: `# fixer: ignore[{c.id}]` on its line or block, or an entry in "
        f".fixer-ignore.toml (path, optional block, codemod = \"{c.id}\", reason); "
        f"`--skip {c.id}` turns it off for a run.")
    parts += ["When to override", override]
    return "\n".join(p if i % 2 else f"\n{p}:" if i else f"{p}:" for i, p in enumerate(parts)) + "\n"


@app.command()
def init(
    path: Path = typer.Argument(Path("."), metavar="PATH", help="Repository root (default .)."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    force: bool = typer.Option(False, "--force", help="Replace an existing baseline."),
) -> None:
    """Write .fixer-baseline.json: today's findings, which `fixer check` then leaves out,
    so that only new findings fail CI. Offline. Fix the listed ones at your own pace
    (`fixer check --no-baseline` shows them all).

    Example: fixer init . && git add .fixer-baseline.json
    """
    from . import waivers

    try:
        root = runner.check_path(path)
        target = root / waivers.BASELINE_FILE
        if target.exists() and not force:
            raise runner.UsageError(f"{target}: exists (--force to replace it)")
        settings = _settings(root, only, skip, exclude, False, True)
        with term.progress("fixer init"):
            result = runner.plan(root, settings)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    _errors(result)
    rows = [{"fingerprint": waivers.fingerprint(cs.codemod.id, f.path, f.block, f.message),
             "codemod": cs.codemod.id, "file": f.path, "block": f.block, "line": f.line}
            for cs in result.changesets for f in cs.findings if f.status != "suppressed"]
    from .writer import write_atomic

    try:
        write_atomic(target, waivers.baseline_json(rows).encode("utf-8"))
    except OSError as exc:
        _fail(f"{target}: {exc}")
    _console(stderr=True).print(f"fixer: {len(rows)} finding(s) written to {waivers.BASELINE_FILE}",
                                markup=False, highlight=False)


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
    paths: Optional[List[Path]] = typer.Argument(
        None, metavar="PATH", show_default=False,
        help="Repository or folder to check (default .), or files in the repository: then only "
             "findings about those files count, and structural codemods do not run."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: Optional[bool] = opt.network("offline"),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text, json, sarif or github."),
    output: Optional[Path] = OutputOpt,
    verbose: bool = VerboseOpt,
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
    fail_on: Optional[str] = typer.Option(
        None, "--fail-on", metavar="pending|reported|never|SEVERITY",
        help="What exits 1: pending fixes (default); also reported-only findings; never; or "
             "low|medium|high|critical: open findings (pending or reported) of that severity or above."),
    baseline: bool = typer.Option(True, "--baseline/--no-baseline",
                                  help="Leave out findings listed in .fixer-baseline.json (written by `fixer init`)."),
    allow_parse_errors: bool = typer.Option(
        False, "--allow-parse-errors", help="Files that cannot be parsed do not make the exit status 2."),
    write: bool = typer.Option(False, "--write", help="Apply the fixes to the files in place (atomic)."),
    unsafe_fixes: bool = typer.Option(False, "--unsafe-fixes",
                                      help="With --write, also write fixes labelled unsafe (see `fixer rules`)."),
) -> None:
    """CI mode: report pending fixes. Offline unless --online.

    Exit 0: nothing to fix; 1: fixes pending (see --fail-on); 2: error, or files that
    cannot be parsed.

    Example: fixer check . --format sarif -o fixer.sarif --fail-on never
    """
    if fmt not in ("text", "json", "sarif", "github"):
        _fail(f"unknown format '{fmt}' (text, json, sarif, github)")
    try:
        root, targets = _check_paths(paths or [Path(".")])
        settings = _settings(root, only, skip, exclude, online, True, registry_mirror=registry_mirror,
                             insecure_registry=insecure_registry, cache_dir=cache_dir, refresh=refresh or None)
        fail_on = fail_on or settings.get("fail-on", "pending")
        if fail_on not in FAIL_ON:
            raise runner.UsageError(f"--fail-on: unknown value '{fail_on}' ({', '.join(FAIL_ON)})")
        if baseline:
            _use_baseline(root, settings)
        allow_parse_errors = allow_parse_errors or bool(settings.get("allow-parse-errors"))
        if targets is not None:
            settings.only, settings.skip = [c.id for c in _codemods_for(root, targets, settings)], []
            settings.extra["focus"] = frozenset(targets)
            if not settings.only:   # no codemod fixes these kinds of files
                _check_text(runner.Result([], [], []), output) if fmt == "text" else None
                raise typer.Exit(0)
        if write:
            _hold_unsafe(settings, unsafe_fixes)
        with term.progress("fixer check"):
            result = runner.plan(root, settings)
        if targets is not None:
            result = runner.restrict(result, targets)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    if fmt == "text":
        _check_text(result, output)
    else:
        _ci_output(result, root, fmt, output)
    _not_scanned(result, verbose)
    _errors(result)
    if result.processed == 0 and result.errors:
        raise typer.Exit(2)
    if write:
        _held(result)
    if write and result.changed:
        _write(root, result)
    if result.unparsed and not allow_parse_errors:
        _console(stderr=True).print(f"fixer: {len(result.unparsed)} file(s) could not be parsed "
                                    "(--allow-parse-errors to ignore)", markup=False, highlight=False)
        raise typer.Exit(2)
    raise typer.Exit(_check_status(result, fail_on))


FAIL_ON = ("pending", "reported", "never", "low", "medium", "high", "critical")


def _use_baseline(root: Path, settings) -> None:
    from . import waivers

    try:
        found = waivers.load_baseline(root)
    except waivers.WaiverError as exc:
        raise runner.UsageError(str(exc)) from None
    if found:
        w = settings.extra.setdefault("waivers", waivers.Waivers())
        w.baseline, w.baseline_file = found, waivers.BASELINE_FILE


def _check_status(result, fail_on: str) -> int:
    if fail_on == "never":
        return 0
    if fail_on in SEVERITIES:     # open findings at or above a severity
        floor = SEVERITIES.index(fail_on)
        return int(any(f.status in ("fixed", "reported") and SEVERITIES.index(cs.codemod.severity) >= floor
                       for cs in result.changesets for f in cs.findings))
    statuses = {f.status for cs in result.changesets for f in cs.findings}
    if result.changed or "held" in statuses or (fail_on == "reported" and "reported" in statuses):
        return 1
    return 0


def _write(root: Path, result) -> None:
    """check --write: the run held unsafe fixes back unless --unsafe-fixes; write the rest."""
    from .writer import write_changes

    err = _console(stderr=True)
    try:
        written = write_changes(root, result)
    except OSError as exc:
        _fail(str(exc))
        return
    for p in written:
        err.print(f"fixed {p}", markup=False, highlight=False)


def _check_paths(paths: List[Path]) -> tuple[Path, Optional[set[str]]]:
    """(root, None) for one folder; (repository root, files relative to it) for files."""
    if len(paths) == 1 and paths[0].is_dir():
        return runner.check_path(paths[0]), None
    for p in paths:
        if not p.exists():
            raise runner.UsageError(f"{p}: no such file or directory")
        if p.is_dir():
            raise runner.UsageError(f"{p}: give one folder, or files (not both)")
    files = [p.resolve() for p in paths]
    import subprocess

    top = subprocess.run(["git", "-C", str(files[0].parent), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True)
    cwd = Path.cwd().resolve()
    if top.returncode == 0:
        root = Path(top.stdout.strip()).resolve()
    elif all(f.is_relative_to(cwd) for f in files):
        root = cwd
    else:
        import os

        root = Path(os.path.commonpath([f.parent for f in files]))
    outside = next((f for f in files if not f.is_relative_to(root)), None)
    if outside:
        raise runner.UsageError(f"{outside}: not inside {root}")
    return root, {f.relative_to(root).as_posix() for f in files}


def _codemods_for(root: Path, targets: set[str], settings) -> list:
    """The selected codemods that fix a kind of file among `targets` (structural ones
    excluded: they work on the whole repository)."""
    from . import discovery as disc

    charts = {d for t in targets for d in [str(Path(t).parents[i]) for i in range(len(Path(t).parents))]
              if (root / d / "Chart.yaml").is_file()}
    charts = {"" if d == "." else d for d in charts}
    kinds = set()
    for t in targets:
        kind = disc.name_kind(t, charts)
        if kind is None:
            try:
                kind = disc.content_kind((root / t).read_text(encoding="utf-8", errors="replace"))
            except OSError:
                continue
        if kind:
            kinds.add(kind)
    return [c for c in runner.select(runner.all_codemods(), settings)
            if not c.structural and kinds & set(c.targets or c.kinds)]


def _check_text(result, output: Optional[Path]) -> None:
    from . import sarif
    from .secrets import masker

    mask = masker(result.secrets)
    lines = []
    pending = 0
    known = 0
    for cs in result.changesets:
        for f in cs.findings:
            if f.status == "suppressed" and f.note.startswith("in the baseline"):
                known += 1    # listed in JSON and SARIF, not here: only new findings
                continue
            if f.status == "fixed":
                pending += 1
            check = f" ({f.check})" if f.check else ""
            note = f": {f.note}" if f.note else ""
            status = sarif.status_label(f.status) + (f", {f.safety}" if f.safety and f.status != "held" else "")
            lines.append(mask(f"{f.path}:{f.line}: {cs.codemod.id}: {f.message}{check} [{status}{note}]"))
    files = len({p for cs in result.changesets for p in cs.changes})
    lines.append(f"{pending} fixable finding(s) pending in {files} file(s)" if pending else "nothing to fix")
    if known:
        lines.append(f"{known} finding(s) of the baseline left out (--no-baseline shows them)")
    _emit("\n".join(lines) + "\n", output)


@app.command()
def report(
    path: Path = typer.Argument(Path("."), help="Repository or folder to audit."),
    only: Optional[str] = OnlyOpt,
    skip: Optional[str] = SkipOpt,
    exclude: Optional[List[str]] = ExcludeOpt,
    online: Optional[bool] = opt.network("offline"),
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text, markdown or html."),
    output: Optional[Path] = OutputOpt,
    verbose: bool = VerboseOpt,
    registry_mirror: Optional[List[str]] = MirrorOpt,
    insecure_registry: Optional[List[str]] = InsecureOpt,
    cache_dir: Optional[Path] = CacheOpt,
    refresh: bool = RefreshOpt,
) -> None:
    """An audit: inventory, near-duplicate files, findings by codemod, severity and area,
    and what apply would change. Nothing is written to the repository.

    Example: fixer report . --format html -o audit.html
    """
    from . import audit
    from .discovery import WorkTree

    if fmt not in ("text", "markdown", "html"):
        _fail(f"unknown format '{fmt}' (text, markdown, html)")
    try:
        root = runner.check_path(path)
        settings = _settings(root, only, skip, exclude, online, True, registry_mirror=registry_mirror,
                             insecure_registry=insecure_registry, cache_dir=cache_dir, refresh=refresh or None)
        source = WorkTree(root, use_git=runner.in_git(root))
        with term.progress("fixer report"):
            result = runner.run(source, settings, root=root)
    except runner.UsageError as exc:
        _fail(str(exc))
        return
    _not_scanned(result, verbose)
    a = audit.build(source, settings, result, audit.short_name(root))
    if fmt == "text" and output is None:
        audit.print_rich(a, _console())
        return
    text = audit.markdown(a) if fmt in ("markdown", "text") else audit.html_page(a)
    _emit(text, output)


def main() -> None:
    """Entry point. A crash exits 2 (never 1, which means "fixes pending")."""
    try:
        app()
    except Exception:   # typer.Exit and usage errors are SystemExit, not caught here
        import traceback

        traceback.print_exc()
        sys.stderr.write("fixer: internal error (see the traceback above)\n")
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
