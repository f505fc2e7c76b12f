"""The image knowledge base and the decisions taken from it (issue patterns, own fixtures)."""
from __future__ import annotations

import tomllib

import yaml
from typer.testing import CliRunner

from fixer import imagedb
from fixer.cli import app
from tests.helpers import fix, write_tree


def _skips(result) -> list[str]:
    return [s.reason for cs in result.changesets for s in cs.skips]


def _findings(result) -> list[str]:
    return [f.message for cs in result.changesets for f in cs.findings]


# -- the data ---------------------------------------------------------------------------

def test_every_entry_names_its_source_and_known_fields():
    allowed = {"names", "user", "uid", "drops_to", "writable", "data", "caps", "ports", "serves", "health",
               "health_min_major", "health_unless", "health_requires_env", "health_start_period", "tools", "weight", "datastore", "source", "named_users"}
    weights = {"", "database", "jvm", "gpu-llm", "browser", "notebook"}
    seen: set[str] = set()
    for f in sorted(imagedb.DATA.glob("*.toml")):
        data = tomllib.loads(f.read_text("utf-8"))
        for v in data.pop("variant", []):
            assert v["source"].startswith("https://"), v
        for name, e in data.items():
            assert set(e) <= allowed, (f.name, name, set(e) - allowed)
            assert e["source"].startswith("https://"), name
            assert e.get("weight", "") in weights, name
            assert not set(e["names"]) & seen, name      # one place knows an image
            seen |= set(e["names"])


def test_lookup_by_name_family_and_variant():
    assert imagedb.lookup("postgres:16").name == "postgres"
    assert imagedb.lookup("docker.io/library/postgres:16@sha256:" + "a" * 64).root
    assert imagedb.lookup("${DB_IMAGE:-postgres:16}").name == "postgres"
    bitnami = imagedb.lookup("bitnami/postgresql:16")
    assert bitnami.name == "postgres" and bitnami.numeric_uid == 1001 and bitnami.caps == {}
    assert bitnami.health is None           # the publisher's image has its own entrypoint
    assert imagedb.lookup("gcr.io/distroless/static-debian12:nonroot").numeric_uid == 65532
    assert imagedb.lookup("cgr.dev/chainguard/nginx:latest").numeric_uid == 65532
    assert imagedb.lookup("nginxinc/nginx-unprivileged:1.27").numeric_uid == 101
    n8n = imagedb.lookup("n8nio/n8n:1.50")
    assert n8n.user == "node" and n8n.numeric_uid is None
    assert imagedb.lookup("minio/minio").health == ("CMD", "mc", "ready", "local")
    assert "temporal operator cluster health" in " ".join(imagedb.lookup("temporalio/auto-setup:1.24").health)
    assert imagedb.lookup("temporalio/server:1.24").health is None     # one role of several: no frontend
    assert imagedb.lookup("ollama/ollama").weight == "gpu-llm"
    assert imagedb.lookup("example/app:1") is None
    assert imagedb.lookup("{{ .Values.image }}") is None


def test_explain_image_and_codemod():
    runner = CliRunner()
    out = runner.invoke(app, ["explain", "postgres:16"])
    assert out.exit_code == 0
    assert "user: root; the entrypoint drops to postgres" in out.output
    assert "pg_isready" in out.output and "source: https://github.com/docker-library/postgres" in out.output
    assert "capabilities to start: CHOWN" in out.output
    out = runner.invoke(app, ["explain", "n8nio/n8n"])
    assert "user: node (uid 1000)" in out.output and "writable paths: unknown" in out.output
    assert runner.invoke(app, ["explain", "compose-cap-drop"]).output.startswith("compose-cap-drop:")
    bad = runner.invoke(app, ["explain", "example/nothing"])
    assert bad.exit_code == 2 and "unknown codemod or image" in bad.output


# -- k8s-security-context -------------------------------------------------------------

def _deploy(containers: str, init: str = "", pod: str = "") -> str:
    return ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n"
            "    matchLabels: {app: d}\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n"
            + pod + (f"      initContainers:\n{init}" if init else "") + f"      containers:\n{containers}")


