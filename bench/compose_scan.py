"""Run the compose codemods over a directory of real compose files and count what they do.

    python bench/compose_scan.py /tmp/real-compose

Per codemod: services changed (their parsed content differs), findings fixed, reported,
skipped, dropped (an edit the engine refused), and whole-run checks: every changed compose
file against the Compose schema (new errors only), and a second run that must change nothing.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import yaml

from fixer import config, runner
from fixer.discovery import WorkTree
from fixer.validate import compose_errors
from fixer.writer import write_changes



def _services(text: str | None) -> dict:
    try:
        data = yaml.safe_load(text or "") or {}
    except yaml.YAMLError:
        return {}
    svcs = data.get("services") if isinstance(data, dict) else None
    return svcs if isinstance(svcs, dict) else {}


def _run(tree: Path, ids: list[str]):
    s = config.load(tree)
    s.only = ids
    s.offline = True
    result = runner.run(WorkTree(tree, use_git=False), s, root=tree)
    write_changes(tree, result)
    return result


def main(src: str) -> int:
    from codemods import all_codemods

    ids = [c.id for c in all_codemods() if c.id.startswith("compose-")]
    files = [p for p in Path(src).rglob("*") if p.is_file()]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "repo"
        shutil.copytree(src, tree)
        originals = {p.relative_to(tree).as_posix(): p.read_text("utf-8", "replace")
                     for p in tree.rglob("*") if p.is_file()}
        result = _run(tree, ids)
        changed, fixed, reported, skipped, dropped = Counter(), Counter(), Counter(), Counter(), Counter()
        total = sum(len(_services(t)) for t in originals.values())
        for cs in result.changesets:
            cid = cs.codemod.id
            for path, (old, new) in cs.changes.items():
                a, b = _services(old), _services(new)
                changed[cid] += sum(1 for n in b if n in a and a[n] != b[n])
            for f in cs.findings:
                {"fixed": fixed, "reported": reported, "dropped": dropped}.get(f.status, Counter())[cid] += 1
            skipped[cid] += len({(s.path, s.line) for s in cs.skips})
        invalid = []
        for path, old in originals.items():
            p = tree / path
            new = p.read_text("utf-8") if p.exists() else None
            if new is None or new == old or not _services(old):
                continue
            added = compose_errors(new) - compose_errors(old)
            if added:
                invalid.append((path, sorted(added)[0]))
        again = _run(tree, ids)
        second = sorted({p for cs in again.changesets for p in cs.changes})
    print(f"{len(files)} files, {total} services, {len(result.errors)} engine messages")
    print(f"{'codemod':28} {'services':>8} {'fixed':>6} {'reported':>8} {'skipped':>7} {'dropped':>7}")
    for cid in ids:
        print(f"{cid:28} {changed[cid]:>8} {fixed[cid]:>6} {reported[cid]:>8} {skipped[cid]:>7} {dropped[cid]:>7}")
    print(f"invalid outputs: {len(invalid)}")
    for path, err in invalid:
        print(f"  {path}: {err}")
    print(f"dropped edits: {sum(dropped.values())}")
    for e in result.errors:
        print(f"  {e}")
    print(f"files changed by a second run: {len(second)}")
    for p in second:
        print(f"  {p}")
    return 1 if invalid or second else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/real-compose"))
