"""Glue between the CLI (or tests) and the engine."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import config
from .codemod import Codemod
from .discovery import GitTree, Source, WorkTree
from .engine import ChangeSet, Engine
from . import forked
from .scheduling import jobs
from .secrets import find_all as find_secrets


class UsageError(Exception):
    """Bad command-line input: exit code 2 with a one-line message."""


@dataclass
class Result:
    changesets: list[ChangeSet]
    errors: list[str]
    skipped_files: list[tuple[str, str]]
    secrets: set[str] = field(default_factory=set)
    processed: int = 0
    engine: Engine | None = None
    unparsed: list[str] = field(default_factory=list)   # files that could not be read or parsed

    @property
    def changed(self) -> bool:
        return any(cs.changes for cs in self.changesets)


def select(codemods: tuple[Codemod, ...], settings: config.Settings, known=None) -> list[Codemod]:
    """The codemods `only` and `skip` leave; a name that is not among `known` (by default
    these codemods' ids) is a usage error."""
    ids = set(known) if known is not None else {c.id for c in codemods}
    for name in settings.only + settings.skip:
        if name not in ids:
            raise UsageError(f"unknown codemod '{name}' (see `fixer rules`)")
    out = [c for c in codemods if (not settings.only or c.id in settings.only)
           and c.id not in settings.skip]
    return out


def all_codemods():
    from codemods import all_codemods as load

    return load()


def wanted_codemods(settings: config.Settings) -> list[Codemod]:
    """The codemods of the run: with `only`, those alone are imported (`select` names any
    unknown one); all without it."""
    from codemods import module_ids, some_codemods

    known = module_ids()
    codemods = some_codemods(tuple(sorted(set(settings.only) & set(known)))) if settings.only \
        else all_codemods()
    return select(codemods, settings, known)


def in_git(path: Path) -> bool:
    r = subprocess.run(["git", "-C", str(path), "rev-parse", "--is-inside-work-tree"],
                       capture_output=True, text=True)
    return r.returncode == 0 and r.stdout.strip() == "true"


def check_path(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path}: no such file or directory")
    if not path.is_dir():
        raise UsageError(f"{path}: not a directory (give the repository or a folder in it)")
    return path.resolve()


def run(source: Source, settings: config.Settings, codemods=None, root: Path | None = None) -> Result:
    codemods = wanted_codemods(settings) if codemods is None else select(codemods, settings)
    engine = Engine(settings, codemods)
    engine.load(source)
    unread = {line.split(": ", 1)[0] for line in engine.errors}   # read and decode errors
    # the secrets of every file (the originals, which never change) are found in a copy of
    # the process while the codemods run; here when there is no copy or it failed
    scan = forked.start(lambda: find_secrets(engine.ws, source), source) \
        if jobs(settings, len(engine.ws.files)) > 1 and not settings.get("debug") else None
    changesets = engine.run(root or source.root)
    found = scan.result() if scan else None
    secrets = engine.ctx.secrets | (found if found is not None else find_secrets(engine.ws, source))
    return Result(changesets, engine.errors, engine.skipped_files, secrets,
                  engine.processed, engine, sorted(unread | engine.ctx.bad_files))


def restrict(result: Result, paths: set[str]) -> Result:
    """Only the findings about `paths` and the changes their fixes make (the run itself
    read the whole repository)."""
    kept = []
    for cs in result.changesets:
        findings = [f for f in cs.findings if f.path in paths]
        touched = {p for f in findings if f.status == "fixed" for p in f.paths}
        kept.append(replace(cs, findings=findings, skips=[k for k in cs.skips if k.path in paths],
                            changes={p: c for p, c in cs.changes.items() if p in touched}))
    others = result.engine.ws.all_paths - paths if result.engine else set()
    return replace(result, changesets=kept, unparsed=[p for p in result.unparsed if p in paths],
                   errors=[e for e in result.errors if e.split(": ", 1)[0] not in others],
                   skipped_files=[s for s in result.skipped_files if s[0] in paths])


def plan(path: Path, settings: config.Settings | None = None, codemods=None, **cli) -> Result:
    root = check_path(path)
    settings = settings or config.load(root, **cli)
    return run(WorkTree(root, use_git=in_git(root)), settings, codemods, root)


def head_source(repo, prefix: str) -> Source:
    """HEAD's files under `prefix` (paths relative to it)."""
    tree = GitTree(repo, repo.head.commit)
    if not prefix:
        return tree

    class Sub(Source):
        root = Path(repo.working_tree_dir) / prefix

        def entries(self):
            return [(p[len(prefix):], m, s) for p, m, s in tree.entries() if p.startswith(prefix)]

        def read(self, path):
            return tree.read(prefix + path)

        def after_fork(self):
            tree.after_fork()
    return Sub()
