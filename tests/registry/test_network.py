"""Misbehaving registries, the cache, offline mode and mirrors."""
import json
import socket
import time

import pytest

from fixer.registry import Resolver
from fixer.registry.cache import FILE_NAME, VERSION

from . import regtools as rt


def make(cache_dir, **kw):
    kw.setdefault("timeout", 5)
    kw.setdefault("backoff", 0.05)
    return Resolver(cache_dir=cache_dir, **kw)


def test_429_with_retry_after_is_retried(proxy, registry, cache_dir):
    proxy.throttle, proxy.retry_after = 2, "0.3"
    r = make(cache_dir)
    t0 = time.monotonic()
    res = r.resolve(f"{proxy.host}/test/single:1.0")
    assert res.digest == registry.images["single"], res.reason
    assert time.monotonic() - t0 >= 0.6  # Retry-After honoured twice
    heads = [m for m, p in proxy.methods if "/manifests/" in p]
    assert len(heads) == 3


def test_rate_limit_reason(proxy, cache_dir):
    proxy.throttle, proxy.retry_after = 100, "3600"
    t0 = time.monotonic()
    res = make(cache_dir).resolve(f"{proxy.host}/test/single:1.0")
    assert time.monotonic() - t0 < 2  # a wait beyond the budget is not attempted
    assert res.kind == "rate_limited"
    assert res.reason.startswith("rate limited by") and "retry after 3600 s" in res.reason
    assert "RateLimit-Remaining: 0;w=21600" in res.reason


def test_retries_are_bounded(proxy, cache_dir):
    proxy.throttle, proxy.retry_after = 100, "0"
    res = make(cache_dir, retries=2).resolve(f"{proxy.host}/test/single:1.0")
    assert res.kind == "rate_limited"
    assert len([p for _, p in proxy.methods if "/manifests/" in p]) == 3


def test_head_refused_falls_back_to_get(proxy, registry, cache_dir):
    proxy.refuse_head = 405
    res = make(cache_dir).resolve(f"{proxy.host}/test/multi:1.0")
    assert res.digest == registry.images["multi"] and res.is_index
    assert [m for m, p in proxy.methods if "/manifests/" in p] == ["HEAD", "GET"]


def test_head_without_digest_header_falls_back_to_get(proxy, registry, cache_dir):
    proxy.strip_digest = True
    res = make(cache_dir).resolve(f"{proxy.host}/test/list:1.0")
    assert res.digest == registry.images["list"]  # the body's own hash


def test_body_hash_disagreeing_with_header_is_refused(proxy, cache_dir):
    proxy.refuse_head = 405
    proxy.fake_digest = "sha256:" + "1" * 64
    res = make(cache_dir).resolve(f"{proxy.host}/test/single:1.0")
    assert not res.ok and res.kind == "mismatch"
    assert "digest mismatch" in res.reason and "1" * 64 in res.reason


def test_dns_failure(cache_dir):
    t0 = time.monotonic()
    res = make(cache_dir).resolve("nosuchhost.invalid/team/app:1")
    assert res.kind == "dns" and res.reason == "DNS failure: cannot resolve nosuchhost.invalid"
    assert time.monotonic() - t0 < 5


def test_connection_refused(cache_dir):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    res = make(cache_dir).resolve(f"127.0.0.1:{port}/app:1")
    assert res.kind == "offline" and "connection refused" in res.reason


def test_hanging_registry_times_out_quickly(cache_dir):
    hang = rt.Hang()
    try:
        r = make(cache_dir, timeout=0.3, retries=1)
        t0 = time.monotonic()
        got = r.resolve_many([(f"{hang.host}/app:{i}", None) for i in range(5)])
        elapsed = time.monotonic() - t0
    finally:
        hang.stop()
    assert all(x.kind == "timeout" and x.reason.startswith("timeout:") for x in got.values())
    assert elapsed < 5  # the dead host is probed once, not once per reference


