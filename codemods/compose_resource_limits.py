"""compose-resource-limits: memory and CPU limits for services that have none."""
from __future__ import annotations

import re

from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.compose import UNKNOWN, each_service, lookup, service_family, split_image, words
from fixer.project import dig
from fixer.yamldoc import get, has_own
from yaml.nodes import MappingNode

DEFAULTS = {"memory": "512M", "cpus": "1.0"}
# Families whose documented minimum is above the default memory limit.
MEMORY = {"elasticsearch": "2G", "clickhouse": "2G", "kafka": "1G", "cassandra": "2G",
          "neo4j": "1G", "mssql": "2G", "mongo": "1G", "mysql": "1G", "mariadb": "1G",
          "postgres": "1G", "rabbitmq": "1G"}
# Any of these means the service already has limits in some form.
_LIMIT_KEYS = ("mem_limit", "memswap_limit", "mem_reservation", "cpus", "cpu_quota", "cpu_shares",
               "cpu_count", "cpu_percent", "cpuset", "cpu_period")
# Images whose memory need depends on the model or data they load: LLM and inference
# servers, JVM search engines. A fixed default would kill them.
HEAVY = {"ollama", "vllm-openai", "vllm", "text-generation-inference", "tgi", "localai", "local-ai",
         "tritonserver", "llama.cpp", "llama-cpp-python", "text-embeddings-inference", "infinity",
         "comfyui", "stable-diffusion-webui", "sglang", "lmdeploy", "xinference", "tabbyml",
         "elasticsearch", "opensearch", "solr", "graylog", "sonarqube", "jenkins", "keycloak",
         # JVM and other servers whose default heap or reservation is 1G or more
         "logstash", "kibana", "redpanda", "minecraft-server", "nexus3", "metabase", "trino",
         "gitlab-ce", "gitlab-ee", "artifactory-oss", "zookeeper"}
# a memory size a program is told to use: redis/valkey `--maxmemory 2gb`, JVM `-Xmx4g`,
# Node `--max-old-space-size=4096` (MiB), `--memory 4g`
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.I)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_ENV_WITH_FLAGS = ("JAVA_OPTS", "JAVA_TOOL_OPTIONS", "ES_JAVA_OPTS", "OPENSEARCH_JAVA_OPTS", "_JAVA_OPTIONS",
                   "NODE_OPTIONS", "JVM_OPTS", "KAFKA_HEAP_OPTS", "CATALINA_OPTS", "SONAR_WEB_JAVAOPTS")


def size_bytes(value: str, default_unit: str = "") -> int | None:
    m = _SIZE.match(str(value).strip())
    if not m:
        return None
    return int(float(m.group(1)) * _UNITS[(m.group(2) or default_unit).lower()])



def own_memory(data: dict) -> tuple[str, int] | None:
    """(as written, bytes) of the largest memory size the service's command or JVM/Node
    options set, or None."""
    env = data.get("environment")
    env = dict(i.split("=", 1) for i in env if "=" in str(i)) if isinstance(env, list) else env or {}
    said = words(data.get("entrypoint")) + words(data.get("command"))
    for k in _ENV_WITH_FLAGS:
        if isinstance(env, dict) and env.get(k):
            said += words(str(env[k]))
    best = None
    for i, w in enumerate(said):
        nxt = said[i + 1] if i + 1 < len(said) else ""
        got = None
        if w.lower() in ("--maxmemory", "maxmemory", "--memory", "-m") and nxt:
            got = (f"{w} {nxt}", size_bytes(nxt))
        elif w.startswith(("--maxmemory=", "--memory=")):
            got = (w, size_bytes(w.split("=", 1)[1]))
        elif w.startswith("-Xmx"):
            got = (w, size_bytes(w[4:]))
        elif w.startswith("--max-old-space-size="):
            got = (w, size_bytes(w.split("=", 1)[1], "m"))
        elif w == "--max-old-space-size" and nxt:
            got = (f"{w} {nxt}", size_bytes(nxt, "m"))
        if got and got[1] and (best is None or got[1] > best[1]):
            best = got
    return best


def gpu(data: dict) -> str:
    """How a service asks for a GPU ("" when it does not)."""
    if str(data.get("runtime") or "").lower() == "nvidia":
        return "runtime: nvidia"
    if data.get("gpus"):
        return "gpus"
    devs = dig(data, "deploy.resources.reservations.devices") or []
    if any(isinstance(d, dict) and ("gpu" in [str(c).lower() for c in d.get("capabilities") or []]
                                    or str(d.get("driver") or "").lower() == "nvidia") for d in devs):
        return "deploy.resources.reservations.devices (a GPU)"
    env = data.get("environment")
    if isinstance(env, dict) and "NVIDIA_VISIBLE_DEVICES" in env:
        return "NVIDIA_VISIBLE_DEVICES"
    return ""


# the first word of an image name that marks the same (`cp-kafka`, `clickhouse-self-hosted-local`),
# unless another word makes it a companion tool (`kafka-ui`, `elasticsearch-exporter`)
_HEAVY_WORDS = {"kafka", "clickhouse", "cassandra", "elasticsearch", "opensearch", "zookeeper", "ollama", "vllm"}
_COMPANIONS = {"ui", "exporter", "etl", "client", "cli", "dashboards", "proxy", "init", "setup"}