def _pod(tmp_path, name):
    return yaml.safe_load((tmp_path / name).read_text())["spec"]["template"]["spec"]


def test_run_as_non_root_needs_a_numeric_uid(tmp_path):
    files = {
        f"{n}.yaml": _deploy(f"        - name: c\n          image: {img}\n")
        for n, img in [("postgres", "postgres:16"), ("redis", "redis:7"), ("ollama", "ollama/ollama:0.3"),
                       ("qdrant", "qdrant/qdrant:v1.9"), ("traefik", "traefik:v3"),
                       ("exporter", "python:3.11-slim"), ("n8n", "n8nio/n8n:1.50"),
                       ("unknown", "example/app:1")]}
    files["loki.yaml"] = _deploy("        - name: c\n          image: grafana/loki:3.0.0\n")
    files["uid.yaml"] = _deploy("        - name: c\n          image: example/app:1\n", pod="      securityContext:\n        runAsUser: 1000\n")
    files["init.yaml"] = _deploy("        - name: c\n          image: grafana/loki:3.0.0\n",
                                 init="        - name: wait\n          image: busybox:1.36\n")
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["k8s-security-context"], offline=True)
    for n in ("postgres", "redis", "ollama", "qdrant", "traefik", "exporter", "n8n", "unknown", "init"):
        assert "runAsNonRoot" not in (tmp_path / f"{n}.yaml").read_text(), n
    assert _pod(tmp_path, "loki.yaml")["securityContext"]["runAsNonRoot"] is True
    assert _pod(tmp_path, "uid.yaml")["securityContext"]["runAsNonRoot"] is True
    skips = "\n".join(_skips(result))
    assert "runs as the named user node, which the kubelet cannot verify" in skips
    assert "runAsUser: 1000 would do" in skips
    assert "init container wait (busybox:1.36) runs as root" in skips
    assert "container c (postgres:16) runs as root (postgres)" in skips


INGRESS = _deploy("        - name: controller\n          image: registry.k8s.io/ingress-nginx/controller:v1.10.1\n"
                  "          securityContext:\n            runAsUser: 101\n")


