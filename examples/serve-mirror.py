"""Serve a local registry mirror with stand-in images for the example's references.

    python examples/serve-mirror.py            # needs `apt-get install docker-registry`

It starts the CNCF registry on 127.0.0.1, pushes small multi-architecture stand-in
images for every image the bundled example uses (Docker Hub and ghcr.io), prints the
`fixer plan` command that pins through it, and serves until Ctrl-C. The command uses a
cache directory of its own: the stand-in digests never reach the user's cache (which also
keys every digest by the endpoint that answered).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.registry.regtools import Pusher, RegistryProcess  # noqa: E402

HUB = ["library/nginx:latest", "library/postgres:16", "library/redis:7-alpine",
       "library/python:3.12-slim"]
GHCR = ["example/bot:latest", "example/api:1.4.2"]


def command(repo: Path, hub_url: str, ghcr_url: str, cache_dir: Path) -> list[str]:
    """The `fixer plan` command that pins the example through the mirrors, with the
    demo's own cache directory."""
    return ["fixer", "plan", str(repo), "--only", "pin-image-digest",
            "--registry-mirror", f"docker.io={hub_url}", "--registry-mirror", f"ghcr.io={ghcr_url}",
            "--cache-dir", str(cache_dir)]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fixer-mirror-"))
    hub = RegistryProcess(work / "hub", work / "hub-data").start()
    ghcr = RegistryProcess(work / "ghcr", work / "ghcr-data").start()
    for reg, refs in ((hub, HUB), (ghcr, GHCR)):
        p = Pusher(reg.url)
        for ref in refs:
            repo, tag = ref.split(":")
            p.multiarch(repo, tag, salt=ref)
    here = Path(__file__).resolve().parent / "audit-repo"
    print("mirror ready; in another terminal run:\n")
    print("  " + " ".join(command(here, hub.url, ghcr.url, work / "cache")) + "\n", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        hub.stop()
        ghcr.stop()


if __name__ == "__main__":
    main()
