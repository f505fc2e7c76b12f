"""Fixtures: real `docker-registry` processes (anonymous, basic auth, token auth)
sharing one storage directory, with the standard test images pushed once."""
from __future__ import annotations

import pytest

from . import regtools as rt

USERS = {"alice": "alice-S3cret-pw"}


def _need_registry():
    if not rt.REGISTRY_BIN:
        pytest.skip("docker-registry is not installed (apt-get install docker-registry); "
                    "the registry tests need a real registry")


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    """Never read the user's docker config or write the user's cache."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def storage(tmp_path_factory):
    return tmp_path_factory.mktemp("registry-storage")


@pytest.fixture(scope="session")
def registry(tmp_path_factory, storage):
    """Anonymous registry; `.images` maps names to the pushed digests."""
    _need_registry()
    reg = rt.RegistryProcess(tmp_path_factory.mktemp("registry-anon"), storage).start()
    try:
        reg.images = rt.push_test_images(reg.url)
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory, storage, registry):
    if not rt.HTPASSWD_BIN:
        pytest.skip("htpasswd is not installed (apt-get install apache2-utils)")
    work = tmp_path_factory.mktemp("registry-basic")
    htpasswd = rt.htpasswd_file(work / "htpasswd", USERS)
    reg = rt.RegistryProcess(work, storage, auth={"htpasswd": {"realm": "test", "path": str(htpasswd)}}).start()
    reg.images = registry.images
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="session")
def token_server(tmp_path_factory):
    pytest.importorskip("cryptography")
    srv = rt.TokenServer(tmp_path_factory.mktemp("token-server"), USERS)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory, storage, registry, token_server):
    reg = rt.RegistryProcess(tmp_path_factory.mktemp("registry-token"), storage, auth=token_server.registry_auth()).start()
    reg.images = registry.images
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def proxy(registry):
    """A fresh misbehaving proxy in front of the anonymous registry."""
    p = rt.Proxy(registry.url)
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def cache_dir(tmp_path):
    return tmp_path / "cache"
