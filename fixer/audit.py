"""`fixer report`: an audit of a repository's infrastructure files.

Inventory (Dockerfiles, compose files, Kubernetes manifests, Helm charts,
workflows, deploy scripts), clusters of near-duplicate Dockerfiles and
compose files, findings by codemod, severity and area, and what `apply`
would change. Rendered for a terminal (rich), as Markdown or as one
self-contained HTML page with an inline SVG chart.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import discovery as disc
from .report import masker, unified

SEVERITIES = ("critical", "high", "medium", "low")
COLOURS = {"critical": "#8e1b1b", "high": "#d9534f", "medium": "#f0ad4e", "low": "#5bc0de"}
AREAS = {
    disc.DOCKERFILE: "Dockerfiles", disc.COMPOSE: "Compose files", disc.K8S: "Kubernetes manifests",
    disc.HELM: "Helm charts", disc.HELM_VALUES: "Helm charts", disc.WORKFLOW: "Workflows",
    disc.SCRIPT: "Deploy scripts", disc.PYTHON: "Deploy scripts", disc.YAML: "Other YAML",
}
INVENTORY_ORDER = ("Dockerfiles", "Compose files", "Kubernetes manifests", "Helm charts", "Workflows",
                   "Deploy scripts")
_DEPLOY_PY = re.compile(r"(^|/)(scripts?|bin|deploy|deployment|ci|tools|ops|infra)/|deploy|release|provision"
                        r"|bootstrap|fabfile", re.I)
SIMILAR = 0.7          # Jaccard similarity of normalised lines for a near-duplicate


@dataclass
class Cluster:
    kind: str
    paths: list[str]
    similarity: float          # lowest pairwise similarity inside the cluster


@dataclass
class Audit:
    name: str
    inventory: dict[str, list[str]] = field(default_factory=dict)
    clusters: list[Cluster] = field(default_factory=list)
    codemods: list[dict] = field(default_factory=list)
    by_area: dict[str, dict[str, int]] = field(default_factory=dict)
    findings: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    offline: bool = True

    @property
    def total(self) -> int:
        return sum(c["open"] for c in self.codemods)


# -- gathering ---------------------------------------------------------------

def inventory(source, settings) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Category -> paths, and path -> text for the files clusters compare."""
    entries = source.entries()
    paths = [p for p, _, _ in entries]
    charts = disc.chart_dirs_of(paths)
    out: dict[str, list[str]] = {k: [] for k in INVENTORY_ORDER}
    texts: dict[str, str] = {}
    for path, mode, size in entries:
        parts = path.split("/")
        if any(d in disc.SKIP_DIRS for d in parts[:-1]) or disc.excluded(path, settings.exclude):
            continue
        if mode != "100644" and mode != "100755" or size > settings.max_file_size:
            continue
        kind = disc.name_kind(path, charts)
        if kind == "":
            continue
        text = None
        if kind in (None, disc.DOCKERFILE, disc.COMPOSE):
            try:
                raw = source.read(path)
                text = raw.decode("utf-8") if b"\0" not in raw[:8192] else None
            except (OSError, UnicodeDecodeError):
                text = None
            if text is None:
                continue
            if kind is None:
                kind = disc.content_kind(text)
        if kind == disc.PYTHON and not _DEPLOY_PY.search(path):
            continue
        if kind in (disc.HELM, disc.HELM_VALUES):
            continue     # counted per chart below
        area = AREAS.get(kind)
        if area in out:
            out[area].append(path)
        if kind in (disc.DOCKERFILE, disc.COMPOSE) and text is not None:
            texts[path] = text
    out["Helm charts"] = sorted(c or "." for c in charts)
    return out, texts


def _lines(text: str, kind: str) -> frozenset[str]:
    out = set()
    for ln in text.splitlines():
        s = " ".join(ln.split())
        if not s or s.startswith("#"):
            continue
        out.add(s)
    return frozenset(out)


