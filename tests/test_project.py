"""The repository model and the compose decisions made from it (patterns seen on real repositories)."""
from __future__ import annotations

import yaml

from fixer import upstreams
from fixer.project import FileSet, hosts, merge
from tests.helpers import fix, write_tree


def _run(tmp_path, files, only, **kw):
    write_tree(tmp_path, files)
    result = fix(tmp_path, only=only, **kw)
    findings = [f for cs in result.changesets for f in cs.findings]
    skips = [s for cs in result.changesets for s in cs.skips]
    return result, findings, skips


def _model(tmp_path, files):
    """The model of a scratch repository, as the compose codemods see it."""
    seen = {}

    import codemods.compose_restart as cr

    orig = cr.ComposeRestart.fix

    def spy(self, doc, ctx):
        seen["model"] = ctx.model
        return orig(self, doc, ctx)

    cr.ComposeRestart.fix = spy
    try:
        _run(tmp_path, files, ["compose-restart"], write=False)
    finally:
        cr.ComposeRestart.fix = orig
    return seen["model"]


def _load(tmp_path, rel):
    return yaml.safe_load((tmp_path / rel).read_text())


# -- the model ------------------------------------------------------------------
def test_file_sets_from_conventions_scripts_workflows_and_docs(tmp_path):
    m = _model(tmp_path, {
        "compose.yaml": "services:\n  app:\n    image: example/app\n",
        "compose.override.yaml": "services:\n  app:\n    ports: [\"8000:8000\"]\n",
        "deploy/docker-compose.yml": "services:\n  api:\n    image: example/api\n",
        "deploy/docker-compose.prod.yml": "services:\n  api:\n    environment: {A: \"1\"}\n",
        "deploy/run.sh": "#!/bin/sh\nset -e\ndocker compose -f docker-compose.yml -f docker-compose.prod.yml up -d\n"
                         "echo 'docker compose -f nope.yml up'\n",
        "Makefile": "up:\n\tdocker-compose -f deploy/docker-compose.yml --file=deploy/docker-compose.prod.yml up\n",
        ".github/workflows/ci.yml": "on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                                    "      - run: docker compose -f deploy/docker-compose.yml config\n",
        "docs/README.md": "Run it:\n\n```bash\n$ docker compose -f ../compose.yaml up\n```\n",
    })
    sets = {fs.files: fs.seen for fs in m.sets}
    assert sets[("compose.yaml", "compose.override.yaml")] == "compose's override convention"
    assert sets[("deploy/docker-compose.yml", "deploy/docker-compose.prod.yml")] in ("deploy/run.sh:3", "Makefile:2")
    assert ("deploy/docker-compose.yml",) in sets                      # the workflow step
    assert all("nope.yml" not in f for fs in m.sets for f in fs.files)  # text inside quotes is not a command
    assert m.overlay_of("deploy/docker-compose.prod.yml") == "deploy/docker-compose.yml"
    assert m.base_of("deploy/docker-compose.prod.yml", "api") == "deploy/docker-compose.yml"
    assert m.base_of("deploy/docker-compose.yml", "api") is None
    merged = m.service("deploy/docker-compose.yml", "api")
    assert sorted(str(s.data.get("environment")) for s in merged) == ["None", "{'A': '1'}"]
    assert sets[("compose.yaml",)] == "docs/README.md:4"               # a shell block of a doc


def test_merge_follows_compose_rules():
    base = {"image": "a:1", "ports": ["80:80"], "environment": ["A=1", "B=2"], "command": ["x", "y"],
            "volumes": ["./a:/data", "cache:/cache"], "deploy": {"resources": {"limits": {"memory": "3G"}}}}
    over = {"image": "a:2", "ports": ["443:443"], "environment": {"B": "3"}, "command": ["z"],
            "volumes": ["./b:/data"], "deploy": {"resources": {"limits": {"cpus": "2"}}}}
    got = merge(base, over)
    assert got["image"] == "a:2"
    assert got["ports"] == ["80:80", "443:443"]
    assert got["environment"] == {"A": "1", "B": "3"}
    assert got["command"] == ["z"]
    assert got["volumes"] == ["cache:/cache", "./b:/data"]
    assert got["deploy"]["resources"]["limits"] == {"memory": "3G", "cpus": "2"}


