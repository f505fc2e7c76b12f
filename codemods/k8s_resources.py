"""k8s-resources: CPU and memory requests and limits where a container has none."""
from __future__ import annotations

import re

from yaml.nodes import MappingNode

from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.k8s import (may_edit_workload, Unsafe, add_entries, add_entry, containers, hidden_pod_specs, ordered,
                       parse_or_reason, value_actions, values_defaults, workloads)
from fixer.yamldoc import get, get_pair, scalar

DEFAULTS = {"cpu_request": "100m", "memory_request": "128Mi", "cpu_limit": "500m",
            "memory_limit": "512Mi"}
_UNITS = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2 ** 10, "Mi": 2 ** 20,
          "Gi": 2 ** 30, "Ti": 2 ** 40, "m": 1e-3}

BEFORE = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: wait
              image: busybox:1.36
              resources:
                limits: {memory: 64Mi}
          containers:
            - name: report
              image: example/report:2.0
"""
AFTER = """apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          initContainers:
            - name: wait
              image: busybox:1.36
              resources:
                limits: {memory: 64Mi, cpu: 500m}
                requests:
                  cpu: 100m
                  memory: 64Mi
          containers:
            - name: report
              image: example/report:2.0
              resources:
                requests:
                  cpu: 100m
                  memory: 128Mi
                limits:
                  cpu: 500m
                  memory: 512Mi
"""


def quantity(text: str | None) -> float | None:
    m = re.fullmatch(r"\s*([0-9.]+)([a-zA-Z]*)\s*", str(text or ""))
    if not m or m.group(2) not in _UNITS:
        return None
    try:
        return float(m.group(1)) * _UNITS[m.group(2)]
    except ValueError:
        return None

_QUANTITY = {"type": ["string", "number"], "pattern": r"^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$",
             "description": "a Kubernetes quantity such as 100m or 128Mi"}


class K8sResources(Codemod):
    id = "k8s-resources"
    title = "Set CPU and memory requests and limits"
    kinds = ("k8s", "helm", "helm-values")
    targets = ("k8s", "helm")
    severity = "medium"
    safety = "unsafe"
    checks = ("checkov:CKV_K8S_10", "checkov:CKV_K8S_11", "checkov:CKV_K8S_12",
              "checkov:CKV_K8S_13")
    order = 330
    scope = "file"
    config = tuple(Option(name, _QUANTITY, default, name.replace("_", " ")) for name, default in DEFAULTS.items())
    rationale = (
        "A container without requests is scheduled as if it needed nothing and is the first "
        "to be evicted; one without limits can starve its neighbours on the node. fixer adds "
        "the requests and limits a container lacks (defaults 100m/128Mi requested, 500m/512Mi "
        "limit; options cpu_request, memory_request, cpu_limit, memory_limit), never a limit "
        "below an existing request or a request above an existing limit. In a Helm chart "
        "that renders `resources` from values, the default goes into values.yaml.")
    examples = [Example("k8s/cron.yaml", BEFORE, AFTER),
        Example("k8s/app.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: app\nspec:\n  containers:\n    - name: app\n"
                "      image: example/app:1.0\n      resources:\n        requests: {cpu: 100m}\n"
                "        limits: {cpu: '1', memory: 1Gb}\n", skip="is not a quantity fixer reads")]

    wants = staticmethod(may_edit_workload)

    def fix(self, doc, ctx):
        if parse_or_reason(doc):
            return
        opts = dict(DEFAULTS)
        opts.update({k: str(v) for k, v in self.options(ctx).items()})
        for line, why in hidden_pod_specs(doc):
            yield Skip(doc.path, line, why)
        for w in workloads(doc):
            for c in containers(doc, w.pod_spec):
                yield from self._container(doc, ctx, w, c, opts)

    def _container(self, doc, ctx, w, c, opts):
        line = c.node.start_mark.line + 1
        want = {"requests": {"cpu": opts["cpu_request"], "memory": opts["memory_request"]},
                "limits": {"cpu": opts["cpu_limit"], "memory": opts["memory_limit"]}}
        pair = get_pair(c.node, "resources", merged=False)
        edits, added = [], []
        try:
            if pair is None:
                edits.append(add_entry(doc, c.node, "resources", want))
                added = ["requests", "limits"]
            elif value_actions(doc, *pair) is not None:
                edits, added, why = values_defaults(ctx, doc, pair[0], pair[1], want, c.node)
                if why:
                    yield Skip(doc.path, pair[0].start_mark.line + 1, f"{w.label()} {c.label()}: {why}")
            elif isinstance(pair[1], MappingNode):
                res = pair[1]
                new_sections = {}
                for section, other in (("limits", "requests"), ("requests", "limits")):
                    node = get(res, section)
                    bound = get(res, other)
                    vals = {}
                    for r in ("cpu", "memory"):
                        if get(node, r) is not None:
                            continue
                        v = want[section][r]
                        b = scalar(get(bound, r))
                        if b is not None:
                            qb, qv = quantity(b), quantity(v)
                            if qb is None or qv is None:
                                yield Skip(doc.path, line, f"{w.label()} {c.label()}: {other}.{r} {b} is "
                                           f"not a quantity fixer reads; {section}.{r} not added")
                                continue
                            if (section == "limits" and qv < qb) or (section == "requests" and qv > qb):
                                v = b
                        vals[r] = v
                    if not vals:
                        continue
                    if node is None:
                        new_sections[section] = vals
                    elif isinstance(node, MappingNode):
                        edits += add_entries(doc, node, vals)
                    else:
                        continue
                    added += [f"{section}.{r}" for r in vals]
                if new_sections:
                    edits += add_entries(doc, res, {k: new_sections[k] for k in ("requests", "limits")
                                                    if k in new_sections})
        except Unsafe as exc:
            yield Skip(doc.path, line, f"{w.label()} {c.label()}: {exc}")
            return
        if edits:
            # sizes the repository's configuration gives are evidence; the defaults are not
            sized = set(DEFAULTS) <= set(self.options(ctx))
            yield Finding(doc.path, line, f"{w.label()} {c.label()} has no resource "
                          f"{', '.join(added)}", ordered(edits), check="checkov:CKV_K8S_11",
                          safety="evidenced" if sized else "")