def clusters(texts: dict[str, str], inv: dict[str, list[str]], threshold: float = SIMILAR,
             dockerfile_threshold: float = 0.8) -> list[Cluster]:
    """Groups of Dockerfiles (the families and clusters dockerfile-consolidate merges)
    and of compose files whose normalised lines mostly agree."""
    from .consolidate.cluster import families

    out = []
    dockerfiles = {p: texts[p] for p in inv.get("Dockerfiles", []) if p in texts}
    every = [p for ps in inv.values() for p in ps]
    for paths, low in families(dockerfiles, every, dockerfile_threshold):
        out.append(Cluster(disc.DOCKERFILE, paths, round(low, 2)))
    for kind, area in ((disc.COMPOSE, "Compose files"),):
        paths = [p for p in inv.get(area, []) if p in texts]
        sets = {p: _lines(texts[p], kind) for p in paths}
        paths = [p for p in paths if len(sets[p]) >= 3]
        parent = {p: p for p in paths}
        sims: dict[tuple[str, str], float] = {}

        def find(p):
            while parent[p] != p:
                parent[p] = parent[parent[p]]
                p = parent[p]
            return p
        for i, a in enumerate(paths):
            for b in paths[i + 1:]:
                sa, sb = sets[a], sets[b]
                if min(len(sa), len(sb)) / max(len(sa), len(sb)) < threshold:
                    continue
                sim = len(sa & sb) / len(sa | sb)
                if sim >= threshold:
                    sims[(a, b)] = sim
                    parent[find(a)] = find(b)
        groups: dict[str, list[str]] = {}
        for p in paths:
            groups.setdefault(find(p), []).append(p)
        for members in groups.values():
            if len(members) < 2:
                continue
            members.sort()
            low = min((sims.get((a, b)) or sims.get((b, a)) or _jac(sets[a], sets[b]))
                      for i, a in enumerate(members) for b in members[i + 1:])
            out.append(Cluster(kind, members, round(low, 2)))
    out.sort(key=lambda c: (-len(c.paths), c.paths))
    return out


def _jac(a, b) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def build(source, settings, result, name: str) -> Audit:
    """The audit of one run (`result` from fixer.runner.run)."""
    inv, texts = inventory(source, settings)
    mask = masker(result.secrets)
    threshold = float(settings.codemod_options("dockerfile-consolidate").get("threshold", 0.8))
    a = Audit(name, inv, clusters(texts, inv, dockerfile_threshold=threshold), offline=settings.offline)
    ws = result.engine.ws
    for cs in result.changesets:
        cm = cs.codemod
        st = [f.status for f in cs.findings]
        added = removed = 0
        for path, (old, new) in cs.changes.items():
            for ln in unified(path, old, new).splitlines():
                if ln.startswith("+") and not ln.startswith("+++"):
                    added += 1
                elif ln.startswith("-") and not ln.startswith("---"):
                    removed += 1
        row = {"id": cm.id, "title": cm.title, "severity": cm.severity,
               "fixed": st.count("fixed"), "reported": st.count("reported"),
               "suppressed": st.count("suppressed"), "dropped": st.count("dropped"),
               "skipped": len(cs.skips), "files": len(cs.changes), "added": added, "removed": removed}
        row["open"] = row["fixed"] + row["reported"] + row["dropped"]
        if row["open"] or row["suppressed"] or row["skipped"]:
            a.codemods.append(row)
        for f in cs.findings:
            kind = ws.files[f.path].kind if f.path in ws.files else disc.YAML
            a.findings.append({"codemod": cm.id, "severity": cm.severity, "file": f.path, "line": f.line,
                               "message": mask(f.message), "check": f.check, "status": f.status,
                               "area": AREAS.get(kind, "Other")})
            if f.status != "suppressed":
                area = a.by_area.setdefault(AREAS.get(kind, "Other"), {s: 0 for s in SEVERITIES})
                area[cm.severity] = area.get(cm.severity, 0) + 1
    a.errors = [mask(e) for e in result.errors]
    return a


# -- rendering ---------------------------------------------------------------

def _sev_counts(a: Audit) -> dict[str, int]:
    out = {s: 0 for s in SEVERITIES}
    for row in a.codemods:
        out[row["severity"]] = out.get(row["severity"], 0) + row["open"]
    return out


def _summary(a: Audit) -> str:
    n_files = sum(len(v) for k, v in a.inventory.items() if k != "Helm charts")
    sev = ", ".join(f"{n} {s}" for s, n in _sev_counts(a).items() if n) or "none"
    fixes = sum(r["fixed"] for r in a.codemods)
    changed = sum(r["files"] for r in a.codemods)
    return (f"{n_files} infrastructure files, {len(a.inventory.get('Helm charts', []))} Helm chart(s); "
            f"{a.total} finding(s) ({sev}); `fixer apply` would make {fixes} fix(es) in "
            f"{changed} file change(s).")


