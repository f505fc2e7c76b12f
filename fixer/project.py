"""The repository model: compose projects, Swarm stacks and who talks to whom.

Built once per run, on first use (`ctx.model`), from the files as they stand before the
compose codemods change them. A compose *project* is a base file with the overlays it is
run with: compose's own override convention and every `-f a -f b` group found in shell
scripts, Makefiles, workflow `run:` steps and shell blocks of Markdown docs. Each group is
a *file set*; a service's merged view follows compose's merge rules. A file named in
`docker stack deploy -c`, or using Swarm-only settings, is a Swarm *stack*. For every file
set the model lists, per service, the services it reaches: `depends_on`, `links`, hosts in
environment values (URLs, DSNs, `host:port`, a bare service name), in `env_file`s, in the
command, and in mounted config files (nginx, Caddy, Prometheus, Grafana datasources).
"""
from __future__ import annotations

import functools
import json
import posixpath
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

from . import discovery as disc
from . import inactive
from . import shell as sh
from .consolidate import shell as cshell
from .upstreams import config_hosts

# what compose reads without -f: a base file and its override, in the same folder
_BASES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
_OVERRIDES = ("compose.override.yaml", "compose.override.yml",
              "docker-compose.override.yaml", "docker-compose.override.yml")
_COMPOSE_CMD = re.compile(r"docker[ \t]+compose|docker-compose|docker[ \t]+stack[ \t]+(deploy|up)")
# global options of `docker compose` that take a value (before the subcommand)
_VALUE_OPTS = {"-p", "--project-name", "--project-directory", "--env-file", "--profile", "--ansi",
               "--parallel", "--progress", "-c", "--context", "-H", "--host", "--log-level"}

# Service keys `docker stack deploy` ignores ("Ignoring unsupported options"): the list
# docker/cli keeps in cli/compose/types/types.go (UnsupportedProperties). `depends_on` is
# read but Swarm starts services in no order, so its conditions mean nothing there;
# `container_name` is ignored as well (DeprecatedProperties).
SWARM_IGNORED = ("build", "cgroup_parent", "devices", "domainname", "external_links", "ipc", "links",
                 "mac_address", "network_mode", "pid", "privileged", "restart", "security_opt",
                 "shm_size", "userns_mode", "depends_on", "container_name")

# keys whose sequences an overlay replaces instead of appending to
_REPLACED = {"command", "entrypoint", "test"}
# keys given as a list or a mapping, merged as mappings
_MAPPISH = {"environment", "labels", "depends_on", "networks", "extra_hosts", "sysctls", "ulimits",
            "annotations"}


@dataclass(slots=True)
class FileSet:
    """Compose files run together, in order (the first is the base)."""

    files: tuple[str, ...]
    seen: str                      # where: "compose's override convention", "deploy.sh:3", ...

    def __contains__(self, path: str) -> bool:
        return path in self.files


@dataclass(slots=True)
class Service:
    """A service as one file set runs it."""

    name: str
    data: dict                     # the merged definition
    files: list[str]               # files that define it, in order
    reaches: set[str] = field(default_factory=set)        # services it talks to
    evidence: dict[str, str] = field(default_factory=dict)  # reached service -> where it was seen
    hidden: str = ""               # settings fixer cannot read (may name more hosts)
    code: str = ""                 # its own build: code fixer does not read may name a datastore


