"""The secrets scan of the whole source (`secrets.find_all`), run in a forked copy of the
process while the codemods run: it reads every infrastructure file once more, which on a
Helm-heavy repository takes about as long as the fixes do."""
from __future__ import annotations

import os
import pickle
import sys

from . import buildkit, secrets


class Scan:
    """Started before the codemods run (the originals it reads never change); `result()`
    waits for it, or scans here when the copy could not run."""

    def __init__(self, ws, source, parallel: bool):
        self.ws, self.source = ws, source
        self.pid, self.pipe = 0, -1
        if parallel and hasattr(os, "fork"):
            self._fork()

    def _fork(self) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        r, w = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(r)
            os.close(w)
            return
        if pid:
            os.close(w)
            self.pid, self.pipe = pid, r
            return
        try:   # the copy: its own parser process and git readers, then the scan
            os.close(r)
            buildkit.after_fork()
            if self.source is not None:
                self.source.after_fork()
            found = secrets.find_all(self.ws, self.source)
            with os.fdopen(w, "wb") as f:
                pickle.dump(found, f, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            os._exit(0)

    def result(self) -> set[str]:
        if self.pid:
            with os.fdopen(self.pipe, "rb") as f:
                data = f.read()
            os.waitpid(self.pid, 0)
            self.pid = 0
            try:
                return pickle.loads(data)
            except Exception:       # the copy failed: scan here
                pass
        return secrets.find_all(self.ws, self.source)