def _md_cell(s: str) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def markdown(a: Audit, limit: int = 50) -> str:
    out = [f"## fixer report: {_md_cell(a.name)}", "", _summary(a), ""]
    out += ["### Inventory", "", "| area | count | examples |", "|---|---:|---|"]
    for area in INVENTORY_ORDER:
        paths = a.inventory.get(area, [])
        ex = ", ".join(f"`{p}`" for p in paths[:3]) + (" …" if len(paths) > 3 else "")
        out.append(f"| {area} | {len(paths)} | {_md_cell(ex)} |")
    out += ["", "### Near-duplicate files", ""]
    if a.clusters:
        out += ["| kind | files | similarity |", "|---|---|---:|"]
        for c in a.clusters:
            out.append(f"| {c.kind} | {_md_cell(', '.join(f'`{p}`' for p in c.paths))} | {c.similarity:.2f} |")
    else:
        out.append("None found.")
    out += ["", "### Findings by codemod", ""]
    if a.codemods:
        out += ["| codemod | severity | open | fixable | suppressed | skipped | apply changes |",
                "|---|---|---:|---:|---:|---:|---|"]
        for r in a.codemods:
            out.append(f"| `{r['id']}` | {r['severity']} | {r['open']} | {r['fixed']} | {r['suppressed']} "
                       f"| {r['skipped']} | {r['files']} file(s), +{r['added']} −{r['removed']} |")
    else:
        out.append("Nothing to report.")
    out += ["", "### Findings by area and severity", "", "| area | " + " | ".join(SEVERITIES) + " |",
            "|---|" + "---:|" * len(SEVERITIES)]
    for area, counts in sorted(a.by_area.items()):
        out.append(f"| {area} | " + " | ".join(str(counts.get(s, 0)) for s in SEVERITIES) + " |")
    shown = [f for f in a.findings if f["status"] != "suppressed"][:limit]
    if shown:
        out += ["", "<details><summary>Findings</summary>", "", "| file | codemod | message | status |",
                "|---|---|---|---|"]
        for f in shown:
            out.append(f"| `{_md_cell(f['file'])}:{f['line']}` | `{f['codemod']}` | {_md_cell(f['message'])} "
                       f"| {f['status']} |")
        more = len([f for f in a.findings if f["status"] != "suppressed"]) - len(shown)
        if more > 0:
            out.append(f"| … | | {more} more | |")
        out += ["", "</details>"]
    if a.offline:
        out += ["", "_Offline run: fixes that need the network (tag and digest look-ups) are not "
                    "counted; run `fixer report --online` to include them._"]
    return "\n".join(out) + "\n"


