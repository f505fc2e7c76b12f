"""In what order codemods meet files: codemod by codemod, or (neighbouring codemods of
file scope that do not read each other's targets) file by file, in chunks, half of them
in a forked copy of the process."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from . import buildkit, forked
from . import discovery as disc
from .codemod import Codemod, Finding, Skip
from .context import Context
from .origin import Splices
from .settle import Settler
from .workspace import ChangeSet, Workspace


def _reads(cm: Codemod) -> set[str]:
    """Kinds a codemod reads besides the files it fixes (a template's values are its own)."""
    targets = set(cm.targets or cm.kinds)
    return set(cm.kinds) - targets - ({disc.HELM_VALUES} if disc.HELM in targets else set())


def independent(group: list[Codemod], cm: Codemod) -> bool:
    """cm may run file by file with the group: none of them reads what another one fixes
    (file by file, it would see the other one's fixes too early or too late)."""
    targets = set(cm.targets or cm.kinds)
    return all(not (_reads(g) & targets) and not (_reads(cm) & set(g.targets or g.kinds))
               for g in group)


def groups(cms: list[Codemod]) -> list[list[Codemod]]:
    """Codemods in run order, cut into groups: a group of more than one runs file by file."""
    out: list[list[Codemod]] = []
    i = 0
    while i < len(cms):
        j = i + 1
        if cms[i].scope == "file":
            while j < len(cms) and cms[j].scope == "file" and independent(cms[i:j], cms[j]):
                j += 1
        out.append(cms[i:j])
        i = j
    return out


def chunked(units: dict[str, list[str]], size: int) -> list[list[str]]:
    """Units in chunks of about `size` files (a unit, e.g. a chart, is never split)."""
    chunks: list[list[str]] = [[]]
    n = 0
    for unit in units:
        if chunks[-1] and n + len(units[unit]) > size:
            chunks.append([])
            n = 0
        chunks[-1].append(unit)
        n += len(units[unit])
    return chunks


@dataclass
class Part:
    """One codemod's share of the forked copy's work."""

    changes: dict[str, tuple[str | None, str | None]]
    findings: list[Finding]
    skips: list[Skip]
    seconds: float


@dataclass
class WorkerResult:
    """What the forked copy sends back."""

    parts: list[Part]
    errors: list[str]
    secrets: set[str]
    notes: dict[str, list[str]]
    bad_files: set[str]
    origins: dict[str, list[Splices]] = field(default_factory=dict)


BIG = 10_000     # files: above this the second process is not used unless asked for


def jobs(settings, files: int) -> int:
    """Processes a run may use. By default two, but one on a repository of more than BIG
    infrastructure files: a copy's own memory then costs more than the second core gains
    (about 100 MB at 25,000 files). `jobs` (or FIXER_JOBS) decides otherwise."""
    asked = settings.get("jobs") or os.environ.get("FIXER_JOBS")
    try:
        return int(asked) if asked else (2 if files <= BIG else 1)
    except ValueError:
        return 1


class FileByFile:
    """Run a group of codemods of file scope a chunk of files (a chart counts as one) at a
    time: each codemod still sees the previous one's validated output, a file is parsed
    once for all of them and then forgotten (memory stays flat however big the repository)."""

    def __init__(self, ws: Workspace, ctx: Context, settler: Settler, source: disc.Source | None):
        self.ws = ws
        self.ctx = ctx
        self.settler = settler
        self.source = source

    def run(self, group: list[Codemod]) -> list[ChangeSet]:
        css = [ChangeSet(cm) for cm in group]
        units: dict[str, list[str]] = {}
        for path in self.ws.paths({k for cm in group for k in cm.targets or cm.kinds}):
            if self.ctx.in_focus(path):
                units.setdefault(self.ws.unit(path), []).append(path)
        # within a chunk codemod after codemod (their outputs are then parsed for validation
        # in one round trip), chunk after chunk; a chunk's parses fit in the caches
        chunks = chunked(units, buildkit.BATCH)
        half = len(chunks) // 2
        worker = self.fork(group, units, chunks[half:]) if half >= 2 and self.jobs() > 1 else None
        self.chunks(group, css, units, chunks if worker is None else chunks[:half])
        if worker is not None:
            done = self.join(css, worker)
            if not done:   # the other process failed: do its half here (nothing of it was kept)
                self.chunks(group, css, units, chunks[half:])
        for cm, cs in zip(group, css):
            cs.notes = self.ctx.notes.get(cm.id, [])
        return css

    def chunks(self, group: list[Codemod], css: list[ChangeSet],
               units: dict[str, list[str]], chunks: list[list[str]]) -> None:
        ctx = self.ctx
        for chunk_units in chunks:
            chunk = [p for u in chunk_units for p in units[u]]
            self.ws.prefetch(chunk)
            for cm, cs in zip(group, css):
                started = time.perf_counter()
                results: list = []
                for unit in chunk_units:
                    docs = []
                    for path in units[unit]:
                        st = self.ws.files.get(path)
                        if st is None or st.text is None or st.kind not in (cm.targets or cm.kinds) \
                                or not ctx.usable(path) or not cm.wants(st.text):
                            continue
                        docs.append(self.ws.document(path))
                    if docs:
                        try:
                            results += cm.fix_unit(docs, ctx)
                        except Exception as exc:  # a codemod bug must not stop the run
                            ctx.error(docs[0].path, f"{cm.id} failed: {exc.__class__.__name__}: {exc}")
                if results:
                    found = self.settler.collect(cs, results)
                    for f in found:
                        unit = self.ws.unit(f.path)
                        # a new file is fine (nothing else reads it); another existing one is not
                        outside = sorted(p for p in f.paths if self.ws.unit(p) != unit and p in self.ws.files)
                        if outside:
                            f.edits = []
                            f.status, f.note = "dropped", f"edits {outside[0]}, outside its own file"
                            ctx.error(f.path, f"{cm.id}: {f.note} (a codemod of file scope)")
                    self.settler.settle(cs, [f for f in found if f.status != "dropped"])
                cs.seconds += time.perf_counter() - started
            for path in chunk:
                self.ws.forget(path)

    def jobs(self) -> int:
        return jobs(self.ctx.settings, len(self.ws.files))

    def fork(self, group: list[Codemod], units, chunks) -> forked.Forked | None:
        """Run these chunks in a forked copy of this process (the machine's second core);
        None when that is not possible. The copy sends back what it found and changed."""
        ctx = self.ctx
        if ctx.settings.get("debug"):
            return None

        def work() -> WorkerResult:
            n_errors, n_notes = len(ctx.errors), {k: len(v) for k, v in ctx.notes.items()}
            css = [ChangeSet(cm) for cm in group]
            self.chunks(group, css, units, chunks)
            return WorkerResult(
                [Part(cs.changes, cs.findings, cs.skips, cs.seconds) for cs in css], ctx.errors[n_errors:],
                ctx.secrets, {k: v[n_notes.get(k, 0):] for k, v in ctx.notes.items()}, ctx.bad_files,
                {p: self.ws.origins.sets.get(p, []) for cs in css for p in cs.changes})
        return forked.start(work, self.source)

    def join(self, css: list[ChangeSet], worker: forked.Forked) -> bool:
        """Take in the forked copy's work; False when it failed."""
        ctx = self.ctx
        got: WorkerResult | None = worker.result()
        if got is None:
            return False
        for cs, part in zip(css, got.parts):
            for path, (old, new) in part.changes.items():
                cs.record(path, old, new)
                self.ws.set_text(path, new)
            cs.findings += part.findings
            cs.skips += part.skips
            cs.seconds += part.seconds
            cs.pack()
        for line in got.errors:
            ctx.error_line(line)
        ctx.secrets |= got.secrets
        for k, v in got.notes.items():
            ctx.notes.setdefault(k, []).extend(v)
        ctx.bad_files |= got.bad_files
        self.ws.origins.sets.update(got.origins)
        return True
