"""A function run in a forked copy of fixer (the machine's second core): the copy starts
its own helper processes, runs the function and sends its value back, pickled, through a
pipe. One implementation for the file-by-file half and the secrets scan."""
from __future__ import annotations

import os
import pickle
import sys
from typing import Any, Callable

from . import buildkit


class Forked:
    """The running copy; `result()` waits for it."""

    def __init__(self, pid: int, pipe: int):
        self.pid, self.pipe = pid, pipe

    def result(self) -> Any:
        """The function's value; None when the copy failed."""
        with os.fdopen(self.pipe, "rb") as f:
            data = f.read()
        os.waitpid(self.pid, 0)
        try:
            return pickle.loads(data)
        except Exception:
            return None


def start(fn: Callable[[], Any], source=None) -> Forked | None:
    """Run fn() in a forked copy; None when this system cannot fork."""
    if not hasattr(os, "fork"):
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid:
        os.close(w)
        return Forked(pid, r)
    try:   # the copy: its own parser process and git readers (the parent's stay the parent's)
        os.close(r)
        buildkit.after_fork()
        if source is not None:
            source.after_fork()
        value = fn()
        with os.fdopen(w, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        os._exit(0)
