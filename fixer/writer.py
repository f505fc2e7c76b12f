"""Write a plan's changes into a directory, atomically per file."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .text import encode


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".fixer-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if mode is not None:
            os.chmod(tmp, mode)
        elif path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:   # a new file: what open() would have given it, not mkstemp's 0600
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_changes(root: Path, result, changesets=None) -> list[str]:
    """Write the final text of every changed file under root (of `changesets`, by default
    all of the result's); returns paths written."""
    final: dict[str, str | None] = {}
    for cs in result.changesets if changesets is None else changesets:
        for path, (_, new) in cs.changes.items():
            final[path] = new
    ws = result.engine.ws
    for path, new in sorted(final.items()):
        target = root / path
        if target.is_symlink() or not target.resolve().is_relative_to(root.resolve()):
            raise OSError(f"{path}: refusing to write through a symlink or outside the root")
        if new is None:
            if target.exists():
                target.unlink()
            continue
        st = ws.files.get(path)
        write_atomic(target, encode(new, st.bom if st else False))
    return sorted(final)
