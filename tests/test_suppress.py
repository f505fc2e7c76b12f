"""`# fixer: ignore[...]` on the line or on the enclosing block, in every file kind."""
from __future__ import annotations

import re

import pytest

from fixer import config, runner
from fixer.codemod import Codemod, Finding
from fixer.discovery import WorkTree
from tests.helpers import write_tree

MARK = re.compile(r"MARK")


class Marker(Codemod):
    """Test codemod: a finding (with an edit) on every line that holds the word MARK."""

    id = "test-marker"
    title = "t"
    kinds = ("dockerfile", "compose", "k8s", "helm", "workflow", "python", "script")
    rationale = "t"

    def fix(self, doc, ctx):
        for m in MARK.finditer(doc.text):
            yield Finding(doc.path, doc.line_of(m.start()) + 1, "mark",
                          [doc.replace(m.start(), m.end(), "MORK")])


def _statuses(tmp_path, files):
    write_tree(tmp_path, files)
    s = config.load(tmp_path)
    result = runner.run(WorkTree(tmp_path, use_git=False), s, codemods=(Marker(),), root=tmp_path)
    return [(f.path, f.line, f.status) for cs in result.changesets for f in cs.findings]


CASES = {
    "dockerfile-line": ("Dockerfile", "FROM a\nRUN echo MARK  # fixer: ignore[test-marker]\nRUN echo MARK\n",
                        {2: "suppressed", 3: "fixed"}),
    "dockerfile-stage": ("Dockerfile",
                         "FROM a AS one\nRUN echo MARK\n# fixer: ignore[test-marker]\nFROM b AS two\n"
                         "RUN echo \\\n  MARK\n",
                         {2: "fixed", 6: "suppressed"}),
    "dockerfile-other-id": ("Dockerfile", "FROM a  # fixer: ignore[other]\nRUN echo MARK\n", {2: "fixed"}),
    "compose-service": ("compose.yaml",
                        "services:\n  web:  # fixer: ignore\n    image: MARK\n    environment:\n"
                        "      - A=MARK\n  db:\n    image: MARK\n",
                        {3: "suppressed", 5: "suppressed", 7: "fixed"}),
    "compose-trailing-comment-does-not-leak": (
        "compose.yaml", "services:\n  web:\n    image: x  # fixer: ignore\n  db:\n    image: MARK\n",
        {5: "fixed"}),
    "k8s-document": ("deploy.yaml",
                     "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
                     "    - name: a\n      image: MARK\n---\n# fixer: ignore[test-marker]\napiVersion: v1\n"
                     "kind: Pod\nmetadata: {name: b}\nspec:\n  containers:\n    - name: b\n      image: MARK\n",
                     {7: "fixed", 16: "suppressed"}),
    "k8s-container": ("deploy.yaml",
                      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n"
                      "    # fixer: ignore\n    - name: a\n      image: MARK\n    - name: b\n      image: MARK\n",
                      {8: "suppressed", 10: "fixed"}),
    "workflow-job": (".github/workflows/ci.yml",
                     "on: push\njobs:\n  a:  # fixer: ignore[test-marker]\n    runs-on: x\n    steps:\n"
                     "      - run: echo MARK\n  b:\n    runs-on: x\n    steps:\n      - run: echo MARK\n",
                     {6: "suppressed", 10: "fixed"}),
    "workflow-step": (".github/workflows/ci.yml",
                      "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n"
                      "      - name: one  # fixer: ignore\n        run: |\n          echo MARK\n"
                      "      - run: echo MARK\n",
                      {8: "suppressed", 9: "fixed"}),
    "python-function": ("deploy.py",
                        "def a():  # fixer: ignore[test-marker]\n    x = 'MARK'\n\n\ndef b():\n    x = 'MARK'\n",
                        {2: "suppressed", 6: "fixed"}),
    "script-line": ("deploy.sh", "# fixer: ignore\necho MARK\necho MARK\n", {2: "suppressed", 3: "fixed"}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_suppression(tmp_path, name):
    path, text, want = CASES[name]
    got = {line: status for p, line, status in _statuses(tmp_path, {path: text})}
    assert got == want


def test_helm_template(tmp_path):
    files = {
        "chart/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        "chart/templates/dep.yaml": (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n"
            "  template:\n    spec:\n      containers:\n        # fixer: ignore[test-marker]\n"
            "        - name: a\n          image: \"{{ .Values.image }}-MARK\"\n"
            "        - name: b\n          image: MARK\n"),
    }
    got = {line: status for p, line, status in _statuses(tmp_path, files) if p.endswith("dep.yaml")}
    assert got == {11: "suppressed", 13: "fixed"}


def test_suppressed_is_reported_in_check_output(tmp_path):
    from typer.testing import CliRunner

    from fixer.cli import app

    write_tree(tmp_path, {"Dockerfile": "FROM a\n# fixer: ignore[dockerfile-maintainer]\nMAINTAINER me\n"})
    res = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert res.exit_code == 0
    assert "[suppressed" in res.stdout
    import json

    log = json.loads(CliRunner().invoke(app, ["check", str(tmp_path), "--format", "sarif"]).stdout)
    (r,) = log["runs"][0]["results"]
    assert r["suppressions"][0]["kind"] == "inSource" and "fixes" not in r
