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


# -- every codemod leaves a suppressed target alone ------------------------------------
# (codemod id) -> (file of its first before/after example (None: the example's own file),
# text of the target's opening line[, which example]); `# fixer: ignore[id]` goes on a
# comment line right above that line.
TARGETS = {
    "pin-image-digest": (None, "FROM --platform=linux/amd64 nginx AS web"),
    "dockerfile-add-to-copy": (None, "ADD --chown"),
    "dockerfile-pip-no-cache": (None, "RUN pip install"),
    "dockerfile-apt-hygiene": (None, "RUN apt-get update"),
    "dockerfile-apk-no-cache": (None, "RUN apk update"),
    "dockerfile-exec-form": (None, "CMD gunicorn"),
    "dockerfile-maintainer": (None, "MAINTAINER"),
    "dockerfile-user": (None, "FROM python"),
    "dockerfile-healthcheck": (None, "FROM python"),
    "compose-networks": (None, "  db:"),
    "compose-privileged": (None, "  vpn:"),
    "compose-cap-drop": (None, "  db:"),
    "compose-no-new-privileges": (None, "  web:"),
    "compose-read-only": (None, "  db:"),
    "compose-healthcheck": (None, "  cache:"),
    "compose-resource-limits": (None, "  app:"),
    "compose-secrets": (None, "  db:"),
    "compose-restart": (None, "  web:"),
    "k8s-secret-ref": (None, "        - name: web"),
    "k8s-security-context": (None, "        - name: web"),
    "k8s-probes": (None, "        - name: db"),
    "k8s-resources": (None, "            - name: report"),
    "gha-secrets": (None, "  test:"),
    "gha-permissions": (None, "  image:", 1),
    "gha-pin-actions": (None, "      - uses: actions/checkout@v4"),
    "dockerfile-consolidate": ("svc/a/Dockerfile", "FROM"),
    "compose-ports-loopback": (None, "  app:"),
    "compose-unconfined": (None, "  api:"),
    "gha-persist-credentials": (None, "      - uses: actions/checkout@v4"),
    "gha-template-injection": (None, "      - run: |"),
}


def _changing(codemod, n=0):
    return [ex for ex in codemod.examples if ex.after is not None and ex.after != ex.before][n]


def _with_comment(text: str, target: str, cid: str) -> tuple[str, int]:
    lines = text.splitlines(keepends=True)
    n = next(i for i, ln in enumerate(lines) if ln.startswith(target))
    indent = lines[n][:len(lines[n]) - len(lines[n].lstrip())]
    lines.insert(n, f"{indent}# fixer: ignore[{cid}]\n")
    return "".join(lines), n + 1


def _block_edits(result, text, path, cid):
    """Edits of applied fixes that land in the block `text` suppresses in `path`."""
    from fixer.engine import make_document
    from fixer.discovery import name_kind
    from fixer.suppress import Suppressions

    doc = make_document(path, name_kind(path, set()) or "compose", text, False)
    sups = Suppressions(doc, text, cid)
    assert sups, "the comment protects no block"
    return [e for cs in result.changesets for f in cs.fixed for e in f.edits
            if e.path == path and sups.block_of(e) is not None]


def test_every_codemod_has_a_suppression_case():
    from codemods import all_codemods

    assert {c.id for c in all_codemods()} == set(TARGETS)


@pytest.mark.parametrize("cid", sorted(TARGETS))
def test_suppressed_target_is_left_alone(tmp_path, cid):
    from codemods import all_codemods
    from tests.helpers import fix

    codemod = next(c for c in all_codemods() if c.id == cid)
    where, target, *n = TARGETS[cid]
    ex = _changing(codemod, *n)
    where = where or ex.path
    files = {ex.path: ex.before, **ex.files}
    text, comment = _with_comment(files[where], target, cid)
    # the same file with a comment for another codemod (same length: same offsets)
    other = text.replace(f"ignore[{cid}]", f"ignore[{'x' * len(cid)}]")
    for name, content in (("plain", other), ("ignored", text)):
        write_tree(tmp_path / name, {**files, where: content})
    result = fix(tmp_path / "plain", only=[cid], options={cid: ex.options}, offline=True, write=False)
    assert _block_edits(result, text, where, cid), "the case suppresses nothing the codemod would change"

    result = fix(tmp_path / "ignored", only=[cid], options={cid: ex.options}, offline=True, write=False)
    assert not _block_edits(result, text, where, cid)
    reasons = [s.reason for cs in result.changesets for s in cs.skips] + \
              [f.note for cs in result.changesets for f in cs.findings if f.status == "suppressed"]
    assert any(f"suppressed by `# fixer: ignore` (line {comment})" in r for r in reasons), reasons


