"""Benchmark `fixer plan` on generated repositories: wall time and peak memory.

    python bench/bench_plan.py                 # 2,000 and 20,000 Dockerfiles
    python bench/bench_plan.py --sizes 500 --keep /tmp/bench

Each repository has N Dockerfiles (a few families of near-duplicates with per-service
differences) and N/4 compose files. fixer runs offline in a child process; peak memory
is the largest resident set size among its processes. By default fixer forks a copy for
half of the file-by-file work (pages shared with the parent count in both): `--jobs 1`
runs one process, whose peak is then all the memory fixer uses.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASES = ["python:3.12-slim", "node:20-alpine", "debian:12-slim", "alpine:3.20", "golang:1.22"]


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
    return (f"# stack {i}\nservices:\n  app:\n    build: ../svc-{i}\n    ports:\n      - \"{8000 + i % 100}:8000\"\n"
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


def run(root: Path, extra: list[str]) -> tuple[float, float, int]:
    t = time.perf_counter()
    env = dict(os.environ, XDG_CACHE_HOME=tempfile.mkdtemp(prefix="fixer-bench-cache-"))
    if os.environ.get("BENCH_JOBS"):
        env["FIXER_JOBS"] = os.environ["BENCH_JOBS"]
    proc = subprocess.run([sys.executable, "-m", "fixer.cli", "plan", str(root), "--offline",
                           "--format", "json", *extra], capture_output=True, env=env)
    wall = time.perf_counter() - t
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if proc.returncode not in (0, 1):
        raise SystemExit(proc.stderr.decode()[-2000:])
    return wall, peak_mb, len(proc.stdout)


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
    print(f"{'dockerfiles':>11} {'compose':>8} {'files':>6} {'wall s':>8} {'ms/file':>8} {'peak MB':>8}")
    for n in args.sizes:
        base = args.keep or Path(tempfile.mkdtemp(prefix="fixer-bench-"))
        root = base / f"repo-{n}"
        if not root.exists():
            generate(root, n)
        files = n + n // 4
        # each size in its own process so ru_maxrss is that run's peak
        code = ("import sys, resource; from pathlib import Path; sys.argv=['x']; "
                "from bench.bench_plan import run; "
                f"w, m, _ = run(Path({str(root)!r}), {extra!r}); print(w, m)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent.parent)
        if out.returncode:
            raise SystemExit(out.stderr)
        wall, peak = map(float, out.stdout.split())
        print(f"{n:>11} {n // 4:>8} {files:>6} {wall:>8.2f} {1000 * wall / files:>8.2f} {peak:>8.0f}")


if __name__ == "__main__":
    main()
