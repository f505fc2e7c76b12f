"""Resolve many references in one run: deduplicated, cached, concurrent."""
from __future__ import annotations

import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from . import platforms as plat
from .cache import DigestCache
from .client import INDEX_TYPES, RegistryClient, Resolution, Verification
from .reference import ReferenceError, parse_reference

PROGRESS_THRESHOLD = 20  # look-ups before a progress bar is worth showing


class Resolver:
    def __init__(
        self,
        offline: bool = False,
        refresh: bool = False,
        cache_dir=None,
        mirrors: dict[str, str] | None = None,
        insecure=(),
        concurrency: int = 8,
        timeout: float | tuple[float, float] = 10.0,
        ttl: float = 86400,
        docker_config=None,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_time: float = 60.0,
        progress: bool | None = None,
        loopback_insecure: bool = True,
    ):
        self.offline = offline
        self.refresh = refresh
        self.concurrency = max(1, int(concurrency))
        self.progress = progress
        self.cache = DigestCache(cache_dir, ttl)
        self.client = RegistryClient(
            mirrors=mirrors,
            insecure=insecure,
            timeout=timeout,
            docker_config=docker_config,
            retries=retries,
            backoff=backoff,
            max_retry_time=max_retry_time,
            loopback_insecure=loopback_insecure,
            pool_size=self.concurrency,
        )
        self._limits: dict[str, threading.Semaphore] = {}
        self._limits_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Resolver(offline={self.offline}, refresh={self.refresh}, requests_made={self.requests_made})"

    def close(self) -> None:
        """Close pooled connections (the cache is saved after every batch)."""
        self.client.close()

    def __enter__(self) -> "Resolver":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def requests_made(self) -> int:
        return self.client.requests_made

    # ---- tags -> digests -------------------------------------------------

    def resolve(self, ref: str, platform: str | None = None) -> Resolution:
        return self.resolve_many([(ref, platform)])[(ref, platform)]

    def resolve_many(self, items) -> dict[tuple[str, str | None], Resolution]:
        """{(ref, platform): Resolution}; each distinct image is looked up once."""
        items = list(dict.fromkeys((r, p) for r, p in items))
        results: dict[tuple, Resolution] = {}
        groups: dict[str, list[tuple]] = {}  # canonical ref -> items
        parsed = {}
        for ref, platform in items:
            try:
                r = parse_reference(ref)
                if platform:
                    plat.normalize(platform)
            except (ReferenceError, ValueError) as exc:
                results[(ref, platform)] = Resolution(ref, platform, reason=str(exc), kind="invalid")
                continue
            parsed[r.canonical] = r
            groups.setdefault(r.canonical, []).append((ref, platform))

        pending = []
        for key, group in groups.items():
            wants_platforms = any(p for _, p in group)
            entry = None if self.refresh else self.cache.get(key, self.source(parsed[key]), allow_stale=self.offline)
            usable = entry and (not wants_platforms or entry.get("platforms") is not None or not entry.get("is_index"))
            if usable or (self.offline and entry):
                base = _from_entry(entry)
                if self.offline and not usable:
                    base.warning = "platform not checked: offline and the cached entry has no platform list"
                if self.offline and entry["age"] > self.cache.ttl:
                    base.warning = f"cached {entry['age'] / 3600:.0f} h ago (offline): the tag may have moved"
                self._fill(results, group, base)
            elif self.offline:
                self._fill(results, group, Resolution("", reason="offline: not in cache", kind="offline"))
            else:
                pending.append((key, group))

        def work(key, group):
            ref = parsed[key]
            platform = next((p for _, p in group if p), None)
            with self._limit(ref):
                res = self.client.resolve(ref, platform)
            if res.ok:
                self.cache.put(
                    key,
                    self.source(ref),
                    digest=res.digest,
                    media_type=res.media_type,
                    is_index=res.is_index,
                    platforms=res.platforms,
                )
            self._fill(results, group, res)

        hosts = {self.client.endpoint(parsed[key]).key for key, _ in pending}
        self._run(work, pending, len(hosts), "Resolving image digests")
        self.cache.save()
        return {item: results[item] for item in items}

    def resolve_child(self, ref: str, platform: str) -> Resolution:
        """Per-platform manifest digest, for files that already pin per platform."""
        try:
            r = parse_reference(ref)
            key = f"{r.canonical}|child:{plat.canonical(platform)}"
        except (ReferenceError, ValueError) as exc:
            return Resolution(ref, platform, reason=str(exc), kind="invalid")
        entry = None if self.refresh else self.cache.get(key, self.source(r), allow_stale=self.offline)
        if entry:
            res = _from_entry(entry)
            res.index_digest = entry.get("index_digest")
        elif self.offline:
            res = Resolution(ref, platform, reason="offline: not in cache", kind="offline")
        else:
            with self._limit(r):
                res = self.client.resolve_child(r, platform)
            if res.ok:
                self.cache.put(
                    key,
                    self.source(r),
                    digest=res.digest,
                    media_type=res.media_type,
                    is_index=False,
                    platforms=res.platforms,
                    index_digest=res.index_digest,
                )
                self.cache.save()
        return replace(res, ref=ref, platform=platform)

    # ---- existing pins ---------------------------------------------------

    def verify(self, ref: str) -> Verification:
        return self.verify_many([ref])[ref]

    def verify_many(self, refs) -> dict[str, Verification]:
        refs = list(dict.fromkeys(refs))
        out: dict[str, Verification] = {}
        jobs = []
        for ref in refs:
            try:
                r = parse_reference(ref)
            except ReferenceError as exc:
                out[ref] = Verification(ref, reason=str(exc), kind="invalid")
                continue
            if self.offline:
                out[ref] = Verification(ref, digest=r.digest, tag=r.tag, reason="offline: pins not verified", kind="offline")
            else:
                jobs.append((ref, r))

        def work(ref, r):
            with self._limit(r):
                out[ref] = self.client.verify(ref)

        hosts = {self.client.endpoint(r).key for _, r in jobs}
        self._run(work, jobs, len(hosts), "Verifying image pins")
        return {ref: out[ref] for ref in refs}

    # ---- helpers ---------------------------------------------------------

    def source(self, ref) -> str:
        """The endpoint that answers for ref, as the cache records it: a mirror's URL,
        or the registry's own host."""
        ep = self.client.endpoint(ref)
        return f"mirror {ep.bases[0]}" if ep.via_mirror else f"registry {ep.key}"

    def _limit(self, ref) -> threading.Semaphore:
        key = self.client.endpoint(ref).key
        with self._limits_lock:
            return self._limits.setdefault(key, threading.Semaphore(self.concurrency))

    def _run(self, work, jobs, hosts: int, title: str) -> None:
        if not jobs:
            return
        workers = min(len(jobs), self.concurrency * max(hosts, 1), 64)
        show = self.progress if self.progress is not None else (
            len(jobs) >= PROGRESS_THRESHOLD and sys.stderr.isatty()
        )
        progress = task = None
        if show:
            from rich.console import Console
            from rich.progress import Progress

            progress = Progress(console=Console(stderr=True), transient=True)
            progress.start()
            task = progress.add_task(title, total=len(jobs))
        try:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fixer-registry") as pool:
                futures = [pool.submit(work, *job) for job in jobs]
                for fut in futures:
                    fut.result()
                    if progress:
                        progress.advance(task)
        finally:
            if progress:
                progress.stop()

    @staticmethod
    def _fill(results: dict, group, base: Resolution) -> None:
        general = base.warning if base.from_cache else None  # staleness, offline
        for ref, platform in group:
            res = replace(base, ref=ref, platform=platform)
            if res.ok:
                found = plat.check(res.platforms, platform) if platform else None
                res.warning = "; ".join(w for w in (found, general) if w) or None
            results[(ref, platform)] = res


def _from_entry(entry: dict) -> Resolution:
    return Resolution(
        "",
        digest=entry["digest"],
        media_type=entry.get("media_type"),
        is_index=bool(entry.get("is_index", entry.get("media_type") in INDEX_TYPES)),
        platforms=entry.get("platforms"),
        from_cache=True,
    )
