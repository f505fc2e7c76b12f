"""What a codemod sees: documents, settings, other files of the source, and a place to
report errors, secrets and commit-message notes."""
from __future__ import annotations

import traceback
from typing import Callable, Iterable

from . import buildkit
from .codemod import Codemod
from .config import Settings
from .text import DecodeError, TextFile, decode
from .workspace import Workspace
from .yamldoc import ParseError


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
        self.bad_files: set[str] = set()       # files that could not be parsed: left alone
        self._seen_errors: set[str] = set(errors)

    def secret(self, value: str) -> None:
        """Register a secret value so output never shows it."""
        self.secrets.add(value)

    def note(self, codemod: Codemod, text: str) -> None:
        """Add a line to the codemod's commit message (e.g. secrets to provision)."""
        self.notes.setdefault(codemod.id, []).append(text)

    @property
    def model(self):
        """The repository model (fixer/project.py): compose projects, Swarm stacks, who
        talks to whom. Built on first use, once per run."""
        if "model" not in self.shared:
            from .project import build
            self.shared["model"] = build(self)
        return self.shared["model"]

    @property
    def offline(self) -> bool:
        return self.settings.offline

    def usable(self, path: str) -> bool:
        """False for a file that failed to parse earlier in the run."""
        return path not in self.bad_files

    def in_focus(self, path: str) -> bool:
        """False for a file outside the paths the run was asked about (`fixer check FILE…`,
        as pre-commit calls it): such files are read for context, never fixed."""
        focus = self.settings.get("focus")
        return focus is None or path in focus

    def documents(self, kinds: Iterable[str], needles: tuple[str, ...] = (),
                  wants: Callable[[str], bool] | None = None, focus: bool = False,
                  under: str = "") -> Iterable[TextFile]:
        """Documents of these kinds; with needles, only those whose text holds one
        of them, with wants, only those whose text it accepts (cheap filters before
        any parsing); with focus, only the files the run is about; with under, only
        those in that folder."""
        paths = []
        for path in self.ws.paths(kinds, under):
            if path in self.bad_files or (focus and not self.in_focus(path)):
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
        self.error_line(f"{path}: {reason}")

    def error_line(self, line: str) -> None:
        """Report a line once (the same line again is not repeated)."""
        if line not in self._seen_errors:
            self._seen_errors.add(line)
            self.errors.append(line)

    def guard(self, codemod: Codemod, doc: TextFile, fn: Callable) -> list:
        """Run fn(doc, ctx) and turn failures into one-line errors."""
        try:
            return list(fn(doc, self))
        except ParseError as exc:
            self.bad_files.add(doc.path)
            self.error(doc.path, str(exc))
        except Exception as exc:  # a codemod bug must not stop the run
            self.error(doc.path, f"{codemod.id} failed: {exc.__class__.__name__}: {exc}")
            if self.settings.get("debug"):
                traceback.print_exc()
        return []