def test_tls_error(tmp_path, cache_dir):
    srv = rt.TLSServer(tmp_path / "tls")
    try:
        res = make(cache_dir, loopback_insecure=False).resolve(f"{srv.host}/app:1")
    finally:
        srv.stop()
    assert res.kind == "tls" and res.reason.startswith("TLS error") and "certificate" in res.reason


def test_offline_without_cache_never_touches_the_network(registry, cache_dir):
    r = make(cache_dir, offline=True)
    res = r.resolve(f"{registry.host}/test/single:1.0")
    assert res.kind == "offline" and res.reason == "offline: not in cache"
    assert r.requests_made == 0


def test_cache_then_offline_then_refresh(registry, cache_dir):
    h = registry.host
    p = rt.Pusher(registry.url)
    first = p.image("test/cached", "1", salt="one")["digest"]
    online = make(cache_dir)
    assert online.resolve(f"{h}/test/cached:1").digest == first
    data = json.loads((cache_dir / FILE_NAME).read_text())
    assert data["entries"][f"{h}/test/cached:1|via:registry {h}"]["digest"] == first

    offline = make(cache_dir, offline=True)
    res = offline.resolve(f"{h}/test/cached:1")
    assert res.digest == first and res.from_cache and offline.requests_made == 0

    second = p.image("test/cached", "1", salt="two")["digest"]
    cached = make(cache_dir)
    assert cached.resolve(f"{h}/test/cached:1").digest == first and cached.requests_made == 0
    fresh = make(cache_dir, refresh=True)
    assert fresh.resolve(f"{h}/test/cached:1").digest == second and fresh.requests_made > 0
    assert make(cache_dir, offline=True).resolve(f"{h}/test/cached:1").digest == second


def test_cache_ttl(registry, cache_dir):
    h = registry.host
    assert make(cache_dir).resolve(f"{h}/test/single:1.0").ok
    expired = make(cache_dir, ttl=0)
    assert expired.resolve(f"{h}/test/single:1.0").ok and expired.requests_made > 0
    stale = make(cache_dir, ttl=0, offline=True).resolve(f"{h}/test/single:1.0")
    assert stale.ok and "may have moved" in stale.warning


def test_offline_platform_check_from_cache(registry, cache_dir):
    h = registry.host
    assert make(cache_dir).resolve(f"{h}/test/multi:1.0", "linux/amd64").ok
    res = make(cache_dir, offline=True).resolve(f"{h}/test/multi:1.0", "linux/riscv64")
    assert res.ok and "linux/riscv64 is not in the image index" in res.warning


