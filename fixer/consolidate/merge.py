"""Target names and the text of the merged Dockerfile."""
from __future__ import annotations

import posixpath
import re

from .. import buildkit
from .members import PREFIX_STOP, Member, key, rel

# a template placeholder kept whole in names: ${{ matrix.x }} or an f-string {x}
EXPR = re.compile(r"\$\{\{[^}]*\}\}|\{[A-Za-z_][A-Za-z0-9_]*\}")
_NAMES = ("dockerfile", "containerfile")


class Unsafe(Exception):
    """The merge or a rewrite cannot be done safely; the message says why."""


def _suffix(fname: str) -> str | None:
    low = fname.lower()
    for n in _NAMES:
        if low == n:
            return ""
        if low.startswith(n + ".") or low.startswith(n + "-") or low.startswith(n + "_"):
            return fname[len(n) + 1:]
        if low.endswith("." + n):
            return fname[: -len(n) - 1]
    return None


def sanitize(name: str) -> str:
    parts = EXPR.split(name)
    exprs = EXPR.findall(name)
    out = []
    for i, p in enumerate(parts):
        out.append(re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9._-]+", "-", p.lower())))
        if i < len(exprs):
            out.append(exprs[i])
    s = "".join(out).strip("-.") if not exprs else "".join(out)
    if not s or not (s[0].isalpha() or s.startswith(("${{", "{"))):
        s = "t-" + s
    return s


def target_name(path: str, common: str) -> str:
    """`mcp-servers/ai-memory/Dockerfile.uv` in `mcp-servers` -> `ai-memory-uv`.

    The varying part of the path (directories below the common one) becomes the
    name, plus the file-name suffix; a file directly in the common directory is
    named after that directory.
    """
    parts = rel(path, common).split("/")
    fname, dirs = parts[-1], parts[:-1]
    suffix = _suffix(fname)
    if suffix is None:
        suffix = fname
    base = "-".join(dirs) if dirs else (posixpath.basename(common) or "app")
    return sanitize(base + ("-" + suffix if suffix else ""))


def common_dir(paths: list[str]) -> str:
    dirs = [p.split("/")[:-1] for p in paths]
    out = []
    for parts in zip(*dirs):
        if len(set(parts)) != 1:
            break
        out.append(parts[0])
    return "/".join(out)


def with_docs(members: list[Member]):
    """(member, its document), the parses fetched BATCH at a time: a cluster can be larger
    than the parse caches, and one round trip to the parser per member is slow."""
    for i in range(0, len(members), buildkit.BATCH):
        chunk = [(m, m.doc) for m in members[i:i + buildkit.BATCH]]
        buildkit.prefetch([d.text for _, d in chunk])
        yield from chunk


def shared_prefix(members: list[Member]) -> int:
    """Number of instructions after the first FROM that every member shares."""
    seqs = []
    for m, doc in with_docs(members):       # an instruction is shared with the comments above it
        ins = doc.stages[0].instructions
        seqs.append([(key(i), _leading(doc, i, ins[n].end)) for n, i in enumerate(ins[1:])])
    n = 0
    for col in zip(*seqs):
        if len(set(col)) != 1 or col[0][0][0] in PREFIX_STOP:
            break
        n += 1
    return n


def _chunk(doc, start: int, end: int, skip_lines: int = 0) -> str:
    text = doc.text[start:end].replace("\r\n", "\n")
    if skip_lines:
        text = "".join(text.splitlines(True)[skip_lines:])
    if text and not text.endswith("\n"):
        text += "\n"
    return text


def _leading(doc, ins, prev_end: int) -> str:
    """Comment lines between the previous instruction and this one."""
    lines = doc.text[prev_end:ins.start].replace("\r\n", "\n").splitlines(True)
    return "".join(ln for ln in lines if ln.strip().startswith("#"))


