"""Hosts a mounted config file sends traffic to: nginx `proxy_pass`/`upstream` servers,
Caddy `reverse_proxy`, Prometheus scrape targets, Grafana datasource URLs.

nginx and Caddyfiles are read with a small tokenizer (quotes, comments, braces); YAML
with the YAML parser. Any other text counts only URLs and `host:port` words.
"""
from __future__ import annotations

import functools
import posixpath
import re
from urllib.parse import urlsplit

import yaml

# nginx directives whose argument is an address
_NGINX = {"proxy_pass", "fastcgi_pass", "uwsgi_pass", "grpc_pass", "scgi_pass", "memcached_pass"}
_CADDY = {"reverse_proxy", "php_fastcgi", "to"}
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|(#[^\n]*)|([{};])|([^\s{};"\'#]+)')


def tokens(text: str) -> list[str]:
    """Words and `{`, `}`, `;` of an nginx config or Caddyfile (quotes removed, comments dropped)."""
    out = []
    for m in _TOKEN.finditer(text):
        if m.group(3):
            continue
        out.append(next(g for g in (m.group(1), m.group(2), m.group(4), m.group(5)) if g is not None))
    return out


def address_host(word: str) -> str | None:
    """Host of `http://api:8000/x`, `api:8000`, `unix:/x` (None), `h2c://grpc:50051`."""
    if word.startswith("unix:") or "$" in word:
        return None
    if "://" in word:
        try:
            return urlsplit(word).hostname
        except ValueError:
            return None
    host = word.split("/")[0].rsplit(":", 1)[0] if ":" in word.split("/")[0] else word.split("/")[0]
    return host or None


def nginx_hosts(text: str) -> list[str]:
    toks, out, upstream = tokens(text), [], 0
    depth = 0
    for i, t in enumerate(toks):
        if t == "{":
            depth += 1
        elif t == "}":
            depth -= 1
            if upstream and depth < upstream:
                upstream = 0
        elif t == "upstream" and i + 2 < len(toks) and toks[i + 2] == "{":
            upstream = depth + 1
        elif i + 1 < len(toks) and (t in _NGINX or (upstream and t == "server" and i and toks[i - 1] in "{;}")):
            h = address_host(toks[i + 1])
            if h:
                out.append(h)
    return out


def caddy_hosts(text: str) -> list[str]:
    toks, out = tokens(text.replace("\n", " ;\n")), []
    i = 0
    while i < len(toks):
        if toks[i] in _CADDY:
            j = i + 1
            while j < len(toks) and toks[j] not in ("{", ";", "}"):
                h = address_host(toks[j])
                if h and not toks[j].startswith(("@", "/")):
                    out.append(h)
                j += 1
            i = j
        else:
            i += 1
    return out


def _walk(data):
    if isinstance(data, dict):
        for v in data.values():
            yield from _walk(v)
    elif isinstance(data, list):
        for v in data:
            yield from _walk(v)
    elif isinstance(data, str):
        yield data


def yaml_hosts(text: str) -> list[str]:
    """Prometheus (`static_configs.targets`, alertmanagers, remote_write), Grafana
    datasources (`url`), and URLs or `host:port` values of any other YAML."""
    try:
        docs = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    except yaml.YAMLError:
        return []
    out = []
    for doc in docs:
        for s in _walk(doc):
            s = s.strip()
            if " " in s or not s:
                continue
            if "://" in s or (":" in s and _HOST_PORT.fullmatch(s)):
                h = address_host(s)
                if h:
                    out.append(h)
    return out


_HOST_PORT = re.compile(r"[A-Za-z0-9_.-]+:\d+")
_NAME_PORT = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*:\d+/?")
_WORD_SEP = re.compile(r"[\s\"'=,;()<>]+")


def text_hosts(text: str) -> list[str]:
    out = []
    for w in _WORD_SEP.split(text):
        if ":" in w and ("://" in w or _NAME_PORT.fullmatch(w)):
            h = address_host(w)
            if h:
                out.append(h)
    return out


@functools.lru_cache(maxsize=128)
def config_hosts(path: str, text: str) -> tuple[str, ...]:
    """Hosts a config file names, read the way its program reads it (a folder mounted
    into several services is read once)."""
    return tuple(_config_hosts(path, text))


def _config_hosts(path: str, text: str) -> list[str]:
    name = posixpath.basename(path).lower()
    if not text:
        return []
    if "caddyfile" in name:
        return caddy_hosts(text)
    if name.endswith((".yml", ".yaml")):
        return yaml_hosts(text)
    if name.endswith(".conf") or "nginx" in name or "proxy_pass" in text:
        # a URL anywhere in a directive (`set $api http://api:8000;`), comments dropped
        return nginx_hosts(text) + [h for t in tokens(text) if "://" in t and (h := address_host(t))]
    return text_hosts(text)
