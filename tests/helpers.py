"""Shared test helpers: scratch repositories and fixer runs."""
from __future__ import annotations

import subprocess
from pathlib import Path

from fixer import config, runner
from fixer.discovery import WorkTree
from fixer.writer import write_changes


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, str):
            p.write_bytes(data.encode("utf-8"))
        else:
            p.write_bytes(data)


def fix(root: Path, only: list[str] | None = None, options: dict | None = None, write: bool = True, **extra):
    """Run fixer's engine on a plain directory; write the result when asked."""
    s = config.load(root)
    if only:
        s.only = list(only)
    for cid, o in (options or {}).items():
        s.codemod[cid] = o
    for k, v in extra.items():
        if hasattr(s, k) and k not in ("extra", "codemod"):
            setattr(s, k, v)
        else:
            s.extra[k] = v
    result = runner.run(WorkTree(root, use_git=False), s, root=root)
    if write:
        write_changes(root, result)
    return result


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def init_repo(root: Path) -> None:
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.com")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init", "--allow-empty")


def snapshot(root: Path) -> dict:
    """Everything a user could notice: HEAD, branch, index, working tree bytes."""
    files = {p.relative_to(root).as_posix(): p.read_bytes()
             for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.relative_to(root).parts}
    return {
        "head": git(root, "rev-parse", "HEAD"),
        "symbolic": subprocess.run(["git", "-C", str(root), "symbolic-ref", "-q", "HEAD"],
                                   capture_output=True, text=True).stdout,
        "index": (root / ".git" / "index").read_bytes() if (root / ".git" / "index").exists() else b"",
        "status": git(root, "status", "--porcelain"),
        "files": files,
    }
