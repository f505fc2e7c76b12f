"""Findings a team has decided about: the exclusion file and the baseline.

`.fixer-ignore.toml` (at the repository root) lists exclusions, each with a reason:

    [[ignore]]
    path = "deploy/*.yml"           # glob on the path from the repository root (required)
    block = "db"                    # a compose service, workflow job, Kubernetes workload or
                                    # Dockerfile stage (optional; `service`/`job` are aliases)
    codemod = "compose-read-only"   # an id or a glob (optional: every codemod)
    reason = "db writes to /var/lib outside its volume"   # required

`.fixer-baseline.json`, written by `fixer init`, holds a fingerprint of each finding of that
day: codemod, file, block and message (not the line, so findings survive edits above
them). `fixer check` leaves out findings in the baseline and reports only new ones.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import re
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from yaml.nodes import MappingNode, ScalarNode

IGNORE_FILE = ".fixer-ignore.toml"
BASELINE_FILE = ".fixer-baseline.json"
_KEYS = {"path", "block", "service", "job", "codemod", "reason"}


class WaiverError(Exception):
    """A bad exclusion or baseline file; str() names the file and the problem."""


@dataclass(slots=True)
class Ignore:
    path: str
    reason: str
    block: str = ""
    codemod: str = ""

    def matches(self, codemod: str, path: str, block: str) -> bool:
        return (fnmatch.fnmatchcase(path, self.path) or path.startswith(self.path.rstrip("/") + "/")) \
            and (not self.codemod or fnmatch.fnmatchcase(codemod, self.codemod)) \
            and (not self.block or self.block == block)


@dataclass
class Waivers:
    ignores: list[Ignore] = field(default_factory=list)
    baseline: Counter = field(default_factory=Counter)      # fingerprint -> findings left to waive
    baseline_file: str = ""

    def __bool__(self) -> bool:
        return bool(self.ignores or self.baseline)

    def match(self, codemod: str, path: str, block: str, message: str) -> str | None:
        """Why a finding is waived, or None."""
        for ig in self.ignores:
            if ig.matches(codemod, path, block):
                where = f"{ig.path}" + (f" {ig.block}" if ig.block else "")
                return f"ignored by {IGNORE_FILE} ({where}): {ig.reason}"
        fp = fingerprint(codemod, path, block, message)
        if self.baseline.get(fp, 0) > 0:
            self.baseline[fp] -= 1
            return f"in the baseline ({self.baseline_file})"
        return None


def load_ignores(root: Path) -> list[Ignore]:
    path = root / IGNORE_FILE
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise WaiverError(f"{IGNORE_FILE}: {exc}") from None
    unknown = set(data) - {"ignore"}
    if unknown:
        raise WaiverError(f"{IGNORE_FILE}: unknown key '{sorted(unknown)[0]}' (use [[ignore]] tables)")
    entries = data.get("ignore", [])
    if not isinstance(entries, list):
        raise WaiverError(f"{IGNORE_FILE}: 'ignore' must be an array of tables ([[ignore]])")
    out = []
    for n, e in enumerate(entries, 1):
        where = f"{IGNORE_FILE}: ignore #{n}"
        if not isinstance(e, dict):
            raise WaiverError(f"{where}: not a table")
        bad = set(e) - _KEYS
        if bad:
            raise WaiverError(f"{where}: unknown key '{sorted(bad)[0]}' ({', '.join(sorted(_KEYS))})")
        if any(not isinstance(v, str) for v in e.values()):
            raise WaiverError(f"{where}: every value is a string")
        if not e.get("path"):
            raise WaiverError(f"{where}: 'path' is required (a glob, \"*\" for every file)")
        if not (e.get("reason") or "").strip():
            raise WaiverError(f"{where}: 'reason' is required: say why the finding does not apply")
        names = [e[k] for k in ("block", "service", "job") if e.get(k)]
        if len(names) > 1:
            raise WaiverError(f"{where}: give one of block, service, job")
        out.append(Ignore(e["path"], e["reason"].strip(), names[0] if names else "", e.get("codemod", "")))
    return out


def load_baseline(root: Path, name: str = BASELINE_FILE) -> Counter:
    path = root / name
    if not path.is_file():
        return Counter()
    try:
        data = json.loads(path.read_text("utf-8"))
        return Counter({f["fingerprint"]: int(f.get("count", 1)) for f in data["findings"]})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WaiverError(f"{name}: not a fixer baseline ({exc.__class__.__name__}: {exc})") from None


def load(root: Path, baseline: bool = False) -> Waivers:
    return Waivers(load_ignores(root), load_baseline(root) if baseline else Counter(),
                   BASELINE_FILE if baseline else "")


_LINE = re.compile(r"\b(lines?|step) \d+\b|:\d+\)")


def fingerprint(codemod: str, path: str, block: str, message: str) -> str:
    text = "\0".join((codemod, path, block, _LINE.sub("#", message)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def baseline_json(entries: list[dict]) -> str:
    counts = Counter(e["fingerprint"] for e in entries)
    seen: set[str] = set()
    rows = []
    for e in entries:
        if e["fingerprint"] in seen:
            continue
        seen.add(e["fingerprint"])
        rows.append({**e, "count": counts[e["fingerprint"]]})
    return json.dumps({"version": 1, "findings": rows}, indent=2) + "\n"


# -- blocks ----------------------------------------------------------------------

def block_of(doc, line: int) -> str:
    """The named block holding a 1-based line: a compose service, a workflow job, a
    Kubernetes workload (Kind/name), a Dockerfile stage; '' when none."""
    stages = getattr(doc, "stages", None)
    if stages is not None:
        found = ""
        for s in stages:
            if doc.line_of(s.from_ins.start) + 1 <= line:
                found = s.name or f"stage {s.index}"
        return found
    try:
        docs = doc.docs
    except Exception:
        return ""
    for d in docs:
        if not isinstance(d, MappingNode) or not (d.start_mark.line < line <= d.end_mark.line + 1):
            continue
        for key in ("services", "jobs"):
            holder = _get(d, key)
            found = [k.value for k, _ in _pairs(d, key) if k.start_mark.line + 1 <= line]
            if found and line <= holder.end_mark.line + 1:
                return found[-1]
        kind, meta = _scalar(d, "kind"), _get(d, "metadata")
        if kind:
            return f"{kind}/{_scalar(meta, 'name') if meta is not None else ''}"
    return ""


def _get(node, key):
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == key:
                return v
    return None


def _scalar(node, key) -> str:
    v = _get(node, key)
    return v.value if isinstance(v, ScalarNode) else ""


def _pairs(node, key):
    v = _get(node, key)
    if isinstance(v, MappingNode):
        return [(k, x) for k, x in v.value if isinstance(k, ScalarNode)]
    return []

