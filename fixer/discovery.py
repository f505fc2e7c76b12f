"""Find a repository's infrastructure files and classify them cheaply."""
from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DOCKERFILE = "dockerfile"
COMPOSE = "compose"
K8S = "k8s"
HELM = "helm"
HELM_VALUES = "helm-values"
WORKFLOW = "workflow"
PYTHON = "python"
SCRIPT = "script"
YAML = "yaml"
KINDS = (DOCKERFILE, COMPOSE, K8S, HELM, HELM_VALUES, WORKFLOW, PYTHON, SCRIPT, YAML)

SKIP_DIRS = {".git", "vendor", "node_modules", ".venv", "venv", "__pycache__", ".tox", ".hg", ".svn"}
DEFAULT_MAX_SIZE = 2 * 1024 * 1024

_COMPOSE_NAME = re.compile(r"^(docker-)?compose([.-][^/]*)?\.ya?ml$", re.I)
_TOP_SERVICES = re.compile(r"^services\s*:", re.M)
_TOP_APIVERSION = re.compile(r"^apiVersion\s*:", re.M)
_TOP_KIND = re.compile(r"^kind\s*:", re.M)
_SCRIPT_NAMES = {"makefile", "gnumakefile", "justfile"}


@dataclass
class FileEntry:
    path: str          # posix path relative to the root
    kind: str
    mode: str = "100644"


class Source:
    """Where files come from: a working tree or a git commit."""

    root: Path

    def entries(self) -> list[tuple[str, str, int]]:
        """(path, mode, size) for every regular file and symlink."""
        raise NotImplementedError

    def read(self, path: str) -> bytes:
        raise NotImplementedError

    def after_fork(self) -> None:
        """In a forked copy of the process: stop sharing anything with the parent."""


class WorkTree(Source):
    def __init__(self, root: Path, use_git: bool = True):
        self.root = root
        self.use_git = use_git and (root / ".git").exists()

    def entries(self):
        if self.use_git:
            out = subprocess.run(
                ["git", "-C", str(self.root), "ls-files", "-z", "--cached", "--others",
                 "--exclude-standard"], capture_output=True, check=True).stdout
            names = sorted(set(p for p in out.decode("utf-8", "surrogateescape").split("\0") if p))
        else:
            names = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
                rel = os.path.relpath(dirpath, self.root)
                for f in sorted(filenames):
                    names.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
        result = []
        for name in names:
            p = self.root / name
            try:
                st = p.lstat()
            except FileNotFoundError:
                continue  # tracked but deleted in the working tree
            if os.path.islink(p):
                result.append((name, "120000", 0))
            elif p.is_file():
                mode = "100755" if st.st_mode & 0o111 else "100644"
                result.append((name, mode, st.st_size))
            else:
                result.append((name, "160000", 0))  # submodule or special file
        return result

    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()


class GitTree(Source):
    """Files of one commit, read from the object database (nothing checked out)."""

    def __init__(self, repo, commit):
        self.repo = repo
        self.commit = commit
        self.root = Path(repo.working_tree_dir or repo.git_dir)
        self._sha: dict[str, str] = {}

    def entries(self):
        out = self.repo.git.ls_tree("-r", "-l", "-z", "--full-tree", self.commit.hexsha)
        result = []
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, name = rec.split("\t", 1)
            mode, typ, sha, size = meta.split()
            if typ == "commit":
                result.append((name, "160000", 0))
                continue
            self._sha[name] = sha
            result.append((name, mode, 0 if size == "-" else int(size)))
        return result

    def read(self, path: str) -> bytes:
        return self.repo.odb.stream(bytes.fromhex(self._sha[path])).read()

    def after_fork(self) -> None:
        # gitpython keeps `git cat-file` processes: a copy must start its own, and keep
        # the parent's objects alive (collecting them would stop the parent's processes)
        import git

        self._parents = getattr(self, "_parents", []) + [self.repo]
        self.repo = git.Repo(self.repo.git_dir)


def name_kind(path: str, chart_dirs: set[str]) -> str | None:
    """Kind from the path alone; None when the content must decide."""
    p = PurePosixPath(path)
    name = p.name
    low = name.lower()
    if low.endswith(".dockerignore"):
        return ""
    if (low in ("dockerfile", "containerfile") or low.startswith(("dockerfile.", "containerfile."))
            or low.endswith((".dockerfile", ".containerfile"))):
        return DOCKERFILE
    if low.endswith(".py"):
        return PYTHON
    if low.endswith((".sh", ".bash", ".mk")) or low in _SCRIPT_NAMES:
        return SCRIPT
    if not low.endswith((".yml", ".yaml", ".tpl")):
        return ""
    parts = p.parts
    if len(parts) >= 3 and parts[-3] == ".github" and parts[-2] == "workflows":
        return WORKFLOW if not low.endswith(".tpl") else ""
    for i, part in enumerate(parts[:-1]):
        if part == "templates" and "/".join(parts[:i]) in chart_dirs:
            return HELM if not low.endswith(".tpl") else ""
    if low.endswith(".tpl"):
        return ""
    parent = "/".join(parts[:-1])
    if parent in chart_dirs and low.startswith("values"):
        return HELM_VALUES
    if _COMPOSE_NAME.match(name):
        return COMPOSE
    return None


_KINDS = re.compile(r"^kind\s*:\s*[\"']?([A-Za-z]+)", re.M)


def only_crds(text: str) -> bool:
    """Every resource in the file is a CustomResourceDefinition (no codemod edits those)."""
    kinds = _KINDS.findall(text)
    return bool(kinds) and all(k == "CustomResourceDefinition" for k in kinds)


def content_kind(text: str) -> str:
    """Kind of a YAML file that its name does not reveal."""
    if _TOP_APIVERSION.search(text) and _TOP_KIND.search(text):
        return YAML if only_crds(text) else K8S
    if _TOP_SERVICES.search(text):
        return COMPOSE
    return YAML


def excluded(path: str, patterns: list[str]) -> bool:
    if not patterns:
        return False
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatchcase(pre, pat) or fnmatch.fnmatchcase(pre, pat.rstrip("/"))
               for pat in patterns for pre in prefixes)


def chart_dirs_of(paths: list[str]) -> set[str]:
    out = set()
    for path in paths:
        p = PurePosixPath(path)
        if p.name == "Chart.yaml":
            out.add(str(p.parent) if str(p.parent) != "." else "")
    return out