def test_ingress_controller_keeps_its_capability_and_writable_root(tmp_path):
    write_tree(tmp_path, {"ingress.yaml": INGRESS})
    result = fix(tmp_path, only=["k8s-security-context"], offline=True)
    sc = _pod(tmp_path, "ingress.yaml")["containers"][0]["securityContext"]
    assert sc["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert "readOnlyRootFilesystem" not in sc and "allowPrivilegeEscalation" not in sc
    assert _pod(tmp_path, "ingress.yaml")["securityContext"]["runAsNonRoot"] is True   # runAsUser 101
    skips = "\n".join(_skips(result))
    assert "readOnlyRootFilesystem not set: ingress-nginx-controller writes /etc/nginx" in skips


def test_values_pod_security_context_needs_run_as_user(tmp_path):
    chart = {
        "c/Chart.yaml": "apiVersion: v2\nname: c\nversion: 1.0.0\n",
        "c/values.yaml": "podSecurityContext:\n  fsGroup: 2000\n",
        "c/templates/d.yaml": _deploy("        - name: c\n          image: \"{{ .Values.image }}\"\n",
                                      pod="      securityContext:\n        {{- toYaml .Values.podSecurityContext | nindent 8 }}\n"),
    }
    write_tree(tmp_path, chart)
    fix(tmp_path, only=["k8s-security-context"], offline=True)
    assert "runAsNonRoot" not in (tmp_path / "c/values.yaml").read_text()
    chart["c/values.yaml"] = "podSecurityContext:\n  runAsUser: 1000\n"
    write_tree(tmp_path, chart)
    fix(tmp_path, only=["k8s-security-context"], offline=True)
    assert "runAsNonRoot: true" in (tmp_path / "c/values.yaml").read_text()


# -- dockerfile-healthcheck -------------------------------------------------------------

APP_DOCKERFILE = "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nEXPOSE 8080\nCMD [\"python\", \"main.py\"]\n"
FASTAPI = "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get(\"/health\")\nasync def health():\n    return {}\n"
INGRESS_BACKEND = """apiVersion: apps/v1
kind: Deployment
metadata: {name: backend}
spec:
  selector: {matchLabels: {app: b}}
  template:
    metadata: {labels: {app: b}}
    spec:
      containers:
        - {name: b, image: example/backend:1, ports: [{containerPort: 8080}],
           readinessProbe: {httpGet: {path: /healthz, port: 8080}}}
"""


def test_health_path_only_from_evidence_tied_to_the_image(tmp_path):
    write_tree(tmp_path, {
        "k8s/backend.yaml": INGRESS_BACKEND,
        "api/Dockerfile": APP_DOCKERFILE, "api/main.py": FASTAPI,
        "web/Dockerfile": APP_DOCKERFILE, "web/main.py": "print('serving /')\n",
    })
    fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    api = (tmp_path / "api/Dockerfile").read_text()
    web = (tmp_path / "web/Dockerfile").read_text()
    assert "http://127.0.0.1:8080/health'" in api and "/healthz" not in api
    assert "/healthz" not in web and "socket.create_connection(('127.0.0.1', 8080)" in web


def test_k8s_probe_counts_for_the_image_compose_names_in_flow_style(tmp_path):
    files = {"k8s/backend.yaml": INGRESS_BACKEND, "backend/Dockerfile": APP_DOCKERFILE,
             "compose.yaml": "services:\n  backend:\n    build: ./backend\n    image: example/backend:dev\n"}
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    assert "http://127.0.0.1:8080/healthz" in (tmp_path / "backend/Dockerfile").read_text()
    assert any("readinessProbe of container b in k8s/backend.yaml" in m for m in _findings(result))


def test_routes_under_a_prefix_are_not_guessed(tmp_path):
    write_tree(tmp_path, {"api/Dockerfile": APP_DOCKERFILE,
                          "api/main.py": FASTAPI.replace("FastAPI()", "FastAPI(root_path='/api')")})
    fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    assert "/health" not in (tmp_path / "api/Dockerfile").read_text()


def test_cli_images_get_no_probe(tmp_path):
    write_tree(tmp_path, {
        "autogpt/Dockerfile": "FROM python:3.11-slim\nWORKDIR /app\nCOPY . .\nENTRYPOINT [\"python\", \"-m\", \"autogpt\"]\n",
        "aider/Dockerfile": "FROM python:3.12-slim\nRUN pip install aider-chat\nENTRYPOINT [\"aider\"]\n",
    })
    result = fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    assert "HEALTHCHECK" not in (tmp_path / "autogpt/Dockerfile").read_text()
    assert "HEALTHCHECK" not in (tmp_path / "aider/Dockerfile").read_text()
    assert sum("(python -m autogpt) is not a server fixer knows" in s or "(aider) is not a server fixer knows" in s
               for s in _skips(result)) == 2


def test_inherited_probe_on_a_worker_is_reported(tmp_path):
    write_tree(tmp_path, {
        "Dockerfile": APP_DOCKERFILE.replace("EXPOSE 8080\n", "EXPOSE 8080\nHEALTHCHECK CMD [\"curl\", \"-f\", "
                                             "\"http://127.0.0.1:8080/\"]\n").replace("python:3.12-slim", "python:3.12"),
        "compose.yaml": "services:\n  web:\n    build: .\n  worker:\n    build: .\n"
                        "    command: celery -A app worker -l info\n",
    })
    result = fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    found = [f for cs in result.changesets for f in cs.findings]
    assert len(found) == 1 and not found[0].edits and found[0].path == "compose.yaml"
    assert "service worker runs `celery -A app worker -l info`, which serves nothing" in found[0].message


def test_wrapper_of_a_known_server_gets_its_health_command(tmp_path):
    write_tree(tmp_path, {"db/Dockerfile": "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
                          "llm/Dockerfile": "FROM ollama/ollama:0.3.0\n"})
    fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    assert 'CMD pg_isready -h 127.0.0.1 -U "${POSTGRES_USER:-postgres}"' in (tmp_path / "db/Dockerfile").read_text()
    assert "bash\", \"-c\", \"</dev/tcp/127.0.0.1/11434" in (tmp_path / "llm/Dockerfile").read_text()


def test_missing_wget_repaired_with_curl_despite_variables(tmp_path):
    write_tree(tmp_path, {"Dockerfile": (
        "FROM debian:bookworm-slim\nARG APP_UID=1000\n"
        "RUN apt-get update && apt-get install -y --no-install-recommends curl ca-certificates \\\n"
        "    && rm -rf /var/lib/apt/lists/* && useradd -u \"$APP_UID\" app\n"
        "EXPOSE 80\nHEALTHCHECK --interval=10s \\\n  CMD wget -q --spider http://localhost/healthz || exit 1\n"
        "CMD [\"/srv\"]\n")})
    fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    text = (tmp_path / "Dockerfile").read_text()
    assert 'CMD ["curl", "-fsS", "-o", "/dev/null", "http://localhost/healthz"]\nCMD ["/srv"]' in text


def test_missing_tool_on_unknown_base_is_a_skip(tmp_path):
    write_tree(tmp_path, {"Dockerfile": "FROM example/base:1\nEXPOSE 80\nHEALTHCHECK CMD wget -q -O- http://localhost/\n"
                                        "CMD [\"/srv\"]\n"})
    result = fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    assert any("base image example/base:1 is unknown, so whether it has wget" in s for s in _skips(result))


# -- compose-read-only and compose-cap-drop through wrappers -------------------------------

def test_read_only_and_cap_drop_follow_wrappers(tmp_path):
    write_tree(tmp_path, {
        "ollama/Dockerfile": "FROM ollama/ollama:0.3.0\n",
        "db/Dockerfile": "FROM postgres:16\nCOPY init.sql /docker-entrypoint-initdb.d/\n",
        "compose.yaml": "services:\n  llm:\n    build: ./ollama\n  direct:\n    image: ollama/ollama:0.3.0\n"
                        "  db:\n    build: ./db\n",
    })
    result = fix(tmp_path, only=["compose-read-only", "compose-cap-drop", "compose-healthcheck"], offline=True)
    svcs = yaml.safe_load((tmp_path / "compose.yaml").read_text())["services"]
    assert "read_only" not in svcs["llm"] and "read_only" not in svcs["direct"]
    assert svcs["db"]["read_only"] is True and "/var/run/postgresql" in svcs["db"]["tmpfs"]
    assert svcs["db"]["cap_add"] == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
    assert svcs["db"]["healthcheck"]["test"][0] == "CMD-SHELL"
    assert "cap_drop" not in svcs["llm"]
    skips = _skips(result)
    assert any("service llm (builds on ollama): ollama: its writable paths are unknown" in s for s in skips)
    assert any("service direct (image ollama/ollama:0.3.0): ollama: its writable paths are unknown" in s
               for s in skips)


def test_compose_healthcheck_from_the_knowledge_base(tmp_path):
    write_tree(tmp_path, {"compose.yaml": "services:\n  s3:\n    image: minio/minio:latest\n    command: server /data\n"
                                          "  app:\n    image: example/app\n    depends_on: [s3]\n"})
    fix(tmp_path, only=["compose-healthcheck"], offline=True)
    svcs = yaml.safe_load((tmp_path / "compose.yaml").read_text())["services"]
    assert svcs["s3"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert svcs["app"]["depends_on"] == {"s3": {"condition": "service_healthy"}}


# -- dockerfile-user ------------------------------------------------------------------------

def test_user_chowns_what_the_app_writes(tmp_path):
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nRUN pip install --no-cache-dir flask\nCOPY . .\n"
                      "CMD [\"python\", \"main.py\"]\n",
        "main.py": "import json\n\nwith open('session.json', 'w') as f:\n    json.dump({}, f)\n"
                   "open('reports/out.csv', mode='a').close()\n",
    })
    result = fix(tmp_path, only=["dockerfile-user"], offline=True)
    text = (tmp_path / "Dockerfile").read_text()
    assert "mkdir -p /app /app/reports && chown 10001:10001 /app /app/reports" in text
    assert text.index("chown") < text.index("USER 10001:10001")
    assert any("the app writes in /app, /app/reports" in m for m in _findings(result))