def svg_chart(a: Audit) -> str:
    """Horizontal stacked bars: open findings per area, by severity."""
    rows = sorted(a.by_area.items(), key=lambda kv: -sum(kv[1].values()))
    width, label_w, bar_h, gap = 720, 190, 26, 10
    height = max(1, len(rows)) * (bar_h + gap) + 50
    top = max([sum(c.values()) for _, c in rows] + [1])
    scale = (width - label_w - 60) / top
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Findings by area">']
    if not rows:
        parts.append('<text x="10" y="30" font-size="14">No findings.</text>')
    for i, (area, counts) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.0f}" text-anchor="end" '
                     f'font-size="14">{html.escape(area)}</text>')
        x = float(label_w)
        for sev in SEVERITIES:
            n = counts.get(sev, 0)
            if not n:
                continue
            w = n * scale
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                         f'fill="{COLOURS[sev]}"><title>{html.escape(area)}: {n} {sev}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + bar_h * 0.7:.0f}" font-size="13">'
                     f'{sum(counts.values())}</text>')
    ly = height - 22
    for j, sev in enumerate(SEVERITIES):
        lx = label_w + j * 110
        parts.append(f'<rect x="{lx}" y="{ly}" width="14" height="14" fill="{COLOURS[sev]}"/>'
                     f'<text x="{lx + 20}" y="{ly + 12}" font-size="13">{sev}</text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:.92em}th,td{border:1px solid #ddd;padding:.35em .6em;
text-align:left;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right}code{font-size:.95em}
.sev{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-size:.85em}
.muted{color:#666}
"""


def _e(s) -> str:
    return html.escape(str(s), quote=True)


def html_page(a: Audit, limit: int = 200) -> str:
    sev_badge = {s: f'<span class="sev" style="background:{COLOURS[s]}">{s}</span>' for s in SEVERITIES}
    p = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         f"<title>fixer report: {_e(a.name)}</title>",
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         f"<style>{_CSS}</style></head><body>",
         f"<h1>fixer report: {_e(a.name)}</h1>",
         f'<p>{_e(_summary(a).replace("`", ""))}</p>',
         "<h2>Findings by area</h2>", svg_chart(a),
         "<h2>Inventory</h2><table><tr><th>area</th><th>count</th><th>files</th></tr>"]
    for area in INVENTORY_ORDER:
        paths = a.inventory.get(area, [])
        ex = ", ".join(f"<code>{_e(x)}</code>" for x in paths[:8]) + (" …" if len(paths) > 8 else "")
        p.append(f'<tr><td>{area}</td><td class="n">{len(paths)}</td><td>{ex}</td></tr>')
    p.append("</table><h2>Near-duplicate files</h2>")
    if a.clusters:
        p.append("<table><tr><th>kind</th><th>files</th><th>similarity</th></tr>")
        for c in a.clusters:
            files = "<br>".join(f"<code>{_e(x)}</code>" for x in c.paths)
            p.append(f'<tr><td>{c.kind}</td><td>{files}</td><td class="n">{c.similarity:.2f}</td></tr>')
        p.append("</table>")
    else:
        p.append('<p class="muted">None found.</p>')
    p.append("<h2>Findings by codemod</h2>")
    if a.codemods:
        p.append("<table><tr><th>codemod</th><th>severity</th><th>open</th><th>fixable</th>"
                 "<th>suppressed</th><th>skipped</th><th>apply would change</th></tr>")
        for r in a.codemods:
            p.append(f"<tr><td><code>{_e(r['id'])}</code><br><span class='muted'>{_e(r['title'])}</span></td>"
                     f"<td>{sev_badge.get(r['severity'], _e(r['severity']))}</td><td class='n'>{r['open']}</td>"
                     f"<td class='n'>{r['fixed']}</td><td class='n'>{r['suppressed']}</td>"
                     f"<td class='n'>{r['skipped']}</td><td>{r['files']} file(s), +{r['added']} "
                     f"&minus;{r['removed']} lines</td></tr>")
        p.append("</table>")
    else:
        p.append('<p class="muted">Nothing to report.</p>')
    shown = a.findings[:limit]
    if shown:
        p.append("<h2>Findings</h2><table><tr><th>file</th><th>codemod</th><th>severity</th>"
                 "<th>message</th><th>status</th></tr>")
        for f in shown:
            p.append(f"<tr><td><code>{_e(f['file'])}:{f['line']}</code></td><td><code>{_e(f['codemod'])}</code>"
                     f"</td><td>{sev_badge.get(f['severity'], '')}</td><td>{_e(f['message'])}"
                     f"{' <span class=muted>(' + _e(f['check']) + ')</span>' if f['check'] else ''}</td>"
                     f"<td>{_e(f['status'])}</td></tr>")
        if len(a.findings) > limit:
            p.append(f"<tr><td colspan='5' class='muted'>… {len(a.findings) - limit} more</td></tr>")
        p.append("</table>")
    if a.errors:
        p.append("<h2>Files that could not be read</h2><ul>")
        p += [f"<li>{_e(e)}</li>" for e in a.errors]
        p.append("</ul>")
    if a.offline:
        p.append('<p class="muted">Offline run: fixes that need the network are not counted.</p>')
    p.append("</body></html>")
    return "\n".join(p) + "\n"


def print_rich(a: Audit, console: Console) -> None:
    console.rule(Text(f"fixer report: {a.name}", style="bold"))
    console.print(Text(_summary(a).replace("`", "")))
    inv = Table(title="Inventory")
    inv.add_column("area")
    inv.add_column("count", justify="right")
    inv.add_column("examples")
    for area in INVENTORY_ORDER:
        paths = a.inventory.get(area, [])
        inv.add_row(area, str(len(paths)), ", ".join(paths[:3]) + (" …" if len(paths) > 3 else ""))
    console.print(inv)
    if a.clusters:
        t = Table(title="Near-duplicate files")
        for col in ("kind", "files", "similarity"):
            t.add_column(col)
        for c in a.clusters:
            t.add_row(c.kind, "\n".join(c.paths), f"{c.similarity:.2f}")
        console.print(t)
    else:
        console.print(Text("No near-duplicate Dockerfiles or compose files.", style="dim"))
    if a.codemods:
        t = Table(title="Findings by codemod")
        t.add_column("codemod", no_wrap=True)
        t.add_column("severity", no_wrap=True)
        t.add_column("findings")
        t.add_column("apply would change", no_wrap=True)
        for r in a.codemods:
            cell = f"{r['open']} open, {r['fixed']} fixable"
            cell += f", {r['suppressed']} ignored" if r["suppressed"] else ""
            cell += f", {r['skipped']} skipped" if r["skipped"] else ""
            t.add_row(r["id"], Text(r["severity"], style=COLOURS.get(r["severity"])), cell,
                      f"{r['files']} files +{r['added']}/-{r['removed']}")
        console.print(t)
    if a.by_area:
        t = Table(title="Findings by area")
        t.add_column("area")
        for s in SEVERITIES:
            t.add_column(s, justify="right")
        for area, counts in sorted(a.by_area.items()):
            t.add_row(area, *[str(counts.get(s, 0)) for s in SEVERITIES])
        console.print(t)
    for e in a.errors:
        console.print(Text(f"warning: {e}", style="yellow"))


def short_name(root) -> str:
    return PurePosixPath(str(root)).name or str(root)
