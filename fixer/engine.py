"""Run codemods over a repository, each on the previous one's output."""
from __future__ import annotations

import gc
import os
import pickle
import sys
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import buildkit
from . import discovery as disc
from . import inactive
from .codemod import Codemod, Finding, Skip
from .config import Settings
from .dockerdoc import Dockerfile
from .helm import HelmTemplate
from .helm import preserves_actions as helm_preserves
from .k8s import chart_dir
from .origin import Origins
from .suppress import Suppressions, comment_line
from .suppress import reason as suppressed_reason
from .text import DecodeError, EditConflict, TextFile, apply_edits, decode
from .validate import LOST_ACTION, validate
from .waivers import block_of
from .yamldoc import ParseError, YamlFile

class PythonFile(TextFile):
    kind = disc.PYTHON

    def __init__(self, path, text, bom=False):
        super().__init__(path, text, bom)
        self._module = None

    @property
    def module(self):
        """libcst module (parsed on first use)."""
        if self._module is None:
            import libcst

            try:
                self._module = libcst.parse_module(self.text)
            except libcst.ParserSyntaxError as exc:
                raise ParseError(f"invalid Python (line {exc.raw_line}): {exc.message}") from None
        return self._module


def make_document(path: str, kind: str, text: str, bom: bool) -> TextFile:
    if kind == disc.DOCKERFILE:
        return Dockerfile(path, text, bom)
    if kind == disc.HELM:
        return HelmTemplate(path, text, bom)
    if kind == disc.PYTHON:
        return PythonFile(path, text, bom)
    if kind in (disc.COMPOSE, disc.K8S, disc.WORKFLOW, disc.YAML, disc.HELM_VALUES):
        doc = YamlFile(path, text, bom)
        doc.kind = kind
        return doc
    doc = TextFile(path, text, bom)
    doc.kind = kind
    return doc


@dataclass
class FileState:
    path: str
    kind: str
    mode: str
    text: str | None          # None: deleted
    bom: bool = False
    original: str | None = None
    doc: TextFile | None = None


@dataclass
class ChangeSet:
    """What one codemod changed: path -> (old text or None, new text or None)."""

    codemod: Codemod
    changes: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    skips: list[Skip] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # extra lines for the commit message
    seconds: float = 0.0                              # time the codemod took, settling included

    @property
    def fixed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fixed"]


class Workspace:
    """The repository's infrastructure files as they stand between codemods."""

    MAX_PARSED = 256      # parsed documents kept at once (memory stays flat on big repositories)

    def __init__(self):
        self.files: dict[str, FileState] = {}
        self.all_paths: set[str] = set()      # every path in the source, infra or not
        self.charts: set[str] = set()         # Helm chart directories (new files there are templates)
        self.origins = Origins()              # edits applied so far, to report lines of the files on disk
        self._parsed: OrderedDict[str, None] = OrderedDict()

    def add(self, path, kind, mode, text, bom):
        self.files[path] = FileState(path, kind, mode, text, bom, original=text)

    def document(self, path: str) -> TextFile | None:
        st = self.files.get(path)
        if st is None or st.text is None:
            return None
        if st.doc is None:
            st.doc = make_document(path, st.kind, st.text, st.bom)
            self._parsed[path] = None
            while len(self._parsed) > self.MAX_PARSED:
                old, _ = self._parsed.popitem(last=False)
                if old in self.files:
                    self.files[old].doc = None
        else:
            self._parsed.move_to_end(path)
        return st.doc

    def prefetch(self, paths: list[str]) -> None:
        """Parse the Dockerfiles among these paths ahead, in batches (see buildkit.prefetch)."""
        buildkit.prefetch([st.text for st in map(self.files.get, paths)
                           if st is not None and st.kind == disc.DOCKERFILE and st.text])

    def forget(self, path: str) -> None:
        st = self.files.get(path)
        if st is not None:
            st.doc = None
        self._parsed.pop(path, None)

    def forget_parses(self, keep: set[str]) -> None:
        """Drop parsed documents (memory) except for these kinds; texts stay."""
        for st in self.files.values():
            if st.doc is not None and st.kind not in keep:
                self.forget(st.path)

    def paths(self, kinds: Iterable[str] = ()) -> list[str]:
        kinds = set(kinds)
        return sorted(p for p, st in self.files.items()
                      if st.text is not None and (not kinds or st.kind in kinds))

    def set_text(self, path: str, text: str | None, kind: str | None = None) -> None:
        st = self.files.get(path)
        if st is None:
            k = kind or disc.name_kind(path, self.charts) or disc.content_kind(text or "")
            st = self.files[path] = FileState(path, k, "100644", None, original=None)
            self.all_paths.add(path)
        st.text = text
        st.doc = None
        self._parsed.pop(path, None)


