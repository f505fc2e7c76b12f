"""Helm edits checked by rendering the chart with Helm's own engine (helm-python-sdk)."""
from __future__ import annotations

import pytest
import yaml

from fixer import config, helmrender, runner
from fixer.codemod import Codemod, Finding
from fixer.discovery import WorkTree
from tests.helpers import fix, write_tree

helm_python = pytest.importorskip("helm_python")

HELPERS = """{{- define "app.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- define "app.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}
"""

# the shape of the real chart behind the seed audit: an unconditional `-config` Secret, a
# pre-install migration Job opened by `{{- if … -}}`, a Deployment with a conditional env
MIGRATION = {
    "app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
    "app/values.yaml": "migration:\n  enabled: true\nconfig:\n  storage:\n    postgres_dsn: \"\"\n"
                       "  annotations: {}\nimage: example/app:1.0\n",
    "app/templates/_helpers.tpl": HELPERS,
    "app/templates/secret.yaml": """apiVersion: v1
kind: Secret
metadata:
  name: {{ include "app.fullname" . }}-config
  labels:
    {{- include "app.labels" . | nindent 4 }}
type: Opaque
stringData:
  session-key: {{ randAlphaNum 32 | quote }}
""",
    "app/templates/migration-job.yaml": """{{- if .Values.migration.enabled -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "app.fullname" . }}-migrate
  annotations:
    "helm.sh/hook": pre-install,pre-upgrade
    "helm.sh/hook-weight": "1"
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: {{ .Values.image }}
          env:
            - name: POSTGRES_DSN
              value: {{ .Values.config.storage.postgres_dsn | quote }}
{{- end }}
""",
    "app/templates/deployment.yaml": """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "app.fullname" . }}
  labels:
    {{- include "app.labels" . | nindent 4 }}
spec:
  selector:
    matchLabels:
      {{- include "app.labels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "app.labels" . | nindent 8 }}
      annotations:
        rollme: {{ randAlphaNum 5 | quote }}
        {{- with .Values.config.annotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      containers:
        - name: app
          image: {{ .Values.image }}
          ports:
            - containerPort: 8080
          env:
            {{- if .Values.migration.enabled }}
            - name: DATABASE_DSN
              value: {{ .Values.config.storage.postgres_dsn | quote }}
            {{- end }}
            {{- range $k, $v := .Values.extraEnv }}
            - name: {{ $k }}
              value: {{ tpl $v $ | quote }}
            {{- end }}
""",
}


def render(root, chart="app", values=None):
    """{(kind, name): object} of the chart as Helm renders it."""
    with helm_python.Chart.load(str(root / chart)) as ch:
        out = ch.render(values or {}, name="release", namespace="default")
    objs = {}
    for path, text in out.items():
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if isinstance(doc, dict):
                objs[(doc["kind"], doc["metadata"]["name"])] = doc
    return objs


def env_of(obj):
    return {e["name"]: e for e in obj["spec"]["template"]["spec"]["containers"][0]["env"]}


