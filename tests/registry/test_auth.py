"""Basic auth, bearer tokens and credentials from the docker config."""
import base64
import logging

from fixer.registry import Resolver

from . import regtools as rt
from .conftest import USERS

PASSWORD = USERS["alice"]
WRONG = "Wr0ng-Passw0rd-zz"


def make(tmp_path, docker_config=None, **kw):
    kw.setdefault("refresh", True)  # every test talks to the registry
    return Resolver(cache_dir=tmp_path / "cache", docker_config=docker_config, timeout=5, backoff=0.05, **kw)


def b64(user, pw):
    return base64.b64encode(f"{user}:{pw}".encode()).decode()


def test_basic_auth_without_credentials(basic_registry, tmp_path):
    res = make(tmp_path).resolve(f"{basic_registry.host}/test/single:1.0")
    assert res.kind == "unauthorised" and "without credentials" in res.reason


def test_basic_auth_with_auths_entry(basic_registry, tmp_path):
    cfg = rt.write_docker_config(tmp_path / "dc", {"auths": {basic_registry.host: rt.basic_auth_entry("alice", PASSWORD)}})
    res = make(tmp_path, cfg).resolve(f"{basic_registry.host}/test/single:1.0")
    assert res.digest == basic_registry.images["single"], res.reason


def test_basic_auth_username_password_and_docker_config_env(basic_registry, tmp_path, monkeypatch):
    cfg = rt.write_docker_config(
        tmp_path / "dc", {"auths": {f"http://{basic_registry.host}": {"username": "alice", "password": PASSWORD}}}
    )
    monkeypatch.setenv("DOCKER_CONFIG", str(cfg))
    res = make(tmp_path).resolve(f"{basic_registry.host}/test/multi:1.0")
    assert res.digest == basic_registry.images["multi"], res.reason


def test_cred_helpers_and_creds_store(basic_registry, tmp_path, monkeypatch):
    bindir = rt.credential_helper(tmp_path / "bin", "fixertest", {basic_registry.host: ("alice", PASSWORD)})
    monkeypatch.setenv("PATH", f"{bindir}:{__import__('os').environ['PATH']}")
    cfg = rt.write_docker_config(tmp_path / "dc1", {"credHelpers": {basic_registry.host: "fixertest"}})
    assert make(tmp_path, cfg).resolve(f"{basic_registry.host}/test/single:1.0").ok
    cfg = rt.write_docker_config(tmp_path / "dc2", {"credsStore": "fixertest"})
    assert make(tmp_path, cfg).resolve(f"{basic_registry.host}/test/single:1.0").ok
    missing = rt.write_docker_config(tmp_path / "dc3", {"credsStore": "nosuchhelper"})
    assert make(tmp_path, missing).resolve(f"{basic_registry.host}/test/single:1.0").kind == "unauthorised"


def test_bearer_anonymous_token(token_registry, token_server, tmp_path):
    r = make(tmp_path)
    before = token_server.count
    res = r.resolve(f"{token_registry.host}/public/app:1.0")
    assert res.digest == token_registry.images["public"], res.reason
    assert token_server.count == before + 1
    # a second look-up in the same repository reuses the token
    assert r.resolve(f"{token_registry.host}/public/app:1.0", "linux/amd64").ok
    assert token_server.count == before + 1


def test_bearer_private_needs_credentials(token_registry, tmp_path):
    res = make(tmp_path).resolve(f"{token_registry.host}/private/app:1.0")
    assert res.kind == "unauthorised" and "docker login" in res.reason


def test_bearer_with_credentials(token_registry, tmp_path):
    cfg = rt.write_docker_config(tmp_path / "dc", {"auths": {token_registry.host: {"auth": b64("alice", PASSWORD)}}})
    r = make(tmp_path, cfg)
    got = r.resolve_many([(f"{token_registry.host}/private/app:1.0", None), (f"{token_registry.host}/test/multi:1.0", "linux/arm64")])
    assert got[(f"{token_registry.host}/private/app:1.0", None)].digest == token_registry.images["private"]
    assert got[(f"{token_registry.host}/test/multi:1.0", "linux/arm64")].digest == token_registry.images["multi"]


def test_bearer_identity_token(token_registry, token_server, tmp_path):
    token_server.refresh_tokens["refresh-abc-123456"] = "alice"
    cfg = rt.write_docker_config(
        tmp_path / "dc", {"auths": {token_registry.host: {"auth": b64("alice", ""), "identitytoken": "refresh-abc-123456"}}}
    )
    res = make(tmp_path, cfg).resolve(f"{token_registry.host}/private/app:1.0")
    assert res.digest == token_registry.images["private"], res.reason


def test_credentials_never_leak(basic_registry, token_registry, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    cfg = rt.write_docker_config(
        tmp_path / "dc",
        {"auths": {basic_registry.host: {"auth": b64("alice", WRONG)}, token_registry.host: {"username": "alice", "password": WRONG}}},
    )
    r = make(tmp_path, cfg)
    got = r.resolve_many([(f"{basic_registry.host}/test/single:1.0", None), (f"{token_registry.host}/private/app:1.0", None)])
    for res in got.values():
        assert res.kind == "unauthorised"
        assert "credentials from the docker config" in res.reason
    good = rt.write_docker_config(tmp_path / "dc2", {"auths": {token_registry.host: {"auth": b64("alice", PASSWORD)}}})
    r2 = make(tmp_path, good)
    ok = r2.resolve(f"{token_registry.host}/private/app:1.0")
    assert ok.ok
    out = capsys.readouterr()
    texts = [repr(r), repr(r2), repr(r.client), repr(ok), out.out, out.err, caplog.text]
    texts += [repr(x) for x in got.values()] + [x.reason for x in got.values()]
    texts += [repr(r.client.creds.get(basic_registry.host))]
    secrets = [WRONG, PASSWORD, b64("alice", WRONG), b64("alice", PASSWORD)] + [t for t, _ in r2.client.transport._tokens.values()]
    for text in texts:
        for secret in secrets:
            assert secret not in text