class Context:
    """What a codemod sees: documents, settings and a place to report errors."""

    def __init__(self, ws: Workspace, settings: Settings, root, errors: list[str]):
        self.ws = ws
        self.settings = settings
        self.root = root
        self.errors = errors
        self.source = None                     # where files come from (set by the engine)
        self.shared: dict = {}                 # per-run state codemods may share
        self.secrets: set[str] = set()         # values masked in everything printed
        self.notes: dict[str, list[str]] = {}
        self._bad_files: set[str] = set()
        self._seen_errors: set[str] = set(errors)

    def secret(self, value: str) -> None:
        """Register a secret value so output never shows it."""
        self.secrets.add(value)

    def note(self, codemod: Codemod, text: str) -> None:
        """Add a line to the codemod's commit message (e.g. secrets to provision)."""
        self.notes.setdefault(codemod.id, []).append(text)

    @property
    def offline(self) -> bool:
        return self.settings.offline

    def documents(self, kinds: Iterable[str], needles: tuple[str, ...] = (),
                  wants: Callable[[str], bool] | None = None) -> Iterable[TextFile]:
        """Documents of these kinds; with needles, only those whose text holds one
        of them, with wants, only those whose text it accepts (cheap filters before
        any parsing)."""
        paths = []
        for path in self.ws.paths(kinds):
            if path in self._bad_files:
                continue
            if needles or wants:
                text = self.ws.files[path].text or ""
                if needles and not any(n in text for n in needles):
                    continue
                if wants and not wants(text):
                    continue
            paths.append(path)
        for i, path in enumerate(paths):
            if i % buildkit.BATCH == 0:
                self.ws.prefetch(paths[i:i + buildkit.BATCH])
            doc = self.ws.document(path)
            if doc is not None:
                yield doc

    def document(self, path: str) -> TextFile | None:
        return self.ws.document(path)

    def read(self, path: str, limit: int = 1 << 20) -> str | None:
        """Text of any file of the run's source (HEAD under `apply`, the working tree
        under `plan`), as it stands between codemods; None when absent or unreadable."""
        st = self.ws.files.get(path)
        if st is not None:
            return st.text
        if self.source is None or path not in self.ws.all_paths:
            return None
        try:
            raw = self.source.read(path)
        except (OSError, KeyError):
            return None
        if len(raw) > limit:
            return None
        try:
            return decode(raw, path)[0]
        except DecodeError:
            return None

    def exists(self, path: str) -> bool:
        return path in self.ws.all_paths or (path in self.ws.files and self.ws.files[path].text is not None)

    def error(self, path: str, reason: str) -> None:
        line = f"{path}: {reason}"
        if line not in self._seen_errors:
            self._seen_errors.add(line)
            self.errors.append(line)

    def guard(self, codemod: Codemod, doc: TextFile, fn: Callable) -> list:
        """Run fn(doc, ctx) and turn failures into one-line errors."""
        try:
            return list(fn(doc, self))
        except ParseError as exc:
            self._bad_files.add(doc.path)
            self.error(doc.path, str(exc))
        except Exception as exc:  # a codemod bug must not stop the run
            self.error(doc.path, f"{codemod.id} failed: {exc.__class__.__name__}: {exc}")
            if self.settings.get("debug"):
                traceback.print_exc()
        return []


def _reads(cm: Codemod) -> set[str]:
    """Kinds a codemod reads besides the files it fixes (a template's values are its own)."""
    targets = set(cm.targets or cm.kinds)
    return set(cm.kinds) - targets - ({disc.HELM_VALUES} if disc.HELM in targets else set())


