"""Helm edits proven by Helm's own engine: render each touched chart before and after.

A chart is rendered with its default values and with each `ci/*values.yaml` it ships
(helm-python-sdk, Helm 4's Go SDK, no helm binary). A fix is kept when the chart still
renders, no rendered document gains a parse or Kubernetes schema error, the rendered
objects change only in the fields its codemod means to change, every `secretKeyRef` names
a key of a rendered Secret and every volumeMount a volume of its pod (or already did not
before). Fields that differ between renders of the same state (random values, the clock)
are not changes. A fix whose change shows in no render is a Skip ("not effective with the
chart's values"). A chart that cannot be rendered (the package or its library is missing,
a dependency is not vendored, the unchanged chart fails) keeps the structural check of the
masked templates, with one warning line.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import pickle
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import yaml

from . import childproc
from .codemod import Finding, Skip

MAX_CHART_BYTES = 64 << 20

# the rendered fields each codemod means to change (any path through one of these keys);
# `checksum/…` annotations follow the content they hash
MEANT: dict[str, set[str]] = {
    "k8s-security-context": {"securityContext", "volumes", "volumeMounts"},
    "k8s-resources": {"resources"},
    "k8s-probes": {"readinessProbe", "livenessProbe", "startupProbe"},
    "k8s-secret-ref": {"env"},
    "pin-image-digest": {"image"},
}
# codemods whose change may add Secret objects or Secret keys
SECRET_WRITERS = {"k8s-secret-ref"}


class Unrenderable(Exception):
    """The chart cannot be rendered here; the message says why."""


@dataclass
class Render:
    """One state of a chart rendered under every values set."""

    objects: dict[str, dict[tuple, dict]]      # values label -> (kind, name) -> object
    errors: frozenset[str]                     # parse and schema errors, labelled
    unresolved: frozenset[str]                 # secretKeyRefs no rendered Secret holds
    at: float = 0.0                            # when it was rendered


@dataclass
class Verdict:
    reason: str = ""          # why the fix is refused (empty: accepted)
    ineffective: bool = False
    unmeant: bool = False     # refused for a field the codemod does not mean to change


@dataclass
class ChartState:
    """What is known about one chart during one run."""

    values: list[tuple[str, dict]] = field(default_factory=list)
    noise: set[tuple] = field(default_factory=set)   # (label, object, path) differing between identical renders
    probed: bool = False                             # noise worked out
    left_out: list[str] = field(default_factory=list)  # values sets the chart cannot render with
    failure: str = ""


# the child process renders (Helm's Go runtime must not live in a process that forks);
# it answers ("ok", {label: [texts]}, {label: [texts]} | None, {label: why it failed})
# or ("unrenderable", why)
_WORKER = r"""
import pickle, struct, sys
from pathlib import PurePosixPath

def first(exc):
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else exc.__class__.__name__)[:200]

def texts(ch, values):
    out = ch.render(values, name="release", namespace="default")
    return [t for p, t in sorted(out.items())
            if not p.endswith("NOTES.txt") and not PurePosixPath(p).name.startswith("_")]

def one(root, sets, twice):
    try:
        import helm_python
    except Exception as exc:
        return ("unrenderable", f"helm-python-sdk is not usable: {exc.__class__.__name__}: {first(exc)}; "
                                "install fixer[helm]")
    try:
        ch = helm_python.Chart.load(root)
    except Exception as exc:
        return ("unrenderable", f"Helm cannot load it: {first(exc)}")
    with ch:
        declared = [d.get("name") for d in (ch.metadata.get("dependencies") or []) if isinstance(d, dict)]
        loaded = {d.get("name") for d in (ch.dependencies or []) if isinstance(d, dict)}
        missing = [n for n in declared if n not in loaded]
        if missing:
            return ("unrenderable", "dependencies not vendored in charts/: " + ", ".join(missing))
        out, again, failed = {}, ({} if twice else None), {}
        for label, values in sets:
            try:
                out[label] = texts(ch, values)
                if twice:
                    again[label] = texts(ch, values)
            except Exception as exc:
                failed[label] = f"does not render with {label}: {first(exc)}"
        return ("ok", out, again, failed)

