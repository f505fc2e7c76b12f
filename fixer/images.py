"""Base image families: what a Dockerfile's base has and how it adds users."""
from __future__ import annotations

import re

from . import imagedb

ALPINE, DEBIAN, RHEL, DISTROLESS, SCRATCH, WINDOWS = (
    "alpine", "debian", "rhel", "distroless", "scratch", "windows")

# official images that are Debian/Ubuntu unless the tag says otherwise
_DEBIAN_NAMES = {
    "debian", "ubuntu", "python", "node", "golang", "ruby", "php", "perl", "openjdk",
    "eclipse-temurin", "amazoncorretto", "maven", "gradle", "rust", "nginx", "httpd", "redis",
    "postgres", "mysql", "mariadb", "mongo", "elixir", "erlang", "haskell", "julia", "r-base",
    "buildpack-deps", "tomcat", "jetty", "wordpress", "ghost", "rabbitmq", "memcached",
    "swift", "gcc", "clojure", "pypy", "nextcloud", "drupal", "composer", "sapmachine",
}
_RHEL_NAMES = {"fedora", "centos", "rockylinux", "almalinux", "oraclelinux", "amazonlinux",
               "ubi", "ubi8", "ubi9", "ubi10", "ubi-minimal", "ubi8-minimal", "ubi9-minimal",
               "ubi-micro", "ubi8-micro", "ubi9-micro", "ubi-init", "ubi8-init", "ubi9-init"}
# official images whose full (non-slim) Debian variant is built on buildpack-deps (curl, wget)
_BUILDPACK = {"python", "node", "golang", "ruby", "perl", "buildpack-deps", "rust", "gcc",
              "haskell", "erlang", "elixir", "clojure", "pypy"}


def split_ref(ref: str) -> tuple[str, str, str]:
    """(registry/path, last path component, tag) of an image reference."""
    ref = ref.split("@", 1)[0]
    name, tag = ref, ""
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        name, tag = ref[:colon], ref[colon + 1:]
    return name.lower(), name.rsplit("/", 1)[-1].lower(), tag.lower()


def family(ref: str) -> str | None:
    """The family of an external base image, None when unknown."""
    if not ref or "$" in ref:
        return None
    name, last, tag = split_ref(ref)
    if name == "scratch":
        return SCRATCH
    if re.search(r"(^|/)(windows|windowsservercore|nanoserver|servercore)(/|$)", name) or \
            re.search(r"(nanoserver|servercore|windows|ltsc\d{4})", tag):
        return WINDOWS
    if name.startswith(("gcr.io/distroless/", "cgr.dev/chainguard/")) or "distroless" in name:
        if tag.endswith("-dev") or "-dev-" in tag:
            return None          # shell variants: not worth guessing
        return DISTROLESS
    if last in ("alpine", "busybox") or "alpine" in tag or tag.startswith("busybox"):
        return ALPINE
    if last in _RHEL_NAMES or re.search(r"(^|/)ubi\d*(-\w+)?$", name) or "ubi8" in tag or "ubi9" in tag:
        return RHEL
    official = "/" not in name or name.startswith(("docker.io/library/", "library/"))
    if last in ("debian", "ubuntu"):
        return DEBIAN
    if official and last in _DEBIAN_NAMES:
        if any(w in tag for w in ("windows", "nanoserver", "servercore")):
            return WINDOWS
        return DEBIAN
    return None


def minimal(ref: str) -> bool:
    """UBI minimal/micro and the like: no shadow-utils to add users."""
    _, last, tag = split_ref(ref)
    return "minimal" in last or "micro" in last or "minimal" in tag or "micro" in tag


def tools(ref: str) -> set[str]:
    """Probe tools and runtimes the base image is known to contain."""
    name, last, tag = split_ref(ref)
    fam = family(ref)
    out: set[str] = set()
    if fam == ALPINE:
        out |= {"wget", "nc", "sh"}
    if fam == DEBIAN:
        out |= {"bash", "sh"}
        official = "/" not in name or name.startswith(("docker.io/library/", "library/"))
        if official and last in _BUILDPACK and "slim" not in tag:
            out |= {"curl", "wget"}
    if fam == RHEL:
        out |= {"bash", "sh", "curl"} if "micro" not in last + tag else set()
    if last in ("python", "pypy") or (fam == DISTROLESS and "python" in last):
        out.add("python3")
    if last == "node" or (fam == DISTROLESS and "nodejs" in last):
        out.add("node")
    return out


def known_user(ref: str) -> tuple[str, str] | None:
    """(name, uid:gid) of a non-root user an official base ships (node's `node`)."""
    name, _, _ = split_ref(ref)
    official = "/" not in name or name.startswith(("docker.io/library/", "library/"))
    facts = imagedb.lookup(ref) if official else None
    return next(iter(facts.named_users.items()), None) if facts else None


def runs_nonroot(ref: str) -> bool:
    """Bases whose default user is already non-root (the knowledge base, or a tag that says so)."""
    name, _, tag = split_ref(ref)
    if "nonroot" in tag or "unprivileged" in name or "rootless" in name + tag:
        return True
    if name.startswith("cgr.dev/chainguard/") and tag.endswith("-dev"):
        return False
    facts = imagedb.lookup(ref)
    return bool(facts and facts.user and not facts.root)
