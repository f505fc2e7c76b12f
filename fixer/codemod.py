"""The codemod API: what a codemod declares and what it reports."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from .text import Edit

if TYPE_CHECKING:  # pragma: no cover
    from .context import Context

SEVERITIES = ("low", "medium", "high", "critical")
# How safe a fix is (ruff's safe/unsafe convention, with a middle step):
#   safe       same behaviour (waste removed, an equivalent form)
#   evidenced  behaviour changes, backed by evidence from the repository or the image
#   unsafe     needs a human: values to provision, files deleted, sizes without evidence
# `apply` and `check --write` apply safe and evidenced fixes; unsafe ones need --unsafe-fixes.
SAFETY = ("safe", "evidenced", "unsafe")


@dataclass(slots=True)
class Example:
    """An inline example the test suite runs.

    `after` None means the file must not change. `skip` is part of the reason the codemod
    gives (a Skip) for a target it leaves; an example that changes nothing and names no
    skip is already in shape, and the codemod must then report nothing at all. `files` are
    extra files placed beside it (paths relative to the scratch repository).
    """

    path: str
    before: str
    after: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    skip: str = ""


@dataclass(slots=True)
class Finding:
    """Something a codemod found; `edits` fix it (none: report only)."""

    path: str
    line: int                     # 1-based; 0 when the whole file
    message: str
    edits: list[Edit] = field(default_factory=list)
    check: str = ""               # scanner rule it maps to, e.g. "DL3020"
    codemod: str = ""
    status: str = ""              # fixed | reported | dropped | suppressed | held (unsafe, not applied)
    note: str = ""                # why dropped, suppressed or held
    safety: str = ""              # one of SAFETY; empty: the codemod's label (set by the engine)
    confidence: str = ""          # high | medium | low; "" takes the codemod's
    block: str = ""               # service, job, workload or stage holding the line

    @property
    def paths(self) -> set[str]:
        return {e.path for e in self.edits} | {self.path}


@dataclass(slots=True)
class Skip:
    """A place a codemod looked at and left alone, with the reason."""

    path: str
    line: int
    reason: str
    codemod: str = ""


@dataclass(frozen=True, slots=True)
class Option:
    """A setting of a codemod under `[tool.fixer.codemod.<id>]`: its JSON Schema
    (type, pattern, ...), default and help. The config schema is built from these."""

    name: str
    schema: dict[str, Any]
    default: Any = None
    help: str = ""


class Codemod:
    id: str = ""
    title: str = ""
    kinds: tuple[str, ...] = ()
    severity: str = "medium"
    checks: tuple[str, ...] = ()   # e.g. ("hadolint:DL3020", "checkov:CKV_DOCKER_4")
    rationale: str = ""
    guide: str = ""                # how to decide and override, for `fixer explain`
    examples: list[Example] = []
    order: int = 500               # engine runs codemods by (order, id)
    needs_network: bool = False
    uses_model: bool = False       # reads ctx.model (kept for the run until no later codemod does)
    # "file": fix(doc) reads and edits only its own file (a Helm template: its own chart,
    # values.yaml included) and other kinds of files. Neighbouring codemods of that scope
    # then run file by file, so each file is parsed once for all of them.
    scope: str = "repo"
    targets: tuple[str, ...] = ()  # kinds fix() runs on, when fewer than `kinds` (the rest is read)
    config: tuple[Option, ...] = ()  # settings it reads from [tool.fixer.codemod.<id>]
    # the label of its fixes (one of SAFETY) unless a Finding carries its own;
    # `[tool.fixer.codemod.<id>] safety = ...` overrides both
    safety: str = "safe"
    structural: bool = False       # merges or deletes files: needs the whole repository
    # how sure a finding is right: "high" (the fix follows from the file), "medium" (from
    # evidence elsewhere, e.g. a proxy's config), "low" (a heuristic)
    confidence: str = "high"

    def wants(self, text: str) -> bool:
        """Cheap test on a file's text before it is parsed (False: nothing to do)."""
        return True

    def run(self, ctx: "Context") -> Iterable[Finding | Skip]:
        """Whole-repository entry point; by default calls fix() per file."""
        for doc in ctx.documents(self.targets or self.kinds, wants=self.wants, focus=True):
            yield from ctx.guard(self, doc, self.fix)

    def fix(self, doc, ctx: "Context") -> Iterable[Finding | Skip]:
        raise NotImplementedError

    def fix_unit(self, docs: list, ctx: "Context") -> Iterable[Finding | Skip]:
        """File scope, run file by file: the documents of one file, or of one Helm chart's
        templates, that `wants` accepted. By default fix() on each."""
        for doc in docs:
            yield from ctx.guard(self, doc, self.fix)

    def options(self, ctx: "Context") -> dict[str, Any]:
        return ctx.settings.codemod_options(self.id)