def heavy(data: dict) -> str:
    image = str(data.get("image") or "")
    repo = split_image(image)[0] if image else ""
    last = repo.rsplit("/", 1)[-1]
    if last in HEAVY or "text-generation-inference" in repo:
        return last
    words = re.split(r"[-_.]", last)
    words = words[1:] if words[:1] == ["cp"] else words      # Confluent Platform images
    return words[0] if words[0] in _HEAVY_WORDS and not _COMPANIONS & set(words) else ""


class ComposeResourceLimits(Codemod):
    id = "compose-resource-limits"
    title = "Set memory and CPU limits on compose services"
    kinds = ("compose",)
    uses_model = True
    severity = "low"
    safety = "unsafe"
    checks = ("cis-docker:5.10", "cis-docker:5.11")
    order = 260
    scope = "file"
    config = (
        Option("memory", {"type": ["string", "integer"], "pattern": r"^[0-9]+(\.[0-9]+)?\s*([bBkKmMgG][bB]?)?$",
                          "description": "a compose byte value such as 512M or 2G"},
               DEFAULTS["memory"], "memory limit (databases and JVM datastores get more)"),
        Option("cpus", {"type": ["string", "number"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                        "exclusiveMinimum": 0, "description": "a number of CPUs such as 0.5 or 2"},
               DEFAULTS["cpus"], "CPU limit"),
        Option("heavyweight", {"type": "boolean"}, False,
               "also limit GPU services and heavyweight images (LLM servers, search engines)"),
    )
    rationale = (
        "Without limits one runaway container (a memory leak, a fork bomb, a crypto miner) "
        "starves every other service on the host. fixer adds `deploy.resources.limits` "
        "(memory 512M and 1 CPU by default, more memory for databases and JVM datastores) "
        "unless the service limits itself in any form. Set `memory` and `cpus` under "
        "[tool.fixer.codemod.compose-resource-limits] to change the defaults.")
    examples = [
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n",
                "services:\n  app:\n    image: example/app\n    deploy:\n      resources:\n"
                "        limits:\n          memory: 512M\n          cpus: \"1.0\"\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n    mem_limit: 1g\n"),
        Example("compose.yaml",
                "services:\n  app:\n    image: example/app\n",
                "services:\n  app:\n    image: example/app\n    deploy:\n      resources:\n"
                "        limits:\n          memory: 256M\n          cpus: \"0.5\"\n",
                options={"memory": "256M", "cpus": "0.5"}),
        Example("compose.yaml", "services:\n  base:\n    image: example/app\n    mem_limit: 1g\n  app:\n    extends: base\n",
                skip="extends another service"),
    ]

    def fix(self, doc, ctx):
        opts = self.options(ctx)
        for t in each_service(doc, ctx, adds=("deploy",),
                              later=_LIMIT_KEYS + ("deploy.resources.limits", "deploy.resources.reservations")):
            if isinstance(t, Skip):
                yield t
                continue
            name, svc, line = t.name, t.node, t.line
            found = [k for k in _LIMIT_KEYS if lookup(doc, svc, k, ctx) is not None]
            if found:
                continue
            deploy = lookup(doc, svc, "deploy", ctx)
            if deploy is UNKNOWN:
                yield Skip(doc.path, line, f"service {name} extends a service fixer cannot read")
                continue
            if deploy is not None and get(deploy, "resources") is not None:
                continue
            fam = service_family(doc, svc, ctx)
            memory = str(opts.get("memory") or MEMORY.get(fam) or DEFAULTS["memory"])
            why = self._unsized(ctx, doc, name, memory, opts)
            if why:
                yield Skip(doc.path, line, f"service {name}: {why}")
                continue
            cpus = str(opts.get("cpus") or DEFAULTS["cpus"])
            limits = {"resources": {"limits": {"memory": memory, "cpus": cpus}}}
            if deploy is None:
                edit = doc.add_entry(svc, "deploy", limits)
            elif isinstance(deploy, MappingNode) and has_own(svc, "deploy") and deploy.value:
                edit = doc.add_entry(deploy, "resources", limits["resources"])
            else:
                yield Skip(doc.path, line, f"service {name}: deploy is inherited or empty; limits not added")
                continue
            yield Finding(doc.path, line, f"service {name} has no memory or CPU limit "
                          f"(now memory {memory}, cpus {cpus})", [edit], check="cis-docker:5.10")

    def _unsized(self, ctx, doc, name: str, memory: str, opts) -> str:
        """Why this limit would be wrong for this service ("" when it is not)."""
        limit = size_bytes(memory) or 0
        for s in ctx.model.service(doc.path, name):
            own = own_memory(s.data)
            if own and own[1] >= limit:
                return (f"its command sets its own memory size ({own[0]}), at or above {memory}: "
                        "a limit must be sized above it by hand")
            if opts.get("heavyweight"):
                continue
            why = gpu(s.data)
            if why:
                return f"a GPU service ({why}): its memory depends on the model it loads; set heavyweight = true to limit it"
            h = heavy(s.data)
            if h:
                return (f"{h} needs memory sized to what it loads (models, data, JVM heap); set "
                        "heavyweight = true to limit it with the configured memory")
        return ""
