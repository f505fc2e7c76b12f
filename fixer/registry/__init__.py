"""OCI registry client: image references, digest look-ups, cache.

Names are imported on first use: `requests` costs start-up time that a run without
look-ups (fixer check is offline) should not pay.
"""
from importlib import import_module

_WHERE = {
    "Reference": ".reference",
    "ReferenceError": ".reference",
    "parse_reference": ".reference",
    "RegistryClient": ".client",
    "RegistryError": ".client",
    "Resolution": ".client",
    "Verification": ".client",
    "Resolver": ".resolver",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