def test_hosts_in_values():
    names = {"db", "cache", "kafka1", "kafka2"}
    assert hosts("postgres://u:p@db:5432/app", names) == ["db"]
    assert hosts("kafka1:9092,kafka2:9092", names) == ["kafka1", "kafka2"]
    assert hosts("cache", names) == ["cache"]
    assert hosts("production", names) == []


def test_config_files_name_their_upstreams():
    nginx = ("upstream backend {\n  server api:8000 max_fails=3;\n  server api2:8000;\n}\n"
             "server {\n  listen 80;\n  server_name example.com;\n  # proxy_pass http://old:1;\n"
             "  location / { proxy_pass http://backend; }\n  location /ws { proxy_pass \"http://ws:9000/\"; }\n}\n")
    assert set(upstreams.config_hosts("nginx/default.conf", nginx)) == {"api", "api2", "backend", "ws"}
    caddy = "example.com {\n  reverse_proxy /grafana/* grafana:3000\n  reverse_proxy api:8000 api2:8000\n}\n"
    assert list(upstreams.config_hosts("Caddyfile", caddy)) == ["grafana", "api", "api2"]
    prom = ("scrape_configs:\n  - job_name: api\n    static_configs:\n      - targets: ['api:9090', 'node:9100']\n"
            "alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [alertmanager:9093]\n")
    assert list(upstreams.config_hosts("prometheus.yml", prom)) == ["api", "node", "alertmanager"]
    graf = "apiVersion: 1\ndatasources:\n  - name: Prometheus\n    type: prometheus\n    url: http://prometheus:9090\n"
    assert list(upstreams.config_hosts("grafana/datasources.yaml", graf)) == ["prometheus"]


# -- compose-networks -----------------------------------------------------------------
OBS = {
    "docker-compose.yml": (
        "services:\n"
        "  api:\n    build: .\n    environment:\n      DATABASE_URL: postgres://app:${PW}@db:5432/app\n"
        "      REDIS_URL: redis://redis:6379/0\n      OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317\n"
        "  jobs:\n    build: .\n    command: celery worker\n    environment:\n      REDIS_URL: redis://redis:6379/0\n"
        "  caddy:\n    image: caddy:2\n    ports: [\"443:443\"]\n    volumes:\n      - ./Caddyfile:/etc/caddy/Caddyfile:ro\n"
        "  db:\n    image: postgres:16\n"
        "  redis:\n    image: redis:7\n"),
    "docker-compose.observability.yml": (
        "services:\n"
        "  otel-collector:\n    image: otel/opentelemetry-collector:0.100.0\n"
        "  prometheus:\n    image: prom/prometheus:v2.52.0\n    volumes:\n      - ./prometheus.yml:/etc/prometheus/prometheus.yml\n"
        "  grafana:\n    image: grafana/grafana:11.0.0\n    environment:\n"
        "      GF_DATABASE_URL: postgres://grafana:${GPW}@db:5432/grafana\n"),
    "Caddyfile": "example.com {\n  reverse_proxy api:8000\n  reverse_proxy /grafana/* grafana:3000\n}\n",
    "prometheus.yml": "scrape_configs:\n  - job_name: api\n    static_configs:\n      - targets: ['api:9090']\n",
    "README.md": "```sh\ndocker compose -f docker-compose.yml -f docker-compose.observability.yml up -d\n```\n",
}


def _networks(tmp_path):
    nets = {}
    for rel in ("docker-compose.yml", "docker-compose.observability.yml"):
        for name, svc in _load(tmp_path, rel)["services"].items():
            nets.setdefault(name, set()).update(svc.get("networks") or ["default"])
    return nets


