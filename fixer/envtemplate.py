"""Where a compose project's variables are documented (its env template), whether git
would keep that file, and which files of the repository belong to the project.

`project_files` is the one place that says what "the project" of a compose file is: its
folder, the files it references (env_file, mounted files, configs), the env templates,
workflows, scripts and docs of the repository.
"""
from __future__ import annotations

import fnmatch
import posixpath
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

_CP_ENV = re.compile(r"\bcp\s+(?:-[a-zA-Z]+\s+)*['\"]?([^\s'\"&;|]+)['\"]?\s+['\"]?([^\s'\"&;|]*\.env)['\"]?(?=[\s;&|)`]|$)",
                     re.M)
_TEMPLATE_NAME = re.compile(r"(?i)(^\.env\.|^\.env$|\.env$|^env\.|\.env\.(example|sample|template|dist|defaults?)$)")
_DOC = re.compile(r"(?i)(^|/)(readme[^/]*|[^/]+\.md|[^/]+\.rst)$")
_CONFIG = re.compile(r"(?i)\.(json|ya?ml|toml|ini|conf|cfg|properties|env|sh|bash|sql)$")
MAX_FILES = 3000


@dataclass
class Template:
    path: str                 # the env template fixer reads and appends to
    blocked: str = ""         # why fixer must not write it ('' when it may)
    source: str = ""          # where the choice came from (README line), for messages


def _norm(*parts: str) -> str:
    p = posixpath.normpath(posixpath.join(*parts))
    return "" if p == "." else p


def _readmes(ctx, folder: str) -> list[str]:
    out = []
    for d in dict.fromkeys([folder, ""]):
        for p in sorted(ctx.ws.all_paths):
            if posixpath.dirname(p) == d and re.match(r"(?i)readme(\.[a-z]+)?$", posixpath.basename(p)):
                out.append(p)
    return out


def readme_template(ctx, folder: str) -> tuple[str, str] | None:
    """(template path, README it comes from) when a README tells users to `cp X .env` into
    this folder."""
    for readme in _readmes(ctx, folder):
        text = ctx.read(readme) or ""
        base = posixpath.dirname(readme)
        for m in _CP_ENV.finditer(text):
            src, dst = m.group(1), m.group(2)
            if posixpath.basename(dst) != ".env":
                continue
            if posixpath.dirname(_norm(base, dst)) == folder and ".." not in src:
                return _norm(base, src), readme
    return None


def is_doc(path: str) -> bool:
    return _DOC.search(path) is not None


def template_for(ctx, compose_path: str) -> Template:
    """The file that provides the compose file's variables: a `.env` the repository keeps
    next to it (compose reads it itself), else the template a README copies to `.env`
    there, else `.env.example` next to the compose file."""
    folder = posixpath.dirname(compose_path)
    dotenv = _norm(folder, ".env")
    if ctx.exists(dotenv):
        return Template(dotenv, source="")
    told = readme_template(ctx, folder)
    path, source = (told if told else (_norm(folder, ".env.example"), ""))
    t = Template(path, source=source)
    if not ctx.exists(path) and ignored(ctx, path):
        t.blocked = f"{path} matches .gitignore: fixer does not commit it (add `!{posixpath.basename(path)}` " \
                    "to .gitignore to keep a template in git)"
    elif not ctx.exists(path) and ctx.root is not None and (Path(ctx.root) / path).exists():
        t.blocked = f"{path} exists on disk but not in git: fixer would replace it; commit it first"
    return t


# -- .gitignore ---------------------------------------------------------------

def ignored(ctx, path: str) -> bool:
    """Whether git would ignore `path` (git check-ignore, or the .gitignore files read
    directly outside a git work tree)."""
    root = Path(ctx.root) if ctx.root is not None else None
    if root is not None:
        try:
            r = subprocess.run(["git", "-C", str(root), "check-ignore", "-q", "--no-index", "--", path],
                               capture_output=True, timeout=20)
            if r.returncode in (0, 1):
                return r.returncode == 0
        except (OSError, subprocess.SubprocessError):
            pass
    return _ignored_by_files(ctx, path)