def test_default_cache_dir_is_the_user_cache(registry, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert Resolver().resolve(f"{registry.host}/test/single:1.0").ok
    assert (tmp_path / "xdg" / "fixer" / FILE_NAME).exists()


def test_corrupt_cache_is_ignored(registry, cache_dir):
    cache_dir.mkdir()
    (cache_dir / FILE_NAME).write_text("{not json")
    assert make(cache_dir).resolve(f"{registry.host}/test/single:1.0").ok
    assert json.loads((cache_dir / FILE_NAME).read_text())["version"] == VERSION


def test_a_mirror_run_cannot_change_a_later_direct_run(registry, tmp_path, cache_dir):
    """A mirror serving stand-in digests under the registry's own names (like
    examples/serve-mirror.py) leaves direct look-ups of those names alone, both ways."""
    h = registry.host
    real = rt.Pusher(registry.url).image("test/mixed", "1", salt="real")["digest"]
    mirror = rt.RegistryProcess(tmp_path / "mirror", tmp_path / "mirror-data").start()
    try:
        stand_in = rt.Pusher(mirror.url).image("test/mixed", "1", salt="stand-in")["digest"]
        assert stand_in != real
        via = make(cache_dir, mirrors={h: mirror.url})
        assert via.resolve(f"{h}/test/mixed:1").digest == stand_in
        direct = make(cache_dir)
        assert direct.resolve(f"{h}/test/mixed:1").digest == real and direct.requests_made > 0
        # offline, each way reads only what its own endpoint answered
        assert make(cache_dir, offline=True).resolve(f"{h}/test/mixed:1").digest == real
        again = make(cache_dir, mirrors={h: mirror.url}, offline=True)
        assert again.resolve(f"{h}/test/mixed:1").digest == stand_in
    finally:
        mirror.stop()


def test_entries_without_their_endpoint_are_not_trusted(registry, cache_dir):
    """A cache file of version 1 (entries keyed by reference only) is ignored, then replaced."""
    h = registry.host
    cache_dir.mkdir()
    old = {"version": 1, "entries": {f"{h}/test/single:1.0": {
        "digest": "sha256:" + "0" * 64, "media_type": "application/vnd.oci.image.manifest.v1+json",
        "is_index": False, "platforms": None, "time": 9e12}}}
    (cache_dir / FILE_NAME).write_text(json.dumps(old))
    assert make(cache_dir, offline=True).resolve(f"{h}/test/single:1.0").kind == "offline"
    r = make(cache_dir)
    res = r.resolve(f"{h}/test/single:1.0")
    assert res.ok and res.digest != "sha256:" + "0" * 64 and r.requests_made > 0
    data = json.loads((cache_dir / FILE_NAME).read_text())
    assert data["version"] == VERSION and all("|via:" in k for k in data["entries"])


@pytest.mark.parametrize("ref", ["nginx:1.25", "docker.io/library/nginx:1.25", "index.docker.io/nginx:1.25"])
def test_docker_hub_mirror(registry, cache_dir, ref):
    r = make(cache_dir, mirrors={"docker.io": registry.url})
    res = r.resolve(ref, "linux/arm64")
    assert res.digest == registry.images["nginx"], res.reason
    assert res.warning is None


def test_mirror_keeps_repository_paths(proxy, registry, cache_dir):
    r = make(cache_dir, mirrors={"docker.io": proxy.url})
    got = r.resolve_many([("bitnami/redis:7", None), ("nginx:1.25", None), ("nginx:0.0-missing", None)])
    assert got[("bitnami/redis:7", None)].digest == registry.images["redis"]
    assert got[("nginx:1.25", None)].digest == registry.images["nginx"]
    missing = got[("nginx:0.0-missing", None)]
    assert missing.kind == "not_found" and "(mirror)" in missing.reason
    paths = {p for _, p in proxy.methods}
    assert "/v2/library/nginx/manifests/1.25" in paths and "/v2/bitnami/redis/manifests/7" in paths


def test_mirror_without_scheme_and_insecure(registry, cache_dir):
    r = make(cache_dir, mirrors=[f"docker.io={registry.host}"], insecure={registry.host})
    assert r.resolve("nginx:1.25").digest == registry.images["nginx"]


def test_unreachable_mirror_is_reported(cache_dir):
    r = make(cache_dir, mirrors={"docker.io": "http://nosuchhost.invalid:5000"})
    res = r.resolve("nginx:1.25")
    assert res.kind == "dns" and "mirror" in res.reason


def test_concurrency_limit_per_registry(registry, cache_dir):
    proxy = rt.Proxy(registry.url, delay=0.05)
    active, peak = [0], [0]
    orig = proxy._serve

    def counting(h):
        with proxy._lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            orig(h)
        finally:
            with proxy._lock:
                active[0] -= 1

    proxy._serve = counting
    try:
        p = rt.Pusher(registry.url)
        m = p.image("test/many", None, salt="many")
        for i in range(12):
            p.index("test/many", f"t{i}", [m])
        r = make(cache_dir, concurrency=3)
        got = r.resolve_many([(f"{proxy.host}/test/many:t{i}", None) for i in range(12)])
    finally:
        proxy.stop()
    assert all(x.ok for x in got.values())
    assert peak[0] <= 3


def test_progress_bar_does_not_disturb_results(registry, cache_dir, capsys):
    h = registry.host
    got = make(cache_dir, progress=True).resolve_many([(f"{h}/test/single:1.0", None), (f"{h}/test/list:1.0", None)])
    assert all(x.ok for x in got.values())
    assert capsys.readouterr().out == ""