def test_networks_keep_every_pair_of_the_observability_overlay_reachable(tmp_path):
    _, findings, _ = _run(tmp_path, dict(OBS), ["compose-networks"])
    nets = _networks(tmp_path)
    pairs = [("api", "db"), ("api", "redis"), ("api", "otel-collector"), ("jobs", "redis"),
             ("caddy", "api"), ("caddy", "grafana"), ("prometheus", "api"), ("grafana", "db")]
    for a, b in pairs:
        assert nets[a] & nets[b], (a, b, nets)
    assert nets["redis"] == {"backend"}                # nothing in the overlay reaches redis
    assert "default" in nets["db"]                     # grafana (overlay) reads its database
    msg = findings[0].message
    assert "redis now sits only on the internal backend network" in msg
    assert "db also on default" in msg and "grafana reaches db" in msg
    assert "db now" not in msg and "datastores db" not in msg


def test_networks_claim_isolation_only_when_true(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  web:\n    build: .\n    environment:\n      DB: postgres://db/app\n"
                        "  db:\n    image: postgres:16\n    ports: [\"5432:5432\"]\n"}, ["compose-networks"])
    assert not findings
    assert any("no datastore could be isolated" in s.reason and "db: backend+frontend" in s.reason for s in skips)
    assert "networks" not in (tmp_path / "compose.yaml").read_text()


def test_networks_leave_overlays_of_a_script_alone(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "base.yml": "services:\n  web:\n    build: .\n  db:\n    image: postgres\n",
        "extra.yml": "services:\n  cache:\n    image: redis\n  web2:\n    build: .\n",
        "up.sh": "docker compose -f base.yml -f extra.yml up\n"}, ["compose-networks"])
    assert any(s.path == "extra.yml" and "merged onto base.yml" in s.reason for s in skips)
    assert all(f.path == "base.yml" for f in findings)


# -- compose-resource-limits ------------------------------------------------------------
def test_limits_never_go_into_an_override_of_a_deliberate_base_value(tmp_path):
    base = ("services:\n  search:\n    image: example/search:1\n    deploy:\n      resources:\n"
            "        limits:\n          memory: 3G\n  worker:\n    image: example/worker:1\n")
    over = "services:\n  search:\n    image: example/search:2\n  worker:\n    image: example/worker:2\n    mem_limit: 1g\n"
    _, findings, skips = _run(tmp_path, {"docker-compose.yml": base, "docker-compose.override.yml": over},
                              ["compose-resource-limits"])
    assert (tmp_path / "docker-compose.override.yml").read_text() == over
    assert (tmp_path / "docker-compose.yml").read_text() == base
    assert not findings
    assert any("defined in docker-compose.yml" in s.reason for s in skips)
    assert any("docker-compose.override.yml sets mem_limit" in s.reason for s in skips)


def test_limits_respect_the_memory_a_command_sets(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  cache:\n    image: redis:7\n    command: redis-server --maxmemory 2gb\n"
                        "  api:\n    image: example/api\n    environment:\n      JAVA_OPTS: -Xms1g -Xmx4g\n"
                        "  small:\n    image: redis:7\n    command: [redis-server, --maxmemory, 100mb]\n"},
        ["compose-resource-limits"])
    assert {f.line for f in findings} == {9}      # only `small`: 100mb fits in 512M
    reasons = " ".join(s.reason for s in skips)
    assert "--maxmemory 2gb" in reasons and "-Xmx4g" in reasons


