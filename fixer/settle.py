"""A codemod's results, settled: findings recorded with lines of the file on disk,
suppressed ones set aside, edits applied, every changed file validated, and the fixes
that would break a file dropped with the reason."""
from __future__ import annotations

from . import buildkit, helmrender
from .helmrender import touched as helm_touched
from . import discovery as disc
from .codemod import Codemod, Finding, Skip
from .context import Context
from .helm import preserves_actions as helm_preserves
from .suppress import Suppressions, comment_line
from .suppress import reason as suppressed_reason
from .text import EditConflict, apply_edits
from .validate import LOST_ACTION, validate
from .waivers import block_of
from .workspace import ChangeSet, Workspace


HELD = "unsafe fix, not applied (--unsafe-fixes to apply it)"


def label(ctx: Context, cm: Codemod, f: Finding) -> str:
    """A fix's safety label: the configuration's for the codemod, else the finding's own,
    else the codemod's default."""
    return ctx.settings.safety(cm.id) or f.safety or cm.safety


class Settler:
    def __init__(self, ws: Workspace, ctx: Context):
        self.ws = ws
        self.ctx = ctx
        # plan and check show every fix; apply and check --write hold unsafe ones back
        self.unsafe = not ctx.settings.get("hold-unsafe", False)
        self.waivers = ctx.settings.get("waivers")      # fixer.waivers.Waivers, or None

    def collect(self, cs: ChangeSet, results: list) -> list[Finding]:
        """Record a codemod's results. Their lines are of the text it saw (earlier codemods'
        output): suppression is decided there, then lines are mapped to the file on disk."""
        found = []
        marked: dict[str, bool] = {}     # path -> holds a `fixer:` comment (searched once)
        for r in results:
            r.codemod = cs.codemod.id
            st = self.ws.files.get(r.path)
            if isinstance(r, Skip):
                cs.skips.append(r)
            else:
                if r.path not in marked:
                    marked[r.path] = bool(st and st.text and "fixer:" in st.text)
                line = comment_line(self.ws.document(r.path), st.text, r.line, cs.codemod.id) \
                    if marked[r.path] else 0
                if line:
                    line = self.ws.line(r.path, line)
                    r.status, r.note = "suppressed", suppressed_reason(line)
                r.confidence = r.confidence or cs.codemod.confidence
                doc = self.ws.document(r.path) if st is not None and st.text else None
                r.block = block_of(doc, r.line) if doc is not None else ""
                if not line and self.waivers:
                    self.waive(cs, r)
                if r.edits:
                    r.safety = label(self.ctx, cs.codemod, r)
                cs.findings.append(r)
                found.append(r)
            r.line = self.ws.line(r.path, r.line)
        return found

    def waive(self, cs: ChangeSet, r: Finding) -> None:
        """An exclusion (.fixer-ignore.toml) or the baseline covers the finding: nothing
        of it is applied, and a skip gives the reason."""
        why = self.waivers.match(cs.codemod.id, r.path, r.block, r.message)
        if why:
            r.status, r.note = "suppressed", why
            cs.skips.append(Skip(r.path, self.ws.line(r.path, r.line), why, cs.codemod.id))

    def settle(self, cs: ChangeSet, findings: list[Finding]) -> None:
        """Apply a codemod's edits, validate, drop what breaks a file."""
        cid = cs.codemod.id
        active: list[Finding] = []
        sups: dict[str, Suppressions | None] = {}
        for f in findings:
            if f.status == "suppressed":
                continue
            skip = self.blocked(f, cid, sups) if f.edits else None
            if skip:
                f.status, f.note = "suppressed", skip.reason
                cs.skips.append(skip)
            elif not f.edits:
                f.status = "reported"
            elif f.safety == "unsafe" and not self.unsafe:
                f.status, f.note = "held", HELD
            else:
                active.append(f)
        while True:
            new_texts, conflicts = self.apply(active)
            # Dockerfiles are validated by BuildKit in a child process: one round trip for all
            buildkit.prefetch([t for p, t in new_texts.items()
                               if t and p in self.ws.files and self.ws.files[p].kind == disc.DOCKERFILE])
            for f in conflicts:
                f.status, f.note = "dropped", "its edits overlap another fix"
                active.remove(f)
            bad = self.invalid(new_texts)
            if not bad:
                # the charts these fixes touch, rendered by Helm before and after
                if helm_touched(self.ws, new_texts) and helmrender.settle(self, cs, active):
                    continue
                break
            for f, path, reason in self.culprits(active, bad, new_texts):
                f.status, f.note = "dropped", f"{path}: {reason}"
                self.ctx.error_line(self.dropped_line(cid, f, path, reason, alone=len(active) == 1))
                active.remove(f)
        for f in active:
            f.status = "fixed"
        edits_of: dict[str, list] = {}
        for f in active:
            for e in f.edits:
                edits_of.setdefault(e.path, []).append(e)
        for path, new in new_texts.items():
            old = self.ws.text(path)
            if new != old:
                cs.record(path, old, new)
                if old is not None and new is not None:
                    self.ws.origins.record(path, edits_of.get(path, []))
                self.ws.set_text(path, new)
        cs.pack()

    def culprits(self, active: list[Finding], bad: dict[str, str],
                 new_texts: dict[str, str | None]) -> list[tuple[Finding, str, str]]:
        """The fixes to drop for the invalid files, with the file and the reason: per file,
        its fixes are added one at a time (in the codemod's order) and each one whose
        addition makes the file invalid is left out, so the others stay. A fix is only
        kept whole: one left out of a file is dropped everywhere (the next round checks
        its other files again)."""
        moved = self.actions_moved(new_texts)
        out: list[tuple[Finding, str, str]] = []
        taken: set[int] = set()
        for path, why in bad.items():
            old = self.ws.text(path)
            base = old if old is not None else ""
            kind = self.ws.kind_of(path, new_texts.get(path))
            kept: list = []
            for f in active:
                es = [e for e in f.edits if e.path == path]
                if not es or id(f) in taken:
                    continue
                reason = self.check(kind, path, old, apply_edits(base, kept + es), moved)
                if reason:
                    out.append((f, path, reason))
                    taken.add(id(f))
                else:
                    kept += es
            if not any(p == path for _, p, _ in out):
                # only the fixes together break it (or a fix without an edit here): all go
                for f in active:
                    if id(f) not in taken and path in f.paths:
                        out.append((f, path, why))
                        taken.add(id(f))
        return out

    @staticmethod
    def dropped_line(cid: str, f: Finding, path: str, reason: str, alone: bool) -> str:
        """The warning for a dropped fix: which one (when the codemod had others) and why."""
        if alone:
            return f"{path}: {cid} edit dropped, output would be invalid: {reason}"
        where = f"line {f.line}" if f.path == path else f"{f.path}:{f.line}"
        return (f"{path}: {cid} fix for {where} dropped ({f.message}), output would be invalid: "
                f"{reason}; its other fixes are kept")

    @staticmethod
    def check(kind: str, path: str, old: str | None, new: str, moved: bool) -> str | None:
        reason = validate(kind, path, old, new)
        if reason == LOST_ACTION and moved:
            # the action moved to another template changed in this round
            reason = validate(kind, path, old, new, check_actions=False)
        return reason

    def invalid(self, new_texts: dict[str, str | None]) -> dict[str, str]:
        """Path -> why its new text is invalid, for the changed files that are."""
        bad: dict[str, str] = {}
        moved = self.actions_moved(new_texts)
        for path, new in new_texts.items():
            old = self.ws.text(path)
            if new is None or new == old:
                continue
            reason = self.check(self.ws.kind_of(path, new), path, old, new, moved)
            if reason:
                bad[path] = reason
        return bad

    def blocked(self, f: Finding, cid: str, sups: dict[str, Suppressions | None]) -> Skip | None:
        """A Skip when one of the finding's edits lands in a block a `# fixer: ignore`
        comment protects (the finding is then left whole: nothing of it is applied)."""
        for e in f.edits:
            if e.path not in sups:     # None: the file holds no `fixer:` comment (searched once)
                st = self.ws.files.get(e.path)
                sups[e.path] = Suppressions(self.ws.document(e.path), st.text, cid) \
                    if st is not None and st.text and "fixer:" in st.text else None
            if sups[e.path] is None:
                continue
            block = sups[e.path].block_of(e)
            if block is not None:
                line = self.ws.line(e.path, block.first + 1)
                comment = self.ws.line(e.path, block.comment + 1)
                return Skip(e.path, line, suppressed_reason(comment), cid)
        return None

    def actions_moved(self, new_texts: dict[str, str | None]) -> bool:
        """True when the Helm templates changed in this round, taken together, keep every
        template action they had (an action may move from one template to another)."""
        old_texts, news = [], []
        for path, new in new_texts.items():
            st = self.ws.files.get(path)
            kind = st.kind if st else disc.name_kind(path, self.ws.charts)
            if kind != disc.HELM:
                continue
            if st is not None and st.text is not None:
                old_texts.append(st.text)
            if new is not None:
                news.append(new)
        return helm_preserves("\n".join(old_texts), "\n".join(news))

    def apply(self, findings: list[Finding]):
        """New text per path; findings whose edits conflict are returned apart."""
        by_path: dict[str, list[tuple[Finding, list]]] = {}
        for f in findings:
            per: dict[str, list] = {}
            for e in f.edits:
                per.setdefault(e.path, []).append(e)
            for p, es in per.items():
                by_path.setdefault(p, []).append((f, es))
        out: dict[str, str | None] = {}
        conflicts: list[Finding] = []
        for path, groups in by_path.items():
            st = self.ws.files.get(path)
            base = st.text if st and st.text is not None else ""
            deletes = [f for f, es in groups if any(e.deletes_file for e in es)]
            if deletes:
                out[path] = None
                continue
            edits = [e for _, es in groups for e in es]
            try:
                out[path] = apply_edits(base, edits)
                continue
            except EditConflict:
                pass
            kept: list = []
            for f, es in groups:
                try:
                    apply_edits(base, kept + es)
                    kept += es
                except EditConflict:
                    conflicts.append(f)
            out[path] = apply_edits(base, kept)
        if conflicts:
            # recompute without the conflicting findings so multi-file fixes stay whole
            rest = [f for f in findings if f not in conflicts]
            out, more = self.apply(rest)
            return out, conflicts + more
        return out, conflicts
