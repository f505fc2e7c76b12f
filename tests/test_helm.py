"""Helm templates: masking, where actions render structure, safe insertion, action checks."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from fixer import config, k8s, runner
from fixer.codemod import Codemod, Finding
from fixer.discovery import WorkTree
from fixer.helm import HelmTemplate, mask, preserves_actions
from tests.helpers import fix, write_tree

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels: {{- include "app.labels" . | nindent 4 }}
    tier: web
spec:
  template:
    spec:
      {{- with .Values.podSecurityContext }}
      securityContext:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: app
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - name: A
              value: "1"
            {{- if .Values.extra }}
            - name: B
              value: {{ .Values.b | quote }}  # {{ .Values.c }}
            {{- end }}  # extra
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
        - name: side
          image: busybox:1.36
          {{- include "app.sideExtras" . | nindent 10 }}
"""


def _doc(text=DEPLOY, path="chart/templates/deploy.yaml"):
    return HelmTemplate(path, text)


def test_mask_keeps_offsets_and_parses():
    m = mask(DEPLOY)
    assert len(m) == len(DEPLOY)
    assert [i for i, ch in enumerate(DEPLOY) if ch == "\n"] == [i for i, ch in enumerate(m) if ch == "\n"]
    data = yaml.safe_load(m)
    assert data["metadata"]["labels"] == {"tier": "web"}       # inline nindent block opens a mapping
    env = data["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["A", "B"]


def test_action_lines_become_comments():
    text = "a:\n  {{- if .Values.x }}  # note\n  b: 1\n  {{- end }}\n"
    assert mask(text).splitlines()[1].lstrip().startswith("#")
    assert yaml.safe_load(mask(text)) == {"a": {"b": 1}}


def test_value_actions_and_values_path():
    d = _doc()
    spec = next(k8s.workloads(d)).pod_spec
    containers = list(k8s.containers(d, spec))
    app = containers[0].node
    res_pair = next((k, v) for k, v in app.value if k.value == "resources")
    assert k8s.values_path(d, *res_pair) == ("resources", "")
    sc_pair = next((k, v) for k, v in spec.value if k.value == "securityContext")
    assert k8s.values_path(d, *sc_pair)[0] == "podSecurityContext"   # from `with`


def test_rendered_entries_and_safe_insertion():
    d = _doc()
    spec = next(k8s.workloads(d)).pod_spec
    app, side = [c.node for c in k8s.containers(d, spec)]
    assert k8s.rendered_entries(d, side) and "sideExtras" in k8s.rendered_entries(d, side)
    with pytest.raises(k8s.Unsafe):
        k8s.add_entry(d, side, "x", 1)
    # `resources:` is rendered by the action after it; the insertion goes after the env
    # block's `{{- end }}`, never between `resources:` and its action
    edit = k8s.add_entry(d, app, "readinessProbe", {"tcpSocket": {"port": 80}})
    new = d.text[:edit.start] + edit.text + d.text[edit.end:]
    assert preserves_actions(d.text, new)
    lines = new.splitlines()
    i = lines.index("          readinessProbe:")
    assert lines[i - 1].strip().startswith("{{- end }}")
    assert lines[i + 3].strip() == "resources:"
    assert yaml.safe_load(mask(new))["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]


def test_open_scopes_and_depth():
    d = _doc()
    at = d.text.index("value: {{ .Values.b")
    scopes = k8s.open_scopes(d, at)
    assert [s[0] for s in scopes] == ["if"] and scopes[0][1] == "{{- if .Values.extra }}"
    assert k8s.control_depth(d, 0, len(d.text)) == 0


def test_preserves_actions_multiset():
    old = "a: {{ .x }}\nb: {{ .x }}\n"
    assert preserves_actions(old, old + "c: {{ .y }}\n")
    assert not preserves_actions(old, "a: {{ .x }}\n")


class _DropAction(Codemod):
    id = "test-drop-action"
    title = "removes an action"
    kinds = ("helm",)
    rationale = "test"

    def fix(self, doc, ctx):
        i = doc.text.index("{{ .Values.replicas }}")
        yield Finding(doc.path, 1, "drop", [doc.replace(i, i + len("{{ .Values.replicas }}"), "3")])


def test_engine_drops_edit_that_loses_an_action(tmp_path):
    write_tree(tmp_path, {"c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
                          "c/templates/d.yaml": "kind: Deployment\nspec:\n  replicas: {{ .Values.replicas }}\n"})
    s = config.load(tmp_path)
    result = runner.run(WorkTree(tmp_path, use_git=False), s, codemods=(_DropAction(),), root=tmp_path)
    f = result.changesets[0].findings[0]
    assert f.status == "dropped" and "template action" in f.note


CHART = {
    "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    "c/values.yaml": "token: \"\"\nresources: {}\n",
    "c/templates/d.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "c.fullname" . }}
spec:
  template:
    spec:
      containers:
        - name: c
          image: example/c:1
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
            - name: API_TOKEN
              value: {{ .Values.token | quote }}
          {{- if .Values.resources }}
          resources: {{- toYaml .Values.resources | nindent 12 }}
          {{- else }}
          resources: {{- include "c.preset" . | nindent 12 }}
          {{- end }}
""",
}


def test_chart_secret_created_and_if_else_preset_left_alone(tmp_path):
    write_tree(tmp_path, CHART)
    result = fix(tmp_path, only=["k8s-secret-ref", "k8s-resources"], offline=True)
    secret = (tmp_path / "c/templates/secret.yaml").read_text("utf-8")
    assert 'name: {{ include "c.fullname" . }}' in secret
    assert "token: {{ .Values.token | quote }}" in secret
    d = (tmp_path / "c/templates/d.yaml").read_text("utf-8")
    assert "secretKeyRef" in d and "{{ $v | quote }}" in d
    assert (tmp_path / "c/values.yaml").read_text("utf-8") == CHART["c/values.yaml"]
    skips = [s.reason for cs in result.changesets for s in cs.skips]
    assert any("if/else" in r for r in skips)
    again = fix(tmp_path, only=["k8s-secret-ref", "k8s-resources"], offline=True)
    assert not again.changed


def test_broken_template_is_skipped_not_edited(tmp_path):
    files = {"c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
             "c/templates/d.yaml": "kind: Deployment\nspec:\n  containers:\n- a: [\n"}
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["k8s-security-context"], offline=True)
    assert not result.changed
    assert any("not YAML" in s.reason for cs in result.changesets for s in cs.skips)
    assert Path(tmp_path / "c/templates/d.yaml").read_text("utf-8") == files["c/templates/d.yaml"]


TOP = {
    "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
    "c/values.yaml": "db:\n  password: hunter2-default\nresources: {}\n",
    "c/templates/d.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "c.fullname" . }}
spec:
  template:
    spec:
      containers:
        - name: c
          image: example/c:1
          env:
            - name: DB_PASSWORD
              value: {{ .Values.db.password | quote }}
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
""",
}


def test_pod_keys_go_under_spec_when_the_end_is_rendered(tmp_path):
    write_tree(tmp_path, TOP)
    result = fix(tmp_path, only=["k8s-secret-ref", "k8s-security-context"], offline=True)
    text = (tmp_path / "c/templates/d.yaml").read_text("utf-8")
    # example/c is not known to run as a numeric non-root uid: no runAsNonRoot
    assert "    spec:\n      securityContext:\n        seccompProfile:\n" in text
    assert "runAsNonRoot" not in text
    assert text.rstrip().endswith("{{- toYaml .Values.resources | nindent 12 }}")
    pod = yaml.safe_load(mask(text))["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {}}]
    assert pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    reported = [f for cs in result.changesets for f in cs.findings if f.status == "reported"]
    assert reported and reported[0].path == "c/values.yaml" and "hunter2-default" in result.secrets
    for p in tmp_path.rglob("templates/*.yaml"):
        assert "hunter2-default" not in p.read_text("utf-8")
