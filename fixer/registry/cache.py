"""On-disk cache of reference -> digest, one JSON file in the user cache dir.

Every entry is keyed by the endpoint that answered (the registry host, or the mirror's
URL), so digests a mirror served are never used for a direct look-up, nor the other way
round. Files of an older version, whose entries do not say where they came from, are
ignored and replaced on the next save.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger("fixer.registry")

FILE_NAME = "registry-cache.json"
VERSION = 2   # 1: entries without the endpoint that answered (never trusted)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "fixer"


def entry_key(key: str, source: str) -> str:
    """Where an entry is stored: the reference key (normalised reference, plus platform
    where relevant) and the endpoint that answered."""
    return f"{key}|via:{source}"


class DigestCache:
    """Maps (key, source) to an entry: {"digest", "media_type", "is_index", "platforms",
    "time"}. `source` names the endpoint that answered (see Resolver.source)."""

    def __init__(self, cache_dir=None, ttl: float = 86400):
        self.dir = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
        self.path = self.dir / FILE_NAME
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries = self._read()
        self._dirty: dict[str, dict] = {}

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            log.warning("ignoring unreadable cache file %s", self.path)
            return {}
        if not isinstance(data, dict) or data.get("version") != VERSION:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def get(self, key: str, source: str, allow_stale: bool = False) -> dict | None:
        """The entry, or None when missing or older than the TTL (unless allow_stale).

        Keys pinned by digest never expire: their content cannot change.
        """
        with self._lock:
            entry = self._entries.get(entry_key(key, source))
        if not isinstance(entry, dict) or not entry.get("digest"):
            return None
        age = time.time() - float(entry.get("time", 0))
        if age > self.ttl and not allow_stale and "@" not in key.split("|")[0]:
            return None
        return dict(entry, age=age)

    def put(self, key: str, source: str, **entry) -> None:
        entry["time"] = time.time()
        entry["source"] = source
        with self._lock:
            self._entries[entry_key(key, source)] = entry
            self._dirty[entry_key(key, source)] = entry

    def save(self) -> None:
        """Merge our new entries into the file and replace it atomically."""
        with self._lock:
            if not self._dirty:
                return
            dirty = dict(self._dirty)
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
                entries = self._read()
                entries.update(dirty)
                fd, tmp = tempfile.mkstemp(prefix=".registry-cache-", suffix=".tmp", dir=self.dir)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8") as fh:
                        json.dump({"version": VERSION, "entries": entries}, fh, indent=0, sort_keys=True)
                    os.replace(tmp, self.path)
                except BaseException:
                    try:
                        os.unlink(tmp)
                    except OSError:
                        pass
                    raise
            except OSError as exc:
                log.warning("could not write cache %s (%s)", self.path, exc.strerror or type(exc).__name__)
                return
            self._entries.update(entries)
            self._dirty.clear()
