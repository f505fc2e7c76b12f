"""Golden cases: byte-for-byte output, idempotency, and apply leaving the user's branch alone."""
from __future__ import annotations

import shutil

import pytest

from fixer import golden
from fixer.cli import app
from tests.helpers import init_repo, snapshot
from typer.testing import CliRunner

CASES = golden.cases()


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_golden(tmp_path, case):
    tree = tmp_path / "repo"
    shutil.copytree(case / "input", tree, symlinks=True)
    golden.run_tree(case, tree)
    expected = golden.read_tree(case / "expected")
    got = golden.read_tree(tree)
    assert sorted(got) == sorted(expected)
    for rel in expected:
        assert got[rel] == expected[rel], f"{rel} differs (python -m fixer.golden --update to review)"
    # a second run on fixer's own output changes nothing
    again = golden.run_tree(case, tree)
    assert not again.changed, [p for cs in again.changesets for p in cs.changes]


@pytest.mark.parametrize("case", CASES[:: max(1, len(CASES) // 8)] if CASES else [],
                         ids=lambda c: f"{c.parent.name}/{c.name}")
def test_golden_apply_leaves_user_branch(tmp_path, case):
    tree = tmp_path / "repo"
    shutil.copytree(case / "input", tree, symlinks=True)
    init_repo(tree)
    before = snapshot(tree)
    settings = golden.case_settings(case, tree)
    args = ["apply", str(tree), "--only", ",".join(settings.only)]
    if settings.offline:
        args.append("--offline")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert snapshot(tree) == before
