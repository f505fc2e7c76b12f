"""Digests of image tags from OCI/Docker registries."""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from . import platforms as plat
from .reference import Reference, ReferenceError, check_digest, parse_reference
from .transport import Endpoint, RegistryError, Transport, retry_after

log = logging.getLogger("fixer.registry")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST})
# All four: asking for fewer makes registries hand back a single platform's manifest.
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


def _media_type(resp, body: bytes | None = None) -> str | None:
    ct = (resp.headers.get("Content-Type") or "").split(";")[0].strip() or None
    if ct in MANIFEST_TYPES or body is None:
        return ct
    try:
        return json.loads(body).get("mediaType") or ct
    except (ValueError, AttributeError):
        return ct



@dataclass
class Resolution:
    ref: str
    platform: str | None = None
    digest: str | None = None
    media_type: str | None = None
    is_index: bool = False
    platforms: list[str] | None = None  # known when the index was fetched
    warning: str | None = None
    reason: str | None = None
    kind: str | None = None
    from_cache: bool = False
    index_digest: str | None = None  # set for per-platform child look-ups

    @property
    def ok(self) -> bool:
        return self.digest is not None


@dataclass
class Verification:
    """The state of an existing pin."""

    ref: str
    digest: str | None = None
    exists: bool | None = None  # None: could not tell
    media_type: str | None = None
    tag: str | None = None
    tag_digest: str | None = None  # what the tag points to now
    up_to_date: bool | None = None
    per_platform: bool = False  # the pin names one platform's manifest
    platform: str | None = None
    suggested: str | None = None  # digest to move to, when the tag moved
    warning: str | None = None
    reason: str | None = None
    kind: str | None = None


