"""k8s-probes: readiness and liveness probes from a container's declared ports."""
from __future__ import annotations

from yaml.nodes import MappingNode, SequenceNode

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.k8s import (may_edit_workload, Unsafe, add_entry, containers, hidden_pod_specs, parse_or_reason,
                       value_actions, workloads)
from fixer.yamldoc import Raw, get, get_pair, scalar

PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
_HANDLERS = ("exec", "httpGet", "grpc")

BEFORE = """apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  serviceName: db
  selector:
    matchLabels: {app: db}
  template:
    metadata:
      labels: {app: db}
    spec:
      containers:
        - name: db
          image: postgres:16.4
          ports:
            - name: pg
              containerPort: 5432
"""
AFTER = BEFORE + """          readinessProbe:
            tcpSocket:
              port: pg
            initialDelaySeconds: 5
            periodSeconds: 10
          livenessProbe:
            tcpSocket:
              port: pg
            initialDelaySeconds: 15
            periodSeconds: 20
"""


def probe_port(doc, c) -> tuple[object, str] | None:
    """(port for tcpSocket, label) of the first TCP port a container declares."""
    ports = get(c.node, "ports")
    if not isinstance(ports, SequenceNode):
        return None
    for p in ports.value:
        if not isinstance(p, MappingNode):
            continue
        if (scalar(get(p, "protocol")) or "TCP").upper() != "TCP":
            continue
        name = get(p, "name")
        if name is not None and not doc.text[name.start_mark.index:name.end_mark.index].count("{{") \
                and scalar(name):
            return scalar(name), scalar(name)
        num = get(p, "containerPort")
        if num is None:
            continue
        text = doc.text[num.start_mark.index:doc.content_end(num)]
        if "\n" in text:
            continue
        return (Raw(text) if "{{" in text else int(num.value) if num.value.isdigit() else Raw(text)), text
    return None


class K8sProbes(Codemod):
    id = "k8s-probes"
    title = "Add readiness and liveness probes from declared ports"
    kinds = ("k8s", "helm")
    targets = ("k8s", "helm")
    severity = "medium"
    safety = "evidenced"
    checks = ("checkov:CKV_K8S_8", "checkov:CKV_K8S_9")
    order = 320
    scope = "file"
    rationale = (
        "Without a readiness probe a pod gets traffic before it listens and keeps it after "
        "it hangs; without a liveness probe a deadlocked container is never restarted. A "
        "TCP check on the port the container declares is the least a probe can do and is "
        "right for every server. Containers with an exec, HTTP or gRPC probe already, "
        "init containers, and Jobs/CronJobs (which run to completion) are left alone.")
    examples = [Example("k8s/db.yaml", BEFORE, AFTER),
                Example("k8s/job.yaml", "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n"
                        "spec:\n  template:\n    spec:\n      restartPolicy: Never\n"
                        "      containers:\n        - name: j\n          image: busybox:1.36\n"
                        "          ports: [{containerPort: 80}]\n"),
        Example("k8s/worker.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: worker\nspec:\n"
                "  selector:\n    matchLabels: {app: worker}\n  template:\n    metadata:\n      labels: {app: worker}\n"
                "    spec:\n      containers:\n        - name: worker\n          image: example/worker:1.0\n",
                skip="no declared port to probe")]

    wants = staticmethod(may_edit_workload)

    def fix(self, doc, ctx):
        if parse_or_reason(doc):
            return
        for line, why in hidden_pod_specs(doc):
            yield Skip(doc.path, line, why)
        for w in workloads(doc):
            if w.is_job:
                continue
            for c in containers(doc, w.pod_spec, init=False):
                yield from self._container(doc, w, c)

    def _container(self, doc, w, c):
        line = c.node.start_mark.line + 1
        have = {}
        for key in PROBES:
            pair = get_pair(c.node, key, merged=False)
            if pair is None:
                continue
            if value_actions(doc, *pair) is not None or not isinstance(pair[1], MappingNode):
                return  # rendered from values: not ours to judge
            have[key] = pair[1]
        if any(get(p, h) is not None for p in have.values() for h in _HANDLERS):
            return
        missing = [k for k in ("readinessProbe", "livenessProbe") if k not in have]
        if not missing:
            return
        port = probe_port(doc, c)
        if port is None:
            if get(c.node, "ports") is not None and value_actions(doc, *get_pair(c.node, "ports")):
                yield Skip(doc.path, line, f"{w.label()} {c.label()}: ports are rendered by a "
                           "template action")
            else:
                yield Skip(doc.path, line, f"{w.label()} {c.label()}: no declared port to probe")
            return
        value, label = port
        timing = {"readinessProbe": (5, 10), "livenessProbe": (15, 20)}
        edits = []
        try:
            for key in missing:
                delay, period = timing[key]
                edits.append(add_entry(doc, c.node, key, {"tcpSocket": {"port": value},
                                                          "initialDelaySeconds": delay,
                                                          "periodSeconds": period}))
        except Unsafe as exc:
            yield Skip(doc.path, line, f"{w.label()} {c.label()}: {exc}")
            return
        yield Finding(doc.path, line, f"{w.label()} {c.label()} has no {' or '.join(missing)}; "
                      f"TCP check on port {label}", edits, check="checkov:CKV_K8S_8")
