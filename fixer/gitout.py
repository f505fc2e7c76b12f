"""Write fixes as a branch with one commit per codemod, touching nothing checked out.

Commits are built with a private index file (GIT_INDEX_FILE) and plumbing
(hash-object, update-index, write-tree, commit-tree, update-ref): the user's
HEAD, index and working tree are never read for writing nor changed.
"""
from __future__ import annotations

import io
import os
import tempfile
from dataclasses import dataclass

from gitdb import IStream

from .engine import ChangeSet
from .secrets import masker
from .text import encode

TRAILER = "Generated-by: fixer"


class GitError(Exception):
    pass


@dataclass
class Commit:
    sha: str
    subject: str


def message(cs: ChangeSet, mask, base: str = "") -> str:
    """The commit message; its line numbers are those of the files at `base` (HEAD when
    apply ran), not of the commit's parent."""
    cm = cs.codemod
    lines = [f"fix({cm.id}): {cm.title}", ""]
    lines.append("Files:")
    for p in sorted(cs.changes):
        o, n = cs.changes[p]
        lines.append(f"- {p}" + (" (new)" if o is None else " (deleted)" if n is None else ""))
    fixed = cs.fixed
    if fixed:
        lines += ["", "Findings resolved:"]
        lines += [mask(f"- {f.path}:{f.line}: {f.message}" + (f" ({f.check})" if f.check else "")
                       + f" [{f.safety}]") for f in fixed]
    held = [f for f in cs.findings if f.status == "held"]
    if held:
        lines += ["", "Held back (unsafe, not applied; fixer apply --unsafe-fixes applies them):"]
        lines += [mask(f"- {f.path}:{f.line}: " + (f.message.splitlines() or [""])[0]) for f in held]
    if cs.notes:
        lines += [""] + [mask(n) for n in cs.notes]
    if cs.skips:
        lines += ["", "Skipped:"]
        lines += [mask(f"- {s.path}:{s.line}: {s.reason}") for s in cs.skips]
    if base and (fixed or cs.skips):
        lines += ["", f"Line numbers refer to the files at {base[:12]}, before any fixer commit."]
    lines += ["", f"Fixer-Codemod: {cm.id}", TRAILER]
    return "\n".join(lines) + "\n"


def created_by_fixer(repo, branch: str) -> bool:
    try:
        msg = repo.commit(f"refs/heads/{branch}").message
    except Exception:
        return False
    return TRAILER in msg


def write_branch(repo, base_commit, changesets: list[ChangeSet], branch: str, prefix: str,
                 modes: dict[str, str], boms: dict[str, bool], secrets=(), force: bool = False) -> list[Commit]:
    """Create `branch` at base_commit plus one commit per changed codemod."""
    ref = f"refs/heads/{branch}"
    try:
        repo.git.check_ref_format(ref)
    except Exception:
        raise GitError(f"'{branch}' is not a valid branch name") from None
    exists = ref in [r.path for r in repo.references]
    if not repo.head.is_detached and repo.head.ref.path == ref:
        raise GitError(f"branch '{branch}' is checked out; choose another --branch")
    if exists:
        if not force:
            raise GitError(f"branch '{branch}' already exists; use --force to replace a branch fixer created")
        if not created_by_fixer(repo, branch):
            raise GitError(f"branch '{branch}' was not created by fixer (or has commits of its own); "
                           "refusing to replace it")
    old_sha = repo.git.rev_parse(ref) if exists else "0" * 40
    mask = masker(secrets)
    commits: list[Commit] = []
    fd, index_path = tempfile.mkstemp(prefix="fixer-index-")
    os.close(fd)
    os.unlink(index_path)
    env = {"GIT_INDEX_FILE": index_path}
    try:
        repo.git.read_tree(base_commit.hexsha, env=env)
        parent = base_commit.hexsha
        for cs in changesets:
            if not cs.changes:
                continue
            info = []
            for path in sorted(cs.changes):     # one text at a time (they are packed)
                new = cs.changes[path][1]
                full = f"{prefix}{path}"
                if new is None:
                    info.append(f"0 {'0' * 40}\t{full}")
                    continue
                data = encode(new, boms.get(path, False))
                sha = repo.odb.store(IStream("blob", len(data), io.BytesIO(data))).hexsha.decode()
                info.append(f"{modes.get(path, '100644')} {sha}\t{full}")
            with _stdin("\n".join(info) + "\n") as fh:
                repo.git.update_index("--index-info", istream=fh, env=env)
            tree = repo.git.write_tree(env=env)
            msg = message(cs, mask, base_commit.hexsha)
            with _stdin(msg) as fh:
                sha = repo.git.commit_tree(tree, "-p", parent, istream=fh, env=_identity(repo))
            commits.append(Commit(sha, msg.splitlines()[0]))
            parent = sha
        if commits:
            repo.git.update_ref("-m", "fixer apply", ref, parent, old_sha)
    finally:
        if os.path.exists(index_path):
            os.unlink(index_path)
    return commits


def _stdin(text: str):
    """A real file (git's stdin needs a file descriptor)."""
    fh = tempfile.TemporaryFile()
    fh.write(text.encode("utf-8"))
    fh.seek(0)
    return fh


def _identity(repo) -> dict[str, str]:
    """Use the user's identity; fall back to fixer's own when none is set."""
    env: dict[str, str] = {}
    reader = repo.config_reader()
    for who in ("AUTHOR", "COMMITTER"):
        if not os.environ.get(f"GIT_{who}_NAME") and not reader.has_option("user", "name"):
            env[f"GIT_{who}_NAME"] = "fixer"
        if not os.environ.get(f"GIT_{who}_EMAIL") and not reader.has_option("user", "email"):
            env[f"GIT_{who}_EMAIL"] = "fixer@localhost"
    return env
