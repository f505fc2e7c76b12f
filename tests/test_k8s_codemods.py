"""Kubernetes codemods: schema validity, secrets never written, notes, skips, edge cases."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from fixer import golden, helm
from tests.helpers import fix, write_tree

GOLDEN = Path(golden.GOLDEN)
IDS = ["k8s-secret-ref", "k8s-security-context", "k8s-probes", "k8s-resources"]
LITERALS = ["s3cr3t-Passw0rd", "sk_live_51HxExampleExampleExample", "mail-Pa55"]


def _k8s_cases():
    return [c for c in golden.cases() if c.parent.name.startswith("k8s-")]


def _plain_files(root: Path):
    for p in sorted(root.rglob("*.yaml")):
        rel = p.relative_to(root).as_posix()
        if "/templates/" in f"/{rel}" or p.name in ("Chart.yaml",) or p.name.startswith("values") \
                or p.name.endswith("values.yaml") and (p.parent.parent / "Chart.yaml").exists():
            continue
        yield p


def _validate_all(text: str) -> int:
    n = 0
    version = kubernetes_validate.latest_version()
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        for d in doc.get("items", []) if doc.get("kind") == "List" else [doc]:
            kubernetes_validate.validate(d, version, strict=True)
            n += 1
    return n


@pytest.mark.parametrize("case", _k8s_cases(), ids=lambda c: f"{c.parent.name}/{c.name}")
def test_plain_outputs_validate_against_kubernetes_schema(case):
    checked = 0
    for p in _plain_files(case / "expected"):
        checked += _validate_all(p.read_text("utf-8"))
    if any(_plain_files(case / "input")):
        assert checked > 0


@pytest.mark.parametrize("case", _k8s_cases(), ids=lambda c: f"{c.parent.name}/{c.name}")
def test_no_status_or_creation_timestamp_added(case):
    for p in (case / "expected").rglob("*.yaml"):
        rel = p.relative_to(case / "expected")
        src = case / "input" / rel
        old = src.read_text("utf-8") if src.exists() else ""
        new = p.read_text("utf-8")
        assert new.count("status:") == old.count("status:")
        assert "creationTimestamp" not in new or "creationTimestamp" in old
        assert new.count("\n---") >= old.count("\n---")
        assert new.count("#") >= old.count("#")


@pytest.mark.parametrize("case", [c for c in _k8s_cases() if (c / "input" / "charts").exists()],
                         ids=lambda c: f"{c.parent.name}/{c.name}")
def test_template_actions_kept_across_the_chart(case):
    def actions(root):
        total = Counter()
        for p in root.rglob("templates/*.yaml"):
            total += helm.action_multiset(p.read_text("utf-8"))
        return total
    before, after = actions(case / "input"), actions(case / "expected")
    assert before and all(after[a] >= n for a, n in before.items())
    # every changed template except the one the secret value moved out of keeps its own
    for p in (case / "expected").rglob("templates/*.yaml"):
        src = case / "input" / p.relative_to(case / "expected")
        if src.exists() and "valueFrom" not in p.read_text("utf-8"):
            assert helm.preserves_actions(src.read_text("utf-8"), p.read_text("utf-8")), p


def test_secret_literals_never_written(tmp_path):
    case = GOLDEN / "k8s-secret-ref" / "all-plain"
    shutil.copytree(case / "input", tmp_path / "repo")
    result = fix(tmp_path / "repo", only=IDS, offline=True)
    for p in (tmp_path / "repo").rglob("*"):
        if p.is_file():
            text = p.read_text("utf-8")
            for lit in LITERALS:
                assert lit not in text, (p, lit)
    for lit in LITERALS:
        assert lit in result.secrets
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("web-secrets" in n and "PGPASSWORD" in n and "STRIPE_API_KEY" in n for n in notes)
    assert any("db-secrets" in n and "namespace shop" in n for n in notes)
    assert any("nightly-report-secrets" in n and "SMTP_PASSWORD" in n for n in notes)
    secret = (tmp_path / "repo" / "deploy" / "app-secret.yaml").read_text("utf-8")
    assert "kubectl create secret generic web-secrets --namespace shop" in secret
    assert _validate_all(secret) == 2


def test_helm_secret_notes_and_hook_secret(tmp_path):
    case = GOLDEN / "k8s-secret-ref" / "helm-chart"
    shutil.copytree(case / "input", tmp_path / "repo")
    result = fix(tmp_path / "repo", only=["k8s-secret-ref"], offline=True)
    notes = [n for cs in result.changesets for n in cs.notes]
    assert any("postgres-dsn" in n and "secret.yaml" in n for n in notes)
    assert any("hook Secret" in n for n in notes)
    hook = (tmp_path / "repo/charts/app/templates/migrate-job-secret.yaml").read_text("utf-8")
    masked = yaml.safe_load(helm.mask(hook))
    ann = masked["metadata"]["annotations"]
    assert ann["helm.sh/hook"] == "pre-install,pre-upgrade" and ann["helm.sh/hook-weight"] == "-1"
    job = (tmp_path / "repo/charts/app/templates/migrate-job.yaml").read_text("utf-8")
    assert ".Values.config.storage.postgres_dsn" not in job


DS = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
        - name: agent
          image: example/agent:1
      volumes:
        - name: host
          hostPath: {path: /}
"""