@dataclass(slots=True)
class Model:
    files: dict[str, dict] = field(default_factory=dict)        # compose path -> parsed document
    sets: list[FileSet] = field(default_factory=list)
    stacks: dict[str, str] = field(default_factory=dict)        # path -> why it is a Swarm stack
    # compose path -> (devcontainer.json using it, its service; None: the whole file is for development)
    dev: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    _merged: dict[tuple[str, ...], dict[str, Service]] = field(default_factory=dict)
    _reader: object = None

    # -- queries -----------------------------------------------------------
    def sets_of(self, path: str) -> list[FileSet]:
        """The file sets a compose file is run in (at least the file alone)."""
        out = [s for s in self.sets if path in s]
        return out or [FileSet((path,), "the file alone")]

    def services(self, fs: FileSet) -> dict[str, Service]:
        """Merged services of a file set, with who talks to whom."""
        got = self._merged.get(fs.files)
        if got is None:
            got = self._merged[fs.files] = _merge_set(self, fs)
        return got

    def service(self, path: str, name: str) -> list[Service]:
        """The merged service in every file set `path` is run in."""
        return [s for fs in self.sets_of(path) if (s := self.services(fs).get(name)) is not None]

    def base_of(self, path: str, name: str) -> str | None:
        """An earlier file of a file set that defines the service `path` also defines (so
        `path` overlays it), or None."""
        for fs in self.sets_of(path):
            i = fs.files.index(path)
            for f in fs.files[:i]:
                if name in _svcs(self.files.get(f)):
                    return f
        return None

    def overlay_of(self, path: str) -> str | None:
        """A file `path` is merged onto in some file set, or None."""
        for fs in self.sets_of(path):
            if fs.files.index(path) > 0:
                return fs.files[0]
        return None

    def set_later(self, path: str, name: str, keys: tuple[str, ...]) -> tuple[str, str] | None:
        """(file, key) of a later file of a file set that sets one of `keys` (dotted paths
        such as `deploy.resources.limits`) for the service, or None."""
        for fs in self.sets_of(path):
            for f in fs.files[fs.files.index(path) + 1:]:
                svc = _svcs(self.files.get(f)).get(name)
                for k in keys:
                    if isinstance(svc, dict) and dig(svc, k) is not None:
                        return f, k
        return None

    def stack(self, path: str) -> str | None:
        """Why the file is deployed as a Swarm stack, or None."""
        return self.stacks.get(path)

    def dev_container(self, path: str, name: str) -> str | None:
        """The devcontainer.json that runs this service as a development environment (sudo,
        editor servers, tools written into $HOME), or None."""
        found = self.dev.get(path)
        return found[0] if found and found[1] in (None, name) else None


def dig(data, dotted: str):
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _svcs(doc) -> dict:
    svcs = doc.get("services") if isinstance(doc, dict) else None
    return {k: v for k, v in svcs.items() if isinstance(k, str)} if isinstance(svcs, dict) else {}


# -- building ---------------------------------------------------------------
def build(ctx) -> Model:
    """The model of the repository behind a codemod context."""
    m = Model(_reader=ctx)
    for path in sorted(ctx.ws.paths((disc.COMPOSE,))):
        _load(m, ctx, path)
    seen: set[tuple[str, ...]] = set()
    for fs in _convention_sets(m, ctx) + _command_sets(m, ctx):
        if fs.files not in seen and all(_load(m, ctx, f) for f in fs.files):
            seen.add(fs.files)
            m.sets.append(fs)
    m.dev = _dev_containers(ctx)
    for path, doc in m.files.items():
        if path not in m.stacks:
            why = _swarm_settings(doc)
            if why:
                m.stacks[path] = why
    return m


def _dev_containers(ctx) -> dict[str, tuple[str, str | None]]:
    """Compose files named by `dockerComposeFile` in `.devcontainer*/devcontainer.json` or
    `.devcontainer.json` (JSON with comments, as VS Code reads it)."""
    out: dict[str, str] = {}
    for path in sorted(ctx.ws.all_paths):
        name = posixpath.basename(path)
        if name not in ("devcontainer.json", ".devcontainer.json"):
            continue
        try:
            data = json.loads(_strip_jsonc(ctx.read(path) or ""))
        except ValueError:
            continue
        files = data.get("dockerComposeFile") if isinstance(data, dict) else None
        service = data.get("service") if isinstance(data, dict) else None
        for f in [files] if isinstance(files, str) else files if isinstance(files, list) else []:
            if isinstance(f, str):
                target = posixpath.normpath(posixpath.join(posixpath.dirname(path), f))
                # a file kept beside devcontainer.json is all development; the project's own
                # compose file only lends it the service the editor attaches to
                whole = posixpath.dirname(target) == posixpath.dirname(path)
                out[target] = (path, None if whole else service if isinstance(service, str) else "")
    return out


