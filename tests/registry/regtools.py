"""Test helpers: a real registry process, an image pusher, a misbehaving proxy,
a token server and a server that never answers.

Plain module (no relative imports) so bench/registry_bench.py can use it too.
"""
from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests
import requests.structures

REGISTRY_BIN = shutil.which("docker-registry")
HTPASSWD_BIN = shutil.which("htpasswd")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


# ---- the registry process ------------------------------------------------


class RegistryProcess:
    """`docker-registry serve` on 127.0.0.1 with an OS-chosen port."""

    def __init__(self, workdir: Path, storage: Path, auth: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage = Path(storage)
        self.auth = auth
        self.proc = None
        self.port = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def start(self, timeout: float = 15.0) -> "RegistryProcess":
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.storage)}, "delete": {"enabled": True}},
            "http": {"addr": "127.0.0.1:0", "secret": "test-only"},
        }
        if self.auth:
            config["auth"] = self.auth
        cfg = self.workdir / "config.yml"
        cfg.write_text(json.dumps(config))  # JSON is YAML
        self.log_path = self.workdir / "registry.log"
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [REGISTRY_BIN, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
        )
        log.close()
        deadline = time.monotonic() + timeout
        while self.port is None:
            m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", self.log_path.read_bytes())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("docker-registry did not start:\n" + self.log_path.read_text(errors="replace"))
            time.sleep(0.02)
        while True:
            try:
                requests.get(f"{self.url}/v2/", timeout=1)
                return self
            except requests.RequestException:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---- pushing images over plain HTTP -----------------------------------------


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Pusher:
    def __init__(self, base_url: str, auth=None):
        self.base = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = auth

    def blob(self, repo: str, data: bytes, media_type: str) -> dict:
        digest = _digest(data)
        r = self.session.post(f"{self.base}/v2/{repo}/blobs/uploads/", timeout=10)
        assert r.status_code == 202, (r.status_code, r.text)
        loc = r.headers["Location"]
        if loc.startswith("/"):
            loc = self.base + loc
        sep = "&" if "?" in loc else "?"
        r = self.session.put(
            f"{loc}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )
        assert r.status_code == 201, (r.status_code, r.text)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def manifest(self, repo: str, ref: str, manifest: dict) -> dict:
        body = json.dumps(manifest, indent=2).encode()
        r = self.session.put(
            f"{self.base}/v2/{repo}/manifests/{ref}",
            data=body,
            headers={"Content-Type": manifest["mediaType"]},
            timeout=10,
        )
        assert r.status_code == 201, (r.status_code, r.text)
        digest = _digest(body)
        assert r.headers.get("Docker-Content-Digest") == digest
        return {"mediaType": manifest["mediaType"], "digest": digest, "size": len(body)}

    def image(self, repo, tag=None, arch="amd64", os_="linux", variant=None, oci=True, salt="") -> dict:
        """Push a one-layer image; with tag None it is pushed by digest only."""
        cfg = {"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}
        if variant:
            cfg["variant"] = variant
        layer = f"layer {repo} {arch} {salt}".encode()
        cfg["rootfs"]["diff_ids"].append(_digest(layer))
        config = self.blob(
            repo,
            json.dumps(cfg).encode(),
            "application/vnd.oci.image.config.v1+json" if oci else "application/vnd.docker.container.image.v1+json",
        )
        layer_desc = self.blob(
            repo,
            layer,
            "application/vnd.oci.image.layer.v1.tar" if oci else "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST if oci else DOCKER_MANIFEST,
            "config": config,
            "layers": [layer_desc],
        }
        desc = self.manifest(repo, tag or _digest(json.dumps(manifest, indent=2).encode()), manifest)
        desc["platform"] = {"architecture": arch, "os": os_, **({"variant": variant} if variant else {})}
        return desc

    def index(self, repo, tag, children: list[dict], oci=True) -> dict:
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX if oci else DOCKER_LIST,
            "manifests": children,
        }
        return self.manifest(repo, tag, manifest)

    def multiarch(self, repo, tag, oci=True, salt="") -> dict:
        """An index of linux/amd64 + linux/arm64/v8; returns the index and child digests."""
        amd = self.image(repo, None, "amd64", oci=oci, salt=salt)
        arm = self.image(repo, None, "arm64", variant="v8", oci=oci, salt=salt)
        idx = self.index(repo, tag, [amd, arm], oci=oci)
        return {"index": idx["digest"], "amd64": amd["digest"], "arm64": arm["digest"]}


def push_test_images(base_url: str) -> dict:
    """The standard set used by the tests; returns names -> digests."""
    p = Pusher(base_url)
    out = {}
    m = p.multiarch("test/multi", "1.0")
    out.update({"multi": m["index"], "multi_amd64": m["amd64"], "multi_arm64": m["arm64"]})
    m = p.multiarch("test/list", "1.0", oci=False)
    out.update({"list": m["index"], "list_amd64": m["amd64"], "list_arm64": m["arm64"]})
    out["single"] = p.image("test/single", "1.0", oci=False)["digest"]
    out["oci_single"] = p.image("test/oci-single", "1.0")["digest"]
    out["latest"] = p.image("test/single", "latest", oci=False, salt="latest")["digest"]
    out["nginx"] = p.multiarch("library/nginx", "1.25")["index"]
    out["redis"] = p.image("bitnami/redis", "7", oci=False)["digest"]
    out["public"] = p.image("public/app", "1.0")["digest"]
    out["private"] = p.image("private/app", "1.0")["digest"]
    return out


# ---- a proxy that can misbehave ----------------------------------------------

_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "server", "date"}


