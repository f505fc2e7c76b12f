"""Codemods of file scope run file by file; the result must equal running them one by one."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fixer import config, golden, runner
from fixer.discovery import WorkTree
from fixer.engine import _independent

ROOT = Path(__file__).resolve().parent.parent


def _outcome(tree: Path, by_file: bool):
    codemods = [type(cm)() for cm in runner.all_codemods()]     # fresh: the shared ones stay as they are
    if not by_file:
        for cm in codemods:
            cm.scope = "repo"
    settings = config.load(tree, offline=True)
    res = runner.run(WorkTree(tree, use_git=False), settings, codemods, tree)
    return ([(cs.codemod.id, cs.changes, sorted((f.path, f.line, f.message, f.status) for f in cs.findings),
              sorted((s.path, s.line, s.reason) for s in cs.skips)) for cs in res.changesets],
            sorted(res.errors))


def _trees():
    yield "examples/audit-repo", ROOT / "examples" / "audit-repo"
    for case in golden.cases():
        yield f"{case.parent.name}/{case.name}", case / "input"


@pytest.mark.parametrize("name,src", list(_trees()), ids=lambda v: v if isinstance(v, str) else "")
def test_file_by_file_equals_codemod_by_codemod(tmp_path, name, src):
    tree = tmp_path / "repo"
    shutil.copytree(src, tree, symlinks=True)
    assert _outcome(tree, by_file=True) == _outcome(tree, by_file=False)


def test_shared_codemods_keep_their_scope():
    assert {cm.id for cm in runner.all_codemods() if cm.scope == "file"} >= {
        "dockerfile-user", "compose-cap-drop", "k8s-resources"}


def test_groups_never_mix_a_reader_with_what_it_reads():
    by_id = {cm.id: cm for cm in runner.all_codemods()}
    # dockerfile-user reads compose files to find build targets: compose codemods must not
    # change them under its feet
    assert not _independent([by_id["dockerfile-user"]], by_id["compose-networks"])
    # compose-cap-drop reads Dockerfiles (their USER): not with a Dockerfile codemod
    assert not _independent([by_id["dockerfile-maintainer"]], by_id["compose-cap-drop"])
    assert _independent([by_id["compose-networks"]], by_id["compose-cap-drop"])
    assert _independent([by_id["k8s-security-context"]], by_id["k8s-resources"])
