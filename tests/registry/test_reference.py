import pytest

from fixer.registry import ReferenceError, parse_reference
from fixer.registry import platforms as plat

D1 = "sha256:" + "a" * 64
D2 = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    "text, registry, repository, tag, endpoint",
    [
        ("nginx", "docker.io", "library/nginx", None, "registry-1.docker.io"),
        ("nginx:1.25", "docker.io", "library/nginx", "1.25", "registry-1.docker.io"),
        ("docker.io/nginx:1", "docker.io", "library/nginx", "1", "registry-1.docker.io"),
        ("index.docker.io/library/nginx", "docker.io", "library/nginx", None, "registry-1.docker.io"),
        ("minio/minio", "docker.io", "minio/minio", None, "registry-1.docker.io"),
        ("ghcr.io/org/app:v1.2.3", "ghcr.io", "org/app", "v1.2.3", "ghcr.io"),
        ("localhost/app", "localhost", "app", None, "localhost"),
        ("localhost:5000/team/app:dev", "localhost:5000", "team/app", "dev", "localhost:5000"),
        ("127.0.0.1:5000/a/b/c:x", "127.0.0.1:5000", "a/b/c", "x", "127.0.0.1:5000"),
        ("registry.example.com:8443/app", "registry.example.com:8443", "app", None, "registry.example.com:8443"),
    ],
)
def test_normalisation(text, registry, repository, tag, endpoint):
    r = parse_reference(text)
    assert (r.registry, r.repository, r.tag, r.endpoint_host) == (registry, repository, tag, endpoint)
    assert r.tag_or_latest == (tag or "latest")


def test_canonical_dedupes_spellings():
    spellings = ["nginx", "nginx:latest", "docker.io/nginx", "docker.io/library/nginx:latest", "index.docker.io/nginx"]
    assert {parse_reference(s).canonical for s in spellings} == {"docker.io/library/nginx:latest"}


def test_pinned_keeps_the_users_spelling():
    assert parse_reference("nginx:1.25").pinned(D1) == f"nginx:1.25@{D1}"
    assert parse_reference("nginx").pinned(D1) == f"nginx@{D1}"
    assert parse_reference("nginx").pinned(D1, explicit_latest=True) == f"nginx:latest@{D1}"
    assert parse_reference("docker.io/nginx:1").pinned(D1) == f"docker.io/nginx:1@{D1}"
    assert parse_reference("localhost:5000/app:2").pinned(D1) == f"localhost:5000/app:2@{D1}"


def test_pinned_replaces_an_existing_digest():
    r = parse_reference(f"postgres:16@{D1}")
    assert r.digest == D1 and r.tag == "16"
    assert r.pinned(D2) == f"postgres:16@{D2}"
    assert parse_reference(f"postgres@{D1}").pinned(D2) == f"postgres@{D2}"
    with pytest.raises(ReferenceError):
        r.pinned("sha256:short")


@pytest.mark.parametrize(
    "text, words",
    [
        ("${BASE}", "variable ${BASE}"),
        ("nginx:${TAG}", "variable ${TAG}"),
        ("$IMAGE", "variable $IMAGE"),
        ("${REGISTRY:-docker.io}/app", "variable"),
        ("", "empty"),
        ("nginx:", "invalid tag"),
        ("nginx:bad tag", "whitespace"),
        ("Nginx", "lowercase"),
        ("MyOrg/app", "lowercase"),
        ("nginx@sha256:123", "invalid digest"),
        (f"nginx@md5:{'a' * 10}", "invalid digest"),
        ("https://ghcr.io/org/app", "URL"),
        ("nginx:-x", "invalid tag"),
        ("a//b", "invalid name component"),
        ("ghcr.io/", "no repository"),
        (":tag", "no name"),
    ],
)
def test_malformed_references_are_rejected_with_a_reason(text, words):
    with pytest.raises(ReferenceError) as exc:
        parse_reference(text)
    assert words in str(exc.value)


def test_platform_matching():
    assert plat.matches("linux/arm64", "linux/arm64/v8")
    assert plat.matches("linux/arm64/v8", "linux/arm64")
    assert plat.matches("linux/x86_64", "linux/amd64")
    assert plat.matches("linux/arm", "linux/arm/v7")
    assert not plat.matches("linux/arm/v6", "linux/arm/v7")
    assert not plat.matches("linux/amd64", "windows/amd64")
    assert plat.check(["linux/amd64"], "linux/s390x").startswith("platform linux/s390x is not in")
    assert plat.check(["linux/amd64"], "linux/amd64") is None
