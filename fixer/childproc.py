"""A helper process spoken to with length-prefixed pickles over its stdin and stdout: one
implementation for the BuildKit parser and the Helm renderer, whose native code must not
live in fixer's own process (it leaks, or it must not be forked)."""
from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys

# appended to a child's script, which defines handle(request) -> answer
LOOP = r"""
import pickle as _pickle, struct as _struct, sys as _sys
_inp, _out = _sys.stdin.buffer, _sys.stdout.buffer
while True:
    _head = _inp.read(4)
    if len(_head) < 4:
        break
    _data = _pickle.dumps(handle(_pickle.loads(_inp.read(_struct.unpack("<I", _head)[0]))),
                          protocol=_pickle.HIGHEST_PROTOCOL)
    _out.write(_struct.pack("<I", len(_data)) + _data)
    _out.flush()
"""


class Child:
    """The process, started on first use, and again in a forked copy of fixer (the
    parent's process and pipes stay the parent's)."""

    def __init__(self, script: str, env: dict[str, str] | None = None):
        self.script = script + LOOP
        self.env = env        # added to this process's environment
        self.proc: subprocess.Popen | None = None
        self.pid = 0

    def running(self) -> bool:
        return self.proc is not None and self.pid == os.getpid() and self.proc.poll() is None

    def start(self) -> None:
        """Start the process now (it starts up while this one goes on); no-op when running."""
        if not self.running():
            self.proc = subprocess.Popen([sys.executable, "-c", self.script], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env=dict(os.environ, **self.env) if self.env else None)
            self.pid = os.getpid()

    def call(self, request):
        """One round trip; OSError, EOFError or pickle.UnpicklingError when the process
        ended."""
        self.start()
        data = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.write(struct.pack("<I", len(data)) + data)
        self.proc.stdin.flush()
        head = self.proc.stdout.read(4)
        if len(head) < 4:
            raise OSError("the helper process ended")
        return pickle.loads(self.proc.stdout.read(struct.unpack("<I", head)[0]))

    def stop(self) -> None:
        if self.proc is not None and self.pid == os.getpid():
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except Exception:
                self.proc.kill()
        self.proc = None
