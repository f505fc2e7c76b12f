"""Golden cases: golden/<codemod>/<case>/input/… is fixed and compared with expected/….

Regenerate expected trees for review:  python -m fixer.golden --update [codemod …]
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

from . import config, runner
from .discovery import WorkTree
from .writer import write_changes

GOLDEN = Path(__file__).resolve().parent.parent / "golden"


def cases(root: Path = GOLDEN, only: list[str] | None = None) -> list[Path]:
    out = []
    for cm_dir in sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []:
        if only and cm_dir.name not in only:
            continue
        out += sorted(p for p in cm_dir.iterdir() if (p / "input").is_dir())
    return out


def case_settings(case: Path, tree: Path) -> config.Settings:
    s = config.load(tree)
    s.only = [case.parent.name]
    opts = case / "options.toml"
    if opts.is_file():
        data = tomllib.loads(opts.read_text("utf-8"))
        s.only = data.pop("only", s.only)
        for cid, o in data.pop("codemod", {}).items():
            s.codemod[cid] = o
        s.offline = data.pop("offline", s.offline)
        s.extra.update(data)
    return s


def run_tree(case: Path, tree: Path, settings: config.Settings | None = None):
    """Fix `tree` in place with the case's settings; returns the runner result."""
    s = settings or case_settings(case, tree)
    result = runner.run(WorkTree(tree, use_git=False), s, root=tree)
    write_changes(tree, result)
    return result


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.relative_to(root).parts}


def produce(case: Path) -> tuple[dict[str, bytes], object]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "repo"
        shutil.copytree(case / "input", tree, symlinks=True)
        result = run_tree(case, tree)
        return read_tree(tree), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--update", action="store_true", help="rewrite expected/ trees")
    ap.add_argument("codemods", nargs="*")
    args = ap.parse_args(argv)
    bad = 0
    for case in cases(GOLDEN, args.codemods or None):
        out, _ = produce(case)
        exp_dir = case / "expected"
        if args.update:
            if exp_dir.exists():
                shutil.rmtree(exp_dir)
            for rel, data in out.items():
                p = exp_dir / rel
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            print(f"updated {case.relative_to(GOLDEN)}")
        elif read_tree(exp_dir) != out:
            bad += 1
            print(f"DIFFERS {case.relative_to(GOLDEN)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