def _strip_jsonc(text: str) -> str:
    """JSON with `//` and `/* */` comments and trailing commas → JSON (strings kept whole)."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            i = text.find("\n", i) if text.find("\n", i) >= 0 else n
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            if not (c == "," and _CLOSES.match(text, i + 1)):   # a trailing comma
                out.append(c)
            i += 1
    return "".join(out)


_CLOSES = re.compile(r"\s*[}\]]")


def _load(m: Model, ctx, path: str) -> bool:
    if path in m.files:
        return True
    text = ctx.read(path)
    if text is None:
        return False
    try:
        doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return False
    if not isinstance(doc, dict):
        return False
    m.files[path] = doc
    return True


def _convention_sets(m: Model, ctx) -> list[FileSet]:
    out = []
    for path in list(m.files):
        folder, name = posixpath.split(path)
        if name not in _BASES:
            continue
        over = [posixpath.join(folder, o) for o in _OVERRIDES if ctx.exists(posixpath.join(folder, o))]
        # compose reads compose.override.* next to compose.*, docker-compose.override.* next to docker-compose.*
        over = [o for o in over if posixpath.basename(o).split(".")[0] == name.split(".")[0]]
        if over:
            out.append(FileSet((path, over[0]), "compose's override convention"))
    return out


def _candidates(ctx) -> list[tuple[str, str]]:
    """(path, kind) of files that may run compose: scripts, Makefiles, workflows, Markdown."""
    include = ctx.settings.get("include-inactive", False)
    out = []
    for path in sorted(ctx.ws.all_paths):
        low = posixpath.basename(path).lower()
        if inactive.check(path, include) or any(p in disc.SKIP_DIRS for p in path.split("/")[:-1]):
            continue
        if low.endswith((".sh", ".bash", ".mk")) or low in ("makefile", "gnumakefile", "justfile"):
            out.append((path, disc.SCRIPT))
        elif path.startswith(".github/workflows/") and low.endswith((".yml", ".yaml")):
            out.append((path, disc.WORKFLOW))
        elif low.endswith((".md", ".markdown")):
            out.append((path, "markdown"))
    return out


def _command_sets(m: Model, ctx) -> list[FileSet]:
    out = []
    for path, kind in _candidates(ctx):
        text = ctx.read(path)
        if not text or "compose" not in text and "stack" not in text:
            continue
        for chunk, line in _shell_chunks(text, path, kind):
            for cmd in sh.parse(chunk).commands:
                got = _compose_files(cmd.values)
                if got is None:
                    continue
                files, stack = got
                resolved = _resolve(ctx, path, kind, files)
                if not resolved:
                    continue
                where = f"{path}:{line + chunk.count(chr(10), 0, cmd.start)}"
                if stack:
                    for f in resolved:
                        m.stacks.setdefault(f, f"deployed with docker stack deploy -c ({where})")
                out.append(FileSet(tuple(resolved), where))
    return out


_FILE_FLAG = re.compile(r"(?:^|\s)(?:-f|--file|-c|--compose-file)(?:=|\s|$)")


def _names_files(text: str) -> bool:
    """Whether a compose command in `text` is followed, on its line (with its `\\`
    continuations), by a file option: the only commands read from documentation."""
    for m in _COMPOSE_CMD.finditer(text):
        end = m.end()
        while True:
            nl = text.find("\n", end)
            if nl < 0:
                nl = len(text)
                break
            if not text[end:nl].rstrip().endswith("\\"):
                break
            end = nl + 1
        if _FILE_FLAG.search(text, m.end(), nl):
            return True
    return False


@functools.lru_cache(maxsize=1)
def _markdown():
    """A Markdown parser for code blocks only (inline markup is never read)."""
    from markdown_it import MarkdownIt

    return MarkdownIt().disable("inline")


def _shell_chunks(text: str, path: str, kind: str):
    """(shell text, its first line number) of a file."""
    if kind == "markdown":
        if not _names_files(text):
            return
        for tok in _markdown().parse(text):
            if tok.type == "fence" and (tok.info.split() or [""])[0].lower() in ("", "sh", "bash", "shell",
                                                                               "console", "zsh", "shell-session"):
                body = "\n".join(re.sub(r"^\s*\$ ", "", ln) for ln in tok.content.splitlines())
                yield body, (tok.map[0] + 2 if tok.map else 1)
        return
    for start, end in cshell.regions(text, path, kind, _COMPOSE_CMD):
        if _COMPOSE_CMD.search(text, start, end):
            yield cshell.mask(text[start:end], path, kind), text.count("\n", 0, start) + 1


def _compose_files(words: list[str]) -> tuple[list[str], bool] | None:
    """The files of a `docker compose -f …` or `docker stack deploy -c …` command, and
    whether it deploys a stack; None for other commands or one without files."""
    if words[:2] == ["docker", "compose"]:
        rest, flag, stack = words[2:], ("-f", "--file"), False
    elif words[:1] == ["docker-compose"] or words[0].endswith("/docker-compose"):
        rest, flag, stack = words[1:], ("-f", "--file"), False
    elif words[:2] == ["docker", "stack"] and words[2:3] in (["deploy"], ["up"]):
        rest, flag, stack = words[3:], ("-c", "--compose-file"), True
    else:
        return None
    files, i = [], 0
    while i < len(rest):
        w = rest[i]
        if w in flag and i + 1 < len(rest):
            files.append(rest[i + 1])
            i += 2
        elif any(w.startswith(f + "=") for f in flag):
            files.append(w.split("=", 1)[1])
            i += 1
        elif not stack and w in _VALUE_OPTS:
            i += 2
        elif w.startswith("-"):
            i += 1
        elif stack:
            i += 1      # the stack name; options may follow it
        else:
            break       # the subcommand: options after it are its own
    return (files, stack) if files else None


def _resolve(ctx, path: str, kind: str, files: list[str]) -> list[str] | None:
    """Repository paths of a command's files: relative to the script or doc, else to the
    repository root (workflow steps run there); None when one cannot be found."""
    here = "" if kind == disc.WORKFLOW else posixpath.dirname(path)
    out = []
    for f in files:
        if "$" in f or f == "-" or f.startswith("/"):
            return None
        for base in dict.fromkeys((here, "")):
            p = posixpath.normpath(posixpath.join(base, f))
            if ctx.exists(p):
                out.append(p)
                break
        else:
            return None
    return out


def _swarm_settings(doc: dict) -> str:
    """Settings only Swarm acts on."""
    for name, svc in _svcs(doc).items():
        dep = svc.get("deploy") if isinstance(svc, dict) else None
        if not isinstance(dep, dict):
            continue
        if dep.get("placement"):
            return f"service {name} sets deploy.placement (Swarm)"
        if dep.get("mode") == "global":
            return f"service {name} sets deploy.mode: global (Swarm)"
        for k in ("update_config", "rollback_config"):
            if dep.get(k):
                return f"service {name} sets deploy.{k} (Swarm)"
    nets = doc.get("networks")
    if isinstance(nets, dict):
        for n, v in nets.items():
            if isinstance(v, dict) and v.get("driver") == "overlay":
                return f"network {n} uses the overlay driver (Swarm)"
    svcs = _svcs(doc)
    if svcs and all(isinstance(s, dict) and "build" not in s and isinstance(s.get("deploy"), dict)
                    and "replicas" in s["deploy"] for s in svcs.values()):
        return "every service sets deploy.replicas and none builds (a Swarm stack)"
    return ""


# -- merging ------------------------------------------------------------------
def _as_map(key: str, value):
    if isinstance(value, list):
        out = {}
        for item in value:
            if isinstance(item, str):
                k, sep, v = item.partition("=" if key in ("environment", "labels", "annotations") else
                                           ":" if key == "extra_hosts" else "\0")
                out[k] = v if sep else None
            elif isinstance(item, dict):
                out.update(item)
        return out
    return value


def merge(base, over, key: str = ""):
    """Compose's merge of an overlay value onto a base value."""
    if key in _MAPPISH:
        base, over = _as_map(key, base), _as_map(key, over)
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge(out[k], v, k) if k in out else v
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in _REPLACED:
        if key in ("volumes", "devices"):
            def target(v):
                return v.get("target") if isinstance(v, dict) else str(v).split(":")[1 if ":" in str(v) else 0]
            seen = {target(v) for v in over}
            return [v for v in base if target(v) not in seen] + over
        return base + [v for v in over if v not in base]
    return over


