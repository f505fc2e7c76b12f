"""Terminal output: colour choice (--color, NO_COLOR), consoles and the progress line."""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

COLOR_MODES = ("auto", "always", "never")
color_mode = "auto"    # set once by the command line


def use_color(stream) -> bool:
    """--color always/never wins; then NO_COLOR (any non-empty value); then: a terminal."""
    if color_mode != "auto":
        return color_mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return stream.isatty()


def console(stderr: bool = False, file=None):
    from rich.console import Console

    stream = file or (sys.stderr if stderr else sys.stdout)
    color = use_color(stream) and file is None
    return Console(file=stream, highlight=False, soft_wrap=True, force_terminal=color,
                   color_system="auto" if color else None, no_color=not color)


@contextmanager
def progress(label: str, delay: float = 1.0):
    """A spinner on stderr, shown only when stderr is a terminal and the work takes
    longer than `delay` seconds; erased when the work ends."""
    if not sys.stderr.isatty():
        yield
        return
    stop = threading.Event()
    start = time.monotonic()

    def spin() -> None:
        if stop.wait(delay):
            return
        frames, i = "|/-\\", 0
        while not stop.wait(0.1):
            sys.stderr.write(f"\r{frames[i % 4]} {label} {time.monotonic() - start:.0f}s")
            sys.stderr.flush()
            i += 1
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