def test_limits_leave_gpu_and_llm_servers_alone_unless_configured(tmp_path):
    files = {"compose.yaml": "services:\n  infer:\n    build: .\n    runtime: nvidia\n"
                             "  llm:\n    image: ollama/ollama:0.3.0\n"
                             "  tgi:\n    image: ghcr.io/huggingface/text-generation-inference:2.0\n"
                             "  train:\n    build: .\n    deploy:\n      resources:\n        reservations:\n"
                             "          devices:\n            - driver: nvidia\n              capabilities: [gpu]\n"}
    _, findings, skips = _run(tmp_path, dict(files), ["compose-resource-limits"], write=False)
    assert not findings
    assert sum("GPU service" in s.reason for s in skips) == 1      # `train` limits itself already
    assert sum("heavyweight = true" in s.reason for s in skips) == 3
    _, findings, _ = _run(tmp_path, dict(files), ["compose-resource-limits"], write=False,
                          options={"compose-resource-limits": {"heavyweight": True, "memory": "16G"}})
    assert len(findings) == 3           # `train` has deploy.resources already


# -- Swarm stacks -----------------------------------------------------------------------
STACK = ("services:\n  web:\n    image: example/web:1\n    depends_on: [db]\n"
         "  db:\n    image: postgres:16\n")


def test_swarm_stacks_get_no_option_swarm_ignores(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "stack.yml": STACK, "deploy.sh": "docker stack deploy -c stack.yml --with-registry-auth app\n"},
        ["compose-restart", "compose-no-new-privileges", "compose-healthcheck"])
    text = (tmp_path / "stack.yml").read_text()
    assert "restart:" not in text and "security_opt" not in text and "condition" not in text
    assert "healthcheck:" in text                          # Swarm runs health checks
    assert any("docker stack deploy ignores restart" in s.reason for s in skips)
    assert any("ignores security_opt" in s.reason for s in skips)
    assert any("ignores depends_on conditions" in s.reason for s in skips)
    assert all(f.message.startswith("service db (postgres) has no health check") for f in findings)


def test_swarm_settings_mark_a_stack(tmp_path):
    m = _model(tmp_path, {"stack.yml": "services:\n  web:\n    image: example/web:1\n    deploy:\n"
                                       "      placement:\n        constraints: [node.role == worker]\n",
                          "compose.yml": "services:\n  web:\n    image: example/web:1\n    deploy:\n      replicas: 2\n"
                                         "  app:\n    build: .\n"})
    assert "deploy.placement" in m.stack("stack.yml")
    assert m.stack("compose.yml") is None


# -- compose-restart ----------------------------------------------------------------------
def test_restart_skips_one_shot_jobs(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  web:\n    image: nginx:1.27\n"
                        "  trivy:\n    image: aquasec/trivy:0.50.0\n    command: image --severity HIGH,CRITICAL example/web\n"
                        "  trivy-server:\n    image: aquasec/trivy:0.50.0\n    command: server --listen 0.0.0.0:4954\n"
                        "  report:\n    build: .\n    profiles: [tools]\n"
                        "  seed:\n    build: .\n"
                        "  app:\n    build: .\n    depends_on:\n      prepare:\n"
                        "        condition: service_completed_successfully\n"
                        "  prepare:\n    build: .\n"
                        "  sut:\n    build: ./tests\n    depends_on: [web]\n"}, ["compose-restart"])
    fixed = {f.message.split()[1] for f in findings}
    assert fixed == {"web", "trivy-server", "app"}
    reasons = {s.reason.split()[1]: s.reason for s in skips}
    assert "command-line tool trivy" in reasons["trivy"]
    assert "profiles: tools" in reasons["report"]
    assert "service_completed_successfully" in reasons["prepare"]
    assert "test runner" in reasons["sut"]


def test_restart_no_in_an_overlay_is_evidence(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  worker:\n    image: example/worker:1\n",
        "compose.override.yaml": "services:\n  worker:\n    restart: \"no\"\n"}, ["compose-restart"])
    assert not findings
    assert any("compose.override.yaml sets restart" in s.reason for s in skips)


