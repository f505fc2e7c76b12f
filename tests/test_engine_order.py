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


def test_file_scope_edit_of_another_file_is_dropped(tmp_path):
    from fixer.codemod import Codemod, Finding
    from fixer.text import Edit

    class Greedy(Codemod):
        id, kinds, scope = "greedy", ("compose",), "file"

        def fix(self, doc, ctx):
            other = "b/compose.yaml" if doc.path.startswith("a/") else "a/compose.yaml"
            yield Finding(doc.path, 1, "edits a neighbour", [Edit(other, 0, 0, "# x\n")])
            yield Finding(doc.path, 1, "adds a file", [Edit(doc.path + ".note", 0, 0, "new\n")])

    class Plain(Greedy):
        id = "plain"

        def fix(self, doc, ctx):
            yield Finding(doc.path, 1, "comment", [Edit(doc.path, 0, 0, "# plain\n")])

    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n")
    settings = config.load(tmp_path, offline=True)
    res = runner.run(WorkTree(tmp_path, use_git=False), settings, [Greedy(), Plain()], tmp_path)
    greedy, plain = res.changesets
    assert sorted(greedy.changes) == ["a/compose.yaml.note", "b/compose.yaml.note"]
    assert {f.status for f in greedy.findings if f.message == "edits a neighbour"} == {"dropped"}
    assert any("outside its own file" in e for e in res.errors)
    assert sorted(plain.changes) == ["a/compose.yaml", "b/compose.yaml"]


def test_dockerfiles_are_parsed_in_batches(tmp_path, monkeypatch):
    from fixer import buildkit

    calls: list[int] = []
    real = buildkit._Child.parse_many

    def counting(self, texts):
        calls.append(len(texts))
        return real(self, texts)

    monkeypatch.setattr(buildkit._Child, "parse_many", counting)
    monkeypatch.setattr(buildkit, "_cache", type(buildkit._cache)())
    monkeypatch.setattr(buildkit, "_cached_chars", 0)
    for i in range(40):
        d = tmp_path / f"svc{i}"
        d.mkdir()
        (d / "Dockerfile").write_text(f"FROM debian:12\nRUN apt-get install -y curl\nCMD [\"run\", \"{i}\"]\n")
    codemods = [cm for cm in runner.all_codemods() if cm.id.startswith("dockerfile-") and cm.scope == "file"]
    res = runner.run(WorkTree(tmp_path, use_git=False), config.load(tmp_path, offline=True), codemods, tmp_path)
    changed = sum(len(cs.changes) for cs in res.changesets)
    assert changed >= 80                       # apt hygiene, USER, HEALTHCHECK... on every file
    assert sum(calls) >= 40 + changed          # every original and every output was parsed
    assert len(calls) < sum(calls) / 10        # ...in a few round trips


def test_second_process_gives_the_same_result(tmp_path, monkeypatch):
    import os

    from fixer import buildkit

    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "audit-repo", tree, symlinks=True)
    monkeypatch.setattr(buildkit, "BATCH", 2)          # many small chunks: groups are split
    forks = []
    real_fork = os.fork

    def fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", fork)

    def outcome(jobs):
        settings = config.load(tree, offline=True)
        settings.extra["jobs"] = jobs
        res = runner.run(WorkTree(tree, use_git=False), settings, [type(c)() for c in runner.all_codemods()], tree)
        return ([(cs.codemod.id, cs.changes, [(f.path, f.line, f.message, f.status) for f in cs.findings],
                  [(s.path, s.line, s.reason) for s in cs.skips], cs.notes) for cs in res.changesets],
                res.errors, sorted(res.secrets))

    alone = outcome(1)
    assert not forks
    together = outcome(2)
    assert forks                                         # the second process did take part
    assert together == alone


def test_apply_with_a_second_process_builds_the_same_branch(tmp_path, monkeypatch):
    """Under `apply` files come from git objects: the forked copy must read them through
    its own git processes and leave the parent's working."""
    from typer.testing import CliRunner

    from fixer import buildkit
    from fixer.cli import app
    from tests.helpers import git, init_repo, snapshot

    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "audit-repo", tree, symlinks=True)
    init_repo(tree)
    before = snapshot(tree)
    monkeypatch.setattr(buildkit, "BATCH", 2)
    trees = []
    for jobs in ("1", "2"):
        monkeypatch.setenv("FIXER_JOBS", jobs)
        res = CliRunner().invoke(app, ["apply", str(tree), "--offline", "--branch", f"fix-{jobs}"])
        assert res.exit_code == 0, res.output
        trees.append(git(tree, "rev-parse", f"fix-{jobs}^{{tree}}").strip())
    assert trees[0] == trees[1]
    assert git(tree, "log", "--format=%s", "fix-1").splitlines()[:-1] == \
        git(tree, "log", "--format=%s", "fix-2").splitlines()[:-1]
    assert snapshot(tree) == before