def test_consolidation_never_rewrites_a_suppressed_reference(tmp_path):
    from codemods import all_codemods
    from tests.helpers import fix

    cid = "dockerfile-consolidate"
    ex = next(c for c in all_codemods() if c.id == cid).examples[0]
    compose, _ = _with_comment(ex.before, "  a:", cid)
    write_tree(tmp_path, {ex.path: compose, **ex.files})
    result = fix(tmp_path, only=[cid], offline=True)
    assert not result.changed
    assert (tmp_path / ex.path).read_text() == compose and (tmp_path / "svc/a/Dockerfile").exists()
    reasons = [s.reason for cs in result.changesets for s in cs.skips]
    assert any("the reference is suppressed by `# fixer: ignore` (line 2)" in r for r in reasons), reasons


def test_arg_default_of_a_suppressed_from_is_not_pinned(tmp_path):
    from tests.helpers import fix

    text = "ARG BASE=python:3.12-slim\n# fixer: ignore\nFROM ${BASE} AS build\nFROM nginx:1.25\n"
    write_tree(tmp_path, {"Dockerfile": text})
    digests = {"python:3.12-slim": "sha256:" + "1" * 64, "nginx:1.25": "sha256:" + "2" * 64}
    result = fix(tmp_path, only=["pin-image-digest"], options={"pin-image-digest": {"digests": digests}},
                 offline=True)
    got = (tmp_path / "Dockerfile").read_text()
    assert got.startswith("ARG BASE=python:3.12-slim\n") and "nginx:1.25@sha256:" in got
    (skip,) = [s for cs in result.changesets for s in cs.skips]
    assert skip.line == 1 and "suppressed by `# fixer: ignore` (line 2)" in skip.reason


# -- which edits a suppressed block covers -----------------------------------------------
COMPOSE = "services:\n  web:\n    image: a\n  # fixer: ignore\n  db:\n    image: b\n"
DOCKER = "FROM a AS one\n# fixer: ignore\nRUN x\nRUN y\nFROM b AS two\nRUN z\n"
TWO_STAGES = "FROM a AS one\nRUN x\n# fixer: ignore\nFROM b AS two\nRUN z\n"
BLOCKS = [
    # (kind, text, text right before the edit (last occurrence; "" for the end), new text, blocked);
    # the edit inserts, except that it replaces one character after "    image: "
    ("compose", COMPOSE, "", "    networks: [x]\n", True),                  # appended to db (EOF)
    ("compose", COMPOSE, "", "networks:\n  x: {}\n", False),                # a top-level key after it
    ("compose", COMPOSE, "    image: a\n", "    networks: [x]\n", False),  # appended to web
    ("compose", COMPOSE, "    image: ", "c", True),                          # db's image
    ("compose", COMPOSE, "image: a", "\n    networks: [x]", False),         # "\nX" at web's line end
    ("compose", COMPOSE, "image: b", "\n    networks: [x]", True),          # "\nX" at db's line end
    ("dockerfile", DOCKER, "RUN x", " --flag", True),                        # in the instruction
    ("dockerfile", DOCKER, "RUN x\n", "RUN new\n", False),                   # a new line after it
    ("dockerfile", TWO_STAGES, "RUN z\n", "USER app\n", True),               # appended to the stage
    ("dockerfile", TWO_STAGES, "RUN x\n", "USER app\n", False),              # the stage before
]


@pytest.mark.parametrize("kind,text,before,new,blocked", BLOCKS)
def test_edit_in_suppressed_block(kind, text, before, new, blocked):
    from fixer.engine import make_document
    from fixer.suppress import Suppressions
    from fixer.text import Edit

    path = "compose.yaml" if kind == "compose" else "Dockerfile"
    doc = make_document(path, kind, text, False)
    at = len(text) if before == "" else text.rindex(before) + len(before)
    end = at + 1 if before == "    image: " else at
    sups = Suppressions(doc, text, "any-codemod")
    assert (sups.block_of(Edit(path, at, end, new)) is not None) == blocked
