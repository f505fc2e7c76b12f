"""Image references: parsing, normalisation and rewriting in the user's spelling.

Grammar follows distribution/reference:
    [domain/]path[:tag][@digest]
The first component is a domain when it contains '.' or ':' or is 'localhost'.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DOCKER_HUB = "docker.io"
DOCKER_HUB_ENDPOINT = "registry-1.docker.io"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_PART}(?:\.{_DOMAIN_PART})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}")
_HEX = {"sha256": 64, "sha384": 96, "sha512": 128}
_VARIABLE = re.compile(r"\$(\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)")


class ReferenceError(ValueError):
    """A reference that cannot be parsed; str() is the reason."""


@dataclass(frozen=True)
class Reference:
    text: str  # exactly what the user wrote
    name_text: str  # the name part as written (no tag, no digest)
    registry: str  # normalised: docker.io, ghcr.io, 127.0.0.1:5000 …
    repository: str  # library/nginx, org/app …
    tag: str | None  # as written; None when absent
    digest: str | None

    @property
    def tag_or_latest(self) -> str:
        return self.tag or "latest"

    @property
    def is_docker_hub(self) -> bool:
        return self.registry == DOCKER_HUB

    @property
    def endpoint_host(self) -> str:
        """Host serving the registry API (Docker Hub's is registry-1.docker.io)."""
        return DOCKER_HUB_ENDPOINT if self.is_docker_hub else self.registry

    @property
    def name(self) -> str:
        """Fully qualified name: docker.io/library/nginx."""
        return f"{self.registry}/{self.repository}"

    @property
    def canonical(self) -> str:
        """Normalised reference used as a cache and deduplication key."""
        out = self.name
        if self.tag or not self.digest:
            out += ":" + self.tag_or_latest
        if self.digest:
            out += "@" + self.digest
        return out

    @property
    def manifest_id(self) -> str:
        """What to ask the registry for: the digest when pinned, else the tag."""
        return self.digest or self.tag_or_latest

    def with_tag(self, tag: str) -> "Reference":
        return parse_reference(f"{self.name_text}:{tag}")

    def pinned(self, digest: str, explicit_latest: bool = False) -> str:
        """The user's spelling with `digest`: nginx:1.25 -> nginx:1.25@sha256:….

        An existing digest is replaced. With explicit_latest a reference
        without a tag gains ':latest' so the tag stays visible.
        """
        check_digest(digest)
        out = self.name_text
        if self.tag:
            out += ":" + self.tag
        elif explicit_latest:
            out += ":latest"
        return f"{out}@{digest}"

    def __str__(self) -> str:
        return self.text


def check_digest(digest: str) -> str:
    if not _DIGEST.fullmatch(digest or ""):
        raise ReferenceError(f"invalid digest {digest!r}")
    algo, hexpart = digest.split(":", 1)
    if algo in _HEX and not re.fullmatch(rf"[0-9a-f]{{{_HEX[algo]}}}", hexpart):
        raise ReferenceError(f"invalid {algo} digest {digest!r}")
    return digest


def _split_domain(name: str) -> tuple[str | None, str]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


def parse_reference(text: str) -> Reference:
    """Parse an image reference; raises ReferenceError with a clear reason."""
    if not isinstance(text, str):
        raise ReferenceError("reference is not a string")
    raw = text
    text = text.strip()
    if not text:
        raise ReferenceError("empty reference")
    var = _VARIABLE.search(text)
    if var:
        raise ReferenceError(
            f"reference {raw!r} contains the variable ${var.group(1)}; it is only known at build time"
        )
    if any(c.isspace() for c in text):
        raise ReferenceError(f"reference {raw!r} contains whitespace")
    if "://" in text:
        raise ReferenceError(f"reference {raw!r} is a URL, not an image reference")

    rest, digest = text, None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        try:
            check_digest(digest)
        except ReferenceError:
            raise ReferenceError(f"reference {raw!r} has an invalid digest {digest!r}") from None
    name, tag = rest, None
    slash = rest.rfind("/")
    colon = rest.rfind(":")
    if colon > slash:
        name, tag = rest[:colon], rest[colon + 1 :]
        if not _TAG.fullmatch(tag):
            raise ReferenceError(f"reference {raw!r} has an invalid tag {tag!r}")
    if not name:
        raise ReferenceError(f"reference {raw!r} has no name")

    domain, path = _split_domain(name)
    if domain is not None and not _DOMAIN.fullmatch(domain):
        raise ReferenceError(f"reference {raw!r} has an invalid registry host {domain!r}")
    if domain is not None and domain != domain.lower() and "." not in domain and ":" not in domain:
        raise ReferenceError(f"reference {raw!r}: repository names must be lowercase")
    if not path:
        raise ReferenceError(f"reference {raw!r} has no repository")
    for comp in path.split("/"):
        if not _COMPONENT.fullmatch(comp):
            if comp.lower() != comp and _COMPONENT.fullmatch(comp.lower()):
                raise ReferenceError(f"reference {raw!r}: repository names must be lowercase")
            raise ReferenceError(f"reference {raw!r} has an invalid name component {comp!r}")
    if len(name) > 255:
        raise ReferenceError(f"reference {raw!r}: name longer than 255 characters")

    registry = (domain or DOCKER_HUB).lower()
    if registry in _HUB_ALIASES:
        registry = DOCKER_HUB
    repository = path
    if registry == DOCKER_HUB and "/" not in repository:
        repository = "library/" + repository
    return Reference(
        text=raw, name_text=name, registry=registry, repository=repository, tag=tag, digest=digest
    )


def try_parse(text: str) -> tuple[Reference | None, str | None]:
    """(reference, None) or (None, reason)."""
    try:
        return parse_reference(text), None
    except ReferenceError as exc:
        return None, str(exc)
