"""The repository's infrastructure files as they stand between codemods: file states,
what each codemod changed, and where their lines come from on disk."""
from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Iterable

from . import buildkit
from . import discovery as disc
from . import inactive
from .codemod import Codemod, Finding, Skip
from .config import Settings
from .documents import make_document
from .k8s import chart_dir
from .origin import Origins
from .packed import PackedDict, PackedList
from .text import DecodeError, TextFile, decode


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
    """What one codemod changed: path -> (old text or None, new text or None). Settled
    records are packed (fixer.packed) until the report reads them."""

    codemod: Codemod
    changes: PackedDict = field(default_factory=PackedDict)     # path -> (old, new)
    findings: PackedList = field(default_factory=PackedList)    # of Finding
    skips: PackedList = field(default_factory=PackedList)       # of Skip
    notes: list[str] = field(default_factory=list)   # extra lines for the commit message
    seconds: float = 0.0                              # time the codemod took, settling included

    @property
    def fixed(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fixed"]

    def record(self, path: str, old: str | None, new: str | None) -> None:
        """`path` now holds `new`; the first old text this codemod saw is kept."""
        self.changes[path] = (self.changes[path][0] if path in self.changes else old, new)

    def pack(self) -> None:
        """The records so far are settled: pack them."""
        for records in (self.changes, self.findings, self.skips):
            if hasattr(records, "pack"):
                records.pack()


class Workspace:
    """The repository's infrastructure files as they stand between codemods."""

    MAX_PARSED = 256      # parsed documents kept at once (memory stays flat on big repositories)
    MAX_PARSED_CHARS = 1_000_000   # and their texts at most this long (a parse takes 10-20 times its text)

    def __init__(self):
        self.files: dict[str, FileState] = {}
        self.all_paths: set[str] = set()      # every path in the source, infra or not
        self.charts: set[str] = set()         # Helm chart directories (new files there are templates)
        self.origins = Origins()              # edits applied so far, to report lines of the files on disk
        self._parsed: OrderedDict[str, int] = OrderedDict()    # path -> length of the parsed text
        self._parsed_chars = 0
        self._index: dict[str, list[str]] | None = None     # kind -> sorted paths with text
        self._sorted_all: list[str] | None = None

    def add(self, path, kind, mode, text, bom):
        self.files[path] = FileState(path, kind, mode, text, bom, original=text)
        self._index = None

    def document(self, path: str) -> TextFile | None:
        st = self.files.get(path)
        if st is None or st.text is None:
            return None
        if st.doc is None:
            st.doc = make_document(path, st.kind, st.text, st.bom)
            self._unlist(path)
            self._parsed[path] = len(st.text)
            self._parsed_chars += len(st.text)
            while len(self._parsed) > 1 and (len(self._parsed) > self.MAX_PARSED
                                              or self._parsed_chars > self.MAX_PARSED_CHARS):
                old, n = self._parsed.popitem(last=False)
                self._parsed_chars -= n
                if old in self.files:
                    self.files[old].doc = None
        else:
            self._parsed.move_to_end(path)
        return st.doc

    def prefetch(self, paths: list[str]) -> None:
        """Parse the Dockerfiles among these paths ahead, in batches (see buildkit.prefetch)."""
        buildkit.prefetch([st.text for st in map(self.files.get, paths)
                           if st is not None and st.kind == disc.DOCKERFILE and st.text])

    def _unlist(self, path: str) -> None:
        self._parsed_chars -= self._parsed.pop(path, 0)

    def forget(self, path: str) -> None:
        st = self.files.get(path)
        if st is not None:
            st.doc = None
        self._unlist(path)

    def forget_parses(self, keep: set[str]) -> None:
        """Drop parsed documents (memory) except for these kinds; texts stay."""
        for st in self.files.values():
            if st.doc is not None and st.kind not in keep:
                self.forget(st.path)

    def paths(self, kinds: Iterable[str] = (), under: str = "") -> list[str]:
        """Sorted paths of files with text, of these kinds (all when none), in the folder
        `under` (all when ""). Codemods ask per file: an index keeps that cheap."""
        if self._index is None:
            index: dict[str, list[str]] = {}
            for p in sorted(self.files):
                st = self.files[p]
                if st.text is not None:
                    index.setdefault(st.kind, []).append(p)
            self._index = index
        kinds = set(kinds) or set(self._index)
        out: list[str] = []
        for k in kinds:
            ps = self._index.get(k, [])
            out += within(ps, under) if under else ps
        return out if len(kinds) == 1 else sorted(out)   # a new list: callers may keep it

    def set_all_paths(self, paths: set[str]) -> None:
        self.all_paths = paths
        self._sorted_all = None

    def sorted_paths(self, under: str = "") -> list[str]:
        """Every path of the source (infrastructure or not), sorted, in the folder `under`."""
        if self._sorted_all is None or len(self._sorted_all) != len(self.all_paths):
            self._sorted_all = sorted(self.all_paths)
        return within(self._sorted_all, under) if under else self._sorted_all

    def text(self, path: str) -> str | None:
        st = self.files.get(path)
        return st.text if st else None

    def kind_of(self, path: str, text: str | None = None) -> str:
        """The kind of a file, also of one a codemod is about to create."""
        st = self.files.get(path)
        if st is not None:
            return st.kind
        return disc.name_kind(path, self.charts) or disc.content_kind(text or "")

    def line(self, path: str, line: int) -> int:
        """Line of the file on disk that `line` of the current text comes from."""
        st = self.files.get(path)
        if st is None or st.text is None:
            return line
        return self.origins.line(path, st.text, st.original, line)

    def unit(self, path: str) -> str:
        """What a codemod of file scope may read and edit: the file, or its Helm chart."""
        st = self.files.get(path)
        kind = st.kind if st else disc.name_kind(path, self.charts)
        if kind == disc.HELM and chart_dir(path) is not None:
            return chart_dir(path) + "/"
        if kind == disc.HELM_VALUES:
            return path.rsplit("/", 1)[0] + "/" if "/" in path else "/"
        return path

    def set_text(self, path: str, text: str | None, kind: str | None = None) -> None:
        st = self.files.get(path)
        if st is None:
            k = kind or disc.name_kind(path, self.charts) or disc.content_kind(text or "")
            st = self.files[path] = FileState(path, k, "100644", None, original=None)
            self.all_paths.add(path)
            self._sorted_all = None
        if (st.text is None) != (text is None):
            self._index = None
        st.text = text
        st.doc = None
        self._unlist(path)


def within(paths: list[str], folder: str) -> list[str]:
    """The paths of a sorted list that lie in `folder` (a path relative to the root)."""
    prefix = folder.rstrip("/") + "/"
    lo = bisect.bisect_left(paths, prefix)
    hi = bisect.bisect_left(paths, prefix[:-1] + chr(ord("/") + 1), lo)
    return paths[lo:hi]


@dataclass
class Loaded:
    """What loading a source left out: files not scanned (with the reason) and errors."""

    skipped: list[tuple[str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def load(ws: Workspace, source: disc.Source, settings: Settings, wanted_kinds: set[str]) -> Loaded:
    """Read the source's infrastructure files of these kinds into the workspace."""
    out = Loaded()
    entries = source.entries()
    ws.set_all_paths({p for p, _, _ in entries})
    charts = disc.chart_dirs_of([p for p, _, _ in entries])
    ws.charts = charts
    reported_dirs: set[str] = set()
    for path, mode, size in entries:
        parts = path.split("/")
        skip_dir = next((d for d in parts[:-1] if d in disc.SKIP_DIRS), None)
        if skip_dir:
            top = "/".join(parts[: parts.index(skip_dir) + 1])
            if top not in reported_dirs:
                reported_dirs.add(top)
                out.skipped.append((top + "/", f"{skip_dir}/ directories are not scanned"))
            continue
        if disc.excluded(path, settings.exclude):
            continue
        kind = disc.name_kind(path, charts)
        if kind == "":
            continue
        why = inactive.check(path, settings.get("include-inactive", False))
        if why:
            where = why[3:why.index("/,") + 1] if why.startswith("in ") else path
            if where not in reported_dirs:
                reported_dirs.add(where)
                out.skipped.append((where, f"inactive: {why}"))
            continue
        if mode == "120000":
            out.skipped.append((path, "symbolic link (never written through)"))
            continue
        if mode == "160000":
            continue
        if kind is not None and kind not in wanted_kinds and kind != disc.PYTHON:
            continue
        if size > settings.max_file_size:
            out.skipped.append(
                (path, f"larger than the size limit ({size:,} > {settings.max_file_size:,} bytes)"))
            continue
        try:
            raw = source.read(path)
        except OSError as exc:
            out.errors.append(f"{path}: cannot read: {exc.strerror or exc}")
            continue
        if len(raw) > settings.max_file_size:
            out.skipped.append((path, "larger than the size limit"))
            continue
        if b"\0" in raw[:8192]:
            out.skipped.append((path, "binary file"))
            continue
        try:
            text, bom = decode(raw, path)
        except DecodeError as exc:
            out.errors.append(f"{path}: {exc}")
            continue
        if kind is None:
            kind = disc.content_kind(text)
            if kind not in wanted_kinds:
                continue
        elif kind == disc.HELM and disc.only_crds(text):
            continue
        if kind == disc.DOCKERFILE:
            buildkit.start()     # the parser process loads while the rest is read
        ws.add(path, kind, mode, text, bom)
    return out
