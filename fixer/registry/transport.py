"""HTTP to registries: endpoints, mirrors, TLS fallback, auth, bounded retries."""
from __future__ import annotations

import base64
import email.utils
import ipaddress
import logging
import random
import re
import socket
import threading
import time
import warnings
from dataclasses import dataclass, field
from urllib.parse import urlsplit


from .credentials import CredentialStore, Credentials
from .reference import Reference, ReferenceError, parse_reference

log = logging.getLogger("fixer.registry")

USER_AGENT = "fixer-registry/0.1"
_RETRY_STATUS = {429, 500, 502, 503, 504}


class RegistryError(Exception):
    """A failed look-up. kind: invalid, not_found, unauthorised, rate_limited,
    offline, dns, tls, timeout, mismatch, error."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass
class Endpoint:
    key: str  # host[:port] serving the API; the unit of concurrency
    bases: list[str]  # base URLs to try, in order
    verify: bool  # verify TLS certificates
    cred_host: str  # host to look credentials up for
    via_mirror: bool = False


@dataclass
class _Challenge:
    scheme: str  # "bearer" or "basic"
    params: dict = field(default_factory=dict)


def parse_challenge(header: str | None) -> _Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "basic"):
        return None
    params = {k.lower(): v1 if v1 else v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]*))', rest)}
    return _Challenge(scheme, params)


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or host.startswith("[") else host
    name = name.strip("[]")
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def retry_after(resp) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _root_cause(exc: BaseException) -> BaseException:
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        nxt = exc.__cause__ or exc.__context__
        if nxt is None and exc.args and isinstance(exc.args[0], BaseException):
            nxt = exc.args[0]
        if nxt is None:
            break
        if hasattr(nxt, "reason") and isinstance(getattr(nxt, "reason"), BaseException):
            nxt = nxt.reason
        exc = nxt
    return exc


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        nxt = exc.__cause__ or exc.__context__
        if nxt is None and getattr(exc, "reason", None) is not None and isinstance(exc.reason, BaseException):
            nxt = exc.reason
        if nxt is None and exc.args and isinstance(exc.args[0], BaseException):
            nxt = exc.args[0]
        exc = nxt


def _quiet_insecure_warning() -> None:
    # The user asked for this registry to be insecure; urllib3 would warn per request.
    from urllib3.exceptions import InsecureRequestWarning

    warnings.filterwarnings("ignore", category=InsecureRequestWarning)


class _KeyedLocks:
    def __init__(self):
        self._lock = threading.Lock()
        self._locks: dict = {}

    def __call__(self, key) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())


class Transport:
    """One per run: remembers endpoints, auth challenges and tokens."""

    def __init__(
        self,
        *,
        mirrors: dict[str, str] | None = None,
        insecure=(),
        timeout: float | tuple[float, float] = 10.0,
        docker_config=None,
        retries: int = 3,
        backoff: float = 0.5,
        max_retry_time: float = 60.0,
        loopback_insecure: bool = True,
        pool_size: int = 8,
    ):
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_retry_time = max_retry_time
        self.loopback_insecure = loopback_insecure
        self.insecure = {h.strip().lower() for h in insecure}
        self.mirrors = {}
        if mirrors and not isinstance(mirrors, dict):  # ["docker.io=http://…", …]
            mirrors = dict(m.split("=", 1) for m in mirrors)
        for reg, url in (mirrors or {}).items():
            try:
                key = parse_reference(f"{reg.split('://')[-1].rstrip('/')}/x").registry
            except ReferenceError:
                key = reg.lower()
            url = url.rstrip("/")
            if url.endswith("/v2"):
                url = url[:-3]
            self.mirrors[key] = url
        self.creds = CredentialStore(docker_config)
        self._pool_size = pool_size
        self._session = None
        self.requests_made = 0
        self._count_lock = threading.Lock()
        self._host_locks = _KeyedLocks()
        self._token_locks = _KeyedLocks()
        self._base: dict[str, str] = {}
        self._dead: dict[str, RegistryError] = {}
        self._challenge: dict[str, _Challenge | None] = {}
        self._tokens: dict[tuple, tuple[str, float]] = {}

    @property
    def session(self):
        """The HTTP session, made on first use (importing requests costs start-up time that
        an offline run should not pay)."""
        if self._session is None:
            import requests
            from requests.adapters import HTTPAdapter

            session = requests.Session()
            adapter = HTTPAdapter(pool_connections=16, pool_maxsize=max(self._pool_size, 10), max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.headers["User-Agent"] = USER_AGENT
            self._session = session
        return self._session

    def endpoint(self, ref: Reference) -> Endpoint:
        mirror = self.mirrors.get(ref.registry)
        if mirror and "://" in mirror:
            parts = urlsplit(mirror)
            host = parts.netloc.lower()
            insecure = host in self.insecure or (self.loopback_insecure and _is_loopback(host))
            return Endpoint(host, [mirror], not insecure, host, via_mirror=True)
        host = (mirror or ref.endpoint_host).lower()
        insecure = host in self.insecure or (self.loopback_insecure and _is_loopback(host))
        bases = [f"https://{host}"] + ([f"http://{host}"] if insecure else [])
        cred_host = host if mirror else ref.registry
        return Endpoint(host, bases, not insecure, cred_host, via_mirror=bool(mirror))

    def call(self, ref: Reference, method: str, path: str, headers: dict | None = None):
        """A request for ref's repository: /v2/<repository>/<path>, authenticated."""
        ep = self.endpoint(ref)
        base = self._ping(ep)
        url = f"{base}/v2/{ref.repository}/{path}"
        headers = dict(headers or {})
        auth, fresh = self._authorization(ep, ref.repository)
        if auth:
            headers["Authorization"] = auth
        resp = self._send(method, url, ep, headers)
        if resp.status_code == 401:
            challenge = parse_challenge(resp.headers.get("WWW-Authenticate"))
            scope = challenge.params.get("scope") if challenge else None
            # A token fetched just now for the same scope would be refused again.
            if challenge and not (fresh and scope in (None, f"repository:{ref.repository}:pull")):
                self._challenge[ep.key] = challenge
                retry_auth, _ = self._authorization(ep, ref.repository, force=True, scope=scope)
                if retry_auth and retry_auth != auth:
                    headers["Authorization"] = retry_auth
                    resp.close()
                    resp = self._send(method, url, ep, headers)
        return resp

    def _ping(self, ep: Endpoint) -> str:
        """Find the working base URL of an endpoint and its auth challenge, once."""
        if ep.key in self._base:
            return self._base[ep.key]
        with self._host_locks(ep.key):
            if ep.key in self._base:
                return self._base[ep.key]
            if ep.key in self._dead:
                raise self._dead[ep.key]
            error = None
            for i, base in enumerate(ep.bases):
                try:
                    resp = self._send("GET", f"{base}/v2/", ep, {})
                except RegistryError as exc:
                    error = exc
                    if i + 1 < len(ep.bases) and exc.kind in ("tls", "offline"):
                        continue
                    break
                self._challenge[ep.key] = (
                    parse_challenge(resp.headers.get("WWW-Authenticate")) if resp.status_code == 401 else None
                )
                resp.close()
                self._base[ep.key] = base
                return base
            if ep.via_mirror:
                error = RegistryError(error.kind, f"{error.reason} (registry mirror for this reference)")
            self._dead[ep.key] = error
            raise error

    def _authorization(self, ep: Endpoint, repository: str, force=False, scope=None):
        """(Authorization header or None, whether a token was fetched just now)."""
        challenge = self._challenge.get(ep.key)
        if challenge is None:
            return None, False
        creds = self.creds.get(ep.cred_host)
        if challenge.scheme == "basic":
            if not creds:
                return None, False
            raw = f"{creds.username}:{creds.secret}".encode()
            return "Basic " + base64.b64encode(raw).decode(), False
        realm = challenge.params.get("realm")
        if not realm:
            return None, False
        scope = scope or f"repository:{repository}:pull"
        token, fresh = self._token(ep, realm, challenge.params.get("service"), scope, creds, force)
        return f"Bearer {token}", fresh

    def _token(self, ep, realm, service, scope, creds: Credentials | None, force: bool) -> tuple[str, bool]:
        key = (realm, service, scope)
        with self._token_locks(key):
            cached = self._tokens.get(key)
            if cached and not force and cached[1] > time.monotonic():
                return cached[0], False
            realm_host = urlsplit(realm).netloc.lower()
            verify = not (realm_host in self.insecure or (self.loopback_insecure and _is_loopback(realm_host)))
            token_ep = Endpoint(realm_host, [realm], verify, realm_host)
            params = {k: v for k, v in (("service", service), ("scope", scope)) if v}
            if creds and creds.identity_token:
                data = dict(params, grant_type="refresh_token", refresh_token=creds.secret, client_id="fixer")
                resp = self._send("POST", realm, token_ep, {}, data=data)
            else:
                auth = (creds.username, creds.secret) if creds else None
                resp = self._send("GET", realm, token_ep, {}, params=params, auth=auth)
            if resp.status_code in (401, 403):
                if creds:
                    raise RegistryError("unauthorised", f"unauthorised: {ep.cred_host} rejected the credentials from the docker config")
                raise RegistryError("unauthorised", f"unauthorised: {ep.cred_host} refused an anonymous token (run docker login)")
            if resp.status_code != 200:
                raise RegistryError("error", f"registry error: token server for {ep.cred_host} answered HTTP {resp.status_code}")
            try:
                data = resp.json()
                token = data.get("token") or data.get("access_token")
                lifetime = float(data.get("expires_in") or 60)
            except (ValueError, AttributeError, TypeError):
                token = None
            if not token:
                raise RegistryError("error", f"registry error: token server for {ep.cred_host} sent no token")
            self.creds.secrets.add(token)
            self._tokens[key] = (token, time.monotonic() + max(lifetime - 10, 5))
            return token, True

    def _send(self, method: str, url: str, ep: Endpoint, headers: dict, **kw):
        import requests

        """One request with bounded retries on 429/5xx/timeouts."""
        deadline = time.monotonic() + self.max_retry_time
        attempt = 0
        host = urlsplit(url).netloc
        while True:
            attempt += 1
            with self._count_lock:
                self.requests_made += 1
            if not ep.verify:
                _quiet_insecure_warning()
            try:
                resp = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, verify=ep.verify, **kw
                )
                log.debug("%s %s -> %s", method, url.split("?")[0], resp.status_code)
            except requests.exceptions.RequestException as exc:
                error, retryable = self._exception_error(exc, host)
                if not retryable:
                    raise error from None
                wait = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
                if attempt > self.retries or time.monotonic() + wait > deadline:
                    raise error from None
                log.debug("%s; retrying in %.1f s", error.reason, wait)
                time.sleep(wait)
                continue
            if resp.status_code not in _RETRY_STATUS or attempt > self.retries:
                return resp
            wait = retry_after(resp)
            if wait is None:
                wait = self.backoff * 2 ** (attempt - 1) * (1 + random.random() / 4)
            if time.monotonic() + wait > deadline:
                return resp
            log.debug("%s answered %s; retrying in %.1f s", host, resp.status_code, wait)
            resp.close()
            time.sleep(wait)

    def _exception_error(self, exc: Exception, host: str) -> tuple[RegistryError, bool]:
        import requests

        """The error for a failed request, and whether retrying may help."""
        t = self.timeout if not isinstance(self.timeout, tuple) else max(self.timeout)
        if isinstance(exc, requests.exceptions.SSLError):
            detail = str(_root_cause(exc)) or "handshake failed"
            detail = re.sub(r"^.*?\(Caused by SSLError\((.*)\)\)$", r"\1", detail)[:200]
            return RegistryError("tls", f"TLS error talking to {host}: {detail}"), False
        if isinstance(exc, requests.exceptions.Timeout):
            return RegistryError("timeout", f"timeout: {host} did not answer within {t:g} s"), True
        if isinstance(exc, requests.exceptions.ConnectionError):
            for e in _chain(exc):
                if isinstance(e, socket.gaierror) or type(e).__name__ == "NameResolutionError":
                    return RegistryError("dns", f"DNS failure: cannot resolve {host.rsplit(':', 1)[0]}"), False
                if isinstance(e, ConnectionRefusedError):
                    return RegistryError("offline", f"offline: cannot connect to {host} (connection refused)"), False
                if isinstance(e, (socket.timeout, TimeoutError)):
                    return RegistryError("timeout", f"timeout: {host} did not answer within {t:g} s"), True
            cause = type(_root_cause(exc)).__name__
            return RegistryError("offline", f"offline: connection to {host} failed ({cause})"), True
        return RegistryError("error", f"registry error: request to {host} failed ({type(exc).__name__})"), False

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def scrub(self, text: str) -> str:
        for secret in sorted(self.creds.secrets, key=len, reverse=True):
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text