def test_user_skips_writes_it_cannot_place(tmp_path):
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"main.py\"]\n",
        "main.py": "import sys\n\nopen(sys.argv[1], 'w').write('x')\n",
    })
    result = fix(tmp_path, only=["dockerfile-user"], offline=True)
    assert "USER" not in (tmp_path / "Dockerfile").read_text()
    assert any("main.py line 3 writes a path computed at run time" in s for s in _skips(result))


def test_user_reads_only_need_no_chown(tmp_path):
    write_tree(tmp_path, {
        "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"main.py\"]\n",
        "main.py": "print(open('config.json').read())\nopen('/tmp/scratch', 'w').close()\n",
    })
    fix(tmp_path, only=["dockerfile-user"], offline=True)
    text = (tmp_path / "Dockerfile").read_text()
    assert "USER 10001:10001" in text and "chown" not in text


def test_temporal_health_only_for_a_single_server_with_its_address(tmp_path):
    write_tree(tmp_path, {"compose.yaml": (
        "services:\n"
        "  temporal:\n    image: temporalio/auto-setup:1.29.1\n    environment:\n      - TEMPORAL_ADDRESS=temporal:7233\n"
        "  history:\n    image: temporalio/auto-setup:1.29.1\n    environment:\n      - SERVICES=history\n"
        "      - TEMPORAL_ADDRESS=nginx:7233\n"
        "  bare:\n    image: temporalio/auto-setup:1.29.1\n"
        "  matching:\n    image: temporalio/server:1.29.1\n    depends_on: [history]\n")})
    result = fix(tmp_path, only=["compose-healthcheck"], offline=True)
    svcs = yaml.safe_load((tmp_path / "compose.yaml").read_text())["services"]
    assert svcs["temporal"]["healthcheck"]["test"] == ["CMD-SHELL", "temporal operator cluster health | grep -q SERVING"]
    assert svcs["temporal"]["healthcheck"]["start_period"] == "180s"
    assert all("healthcheck" not in svcs[n] for n in ("history", "bare", "matching"))
    assert svcs["matching"]["depends_on"] == ["history"]
    skips = "\n".join(_skips(result))
    assert "service history sets SERVICES" in skips and "service bare: the temporal-auto-setup health command needs" in skips