def handle(request):
    return one(*request)
"""


class _Child(childproc.Child):
    """The rendering process, started on first use (and again in a forked copy)."""

    def ask(self, request: tuple):
        try:
            return self.call(request)
        except (OSError, EOFError, pickle.UnpicklingError):
            self.stop()
            return ("unrenderable", "the Helm rendering process ended (the native library failed)")


_child = _Child(_WORKER)
atexit.register(_child.stop)


class Renderer:
    """Renders charts for one engine run; "before" states are cached by content."""

    def __init__(self, ws, source):
        self.ws = ws
        self.source = source
        self.cache: dict[str, Render] = {}
        self.charts: dict[str, ChartState] = {}
        self.sdk_failure = ""
        self.warned: set[str] = set()

    # -- files ---------------------------------------------------------------
    def chart_of(self, path: str) -> str | None:
        """The chart directory whose render a changed path can affect."""
        p = PurePosixPath(path)
        parts = p.parts
        cands = []
        if "templates" in parts:
            i = len(parts) - 1 - list(reversed(parts)).index("templates")
            cands.append("/".join(parts[:i]))
        cands.append(str(p.parent) if str(p.parent) != "." else "")
        for c in cands:
            if c in self.ws.charts:
                return c
        return None

    def files(self, chart: str, overlay: dict[str, str | None]) -> dict[str, bytes]:
        prefix = chart + "/" if chart else ""
        paths = {p for p in self.ws.all_paths if p.startswith(prefix)}
        paths |= {p for p, st in self.ws.files.items() if p.startswith(prefix) and st.text is not None}
        paths |= {p for p in overlay if p.startswith(prefix)}
        out, size = {}, 0
        for p in sorted(paths):
            if p in overlay:
                text = overlay[p]
                data = None if text is None else text.encode("utf-8")
            elif p in self.ws.files:
                text = self.ws.files[p].text
                data = None if text is None else text.encode("utf-8")
            else:
                try:
                    data = self.source.read(p)
                except (OSError, KeyError):
                    continue
            if data is None:
                continue
            size += len(data)
            if size > MAX_CHART_BYTES:
                raise Unrenderable(f"chart larger than {MAX_CHART_BYTES >> 20} MB")
            out[p[len(prefix):]] = data
        return out

    # -- rendering -------------------------------------------------------------
    def state(self, chart: str) -> ChartState:
        st = self.charts.get(chart)
        if st is None:
            st = self.charts[chart] = ChartState()
        return st

    def render(self, chart: str, overlay: dict[str, str | None]) -> Render:
        if self.sdk_failure:
            raise Unrenderable(self.sdk_failure)
        st = self.state(chart)
        if st.failure:
            raise Unrenderable(st.failure)
        files = self.files(chart, overlay)
        # per chart: each chart keeps its own values sets and random fields, even where a
        # vendored copy of it elsewhere has the same files
        key = hashlib.sha256(chart.encode() + b"\0\0" + b"\0".join(
            k.encode() + b"\0" + v for k, v in files.items())).hexdigest()
        if key in self.cache:
            return self.cache[key]
        if not st.values:
            st.values = [("default values", {})] + _ci_values(files)
        with tempfile.TemporaryDirectory(prefix="fixer-chart-") as tmp:
            answer = _child.ask((_write(tmp, chart, files), st.values, not st.probed))
        if answer[0] == "unrenderable":
            if "helm-python-sdk" in answer[1] or "rendering process" in answer[1]:
                self.sdk_failure = answer[1]
            elif not overlay:
                st.failure = answer[1]
            raise Unrenderable(answer[1])
        _, outputs, again, failed = answer
        if failed:
            if overlay:
                raise RenderFailed(sorted(failed.values())[0])
            # values sets the unchanged chart cannot render with (a `required` value) are
            # left out; none left: the chart cannot be rendered
            st.values = [(label, v) for label, v in st.values if label not in failed]
            st.left_out = sorted(failed.values())
            if not st.values:
                st.failure = sorted(failed.values())[0]
                raise Unrenderable(st.failure)
        result = _digest(outputs)
        result.at = time.time()
        if again is not None:
            st.probed = True
            other = _digest(again)
            for label, objs in result.objects.items():
                for okey in set(objs) | set(other.objects.get(label, {})):
                    for path in _diff(objs.get(okey), other.objects.get(label, {}).get(okey)):
                        st.noise.add((label, okey, path))
        self.cache[key] = result
        return result

    def more_noise(self, chart: str, overlay: dict[str, str | None], seen: Render) -> None:
        """Render a state again, a clock second after `seen` (`now` in a template changes
        once a second), and count the fields that differ as random."""
        time.sleep(max(0.0, 1.05 - (time.time() - seen.at)))
        st = self.state(chart)
        files = self.files(chart, overlay)
        with tempfile.TemporaryDirectory(prefix="fixer-chart-") as tmp:
            answer = _child.ask((_write(tmp, chart, files), st.values, False))
        if answer[0] != "ok" or answer[3]:
            return
        other = _digest(answer[1])
        for label, objs in seen.objects.items():
            for okey in set(objs) | set(other.objects.get(label, {})):
                for path in _diff(objs.get(okey), other.objects.get(label, {}).get(okey)):
                    st.noise.add((label, okey, path))


def _write(tmp: str, chart: str, files: dict[str, bytes]) -> str:
    root = os.path.join(tmp, PurePosixPath(chart).name or "chart")
    for rel, data in files.items():
        target = os.path.join(root, *PurePosixPath(rel).parts)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(data)
    return root


class RenderFailed(Exception):
    """Helm refused to render a state of the chart."""


def _ci_values(files: dict[str, bytes]) -> list[tuple[str, dict]]:
    from .validate import load_all

    out = []
    for rel in sorted(files):
        p = PurePosixPath(rel)
        if len(p.parts) == 2 and p.parts[0] == "ci" and p.name.endswith("values.yaml"):
            try:
                docs = load_all(files[rel].decode("utf-8"))
            except (yaml.YAMLError, UnicodeDecodeError):
                continue
            data = docs[0] if docs else None
            if isinstance(data, dict):
                out.append((rel, data))
    return out


def _digest(outputs: dict[str, list[str]]) -> Render:
    from .validate import load_all, k8s_errors

    objects: dict[str, dict[tuple, dict]] = {}
    errors, unresolved = set(), set()
    for label, texts in outputs.items():
        objs: dict[tuple, dict] = {}
        for text in texts:
            try:      # libyaml's parse, shared with the validation below, bounded as every load
                docs = load_all(text)
            except yaml.YAMLError as exc:
                errors.add(f"{label}: not YAML: {str(exc).splitlines()[0]}")
                continue
            for doc in docs:
                if not isinstance(doc, dict):
                    continue
                meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
                okey = (str(doc.get("kind")), str(meta.get("name")))
                n = 2
                while okey in objs:
                    okey, n = (okey[0], f"{okey[1]}#{n}"), n + 1
                objs[okey] = doc
            try:
                errors |= {f"{label}: {e}" for e in k8s_errors(text)}
            except yaml.YAMLError:
                pass
        objects[label] = objs
        unresolved |= {f"{label}: {r}" for r in _unresolved(objs) | _dangling_mounts(objs)}
    return Render(objects, frozenset(errors), frozenset(unresolved))


def _unresolved(objs: dict[tuple, dict]) -> set[str]:
    keys: dict[str, set[str]] = {}
    for (kind, _), doc in objs.items():
        if kind == "Secret":
            name = str((doc.get("metadata") or {}).get("name"))
            for part in ("data", "stringData"):
                if isinstance(doc.get(part), dict):
                    keys.setdefault(name, set()).update(map(str, doc[part]))
    out = set()
    for (kind, oname), doc in objs.items():
        for ref in _refs(doc):
            if ref.get("optional") is True:
                continue
            name, key = str(ref.get("name")), str(ref.get("key"))
            if key not in keys.get(name, ()):
                out.add(f"{kind}/{oname} secretKeyRef {name}/{key}")
    return out


def _dangling_mounts(objs: dict[tuple, dict]) -> set[str]:
    """volumeMounts naming no volume of their pod (the API server refuses the pod)."""
    out = set()
    for (kind, oname), doc in objs.items():
        for pod in _pod_specs(doc):
            vols = {v.get("name") for v in pod.get("volumes") or [] if isinstance(v, dict)}
            for c in (pod.get("containers") or []) + (pod.get("initContainers") or []):
                for m in (c.get("volumeMounts") or []) if isinstance(c, dict) else []:
                    if isinstance(m, dict) and m.get("name") not in vols:
                        out.add(f"{kind}/{oname} volumeMount {m.get('name')} of container {c.get('name')}")
    return out


def _pod_specs(node):
    if isinstance(node, dict):
        if isinstance(node.get("containers"), list):
            yield node
        for v in node.values():
            yield from _pod_specs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _pod_specs(v)


def _refs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "secretKeyRef" and isinstance(v, dict):
                yield v
            else:
                yield from _refs(v)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _diff(a, b, path: tuple = ()):
    """Paths where two parsed objects differ (list items with a `name` matched by name)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                yield path + (str(k),)
            else:
                yield from _diff(a[k], b[k], path + (str(k),))
    elif isinstance(a, list) and isinstance(b, list):
        if all(isinstance(x, dict) and "name" in x for x in a + b) and a + b:
            na = {str(x["name"]): x for x in a}
            nb = {str(x["name"]): x for x in b}
            for k in list(na) + [k for k in nb if k not in na]:
                if k not in na or k not in nb:
                    yield path + (f"[{k}]",)
                else:
                    yield from _diff(na[k], nb[k], path + (f"[{k}]",))
        else:
            for i in range(max(len(a), len(b))):
                if i >= len(a) or i >= len(b):
                    yield path + (str(i),)
                else:
                    yield from _diff(a[i], b[i], path + (str(i),))
    elif a != b or type(a) is not type(b):
        yield path


