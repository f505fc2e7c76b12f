"""Every finding names a line of the file as it is on disk, inside the block it names.

All codemods run together (later ones see earlier ones' output), on the bundled example
and on every golden case's input; the blocks are found independently, with PyYAML and
BuildKit's parser, on the original files.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from fixer import config, golden, helm, runner
from fixer.discovery import WorkTree
from fixer.dockerdoc import Dockerfile
from fixer.origin import Origins, back, line_of, line_start, splices
from fixer.text import Edit, apply_edits

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "audit-repo"
TREES = [EXAMPLE] + [c / "input" for c in golden.cases()]

# instruction keywords a Dockerfile finding of each codemod may point at
DOCKERFILE_LINES = {
    "dockerfile-add-to-copy": {"ADD"},
    "dockerfile-pip-no-cache": {"RUN"},
    "dockerfile-apt-hygiene": {"RUN"},
    "dockerfile-apk-no-cache": {"RUN"},
    "dockerfile-maintainer": {"MAINTAINER"},
    "dockerfile-exec-form": {"CMD", "ENTRYPOINT"},
}


def _run_all(tree: Path):
    s = config.load(tree)
    s.only, s.skip, s.offline = [], [], True
    return runner.run(WorkTree(tree, use_git=False), s, root=tree)


def _span(node) -> tuple[int, int]:
    """1-based first and last line of a YAML node (an end mark at column 0 ends the line before)."""
    end = node.end_mark.line + (1 if node.end_mark.column > 0 else 0)
    return node.start_mark.line + 1, max(end, node.start_mark.line + 1)


def _yaml_docs(path: str, text: str) -> list:
    src = helm.mask(text) if "{{" in text else text
    try:
        return [d for d in yaml.compose_all(src, Loader=yaml.CSafeLoader) if d is not None]
    except yaml.YAMLError:
        return []


def _get(node, key):
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return k, v
    return None


def _walk(node):
    yield node
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield from _walk(v)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            yield from _walk(v)


def _key_span(kv) -> tuple[int, int]:
    k, v = kv
    return k.start_mark.line + 1, _span(v)[1]


def _blocks(path: str, text: str, message: str, codemod: str) -> list[tuple[int, int]] | None:
    """Line ranges the finding's message names in the original file; None: it names the
    whole file (a workflow, a compose file's networks)."""
    if Path(path).name.startswith(("Dockerfile", "Containerfile")) or path.endswith(".Dockerfile"):
        ins = Dockerfile(path, text).instructions
        kws = DOCKERFILE_LINES.get(codemod)
        if "HEALTHCHECK uses" in message:
            kws = {"HEALTHCHECK"}
        return [(i.start_line + 1, i.end_line + 1) for i in ins if kws is None or i.cmd in kws]
    docs = _yaml_docs(path, text)
    m = re.match(r"service(?:\(s\))? (\S+?)[ :;,(]", message)
    if m:
        out = []
        for d in docs:
            services = _get(d, "services")
            kv = services and _get(services[1], m.group(1))
            if kv:
                out.append(_key_span(kv))
        return out
    m = re.match(r"job (\S+?)[ :]", message)
    if m:
        jobs = [_get(_get(d, "jobs")[1], m.group(1)) for d in docs if _get(d, "jobs")]
        return [_key_span(kv) for kv in jobs if kv]
    m = re.search(r"\b(?:init )?container (\S+?)[ :]", message)
    if m:
        containers = [n for d in docs for n in _walk(d) if isinstance(n, yaml.MappingNode) and _get(n, "image")]
        if m.group(1).startswith("#"):
            index = int(m.group(1)[1:]) - 1
            lists = [n for d in docs for n in _walk(d) if isinstance(n, yaml.SequenceNode)
                     and any(c in n.value for c in containers)]
            return [_span(seq.value[index]) for seq in lists if index < len(seq.value)]
        return [_span(n) for n in containers if (name := _get(n, "name")) and name[1].value == m.group(1)]
    m = re.match(r"([A-Z]\w+)(?: (\S+))? runs without", message)
    if m:
        return [_span(n) for d in docs for n in _walk(d) if isinstance(n, yaml.MappingNode)
                and (k := _get(n, "kind")) and k[1].value == m.group(1)]
    m = re.match(r"([\w.-]+) has a secret default", message)
    if m:
        node = docs[0] if docs else None
        for part in m.group(1).split("."):
            kv = _get(node, part)
            node = kv[1] if kv else None
        return [_span(node)] if node is not None else []
    if message.startswith(("workflow ", "all services share")):
        return None
    raise AssertionError(f"{path}: no block found for message {message!r}")


@pytest.mark.parametrize("tree", TREES, ids=lambda p: str(p.relative_to(ROOT)))
def test_finding_lines_lie_in_the_block_they_name(tree):
    result = _run_all(tree)
    checked = 0
    for cs in result.changesets:
        for f in cs.findings:
            disk = tree / f.path
            if not disk.is_file():
                continue   # a file fixer creates
            text = disk.read_text("utf-8-sig")
            n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
            assert 0 <= f.line <= n_lines, f"{f.path}:{f.line}: {f.message} (file has {n_lines} lines)"
            blocks = _blocks(f.path, text, f.message, cs.codemod.id)
            if blocks is None:
                continue
            if not blocks and "service" in f.message:
                continue   # a service fixer adds (a socket proxy)
            assert any(a <= f.line <= b for a, b in blocks), \
                f"{cs.codemod.id}: {f.path}:{f.line}: {f.message} not in {blocks}"
            checked += 1
        for s in cs.skips:
            disk = tree / s.path
            if s.path and disk.is_file():
                text = disk.read_text("utf-8-sig")
                assert 0 <= s.line <= text.count("\n") + 1, f"{s.path}:{s.line}: {s.reason}"
    if tree == EXAMPLE:
        assert checked >= 100


def test_example_compose_findings_point_at_their_service():
    result = _run_all(EXAMPLE)
    lines = (EXAMPLE / "docker-compose.yml").read_text().splitlines()
    seen = 0
    for cs in result.changesets:
        for f in cs.findings:
            m = re.match(r"service (\S+) (?:has no restart|has literal secrets|runs privileged)", f.message)
            if f.path == "docker-compose.yml" and m:
                assert lines[f.line - 1] == f"  {m.group(1)}:", (cs.codemod.id, f.line, f.message)
                seen += 1
    assert seen == 8 + 3 + 1


def test_line_inside_inserted_text_maps_to_the_insertion_point():
    original = "a\nb\nc\n"
    first = [Edit("f", 2, 2, "x1\nx2\n")]          # two lines before b
    mid = apply_edits(original, first)
    second = [Edit("f", 0, 1, "A"), Edit("f", len(mid), len(mid), "z\n")]
    current = apply_edits(mid, second)
    o = Origins()
    o.record("f", first)
    o.record("f", second)
    assert current == "A\nx1\nx2\nb\nc\nz\n"
    got = [o.line("f", current, original, n) for n in range(1, 7)]
    assert got == [1, 2, 2, 2, 3, 4]
    # offsets after a replacement shift by its change in length
    assert back([splices([Edit("f", 0, 1, "long")])], 5) == 2
    assert line_of(original, line_start(original, 3)) == 3


def test_edit_positions_are_kept_as_numbers():
    ss = splices([Edit("f", 4, 6, "xyz"), Edit("f", 0, 0, "ab"), Edit("f", 4, 6, "xyz")])
    assert list(ss) == [0, 0, 2, 4, 6, 3]          # (start, end, size) per splice, once each
    assert ss.itemsize == 8
    assert back([ss], 0) == 0 and back([ss], 3) == 1 and back([ss], 7) == 4 and back([ss], 10) == 7
