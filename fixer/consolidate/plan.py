"""Tie it together: members, references, clusters, one finding per merged cluster."""
from __future__ import annotations

import posixpath

from .. import buildkit
from .. import discovery as disc
from .. import inactive
from ..codemod import Finding, Skip
from ..suppress import Suppressions
from ..text import Edit
from ..yamldoc import ParseError
from . import refs as R
from .cluster import clusters, similarity
from .family import compose_dirs, root_of
from .ignore import DockerIgnore
from .members import Member, copies, dirname, under
from .merge import Merged, Unsafe, common_dir, sanitize, target_name, with_docs

CHECK = "maintainability:duplicate-dockerfile"


class Repo:
    """Everything consolidation learns about one repository."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.members: dict[str, Member] = {}
        self.blocked: dict[str, str] = {}
        self.doc_mentions: dict[str, list[str]] = {}
        self._ignores: dict[str, DockerIgnore] = {}
        self.inactive_refs: list[str] = []      # path:line of mentions in inactive trees
        self.recipes: dict[str, list[str]] = {}  # recipe file -> images that held it
        projects = compose_dirs(ctx.ws.all_paths)
        load = ctx.document       # one bound method for all members
        for doc in ctx.documents((disc.DOCKERFILE,)):
            try:
                if doc.stages:
                    self.members[doc.path] = Member(doc.path, load, root_of(doc.path, projects))
            except ParseError as exc:
                ctx.error(doc.path, str(exc))
        self.paths = set(self.members)
        self.refs: list[R.Ref] = []
        self.by_context: dict[str, list[Member]] = {}

    def study(self):
        """Find references and contexts (only needed when something may merge)."""
        self._find_refs()
        self.by_context: dict[str, list[Member]] = {}
        for m in self.members.values():
            if not m.contexts:
                m.contexts.add(dirname(m.path))
            for c in m.contexts:
                self.by_context.setdefault(c, []).append(m)

    # -- reading -------------------------------------------------------------
    def text(self, path: str) -> str | None:
        return self.ctx.read(path)

    def ignore(self, ctxdir: str) -> DockerIgnore:
        if ctxdir not in self._ignores:
            f = R.norm(ctxdir, ".dockerignore")
            self._ignores[ctxdir] = DockerIgnore(self.text(f) if self.ctx.exists(f) else None)
        return self._ignores[ctxdir]

    # -- references ----------------------------------------------------------
    def _find_refs(self):
        ctx, mset = self.ctx, self.paths
        for doc in ctx.documents((disc.COMPOSE,)):
            self.refs += self._safe(doc, lambda d: R.compose_refs(d, mset, ctx.document))
        for doc in ctx.documents((disc.WORKFLOW,)):
            def wf(d):
                matrix = R.workflow_matrix(d)
                return R.action_refs(d, mset, matrix) + R.shell_refs(d.path, d.kind, d.text, mset, ctx.exists, matrix)
            self.refs += self._safe(doc, wf)
        for doc in ctx.documents((disc.SCRIPT, disc.YAML)):
            self.refs += R.shell_refs(doc.path, doc.kind, doc.text, mset, ctx.exists)
        for doc in ctx.documents((disc.PYTHON,), needles=("ocker", "ontainerfile", "podman", "buildah"),
                                 wants=R.may_refer):
            self.refs += self._safe(doc, lambda d: R.python_refs(d, mset))
        claimed: dict[str, list] = {}
        for r in self.refs:
            claimed.setdefault(r.path, []).extend(r.spans)
            for f in r.files:
                m = self.members[f]
                m.refs.append(r)
                if f in r.contexts:
                    m.contexts.add(r.contexts[f])
                if r.problem:
                    self.blocked.setdefault(f, r.problem)
        include = ctx.settings.get("include-inactive", False)
        for path in sorted(ctx.ws.all_paths):
            parts = path.split("/")
            if (disc.name_kind(path, set()) == disc.DOCKERFILE or path.endswith(".dockerignore")
                    or any(p in disc.SKIP_DIRS for p in parts[:-1])):
                continue
            text = self.text(path)
            if not text or ("ockerfile" not in text and "ontainerfile" not in text and "DOCKERFILE" not in text):
                continue
            dead = inactive.check(path, include)
            if dead:     # a backup or archive copy builds nothing: listed, never blocking
                for m in R.shell.CMD.finditer(text):
                    self.inactive_refs.append(f"{path}:{text.count(chr(10), 0, m.start()) + 1} ({dead})")
            for f, line, tok in R.mentions(path, text, mset, claimed.get(path, [])):
                if dead:
                    where = f"{path}:{line} ({dead})"
                    if where not in self.inactive_refs:
                        self.inactive_refs.append(where)
                elif path.lower().endswith(R.DOCS):
                    self.doc_mentions.setdefault(f, []).append(f"{path}:{line}")
                else:
                    self.blocked.setdefault(f, f"{path}:{line} uses it ({tok}) in a way fixer cannot rewrite")

    def _safe(self, doc, fn):
        try:
            return fn(doc)
        except ParseError as exc:
            self.ctx.error(doc.path, str(exc))
            return []

    # -- images ----------------------------------------------------------------
    def copied(self, path: str) -> str | None:
        """Why removing or adding `path` would change some image, or None.

        A Dockerfile taken in by a `COPY` of its folder (or a glob) is a build recipe,
        not image content: the images that held it are recorded in `recipes` and the
        change is allowed. A COPY naming the file itself keeps it.
        """
        recipe = disc.name_kind(path, set()) == disc.DOCKERFILE
        parts = path.split("/")
        for n in range(len(parts)):
            c = "/".join(parts[:n])
            for m in self.by_context.get(c, []):
                relp = R.relto(path, c)
                if self.ignore(c).excluded(relp):
                    continue
                for ins, source in m.context_mounts():
                    if copies([source], relp) is not False:
                        return (f"{m.path}:{ins.start_line + 1} mounts {source} of its build context "
                                f"{c or '.'} (RUN --mount), which holds {path}")
                for ins, srcs in m.copy_sources():
                    hit = copies(srcs, relp)
                    if hit is None:
                        return f"{m.path}:{ins.start_line + 1} copies a computed path from context {c or '.'}"
                    if hit and recipe and not any(posixpath.normpath(x.lstrip("/")) == relp for x in srcs):
                        held = self.recipes.setdefault(path, [])
                        if m.path not in held:
                            held.append(m.path)
                        continue
                    if hit:
                        return (f"{m.path}:{ins.start_line + 1} copies {path} into its image "
                                f"(context {c or '.'}); moving it would change the image")
        return None


def run(codemod, ctx):
    opts = codemod.options(ctx)
    threshold = float(opts.get("threshold", 0.8))
    outdir_opt = opts.get("output")
    filename = opts.get("filename", "Dockerfile")
    repo = Repo(ctx)
    # contexts only split clusters further: nothing to merge without them, nothing with
    found = clusters(list(repo.members.values()), threshold)
    yield from _other_families(repo, found, threshold)
    if not found:
        yield from _why_none(list(repo.members.values()), threshold)
        return
    repo.study()
    clustered = sorted({m.path for cl in found for m in cl})
    for i, path in enumerate(clustered):
        if i % buildkit.BATCH == 0:   # documents are read again: parse them in batches
            ctx.ws.prefetch(clustered[i:i + buildkit.BATCH])
        m = repo.members[path]
        why = repo.blocked.get(path) or _suppressed(m, codemod.id)
        if why is None and m.generated:
            why = "its header says it is generated: the generator would undo the merge"
        if why is None and ctx.exists(path + ".dockerignore"):
            why = f"it has its own {posixpath.basename(path)}.dockerignore"
        if why is None:
            why = repo.copied(path)
        if why:
            m.why_out = why
    groups = join_by_refs(found, repo.refs)
    used: set[str] = ctx.shared.setdefault("dockerfile-consolidate:outputs", set())
    for cl in groups:
        out = [m for m in cl if m.why_out]
        for m in out:
            yield Skip(m.path, 0, f"left out of the cluster with {_others(cl, m)}: {m.why_out}")
        keep = [m for m in cl if m not in out]
        yield from _cluster(codemod, ctx, repo, keep, threshold, outdir_opt, filename, used)
    for where in repo.inactive_refs:
        ctx.note(codemod, f"reference in an inactive tree, left as written (blocks nothing): {where}")


def _suppressed(m: Member, cid: str) -> str | None:
    """A Dockerfile with a `# fixer: ignore` for consolidation anywhere is never merged or deleted."""
    sups = Suppressions(m.doc, m.doc.text, cid)
    return f"{m.path}: {Suppressions.reason(sups.blocks[0])}" if sups else None


def _suppressed_edit(ctx, e: Edit, cid: str) -> str | None:
    """' line: reason' when a reference rewrite lands in a suppressed block."""
    text = ctx.read(e.path)
    if not text or "fixer:" not in text:
        return None
    doc = ctx.document(e.path) if e.path in ctx.ws.files else None
    sups = Suppressions(doc, text, cid)
    block = sups.block_of(e)
    return f"{block.first + 1}: the reference is {Suppressions.reason(block)}" if block else None


def _other_families(repo, found, threshold: float):
    """A Skip for each Dockerfile left alone only because its near-duplicates belong to
    other projects (families never share a file)."""
    inside = {m.path for cl in found for m in cl}
    rest = [m for m in repo.members.values() if m.path not in inside]
    for cl in clusters(rest, threshold, families=False):
        roots = {m.root for m in cl}
        if len(roots) < 2:
            continue
        for m in cl:
            other = next(x for x in cl if x.root != m.root)
            if m.generated:
                yield Skip(m.path, 0, f"near-duplicate of {other.path}, but its header says it is generated: "
                           "the generator would undo a merge")
                continue
            yield Skip(m.path, 0, f"near-duplicate of {other.path}, which belongs to another project "
                       f"({other.root or '.'}, this one: {m.root or '.'}): projects never share a Dockerfile")


MAX_COMPARED = 50    # Dockerfiles compared pairwise to name the closest pair


def _why_none(members: list[Member], threshold: float):
    """One Skip saying why Dockerfiles of the repository were not merged (none when fewer than two)."""
    if len(members) < 2:
        return
    members = sorted(members, key=lambda m: m.path)[:MAX_COMPARED]
    pairs = [(similarity(a.shape, b.shape), a, b) for i, a in enumerate(members)
             for b in members[i + 1:] if a.bucket == b.bucket and a.root == b.root]
    if not pairs:
        yield Skip(members[0].path, 0, "no two Dockerfiles of one family (compose project or parent folder) "
                   "share parser directives, global ARGs and first FROM: nothing to merge")
        return
    sim, a, b = max(pairs, key=lambda p: p[0])
    yield Skip(a.path, 0, f"closest to {b.path} at similarity {sim:.2f}, below the threshold "
               f"{threshold:.2f}: nothing merged")


def join_by_refs(groups, refs):
    """One script, Makefile, workflow or compose file builds one family: the clusters
    its references span (same bucket) become one."""
    parent = list(range(len(groups)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    where = {m.path: i for i, g in enumerate(groups) for m in g}
    by_source: dict[str, set[int]] = {}
    for r in refs:
        by_source.setdefault(r.path, set()).update(where[f] for f in r.files if f in where)
    for idx in by_source.values():
        idx = sorted(idx)
        for j in idx[1:]:
            if groups[j][0].bucket == groups[idx[0]][0].bucket:
                parent[find(j)] = find(idx[0])
    out: dict[int, list] = {}
    for i, g in enumerate(groups):
        out.setdefault(find(i), []).extend(g)
    return sorted((sorted(g, key=lambda m: m.path) for g in out.values()), key=lambda g: g[0].path)


def _others(cl, m) -> str:
    rest = [x.path for x in cl if x is not m]
    return ", ".join(rest[:3]) + (f" and {len(rest) - 3} more" if len(rest) > 3 else "")


def _output(ctx, common, outdir, filename, paths, used):
    d = common if outdir is None else str(outdir).strip("/")
    # `Dockerfile` (or the configured name); when another file holds it, `Dockerfile.merged`
    for name in (filename, f"{filename}.merged") + tuple(f"{filename}.merged-{n}" for n in range(2, 50)):
        p = R.norm(d, name)
        if p in paths or (not ctx.exists(p) and p not in used):
            return p
    return None


def _cluster(codemod, ctx, repo, members, threshold, outdir, filename, used):
    members = sorted(members, key=lambda m: m.path)
    ctx.ws.prefetch([m.path for m in members])
    while len(members) >= 2:
        paths = [m.path for m in members]
        common = common_dir(paths)
        newpath = _output(ctx, common, outdir, filename, set(paths), used)
        if newpath is None:
            yield Skip(paths[0], 0, f"no free file name for the merged Dockerfile in {common or '.'}")
            return
        names: dict[str, str] = {}
        clash = None
        for m in members:
            n = target_name(m.path, common)
            if n in names.values():
                clash = (m, n)
                break
            names[m.path] = n
        if clash:
            yield Skip(clash[0].path, 0, f"left out: its target name {clash[1]} is taken by another file")
            members.remove(clash[0])
            continue
        base_name = sanitize((posixpath.basename(common) or "app") + "-base")
        while base_name in names.values():
            base_name += "-shared"
        try:
            merged = Merged(members, names, base_name)
        except Unsafe as exc:
            yield Skip(paths[0], 0, f"cluster {', '.join(paths)} not merged: {exc}")
            return
        if newpath not in paths:
            why = repo.copied(newpath)
            if why:
                yield Skip(paths[0], 0, f"cluster not merged: {newpath} would land in an image: {why}")
                return
        dest = R.Dest(newpath, common, names, merged.stage_map)
        dest_of = lambda p: dest if p in names else None  # noqa: E731
        edits: list[Edit] = []
        seen: set[int] = set()
        drop: dict[str, str] = {}
        nrefs = 0
        for m in members:
            for ref in m.refs:
                if id(ref) in seen:
                    continue
                seen.add(id(ref))
                try:
                    if ref.rewrite is None:
                        raise Unsafe(ref.problem or f"{ref.where()}: cannot be rewritten")
                    new = ref.rewrite(dest_of)
                    for e in new:
                        why = _suppressed_edit(ctx, e, codemod.id)
                        if why:
                            raise Unsafe(f"{e.path}:{why}")
                    edits += new
                    nrefs += 1
                except Unsafe as exc:
                    for f in ref.files:
                        if f in names:
                            drop.setdefault(f, str(exc))
        if drop:
            for f, why in sorted(drop.items()):
                yield Skip(f, 0, f"left out: a reference cannot be rewritten: {why}")
            members = [m for m in members if m.path not in drop]
            continue
        used.add(newpath)
        doc0 = ctx.document(newpath)
        edits.append(Edit(newpath, 0, len(doc0.text) if newpath in paths and doc0 else 0, merged.text))
        edits += [Edit(p, 0, 0, None) for p in paths if p != newpath]
        # dedupe: one assignment or function may serve several build commands
        edits = list({(e.path, e.start, e.end, e.text): e for e in edits}.values())
        msg = _message(merged, newpath, nrefs) + _recipes(repo, paths, newpath)
        yield Finding(newpath, 0, msg, edits, check=CHECK)
        _notes(codemod, ctx, repo, merged, newpath)
        return
    if members:
        yield Skip(members[0].path, 0, "nothing left to merge it with")


def _message(merged: Merged, newpath: str, nrefs: int) -> str:
    ms = merged.members
    first = ms[0].doc.stages[0]
    lines = [f"{len(ms)} near-duplicate Dockerfiles merged into {newpath} "
             f"({nrefs} reference(s) rewritten)",
             f"shared: FROM {first.base}" + (f" + {merged.prefix} instruction(s) in stage {merged.base_name}"
                                             if merged.prefix else "")]
    for m, doc in with_docs(ms):      # parses fetched in batches (a cluster outgrows the caches)
        rest = sum(len(s.instructions) for s in doc.stages) - 1 - merged.prefix
        extra = f", {len(doc.stages)} stages" if len(doc.stages) > 1 else ""
        lines.append(f"  {m.path} -> --target {merged.names[m.path]} "
                     f"({rest} own instruction(s){extra}, {len(m.refs)} reference(s))")
    return "\n".join(lines)


def _recipes(repo, paths: list[str], newpath: str) -> str:
    """Commit-message lines for images whose only change is the build recipes they held."""
    lost: dict[str, list[str]] = {}
    for p in sorted(set(paths) | {newpath}):
        for image in repo.recipes.get(p, []):
            lost.setdefault(image, []).append(("+" if p == newpath and p not in paths else "-") + p)
    if not lost:
        return ""
    lines = [f"  {image}: {', '.join(ps)}" for image, ps in sorted(lost.items())]
    return ("\nbuild recipes are not image content: these images differ only in the Dockerfiles "
            "their COPY took from the build context (- no longer held, + now held):\n" + "\n".join(lines))


def _notes(codemod, ctx, repo, merged, newpath):
    for m in merged.members:
        name = merged.names[m.path]
        ctx.note(codemod, f"{m.path} -> {newpath} --target {name}")
        if not m.refs:
            ctx.note(codemod, f"  no build of {m.path} found in the repository; builders elsewhere "
                     f"need -f {newpath} --target {name}")
        for where in repo.doc_mentions.get(m.path, []):
            ctx.note(codemod, f"  {where} mentions {m.path}: update the documentation by hand")

