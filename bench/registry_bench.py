"""Resolve many unique references through a slow proxy, cold then warm.

Starts the local `docker-registry` (apt-get install docker-registry), pushes
N tags, puts a proxy adding DELAY per request in front of it and resolves
every tag with the Resolver. Run from the repository root:

    python bench/registry_bench.py [--refs 500] [--delay 0.02] [--concurrency 8]
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "registry"))

import regtools as rt  # noqa: E402

from fixer.registry import Resolver  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--refs", type=int, default=500)
    ap.add_argument("--delay", type=float, default=0.02, help="seconds the proxy adds per request")
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    if not rt.REGISTRY_BIN:
        print("docker-registry is not installed (apt-get install docker-registry)", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="fixer-bench-") as tmp:
        tmp = Path(tmp)
        reg = rt.RegistryProcess(tmp / "registry", tmp / "storage").start()
        proxy = None
        try:
            pusher = rt.Pusher(reg.url)
            images = [pusher.multiarch("bench/app", "base", salt=str(i)) for i in range(4)]
            t0 = time.monotonic()
            tags = [f"t{i}" for i in range(args.refs)]

            def tag(i):
                # many tags share a few manifests; every reference is unique
                pusher.manifest("bench/app", tags[i], {
                    "schemaVersion": 2,
                    "mediaType": rt.OCI_INDEX,
                    "manifests": _children(pusher, images[i % len(images)]),
                })

            with ThreadPoolExecutor(16) as pool:
                list(pool.map(tag, range(args.refs)))
            print(f"pushed {args.refs} tags in {time.monotonic() - t0:.1f} s")

            proxy = rt.ProxyProcess(reg.url, delay=args.delay)
            refs = [(f"{proxy.host}/bench/app:{t}", None) for t in tags]
            cache = tmp / "cache"

            cold = Resolver(cache_dir=cache, concurrency=args.concurrency, progress=False)
            t0 = time.monotonic()
            got = cold.resolve_many(refs)
            wall = time.monotonic() - t0
            failed = [r for r in got.values() if not r.ok]
            bound = math.ceil(args.refs / args.concurrency) * args.delay
            print(
                f"cold: {args.refs} references in {wall:.2f} s; lower bound "
                f"ceil({args.refs}/{args.concurrency}) x {args.delay * 1000:.0f} ms = {bound:.2f} s; "
                f"{proxy.count} requests at the proxy, {cold.requests_made} made by the resolver "
                f"(one more: the https probe of a loopback host); "
                f"{len(failed)} failed"
            )
            if failed:
                print("first failure:", failed[0].reason)

            proxy.reset()
            warm = Resolver(cache_dir=cache, concurrency=args.concurrency, progress=False)
            t0 = time.monotonic()
            got = warm.resolve_many(refs)
            wall = time.monotonic() - t0
            ok = sum(r.ok for r in got.values())
            print(
                f"warm: {ok}/{args.refs} references from the cache in {wall * 1000:.0f} ms; "
                f"{proxy.count} requests at the proxy, {warm.requests_made} made by the resolver"
            )
            warm_requests = proxy.count
            return 0 if not failed and warm_requests == 0 and warm.requests_made == 0 else 1
        finally:
            if proxy:
                proxy.stop()
            reg.stop()


def _children(pusher, image):
    # descriptors of the two children, fetched once per image
    key = image["index"]
    if key not in _children.cache:
        import json

        r = pusher.session.get(
            f"{pusher.base}/v2/bench/app/manifests/{key}", headers={"Accept": rt.OCI_INDEX}, timeout=10
        )
        _children.cache[key] = json.loads(r.content)["manifests"]
    return _children.cache[key]


_children.cache = {}

if __name__ == "__main__":
    sys.exit(main())
