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
import threading
from collections import namedtuple
from collections import OrderedDict

from . import childproc

RECYCLE = 4000          # parses before the child is replaced (a long text counts as one
                        # parse per PARSE_CHARS: what the parser keeps grows with the text)
PARSE_CHARS = 400

# one parse as plain tuples; the child runs this code, and so does this process when
# the child cannot start
_ONE = r"""
def one(text):
    import dockerfile
    try:
        cmds = dockerfile.parse_string(text)
    except dockerfile.GoParseError as exc:
        return ("err", str(exc))
    return ("ok", [(c.cmd, c.sub_cmd, c.json, c.original, c.start_line, c.end_line,
                    tuple(c.flags), tuple(c.value),
                    tuple((h.name, h.file_descriptor, h.content) for h in c.heredocs))
                   for c in cmds])
"""

_WORKER = _ONE + r"""
import dockerfile   # loaded as the process starts, before the first request

def handle(texts):
    return [one(t) for t in texts]
"""


Command = namedtuple("Command", "cmd sub_cmd json original start_line end_line flags value heredocs")
Heredoc = namedtuple("Heredoc", "name file_descriptor content")

# the parser is Go: collecting its garbage sooner keeps the process small while it parses
# a merged Dockerfile of thousands of stages (about a fifth less at its peak)
_ENV = {"GOGC": "20"}

CACHE_SIZE = 1024       # parsed texts kept (a codemod's output is parsed once, for its
                        # validation and the next codemod)
CACHE_CHARS = 1_000_000 # and at most this much text (a parse takes about 20 times its text:
                        # a merged Dockerfile of thousands of stages must not pin hundreds of MB)
BATCH = 64              # texts sent to the child at once by prefetch()
BATCH_CHARS = 200_000   # and at most this much text (merged Dockerfiles of thousands of
                        # stages are sent one by one: the child holds what it parses at once)


class ParseError(Exception):
    """BuildKit refused the text; str() is its message."""


class _Child:
    """The parser process, replaced every RECYCLE parses (or as much text)."""

    def __init__(self):
        self.proc = childproc.Child(_WORKER, _ENV)
        self.count = 0
        self.lock = threading.Lock()
        self.broken = False

    def stop(self) -> None:
        self.proc.stop()

    def parse_many(self, texts: list[str]) -> list:
        """One round trip for several texts (a round trip costs more than a parse)."""
        with self.lock:
            if self.count >= RECYCLE:
                self.proc.stop()
                self.count = 0
            result = self.proc.call(texts)
            self.count += sum(1 + len(t) // PARSE_CHARS for t in texts)
            return result


_child = _Child()
atexit.register(_child.stop)


def start() -> None:
    """Start the parser process ahead of the first parse (it loads while fixer reads)."""
    if not _child.broken:
        try:
            _child.proc.start()
        except OSError:
            _child.broken = True


def after_fork() -> None:
    """In a forked copy of the process: start a child of its own when needed (the
    parent's child and its pipes stay the parent's)."""
    _child.proc = childproc.Child(_WORKER, _ENV)
    _child.count = 0
    _child.lock = threading.Lock()


_space: dict = {}
exec(_ONE, _space)
_in_process = _space["one"]


_cache: OrderedDict[str, tuple] = OrderedDict()     # text -> ("ok", commands) | ("err", message)
_cached_chars = 0


def _raw(texts: list[str]) -> list:
    if not _child.broken:
        try:
            return _child.parse_many(texts)
        except (OSError, EOFError, pickle.UnpicklingError):
            _child.broken = True
            _child.stop()
    return [_in_process(t) for t in texts]


def _store(text: str, result) -> tuple:
    global _cached_chars
    status, value = result
    entry = (status, value if status == "err" else
             tuple(Command(*c[:8], tuple(Heredoc(*h) for h in c[8])) for c in value))
    if text not in _cache:
        _cached_chars += len(text)
    _cache[text] = entry
    while len(_cache) > 1 and (len(_cache) > CACHE_SIZE or _cached_chars > CACHE_CHARS):
        old, _ = _cache.popitem(last=False)
        _cached_chars -= len(old)
    return entry


def prefetch(texts) -> None:
    """Parse these texts ahead, BATCH (or BATCH_CHARS of text) per round trip (they are
    about to be read)."""
    todo = list(dict.fromkeys(t for t in texts if t not in _cache))[:CACHE_SIZE // 2]
    chunk: list[str] = []
    size = 0
    for text in todo + [None]:
        if chunk and (text is None or len(chunk) == BATCH or size + len(text) > BATCH_CHARS):
            for done, result in zip(chunk, _raw(chunk)):
                _store(done, result)
            chunk, size = [], 0
        if text is not None:
            chunk.append(text)
            size += len(text)


def parse(text: str) -> tuple:
    """BuildKit's commands (the fields of `dockerfile.Command`); raises ParseError."""
    entry = _cache.get(text)
    if entry is None:
        entry = _store(text, _raw([text])[0])
    else:
        _cache.move_to_end(text)
    status, value = entry
    if status == "err":
        raise ParseError(value)
    return value