def _ignored_by_files(ctx, path: str) -> bool:
    parts = path.split("/")
    verdict = False
    for depth in range(len(parts)):
        base = "/".join(parts[:depth])
        text = ctx.read(_norm(base, ".gitignore")) or ""
        rel = "/".join(parts[depth:])
        for line in text.splitlines():
            pat = line.strip()
            if not pat or pat.startswith("#"):
                continue
            neg = pat.startswith("!")
            pat = pat[1:] if neg else pat
            pat = pat.rstrip("/")
            anchored = "/" in pat
            pat = pat.lstrip("/")
            hit = fnmatch.fnmatchcase(rel, pat) if anchored else any(
                fnmatch.fnmatchcase(seg, pat) for seg in rel.split("/"))
            if hit:
                verdict = not neg
    return verdict


# -- the project of a compose file ---------------------------------------------

def _referenced(doc, folder: str) -> list[str]:
    """Files a compose document names: env_file, bind-mount sources, configs/secrets files."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    out: list[str] = []

    def walk(node, key=None):
        if isinstance(node, MappingNode):
            for k, v in node.value:
                walk(v, getattr(k, "value", None))
        elif isinstance(node, SequenceNode):
            for item in node.value:
                walk(item, key)
        elif isinstance(node, ScalarNode) and key in ("env_file", "volumes", "file", "source", "path"):
            v = node.value.split(":", 1)[0] if key == "volumes" else node.value
            if v.startswith((".", "/")) is False and key == "volumes":
                return
            if "$" not in v and not v.startswith("/"):
                out.append(_norm(folder, v))
    for d in doc.docs:
        walk(d)
    return out


def project_files(ctx, doc) -> list[str]:
    """Paths of the files a compose file's values may also live in."""
    folder = posixpath.dirname(doc.path)
    refs = _referenced(doc, folder)
    out = []
    below = folder + "/" if folder else ""
    for p in sorted(ctx.ws.all_paths | set(ctx.ws.files)):
        st = ctx.ws.files.get(p)
        if p == doc.path or st is not None and st.kind in ("k8s", "helm", "helm-values"):
            continue      # another way to deploy, with its own secrets (k8s-secret-ref)
        d, name = posixpath.dirname(p), posixpath.basename(p)
        if (d == folder or p in refs or p.startswith(below) and _CONFIG.search(name) or any(p.startswith(r + "/") for r in refs if r)
                or _TEMPLATE_NAME.search(name) or _DOC.search(p)
                or p.startswith(".github/workflows/")
                or ctx.ws.files.get(p) is not None and ctx.ws.files[p].kind in ("script", "compose")
                or name.lower() in ("makefile", "justfile") or name.endswith((".sh", ".bash"))):
            out.append(p)
        if len(out) >= MAX_FILES:
            break
    return out


def original(ctx, path: str) -> str | None:
    """The file's text as fixer found it (before any codemod of this run)."""
    st = ctx.ws.files.get(path)
    if st is not None:
        return st.original if st.original is not None else st.text
    return ctx.read(path)


_COMPOSE_RUN = re.compile(r"\bdocker[- ]compose\b")


def runs_without_env(ctx, compose_path: str, paths: list[str], readme_copies: bool = False) -> list[str]:
    """Scripts and workflows that run this compose file with no env file in place
    (no `--env-file`, no `.env` written first): new required variables break them. When a
    README has users copy the template to `.env`, only what CI runs counts (workflows and
    the scripts they call)."""
    name = posixpath.basename(compose_path)
    folder = posixpath.dirname(compose_path)
    default = re.match(r"(docker-)?compose\.ya?ml$", name) is not None
    workflows = [p for p in paths if p.startswith(".github/workflows/")]
    ci_text = "\n".join(original(ctx, p) or "" for p in workflows) if readme_copies else ""
    out = []
    for p in paths:
        if not (p.startswith(".github/workflows/") or p.endswith((".sh", ".bash"))
                or posixpath.basename(p).lower() in ("makefile", "justfile")):
            continue
        if readme_copies and p not in workflows and not (p.endswith((".sh", ".bash")) and p in ci_text):
            continue
        text = original(ctx, p) or ""
        if not _COMPOSE_RUN.search(text):
            continue
        here = posixpath.dirname(p) == folder
        mentions = compose_path in text or (folder and folder in text) or (here and (name in text or default)) \
            or (default and not folder)
        if mentions and "--env-file" not in text and not re.search(r"(^|[\s/>])\.env\b(?!\.)", text):
            out.append(p)
    return out
