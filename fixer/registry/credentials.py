"""Registry credentials from the docker config (auths, credHelpers, credsStore).

Secrets are kept out of repr() and never formatted into messages.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("fixer.registry")

_HUB_KEYS = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
_HUB_SERVER_URL = "https://index.docker.io/v1/"


@dataclass(frozen=True)
class Credentials:
    username: str = field(repr=False)
    secret: str = field(repr=False)
    identity_token: bool = False  # secret is a refresh token, not a password

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"

    __str__ = __repr__


def config_path(docker_config: str | os.PathLike | None = None) -> Path:
    """docker_config may be a directory (like $DOCKER_CONFIG) or a config.json path."""
    if docker_config is not None:
        p = Path(docker_config).expanduser()
        return p / "config.json" if p.is_dir() or p.suffix != ".json" else p
    env = os.environ.get("DOCKER_CONFIG")
    if env:
        return Path(env).expanduser() / "config.json"
    return Path.home() / ".docker" / "config.json"


def _host_key(key: str) -> str:
    """'https://index.docker.io/v1/' -> 'docker.io'; 'https://h:5000' -> 'h:5000'."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0].lower()
    return "docker.io" if k in _HUB_KEYS else k


class CredentialStore:
    """Looks up credentials per registry host, once per host."""

    def __init__(self, docker_config=None, timeout: float = 10.0):
        self.path = config_path(docker_config)
        self.timeout = timeout
        self._config = self._load()
        self._cache: dict[str, Credentials | None] = {}
        self._lock = threading.Lock()
        self.secrets: set[str] = set()  # for scrubbing messages

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable docker config %s (%s)", self.path, type(exc).__name__)
            return {}

    def get(self, host: str) -> Credentials | None:
        key = _host_key(host)
        with self._lock:
            if key not in self._cache:
                creds = self._lookup(key)
                if creds:
                    self._remember(creds)
                self._cache[key] = creds
            return self._cache[key]

    def _remember(self, creds: Credentials) -> None:
        for s in (creds.secret, creds.username):
            if s and len(s) >= 4:
                self.secrets.add(s)
        if creds.username and creds.secret:
            raw = f"{creds.username}:{creds.secret}".encode()
            self.secrets.add(base64.b64encode(raw).decode())

    def _lookup(self, key: str) -> Credentials | None:
        cfg = self._config
        helpers = cfg.get("credHelpers") or {}
        for name, helper in helpers.items():
            if _host_key(name) == key and helper:
                return self._from_helper(helper, name)
        auths = cfg.get("auths") or {}
        entry_name = next((n for n in auths if _host_key(n) == key), None)
        store = cfg.get("credsStore")
        if store:
            server = entry_name or (_HUB_SERVER_URL if key == "docker.io" else key)
            creds = self._from_helper(store, server)
            if creds:
                return creds
        if entry_name is not None:
            return self._from_entry(auths[entry_name] or {})
        return None

    def _from_entry(self, entry: dict) -> Credentials | None:
        if not isinstance(entry, dict):
            return None
        if entry.get("identitytoken"):
            user = entry.get("username") or ""
            if not user and entry.get("auth"):
                user = _decode_auth(entry["auth"])[0]
            return Credentials(user, entry["identitytoken"], identity_token=True)
        if entry.get("auth"):
            user, pw = _decode_auth(entry["auth"])
            if user or pw:
                self.secrets.add(entry["auth"])
                return Credentials(user, pw)
        if entry.get("username") or entry.get("password"):
            return Credentials(entry.get("username", ""), entry.get("password", ""))
        return None

    def _from_helper(self, helper: str, server: str) -> Credentials | None:
        exe = shutil.which(f"docker-credential-{helper}")
        if not exe:
            log.warning("credential helper docker-credential-%s not found", helper)
            return None
        try:
            proc = subprocess.run(
                [exe, "get"], input=server.encode(), capture_output=True, timeout=self.timeout
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("credential helper %s failed (%s)", helper, type(exc).__name__)
            return None
        if proc.returncode != 0:
            # helpers print "credentials not found…" here; the output is never logged
            log.debug("credential helper %s has no credentials for %s", helper, server)
            return None
        try:
            data = json.loads(proc.stdout)
        except ValueError:
            log.warning("credential helper %s gave unreadable output", helper)
            return None
        user, secret = data.get("Username") or "", data.get("Secret") or ""
        if not secret:
            return None
        return Credentials(user, secret, identity_token=(user == "<token>"))


def _decode_auth(value: str) -> tuple[str, str]:
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4)).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return "", ""
    user, _, pw = raw.partition(":")
    return user, pw
