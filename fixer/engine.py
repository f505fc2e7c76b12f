"""Run codemods over a repository, each on the previous one's output.

The pipeline, module by module: `workspace.load` reads the source's infrastructure files
(`documents` parses them on demand); a `context.Context` is what codemods query;
`scheduling` decides whether codemods run one by one or file by file (chunks, a forked
second process); `settle` applies each codemod's edits, validates and drops what breaks
a file.
"""
from __future__ import annotations

import gc
import time
import traceback

from . import discovery as disc
from .codemod import Codemod
from .config import Settings
from .context import Context
from .documents import PythonFile, make_document
from .scheduling import FileByFile, groups
from .scheduling import independent as _independent
from .settle import Settler
from .workspace import ChangeSet, FileState, Workspace, load

__all__ = ["ChangeSet", "Context", "Engine", "FileState", "PythonFile", "Workspace",
           "_independent", "make_document"]


class Engine:
    def __init__(self, settings: Settings, codemods: list[Codemod]):
        self.settings = settings
        self.codemods = codemods
        self.errors: list[str] = []
        self.skipped_files: list[tuple[str, str]] = []
        self.ws = Workspace()
        self.processed = 0
        self.source: disc.Source | None = None

    def load(self, source: disc.Source) -> None:
        self.source = source
        loaded = load(self.ws, source, self.settings, {k for cm in self.codemods for k in cm.kinds})
        self.skipped_files += loaded.skipped
        self.errors += loaded.errors
        self.processed = len(self.ws.files)

    def run(self, root=None) -> list[ChangeSet]:
        # parses make millions of short-lived objects: with the default thresholds the
        # collector walks every live object dozens of times (a quarter of the run on
        # 12,500 files); cycles are rare here, so collect far less often
        saved = gc.get_threshold()
        gc.set_threshold(20_000, 20, 20)
        try:
            return self._run(root)
        finally:
            gc.set_threshold(*saved)

    def _run(self, root=None) -> list[ChangeSet]:
        ctx = Context(self.ws, self.settings, root, self.errors)
        ctx.source = self.source
        self.ctx = ctx
        settler = Settler(self.ws, ctx)
        by_file = FileByFile(self.ws, ctx, settler, self.source)
        out: list[ChangeSet] = []
        todo = groups(self.codemods)
        for n, group in enumerate(todo):
            if len(group) == 1:
                out.append(self._run_codemod(ctx, settler, group[0]))
            else:
                out += by_file.run(group)
            # parsed documents are kept only for the kinds the next codemod reads, the
            # repository model while a later codemod reads it
            self.ws.forget_parses(keep=set(todo[n + 1][0].kinds) if n + 1 < len(todo) else set())
            if not any(cm.uses_model for later in todo[n + 1:] for cm in later):
                ctx.shared.pop("model", None)
        return out

    def _run_codemod(self, ctx: Context, settler: Settler, cm: Codemod) -> ChangeSet:
        started = time.perf_counter()
        cs = ChangeSet(cm)
        results: list = []
        try:
            results = list(cm.run(ctx))
        except Exception as exc:
            ctx.error_line(f"{cm.id}: failed: {exc.__class__.__name__}: {exc}")
            if self.settings.get("debug"):
                traceback.print_exc()
        settler.settle(cs, settler.collect(cs, results))
        cs.notes = ctx.notes.get(cm.id, [])
        cs.seconds = time.perf_counter() - started
        return cs