def _merge_set(m: Model, fs: FileSet) -> dict[str, Service]:
    out: dict[str, Service] = {}
    for f in fs.files:
        for name, svc in _svcs(m.files.get(f)).items():
            if not isinstance(svc, dict):
                continue
            if name in out:
                out[name].data = merge(out[name].data, svc)
                out[name].files.append(f)
            else:
                out[name] = Service(name, dict(svc), [f])
    _talks(m, fs, out)
    return out


# -- who talks to whom ---------------------------------------------------------
def _talks(m: Model, fs: FileSet, svcs: dict[str, Service]) -> None:
    names: dict[str, str] = {}
    for name, s in svcs.items():
        names[name] = name
        for k in ("container_name", "hostname"):
            if isinstance(s.data.get(k), str):
                names[s.data[k]] = name
        nets = s.data.get("networks")
        for n in (nets.values() if isinstance(nets, dict) else []):
            for a in (n.get("aliases") or [] if isinstance(n, dict) else []):
                names[str(a)] = name
    ctx = m._reader
    for name, s in svcs.items():
        here = posixpath.dirname(s.files[0])

        def add(host: str, where: str) -> None:
            target = names.get(host)
            if target and target != name:
                s.reaches.add(target)
                s.evidence.setdefault(target, where)

        if s.data.get("build") is not None:
            s.code = "its own code (build:) may connect to it"
        dep = _as_map("depends_on", s.data.get("depends_on"))
        for k in (dep or {}):
            add(k, "depends_on")
        for link in s.data.get("links") or []:
            add(str(link).split(":")[0], "links")
        env = _as_map("environment", s.data.get("environment")) or {}
        for k, v in env.items():
            for h in hosts(str(v) if v is not None else "", names):
                add(h, f"environment {k}")
        for word in _command_words(s.data):
            for h in hosts(word, names):
                add(h, "command")
        env_files = s.data.get("env_file")
        for ef in ([env_files] if isinstance(env_files, (str, dict)) else env_files or []):
            p = ef.get("path") if isinstance(ef, dict) else ef
            text = ctx.read(posixpath.normpath(posixpath.join(here, str(p)))) if ctx else None
            if text is None:
                s.hidden = s.hidden or f"env_file {p} is not in the repository"
                continue
            for ln in text.splitlines():
                k, sep, v = ln.partition("=")
                if sep and not k.lstrip().startswith("#"):
                    for h in hosts(v.strip().strip("'\""), names):
                        add(h, f"env_file {p}")
        for src in _mounted(s.data):
            for path in _repo_files(ctx, posixpath.normpath(posixpath.join(here, src))):
                text = ctx.read(path)
                for h in config_hosts(path, text or ""):
                    add(h, f"mounted {path}")