def _meant(codemod: str, okey: tuple, path: tuple, added: bool) -> bool:
    if len(path) >= 3 and path[:2] == ("metadata", "annotations") and path[2].startswith("checksum/"):
        return True
    if codemod in SECRET_WRITERS and okey[0] == "Secret" and (added or path[:1] in (("data",), ("stringData",))):
        return True
    fields = MEANT.get(codemod)
    if fields is None:
        return True
    return any(p in fields for p in path)


def compare(codemod: str, before: Render, after: Render, noise: set[tuple]) -> Verdict:
    """Judge one fix by the renders of the chart without it and with it."""
    new_errors = after.errors - before.errors
    if new_errors:
        return Verdict(f"rendered chart: {sorted(new_errors)[0][:200]}")
    new_refs = after.unresolved - before.unresolved
    if new_refs:
        what = "names no volume of its pod" if " volumeMount " in sorted(new_refs)[0] \
            else "names no key of a rendered Secret"
        return Verdict(f"rendered chart: {sorted(new_refs)[0]} {what}")
    changed = False
    for label, objs in after.objects.items():
        old = before.objects.get(label, {})
        for okey in old:
            if okey not in objs:
                return Verdict(f"rendered chart ({label}): {okey[0]} {okey[1]} is no longer rendered")
        for okey, doc in objs.items():
            if okey not in old:
                if not _meant(codemod, okey, (), True):
                    return Verdict(f"rendered chart ({label}): adds {okey[0]} {okey[1]}")
                changed = True
                continue
            for path in _diff(old[okey], doc):
                if any((label, okey, path[:i]) in noise for i in range(len(path) + 1)):
                    continue
                if not _meant(codemod, okey, path, False):
                    return Verdict(f"rendered chart ({label}): {okey[0]} {okey[1]} changes "
                                   f"{'.'.join(path)}, which {codemod} does not mean to change", unmeant=True)
                changed = True
    if not changed:
        labels = ", ".join(after.objects) or "no values"
        return Verdict(f"not effective with the chart's values ({labels}): the change renders nothing",
                       ineffective=True)
    return Verdict()


