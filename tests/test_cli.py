"""`fixer plan` / `fixer apply` as a user runs them, bad input included."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fixer.cli import app
from tests.helpers import git, init_repo, snapshot, write_tree

COMPOSE = "services:\n  web:\n    image: nginx:1.27  # front\n"
DOCKERFILE = "FROM alpine:3.20\nMAINTAINER Jane <jane@example.com>\nCMD [\"sh\"]\n"
ONLY = ["--only", "compose-no-new-privileges,dockerfile-maintainer", "--offline"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    write_tree(root, {"compose.yaml": COMPOSE, "app/Dockerfile": DOCKERFILE, "README.md": "hi\n"})
    init_repo(root)
    return root


def test_plan_shows_diffs_and_exits_1(repo):
    res = invoke("plan", repo, *ONLY)
    assert res.exit_code == 1, res.output
    assert "+    security_opt: [\"no-new-privileges:true\"]" in res.output
    assert "+LABEL maintainer=\"Jane <jane@example.com>\"" in res.output
    assert "compose.yaml:2: service web can gain new privileges" in res.output
    assert (repo / "compose.yaml").read_text() == COMPOSE  # nothing written


def test_plan_json(repo):
    res = invoke("plan", repo, *ONLY, "--format", "json")
    data = json.loads(res.stdout)
    entries = {(e["codemod"], e["file"]): e for e in data["changes"]}
    e = entries[("dockerfile-maintainer", "app/Dockerfile")]
    assert e["findings"][0]["line"] == 2 and e["findings"][0]["status"] == "fixed"
    assert e["diff"].startswith("--- a/app/Dockerfile")


def test_plan_exit_0_when_nothing_to_change(tmp_path):
    write_tree(tmp_path, {"compose.yaml": "services:\n  a:\n    image: x\n    security_opt: [no-new-privileges]\n"})
    res = invoke("plan", tmp_path, "--only", "compose-no-new-privileges")
    assert res.exit_code == 0, res.output


def test_plan_only_skip_and_config(repo):
    (repo / ".fixer.toml").write_text('skip = ["dockerfile-maintainer"]\n')
    res = invoke("plan", repo, "--offline")
    assert "dockerfile-maintainer" not in res.output
    res = invoke("plan", repo, "--only", "no-such-codemod")
    assert res.exit_code == 2 and "unknown codemod" in res.output


def test_plan_exclude(repo):
    res = invoke("plan", repo, *ONLY, "--exclude", "app")
    assert "app/Dockerfile" not in res.output
    assert "compose.yaml" in res.output


def test_apply_creates_one_commit_per_codemod_and_leaves_user_alone(repo):
    (repo / "README.md").write_text("dirty\n")             # an uncommitted change
    (repo / "compose.yaml").write_text(COMPOSE + "# local edit\n")
    git(repo, "add", "compose.yaml")                         # and a staged one
    before = snapshot(repo)
    res = invoke("apply", repo, *ONLY)
    assert res.exit_code == 0, res.output
    assert "compose.yaml: has uncommitted changes" in res.output
    assert snapshot(repo) == before
    log = git(repo, "log", "--format=%s", "main..fixer/remediation").splitlines()
    assert log == ["fix(compose-no-new-privileges): Set no-new-privileges on compose services",
                   "fix(dockerfile-maintainer): Replace deprecated MAINTAINER with a maintainer LABEL"]
    # fixes are based on HEAD, not on the uncommitted edit
    assert "# local edit" not in git(repo, "show", "fixer/remediation:compose.yaml")
    body = git(repo, "log", "-1", "--format=%B", "fixer/remediation")
    assert "compose.yaml:2: service web can gain new privileges" in body
    # the branch's tree differs from HEAD only in the fixed files
    files = git(repo, "diff", "--name-only", "main", "fixer/remediation").split()
    assert files == ["app/Dockerfile", "compose.yaml"]


def test_apply_refuses_existing_branch_and_force_replaces_own(repo):
    assert invoke("apply", repo, *ONLY).exit_code == 0
    res = invoke("apply", repo, *ONLY)
    assert res.exit_code == 2 and "already exists" in res.output
    first = git(repo, "rev-parse", "fixer/remediation")
    git(repo, "commit", "--allow-empty", "-q", "-m", "user work")
    res = invoke("apply", repo, *ONLY, "--force")
    assert res.exit_code == 0, res.output
    assert git(repo, "rev-parse", "fixer/remediation") != first


def test_apply_never_replaces_a_user_branch(repo):
    git(repo, "branch", "mine")
    res = invoke("apply", repo, *ONLY, "--branch", "mine", "--force")
    assert res.exit_code == 2 and "not created by fixer" in res.output
    assert git(repo, "rev-parse", "mine") == git(repo, "rev-parse", "main")


def test_apply_on_detached_head(repo):
    git(repo, "checkout", "-q", "--detach")
    before = snapshot(repo)
    res = invoke("apply", repo, *ONLY, "--branch", "fix/x")
    assert res.exit_code == 0, res.output
    assert snapshot(repo) == before
    assert git(repo, "rev-parse", "fix/x^^") == git(repo, "rev-parse", "HEAD")


def test_apply_refuses_checked_out_branch(repo):
    res = invoke("apply", repo, *ONLY, "--branch", "main", "--force")
    assert res.exit_code == 2


def test_apply_outside_git(tmp_path):
    write_tree(tmp_path, {"compose.yaml": COMPOSE})
    res = invoke("apply", tmp_path, *ONLY)
    assert res.exit_code == 2 and "not a git repository" in res.output


def test_apply_nothing_to_change(tmp_path):
    write_tree(tmp_path, {"README.md": "x\n"})
    init_repo(tmp_path)
    res = invoke("apply", tmp_path, *ONLY)
    assert res.exit_code == 0 and "nothing to change" in res.output
    assert "fixer/remediation" not in git(tmp_path, "branch")


def test_apply_keeps_file_mode(repo):
    (repo / "tools").mkdir()
    write_tree(repo, {"tools/compose.yml": COMPOSE})
    (repo / "tools/compose.yml").chmod(0o755)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "exec")
    assert invoke("apply", repo, *ONLY).exit_code == 0
    assert git(repo, "ls-tree", "fixer/remediation", "tools/compose.yml").startswith("100755")


def test_missing_path_and_not_a_directory(tmp_path):
    res = invoke("plan", tmp_path / "nope")
    assert res.exit_code == 2 and "no such file or directory" in res.output
    (tmp_path / "f").write_text("x")
    res = invoke("plan", tmp_path / "f")
    assert res.exit_code == 2 and "not a directory" in res.output


def test_bad_input_is_reported_and_the_rest_processed(tmp_path):
    write_tree(tmp_path, {
        "a/compose.yaml": "services:\n  web:\n    image: [unclosed\n",
        "b/compose.yaml": COMPOSE,
        "c/compose.yaml": b"services:\n  x:\n    image: \xff\xfe\n",
        "d/compose.yaml": "",
        "e/Dockerfile": "FROM alpine\nRUN <<EOF\nunterminated heredoc\n",
        "f/Dockerfile": DOCKERFILE,
    })
    big = tmp_path / "g" / "compose.yaml"
    big.parent.mkdir()
    with open(big, "w") as fh:
        fh.write("services:\n  web:\n    image: x\n")
        fh.write("# padding\n" * (5 * 1024 * 1024))
    res = invoke("plan", tmp_path, *ONLY, "--verbose")
    out = res.output
    assert res.exit_code == 1, out
    assert "a/compose.yaml: invalid YAML (line " in out
    assert "c/compose.yaml: not UTF-8 text" in out
    assert "g/compose.yaml: larger than the size limit" in out
    assert "+++ b/b/compose.yaml" in out and "+++ b/f/Dockerfile" in out
    for line in out.splitlines():
        if "compose.yaml:" in line and "warning" in line:
            assert len(line) < 300


def test_symlinks_are_never_written_through(tmp_path):
    write_tree(tmp_path, {"real/compose.yaml": COMPOSE})
    (tmp_path / "link.yaml").symlink_to(tmp_path / "real/compose.yaml")
    (tmp_path / "compose.yml").symlink_to("/etc/hostname")
    res = invoke("plan", tmp_path, *ONLY, "--verbose")
    assert "compose.yml: symbolic link" in res.output
    assert "+++ b/real/compose.yaml" in res.output


def test_rules_and_explain():
    res = invoke("rules")
    assert res.exit_code == 0 and "compose-no-new-privileges" in res.output
    res = invoke("explain", "dockerfile-maintainer")
    assert res.exit_code == 0 and "+LABEL maintainer=" in res.output
    assert invoke("explain", "nope").exit_code == 2


def test_console_script_plain_when_piped(repo):
    out = subprocess.run([sys.executable, "-m", "fixer.cli", "plan", str(repo), *ONLY],
                         capture_output=True, text=True)
    assert out.returncode == 1
    assert "\x1b[" not in out.stdout


NET = [["--online"], ["--offline"], ["--registry-mirror", "docker.io=http://127.0.0.1:9"],
       ["--cache-dir", "CACHE"], ["-v"]]


@pytest.mark.parametrize("command", ["plan", "apply", "check", "report"])
@pytest.mark.parametrize("flags", NET)
def test_network_and_shared_options_on_every_command(repo, tmp_path, command, flags):
    flags = [str(tmp_path / "cache") if f == "CACHE" else f for f in flags]
    only = ["--only", "compose-no-new-privileges"]
    res = invoke(command, repo, *only, *flags)
    assert res.exit_code in (0, 1), res.output
    assert "No such option" not in res.output


@pytest.mark.parametrize("command", ["plan", "check", "report"])
def test_output_file_gets_the_umask(repo, tmp_path, command):
    out = tmp_path / "out.txt"
    res = invoke(command, repo, "--only", "compose-no-new-privileges", "--offline", "-o", out)
    assert res.exit_code in (0, 1), res.output
    assert out.read_text() and (out.stat().st_mode & 0o777) == 0o666 & ~_umask()


def _umask():
    import os

    m = os.umask(0o022)
    os.umask(m)
    return m


def test_unknown_codemod_on_the_command_line_is_one_line_exit_2(repo):
    for command in ("plan", "check", "report", "apply"):
        res = invoke(command, repo, "--only", "compose-nope")
        assert res.exit_code == 2 and res.output.strip() == \
            "fixer: unknown codemod 'compose-nope' (see `fixer rules`)", res.output


def test_check_labels_pending_fixes_fixable(repo):
    res = invoke("check", repo, *ONLY)
    assert res.exit_code == 1 and "[fixable, evidenced]" in res.output and "[fixed" not in res.output
    data = json.loads(invoke("check", repo, *ONLY, "--format", "json").output)
    statuses = {f["status"] for f in (data["findings"] if isinstance(data, dict) else data)}
    assert statuses == {"fixable"}


def test_check_fail_on(tmp_path):
    write_tree(tmp_path, {"compose.yaml": "services:\n  web:\n    image: traefik:3.1\n    privileged: true\n"
                                          "    security_opt: [\"no-new-privileges:true\"]\n"})
    only = ["--only", "compose-privileged"]
    res = invoke("check", tmp_path, *only)
    assert res.exit_code == 0 and "[reported" in res.output, res.output
    assert invoke("check", tmp_path, *only, "--fail-on", "reported").exit_code == 1
    assert invoke("check", tmp_path, "--fail-on", "never").exit_code == 0
    assert invoke("check", tmp_path, "--fail-on", "pending").exit_code == 1
    assert invoke("check", tmp_path, "--fail-on", "sometimes").exit_code == 2


def test_check_exits_2_on_unparsable_files(tmp_path):
    write_tree(tmp_path, {"a/compose.yaml": "services:\n  web:\n    image: [unclosed\n",
                          "b/compose.yaml": COMPOSE})
    res = invoke("check", tmp_path, "--only", "compose-no-new-privileges")
    assert res.exit_code == 2 and "a/compose.yaml" in res.output
    res = invoke("check", tmp_path, "--only", "compose-no-new-privileges", "--allow-parse-errors")
    assert res.exit_code == 1
    (tmp_path / ".fixer.toml").write_text("allow-parse-errors = true\nfail-on = \"never\"\n")
    assert invoke("check", tmp_path, "--only", "compose-no-new-privileges").exit_code == 0


def test_check_on_staged_files(repo):
    (repo / "deploy.sh").write_text("echo hi\n")
    res = invoke("check", repo / "deploy.sh")
    assert res.exit_code == 0 and "nothing to fix" in res.output
    res = invoke("check", repo / "app/Dockerfile", "--only", "compose-no-new-privileges,dockerfile-maintainer")
    assert res.exit_code == 1 and "app/Dockerfile:2: dockerfile-maintainer" in res.output
    assert "compose.yaml" not in res.output
    assert invoke("check", repo / "nope.yaml").exit_code == 2


def test_check_write_needs_unsafe_fixes_for_structural_changes(tmp_path):
    from codemods import by_id

    ex = by_id()["dockerfile-consolidate"].examples[0]
    write_tree(tmp_path, {ex.path: ex.before, **ex.files})
    res = invoke("check", tmp_path, "--only", "dockerfile-consolidate", "--write")
    assert "held back: 1 unsafe fix(es)" in res.output and (tmp_path / "svc/a/Dockerfile").exists()
    assert (tmp_path / ex.path).read_text() == ex.before
    res = invoke("check", tmp_path, "--only", "dockerfile-consolidate", "--write", "--unsafe-fixes")
    assert not (tmp_path / "svc/a/Dockerfile").exists() and (tmp_path / ex.path).read_text() == ex.after


def test_version_color_and_rules_when_piped():
    assert invoke("--version").output.startswith("fixer ")
    res = invoke("rules")    # CliRunner's stdout is not a terminal
    assert "…" not in res.output and "\t" in res.output
    line = next(ln for ln in res.output.splitlines() if ln.startswith("dockerfile-consolidate\t"))
    assert "\tunsafe\t" in line
    rows = json.loads(invoke("rules", "--format", "json").output)
    assert {r["id"]: r["safety"] for r in rows}["compose-restart"] == "evidenced"
    assert invoke("--color", "sometimes", "rules").exit_code == 2


def test_color_always_and_never(repo):
    always = subprocess.run([sys.executable, "-m", "fixer.cli", "--color", "always", "plan", str(repo), *ONLY],
                            capture_output=True, text=True)
    never = subprocess.run([sys.executable, "-m", "fixer.cli", "--color", "never", "plan", str(repo), *ONLY],
                           capture_output=True, text=True)
    assert always.returncode == never.returncode == 1
    assert "\x1b[" in always.stdout and "\x1b[" not in never.stdout


def test_no_color_and_help_metavars(repo):
    import os

    env = dict(os.environ, NO_COLOR="1")
    out = subprocess.run([sys.executable, "-m", "fixer.cli", "--color", "auto", "check", str(repo), *ONLY],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "\x1b[" not in out.stdout
    for command in ("plan", "apply", "check", "report", "rules", "explain", "config-schema"):
        text = invoke(command, "--help").output
        assert "<bool>" not in text and "<str>" not in text and "<path>" not in text, text
        assert "Example: fixer " in text, command


def test_file_mode_fixes_only_the_given_files(tmp_path):
    """`fixer check FILE…` (pre-commit) runs the codemods on those files only: the others
    are read for context, never fixed, so a staged file costs the same in any repository."""
    from fixer import config, runner

    files = {f"svc{i}/Dockerfile": DOCKERFILE for i in range(12)}
    files.update({f"stack{i}/compose.yaml": COMPOSE for i in range(12)})
    write_tree(tmp_path, files)
    s = config.load(tmp_path)
    s.only = ["compose-no-new-privileges", "dockerfile-maintainer"]
    everything = runner.plan(tmp_path, s)
    assert len({p for cs in everything.changesets for p in cs.changes}) == 24
    s.extra["focus"] = frozenset({"svc3/Dockerfile", "stack7/compose.yaml"})
    focused = runner.plan(tmp_path, s)
    assert {p for cs in focused.changesets for p in cs.changes} == {"svc3/Dockerfile", "stack7/compose.yaml"}
    assert {f.path for cs in focused.changesets for f in cs.findings} == {"svc3/Dockerfile", "stack7/compose.yaml"}