class RegistryClient:
    """Digests of tags, per-platform children and checks of existing pins."""

    def __init__(self, **options):
        """Options: mirrors, insecure, timeout, docker_config, retries, backoff,
        max_retry_time, loopback_insecure, pool_size (see Transport)."""
        self.transport = Transport(**options)
        self.creds = self.transport.creds

    @property
    def requests_made(self) -> int:
        return self.transport.requests_made

    def endpoint(self, ref: Reference) -> Endpoint:
        return self.transport.endpoint(ref)

    def close(self) -> None:
        self.transport.close()

    def __repr__(self) -> str:
        return f"RegistryClient(mirrors={sorted(self.transport.mirrors)}, requests_made={self.requests_made})"

    # ---- public ---------------------------------------------------------

    def resolve(self, ref: Reference | str, platform: str | None = None) -> Resolution:
        """Digest of a tag (the index digest for multi-platform images).

        With a platform the manifest is fetched so the index's platforms can be
        checked; a missing platform gives a warning, not a failure.
        """
        text = ref if isinstance(ref, str) else ref.text
        res = Resolution(ref=text, platform=platform)
        try:
            if isinstance(ref, str):
                ref = parse_reference(ref)
            if platform:
                plat.normalize(platform)
                digest, mtype, body = self._get_manifest(ref)
                res.digest, res.media_type = digest, mtype
                if mtype in INDEX_TYPES:
                    res.platforms = [p for p, _ in plat.index_entries(_json(body))]
                res.warning = plat.check(res.platforms, platform)
            else:
                res.digest, res.media_type = self._head_manifest(ref)
            res.is_index = res.media_type in INDEX_TYPES
        except (ReferenceError, ValueError) as exc:
            res.reason, res.kind = self.transport.scrub(str(exc)), "invalid"
        except RegistryError as exc:
            res.reason, res.kind = self.transport.scrub(exc.reason), exc.kind
        return res

    def resolve_child(self, ref: Reference | str, platform: str) -> Resolution:
        """Digest of one platform's manifest inside the tag's index, for files
        that already pin per platform."""
        text = ref if isinstance(ref, str) else ref.text
        res = Resolution(ref=text, platform=platform)
        try:
            if isinstance(ref, str):
                ref = parse_reference(ref)
            digest, mtype, body = self._get_manifest(ref)
            if mtype not in INDEX_TYPES:
                res.digest, res.media_type = digest, mtype
                res.warning = "not a multi-platform image: the tag's digest is the platform image"
                return res
            entries = plat.index_entries(_json(body))
            res.platforms = [p for p, _ in entries]
            res.index_digest = digest
            for p, desc in entries:
                if plat.matches(platform, p):
                    res.digest = check_digest(desc.get("digest", ""))
                    res.media_type = desc.get("mediaType")
                    return res
            res.reason = "not found: " + plat.check(res.platforms, platform)
            res.kind = "not_found"
        except (ReferenceError, ValueError) as exc:
            res.reason, res.kind = self.transport.scrub(str(exc)), "invalid"
        except RegistryError as exc:
            res.reason, res.kind = self.transport.scrub(exc.reason), exc.kind
        return res

    def verify(self, ref: Reference | str) -> Verification:
        """Does the pinned digest still exist, and where does the tag point now?"""
        text = ref if isinstance(ref, str) else ref.text
        out = Verification(ref=text)
        try:
            if isinstance(ref, str):
                ref = parse_reference(ref)
            if not ref.digest:
                raise RegistryError("invalid", f"reference {text!r} has no digest to verify")
            out.digest, out.tag = ref.digest, ref.tag
            by_digest = Reference(ref.text, ref.name_text, ref.registry, ref.repository, None, ref.digest)
            try:
                _, out.media_type = self._head_manifest(by_digest)
                out.exists = True
            except RegistryError as exc:
                if exc.kind != "not_found":
                    raise
                out.exists = False
            if not ref.tag:
                return out
            by_tag = Reference(ref.text, ref.name_text, ref.registry, ref.repository, ref.tag, None)
            if out.media_type in INDEX_TYPES:
                out.tag_digest, _ = self._head_manifest(by_tag)
                out.up_to_date = out.tag_digest == ref.digest
                out.suggested = None if out.up_to_date else out.tag_digest
                return out
            out.tag_digest, tag_type, body = self._get_manifest(by_tag)
            if out.tag_digest == ref.digest:
                out.up_to_date = True
                return out
            if tag_type not in INDEX_TYPES:
                out.up_to_date, out.suggested = False, out.tag_digest
                return out
            # The pin names one platform's manifest while the tag is an index.
            out.per_platform = True
            entries = plat.index_entries(_json(body))
            for p, desc in entries:
                if desc.get("digest") == ref.digest:
                    out.platform, out.up_to_date = p, True
                    return out
            out.up_to_date = False
            out.platform = self._platform_of(by_digest) if out.exists else None
            if out.platform is None:
                out.warning = "cannot tell which platform the old pin was for"
                return out
            for p, desc in entries:
                if plat.matches(out.platform, p):
                    out.suggested = desc.get("digest")
                    return out
            out.warning = plat.check([p for p, _ in entries], out.platform)
        except (ReferenceError, ValueError) as exc:
            out.reason, out.kind = self.transport.scrub(str(exc)), "invalid"
        except RegistryError as exc:
            out.reason, out.kind = self.transport.scrub(exc.reason), exc.kind
        return out

    # ---- manifests ------------------------------------------------------

    def _head_manifest(self, ref: Reference) -> tuple[str, str | None]:
        resp = self.transport.call(ref, "HEAD", f"manifests/{ref.manifest_id}", {"Accept": ACCEPT})
        header = resp.headers.get("Docker-Content-Digest")
        if resp.status_code == 200 and header:
            try:
                check_digest(header)
            except ReferenceError:
                header = None
        if resp.status_code == 200 and header:
            if ref.digest and header != ref.digest:
                raise RegistryError(
                    "mismatch", f"digest mismatch: asked for {ref.digest}, registry answered {header}"
                )
            return header, _media_type(resp)
        if resp.status_code in (200, 400, 405, 501):
            log.debug("HEAD %s gave %s without a digest; using GET", ref.canonical, resp.status_code)
            digest, mtype, _ = self._get_manifest(ref)
            return digest, mtype
        raise self._status_error(resp, ref)

    def _get_manifest(self, ref: Reference) -> tuple[str, str | None, bytes]:
        resp = self.transport.call(ref, "GET", f"manifests/{ref.manifest_id}", {"Accept": ACCEPT})
        if resp.status_code != 200:
            raise self._status_error(resp, ref)
        body = resp.content
        header = resp.headers.get("Docker-Content-Digest")
        algo = "sha256"
        if header:
            try:
                check_digest(header)
                if header.split(":")[0] in hashlib.algorithms_available:
                    algo = header.split(":")[0]
            except ReferenceError:
                raise RegistryError("mismatch", f"registry sent an invalid digest header for {ref.text}") from None
        computed = f"{algo}:{hashlib.new(algo, body).hexdigest()}"
        if header and header != computed:
            raise RegistryError(
                "mismatch",
                f"digest mismatch for {ref.text}: registry says {header}, the manifest hashes to {computed}",
            )
        if ref.digest and ref.digest.split(":")[0] == algo and ref.digest != computed:
            raise RegistryError(
                "mismatch", f"digest mismatch for {ref.text}: the manifest hashes to {computed}"
            )
        return computed, _media_type(resp, body), body

    def _platform_of(self, ref: Reference) -> str | None:
        """Platform of a single-platform manifest, from its config blob."""
        try:
            _, _, body = self._get_manifest(ref)
            config = (_json(body).get("config") or {}).get("digest")
            if not config:
                return None
            resp = self.transport.call(ref, "GET", f"blobs/{config}")
            if resp.status_code != 200:
                return None
            cfg = _json(resp.content)
            if cfg.get("os") and cfg.get("architecture"):
                return plat.to_string(cfg["os"], cfg["architecture"], cfg.get("variant"))
        except (RegistryError, ValueError):
            return None
        return None

    def _status_error(self, resp, ref: Reference) -> RegistryError:
        code = resp.status_code
        ep = self.endpoint(ref)
        where = ep.key + (" (mirror)" if ep.via_mirror else "")
        what = f"{ref.repository}@{ref.digest}" if ref.digest else f"{ref.repository}:{ref.tag_or_latest}"
        if code in (401, 403):
            has = self.creds.get(ep.cred_host) is not None
            how = "with the credentials from the docker config" if has else "without credentials (run docker login)"
            return RegistryError("unauthorised", f"unauthorised: {where} denied access to {what} {how}")
        if code == 404:
            return RegistryError("not_found", f"not found: {what} does not exist on {where}")
        if code == 429:
            msg = f"rate limited by {where}"
            wait = retry_after(resp)
            if wait is not None:
                msg += f"; retry after {wait:.0f} s"
            remaining = resp.headers.get("RateLimit-Remaining")
            if remaining:
                msg += f" (RateLimit-Remaining: {remaining[:60]})"
            return RegistryError("rate_limited", msg)
        return RegistryError("error", f"registry error: {where} answered HTTP {code} for {what}")

def _json(body: bytes) -> dict:
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ValueError("manifest is not a JSON object")
    return data
