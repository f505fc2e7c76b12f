"""OCI registry client: image references, digest look-ups, cache."""
from .client import RegistryClient, RegistryError, Resolution, Verification
from .reference import Reference, ReferenceError, parse_reference
from .resolver import Resolver

__all__ = [
    "Reference",
    "ReferenceError",
    "RegistryClient",
    "RegistryError",
    "Resolution",
    "Resolver",
    "Verification",
    "parse_reference",
]
