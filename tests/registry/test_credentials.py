"""Credential look-up from a docker config, without a registry."""
import base64
import json

from fixer.registry.credentials import CredentialStore, config_path


def b64(s):
    return base64.b64encode(s.encode()).decode()


def write(tmp_path, cfg):
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    return tmp_path


def test_docker_hub_keys_and_hosts(tmp_path):
    store = CredentialStore(write(tmp_path, {"auths": {
        "https://index.docker.io/v1/": {"auth": b64("hubuser:hubpass")},
        "https://ghcr.io": {"username": "gh", "password": "ghpass"},
        "localhost:5000": {"auth": b64("me:pw:with:colons")},
    }}))
    assert store.get("registry-1.docker.io").username == "hubuser"
    assert store.get("docker.io").secret == "hubpass"
    assert store.get("ghcr.io").secret == "ghpass"
    assert store.get("localhost:5000").secret == "pw:with:colons"
    assert store.get("quay.io") is None
    assert "hubpass" not in repr(store.get("docker.io"))
    assert b64("hubuser:hubpass") in store.secrets


def test_config_locations(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "d"))
    assert config_path() == tmp_path / "d" / "config.json"
    assert config_path(tmp_path / "x" / "my.json") == tmp_path / "x" / "my.json"
    monkeypatch.delenv("DOCKER_CONFIG")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path() == tmp_path / ".docker" / "config.json"


def test_unreadable_config_is_ignored(tmp_path):
    (tmp_path / "config.json").write_text("{oops")
    assert CredentialStore(tmp_path).get("docker.io") is None
    assert CredentialStore(tmp_path / "missing").get("docker.io") is None
