"""The image knowledge base: what fixer knows about widely used images.

Facts live in fixer/data/images/*.toml (one file per image family group, each entry with
its source); this module reads them and answers `lookup(ref)`. A fact that is not in the
data is None: unknown, never guessed.
"""
from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

DATA = Path(__file__).parent / "data" / "images"
_INTERP = re.compile(r"\$\{[A-Za-z_]\w*(?::?-([^}]*))?\}")


@dataclass(frozen=True)
class ImageFacts:
    name: str                                 # the entry (family) name
    ref: str = ""                             # the reference it was looked up for
    user: str | None = None                   # USER at start: root, a uid, or a name
    uid: str | None = None                    # numeric uid of a named user, when known
    drops_to: str | None = None
    writable: tuple[str, ...] | None = None   # written outside data volumes
    data: tuple[str, ...] = ()                # state: must be volumes
    caps: dict[str, str] | None = None        # capabilities needed to start, with reasons
    ports: tuple[int, ...] = ()
    serves: bool | None = None
    health: tuple[str, ...] | None = None
    health_min_major: int = 0
    health_unless: str = ""
    health_requires_env: str = ""             # the health command needs this variable set
    health_start_period: str = ""             # longer than the default when start-up is slow
    tools: frozenset[str] | None = None
    named_users: dict[str, str] = field(default_factory=dict)
    weight: str = ""
    datastore: bool = False
    sources: tuple[str, ...] = ()
    variant: str = ""

    @property
    def root(self) -> bool:
        return self.user in ("root", "0")

    @property
    def numeric_uid(self) -> int | None:
        """The numeric non-root uid the image starts as, None when root, named or unknown."""
        if self.user and self.user.split(":")[0].isdigit() and int(self.user.split(":")[0]) > 0:
            return int(self.user.split(":")[0])
        return None

    def lines(self) -> list[str]:
        """What fixer knows, one fact per line (for `fixer explain IMAGE`)."""
        unknown = "unknown"
        user = self.user or unknown
        if self.uid:
            user += f" (uid {self.uid})"
        if self.drops_to:
            user += f"; the entrypoint drops to {self.drops_to}"
        out = [f"image: {self.ref or self.name} (known as {self.name}"
               + (f", {self.variant} variant" if self.variant else "") + ")",
               f"user: {user}",
               "writable paths: " + (", ".join(self.writable) if self.writable is not None else unknown),
               "data paths (volumes): " + (", ".join(self.data) or "none known"),
               "capabilities to start: " + (", ".join(f"{k} ({v})" for k, v in self.caps.items()) or "none"
                                            if self.caps is not None else unknown),
               "ports: " + (", ".join(map(str, self.ports)) or unknown),
               "serves: " + ("yes" if self.serves or (self.serves is None and self.ports) else
                             "no" if self.serves is False else unknown),
               "health command: " + (" ".join(self.health) if self.health else unknown),
               "probe tools: " + (", ".join(sorted(self.tools)) if self.tools is not None else unknown),
               "weight: " + (self.weight or "-")]
        out += [f"source: {s}" for s in self.sources]
        return out


def split(ref: str) -> tuple[str, str, str]:
    """(repository path, last part, tag) of a reference; `${VAR:-default}` expanded,
    a default registry prefix removed."""
    ref = _INTERP.sub(lambda m: m.group(1) or "", ref.strip()).split("@", 1)[0]
    repo, tag = ref, ""
    if ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
    repo = repo.lower()
    for prefix in ("docker.io/library/", "index.docker.io/library/", "library/", "docker.io/"):
        if repo.startswith(prefix):
            repo = repo[len(prefix):]
    return repo, repo.rsplit("/", 1)[-1], tag.lower()


@functools.cache
def _load() -> tuple[dict[str, dict], list[dict]]:
    entries: dict[str, dict] = {}
    variants: list[dict] = []
    for f in sorted(DATA.glob("*.toml")):
        data = tomllib.loads(f.read_text(encoding="utf-8"))
        for v in data.pop("variant", []):
            variants.append(v)
        for name, e in data.items():
            entries[name] = e
    return entries, variants


@functools.cache
def _index() -> tuple[dict[str, str], list[tuple[str, str]]]:
    """last-part names and full-path suffixes -> entry name."""
    last: dict[str, str] = {}
    paths: list[tuple[str, str]] = []
    for name, e in _load()[0].items():
        for n in e["names"]:
            if "/" in n:
                paths.append((n, name))
            else:
                last.setdefault(n, name)
    return last, sorted(paths, key=lambda p: -len(p[0]))


def _facts(name: str, e: dict, ref: str) -> ImageFacts:
    caps = e.get("caps")
    return ImageFacts(
        name=name, ref=ref, user=e.get("user"), uid=e.get("uid"), drops_to=e.get("drops_to"),
        writable=tuple(e["writable"]) if "writable" in e else None, data=tuple(e.get("data", ())),
        caps=dict(caps) if caps is not None else None, ports=tuple(e.get("ports", ())),
        serves=e.get("serves"), health=tuple(e["health"]) if "health" in e else None,
        health_min_major=e.get("health_min_major", 0), health_unless=e.get("health_unless", ""),
        health_requires_env=e.get("health_requires_env", ""),
        health_start_period=e.get("health_start_period", ""),
        tools=frozenset(e["tools"]) if "tools" in e else None, named_users=dict(e.get("named_users", {})),
        weight=e.get("weight", ""), datastore=e.get("datastore", False), sources=(e["source"],))


def entry(name: str) -> ImageFacts | None:
    e = _load()[0].get(name)
    return _facts(name, e, "") if e else None


def _variant(repo: str, last: str, tag: str) -> dict | None:
    """The first variant rule whose every criterion (prefix, name_suffix, tag) matches."""
    words = set(re.split(r"[-_.]", tag)) if tag else set()
    for v in _load()[1]:
        if ("prefix" not in v or any(repo.startswith(p) for p in v["prefix"])) and \
                ("name_suffix" not in v or any(last.endswith(s) for s in v["name_suffix"])) and \
                ("tag" not in v or words & set(v["tag"])):
            return v
    return None


def lookup(ref: str | None) -> ImageFacts | None:
    """Facts about an image reference, None when fixer does not know it."""
    if not ref or not ref.strip() or "{{" in ref:
        return None
    repo, last, tag = split(ref)
    if not repo or "$" in repo:
        return None
    last_names, paths = _index()
    name = next((n for p, n in paths if repo == p or repo.endswith("/" + p)), None)
    var = _variant(repo, last, tag)
    if name is None:
        # by the last part of the name (bitnami/redis is redis), then without a variant suffix
        name = last_names.get(last) or last_names.get(last.removesuffix("-unprivileged"))
    if name is None:
        if var is None:
            return None
        facts = ImageFacts(name=var["name"], ref=ref)
    else:
        facts = _facts(name, _load()[0][name], ref)
    if facts.tools is not None and "alpine" in tag and name not in ("alpine", "busybox"):
        facts = replace(facts, tools=None)   # `tools` describe the default (Debian) variant
    if var is not None:
        # a publisher's rebuild has its own entrypoint and tools: the base's health command
        # and probe tools are not known to be there
        facts = replace(facts, user=var.get("user", facts.user), caps=dict(var.get("caps", facts.caps or {})),
                        drops_to=None, health=None, tools=None, sources=facts.sources + (var["source"],), variant=var["name"],
                        serves=var.get("serves", facts.serves) if name is None else facts.serves)
    return facts


def explain(ref: str) -> list[str] | None:
    facts = lookup(ref)
    return facts.lines() if facts else None