def test_ingress_controller_that_already_sets_privilege_escalation(tmp_path):
    write_tree(tmp_path, {"ingress.yaml": INGRESS.replace(
        "            runAsUser: 101\n", "            runAsUser: 101\n            allowPrivilegeEscalation: true\n"),
        "annotated.yaml": _deploy("        - name: c\n          image: grafana/loki:3.0.0\n").replace(
            "      labels: {app: d}\n    spec:", "      labels: {app: d}\n      annotations: none\n    spec:")})
    result = fix(tmp_path, only=["k8s-security-context"], offline=True)
    assert not result.errors
    sc = _pod(tmp_path, "ingress.yaml")["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is True and sc["capabilities"]["add"] == ["NET_BIND_SERVICE"]
    assert _pod(tmp_path, "annotated.yaml")["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}


def test_alpine_wrapper_is_probed_with_busybox(tmp_path):
    write_tree(tmp_path, {"Dockerfile": "FROM nginx:1.27-alpine\nCOPY conf /etc/nginx/conf.d/default.conf\n"})
    fix(tmp_path, only=["dockerfile-healthcheck"], offline=True)
    text = (tmp_path / "Dockerfile").read_text()
    assert 'CMD ["sh", "-c", "nc -w 3 127.0.0.1 80 </dev/null"]' in text and "bash" not in text
