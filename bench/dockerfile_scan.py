"""Scanner counts before and after fixer on a folder of real Dockerfiles.

    python bench/dockerfile_scan.py collect MIRROR_GIT_DIR... --out DIR
    python bench/dockerfile_scan.py scan DIR [--checkov PATH]

`collect` copies Dockerfiles and compose files out of git directories (nothing is kept in
this repository). `scan` copies DIR, runs fixer's Dockerfile codemods on the copy, and runs
hadolint and checkov on both trees. A finding is new when a file has more findings of a code
after the fix than before.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_DOCKERFILE = re.compile(r"(^|/)(Dockerfile|Containerfile)[^/]*$|\.[Dd]ockerfile$")
_COMPOSE = re.compile(r"(^|/)(docker-)?compose[^/]*\.ya?ml$")
CODEMODS = ["dockerfile-add-to-copy", "dockerfile-pip-no-cache", "dockerfile-apt-hygiene",
            "dockerfile-apk-no-cache", "dockerfile-exec-form", "dockerfile-maintainer",
            "dockerfile-user", "dockerfile-healthcheck"]
HADOLINT = str(Path(sys.executable).parent / "hadolint")


def collect(gitdirs: list[str], out: Path) -> int:
    n = 0
    for gd in gitdirs:
        repo = Path(gd).parent.name.replace("+", "__")
        names = subprocess.run(["git", "--git-dir", gd, "ls-tree", "-r", "--name-only", "HEAD"],
                               capture_output=True, text=True, check=True).stdout.splitlines()
        for name in names:
            is_df = bool(_DOCKERFILE.search(name))
            if not (is_df or _COMPOSE.search(name)):
                continue
            data = subprocess.run(["git", "--git-dir", gd, "show", f"HEAD:{name}"],
                                  capture_output=True, check=True).stdout
            dest = out / repo / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
            n += is_df
    return n


def dockerfiles(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and _DOCKERFILE.search(p.relative_to(root).as_posix()))


def hadolint(root: Path) -> collections.Counter:
    counts: collections.Counter = collections.Counter()
    for p in dockerfiles(root):
        r = subprocess.run([HADOLINT, "--format", "json", "--no-fail", str(p)], capture_output=True, text=True)
        try:
            found = json.loads(r.stdout or "[]")
        except json.JSONDecodeError:
            continue
        for f in found:
            counts[(p.relative_to(root).as_posix(), f["code"])] += 1
    return counts


def checkov(root: Path, exe: str) -> collections.Counter:
    r = subprocess.run([exe, "-d", str(root), "--framework", "dockerfile", "--skip-download", "-o", "json",
                        "--quiet"], capture_output=True, text=True)
    data = json.loads(r.stdout or "[]")
    counts: collections.Counter = collections.Counter()
    for report in data if isinstance(data, list) else [data]:
        for f in report.get("results", {}).get("failed_checks", []):
            path = f["file_path"].lstrip("/")
            counts[(path, f["check_id"])] += 1
    return counts


def run_fixer(root: Path) -> dict:
    from fixer import config, runner
    from fixer.discovery import WorkTree
    from fixer.writer import write_changes

    s = config.load(root)
    s.only = CODEMODS
    s.offline = True
    result = runner.run(WorkTree(root, use_git=False), s, root=root)
    write_changes(root, result)
    fixed = collections.Counter(cs.codemod.id for cs in result.changesets for f in cs.fixed)
    skipped = collections.Counter(cs.codemod.id for cs in result.changesets for _ in cs.skips)
    dropped = [f.note for cs in result.changesets for f in cs.findings if f.status == "dropped"]
    return {"fixed": dict(fixed), "skipped": dict(skipped), "dropped": dropped, "errors": result.errors}


def compare(before: collections.Counter, after: collections.Counter) -> dict:
    """Counts before/after; new findings per code, leaving out files the scanner could not
    parse before (DL1000: their findings were hidden, not absent)."""
    unparsed = {p for (p, c) in before if c == "DL1000"}
    new = collections.Counter()
    gone = collections.Counter()
    for key in set(before) | set(after):
        if key[0] in unparsed:
            continue
        d = after[key] - before[key]
        if d > 0:
            new[key[1]] += d
        elif d < 0:
            gone[key[1]] -= d
    return {"before": sum(before.values()), "after": sum(after.values()),
            "resolved_by_code": dict(gone.most_common()), "new_by_code": dict(new.most_common()),
            "new": sum(new.values()),
            "unparsed_before": sorted(unparsed),
            "unparsed_after": sorted({p for (p, c) in after if c == "DL1000"}),
            "new_where": sorted(f"{p}: {c}" for (p, c) in after
                                if after[(p, c)] > before[(p, c)] and p not in unparsed)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("collect")
    c.add_argument("gitdirs", nargs="+")
    c.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("scan")
    s.add_argument("dir", type=Path)
    s.add_argument("--checkov", default="")
    args = ap.parse_args(argv)
    if args.cmd == "collect":
        print(f"{collect(args.gitdirs, args.out)} Dockerfiles in {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        after_dir = Path(tmp) / "after"
        shutil.copytree(args.dir, after_dir)
        fix = run_fixer(after_dir)
        out = {"dockerfiles": len(dockerfiles(args.dir)), "fixer": fix,
               "hadolint": compare(hadolint(args.dir), hadolint(after_dir))}
        if args.checkov:
            out["checkov"] = compare(checkov(args.dir, args.checkov), checkov(after_dir, args.checkov))
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
