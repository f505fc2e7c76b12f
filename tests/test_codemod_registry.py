"""Codemods are found by module name: a run with --only imports only those modules."""
from __future__ import annotations

import subprocess
import sys

import pytest

from codemods import all_codemods, module_ids, some_codemods
from fixer import config, runner


def test_each_module_holds_the_codemod_of_its_name():
    assert [c.id for c in all_codemods()] and sorted(c.id for c in all_codemods()) == list(module_ids())
    for c in all_codemods():
        assert type(c).__module__ == "codemods." + c.id.replace("-", "_")


def test_only_imports_the_named_modules(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.25\n")
    code = ("import sys; from pathlib import Path; from fixer import runner, config\n"
            f"root = Path({str(tmp_path)!r})\n"
            "runner.plan(root, config.load(root, offline=True, only=['compose-restart']))\n"
            "print(sorted(m for m in sys.modules if m.startswith('codemods.') and not m.startswith('codemods._')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out.strip().splitlines()[-1])
    assert "codemods.compose_restart" in loaded
    assert "codemods.dockerfile_consolidate" not in loaded and "codemods.k8s_probes" not in loaded


def test_unknown_only_is_a_usage_error(tmp_path):
    with pytest.raises(runner.UsageError, match="unknown codemod 'nope'"):
        runner.plan(tmp_path, config.load(tmp_path, offline=True, only=["nope"]))


def test_some_codemods_keeps_run_order():
    ids = ("compose-restart", "pin-image-digest", "compose-networks")
    order = [c.id for c in all_codemods() if c.id in ids]
    assert [c.id for c in some_codemods(tuple(sorted(ids)))] == order


def test_skip_may_name_a_codemod_only_leaves_out(tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.25\n")
    settings = config.load(tmp_path, offline=True, only=["compose-restart"], skip=["compose-networks"])
    result = runner.plan(tmp_path, settings)
    assert [cs.codemod.id for cs in result.changesets] == ["compose-restart"]
    with pytest.raises(runner.UsageError, match="unknown codemod 'nope'"):
        runner.plan(tmp_path, config.load(tmp_path, offline=True, only=["compose-restart"], skip=["nope"]))
