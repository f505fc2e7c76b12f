"""BuildKit's Dockerfile parser, run in a child process.

The compiled `dockerfile` module never releases the objects it returns
(about 1 KB per parse), so a run over 20,000 Dockerfiles would keep hundreds
of megabytes. A small child process does the parsing and is replaced every
few thousand files; results are plain tuples. If the child cannot start,
parsing falls back to this process.
"""
from __future__ import annotations

import atexit
import pickle
import struct
import subprocess
import sys
import threading
from collections import namedtuple
from functools import lru_cache

RECYCLE = 4000          # parses before the child is replaced

_WORKER = r"""
import pickle, struct, sys
import dockerfile
inp, out = sys.stdin.buffer, sys.stdout.buffer
while True:
    head = inp.read(4)
    if len(head) < 4:
        break
    text = inp.read(struct.unpack("<I", head)[0]).decode("utf-8")
    try:
        cmds = dockerfile.parse_string(text)
        res = ("ok", [(c.cmd, c.sub_cmd, c.json, c.original, c.start_line, c.end_line,
                       tuple(c.flags), tuple(c.value),
                       tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs))
                      for c in cmds])
    except dockerfile.GoParseError as exc:
        res = ("err", str(exc))
    data = pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(struct.pack("<I", len(data)) + data)
    out.flush()
"""


Command = namedtuple("Command", "cmd sub_cmd json original start_line end_line flags value heredocs")
Heredoc = namedtuple("Heredoc", "name file_descriptor content")


class ParseError(Exception):
    """BuildKit refused the text; str() is its message."""


class _Child:
    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.count = 0
        self.lock = threading.Lock()
        self.broken = False

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.count = 0

    def stop(self) -> None:
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
            self.proc = None

    def parse(self, text: str):
        with self.lock:
            if self.proc is None or self.count >= RECYCLE:
                self.stop()
                self._start()
            data = text.encode("utf-8")
            self.proc.stdin.write(struct.pack("<I", len(data)) + data)
            self.proc.stdin.flush()
            head = self.proc.stdout.read(4)
            if len(head) < 4:
                raise OSError("Dockerfile parser process ended")
            self.count += 1
            return pickle.loads(self.proc.stdout.read(struct.unpack("<I", head)[0]))


_child = _Child()
atexit.register(_child.stop)


def _in_process(text: str):
    import dockerfile

    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return ("err", str(exc))
    return ("ok", [(c.cmd, c.sub_cmd, c.json, c.original, c.start_line, c.end_line, tuple(c.flags),
                    tuple(c.value), tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs))
                   for c in cmds])


@lru_cache(maxsize=4096)
def parse(text: str) -> tuple:
    """BuildKit's commands (the fields of `dockerfile.Command`); raises ParseError."""
    result = None
    if not _child.broken:
        try:
            result = _child.parse(text)
        except (OSError, EOFError, pickle.UnpicklingError):
            _child.broken = True
            _child.stop()
    if result is None:
        result = _in_process(text)
    status, value = result
    if status == "err":
        raise ParseError(value)
    return tuple(Command(*c[:8], tuple(Heredoc(*h) for h in c[8])) for c in value)
