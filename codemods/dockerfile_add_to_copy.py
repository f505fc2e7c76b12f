"""dockerfile-add-to-copy: ADD of plain local files and folders becomes COPY (DL3020)."""
from __future__ import annotations

import posixpath

from fixer.codemod import Codemod, Example, Finding, Skip

# file endings that are never tar archives ADD would unpack
_PLAIN = (
    ".sh", ".bash", ".py", ".pyc", ".txt", ".md", ".rst", ".cfg", ".conf", ".config", ".ini",
    ".toml", ".json", ".yml", ".yaml", ".xml", ".properties", ".env", ".js", ".mjs", ".cjs",
    ".ts", ".tsx", ".jsx", ".css", ".scss", ".html", ".htm", ".php", ".rb", ".go", ".mod",
    ".sum", ".lock", ".java", ".jar", ".war", ".ear", ".class", ".pem", ".crt", ".key",
    ".cert", ".sql", ".csv", ".lua", ".pl", ".ps1", ".cmd", ".bat", ".exe", ".dll", ".so",
    ".whl", ".zip", ".png", ".jpg", ".jpeg", ".gif", ".svg", ".ico", ".service", ".template",
    ".tmpl", ".j2", ".vcl", ".gradle", ".kts", ".csproj", ".sln", ".r", ".cs", ".c", ".h",
    ".cpp", ".rs", ".ex", ".exs", ".erl", ".swift", ".dart", ".vue", ".map", ".lst", ".list",
)
_NAMES = {"dockerfile", "makefile", "gemfile", "procfile", "license", "readme", "requirements",
          "package.json", "pipfile", "gemfile.lock", ".htaccess", "crontab", "go.mod"}
_ADD_ONLY = ("--checksum", "--keep-git-dir", "--unpack")


def plain_source(src: str, ctx, ctx_dir: str) -> str | None:
    """None when `src` is surely not a URL or an archive; else the reason."""
    if "://" in src or src.startswith("git@"):
        return "a remote source"
    if "$" in src:
        return f"source {src} holds a variable"
    base = src.rstrip("/").rsplit("/", 1)[-1].lower()
    if src.endswith("/") or base in (".", ".."):
        return None
    if any(c in base for c in "*?["):
        return f"wildcard {src} may match a tar archive"
    if base.endswith(_PLAIN) or base in _NAMES:
        return None
    rel = posixpath.normpath(posixpath.join(ctx_dir, src)) if ctx_dir else posixpath.normpath(src)
    if any(p.startswith(rel + "/") for p in ctx.ws.all_paths):
        return None           # a folder of the repository
    return f"{src} may be a tar archive, which ADD unpacks"


class DockerfileAddToCopy(Codemod):
    id = "dockerfile-add-to-copy"
    title = "Use COPY instead of ADD for local files and folders"
    kinds = ("dockerfile",)
    severity = "low"
    checks = ("hadolint:DL3020", "checkov:CKV_DOCKER_4")
    order = 100
    scope = "file"
    rationale = (
        "ADD fetches URLs and unpacks local tar archives; for plain files and folders COPY does "
        "the same with no surprises. Only sources that are surely not URLs or archives (known "
        "file types, folders of the repository) are changed.")
    examples = [
        Example("Dockerfile", "FROM alpine:3.20\nADD --chown=1:1 app.py conf/ /app/\n",
                "FROM alpine:3.20\nCOPY --chown=1:1 app.py conf/ /app/\n"),
        Example("Dockerfile", "FROM alpine:3.20\nadd [\"run.sh\", \"/run.sh\"]\n",
                "FROM alpine:3.20\ncopy [\"run.sh\", \"/run.sh\"]\n"),
        Example("Dockerfile", "FROM alpine:3.20\nADD rootfs.tar.gz /\nADD https://x.test/a /a\n", skip="may be a tar archive, which ADD unpacks"),
    ]

    def fix(self, doc, ctx):
        ctx_dir = posixpath.dirname(doc.path)
        for ins in doc.instructions:
            if ins.cmd != "ADD":
                continue
            line = ins.start_line + 1
            if any(f.split("=", 1)[0] in _ADD_ONLY for f in ins.flags):
                yield Skip(doc.path, line, "ADD uses an option COPY does not have")
                continue
            if ins.heredocs:
                yield Skip(doc.path, line, "ADD with a heredoc")
                continue
            srcs = list(ins.value[:-1])
            reasons = [r for r in (plain_source(s, ctx, ctx_dir) for s in srcs) if r]
            if not srcs or reasons:
                if reasons and reasons[0] != "a remote source":
                    yield Skip(doc.path, line, reasons[0])
                continue
            w = doc.words(ins)[0]
            kw = "copy" if w[0].islower() else "COPY"
            yield Finding(doc.path, line, "ADD of local files: COPY does the same without unpacking",
                          [doc.replace(w[1], w[2], kw)], check="hadolint:DL3020")
