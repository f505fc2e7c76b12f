"""Records kept until the report, packed.

A run keeps every codemod's findings, skips and changed texts until it prints or commits
them. On tens of thousands of files that is most of the memory it uses, so once settled
they are packed: pickled and compressed in batches (texts of one codemod are much alike
and compress well). Reading them back is sequential and cheap; only records not yet
packed can be removed.
"""
from __future__ import annotations

import pickle
import zlib
from typing import Any, Iterable, Iterator

BATCH = 256      # records per packed batch


def _pack(obj) -> bytes:
    return zlib.compress(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(blob: bytes):
    return pickle.loads(zlib.decompress(blob))


class PackedList:
    """A list whose settled items are packed: append, extend (+=), len, iteration,
    indexing; remove only of items not yet packed."""

    def __init__(self, items: Iterable = ()):
        self._blobs: list[bytes] = []
        self._packed = 0
        self._tail: list = list(items)

    def append(self, item) -> None:
        self._tail.append(item)

    def extend(self, items: Iterable) -> None:
        self._tail.extend(items)

    def __iadd__(self, items: Iterable) -> "PackedList":
        self._tail.extend(items)
        return self

    def remove(self, item) -> None:
        self._tail.remove(item)

    def __len__(self) -> int:
        return self._packed + len(self._tail)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __iter__(self) -> Iterator:
        for blob in self._blobs:
            yield from _unpack(blob)
        yield from self._tail

    def __getitem__(self, i):
        return list(self)[i]

    def __eq__(self, other) -> bool:
        return isinstance(other, (list, PackedList)) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"PackedList({list(self)!r})"

    def __reduce__(self):
        return (PackedList, (list(self),))

    def pack(self) -> None:
        """Pack the items added since the last pack, once there are enough of them, BATCH
        to a batch (reading one back never unpacks more)."""
        if len(self._tail) >= BATCH:
            for i in range(0, len(self._tail), BATCH):
                self._blobs.append(_pack(self._tail[i:i + BATCH]))
            self._packed += len(self._tail)
            self._tail = []


class PackedDict:
    """A dict whose settled values are packed; keys stay in memory, in insertion order
    (items() gives stored order). Setting a packed key again keeps the new value (the
    packed one is not read again)."""

    def __init__(self, items: dict | None = None):
        self._where: dict[Any, int] = {}       # key -> batch number, -1: not packed
        self._blobs: list[bytes] = []
        self._tail: dict = {}
        self._open: tuple[int, dict] = (-1, {})  # the batch read last
        for k, v in (items or {}).items():
            self[k] = v

    def __setitem__(self, key, value) -> None:
        self._tail[key] = value
        self._where[key] = -1

    def __getitem__(self, key):
        n = self._where[key]
        if n < 0:
            return self._tail[key]
        if self._open[0] != n:
            self._open = (n, _unpack(self._blobs[n]))
        return self._open[1][key]

    def get(self, key, default=None):
        return self[key] if key in self._where else default

    def __contains__(self, key) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __bool__(self) -> bool:
        return bool(self._where)

    def keys(self):
        return self._where.keys()

    def items(self) -> Iterator[tuple]:
        """In stored order (batch after batch, each in key order), each batch unpacked once."""
        for n, blob in enumerate(self._blobs):
            for key, value in _unpack(blob).items():
                if self._where.get(key) == n:
                    yield key, value
        yield from list(self._tail.items())

    def values(self) -> Iterator:
        for _, v in self.items():
            yield v

    def __eq__(self, other) -> bool:
        return isinstance(other, (dict, PackedDict)) and dict(self.items()) == dict(other.items())

    def __repr__(self) -> str:
        return f"PackedDict({dict(self.items())!r})"

    def __reduce__(self):
        return (PackedDict, (dict(self.items()),))

    def pack(self) -> None:
        """Pack the values set since the last pack, BATCH to a batch in key order (the
        report reads them in key order: one batch unpacked at a time)."""
        if len(self._tail) >= BATCH:
            entries = sorted(self._tail.items(), key=lambda kv: str(kv[0]))
            for i in range(0, len(entries), BATCH):
                n = len(self._blobs)
                chunk = dict(entries[i:i + BATCH])
                self._blobs.append(_pack(chunk))
                for key in chunk:
                    self._where[key] = n
            self._tail = {}
