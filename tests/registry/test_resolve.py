"""Digest look-ups against a real registry."""
from fixer.registry import Resolver
from fixer.registry.client import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST

from . import regtools as rt


def make(cache_dir, **kw):
    kw.setdefault("timeout", 5)
    kw.setdefault("backoff", 0.05)
    return Resolver(cache_dir=cache_dir, **kw)


def test_index_digest_is_pinned_by_default(registry, cache_dir):
    r = make(cache_dir)
    res = r.resolve(f"{registry.host}/test/multi:1.0")
    assert res.ok, res.reason
    assert res.digest == registry.images["multi"]
    assert res.media_type == OCI_INDEX and res.is_index
    assert res.digest not in (registry.images["multi_amd64"], registry.images["multi_arm64"])


def test_media_types(registry, cache_dir):
    r = make(cache_dir)
    h = registry.host
    got = r.resolve_many([(f"{h}/test/list:1.0", None), (f"{h}/test/single:1.0", None), (f"{h}/test/oci-single:1.0", None)])
    assert got[(f"{h}/test/list:1.0", None)].digest == registry.images["list"]
    assert got[(f"{h}/test/list:1.0", None)].media_type == DOCKER_LIST
    assert got[(f"{h}/test/single:1.0", None)].media_type == DOCKER_MANIFEST
    assert got[(f"{h}/test/single:1.0", None)].is_index is False
    assert got[(f"{h}/test/oci-single:1.0", None)].media_type == OCI_MANIFEST


def test_missing_tag_means_latest(registry, cache_dir):
    res = make(cache_dir).resolve(f"{registry.host}/test/single")
    assert res.digest == registry.images["latest"]


def test_not_found(registry, cache_dir):
    r = make(cache_dir)
    res = r.resolve(f"{registry.host}/test/single:9.9")
    assert not res.ok and res.kind == "not_found"
    assert res.reason.startswith("not found:") and "test/single:9.9" in res.reason
    assert make(cache_dir).resolve(f"{registry.host}/no/such-repo:1").kind == "not_found"


def test_platform_present_and_missing(registry, cache_dir):
    r = make(cache_dir)
    h = registry.host
    got = r.resolve_many(
        [(f"{h}/test/multi:1.0", "linux/arm64"), (f"{h}/test/multi:1.0", "linux/s390x"), (f"{h}/test/multi:1.0", None)]
    )
    arm = got[(f"{h}/test/multi:1.0", "linux/arm64")]
    assert arm.digest == registry.images["multi"] and arm.warning is None
    assert arm.platforms == ["linux/amd64", "linux/arm64/v8"]
    s390 = got[(f"{h}/test/multi:1.0", "linux/s390x")]
    assert s390.digest == registry.images["multi"]  # still pinned, with a warning
    assert "linux/s390x is not in the image index" in s390.warning
    assert got[(f"{h}/test/multi:1.0", None)].warning is None
    assert r.requests_made == 3  # https probe, http ping, one GET for the image


def test_docker_manifest_list_platforms(registry, cache_dir):
    res = make(cache_dir).resolve(f"{registry.host}/test/list:1.0", "linux/amd64")
    assert res.ok and res.warning is None and res.media_type == DOCKER_LIST


def test_per_platform_child(registry, cache_dir):
    r = make(cache_dir)
    res = r.resolve_child(f"{registry.host}/test/multi:1.0", "linux/arm64")
    assert res.digest == registry.images["multi_arm64"]
    assert res.index_digest == registry.images["multi"]
    missing = r.resolve_child(f"{registry.host}/test/multi:1.0", "linux/ppc64le")
    assert missing.kind == "not_found" and "linux/ppc64le" in missing.reason


def test_deduplication_across_spellings(registry, cache_dir):
    r = make(cache_dir)
    h = registry.host
    refs = [(f"{h}/test/single:1.0", None), (f" {h}/test/single:1.0", None), (f"{h}/test/single:1.0", None)]
    got = r.resolve_many(refs)
    assert len(got) == 2 and all(x.ok for x in got.values())
    assert r.requests_made == 3  # https probe, http ping, one HEAD


def test_reference_with_digest(registry, cache_dir):
    h = registry.host
    r = make(cache_dir)
    res = r.resolve(f"{h}/test/multi:1.0@{registry.images['multi']}")
    assert res.digest == registry.images["multi"]
    gone = r.resolve(f"{h}/test/multi:1.0@sha256:{'0' * 64}")
    assert gone.kind == "not_found"


def test_bad_references_do_not_stop_the_run(registry, cache_dir):
    r = make(cache_dir)
    h = registry.host
    got = r.resolve_many([("${BASE}", None), ("Bad/Name", None), (f"{h}/test/single:1.0", None), (f"{h}/test/single:1.0", "linux")])
    assert got[("${BASE}", None)].kind == "invalid" and "${BASE}" in got[("${BASE}", None)].reason
    assert got[("Bad/Name", None)].kind == "invalid"
    assert got[(f"{h}/test/single:1.0", "linux")].kind == "invalid"
    assert got[(f"{h}/test/single:1.0", None)].ok


def test_verify_pins(registry, cache_dir):
    h = registry.host
    p = rt.Pusher(registry.url)
    first = p.image("test/moving", "1", salt="first")["digest"]
    r = make(cache_dir)
    v = r.verify(f"{h}/test/moving:1@{first}")
    assert v.exists and v.up_to_date and v.suggested is None
    second = p.image("test/moving", "1", salt="second")["digest"]
    v = r.verify(f"{h}/test/moving:1@{first}")
    assert v.exists and v.up_to_date is False and v.tag_digest == second and v.suggested == second
    v = r.verify(f"{h}/test/moving:1@sha256:{'0' * 64}")
    assert v.exists is False and v.tag_digest == second
    assert r.verify(f"{h}/test/moving:1").kind == "invalid"


def test_verify_per_platform_pin(registry, cache_dir):
    h = registry.host
    p = rt.Pusher(registry.url)
    old = p.multiarch("test/pp", "1", salt="old")
    r = make(cache_dir)
    v = r.verify(f"{h}/test/pp:1@{old['arm64']}")
    assert v.per_platform and v.up_to_date and v.platform == "linux/arm64/v8"
    new = p.multiarch("test/pp", "1", salt="new")
    v = r.verify(f"{h}/test/pp:1@{old['arm64']}")
    assert v.per_platform and v.up_to_date is False
    assert v.platform == "linux/arm64/v8" and v.suggested == new["arm64"]  # stays per-platform
    v = r.verify(f"{h}/test/pp:1@{old['index']}")
    assert not v.per_platform and v.suggested == new["index"]