class Merged:
    def __init__(self, members: list[Member], names: dict[str, str], base_name: str):
        self.members = members
        self.names = names
        self.base_name = base_name
        self.prefix = shared_prefix(members)
        self.stage_map: dict[str, dict[str, str]] = {}    # member -> old stage name -> new
        self.text = self._build()

    def _build(self) -> str:
        first = self.members[0].doc
        out: list[str] = []
        ndir = len(first.directives)
        for n in range(ndir):
            out.append(first.line_text(n) + "\n")
        for ins in self.members[0].prelude:
            out.append(_chunk(first, ins.start, ins.end))
        out.append("# One target per original Dockerfile (build with --target NAME):\n")
        for m in self.members:
            out.append(f"#   {self.names[m.path]}: {m.path}\n")
        used = {self.base_name} if self.prefix else set()
        externals: set[str] = set()
        if self.prefix:
            st = first.stages[0]
            flags = " ".join(st.from_ins.flags)
            out.append("\n")
            out.append(f"FROM {flags + ' ' if flags else ''}{st.base} AS {self.base_name}\n")
            prev = st.from_ins.end
            for ins in st.instructions[1:1 + self.prefix]:
                out.append(_leading(first, ins, prev) + _chunk(first, ins.start, ins.end))
                prev = ins.end
        for m, doc in with_docs(self.members):
            out.append("\n")
            out.append(self._member(m, doc, used, externals))
        clash = used & externals
        if clash:
            raise Unsafe(f"stage name {sorted(clash)[0]} would hide an image of the same name")
        text = "".join(out)
        nl = first.newline
        return text if nl == "\n" else text.replace("\n", nl)

    def _member(self, m: Member, doc, used: set[str], externals: set[str]) -> str:
        target = self.names[m.path]
        stages = doc.stages
        mapping: dict[str, str] = {}
        for st in stages:
            if st.index == len(stages) - 1:
                new = target
            else:
                new = f"{target}-{(st.name or f'stage{st.index}').lower()}"
            if new in used:
                raise Unsafe(f"stage name {new} of {m.path} collides with another target")
            used.add(new)
            if st.name:
                mapping[st.name.lower()] = new
            mapping[str(st.index)] = new
        self.stage_map[m.path] = mapping
        out: list[str] = []
        prelude_end = max((i.end for i in m.prelude), default=0)
        for st in stages:
            fr = st.from_ins
            if st.index == 0:
                lead = _chunk(doc, prelude_end, fr.start, 0 if m.prelude else len(doc.directives))
                lead = "".join(ln for ln in lead.splitlines(True) if ln.strip().startswith("#"))
                out.append(lead)
                base = self.base_name if self.prefix else st.base
                flags = "" if self.prefix else " ".join(fr.flags)
                body = st.instructions[1 + self.prefix:]
            else:
                out.append(_leading(doc, fr, stages[st.index - 1].instructions[-1].end))
                earlier = {s.name.lower() for s in stages[:st.index] if s.name}
                base = mapping[st.base.lower()] if st.base.lower() in earlier else st.base
                if base == st.base:
                    externals.add(st.base.lower())
                flags = " ".join(fr.flags)
                body = st.instructions[1:]
            out.append(f"FROM {flags + ' ' if flags else ''}{base} AS {mapping[str(st.index)]}\n")
            prev = (st.instructions[self.prefix].end if st.index == 0 else fr.end)
            for ins in body:
                out.append(_leading(doc, ins, prev) + self._instruction(doc, ins, mapping, st.index, externals))
                prev = ins.end
        # comments after the last instruction stay with their target
        tail = "".join(ln for ln in doc.text[doc.instructions[-1].end:].replace("\r\n", "\n").splitlines(True)
                       if ln.strip().startswith("#"))
        out.append(tail if not tail or tail.endswith("\n") else tail + "\n")
        return "".join(out)

    def _instruction(self, doc, ins, mapping, stage_index: int, externals: set[str]) -> str:
        edits = []
        for word, s, e in doc.words(ins):
            low = word.lower()
            if low.startswith("--from="):
                ref = word[7:]
                new = self._stage_ref(ref, mapping, stage_index, externals)
                if new != ref:
                    edits.append((s + 7, e, new))
            elif low.startswith("--mount="):
                opts = word[8:].split(",")
                changed = False
                for j, o in enumerate(opts):
                    if o.lower().startswith("from="):
                        new = self._stage_ref(o[5:], mapping, stage_index, externals)
                        if new != o[5:]:
                            opts[j], changed = "from=" + new, True
                if changed:
                    edits.append((s, e, "--mount=" + ",".join(opts)))
            elif not low.startswith("--") and s > ins.start:
                break
        text = doc.text
        pieces, pos = [], ins.start
        for s, e, new in edits:
            pieces += [text[pos:s], new]
            pos = e
        pieces.append(text[pos:ins.end])
        chunk = "".join(pieces).replace("\r\n", "\n")
        return chunk if chunk.endswith("\n") else chunk + "\n"

    @staticmethod
    def _stage_ref(ref: str, mapping: dict[str, str], stage_index: int, externals: set[str]) -> str:
        low = ref.lower()
        if low.isdigit():
            if int(low) >= stage_index:
                raise Unsafe(f"--from={ref} does not name an earlier stage")
            return mapping[low]
        if low in mapping:
            return mapping[low]
        if "$" in ref:
            raise Unsafe(f"--from={ref} is computed from a variable")
        externals.add(low)
        return ref
