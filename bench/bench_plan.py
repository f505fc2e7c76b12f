"""Benchmark `fixer plan` on generated repositories: wall time and peak memory.

    python bench/bench_plan.py                 # 2,000 and 20,000 Dockerfiles
    python bench/bench_plan.py --sizes 500 --keep /tmp/bench

Each repository has N Dockerfiles (eight families of near-duplicates with per-service
differences, which dockerfile-consolidate merges) and N/4 compose files building them.
fixer runs offline in a child process. Peak memory is that of the whole process tree
(fixer, a forked copy, the BuildKit parser children): the resident sets of all its
processes, read from /proc every 50 ms and added up. By default fixer forks a copy for
half of the file-by-file work (pages shared with the parent count in both): `--jobs 1`
runs one process.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASES = ["python:3.12-slim", "node:20-alpine", "debian:12-slim", "alpine:3.20", "golang:1.22",
         "ruby:3.3-slim", "ubuntu:24.04", "nginx:1.27-alpine"]       # eight families


def dockerfile(i: int) -> str:
    base = BASES[i % len(BASES)]
    lines = [f"# service {i}", f"FROM {base}", "WORKDIR /app"]
    if "alpine" in base:
        lines.append("RUN apk add curl")
    elif "slim" in base or "debian" in base:
        lines.append("RUN apt-get update && apt-get install -y curl")
    if i % 7 == 0:
        lines.append("MAINTAINER ops <ops@example.com>")
    lines += [f"COPY service-{i}/ /app/", f"ENV SERVICE_ID={i}", f"EXPOSE {8000 + i % 100}",
              f'CMD ["/app/run", "--id", "{i}"]']
    return "\n".join(lines) + "\n"


def compose(i: int) -> str:
    return (f"# stack {i}\nservices:\n  app:\n    build: ../../services/svc-{i}\n    ports:\n      - \"{8000 + i % 100}:8000\"\n"
            f"    environment:\n      LOG_LEVEL: info\n    depends_on: [db]\n"
            f"  db:\n    image: postgres:16\n    volumes:\n      - data:/var/lib/postgresql/data\n"
            f"volumes:\n  data: {{}}\n")


def generate(root: Path, n: int) -> None:
    for i in range(n):
        d = root / "services" / f"svc-{i}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "Dockerfile").write_text(dockerfile(i))
    for i in range(n // 4):
        d = root / "stacks" / f"stack-{i}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "docker-compose.yml").write_text(compose(i))


def tree_rss_kb(pid: int) -> int:
    """Resident set sizes of `pid` and all its descendants, added up (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, ()))
        try:
            with open(f"/proc/{p}/status") as f:
                total += next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            pass
    return total


def run(root: Path, extra: list[str]) -> tuple[float, float, int]:
    """Wall time, peak MB of the process tree, size of the JSON plan."""
    env = dict(os.environ, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="fixer-bench-cache-"))
    if os.environ.get("BENCH_JOBS"):
        env["FIXER_JOBS"] = os.environ["BENCH_JOBS"]
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "fixer.cli", "plan", str(root), "--offline",
                             "--format", "json", *extra], stdout=out, stderr=err, env=env)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss_kb(proc.pid))
        time.sleep(0.05)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        err.seek(0)
        raise SystemExit(err.read().decode()[-2000:])
    return wall, peak / 1024, out.tell()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--keep", type=Path, help="generate under this directory and keep it")
    ap.add_argument("--only", default="", help="pass --only to fixer")
    ap.add_argument("--jobs", default="", help="FIXER_JOBS for the run (1: one process; the peak is "
                                               "then all the memory fixer uses)")
    args = ap.parse_args()
    extra = ["--only", args.only] if args.only else []
    if args.jobs:
        os.environ["BENCH_JOBS"] = args.jobs
    print(f"{'dockerfiles':>11} {'compose':>8} {'files':>6} {'wall s':>8} {'ms/file':>8} {'peak MB':>8} "
          f"{'x time':>7}")
    first = None
    for n in args.sizes:
        base = args.keep or Path(tempfile.mkdtemp(prefix="fixer-bench-"))
        root = base / f"repo-{n}"
        if not root.exists():
            generate(root, n)
        files = n + n // 4
        wall, peak, _ = run(root, extra)
        first = first or wall
        print(f"{n:>11} {n // 4:>8} {files:>6} {wall:>8.2f} {1000 * wall / files:>8.2f} {peak:>8.0f} "
              f"{wall / first:>7.1f}", flush=True)


if __name__ == "__main__":
    main()