class Proxy:
    """Forwards to `upstream`, counting requests; optional per-request delay,
    429s with Retry-After, HEAD refusal, and a wrong Docker-Content-Digest."""

    def __init__(self, upstream: str, delay: float = 0.0):
        self.upstream = upstream.rstrip("/")
        self.delay = delay
        self.count = 0
        self.methods: list[tuple[str, str]] = []
        self.refuse_head = None  # e.g. 405
        self.strip_digest = False
        self.fake_digest = None  # replace the Docker-Content-Digest header
        self.throttle = 0  # answer this many manifest requests with 429
        self.retry_after = "1"
        self.ratelimit_remaining = "0;w=21600"
        self._lock = threading.Lock()
        self._local = threading.local()
        self._conns: list = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                proxy._serve(self)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.host}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def _forward(self, method, path, headers, data):
        """Forward over a kept-alive http.client connection (cheaper than requests)."""
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            if conn is None:
                u = urlsplit(self.upstream)
                conn = self._local.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                with self._lock:
                    self._conns.append(conn)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                return resp.status, list(resp.getheaders()), body
            except (http.client.HTTPException, OSError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise

    def _serve(self, h: BaseHTTPRequestHandler):
        if h.path.startswith("/__proxy__/count"):  # control: not counted
            body = json.dumps({"count": self.count}).encode()
            if "reset" in h.path:
                with self._lock:
                    self.count = 0
                    self.methods.clear()
            return self._reply(h, 200, {"Content-Type": "application/json"}, body)
        with self._lock:
            self.count += 1
            self.methods.append((h.command, h.path))
        if self.delay:
            time.sleep(self.delay)
        manifest = "/manifests/" in h.path
        if manifest and self.throttle > 0:
            with self._lock:
                self.throttle -= 1
            return self._reply(h, 429, {"Retry-After": self.retry_after, "RateLimit-Remaining": self.ratelimit_remaining}, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}')
        if manifest and h.command == "HEAD" and self.refuse_head:
            return self._reply(h, self.refuse_head, {}, b"")
        length = int(h.headers.get("Content-Length") or 0)
        data = h.rfile.read(length) if length else None
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _HOP and k.lower() != "host"}
        headers["Accept-Encoding"] = "identity"
        status, resp_headers, body = self._forward(h.command, h.path, headers, data)
        resp_headers = requests.structures.CaseInsensitiveDict(resp_headers)
        out = {k: v for k, v in resp_headers.items() if k.lower() not in _HOP}
        if "Docker-Content-Digest" in out and manifest:
            if self.strip_digest:
                del out["Docker-Content-Digest"]
            elif self.fake_digest:
                out["Docker-Content-Digest"] = self.fake_digest
        if "Location" in out and out["Location"].startswith(self.upstream):
            out["Location"] = self.url + out["Location"][len(self.upstream):]
        if h.command == "HEAD":
            out["Content-Length"] = resp_headers.get("Content-Length", "0")
            return self._reply(h, status, out, None)
        return self._reply(h, status, out, body)

    @staticmethod
    def _reply(h, status, headers, body):
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if body is not None:
            h.send_header("Content-Length", str(len(body)))
        elif "Content-Length" not in headers:
            h.send_header("Content-Length", "0")
        h.end_headers()
        if body and h.command != "HEAD":
            h.wfile.write(body)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        for conn in self._conns:
            conn.close()


# ---- a server that accepts connections and never answers ---------------------


class Hang:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)  # connections complete in the backlog; nobody reads
        self.host = f"127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self):
        self.sock.close()


# ---- certificates, the token server, a TLS server ---------------------------


