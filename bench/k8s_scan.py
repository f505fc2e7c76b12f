"""Run the Kubernetes/Helm codemods over real charts and manifests and report what they did.

    python bench/k8s_scan.py DIR [DIR ...]

Each DIR (a chart or a folder of manifests) is copied to a scratch directory and fixed
there. Reported per DIR: files changed, findings, skips with reasons, template actions
per changed template before/after (and for the chart as a whole, since k8s-secret-ref
moves an action into the Secret template), Kubernetes schema problems added to plain
manifests, and whether a second run changes anything.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's fixer

from fixer import config, helm, runner  # noqa: E402
from fixer.discovery import WorkTree  # noqa: E402
from fixer.validate import k8s_errors  # noqa: E402
from fixer.writer import write_changes  # noqa: E402

IDS = ["k8s-secret-ref", "k8s-security-context", "k8s-probes", "k8s-resources"]


def run(tree: Path):
    s = config.load(tree)
    s.only = list(IDS)
    s.offline = True
    result = runner.run(WorkTree(tree, use_git=False), s, root=tree)
    write_changes(tree, result)
    return result


def scan(src: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / src.name
        shutil.copytree(src, tree, symlinks=True)
        before = {p.relative_to(tree).as_posix(): p.read_text("utf-8", "replace")
                  for p in tree.rglob("*") if p.is_file()}
        result = run(tree)
        after = {p.relative_to(tree).as_posix(): p.read_text("utf-8", "replace")
                 for p in tree.rglob("*") if p.is_file()}
        again = run(tree)
        kinds = {path: st.kind for path, st in result.engine.ws.files.items()}
    changed = sorted(p for p in after if before.get(p) != after[p])
    findings = [f for cs in result.changesets for f in cs.findings]
    skips = [s for cs in result.changesets for s in cs.skips]
    rows, chart_before, chart_after, schema_added = [], Counter(), Counter(), {}
    for p in changed:
        old, new = before.get(p, ""), after[p]
        if kinds.get(p) == "helm":
            a, b = helm.action_multiset(old), helm.action_multiset(new)
            chart_before += a
            chart_after += b
            lost = sum((a - b).values())
            rows.append((p, sum(a.values()), sum(b.values()), lost))
        elif kinds.get(p) == "k8s":
            added = k8s_errors(new) - (k8s_errors(old) if old else set())
            if added:
                schema_added[p] = sorted(added)
    return {
        "changed": changed, "findings": findings, "skips": skips, "actions": rows,
        "chart_lost": sum((chart_before - chart_after).values()), "schema_added": schema_added,
        "errors": result.errors, "second_run_changes": again.changed,
        "plain_checked": sum(1 for p in changed if kinds.get(p) == "k8s"),
    }


def main(argv: list[str]) -> int:
    total_lost = total_schema = 0
    for d in argv:
        r = scan(Path(d))
        status = Counter(f.status for f in r["findings"])
        print(f"== {d}")
        print(f"   files changed: {len(r['changed'])}; findings: {dict(status)}; "
              f"skips: {len(r['skips'])}; second run changes: {r['second_run_changes']}")
        for p in r["changed"]:
            print(f"   changed {p}")
        for p, b, a, lost in r["actions"]:
            print(f"   actions {p}: {b} -> {a} (lost in this file: {lost})")
        if r["actions"]:
            print(f"   actions lost across the chart: {r['chart_lost']}")
        print(f"   plain manifests changed: {r['plain_checked']}, schema problems added: "
              f"{sum(len(v) for v in r['schema_added'].values())}")
        for p, errs in r["schema_added"].items():
            print(f"   schema {p}: {errs[:3]}")
        reasons = Counter(s.reason.split(": ", 1)[-1] if ":" in s.reason else s.reason
                          for s in r["skips"])
        for reason, n in reasons.most_common(12):
            print(f"   skip x{n}: {reason}")
        for f in r["findings"]:
            if f.status == "dropped":
                print(f"   dropped {f.codemod} {f.path}:{f.line}: {f.note}")
        for e in r["errors"]:
            print(f"   error {e}")
        total_lost += r["chart_lost"]
        total_schema += sum(len(v) for v in r["schema_added"].values())
    print(f"total: actions lost {total_lost}, schema problems added {total_schema}")
    return 1 if total_lost or total_schema else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