def test_secret_keys_land_in_config_secret_and_hook_secret_and_render(tmp_path):
    write_tree(tmp_path, MIGRATION)
    result = fix(tmp_path, only=["k8s-secret-ref"], offline=True)
    fixed = [f for cs in result.changesets for f in cs.findings if f.status == "fixed"]
    assert len(fixed) == 2, [(f.message, f.note) for cs in result.changesets for f in cs.findings]
    secret = (tmp_path / "app/templates/secret.yaml").read_text("utf-8")
    # the conditional copied around the key trims only to its left: the key keeps its line
    assert secret.endswith("stringData:\n  session-key: {{ randAlphaNum 32 | quote }}\n"
                           "  {{- if .Values.migration.enabled }}\n"
                           "  postgres-dsn: {{ .Values.config.storage.postgres_dsn | quote }}\n"
                           "  {{- end }}\n")
    objs = render(tmp_path, values={"config": {"storage": {"postgres_dsn": "postgres://u:pw@db/app"}}})
    config_secret = objs[("Secret", "release-app-config")]
    assert config_secret["stringData"]["postgres-dsn"] == "postgres://u:pw@db/app"
    ref = env_of(objs[("Deployment", "release-app")])["DATABASE_DSN"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "release-app-config", "key": "postgres-dsn"}
    # the hook runs before the chart's Secret exists: it gets a hook Secret of its own
    hook_secret = objs[("Secret", "release-app-migrate")]
    assert hook_secret["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert hook_secret["stringData"] == {"postgres-dsn": "postgres://u:pw@db/app"}
    ref = env_of(objs[("Job", "release-app-migrate")])["POSTGRES_DSN"]["valueFrom"]["secretKeyRef"]
    assert ref == {"name": "release-app-migrate", "key": "postgres-dsn"}
    # the block around the whole hook wraps the whole hook Secret
    hook_text = (tmp_path / "app/templates/migration-job-secret.yaml").read_text("utf-8")
    assert hook_text.startswith("{{- if .Values.migration.enabled }}\napiVersion: v1\n")
    assert hook_text.endswith("stringData:\n  postgres-dsn: {{ .Values.config.storage.postgres_dsn | quote }}\n"
                              "{{- end }}\n")
    # with the migration off nothing dangles
    off = render(tmp_path, values={"migration": {"enabled": False}})
    assert "postgres-dsn" not in (off[("Secret", "release-app-config")]["stringData"])
    assert ("Job", "release-app-migrate") not in off and ("Secret", "release-app-migrate") not in off
    assert not fix(tmp_path, only=["k8s-secret-ref"], offline=True).changed


class _Edit(Codemod):
    """A codemod for tests: replaces `old` by `new` in one template."""

    kinds = ("helm",)
    title = rationale = "test"

    def __init__(self, cid: str, path: str, old: str, new: str):
        self.id, self.path, self.old, self.new = cid, path, old, new

    def fix(self, doc, ctx):
        if doc.path != self.path:
            return
        i = doc.text.index(self.old)
        yield Finding(doc.path, doc.line_of(i) + 1, "test edit", [doc.replace(i, i + len(self.old), self.new)])


def _run(root, *codemods):
    s = config.load(root)
    return runner.run(WorkTree(root, use_git=False), s, codemods=codemods, root=root)


def _finding(result):
    return result.changesets[0].findings[0] if result.changesets[0].findings else None


def test_whitespace_trim_that_glues_keys_is_dropped(tmp_path):
    """The masked text is fine; Helm renders `stringData:postgres-dsn: …`."""
    write_tree(tmp_path, MIGRATION)
    bad = ("  session-key: {{ randAlphaNum 32 | quote }}\n  {{- if .Values.migration.enabled -}}\n"
           "  postgres-dsn: {{ .Values.config.storage.postgres_dsn | quote }}\n  {{- end }}\n")
    # glue the first key to `stringData:` the way the copied `-}}` did
    cm = _Edit("k8s-secret-ref", "app/templates/secret.yaml",
               "stringData:\n  session-key: {{ randAlphaNum 32 | quote }}\n",
               "stringData:\n  {{- if .Values.migration.enabled -}}\n  session-key: {{ randAlphaNum 32 | quote }}\n"
               "  {{- end }}\n")
    result = _run(tmp_path, cm)
    f = _finding(result)
    assert f.status == "dropped" and "rendered chart" in f.note and "stringData:session-key" in f.note
    assert any("edit dropped" in e for e in result.errors)
    assert bad  # the shape the codemod itself now writes is covered by the test above


def test_change_outside_the_codemods_fields_is_dropped(tmp_path):
    write_tree(tmp_path, MIGRATION)
    cm = _Edit("k8s-probes", "app/templates/deployment.yaml", "containerPort: 8080", "containerPort: 9090")
    f = _finding(_run(tmp_path, cm))
    assert f.status == "dropped"
    assert "changes spec.template.spec.containers.[app].ports.0.containerPort" in f.note


def test_random_values_are_not_changes_and_meant_fields_pass(tmp_path):
    write_tree(tmp_path, MIGRATION)
    cm = _Edit("k8s-resources", "app/templates/deployment.yaml", "          ports:\n",
               "          resources:\n            limits:\n              memory: 256Mi\n          ports:\n")
    result = _run(tmp_path, cm)
    assert _finding(result).status == "fixed", _finding(result).note
    assert not [e for e in result.errors if "not rendered" in e]


def test_clock_and_generated_certificates_are_not_changes(tmp_path):
    files = dict(MIGRATION)
    files["app/templates/tls.yaml"] = """{{- $ca := genCA "app-ca" 365 }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "app.fullname" . }}-tls
  annotations:
    issued: {{ now | date "2006-01-02T15:04:05" | quote }}
data:
  ca.crt: {{ $ca.Cert | b64enc | quote }}
"""
    write_tree(tmp_path, files)
    cm = _Edit("k8s-resources", "app/templates/deployment.yaml", "          ports:\n",
               "          resources:\n            limits:\n              memory: 256Mi\n          ports:\n")
    result = _run(tmp_path, cm)
    assert _finding(result).status == "fixed", _finding(result).note


def test_unresolved_secret_key_ref_is_dropped(tmp_path):
    write_tree(tmp_path, MIGRATION)
    cm = _Edit("k8s-secret-ref", "app/templates/deployment.yaml", "          env:\n",
               "          env:\n            - name: API_TOKEN\n              valueFrom:\n"
               "                secretKeyRef:\n                  name: nowhere\n                  key: dsn\n")
    f = _finding(_run(tmp_path, cm))
    assert f.status == "dropped" and "secretKeyRef nowhere/dsn names no key of a rendered Secret" in f.note


def test_change_that_renders_nowhere_is_a_skip(tmp_path):
    files = dict(MIGRATION)
    files["app/templates/worker.yaml"] = """{{- if .Values.worker.enabled }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "app.fullname" . }}-worker
data:
  mode: slow
{{- end }}
"""
    files["app/values.yaml"] += "worker:\n  enabled: false\n"
    write_tree(tmp_path, files)
    cm = _Edit("test-any", "app/templates/worker.yaml", "mode: slow", "mode: fast")
    result = _run(tmp_path, cm)
    cs = result.changesets[0]
    assert not cs.findings and not cs.changes
    assert any("not effective with the chart's values (default values)" in s.reason for s in cs.skips)
    # a ci/ values file that turns the worker on makes the same change effective
    write_tree(tmp_path, {"app/ci/worker-values.yaml": "worker:\n  enabled: true\n"})
    assert _finding(_run(tmp_path, cm)).status == "fixed"


def test_chart_with_missing_dependency_falls_back_with_one_line(tmp_path):
    files = dict(MIGRATION)
    files["app/Chart.yaml"] += ("dependencies:\n  - name: postgresql\n    version: 15.x.x\n"
                                "    repository: oci://registry-1.docker.io/bitnamicharts\n")
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["k8s-secret-ref", "k8s-resources"], offline=True)
    warn = [e for e in result.errors if "not rendered" in e]
    assert warn == ["app: not rendered (dependencies not vendored in charts/: postgresql); "
                    "Helm edits checked structurally only"]
    assert any(f.status == "fixed" for cs in result.changesets for f in cs.findings)


@pytest.mark.parametrize("prelude, says", [
    ("import sys; sys.modules['helm_python'] = None\n", "ModuleNotFoundError"),
    ("import sys\nclass _F:\n    def find_spec(self, name, *a):\n"
     "        if name == 'helm_python': raise OSError('libhelm_c.so: cannot open shared object file')\n"
     "sys.meta_path.insert(0, _F())\n", "OSError"),
    ("import os; os._exit(3)\n", "rendering process ended"),
])
def test_missing_package_or_library_degrades_to_the_structural_check(tmp_path, monkeypatch, prelude, says):
    helmrender._child.stop()
    monkeypatch.setattr(helmrender._child, "script", prelude + helmrender._child.script)
    try:
        write_tree(tmp_path, MIGRATION)
        result = fix(tmp_path, only=["k8s-secret-ref"], offline=True)
    finally:
        helmrender._child.stop()
    warn = [e for e in result.errors if "not rendered" in e]
    assert len(warn) == 1 and says in warn[0] and warn[0].startswith("Helm charts: not rendered")
    assert any(f.status == "fixed" for cs in result.changesets for f in cs.findings)
