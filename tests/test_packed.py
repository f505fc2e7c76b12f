"""Settled records are packed; reading them back gives what was put in."""
from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from fixer import config, packed, runner
from fixer.codemod import Finding, Skip
from fixer.discovery import WorkTree
from fixer.packed import PackedDict, PackedList
from fixer.report import plan_json
from fixer.text import Edit

ROOT = Path(__file__).resolve().parent.parent


def test_list_keeps_order_and_length_across_packs(monkeypatch):
    monkeypatch.setattr(packed, "BATCH", 3)
    pl = PackedList()
    items = [Finding(f"f{i}", i, "m", [Edit(f"f{i}", 0, 1, "x")]) for i in range(10)]
    for i, it in enumerate(items):
        pl.append(it)
        if i % 2:
            pl.pack()
    assert pl._blobs, "nothing was packed"
    assert len(pl) == 10 and list(pl) == items and pl[4] == items[4] and pl[-1] == items[-1]
    pl += [Skip("s", 1, "why")]
    pl.remove(pl[-1])              # not packed yet
    assert list(pl) == items
    assert pickle.loads(pickle.dumps(pl)) == items


def test_dict_reads_packed_values_and_keeps_the_newest(monkeypatch):
    monkeypatch.setattr(packed, "BATCH", 2)
    pd = PackedDict()
    for i in range(7):
        pd[f"p{i}"] = (f"old{i}", f"new{i}")
        pd.pack()
    assert pd._blobs
    pd["p1"] = ("old1", "newer")
    assert pd["p1"] == ("old1", "newer") and pd.get("p5") == ("old5", "new5") and pd.get("nope") is None
    assert list(pd) == [f"p{i}" for i in range(7)] and len(pd) == 7 and "p6" in pd
    assert dict(pd.items())["p0"] == ("old0", "new0")
    assert pickle.loads(pickle.dumps(pd)) == dict(pd.items())


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_packed_run_reports_the_same_plan(tmp_path, monkeypatch, jobs):
    tree = tmp_path / "repo"
    shutil.copytree(ROOT / "examples" / "audit-repo", tree, symlinks=True)

    def plan(batch):
        monkeypatch.setattr(packed, "BATCH", batch)
        settings = config.load(tree, offline=True)
        settings.extra["jobs"] = jobs
        res = runner.run(WorkTree(tree, use_git=False), settings, [type(c)() for c in runner.all_codemods()], tree)
        return plan_json(res.changesets, res.skipped_files, res.errors, res.secrets), res

    unpacked, _ = plan(10 ** 9)
    small, res = plan(1)
    assert any(cs.findings._blobs for cs in res.changesets)
    assert small == unpacked


def test_records_are_grouped_by_path_in_either_order():
    from fixer.report import by_path

    ordered = [Skip("a", 1, "x"), Skip("a", 2, "y"), Skip("b", 1, "z")]
    assert [(p, [s.line for s in g]) for p, g in by_path(ordered)] == [("a", [1, 2]), ("b", [1])]
    shuffled = [Skip("b", 1, "z"), Skip("a", 1, "x"), Skip("b", 2, "w")]
    assert [(p, [s.line for s in g]) for p, g in by_path(shuffled)] == [("a", [1]), ("b", [1, 2])]
