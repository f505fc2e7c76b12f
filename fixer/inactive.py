"""Inactive trees: copies of a repository's files that nothing builds, deploys or runs.

Backup and snapshot folders (`backup_20250705_135353/`, `app-deployment-20250704-060443/`,
`archive/`), backup copies of single files (`Dockerfile.bak`, `compose.yml.orig`) and
workflows GitHub never runs (`.github/workflows/archive/x.yml`, `backend/.github/…`).
fixer leaves them alone by default; `include-inactive = true` in the configuration (or a
glob list) brings them back.
"""
from __future__ import annotations

import fnmatch
import re

# folder names that mean "not in use" (whole name, any case)
_NAMES = {"backup", "backups", "bak", "archive", "archives", "archived", "old", "deprecated",
          "obsolete", "snapshot", "snapshots", "attic", "trash", "unused", "legacy-backup"}
# a word of a folder name that means the same (`backup_compose_files`, `old-configs`)
_WORDS = re.compile(r"(?:^|[._-])(backups?|bak|archived?|snapshots?|deprecated|obsolete)(?:[._-]|$)", re.I)
# a calendar date in a folder name: 20250705, 2025-07-04, 2025_07_05
_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.]?(0[1-9]|1[0-2])[-_.]?(0[1-9]|[12]\d|3[01])(?!\d)")
# suffixes of a backup copy of one file
_SUFFIXES = (".bak", ".backup", ".orig", ".old", ".save", ".swp", "~")


def reason(path: str) -> str | None:
    """Why `path` (posix, relative to the repository root) is inactive, or None."""
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        low = part.lower()
        if low in _NAMES or _WORDS.search(low):
            return f"in {'/'.join(parts[:i + 1])}/, a backup or archive folder"
        if _DATE.search(part):
            return f"in {'/'.join(parts[:i + 1])}/, a dated snapshot folder"
    name = parts[-1].lower()
    if name.endswith(_SUFFIXES):
        return "a backup copy of a file"
    if ".github" in parts[:-1]:
        at = parts.index(".github")
        if at > 0:
            return "GitHub runs workflows only from the repository's own .github/workflows/"
        if len(parts) > 3 and parts[1] == "workflows":
            return "GitHub does not run workflows in subfolders of .github/workflows/"
    return None


def check(path: str, include: bool | list[str]) -> str | None:
    """The reason to leave `path` alone, unless the configuration includes it."""
    why = reason(path)
    if why is None or include is True:
        return None
    if isinstance(include, list) and any(fnmatch.fnmatch(path, g) or path.startswith(g.rstrip("*/") + "/")
                                         for g in include):
        return None
    return why
