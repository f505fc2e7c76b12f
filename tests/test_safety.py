"""Fix safety labels: apply and check --write leave unsafe fixes out (and list them)
unless --unsafe-fixes; plan, JSON, SARIF and commit messages show every label."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from codemods import all_codemods
from fixer.cli import app
from fixer.codemod import SAFETY
from tests.helpers import git, init_repo, write_tree

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"
ONLY = ["--only", "compose-no-new-privileges,compose-resource-limits", "--offline"]
K8S = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n"
       "      image: example/app:1.0\n")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _repo(tmp_path, files):
    root = tmp_path / "repo"
    write_tree(root, files)
    init_repo(root)
    return root


def _subjects(root, branch="fixer/remediation"):
    return git(root, "log", "--format=%s", f"main..{branch}").splitlines()


def test_every_codemod_has_a_label():
    assert {c.safety for c in all_codemods()} <= set(SAFETY)
    by_id = {c.id: c.safety for c in all_codemods()}
    for cid in ("compose-resource-limits", "compose-secrets", "dockerfile-consolidate", "gha-secrets",
                "k8s-secret-ref", "k8s-resources"):
        assert by_id[cid] == "unsafe", cid
    for cid in ("dockerfile-pip-no-cache", "dockerfile-add-to-copy", "dockerfile-exec-form",
                "dockerfile-maintainer", "pin-image-digest"):
        assert by_id[cid] == "safe", cid


def test_apply_holds_unsafe_fixes_back_and_lists_them(tmp_path):
    root = _repo(tmp_path, {"compose.yaml": COMPOSE})
    res = invoke("apply", root, *ONLY)
    assert res.exit_code == 0, res.output
    assert _subjects(root) == ["fix(compose-no-new-privileges): Set no-new-privileges on compose services"]
    assert "held back: 1 unsafe fix(es), not applied (--unsafe-fixes to apply them):" in res.stderr
    assert "compose.yaml:2: compose-resource-limits: service web has no memory or CPU limit" in res.stderr
    msg = git(root, "log", "-1", "--format=%B", "fixer/remediation")
    assert "- compose.yaml:2: service web can gain new privileges (cis-docker:5.25) [evidenced]" in msg

    res = invoke("apply", root, *ONLY, "--unsafe-fixes", "--branch", "all")
    assert res.exit_code == 0 and "held back" not in res.stderr
    assert len(_subjects(root, "all")) == 2
    assert "memory or CPU limit (now memory 512M, cpus 1.0) (cis-docker:5.10) [unsafe]" in \
        git(root, "log", "-1", "--format=%B", "all")


def test_apply_with_only_unsafe_fixes_says_so(tmp_path):
    root = _repo(tmp_path, {"compose.yaml": COMPOSE})
    res = invoke("apply", root, "--only", "compose-resource-limits", "--offline")
    assert res.exit_code == 0
    assert "nothing to change; no branch created" in res.stdout and "held back: 1" in res.stderr


def test_plan_shows_every_fix_with_its_label(tmp_path):
    root = _repo(tmp_path, {"compose.yaml": COMPOSE})
    res = invoke("plan", root, *ONLY)
    assert "compose.yaml:2: service web can gain new privileges (cis-docker:5.25)  [evidenced]" in res.stdout
    assert "[unsafe]" in res.stdout and "+      resources:" in res.stdout
    data = json.loads(invoke("plan", root, *ONLY, "--format", "json").stdout)
    labels = {e["codemod"]: {f["safety"] for f in e["findings"]} for e in data["changes"]}
    assert labels == {"compose-no-new-privileges": {"evidenced"}, "compose-resource-limits": {"unsafe"}}


def test_check_write_holds_unsafe_and_fails(tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"compose.yaml": COMPOSE})
    res = invoke("check", root, "--only", "compose-resource-limits", "--write")
    assert res.exit_code == 1                                   # still pending
    assert (root / "compose.yaml").read_text() == COMPOSE
    assert "[held: unsafe fix, not applied (--unsafe-fixes to apply it)]" in res.stdout
    assert "held back: 1 unsafe fix(es)" in res.stderr
    res = invoke("check", root, "--only", "compose-resource-limits")
    assert "[fixable, unsafe]" in res.stdout
    invoke("check", root, "--only", "compose-resource-limits", "--write", "--unsafe-fixes")
    assert "memory: 512M" in (root / "compose.yaml").read_text()


def test_config_raises_and_lowers_a_default(tmp_path):
    root = _repo(tmp_path, {"compose.yaml": COMPOSE, ".fixer.toml":
                            '[codemod.compose-resource-limits]\nsafety = "evidenced"\nmemory = "1G"\n'
                            '[codemod.compose-no-new-privileges]\nsafety = "unsafe"\n'})
    res = invoke("apply", root, *ONLY)
    assert res.exit_code == 0, res.output
    assert _subjects(root) == ["fix(compose-resource-limits): Set memory and CPU limits on compose services"]
    assert "compose-no-new-privileges: service web can gain new privileges" in res.stderr
    assert "memory: 1G" in git(root, "show", "fixer/remediation:compose.yaml")

    (root / ".fixer.toml").write_text('[codemod.compose-restart]\nsafety = "risky"\n')
    res = invoke("plan", root)
    assert res.exit_code == 2
    assert ".fixer.toml: [codemod.compose-restart] safety:" in res.output + res.stderr


def test_a_codemod_labels_each_fix(tmp_path):
    """k8s-resources: default sizes are unsafe, sizes the configuration gives are evidence."""
    root = _repo(tmp_path, {"k8s/app.yaml": K8S})
    res = invoke("apply", root, "--only", "k8s-resources", "--offline")
    assert "held back: 1" in res.stderr and "nothing to change" in res.stdout
    sizes = 'cpu_request = "50m"\nmemory_request = "64Mi"\ncpu_limit = "1"\nmemory_limit = "1Gi"\n'
    (root / ".fixer.toml").write_text("[codemod.k8s-resources]\n" + sizes)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "sizes")
    res = invoke("apply", root, "--only", "k8s-resources", "--offline")
    assert res.exit_code == 0 and "held back" not in res.stderr
    assert "[evidenced]" in git(root, "log", "-1", "--format=%B", "fixer/remediation")