def make_cert(workdir: Path, name: str = "fixer-test"):
    """A self-signed RSA certificate: (key, cert, cert_path, key_path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = workdir / f"{name}.pem", workdir / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    return key, cert, cert_path, key_path


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Issues RS256 JWTs (x5c header) for distribution's token auth.

    Anonymous callers get pull on repositories under `public/`; users get pull
    and push everywhere; a wrong password gets 401. POST with
    grant_type=refresh_token accepts the refresh tokens in `refresh_tokens`.
    """

    def __init__(self, workdir: Path, users: dict[str, str], service="fixer-test", issuer="fixer-test-issuer"):
        from cryptography.hazmat.primitives import serialization

        self.key, cert, self.cert_path, _ = make_cert(workdir, "token-signer")
        self.x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        self.users = users
        self.refresh_tokens: dict[str, str] = {}
        self.service, self.issuer = service, issuer
        self.count = 0
        srv = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                q = parse_qs(urlsplit(self.path).query)
                srv._issue(self, q, self.headers.get("Authorization"))

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                user = srv.refresh_tokens.get((form.get("refresh_token") or [""])[0])
                if (form.get("grant_type") or [""])[0] != "refresh_token" or not user:
                    return srv._send(self, 401, {"error": "invalid_grant"})
                srv._issue(self, form, None, user=user)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def registry_auth(self) -> dict:
        return {
            "token": {
                "realm": self.realm,
                "service": self.service,
                "issuer": self.issuer,
                "rootcertbundle": str(self.cert_path),
            }
        }

    def _send(self, h, status, payload):
        body = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _issue(self, h, q, authorization, user=None):
        self.count += 1
        if authorization:
            try:
                scheme, raw = authorization.split(" ", 1)
                name, _, pw = base64.b64decode(raw).decode().partition(":")
            except ValueError:
                return self._send(h, 401, {"error": "bad auth"})
            if scheme.lower() != "basic" or self.users.get(name) != pw:
                return self._send(h, 401, {"error": "invalid credentials"})
            user = name
        access = []
        for scope in q.get("scope", []):
            for one in scope.split(" "):
                parts = one.split(":")
                if len(parts) != 3 or parts[0] != "repository":
                    continue
                wanted = parts[2].split(",")
                if user:
                    granted = wanted
                else:
                    granted = ["pull"] if parts[1].startswith("public/") and "pull" in wanted else []
                access.append({"type": "repository", "name": parts[1], "actions": granted})
        self._send(h, 200, {"token": (t := self._jwt(user or "", access)), "access_token": t, "expires_in": 300})

    def _jwt(self, subject: str, access: list) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": self.service,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64url(sig)}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class TLSServer:
    """HTTPS with a self-signed certificate: certificate verification must fail."""

    def __init__(self, workdir: Path):
        import ssl

        _, _, cert_path, key_path = make_cert(workdir, "tls-server")

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_HEAD = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def htpasswd_file(path: Path, users: dict[str, str]) -> Path:
    path = Path(path)
    if path.exists():
        path.unlink()
    for i, (user, pw) in enumerate(users.items()):
        flags = "-Bbc" if i == 0 else "-Bb"
        subprocess.run([HTPASSWD_BIN, flags, str(path), user, pw], check=True, capture_output=True)
    return path


def write_docker_config(directory: Path, config: dict) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps(config))
    return directory


def basic_auth_entry(user: str, pw: str) -> dict:
    return {"auth": base64.b64encode(f"{user}:{pw}".encode()).decode()}


def credential_helper(directory: Path, name: str, servers: dict[str, tuple[str, str]]) -> Path:
    """Writes docker-credential-<name> answering `get` for the given servers."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    table = {k: {"ServerURL": k, "Username": u, "Secret": s} for k, (u, s) in servers.items()}
    script = directory / f"docker-credential-{name}"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"TABLE = {json.dumps(table)!r}\n"
        "if sys.argv[1:] != ['get']:\n    sys.exit(1)\n"
        "server = sys.stdin.read().strip()\n"
        "entry = json.loads(TABLE).get(server)\n"
        "if not entry:\n    print('credentials not found in native keychain'); sys.exit(1)\n"
        "print(json.dumps(entry))\n"
    )
    script.chmod(0o755)
    return directory


def _serve_proxy_main(argv):
    """python regtools.py proxy UPSTREAM DELAY: a proxy in its own process
    (so it does not share the interpreter lock with the client being measured)."""
    proxy = Proxy(argv[0], delay=float(argv[1]))
    print(proxy.url, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        proxy.stop()


class ProxyProcess:
    def __init__(self, upstream: str, delay: float = 0.0):
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "proxy", upstream, str(delay)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = self.proc.stdout.readline().strip()
        if not self.url:
            raise RuntimeError("proxy process did not start")
        self.host = self.url.split("://", 1)[1]

    @property
    def count(self) -> int:
        return requests.get(f"{self.url}/__proxy__/count", timeout=5).json()["count"]

    def reset(self) -> None:
        requests.get(f"{self.url}/__proxy__/count?reset=1", timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


if __name__ == "__main__" and sys.argv[1:2] == ["proxy"]:
    _serve_proxy_main(sys.argv[2:])