def test_node_agent_skipped_with_reason(tmp_path):
    write_tree(tmp_path, {"ds.yaml": DS})
    result = fix(tmp_path, only=["k8s-security-context"], offline=True)
    skips = [s.reason for cs in result.changesets for s in cs.skips]
    assert any("hostPath" in r and "node agent" in r for r in skips)
    assert (tmp_path / "ds.yaml").read_text("utf-8") == DS


ROOT = """apiVersion: v1
kind: Pod
metadata:
  name: fixer
spec:
  containers:
    - name: chown
      image: busybox:1.36
      securityContext:
        runAsUser: 0
      resources: {}
"""


def test_root_container_keeps_capabilities_and_empty_resources_filled(tmp_path):
    write_tree(tmp_path, {"pod.yaml": ROOT})
    fix(tmp_path, only=["k8s-security-context", "k8s-resources"], offline=True)
    out = yaml.safe_load((tmp_path / "pod.yaml").read_text("utf-8"))
    c = out["spec"]["containers"][0]
    assert "capabilities" not in c["securityContext"]
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert "runAsNonRoot" not in out["spec"].get("securityContext", {})
    assert c["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert _validate_all((tmp_path / "pod.yaml").read_text("utf-8")) == 1


MIXED = """apiVersion: v1
kind: Pod
metadata:
  name: p
spec:
  containers:
  - name: a
    image: busybox:1.36
    volumeMounts:
    - name: data
      mountPath: /data
  volumes:
  - name: data
    emptyDir: {}
"""


def test_list_item_before_key_at_same_offset(tmp_path):
    write_tree(tmp_path, {"pod.yaml": MIXED})
    fix(tmp_path, only=["k8s-security-context"], offline=True)
    text = (tmp_path / "pod.yaml").read_text("utf-8")
    out = yaml.safe_load(text)
    c = out["spec"]["containers"][0]
    assert {"name": "tmp", "mountPath": "/tmp"} in c["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in out["spec"]["volumes"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert _validate_all(text) == 1


def test_resources_respect_existing_limits():
    from codemods.k8s_resources import quantity
    assert quantity("512Mi") == 512 * 2 ** 20 and quantity("1") == 1 and quantity("250m") == 0.25
    assert quantity("lots") is None


def test_secret_like_names():
    from codemods.k8s_secret_ref import secret_like
    assert secret_like("DB_PASSWORD", "x1y2z3") and secret_like("PGPASSWORD", "abc123")
    assert secret_like("apiToken", "abcdef") and secret_like("DATABASE_DSN", None)
    assert secret_like("DATABASE_URL", "postgres://u:p4ss@db/x")
    assert not secret_like("DATABASE_URL", "postgres://db/x")
    assert not secret_like("DB_PASSWORD_FILE", "/run/secrets/db")
    assert not secret_like("ALLOW_EMPTY_PASSWORD", None)
    assert not secret_like("TOKEN_TTL", "3600") and not secret_like("API_TOKEN", "")
    assert not secret_like("DB_PASSWORD", "$(OTHER)")


def test_crlf_and_missing_final_newline_kept(tmp_path):
    text = ROOT.replace("\n", "\r\n").rstrip("\r\n")
    write_tree(tmp_path, {"pod.yaml": text})
    fix(tmp_path, only=IDS, offline=True)
    out = (tmp_path / "pod.yaml").read_bytes().decode("utf-8")
    assert out != text and "\n" not in out.replace("\r\n", "")
    assert not out.endswith("\n")
    assert out.startswith(text[: text.index("  containers:")])
    assert _validate_all(out) == 1
