"""`fixer check`: exit codes, SARIF 2.1.0 (schema-valid, correct `fixes`), JSON and GitHub output."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from fixer.cli import app
from tests.helpers import write_tree

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text("utf-8"))
SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"

WORKFLOW = """name: CI  # café
on: [push]

jobs:
  test:
    runs-on: ubuntu-latest
    services:
      db:
        image: postgres:16
        env:
          POSTGRES_PASSWORD: "sup3r-s3cret-pw"
    steps:
      - uses: actions/checkout@v4   # checkout
      - run: |
          echo "été"
          make test
"""
COMPOSE = "# é\r\nservices:\r\n  web:\r\n    image: nginx:1.27\r\n"
# one compose codemod: fixes stacked at the same place are reported without `fixes` (tested below)
CONFIG = ('[tool.fixer]\nskip = ["compose-networks", "compose-privileged", "compose-cap-drop", '
          '"compose-read-only", "compose-healthcheck", "compose-resource-limits", "compose-secrets", '
          '"compose-restart"]\n'
          f'[tool.fixer.codemod.gha-pin-actions]\npins = {{"actions/checkout@v4" = "{SHA}"}}\n'
          # the service container's password is moved only on request
          '[tool.fixer.codemod.gha-secrets]\nmove-service-passwords = true\n')


def _repo(tmp_path: Path) -> Path:
    write_tree(tmp_path, {".github/workflows/ci.yml": WORKFLOW, "compose.yaml": COMPOSE,
                          ".fixer.toml": CONFIG})
    return tmp_path


def _offset(text: str, line: int, col: int) -> int:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return starts[line - 1] + col - 1


def _apply_sarif(text: str, replacements: list[dict]) -> str:
    spans = []
    for r in replacements:
        reg = r["deletedRegion"]
        spans.append((_offset(text, reg["startLine"], reg["startColumn"]),
                      _offset(text, reg["endLine"], reg["endColumn"]), r["insertedContent"]["text"]))
    out, pos = [], 0
    for s, e, t in sorted(spans):
        assert s >= pos, "replacements overlap"
        out += [text[pos:s], t]
        pos = e
    return "".join(out + [text[pos:]])


def _invoke(*args):
    return CliRunner().invoke(app, list(args))


def test_sarif_validates_and_fixes_rebuild_the_fixed_files(tmp_path):
    root = _repo(tmp_path)
    res = _invoke("check", str(root), "--format", "sarif")
    assert res.exit_code == 1, res.output
    log = json.loads(res.stdout)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(log), key=str)
    assert not errors, [e.message for e in errors[:5]]
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {"gha-secrets", "gha-permissions", "gha-pin-actions", "compose-no-new-privileges"} <= set(rule_ids)
    for r in run["results"]:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
    by_rule = {}
    for r in run["results"]:
        by_rule.setdefault(r["ruleId"], []).append(r)
    assert len(by_rule["gha-secrets"]) == 1 and len(by_rule["gha-pin-actions"]) == 1
    # each result and its fix carry the fix's safety label
    assert by_rule["gha-secrets"][0]["properties"]["safety"] == "unsafe"
    assert by_rule["gha-secrets"][0]["fixes"][0]["properties"] == {"safety": "unsafe"}
    assert by_rule["gha-pin-actions"][0]["properties"]["safety"] == "safe"
    # every fix applied to the file on disk gives what `check --write --unsafe-fixes` writes
    reps: dict[str, list] = {}
    for r in run["results"]:
        assert "fixes" in r, r["ruleId"]
        for ch in r["fixes"][0]["artifactChanges"]:
            reps.setdefault(ch["artifactLocation"]["uri"], []).extend(ch["replacements"])
    originals = {p: (root / p).read_bytes().decode("utf-8") for p in reps}
    res = _invoke("check", str(root), "--write", "--unsafe-fixes")
    assert res.exit_code == 1
    for p, text in originals.items():
        assert _apply_sarif(text, reps[p]) == (root / p).read_bytes().decode("utf-8"), p
    assert _invoke("check", str(root)).exit_code == 0


def test_sarif_never_holds_the_secret(tmp_path):
    root = _repo(tmp_path)
    for fmt in ("sarif", "json", "github", "text"):
        res = _invoke("check", str(root), "--format", fmt)
        assert "sup3r-s3cret-pw" not in res.stdout, fmt
    assert "sup3r-s3cret-pw" not in _invoke("plan", str(root), "--format", "sarif").stdout


def test_fix_depending_on_an_earlier_fix_has_no_fixes_entry(tmp_path):
    # gha-pin-actions edits the same `uses:` value … only when nothing earlier touched it;
    # here two codemods insert at the same place: the second result keeps its finding, not a fix
    from fixer import sarif
    from fixer.text import Edit

    class WS:
        files = {}
    hist = sarif._History(WS())

    class CS:
        changes = {"f": ("abcdef", "abXcdef")}
        fixed = [type("F", (), {"edits": [Edit("f", 2, 2, "X")]})()]
    hist.record(CS())
    assert hist.original("f", 5, 6) == (4, 5)       # after the earlier insertion: shifted back
    assert hist.original("f", 0, 1) == (0, 1)       # before it: unchanged
    assert hist.original("f", 2, 3) is None         # touches the inserted text


def test_exit_codes_and_offline_default(tmp_path):
    root = _repo(tmp_path)
    assert _invoke("check", str(tmp_path / "missing")).exit_code == 2
    assert _invoke("check", str(root), "--format", "nope").exit_code == 2
    clean = tmp_path / "clean"
    write_tree(clean, {"README.md": "hi\n"})
    res = _invoke("check", str(clean))
    assert res.exit_code == 0 and "nothing to fix" in res.stdout
    # offline by default: unpinned actions without a configured pin are skipped, not resolved
    wf = tmp_path / "wf"
    write_tree(wf, {".github/workflows/a.yml": "on: push\npermissions: {}\njobs:\n  a:\n"
                                                "    runs-on: x\n    steps:\n      - uses: acme/x@v1\n"})
    res = _invoke("check", str(wf), "--format", "json", "--only", "gha-pin-actions")
    data = json.loads(res.stdout)
    assert res.exit_code == 0 and not data["pending"]
    assert any("offline" in s["reason"] for s in data["skipped"])


def test_github_annotations(tmp_path, monkeypatch):
    root = _repo(tmp_path)
    monkeypatch.chdir(root)
    res = _invoke("check", ".", "--format", "github")
    lines = res.stdout.splitlines()
    assert res.exit_code == 1
    assert any(ln.startswith("::warning file=.github/workflows/ci.yml,line=11,title=fixer gha-secrets::")
               for ln in lines), lines
    assert all(ln.startswith("::warning ") for ln in lines)


def test_github_escaping():
    from fixer.sarif import _esc_data, _esc_prop

    assert _esc_prop("a,b:c%") == "a%2Cb%3Ac%25"
    assert _esc_data("x\ny: 50%") == "x%0Ay: 50%25"


def test_json_format_lists_findings(tmp_path):
    root = _repo(tmp_path)
    data = json.loads(_invoke("check", str(root), "--format", "json").stdout)
    assert data["pending"] is True
    got = {(f["codemod"], f["file"], f["line"]) for f in data["findings"]}
    assert ("gha-secrets", ".github/workflows/ci.yml", 11) in got
    assert ("compose-no-new-privileges", "compose.yaml", 3) in got


@pytest.mark.parametrize("fmt", ["sarif", "github"])
def test_plan_accepts_ci_formats(tmp_path, fmt):
    root = _repo(tmp_path)
    res = _invoke("plan", str(root), "--format", fmt)
    assert res.exit_code == 1 and res.stdout.strip()


def test_output_file_is_written(tmp_path):
    root = _repo(tmp_path)
    out = tmp_path / "out" / "fixer.sarif"
    res = _invoke("check", str(root), "--format", "sarif", "--output", str(out))
    assert res.exit_code == 1
    assert json.loads(out.read_text("utf-8"))["version"] == "2.1.0"


def test_pre_commit_hooks_run(tmp_path):
    import re
    import shlex

    import yaml

    hooks = yaml.safe_load((Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text())
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"fixer-check", "fixer-fix"}
    for h in hooks:
        assert h["language"] == "python" and h.get("pass_filenames", True)   # the staged files
        files = re.compile(h["files"])
        assert all(files.search(p) for p in ("Dockerfile", "x/Containerfile", "a/b.Dockerfile",
                                             ".github/workflows/ci.yml", "compose.yaml"))
        assert not any(files.search(p) for p in ("README.md", "deploy.sh", "setup.py"))
    root = _repo(tmp_path)
    (root / "deploy.sh").write_text("echo hi\n")

    def run(hook, *staged):
        argv = shlex.split(by_id[hook]["entry"])
        assert argv[0] == "fixer"
        return _invoke(*argv[1:], *(str(root / p) for p in staged))
    assert run("fixer-check", "deploy.sh").exit_code == 0   # nothing fixer fixes was staged
    assert run("fixer-check", "compose.yaml").exit_code == 1
    assert run("fixer-fix", "compose.yaml").exit_code == 1          # changed files: pre-commit shows the diff
    assert run("fixer-check", "compose.yaml").exit_code == 0
    assert run("fixer-check", ".github/workflows/ci.yml", "compose.yaml").exit_code == 1   # the workflow's
    assert not list(root.rglob(".fixer-*"))         # no temporary files left behind
