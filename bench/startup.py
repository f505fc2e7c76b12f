"""Start-up time of `fixer check DIR` on a repository with one compose file.

    python bench/startup.py [--runs 15]

Creates the repository in a temporary directory, runs the installed `fixer` (the one
next to this Python) N times and prints the median and best wall time in seconds: once as
an installed package runs (Python's bytecode cache written and used, as `pip install`
leaves it), once with PYTHONDONTWRITEBYTECODE=1 (every module compiled at each start).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMPOSE = "services:\n  web:\n    image: nginx:1.25\n    restart: unless-stopped\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    fixer = Path(sys.executable).with_name("fixer")
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp)
        (repo / "compose.yaml").write_text(COMPOSE)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
        cmd = [str(fixer), "check", str(repo)]
        cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        # no cache: bytecode looked up in an empty folder and never written
        nocache = dict(cached, PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=str(repo / "no-pycache"))
        for label, env in (("bytecode cached", cached), ("no bytecode cache", nocache)):
            subprocess.run(cmd, capture_output=True, env=env)   # warm: bytecode, compiled schemas, page cache
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, env=env)
                times.append(time.perf_counter() - t0)
                if r.returncode not in (0, 1):
                    sys.exit(f"fixer check failed ({r.returncode}): {r.stderr.decode()[-500:]}")
            print(f"fixer check on one compose file ({label}): median {statistics.median(times):.3f} s, "
                  f"best {min(times):.3f} s over {args.runs} runs")

if __name__ == "__main__":
    main()
