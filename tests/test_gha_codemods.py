"""Workflow codemods: secrets, permissions, and pinning against local bare repositories."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from codemods.gha_pin_actions import parse_uses, resolve
from codemods.gha_secrets import secret_value
from tests.helpers import fix, write_tree

WF = ".github/workflows/ci.yml"


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin"}).stdout.strip()


@pytest.fixture()
def remote(tmp_path) -> tuple[str, dict]:
    """Bare repositories acme/tool (annotated v1, lightweight v2, branch main) and acme/other."""
    base = tmp_path / "remote"
    src = tmp_path / "src"
    src.mkdir()
    _git(src, "init", "-q", "-b", "main")
    _git(src, "commit", "-q", "--allow-empty", "-m", "one")
    c1 = _git(src, "rev-parse", "HEAD")
    _git(src, "tag", "-a", "v1", "-m", "release v1")
    tag_obj = _git(src, "rev-parse", "v1")
    _git(src, "commit", "-q", "--allow-empty", "-m", "two")
    c2 = _git(src, "rev-parse", "HEAD")
    _git(src, "tag", "v2")
    (base / "acme").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(base / "acme" / "tool.git")], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(src), str(base / "acme" / "other")], check=True)
    return base.as_uri(), {"c1": c1, "c2": c2, "tag_obj": tag_obj}


def test_resolve_peels_annotated_tags(remote):
    url, shas = remote
    assert shas["tag_obj"] != shas["c1"]
    assert resolve(f"{url}/acme/tool", "v1") == (shas["c1"], "tag")
    assert resolve(f"{url}/acme/tool", "v2") == (shas["c2"], "tag")
    assert resolve(f"{url}/acme/tool", "main") == (shas["c2"], "branch")
    assert resolve(f"{url}/acme/tool", "v9") is None


def test_parse_uses():
    assert parse_uses("actions/checkout@v4") == ("actions", "checkout", "", "v4")
    assert parse_uses("github/codeql-action/upload-sarif@v3") == ("github", "codeql-action", "/upload-sarif", "v3")
    assert parse_uses("./.github/actions/x") is None
    assert parse_uses("docker://alpine:3.20") is None
    assert parse_uses("acme/x@${{ inputs.ref }}") is None


def test_pin_actions_against_file_remote(tmp_path, remote):
    url, shas = remote
    text = ("on: push\n# build\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
            "      - uses: acme/tool@v1\n"
            "      - uses: 'acme/other/sub/dir@v2'  # keep this\n"
            "      - name: run\n        run: |\n          echo ${{ github.sha }}\n\n          make\n"
            "      - uses: acme/tool@main\n"
            "      - uses: acme/tool@v9\n"
            "      - uses: acme/missing@v1\n"
            f"      - uses: acme/tool@{shas['c1']}\n"
            "      - uses: ./local\n      - uses: docker://alpine:3.20\n"
            "  reuse:\n    uses: acme/other/.github/workflows/w.yml@v1\n")
    repo = tmp_path / "repo"
    write_tree(repo, {WF: text})
    result = fix(repo, only=["gha-pin-actions"], options={"gha-pin-actions": {"base-url": url}})
    got = (repo / WF).read_text()
    expected = (text.replace("acme/tool@v1\n", f"acme/tool@{shas['c1']} # v1\n")
                .replace("'acme/other/sub/dir@v2'  # keep", f"'acme/other/sub/dir@{shas['c2']}' # v2  # keep")
                .replace("acme/tool@main\n", f"acme/tool@{shas['c2']} # main\n")
                .replace("w.yml@v1\n", f"w.yml@{shas['c1']} # v1\n"))
    assert got == expected
    skips = [s.reason for cs in result.changesets for s in cs.skips]
    assert any("has no tag or branch v9" in s for s in skips)
    assert any("cannot resolve acme/missing@v1" in s for s in skips)
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("acme/tool@main is a branch" in n for n in notes)
    again = fix(repo, only=["gha-pin-actions"], options={"gha-pin-actions": {"base-url": url}})
    assert not again.changed


def test_pin_actions_offline_skips(tmp_path, remote):
    url, _ = remote
    write_tree(tmp_path, {WF: "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - uses: acme/tool@v1\n"})
    result = fix(tmp_path, only=["gha-pin-actions"], options={"gha-pin-actions": {"base-url": url}},
                 offline=True)
    assert not result.changed
    assert any("offline" in s.reason for cs in result.changesets for s in cs.skips)


def test_secret_names_and_values():
    assert secret_value("POSTGRES_PASSWORD", "postgres") == "postgres"
    assert secret_value("AWS_SECRET_ACCESS_KEY", "abc/def") == "abc/def"
    assert secret_value("SENTRY_DSN", "https://key:pw@sentry.io/1") == "pw"
    assert secret_value("DATABASE_URL", "postgres://u:p4ss@db/app") == "p4ss"
    assert secret_value("DATABASE_URL", "postgres://u@db/app") is None
    assert secret_value("TOKEN", "${{ secrets.TOKEN }}") is None
    assert secret_value("PASSWORD_FILE", "/run/secrets/pw") is None
    assert secret_value("TOKEN_URL", "https://x/token") is None
    assert secret_value("LOG_LEVEL", "debug") is None
    assert secret_value("API_KEY", "") is None
    assert secret_value("GH_AW_SECRET_NAMES", "A_TOKEN,B_TOKEN") is None      # names of secrets
    assert secret_value("GH_AW_TOKEN_USAGE_SUMMARY_TITLE", "Token usage") is None
    assert secret_value("NPM_TOKEN", "$NPM_TOKEN") is None


def test_secrets_keep_bytes_and_note(tmp_path):
    text = ("on: push\r\nenv:\r\n  API_KEY: 'k-123456'   # prod\r\njobs:\r\n  t:\r\n    runs-on: x\r\n"
            "    services:\r\n      mysql:\r\n        image: mysql:8\r\n        env:\r\n"
            "          MYSQL_ROOT_PASSWORD: rootpw\r\n    steps:\r\n      - run: |\r\n"
            "          mysql -prootpw -e 'select 1'\r\n")
    write_tree(tmp_path, {WF: text})
    result = fix(tmp_path, only=["gha-secrets"])
    got = (tmp_path / WF).read_bytes().decode()
    # the CI service container's password is a throwaway value: it stays
    assert got == text.replace("'k-123456'", "\"${{ secrets.API_KEY }}\"")
    assert {"k-123456", "rootpw"} <= result.secrets
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("API_KEY" in n for n in notes) and not any("MYSQL" in n for n in notes)
    skips = [(s.line, s.reason) for cs in result.changesets for s in cs.skips]
    assert any(line == 11 and "throwaway database" in r for line, r in skips)
    # moved on request; `mysql -prootpw` uses it too: nothing moves, the places are listed
    write_tree(tmp_path, {WF: text})
    result = fix(tmp_path, only=["gha-secrets"], options={"gha-secrets": {"move-service-passwords": True}})
    assert "MYSQL_ROOT_PASSWORD: rootpw" in (tmp_path / WF).read_text()
    skips = [(s.line, s.reason) for cs in result.changesets for s in cs.skips]
    assert any(line == 14 and "also appears" in r for line, r in skips)
    [f] = [f for cs in result.changesets for f in cs.findings if "MYSQL" in f.message]
    assert f.status == "reported" and "line(s) 14" in f.message


def test_secrets_fork_pull_requests_and_dummies(tmp_path):
    text = ("on: [push, pull_request]\njobs:\n  t:\n    runs-on: ubuntu-latest\n    env:\n"
            "      # CI-only dummy values\n      JWT_SECRET: abc123def456\n"
            "      OPENAI_API_KEY: your-api-key\n    steps:\n      - run: pytest -m test\n"
            "        env:\n          DEPLOY_TOKEN: tok-9f8e7d6c\n")
    write_tree(tmp_path, {WF: text})
    result = fix(tmp_path, only=["gha-secrets"])
    got = (tmp_path / WF).read_text()
    assert "JWT_SECRET: abc123def456" in got and "OPENAI_API_KEY: your-api-key" in got
    assert "DEPLOY_TOKEN: ${{ secrets.DEPLOY_TOKEN }}" in got
    [f] = [f for cs in result.changesets for f in cs.findings]
    assert "forks get no secrets" in f.message and "unsafe until repository secret DEPLOY_TOKEN exists" in f.message
    reasons = [s.reason for cs in result.changesets for s in cs.skips]
    assert any("JWT_SECRET left as it is: marked as a dummy" in r for r in reasons)
    assert any("OPENAI_API_KEY left as it is: placeholder" in r for r in reasons)
    assert not any("also appears" in r for r in reasons)     # no `ubuntu-latest`, `test` matches


def test_secrets_name_clash_gets_job_prefix(tmp_path):
    text = ("on: push\njobs:\n  a:\n    runs-on: x\n    env:\n      DB_PASSWORD: one1\n"
            "  b:\n    runs-on: x\n    env:\n      DB_PASSWORD: two2\n")
    write_tree(tmp_path, {WF: text})
    fix(tmp_path, only=["gha-secrets"])
    got = (tmp_path / WF).read_text()
    assert "DB_PASSWORD: ${{ secrets.DB_PASSWORD }}" in got
    assert "DB_PASSWORD: ${{ secrets.B_DB_PASSWORD }}" in got


PERM_CASES = [
    ("codeql", "      - uses: github/codeql-action/upload-sarif@v3\n",
     {"contents": "read", "security-events": "write"}),
    ("ghcr", "      - uses: docker/login-action@v3\n        with:\n          registry: ghcr.io\n",
     {"contents": "read", "packages": "write"}),
    ("release", "      - uses: softprops/action-gh-release@v2\n", {"contents": "write"}),
    ("oidc", "      - uses: aws-actions/configure-aws-credentials@v4\n", {"contents": "read", "id-token": "write"}),
    ("plain", "      - uses: actions/setup-node@v4\n", None),
    ("dockerhub", "      - uses: docker/login-action@v3\n        with:\n          username: x\n", None),
]


@pytest.mark.parametrize("name,step,block", PERM_CASES, ids=[c[0] for c in PERM_CASES])
def test_permissions_from_actions(tmp_path, name, step, block):
    import yaml

    text = "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n" + step
    write_tree(tmp_path, {WF: text})
    fix(tmp_path, only=["gha-permissions"])
    data = yaml.safe_load((tmp_path / WF).read_text())
    assert data["permissions"] == {"contents": "read"}
    assert data["jobs"]["j"].get("permissions") == block


def test_permissions_leave_unknowable_workflows(tmp_path):
    write_tree(tmp_path, {
        ".github/workflows/a.yml": "on: push\njobs:\n  a:\n    uses: org/repo/.github/workflows/x.yml@v1\n",
        ".github/workflows/b.yml": "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n"
                                   "      - uses: actions/github-script@v7\n",
        ".github/workflows/c.yml": "on: push\npermissions: read-all\njobs:\n  c:\n    runs-on: x\n"
                                   "    steps: [{run: 'true'}]\n"})
    result = fix(tmp_path, only=["gha-permissions"])
    assert not result.changed
    reasons = " ".join(s.reason for cs in result.changesets for s in cs.skips)
    assert "reusable workflow" in reasons and "github-script" in reasons


def test_permissions_leave_workflows_passing_the_token_to_unknown_actions(tmp_path):
    write_tree(tmp_path, {
        ".github/workflows/a.yml": "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                                   "      - uses: someone/lock-things@master\n        with:\n"
                                   "          github-token: ${{ github.token }}\n",
        ".github/workflows/b.yml": "on: push\njobs:\n  b:\n    runs-on: x\n    steps:\n"
                                   "      - run: gh api -X POST repos/o/r/labels -f name=x\n"
                                   "        env:\n          GH_TOKEN: ${{ github.token }}\n",
        ".github/workflows/c.yml": "on: push\njobs:\n  c:\n    runs-on: x\n    steps:\n"
                                   "      - uses: actions/setup-node@v4\n        with:\n"
                                   "          token: ${{ secrets.GITHUB_TOKEN }}\n"})
    result = fix(tmp_path, only=["gha-permissions"])
    changed = {p for cs in result.changesets for p in cs.changes}
    assert changed == {".github/workflows/c.yml"}
    reasons = " ".join(s.reason for cs in result.changesets for s in cs.skips)
    assert "someone/lock-things" in reasons and "GitHub API" in reasons
