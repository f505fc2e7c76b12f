"""CI outputs of a run: SARIF 2.1.0 (with `fixes`), JSON and GitHub workflow annotations.

SARIF regions are line/column pairs (1-based, columns in Unicode code points,
end column exclusive) in the file as it is on disk. A codemod's edits are
offsets into the text it saw, after the codemods before it; they are mapped
back through those earlier edits, and a fix that overlaps an earlier fix is
reported without a `fixes` entry (it depends on that fix).
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import quote

from .origin import back_span, splices
from .secrets import masker
from .text import apply_edits

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}
INFO_URI = "https://github.com/fixer/fixer#codemods"


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("fixer")
    except Exception:
        return "0.1.0"


def _pos(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


class _History:
    """Per path, the edit sets of the codemods reported so far (see fixer.origin)."""

    def __init__(self, ws):
        self.ws = ws
        self.sets: dict[str, list] = {}
        self.broken: set[str] = set()

    def record(self, cs) -> None:
        for path, (old, new) in cs.changes.items():
            edits = list(dict.fromkeys(e for f in cs.fixed for e in f.edits if e.path == path))
            try:
                ok = old is not None and new is not None and apply_edits(old, edits) == new
            except Exception:
                ok = False
            if not ok:
                self.broken.add(path)
            self.sets.setdefault(path, []).append(splices(edits))

    def original(self, path: str, start: int, end: int) -> tuple[int, int] | None:
        """(start, end) in the original text, or None when the region touches an earlier fix."""
        if path in self.broken:
            return None
        return back_span(self.sets.get(path, []), start, end)


def _fix(cs, f, ws, hist: _History, secrets) -> dict | None:
    if f.status != "fixed" or not f.edits:
        return None
    changes: dict[str, list] = {}
    for e in f.edits:
        st = ws.files.get(e.path)
        orig = st.original if st else None
        if e.deletes_file or orig is None or any(s and s in (e.text or "") for s in secrets):
            return None
        span = hist.original(e.path, e.start, e.end)
        if span is None:
            return None
        (sl, sc), (el, ec) = _pos(orig, span[0]), _pos(orig, span[1])
        changes.setdefault(e.path, []).append({
            "deletedRegion": {"startLine": sl, "startColumn": sc, "endLine": el, "endColumn": ec},
            "insertedContent": {"text": e.text or ""},
        })
    return {"description": {"text": f"{cs.codemod.id}: {cs.codemod.title}"},
            "artifactChanges": [{"artifactLocation": _loc(p), "replacements": reps}
                                for p, reps in sorted(changes.items())]}


def _loc(path: str) -> dict:
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _rule(cm) -> dict:
    return {
        "id": cm.id,
        "name": "".join(w.capitalize() for w in cm.id.split("-")),
        "shortDescription": {"text": cm.title},
        "fullDescription": {"text": cm.rationale or cm.title},
        "helpUri": INFO_URI,
        "help": {"text": cm.rationale or cm.title},
        "defaultConfiguration": {"level": LEVEL.get(cm.severity, "warning")},
        "properties": {"tags": ["security", "infrastructure", *cm.kinds],
                       "security-severity": SECURITY_SEVERITY.get(cm.severity, "5.5"),
                       "precision": "high", "checks": list(cm.checks)},
    }


def sarif(result, root: Path | None = None) -> dict:
    """A SARIF 2.1.0 log of a run: one result per finding, rules per codemod."""
    mask = masker(result.secrets)
    secrets = [s for s in result.secrets if s and len(s) >= 3]
    ws = result.engine.ws
    hist = _History(ws)
    rules, index, results, notes = [], {}, [], []
    for cs in result.changesets:
        cm = cs.codemod
        index[cm.id] = len(rules)
        rules.append(_rule(cm))
        for f in cs.findings:
            loc = {"physicalLocation": {"artifactLocation": _loc(f.path)}}
            if f.line > 0:
                loc["physicalLocation"]["region"] = {"startLine": f.line}
            res = {
                "ruleId": cm.id, "ruleIndex": index[cm.id],
                "level": LEVEL.get(cm.severity, "warning"),
                "message": {"text": mask(f.message + (f" ({f.check})" if f.check else ""))},
                "locations": [loc],
                "properties": {"status": status_label(f.status), "check": f.check, "severity": cm.severity,
                               "confidence": f.confidence or cm.confidence},
            }
            if f.safety:
                res["properties"]["safety"] = f.safety
            if f.note:
                res["properties"]["note"] = mask(f.note)
            if f.status == "suppressed":
                res["suppressions"] = [_suppression(f.note, mask)]
                if f.note.startswith("in the baseline"):
                    res["baselineState"] = "unchanged"
            fix = _fix(cs, f, ws, hist, secrets)
            if fix:
                fix["properties"] = {"safety": f.safety}
                res["fixes"] = [fix]
            results.append(res)
        for s in cs.skips:
            n = {"level": "note", "message": {"text": mask(f"{cm.id}: skipped: {s.reason}")},
                 "descriptor": {"id": cm.id, "index": index[cm.id]}}
            if s.path:
                loc = {"physicalLocation": {"artifactLocation": _loc(s.path)}}
                if s.line > 0:
                    loc["physicalLocation"]["region"] = {"startLine": s.line}
                n["locations"] = [loc]
            notes.append(n)
        hist.record(cs)
    for e in result.errors:
        notes.append({"level": "warning", "message": {"text": mask(e)}})
    run = {
        "tool": {"driver": {"name": "fixer", "version": _version(), "informationUri": INFO_URI,
                            "rules": rules}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": notes}],
    }
    if root is not None:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": Path(root).resolve().as_uri() + "/"}}
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}


def _suppression(note: str, mask) -> dict:
    """inSource for `# fixer: ignore`; external for .fixer-ignore.toml and the baseline."""
    if note.startswith(("ignored by ", "in the baseline")):
        return {"kind": "external", "justification": mask(note)}
    return {"kind": "inSource", "justification": "fixer: ignore comment"}


def findings_json(result) -> str:
    """Flat list of findings, skips and errors (for `fixer check --format json`)."""
    mask = masker(result.secrets)
    out = []
    for cs in result.changesets:
        for f in cs.findings:
            out.append({"codemod": cs.codemod.id, "severity": cs.codemod.severity, "file": f.path,
                        "line": f.line, "message": mask(f.message), "check": f.check,
                        "status": status_label(f.status), "note": mask(f.note),
                        "confidence": f.confidence or cs.codemod.confidence, "block": f.block,
                        "fixable": f.status == "fixed"})
    skips = [{"codemod": cs.codemod.id, "file": s.path, "line": s.line, "reason": mask(s.reason)}
             for cs in result.changesets for s in cs.skips]
    return json.dumps({"pending": result.changed, "findings": out, "skipped": skips,
                       "errors": [mask(e) for e in result.errors]}, indent=2)


def _esc_data(s: str) -> str:
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _esc_prop(s: str) -> str:
    return _esc_data(s).replace(":", "%3A").replace(",", "%2C")


def github(result, root: Path | None = None) -> str:
    """GitHub workflow commands: one `::warning` annotation per open finding."""
    mask = masker(result.secrets)
    lines = []
    cwd = Path.cwd().resolve()
    for cs in result.changesets:
        for f in cs.findings:
            if f.status not in ("fixed", "reported"):
                continue
            path = f.path
            if root is not None:
                full = (Path(root) / f.path).resolve()
                path = os.path.relpath(full, cwd) if full.is_relative_to(cwd) else f.path
            props = f"file={_esc_prop(path)}"
            if f.line > 0:
                props += f",line={f.line}"
            props += f",title={_esc_prop('fixer ' + cs.codemod.id)}"
            fixable = " [fixer can fix this]" if f.status == "fixed" else ""
            msg = mask(f"{f.message}{' (' + f.check + ')' if f.check else ''}{fixable}")
            lines.append(f"::warning {props}::{_esc_data(msg)}")
    for e in result.errors:
        lines.append(f"::warning title=fixer::{_esc_data(mask(e))}")
    return "\n".join(lines)


def status_label(status: str) -> str:
    """A pending fix is "fixable" in check's outputs: nothing has been fixed yet."""
    return "fixable" if status == "fixed" else status