def _independent(group: list[Codemod], cm: Codemod) -> bool:
    """cm may run file by file with the group: none of them reads what another one fixes
    (file by file, it would see the other one's fixes too early or too late)."""
    targets = set(cm.targets or cm.kinds)
    return all(not (_reads(g) & targets) and not (_reads(cm) & set(g.targets or g.kinds))
               for g in group)


class Engine:
    def __init__(self, settings: Settings, codemods: list[Codemod]):
        self.settings = settings
        self.codemods = codemods
        self.errors: list[str] = []
        self.skipped_files: list[tuple[str, str]] = []
        self.ws = Workspace()
        self.processed = 0
        self.source: disc.Source | None = None
        self.waivers = settings.get("waivers")      # fixer.waivers.Waivers, or None

    # -- loading -----------------------------------------------------------
    def load(self, source: disc.Source) -> None:
        self.source = source
        entries = source.entries()
        self.ws.all_paths = {p for p, _, _ in entries}
        charts = disc.chart_dirs_of([p for p, _, _ in entries])
        self.ws.charts = charts
        wanted_kinds = {k for cm in self.codemods for k in cm.kinds}
        reported_dirs: set[str] = set()
        for path, mode, size in entries:
            parts = path.split("/")
            skip_dir = next((d for d in parts[:-1] if d in disc.SKIP_DIRS), None)
            if skip_dir:
                top = "/".join(parts[: parts.index(skip_dir) + 1])
                if top not in reported_dirs:
                    reported_dirs.add(top)
                    self.skipped_files.append((top + "/", f"{skip_dir}/ directories are not scanned"))
                continue
            if disc.excluded(path, self.settings.exclude):
                continue
            kind = disc.name_kind(path, charts)
            if kind == "":
                continue
            why = inactive.check(path, self.settings.get("include-inactive", False))
            if why:
                where = why[3:why.index("/,") + 1] if why.startswith("in ") else path
                if where not in reported_dirs:
                    reported_dirs.add(where)
                    self.skipped_files.append((where, f"inactive: {why}"))
                continue
            if mode == "120000":
                self.skipped_files.append((path, "symbolic link (never written through)"))
                continue
            if mode == "160000":
                continue
            if kind is not None and kind not in wanted_kinds and kind != disc.PYTHON:
                continue
            if size > self.settings.max_file_size:
                self.skipped_files.append(
                    (path, f"larger than the size limit ({size:,} > {self.settings.max_file_size:,} bytes)"))
                continue
            try:
                raw = source.read(path)
            except OSError as exc:
                self.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
                continue
            if len(raw) > self.settings.max_file_size:
                self.skipped_files.append((path, "larger than the size limit"))
                continue
            if b"\0" in raw[:8192]:
                self.skipped_files.append((path, "binary file"))
                continue
            try:
                text, bom = decode(raw, path)
            except DecodeError as exc:
                self.errors.append(f"{path}: {exc}")
                continue
            if kind is None:
                kind = disc.content_kind(text)
                if kind not in wanted_kinds:
                    continue
            elif kind == disc.HELM and disc.only_crds(text):
                continue
            self.ws.add(path, kind, mode, text, bom)
        self.processed = len(self.ws.files)

    # -- running -----------------------------------------------------------
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
        out: list[ChangeSet] = []
        cms = self.codemods
        i = 0
        while i < len(cms):
            j = i + 1
            if cms[i].scope == "file":
                while j < len(cms) and cms[j].scope == "file" and _independent(cms[i:j], cms[j]):
                    j += 1
            if j - i == 1:
                out.append(self._run_codemod(ctx, cms[i]))
            else:
                out += self._run_by_file(ctx, cms[i:j])
            # parsed documents are kept only for the kinds the next codemod reads
            self.ws.forget_parses(keep=set(cms[j].kinds) if j < len(cms) else set())
            i = j
        return out

    def _run_codemod(self, ctx: Context, cm: Codemod) -> ChangeSet:
        started = time.perf_counter()
        cs = ChangeSet(cm)
        results: list = []
        try:
            results = list(cm.run(ctx))
        except Exception as exc:
            self.errors.append(f"{cm.id}: failed: {exc.__class__.__name__}: {exc}")
            if self.settings.get("debug"):
                traceback.print_exc()
        self._settle(cs, self._collect(cs, results))
        cs.notes = ctx.notes.get(cm.id, [])
        cs.seconds = time.perf_counter() - started
        return cs

    def _run_by_file(self, ctx: Context, group: list[Codemod]) -> list[ChangeSet]:
        """Codemods of file scope, a chunk of files (a chart counts as one) at a time: each
        codemod still sees the previous one's validated output, a file is parsed once for
        all of them and then forgotten (memory stays flat however big the repository)."""
        css = [ChangeSet(cm) for cm in group]
        units: dict[str, list[str]] = {}
        for path in self.ws.paths({k for cm in group for k in cm.targets or cm.kinds}):
            units.setdefault(self._unit(path), []).append(path)
        # units go in chunks of about BATCH files (a chart is never split): within a chunk
        # codemod after codemod (their outputs are then parsed for validation in one round
        # trip), chunk after chunk; a chunk's parses fit in the caches
        chunks: list[list[str]] = [[]]
        size = 0
        for unit in units:
            if chunks[-1] and size + len(units[unit]) > buildkit.BATCH:
                chunks.append([])
                size = 0
            chunks[-1].append(unit)
            size += len(units[unit])
        half = len(chunks) // 2
        worker = self._fork(ctx, group, units, chunks[half:]) if half >= 2 and self._jobs() > 1 else None
        self._chunks(ctx, group, css, units, chunks if worker is None else chunks[:half])
        if worker is not None:
            done = self._join(ctx, css, worker)
            if not done:   # the other process failed: do its half here (nothing of it was kept)
                self._chunks(ctx, group, css, units, chunks[half:])
        for cm, cs in zip(group, css):
            cs.notes = ctx.notes.get(cm.id, [])
        return css

    def _chunks(self, ctx: Context, group: list[Codemod], css: list[ChangeSet],
                units: dict[str, list[str]], chunks: list[list[str]]) -> None:
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
                                or path in ctx._bad_files or not cm.wants(st.text):
                            continue
                        docs.append(self.ws.document(path))
                    if docs:
                        try:
                            results += cm.fix_unit(docs, ctx)
                        except Exception as exc:  # a codemod bug must not stop the run
                            ctx.error(docs[0].path, f"{cm.id} failed: {exc.__class__.__name__}: {exc}")
                if results:
                    found = self._collect(cs, results)
                    for f in found:
                        unit = self._unit(f.path)
                        # a new file is fine (nothing else reads it); another existing one is not
                        outside = sorted(p for p in f.paths if self._unit(p) != unit and p in self.ws.files)
                        if outside:
                            f.edits = []
                            f.status, f.note = "dropped", f"edits {outside[0]}, outside its own file"
                            ctx.error(f.path, f"{cm.id}: {f.note} (a codemod of file scope)")
                    self._settle(cs, [f for f in found if f.status != "dropped"])
                cs.seconds += time.perf_counter() - started
            for path in chunk:
                self.ws.forget(path)

    BIG = 10_000     # files: above this the second process is not used unless asked for

    def _jobs(self) -> int:
        """Processes for file-by-file work. By default two, but one on a repository of
        more than BIG infrastructure files: the copy's own memory then costs more than
        the second core gains (about 100 MB at 25,000 files)."""
        asked = self.settings.get("jobs") or os.environ.get("FIXER_JOBS")
        try:
            return int(asked) if asked else (2 if len(self.ws.files) <= self.BIG else 1)
        except ValueError:
            return 1

    def _fork(self, ctx: Context, group: list[Codemod], units, chunks):
        """Run these chunks in a forked copy of this process (the machine's second core);
        None when that is not possible. The copy sends back what it found and changed."""
        if not hasattr(os, "fork") or self.settings.get("debug"):
            return None
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        pid = os.fork()
        if pid:
            os.close(w)
            return pid, r
        try:  # the copy: its own BuildKit child, then its half
            os.close(r)
            buildkit.after_fork()
            if self.source is not None:
                self.source.after_fork()
            n_errors, n_notes = len(self.errors), {k: len(v) for k, v in ctx.notes.items()}
            css = [ChangeSet(cm) for cm in group]
            self._chunks(ctx, group, css, units, chunks)
            out = ([(cs.changes, cs.findings, cs.skips, cs.seconds) for cs in css], self.errors[n_errors:],
                   ctx.secrets, {k: v[n_notes.get(k, 0):] for k, v in ctx.notes.items()}, ctx._bad_files,
                   {p: self.ws.origins.sets.get(p, []) for cs in css for p in cs.changes})
            with os.fdopen(w, "wb") as f:
                pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)

    def _join(self, ctx: Context, css: list[ChangeSet], worker) -> bool:
        pid, r = worker
        with os.fdopen(r, "rb") as f:
            data = f.read()
        os.waitpid(pid, 0)
        try:
            parts, errors, secrets, notes, bad, origins = pickle.loads(data)
        except Exception:
            return False
        for cs, (changes, findings, skips, seconds) in zip(css, parts):
            for path, (old, new) in changes.items():
                cs.changes[path] = (cs.changes[path][0] if path in cs.changes else old, new)
                self.ws.set_text(path, new)
            cs.findings += findings
            cs.skips += skips
            cs.seconds += seconds
        for line in errors:
            if line not in ctx._seen_errors and line not in self.errors:
                ctx._seen_errors.add(line)
                self.errors.append(line)
        ctx.secrets |= secrets
        for k, v in notes.items():
            ctx.notes.setdefault(k, []).extend(v)
        ctx._bad_files |= bad
        self.ws.origins.sets.update(origins)
        return True

    def _unit(self, path: str) -> str:
        """What a codemod of file scope may read and edit: the file, or its Helm chart."""
        st = self.ws.files.get(path)
        kind = st.kind if st else disc.name_kind(path, self.ws.charts)
        if kind == disc.HELM and chart_dir(path) is not None:
            return chart_dir(path) + "/"
        if kind == disc.HELM_VALUES:
            return path.rsplit("/", 1)[0] + "/" if "/" in path else "/"
        return path

    def _collect(self, cs: ChangeSet, results: list) -> list[Finding]:
        """Record a codemod's results. Their lines are of the text it saw (earlier codemods'
        output): suppression is decided there, then lines are mapped to the file on disk."""
        found = []
        for r in results:
            r.codemod = cs.codemod.id
            st = self.ws.files.get(r.path)
            if isinstance(r, Skip):
                cs.skips.append(r)
            else:
                line = comment_line(self.ws.document(r.path), st.text, r.line, cs.codemod.id) \
                    if st and st.text and "fixer:" in st.text else 0
                if line:
                    line = self.ws.origins.line(r.path, st.text, st.original, line)
                    r.status, r.note = "suppressed", suppressed_reason(line)
                r.confidence = r.confidence or cs.codemod.confidence
                doc = self.ws.document(r.path) if st is not None and st.text else None
                r.block = block_of(doc, r.line) if doc is not None else ""
                if not line and self.waivers:
                    self._waive(cs, r, st)
                cs.findings.append(r)
                found.append(r)
            if st is not None and st.text is not None:
                r.line = self.ws.origins.line(r.path, st.text, st.original, r.line)
        return found

    def _waive(self, cs: ChangeSet, r: Finding, st) -> None:
        """An exclusion (.fixer-ignore.toml) or the baseline covers the finding: nothing
        of it is applied, and a skip gives the reason."""
        why = self.waivers.match(cs.codemod.id, r.path, r.block, r.message)
        if why:
            r.status, r.note = "suppressed", why
            line = self.ws.origins.line(r.path, st.text, st.original, r.line) if st and st.text else r.line
            cs.skips.append(Skip(r.path, line, why, cs.codemod.id))

    def _settle(self, cs: ChangeSet, findings: list[Finding]) -> None:
        """Apply a codemod's edits, validate, drop what breaks a file."""
        cid = cs.codemod.id
        active: list[Finding] = []
        sups: dict[str, Suppressions] = {}
        for f in findings:
            if f.status == "suppressed":
                continue
            skip = self._blocked(f, cid, sups) if f.edits else None
            if skip:
                f.status, f.note = "suppressed", skip.reason
                cs.skips.append(skip)
            elif not f.edits:
                f.status = "reported"
            else:
                active.append(f)
        while True:
            new_texts, conflicts = self._apply(active)
            # Dockerfiles are validated by BuildKit in a child process: one round trip for all
            buildkit.prefetch([t for p, t in new_texts.items()
                               if t and p in self.ws.files and self.ws.files[p].kind == disc.DOCKERFILE])
            for f in conflicts:
                f.status, f.note = "dropped", "its edits overlap another fix"
                active.remove(f)
            bad: dict[str, str] = {}
            moved = self._actions_moved(new_texts)
            for path, new in new_texts.items():
                st = self.ws.files.get(path)
                old = st.text if st else None
                if new is None or new == old:
                    continue
                kind = st.kind if st else (disc.name_kind(path, self.ws.charts) or disc.content_kind(new))
                reason = validate(kind, path, old, new)
                if reason == LOST_ACTION and moved:
                    # the action moved to another template changed in this round
                    reason = validate(kind, path, old, new, check_actions=False)
                if reason:
                    bad[path] = reason
            if not bad:
                break
            for f in list(active):
                hit = next((p for p in f.paths if p in bad), None)
                if hit:
                    f.status, f.note = "dropped", f"{hit}: {bad[hit]}"
                    msg = f"{hit}: {cid} edit dropped, output would be invalid: {bad[hit]}"
                    if msg not in self.errors:
                        self.errors.append(msg)
                    active.remove(f)
        for f in active:
            f.status = "fixed"
        for path, new in new_texts.items():
            st = self.ws.files.get(path)
            old = st.text if st else None
            if new != old:
                cs.changes[path] = (cs.changes[path][0] if path in cs.changes else old, new)
                if old is not None and new is not None:
                    self.ws.origins.record(path, (e for f in active for e in f.edits if e.path == path))
                self.ws.set_text(path, new)

    def _blocked(self, f: Finding, cid: str, sups: dict[str, Suppressions]) -> Skip | None:
        """A Skip when one of the finding's edits lands in a block a `# fixer: ignore`
        comment protects (the finding is then left whole: nothing of it is applied)."""
        for e in f.edits:
            st = self.ws.files.get(e.path)
            if st is None or not st.text or "fixer:" not in st.text:
                continue
            if e.path not in sups:
                sups[e.path] = Suppressions(self.ws.document(e.path), st.text, cid)
            block = sups[e.path].block_of(e)
            if block is not None:
                line = self.ws.origins.line(e.path, st.text, st.original, block.first + 1)
                comment = self.ws.origins.line(e.path, st.text, st.original, block.comment + 1)
                return Skip(e.path, line, suppressed_reason(comment), cid)
        return None

    def _actions_moved(self, new_texts: dict[str, str | None]) -> bool:
        """True when the Helm templates changed in this round, taken together, keep every
        template action they had (an action may move from one template to another)."""
        old_texts, news = [], []
        for path, new in new_texts.items():
            st = self.ws.files.get(path)
            kind = st.kind if st else disc.name_kind(path, self.ws.charts)
            if kind != disc.HELM:
                continue
            if st is not None and st.text is not None:
                old_texts.append(st.text)
            if new is not None:
                news.append(new)
        return helm_preserves("\n".join(old_texts), "\n".join(news))

    def _apply(self, findings: list[Finding]):
        """New text per path; findings whose edits conflict are returned apart."""
        by_path: dict[str, list[tuple[Finding, list]]] = {}
        for f in findings:
            per: dict[str, list] = {}
            for e in f.edits:
                per.setdefault(e.path, []).append(e)
            for p, es in per.items():
                by_path.setdefault(p, []).append((f, es))
        out: dict[str, str | None] = {}
        conflicts: list[Finding] = []
        for path, groups in by_path.items():
            st = self.ws.files.get(path)
            base = st.text if st and st.text is not None else ""
            deletes = [f for f, es in groups if any(e.deletes_file for e in es)]
            if deletes:
                out[path] = None
                continue
            edits = [e for _, es in groups for e in es]
            try:
                out[path] = apply_edits(base, edits)
                continue
            except EditConflict:
                pass
            kept: list = []
            for f, es in groups:
                try:
                    apply_edits(base, kept + es)
                    kept += es
                except EditConflict:
                    conflicts.append(f)
            out[path] = apply_edits(base, kept)
        if conflicts:
            # recompute without the conflicting findings so multi-file fixes stay whole
            rest = [f for f in findings if f not in conflicts]
            out, more = self._apply(rest)
            return out, conflicts + more
        return out, conflicts
