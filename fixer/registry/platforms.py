"""Platform strings (os/arch[/variant]) and matching them against an index."""
from __future__ import annotations

_ARCH_ALIASES = {
    "x86_64": "amd64",
    "x86-64": "amd64",
    "aarch64": "arm64",
    "armhf": "arm",
    "armel": "arm",
    "i386": "386",
    "i686": "386",
}


def normalize(platform: str) -> tuple[str, str, str | None]:
    parts = [p for p in platform.strip().lower().split("/") if p]
    if len(parts) < 2:
        raise ValueError(f"invalid platform {platform!r}: expected os/arch[/variant]")
    os_, arch = parts[0], _ARCH_ALIASES.get(parts[1], parts[1])
    variant = parts[2] if len(parts) > 2 else None
    if arch == "arm64" and variant == "v8":
        variant = None
    if arch == "arm" and variant is None:
        variant = "v7" if parts[1] != "armel" else "v6"
    return os_, arch, variant


def to_string(os_: str, arch: str, variant: str | None = None) -> str:
    return "/".join(p for p in (os_, arch, variant) if p)


def canonical(platform: str | None) -> str | None:
    return None if platform is None else to_string(*normalize(platform))


def matches(want: str, have: str) -> bool:
    w, h = normalize(want), normalize(have)
    if w[:2] != h[:2]:
        return False
    return w[2] is None or w[2] == h[2]


def index_entries(index: dict) -> list[tuple[str, dict]]:
    """(platform, descriptor) for each child of an index, attestations left out."""
    out = []
    for desc in index.get("manifests") or []:
        p = desc.get("platform") or {}
        os_, arch = p.get("os"), p.get("architecture")
        if not os_ or not arch or os_ == "unknown" or arch == "unknown":
            continue
        out.append((to_string(os_, arch, p.get("variant")), desc))
    return out


def check(platforms: list[str] | None, want: str | None) -> str | None:
    """A warning when `want` is not among an index's platforms."""
    if not want or platforms is None:
        return None
    try:
        if any(matches(want, have) for have in platforms):
            return None
    except ValueError as exc:
        return str(exc)
    listed = ", ".join(platforms) or "none"
    return f"platform {want} is not in the image index (it has {listed})"