def _command_words(data: dict) -> list[str]:
    from .compose import words

    return words(data.get("command")) + words(data.get("entrypoint"))


def _mounted(data: dict) -> list[str]:
    """Repository-relative sources of bind mounts (./x, ../x, x/y)."""
    out = []
    for v in data.get("volumes") or []:
        src = v.get("source") if isinstance(v, dict) and v.get("type", "bind") == "bind" else \
            str(v).split(":")[0] if isinstance(v, str) and ":" in v else None
        if src and src.startswith((".", "..")) and "$" not in src:
            out.append(src)
    return out


def _repo_files(ctx, path: str, limit: int = 50) -> list[str]:
    if ctx is None:
        return []
    if path in ctx.ws.all_paths:
        return [path]
    prefix = path.rstrip("/") + "/"
    return sorted(p for p in ctx.ws.all_paths if p.startswith(prefix))[:limit]


_SPLIT = re.compile(r"[\s,;]+")


def hosts(value: str, names) -> list[str]:
    """Host names in a value: URLs and DSNs (`postgres://u:p@db:5432/x`), `host:port`
    lists (`kafka1:9092,kafka2:9092`) and a bare name that is a known host."""
    out = []
    for tok in _SPLIT.split(value):
        if not tok:
            continue
        if "://" in tok:
            try:
                h = urlsplit(tok).hostname
            except ValueError:
                h = None
            if h:
                out.append(h)
            continue
        tok = tok.split("@")[-1].split("/")[0]
        host, _, port = tok.rpartition(":")
        if host and port.isdigit():
            out.append(host)
        elif tok in names or tok.lower() in names:
            out.append(tok if tok in names else tok.lower())
    return out