def settle(settler, cs, active: list[Finding]) -> bool:
    """Check the active findings of one codemod on the charts they touch, in order: each
    fix is rendered on top of the ones accepted before it. Refused fixes are dropped
    (with a warning), ineffective ones become Skips. True when any was removed."""
    r: Renderer | None = getattr(settler, "helm_renderer", None)
    if r is None:
        r = settler.helm_renderer = Renderer(settler.ws, settler.ctx.source)
    cid = cs.codemod.id
    by_chart: dict[str, list[Finding]] = {}
    for f in active:
        for c in sorted({c for c in map(r.chart_of, f.paths) if c is not None}):
            by_chart.setdefault(c, []).append(f)
    removed: set[int] = set()
    for chart, findings in sorted(by_chart.items()):
        findings = [f for f in findings if id(f) not in removed]
        if not findings:
            continue
        try:
            before = r.render(chart, {})
        except (Unrenderable, RenderFailed) as exc:
            _warn(settler, r, chart, str(exc))
            continue
        noise = r.state(chart).noise
        if r.state(chart).left_out and ("left", chart) not in r.warned:
            r.warned.add(("left", chart))
            settler.ctx.errors.append(f"{chart or '.'}: rendered without some values: "
                                 + "; ".join(r.state(chart).left_out))
        accepted: list = []
        for f in findings:
            overlay, conflicts = settler.apply([Finding(f.path, 0, "", accepted + list(f.edits))])
            if conflicts:
                continue
            try:
                after = r.render(chart, overlay)
                verdict = compare(cid, before, after, noise)
                if verdict.unmeant:
                    # a field the first two renders agreed on may still be a clock (`now`)
                    r.more_noise(chart, settler.apply([Finding(f.path, 0, "", accepted)])[0], before)
                    verdict = compare(cid, before, after, noise)
            except RenderFailed as exc:
                verdict = Verdict(f"rendered chart: {exc}")
            except Unrenderable as exc:
                _warn(settler, r, chart, str(exc))
                break
            if not verdict.reason:
                accepted += f.edits
                before = after
                continue
            removed.add(id(f))
            active.remove(f)
            where = chart or "."
            if verdict.ineffective:
                cs.findings.remove(f)
                cs.skips.append(Skip(f.path, f.line, f"{f.message.split(';')[0]}: chart {where}: "
                                     f"{verdict.reason}", cid))
            else:
                f.status, f.note = "dropped", f"chart {where}: {verdict.reason}"
                msg = f"{where}: {cid} edit dropped, {verdict.reason}"
                if msg not in settler.ctx.errors:
                    settler.ctx.errors.append(msg)
    return bool(removed)


def _warn(settler, r: Renderer, chart: str, reason: str) -> None:
    key = "" if r.sdk_failure else chart
    if key in r.warned:
        return
    r.warned.add(key)
    where = "Helm charts" if r.sdk_failure else f"{chart or '.'}"
    settler.ctx.errors.append(f"{where}: not rendered ({reason}); Helm edits checked structurally only")


def touched(ws, new_texts: dict) -> bool:
    """Whether any changed path lies in a Helm chart (cheap test before rendering)."""
    return any(p == c or p.startswith(c + "/") or not c for p in new_texts for c in ws.charts)
