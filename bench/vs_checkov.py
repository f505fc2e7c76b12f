"""`fixer plan` and checkov side by side on real repositories, in one run.

    python bench/vs_checkov.py /tmp/repos/* --checkov /tmp/checkov-venv/bin/checkov

For each repository: `fixer plan DIR --offline --format json` and
`checkov -d DIR --framework dockerfile kubernetes github_actions --skip-download -o json
--quiet`, one after the other (same machine, same cache state). Prints the number of
infrastructure files fixer finds (Dockerfiles, compose files, Kubernetes manifests, Helm
templates and values, workflows), both wall times and checkov's time over fixer's. The
overall row adds the times; the last row is one checkov run over all the repositories
(`-d` once per repository), against the sum of fixer's runs. checkov is installed apart
from fixer (`pip install checkov` in its own virtual environment).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from compiled import compile_fixer  # bench/compiled.py (this script's folder is on sys.path)

from fixer import discovery as disc

INFRA = {disc.DOCKERFILE, disc.COMPOSE, disc.K8S, disc.HELM, disc.HELM_VALUES, disc.WORKFLOW}


def infra_files(root: Path) -> int:
    """Files fixer classifies as infrastructure (as `fixer plan` does, by name then text)."""
    entries = [(p, m) for p, m, _ in disc.WorkTree(root).entries() if m != "120000"]
    charts = disc.chart_dirs_of([p for p, _ in entries])
    count = 0
    for path, _ in entries:
        kind = disc.name_kind(path, charts)
        if kind is None:
            try:
                kind = disc.content_kind((root / path).read_text("utf-8", "replace"))
            except OSError:
                continue
        count += kind in INFRA
    return count


def timed(cmd: list[str], ok: tuple[int, ...]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr.decode()[-1500:]}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("repos", type=Path, nargs="+", help="repository directories")
    ap.add_argument("--checkov", default=shutil.which("checkov") or "/tmp/checkov-venv/bin/checkov")
    args = ap.parse_args()
    fixer = [sys.executable, "-m", "fixer.cli", "plan"]
    compile_fixer()     # as `pip install` leaves a package (the other tools have theirs)
    checkov_flags = ["--framework", "dockerfile", "kubernetes", "github_actions", "--skip-download",
                     "-o", "json", "--quiet"]
    print(f"{'repository':<24} {'infra files':>11} {'fixer s':>8} {'checkov s':>9} {'ratio':>6}")
    total = [0, 0.0, 0.0]
    for root in args.repos:
        files = infra_files(root)
        f = timed([*fixer, str(root), "--offline", "--format", "json"], ok=(0, 1))
        c = timed([args.checkov, "-d", str(root), *checkov_flags], ok=(0, 1))
        total[0] += files
        total[1] += f
        total[2] += c
        print(f"{root.name:<24} {files:>11} {f:>8.2f} {c:>9.2f} {c / f:>6.1f}", flush=True)
    files, f, c = total
    print(f"{'overall':<24} {files:>11} {f:>8.2f} {c:>9.2f} {c / f:>6.1f}")
    dirs = [a for root in args.repos for a in ("-d", str(root))]
    once = timed([args.checkov, *dirs, *checkov_flags], ok=(0, 1))
    print(f"{'checkov in one run':<24} {files:>11} {f:>8.2f} {once:>9.2f} {once / f:>6.1f}")


if __name__ == "__main__":
    main()
