"""`fixer plan --format patch`: a patch git apply and patch -p1 accept, equal to what fixer writes."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixer import golden
from fixer.cli import app
from tests.helpers import fix, git, init_repo

ROOT = Path(__file__).resolve().parent.parent
TREES = [ROOT / "examples" / "audit-repo", ROOT / "golden" / "dockerfile-consolidate" / "mcp-servers" / "input",
         ROOT / "golden" / "compose-secrets" / "basic" / "input"]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(root).parts}


@pytest.mark.parametrize("src", TREES, ids=lambda p: str(p.relative_to(ROOT)))
def test_patch_applies_with_git_and_patch(tmp_path, src):
    tree, fixed = tmp_path / "tree", tmp_path / "fixed"
    shutil.copytree(src, tree)
    shutil.copytree(src, fixed)
    init_repo(tree)
    out = tmp_path / "fix.patch"
    res = CliRunner().invoke(app, ["plan", str(tree), "--offline", "--format", "patch", "-o", str(out)])
    assert res.exit_code == 1, res.output
    text = out.read_text("utf-8")
    assert text.startswith("diff --git a/") and "****" not in text
    assert "─" not in text and "fixer plan" not in text          # only diffs
    heads = [ln for ln in text.splitlines() if ln.startswith("diff --git ")]
    assert len(heads) == len(set(heads))                          # one diff per file
    subprocess.run(["git", "apply", "--check", str(out)], cwd=tree, check=True)
    subprocess.run(["patch", "-p1", "--dry-run", "-s", "-i", str(out)], cwd=tree, check=True)
    # applied, it gives what fixer writes (all codemods combined)
    fix(fixed, offline=True)
    subprocess.run(["git", "apply", str(out)], cwd=tree, check=True)
    assert _files(tree) == _files(fixed)


def test_patch_creates_and_deletes_files_as_git_does(tmp_path):
    src = ROOT / "golden" / "dockerfile-consolidate" / "mcp-servers" / "input"
    res = CliRunner().invoke(app, ["plan", str(src), "--offline", "--format", "patch"])
    assert "\ndeleted file mode 100644\n--- a/" in res.stdout and "\n+++ /dev/null\n" in res.stdout
    ex = CliRunner().invoke(app, ["plan", str(ROOT / "examples" / "audit-repo"), "--offline", "--format", "patch"])
    assert "\nnew file mode 100644\n--- /dev/null\n+++ b/k8s/api-secret.yaml\n" in ex.stdout


def test_patch_is_not_masked_but_the_plan_is():
    src = str(ROOT / "examples" / "audit-repo")
    patch = CliRunner().invoke(app, ["plan", src, "--offline", "--format", "patch"]).stdout
    assert "-      POSTGRES_PASSWORD: s3cr3t-db-pass\n" in patch
    assert "       POSTGRES_DB: app\n" in patch
    text = CliRunner().invoke(app, ["plan", src, "--offline"]).stdout
    assert "s3cr3t-db-pass" not in text and "xoxb-123456789" not in text