# -- an explicit root user ----------------------------------------------------------------
def test_cap_drop_honours_an_explicit_root_user(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  db:\n    image: postgres:16\n    user: \"0:0\"\n"
                        "  cache:\n    image: redis:7\n"}, ["compose-cap-drop"])
    assert [f.message.split()[1] for f in findings] == ["cache"]
    assert any("runs as root on purpose (user: 0:0)" in s.reason for s in skips)


def test_privileged_honours_an_explicit_root_user(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  vpn:\n    image: linuxserver/wireguard:1.0\n    user: root\n    privileged: true\n"},
        ["compose-privileged"])
    assert "privileged: true" in (tmp_path / "compose.yaml").read_text()
    assert any("runs as root on purpose" in s.reason for s in skips)
    assert findings and not findings[0].edits


def test_fileset_membership():
    fs = FileSet(("a.yml", "b.yml"), "x")
    assert "b.yml" in fs and "c.yml" not in fs


def test_networks_give_own_code_the_backend(tmp_path):
    # the backend's source connects to jdbc:mysql://db/...; compose shows no link at all
    _, findings, _ = _run(tmp_path, {
        "compose.yaml": "services:\n  backend:\n    build: backend\n    ports: [\"8080:8080\"]\n"
                        "    secrets: [db-password]\n  db:\n    image: mariadb:10.6\n"
                        "  proxy:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n"
                        "secrets:\n  db-password:\n    file: db/password.txt\n"}, ["compose-networks"])
    svcs = _load(tmp_path, "compose.yaml")["services"]
    assert svcs["backend"]["networks"] == ["frontend", "backend"]
    assert svcs["db"]["networks"] == ["backend"] and svcs["proxy"]["networks"] == ["frontend"]


def test_limits_leave_jvm_and_column_stores_alone(tmp_path):
    _, findings, skips = _run(tmp_path, {
        "compose.yaml": "services:\n  kafka:\n    image: confluentinc/cp-kafka:7.6.1\n"
                        "  clickhouse:\n    image: clickhouse-self-hosted-local\n    build: ./clickhouse\n"
                        "  sql:\n    image: mcr.microsoft.com/azure-sql-edge:1.0.4\n"
                        "  logstash:\n    image: logstash:7.16.1\n  ui:\n    image: provectuslabs/kafka-ui:latest\n"},
        ["compose-resource-limits"])
    assert [f.message.split(" has")[0] for f in findings] == ["service sql", "service ui"]
    assert "now memory 2G" in findings[0].message
    assert {s.reason.split(":")[1].split()[0] for s in skips} == {"kafka", "clickhouse", "logstash"}


def test_docs_are_read_only_when_a_compose_command_names_files(tmp_path):
    from fixer.project import _names_files

    assert _names_files("```sh\ndocker compose -f a.yml -f b.yml up\n```\n")
    assert _names_files("```sh\ndocker compose \\\n  --file=a.yml up\n```\n")      # a continuation line
    assert _names_files("docker stack deploy -c stack.yml app\n")
    assert not _names_files("Run `docker compose up -d`.\n\n-f is not an option here\n")
    m = _model(tmp_path, {
        "compose.yaml": "services:\n  app:\n    image: example/app\n",
        "compose.prod.yaml": "services:\n  app:\n    restart: always\n",
        "docs/deploy.md": "# Deploy\n\n* step\n\n  ```bash\n  docker compose \\\n    -f ../compose.yaml \\\n"
                          "    -f ../compose.prod.yaml up -d\n  ```\n",
    })
    assert {fs.files: fs.seen for fs in m.sets}[("compose.yaml", "compose.prod.yaml")] == "docs/deploy.md:6"


def test_mounted_config_hosts_are_read_once():
    upstreams.config_hosts.cache_clear()
    text = "upstream x { server api:8000; }\n"
    assert upstreams.config_hosts("nginx/a.conf", text) == upstreams.config_hosts("nginx/a.conf", text)
    assert upstreams.config_hosts.cache_info().hits == 1
