"""fixer side by side with the tools that auto-fix slices of what it does.

    python bench/peers.py REPO_DIR [REPO_DIR ...] [--scratch DIR] [--fixer PATH]

Peers are installed from their registries into the scratch folder (never vendored):
compose-lint, compose-harden and zizmor from PyPI (a virtualenv), dclint from npm. This
checkout of fixer is pip-installed there too, as its users install it. Each
tool runs on its own identical copy of every repository (without `.git`), twice (the
second run shows whether it is idempotent). Every output is judged by the same checks:

- broken: a compose file or workflow that no longer loads as YAML, or gains compose
  schema errors (fixer's own compose schema check, old errors do not count); crashes
  (a tool exiting with a traceback or a signal) are counted with it
- comment lines lost: comment lines of the original missing from the output (multiset)
- non-idempotent: files the second run changed
- findings left per category: compose-lint in detect mode (no-new-privileges CL-0003,
  cap_drop ALL CL-0006, read_only CL-0007, ports bound to all interfaces CL-0005) on
  compose files, zizmor offline (excessive-permissions, artipacked, template-injection)
  on workflows. Beside fixer's count: how many of those it left on purpose, that is in a
  service (same file and service name) for which its report holds a skip of that
  category's codemod with the reason; for workflows, up to as many as it skipped in the
  same file
- time: median wall time per repository that has files of the table's kind (fixer runs
  the codemods whose first kind is compose for the compose table, those of workflows for
  the workflow table, as each peer does its own part; codemods of other kinds that also
  edit compose files, such as consolidating Dockerfiles, are not part of the comparison)

Prints one markdown table for compose files and one for workflows.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from compiled import compile_fixer  # bench/compiled.py (this script's folder is on sys.path)

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from codemods import all_codemods  # noqa: E402
from fixer.validate import compose_errors  # noqa: E402
from fixer.yamldoc import ParseError, compose_all  # noqa: E402

COMPOSE_RULES = {"CL-0003": "no-new-privileges", "CL-0006": "cap_drop ALL", "CL-0007": "read_only",
                 "CL-0005": "ports bound to all interfaces"}
FIXER_COMPOSE = {"CL-0003": "compose-no-new-privileges", "CL-0006": "compose-cap-drop",
                 "CL-0007": "compose-read-only", "CL-0005": "compose-ports-loopback"}
WORKFLOW_RULES = {"excessive-permissions": "gha-permissions", "artipacked": "gha-persist-credentials",
                  "template-injection": "gha-template-injection"}
_SERVICES = re.compile(r"^services\s*:", re.M)
_IGNORED = {".git", "node_modules", "vendor", ".venv"}


# -- peers ---------------------------------------------------------------------------

def install(scratch: Path) -> dict[str, list[str]]:
    """Install the peers into `scratch` (once) and return their commands."""
    venv = scratch / "venv"
    if not (venv / "bin" / "zizmor").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "compose-lint", "compose-harden", "zizmor"],
                       check=True)
    npm = scratch / "npm"
    if not (npm / "node_modules" / ".bin" / "dclint").exists():
        subprocess.run(["npm", "install", "--silent", "--prefix", str(npm), "dclint"], check=True)
    return {"compose-lint": [str(venv / "bin" / "compose-lint")],
            "compose-harden": [str(venv / "bin" / "compose-harden")],
            "zizmor": [str(venv / "bin" / "zizmor")],
            "dclint": [str(npm / "node_modules" / ".bin" / "dclint")]}


def install_fixer(scratch: Path) -> str:
    """Install this checkout of fixer into `scratch` as a user does (`pip install`, not
    editable: bytecode compiled, no import hook), again at every run; its command."""
    venv = scratch / "fixer-venv"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(HERE / "constraints.txt")]
    if not (venv / "bin" / "fixer").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(pip + ["pip", "setuptools"], check=True)
        subprocess.run(pip + ["--no-build-isolation", str(HERE)], check=True)
    else:
        subprocess.run(pip + ["--no-build-isolation", "--no-deps", "--force-reinstall", str(HERE)], check=True)
    return str(venv / "bin" / "fixer")


def version(cmd: list[str]) -> str:
    out = subprocess.run(cmd + ["--version"], capture_output=True, text=True)
    m = re.search(r"\d+\.\d+(?:\.\d+)?", out.stdout + out.stderr)
    return m.group(0) if m else "?"


# -- files ---------------------------------------------------------------------------

def walk(root: Path):
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _IGNORED]
        for f in files:
            yield Path(dirpath) / f


def compose_files(root: Path) -> list[str]:
    out = []
    for p in walk(root):
        if p.suffix in (".yml", ".yaml") and ".github" not in p.parts and not p.is_symlink():
            try:
                if _SERVICES.search(p.read_text("utf-8")):
                    out.append(p.relative_to(root).as_posix())
            except (OSError, UnicodeDecodeError):
                pass
    return sorted(out)


def workflow_files(root: Path) -> list[str]:
    wf = root / ".github" / "workflows"
    return sorted(p.relative_to(root).as_posix() for p in wf.glob("*.y*ml")) if wf.is_dir() else []


def copy(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, symlinks=True, ignore=shutil.ignore_patterns(*_IGNORED))


def snapshot(root: Path, files: list[str]) -> dict[str, str | None]:
    out = {}
    for f in files:
        try:
            out[f] = (root / f).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            out[f] = None
    return out


# -- judging -------------------------------------------------------------------------

def broken(old: str, new: str | None, compose: bool) -> bool:
    if new is None:
        return True
    try:
        compose_all(new)
    except ParseError:
        try:
            compose_all(old)
        except ParseError:
            return False
        return True
    if not compose:
        return False
    try:
        before = compose_errors(old)
    except Exception:       # the original cannot be checked either: only YAML counts
        return False
    try:
        added = compose_errors(new) - before
    except Exception:       # a document the schema check cannot read at all
        return True
    return bool(added)


def comments(text: str | None) -> Counter:
    return Counter(ln.strip() for ln in (text or "").splitlines() if ln.strip().startswith("#"))


def lost_comment_lines(old: dict, new: dict) -> int:
    return sum(sum((comments(old[f]) - comments(new.get(f))).values()) for f in old if old[f] is not None)


def compose_lint_findings(cl: list[str], root: Path, files: list[str]) -> list[tuple[str, str, str]]:
    """(rule, file, service) of each unsuppressed finding in the four categories."""
    out: list[tuple[str, str, str]] = []
    for i in range(0, len(files), 50):
        chunk = files[i:i + 50]
        r = subprocess.run(cl + ["check", "--format", "json", "--no-merge-overrides", "--no-env",
                                 "--allow-partial-coverage", *chunk], cwd=root, capture_output=True, text=True)
        try:
            data = json.loads(r.stdout)
        except ValueError:
            if len(chunk) > 1:   # one file at a time: a file it cannot read does not hide the others
                for f in chunk:
                    out += compose_lint_findings(cl, root, [f])
            continue
        for f in data.get("findings", []):
            if f.get("rule_id") in COMPOSE_RULES and not f.get("suppressed"):
                out.append((f["rule_id"], f.get("file", ""), f.get("service") or ""))
    return out


def compose_lint_counts(cl: list[str], root: Path, files: list[str]) -> Counter:
    return Counter(rule for rule, _, _ in compose_lint_findings(cl, root, files))


def service_lines(text: str | None) -> list[tuple[int, str]]:
    """(1-based line, name) of each top-level service of a compose file, in order."""
    try:
        docs = compose_all(text or "")
    except ParseError:
        return []
    out = []
    for doc in docs[:1]:
        for k, v in getattr(doc, "value", []) if isinstance(getattr(doc, "value", None), list) else []:
            if getattr(k, "value", None) == "services" and isinstance(getattr(v, "value", None), list):
                out += [(sk.start_mark.line + 1, str(sk.value)) for sk, _ in v.value]
    return sorted(out)


def skipped_services(skipped: list[dict], originals: dict[str, str | None]) -> set[tuple[str, str, str]]:
    """(codemod, file, service) of fixer's skips with a reason: a skip's line lies in the
    service it names (lines of the original file)."""
    out = set()
    for s in skipped:
        lines = service_lines(originals.get(s["file"]))
        owner = [name for line, name in lines if line <= s["line"]]
        if owner:
            out.add((s["codemod"], s["file"], owner[-1]))
    return out


def zizmor_findings(zz: list[str], root: Path) -> list[tuple[str, str]]:
    """(ident, workflow file) of each finding in the three categories."""
    if not (root / ".github" / "workflows").is_dir():
        return []
    r = subprocess.run(zz + ["--offline", "--format", "json", "--no-progress", "--persona", "regular",
                             str(root / ".github" / "workflows")], capture_output=True, text=True)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        return []
    out = []
    for f in data:
        if f.get("ident") not in WORKFLOW_RULES:
            continue
        where = ""
        for loc in f.get("locations", []):
            key = (loc.get("symbolic") or {}).get("key") or {}
            local = key.get("Local") or {}
            given = local.get("verbatim_path") or local.get("given_path") or ""
            if given:
                p = Path(given) if Path(given).is_absolute() else root / given
                where = p.resolve().relative_to(root.resolve()).as_posix()
                break
        out.append((f["ident"], where))
    return out


def zizmor_counts(zz: list[str], root: Path) -> Counter:
    return Counter(ident for ident, _ in zizmor_findings(zz, root))


# -- tools ---------------------------------------------------------------------------

def run_tool(tool: str, cmds: dict, fixer: list[str], root: Path, cfiles: list[str],
             wfiles: list[str], report: Path | None = None) -> tuple[float, int]:
    """Run one tool on a copy; (seconds, crashes)."""
    start = time.perf_counter()
    crashes = 0

    def call(args, cwd=root):
        nonlocal crashes
        r = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
        if r.returncode < 0 or "Traceback (most recent call last)" in r.stderr:
            crashes += 1
        return r

    if tool in ("fixer", "fixer-workflows"):
        out = ["--format", "json", "-o", str(report)] if report else []
        kind = "workflow" if tool == "fixer-workflows" else "compose"
        only = ",".join(c.id for c in all_codemods() if (c.targets or c.kinds)[0] == kind)
        call(fixer + ["check", str(root), "--write", "--offline", "--fail-on", "never", "--only", only, *out])
    elif tool == "compose-lint" and cfiles:
        for i in range(0, len(cfiles), 50):
            call(cmds["compose-lint"] + ["fix", "--apply", "--no-merge-overrides", "--no-env", *cfiles[i:i + 50]])
    elif tool == "compose-harden":
        for f in cfiles:
            call(cmds["compose-harden"] + ["fix", "--in-place", "--no-audit", f])
            bak = root / (f + ".bak")
            if bak.exists():
                bak.unlink()
    elif tool == "dclint" and cfiles:
        for i in range(0, len(cfiles), 50):
            call(cmds["dclint"] + ["--fix", "-q", "--color", "false", *cfiles[i:i + 50]])
    elif tool == "zizmor" and wfiles:
        call(cmds["zizmor"] + ["--offline", "--fix=all", "--no-progress", ".github/workflows"])
    return time.perf_counter() - start, crashes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("repos", nargs="+", type=Path)
    ap.add_argument("--scratch", type=Path, default=Path("/tmp/fixer-peers"))
    ap.add_argument("--fixer", help="fixer command to run (default: this checkout, pip-installed "
                                     "into the scratch folder)")
    args = ap.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    cmds = install(args.scratch)
    if args.fixer:
        compile_fixer()     # as `pip install` leaves a package (the other tools have theirs)
    fixer = [args.fixer or install_fixer(args.scratch)]
    compose_tools = ["fixer", "compose-lint", "compose-harden", "dclint"]
    workflow_tools = ["fixer-workflows", "zizmor"]
    tools = compose_tools + workflow_tools
    stats = {t: {"broken": 0, "crashes": 0, "lost": 0, "unstable": 0, "times": [], "cl": Counter(),
                 "zz": Counter(), "wbroken": 0, "wlost": 0, "wunstable": 0} for t in tools}
    before_cl, before_zz = Counter(), Counter()
    skips: Counter = Counter()
    n_compose = n_wf = 0
    for repo in args.repos:
        repo = repo.resolve()
        cfiles, wfiles = compose_files(repo), workflow_files(repo)
        n_compose += len(cfiles)
        n_wf += len(wfiles)
        orig_c, orig_w = snapshot(repo, cfiles), snapshot(repo, wfiles)
        base = args.scratch / "runs" / "original" / repo.name
        copy(repo, base)
        before_cl += compose_lint_counts(cmds["compose-lint"], base, cfiles)
        before_zz += zizmor_counts(cmds["zizmor"], base)
        for tool in tools:
            if (tool in workflow_tools and not wfiles) or (tool in compose_tools and not cfiles):
                continue
            work = args.scratch / "runs" / tool / repo.name
            copy(repo, work)
            report = args.scratch / "runs" / f"{tool}-{repo.name}.json"
            mine = tool.startswith("fixer")
            secs, crashes = run_tool(tool, cmds, fixer, work, cfiles, wfiles, report if mine else None)
            st = stats[tool]
            st["times"].append(secs)
            st["last"] = repo.name
            st["crashes"] += crashes
            new_c, new_w = snapshot(work, cfiles), snapshot(work, wfiles)
            if tool in compose_tools:
                st["broken"] += sum(broken(orig_c[f], new_c[f], True) for f in cfiles if orig_c[f] is not None)
                st["lost"] += lost_comment_lines(orig_c, new_c)
                left_c = compose_lint_findings(cmds["compose-lint"], work, cfiles)
                st["cl"] += Counter(rule for rule, _, _ in left_c)
            if tool in workflow_tools:
                st["wbroken"] += sum(broken(orig_w[f], new_w[f], False) for f in wfiles if orig_w[f] is not None)
                st["wlost"] += lost_comment_lines(orig_w, new_w)
                left_w = zizmor_findings(cmds["zizmor"], work)
                st["zz"] += Counter(ident for ident, _ in left_w)
            if mine and report.exists():
                data = json.loads(report.read_text())
                if tool == "fixer":       # a finding left in a service fixer skipped with a reason
                    said = skipped_services(data["skipped"], orig_c)
                    skips.update(rule for rule, f, svc in left_c if (FIXER_COMPOSE[rule], f, svc) in said)
                else:                     # workflows: as many as fixer's skips in that file
                    per_file = Counter((s["codemod"], s["file"]) for s in data["skipped"])
                    for ident, f in left_w:
                        key = (WORKFLOW_RULES[ident], f)
                        if per_file[key] > 0:
                            per_file[key] -= 1
                            skips[ident] += 1
            run_tool(tool, cmds, fixer, work, cfiles, wfiles)        # second run
            again_c, again_w = snapshot(work, cfiles), snapshot(work, wfiles)
            if tool in compose_tools:
                st["unstable"] += sum(again_c[f] != new_c[f] for f in cfiles)
            if tool in workflow_tools:
                st["wunstable"] += sum(again_w[f] != new_w[f] for f in wfiles)
        took = "; ".join(f"{t} {stats[t]['times'][-1]:.2f} s" for t in tools
                         if stats[t]["times"] and stats[t].get("last") == repo.name)
        print(f"{repo.name}: {len(cfiles)} compose files, {len(wfiles)} workflows: {took}", file=sys.stderr)

    names = {t: "fixer" if t.startswith("fixer") else f"{t} {version(cmds[t])}" for t in tools}
    med = {t: f"{statistics.median(stats[t]['times']):.1f} s" if stats[t]["times"] else "-" for t in tools}
    print(f"| compose ({n_compose} files, {len(args.repos)} repositories) | "
          + " | ".join(names[t] for t in compose_tools) + " |")
    print("|---|" + "---|" * len(compose_tools))
    print("| broken outputs (+ crashes) / comment lines lost / non-idempotent | " + " | ".join(
        f"{stats[t]['broken']} (+{stats[t]['crashes']}) / {stats[t]['lost']} / {stats[t]['unstable']}"
        for t in compose_tools) + " |")
    for rule, label in COMPOSE_RULES.items():
        cells = []
        for t in compose_tools:
            cell = str(stats[t]["cl"][rule])
            if t == "fixer":
                cell += f" ({skips[rule]} in services skipped with a reason)"
            cells.append(cell)
        print(f"| {label} left ({before_cl[rule]} before) | " + " | ".join(cells) + " |")
    print("| median time per repository | " + " | ".join(med[t] for t in compose_tools) + " |")
    print()
    print(f"| workflows ({n_wf} files) | " + " | ".join(names[t] for t in workflow_tools) + " |")
    print("|---|" + "---|" * len(workflow_tools))
    print("| broken outputs / comment lines lost / non-idempotent | " + " | ".join(
        f"{stats[t]['wbroken']} / {stats[t]['wlost']} / {stats[t]['wunstable']}" for t in workflow_tools) + " |")
    for ident, cid in WORKFLOW_RULES.items():
        cells = [f"{stats['fixer-workflows']['zz'][ident]} ({skips[ident]} in files with as many skips)",
                 str(stats["zizmor"]["zz"][ident])]
        print(f"| {ident} left ({before_zz[ident]} before) | " + " | ".join(cells) + " |")
    print("| median time per repository | " + " | ".join(med[t] for t in workflow_tools) + " |")


if __name__ == "__main__":
    main()
