"""Every codemod's inline examples: before -> after, must-not-change, idempotent."""
from __future__ import annotations

import pytest

from codemods import all_codemods
from tests.helpers import fix, write_tree

CASES = [(c, i, ex) for c in all_codemods() for i, ex in enumerate(c.examples)]


def test_every_codemod_declares_itself():
    for c in all_codemods():
        assert c.id and c.id == c.id.lower() and " " not in c.id
        assert c.title and c.kinds and c.rationale
        assert c.severity in ("low", "medium", "high", "critical")
        assert any(ex.after is not None for ex in c.examples), f"{c.id} has no before/after example"
        assert any(ex.skip for ex in c.examples), f"{c.id} has no example of a target it leaves, with the reason"


@pytest.mark.parametrize("codemod,n,example", CASES, ids=[f"{c.id}-{i}" for c, i, _ in CASES])
def test_example(tmp_path, codemod, n, example):
    write_tree(tmp_path, {example.path: example.before, **example.files})
    result = fix(tmp_path, only=[codemod.id], options={codemod.id: example.options}, offline=True)
    dropped = [f for cs in result.changesets for f in cs.findings if f.status == "dropped"]
    assert not dropped, [f.note for f in dropped]
    got = (tmp_path / example.path).read_bytes().decode("utf-8")
    expected = example.before if example.after is None else example.after
    assert got == expected
    reasons = [s.reason for cs in result.changesets for s in cs.skips]
    if example.skip:       # a target left alone says why
        assert any(example.skip in r for r in reasons), reasons
    elif example.after is None:   # already in shape: nothing found, nothing left
        found = [f.message for cs in result.changesets for f in cs.findings]
        assert not reasons and not found, (reasons, found)
    again = fix(tmp_path, only=[codemod.id], options={codemod.id: example.options}, offline=True)
    assert not again.changed, "second run changed the output"
