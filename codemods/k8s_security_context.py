"""k8s-security-context: harden pod and container security contexts."""
from __future__ import annotations

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fixer import imagedb
from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.k8s import (may_edit_workload, Unsafe, add_entries, add_entry, append_item, conditional_block, containers, hidden_pod_specs,
                       ordered, parse_or_reason, privileged_node_agent,
                       value_actions, values_defaults, workloads)
from fixer.yamldoc import Flow, get, has_own, scalar

CHECKS = ("checkov:CKV_K8S_20", "checkov:CKV_K8S_22", "checkov:CKV_K8S_23", "checkov:CKV_K8S_28",
          "checkov:CKV_K8S_31", "checkov:CKV_K8S_37")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: example/web:1.2
          securityContext:
            runAsUser: 1000
"""
DEPLOY_FIXED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: example/web:1.2
          securityContext:
            runAsUser: 1000
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop: [ALL]
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      volumes:
        - name: tmp
          emptyDir: {}
"""
AGENT = """apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
spec:
  selector:
    matchLabels: {app: ne}
  template:
    metadata:
      labels: {app: ne}
    spec:
      hostPID: true
      containers:
        - name: ne
          image: prom/node-exporter:v1.8.0
"""


class K8sSecurityContext(Codemod):
    id = "k8s-security-context"
    title = "Harden pod and container securityContext"
    kinds = ("k8s", "helm", "helm-values")
    targets = ("k8s", "helm")
    severity = "high"
    safety = "unsafe"
    checks = CHECKS
    order = 310
    scope = "file"
    config = (Option("run_as_non_root", {"type": "boolean"}, True, "set runAsNonRoot"),
              Option("read_only_root_filesystem", {"type": "boolean"}, True,
                     "set readOnlyRootFilesystem (with a /tmp emptyDir)"),
              Option("seccomp", {"type": "boolean"}, True, "set seccompProfile: RuntimeDefault"))
    rationale = (
        "A container that runs as root, may gain privileges, keeps the default Linux "
        "capabilities and can write its root filesystem turns a compromise of the app into "
        "a compromise of the node much more easily. runAsNonRoot, "
        "allowPrivilegeEscalation: false, capabilities.drop: [ALL], a read-only root "
        "filesystem (with an emptyDir at /tmp for scratch files) and the runtime's default "
        "seccomp profile close those doors. Settings the manifest already has are kept; "
        "node agents that need host access (hostPID, hostNetwork, hostPath DaemonSets) and "
        "privileged containers are left alone. Options: run_as_non_root, "
        "read_only_root_filesystem, seccomp (all true by default).")
    examples = [Example("k8s/web.yaml", DEPLOY, DEPLOY_FIXED), Example("k8s/agent.yaml", AGENT, skip="uses hostPID: true (a node agent)")]

    wants = staticmethod(may_edit_workload)

    def fix(self, doc, ctx):
        reason = parse_or_reason(doc)
        if reason:
            if "containers:" in doc.text:
                yield Skip(doc.path, 0, reason)
            return
        opts = {o.name: o.default for o in self.config}
        opts.update(self.options(ctx))
        for line, why in hidden_pod_specs(doc):
            yield Skip(doc.path, line, why)
        for w in workloads(doc):
            agent = privileged_node_agent(w)
            if agent:
                yield Skip(doc.path, w.line, agent + "; securityContext left as it is")
                continue
            yield from self._workload(doc, ctx, w, opts)

    def _workload(self, doc, ctx, w, opts):
        edits, done, skips = [], [], []
        spec = w.pod_spec
        cs = list(containers(doc, spec))
        root_user = any(scalar(get(get(c.node, "securityContext"), "runAsUser")) == "0"
                        or scalar(get(get(c.node, "securityContext"), "runAsNonRoot")) in _FALSE
                        for c in cs)
        # -- pod level: runAsNonRoot only when every container is known to run as a numeric
        # non-root uid (else the kubelet refuses to start it)
        pod_want = {}
        psc = _pair(spec, "securityContext")
        pod_uid = _uid(psc[1]) if psc and isinstance(psc[1], MappingNode) else None
        doubts = [why for c in cs if (why := _nonroot_doubt(c, pod_uid))]
        if opts["run_as_non_root"] and not root_user and not doubts:
            pod_want["runAsNonRoot"] = True
        elif opts["run_as_non_root"] and not root_user and not _has_nonroot(psc):
            skips.append((w.line, f"{w.label()}: runAsNonRoot not set: " + "; ".join(doubts)))
        if opts["seccomp"]:
            pod_want["seccompProfile"] = {"type": "RuntimeDefault"}
        psc_pair = _pair(spec, "securityContext")
        try:
            if psc_pair is None:
                if pod_want:
                    edits.append(add_entry(doc, spec, "securityContext", pod_want))
                    done += list(pod_want)
            else:
                k, v = psc_pair
                if value_actions(doc, k, v) is not None:
                    keep = _keep_user if pod_want.get("runAsNonRoot") else _values_keep(cs)
                    if not pod_want.get("runAsNonRoot") and opts["run_as_non_root"] and not root_user:
                        pod_want["runAsNonRoot"] = True   # _values_keep decides from the values block
                        skips.pop()   # the values block may set runAsUser
                    es, added, why = values_defaults(ctx, doc, k, v, pod_want, spec, keep)
                    edits += es
                    done += added
                    if why:
                        skips.append((k.start_mark.line + 1, f"{w.label()} pod securityContext: {why}"))
                elif isinstance(v, MappingNode) and conditional_block(doc, w.node, k):
                    skips.append((k.start_mark.line + 1, f"{w.label()} pod securityContext is rendered "
                                  f"only inside `{conditional_block(doc, w.node, k)}`; left as it is"))
                    pod_want = {}
                elif isinstance(v, MappingNode):
                    if scalar(get(v, "runAsUser")) == "0" or has_own(v, "runAsNonRoot"):
                        pod_want.pop("runAsNonRoot", None)
                    if has_own(v, "seccompProfile") or _annot_seccomp(w):
                        pod_want.pop("seccompProfile", None)
                    if pod_want:
                        edits += add_entries(doc, v, pod_want)
                        done += list(pod_want)
        except Unsafe as exc:
            skips.append((w.line, f"{w.label()} pod securityContext: {exc}"))
        # -- containers
        tmp_volume = None
        if opts["read_only_root_filesystem"] and not self._volume_ok(doc, spec):
            opts = dict(opts, read_only_root_filesystem=False)
            skips.append((w.line, f"{w.label()}: readOnlyRootFilesystem not set: no place for a "
                                  "/tmp volume outside template actions"))
        for c in cs:
            sc_pair = _pair(c.node, "securityContext")
            sc = sc_pair[1] if sc_pair else None
            if scalar(get(sc, "privileged")) in _TRUE:
                skips.append((c.node.start_mark.line + 1, f"{w.label()} {c.label()} is privileged"))
                continue
            facts = imagedb.lookup(scalar(get(c.node, "image")))
            want = {"allowPrivilegeEscalation": False}
            if facts is not None and facts.caps and "NET_BIND_SERVICE" in facts.caps and not facts.root:
                want.pop("allowPrivilegeEscalation")   # the binary's file capability needs it
                skips.append((c.node.start_mark.line + 1, f"{w.label()} {c.label()}: allowPrivilegeEscalation "
                              f"left alone: {facts.name} binds low ports through a file capability"))
            ro_doubt = _read_only_doubt(c, facts)
            if opts["read_only_root_filesystem"] and ro_doubt:
                skips.append((c.node.start_mark.line + 1, f"{w.label()} {c.label()}: readOnlyRootFilesystem "
                              f"not set: {ro_doubt}"))
            elif opts["read_only_root_filesystem"]:
                want["readOnlyRootFilesystem"] = True
            want["capabilities"] = {"drop": Flow(["ALL"])}
            if facts is not None and facts.caps:
                want["capabilities"]["add"] = Flow(list(facts.caps))
            try:
                if sc_pair is not None and value_actions(doc, *sc_pair) is not None:
                    want.pop("readOnlyRootFilesystem", None)
                    es, added, why = values_defaults(ctx, doc, sc_pair[0], sc, want, c.node, _keep_user)
                    edits += es
                    done += added
                    if why:
                        skips.append((sc_pair[0].start_mark.line + 1, f"{w.label()} {c.label()}: {why}"))
                    continue
                c_edits, c_done = [], []
                if sc is None:
                    if "readOnlyRootFilesystem" in want and not self._tmp_ok(doc, c, spec):
                        want.pop("readOnlyRootFilesystem")
                    c_edits.append(add_entry(doc, c.node, "securityContext", want))
                    c_done += list(want)
                elif isinstance(sc, MappingNode) and conditional_block(doc, c.node, sc_pair[0]):
                    skips.append((sc_pair[0].start_mark.line + 1, f"{w.label()} {c.label()}: securityContext "
                                  f"is rendered only inside `{conditional_block(doc, c.node, sc_pair[0])}`; "
                                  "left as it is"))
                    continue
                elif isinstance(sc, MappingNode):
                    if _as_root(sc):
                        want.pop("capabilities")
                        skips.append((sc_pair[0].start_mark.line + 1, f"{w.label()} {c.label()} runs "
                                      "as root on purpose; its capabilities are left as they are"))
                    if has_own(sc, "allowPrivilegeEscalation"):
                        want.pop("allowPrivilegeEscalation", None)
                    if has_own(sc, "readOnlyRootFilesystem") or not self._tmp_ok(doc, c, spec):
                        want.pop("readOnlyRootFilesystem", None)
                    caps = get(sc, "capabilities")
                    if caps is not None and "capabilities" in want:
                        want.pop("capabilities")
                        e = self._drop_all(doc, caps) if not (facts and facts.caps) else None
                        if facts and facts.caps:
                            skips.append((sc_pair[0].start_mark.line + 1, f"{w.label()} {c.label()}: "
                                          f"capabilities left as they are ({facts.name} needs "
                                          f"{', '.join(facts.caps)})"))
                        if e:
                            c_edits.append(e)
                            c_done.append("capabilities.drop")
                    if want:
                        c_edits += add_entries(doc, sc, want)
                        c_done += list(want)
                else:
                    continue
                if "readOnlyRootFilesystem" in c_done and not _mounts_tmp(c.node):
                    tmp_volume = tmp_volume or _volume_name(spec)
                    c_edits += self._mount_tmp(doc, c, tmp_volume)
                edits += c_edits
                done += c_done
            except Unsafe as exc:
                skips.append((c.node.start_mark.line + 1, f"{w.label()} {c.label()}: {exc}"))
        if tmp_volume:
            try:
                vols = get(spec, "volumes")
                item = {"name": tmp_volume, "emptyDir": Flow({})}
                if isinstance(vols, SequenceNode):
                    edits.append(append_item(doc, vols, item))
                else:
                    edits.append(add_entry(doc, spec, "volumes", [item]))
            except Unsafe as exc:  # checked by _volume_ok; kept as a guard
                skips.append((w.line, f"{w.label()}: no /tmp volume added: {exc}"))
                edits = []
        for line, why in skips:
            yield Skip(doc.path, line, why)
        if edits:
            keys = ", ".join(sorted(set(done)))
            yield Finding(doc.path, w.line, f"{w.label()} runs without a hardened securityContext "
                          f"(adds {keys})", ordered(edits), check=",".join(CHECKS[:1]))

    @staticmethod
    def _volume_ok(doc, spec) -> bool:
        vols = get(spec, "volumes")
        try:
            item = {"name": "tmp", "emptyDir": Flow({})}
            if isinstance(vols, SequenceNode):
                append_item(doc, vols, item)
            elif vols is None:
                add_entry(doc, spec, "volumes", [item])
        except Unsafe:
            return False
        return True

    @staticmethod
    def _tmp_ok(doc, c, spec) -> bool:
        """readOnlyRootFilesystem needs a /tmp mount we can add (or one that exists)."""
        if _mounts_tmp(c.node):
            return True
        for node, key in ((c.node, "volumeMounts"), (spec, "volumes")):
            pair = _pair(node, key)
            if pair is not None and not (isinstance(pair[1], SequenceNode)
                                         and value_actions(doc, *pair) is None):
                return False
        return True

    @staticmethod
    def _mount_tmp(doc, c, name):
        vm = get(c.node, "volumeMounts")
        item = {"name": name, "mountPath": "/tmp"}
        if isinstance(vm, SequenceNode):
            return [append_item(doc, vm, item)]
        return [add_entry(doc, c.node, "volumeMounts", [item])]

    @staticmethod
    def _drop_all(doc, caps):
        drop = get(caps, "drop")
        if isinstance(drop, SequenceNode):
            if any((scalar(i) or "").upper() == "ALL" for i in drop.value):
                return None
            return append_item(doc, drop, "ALL")
        if drop is None and isinstance(caps, MappingNode):
            return add_entry(doc, caps, "drop", Flow(["ALL"]))
        return None


def _as_root(sc) -> bool:
    return scalar(get(sc, "runAsUser")) == "0" or scalar(get(sc, "runAsNonRoot")) in _FALSE


def _uid(sc) -> int | None:
    v = scalar(get(sc, "runAsUser")) if isinstance(sc, MappingNode) else None
    return int(v) if v is not None and v.isdigit() else None


def _has_nonroot(pair) -> bool:
    return pair is not None and isinstance(pair[1], MappingNode) and has_own(pair[1], "runAsNonRoot")


def _nonroot_doubt(c, pod_uid: int | None) -> str:
    """Why a container is not known to run as a numeric non-root uid ("" when it is)."""
    uid = _uid(get(c.node, "securityContext"))
    uid = pod_uid if uid is None else uid
    if uid is not None:
        return "" if uid > 0 else f"{c.label()} runs as uid 0"
    image = scalar(get(c.node, "image")) or ""
    facts = imagedb.lookup(image)
    if facts is None:
        return f"{c.label()} ({image or 'no image'}): no runAsUser and the image's user is unknown"
    if facts.numeric_uid:
        return ""
    if facts.root:
        return f"{c.label()} ({image}) runs as root ({facts.name}) and no runAsUser is set"
    if facts.user:
        hint = f"; runAsUser: {facts.uid} would do" if facts.uid else ""
        return (f"{c.label()} ({image}) runs as the named user {facts.user}, which the kubelet cannot "
                f"verify as non-root without a numeric runAsUser{hint}")
    return f"{c.label()} ({image}): no runAsUser and the image's user is unknown"


def _read_only_doubt(c, facts) -> str:
    """Why a known image's root filesystem cannot be read-only ("" when it can, or unknown image)."""
    if facts is None or facts.serves is False:
        return ""     # unknown, or a base OS/runtime: what it writes is the command's business
    if facts.writable is None:
        return f"{facts.name}'s writable paths are unknown"
    mounts = {(scalar(get(m, "mountPath")) or "").rstrip("/") for m in getattr(get(c.node, "volumeMounts"), "value", [])}
    outside = [p for p in facts.writable + facts.data if p != "/tmp" and p not in mounts]
    return f"{facts.name} writes {', '.join(outside)}" if outside else ""


def _values_keep(cs):
    """A values-rendered pod securityContext gets runAsNonRoot only when its runAsUser is a
    numeric non-root uid or every container is known to run as one."""
    def keep(node, want):
        uid = _uid(node)
        if uid is None and any(_nonroot_doubt(c, None) for c in cs) or uid == 0:
            want.pop("runAsNonRoot", None)
        return _keep_user(node, want)
    return keep


def _keep_user(node, want):
    """Leave out what a values block decides itself: runAsNonRoot when it runs as root,
    and dropping capabilities from a container that runs as root on purpose."""
    if _as_root(node):
        want.pop("runAsNonRoot", None)
        want.pop("capabilities", None)
    if has_own(node, "seccompProfile"):
        want.pop("seccompProfile", None)
    return want


def _pair(node, key):
    for k, v in getattr(node, "value", []) if isinstance(node, MappingNode) else []:
        if isinstance(k, ScalarNode) and k.value == key:
            return k, v
    return None


def _annot_seccomp(w) -> bool:
    ann = get(get(w.node, "metadata"), "annotations")
    return isinstance(ann, MappingNode) and any(isinstance(k, ScalarNode) and "seccomp" in k.value
                                                for k, _ in ann.value)


def _mounts_tmp(c) -> bool:
    vm = get(c, "volumeMounts")
    return isinstance(vm, SequenceNode) and any(
        (scalar(get(m, "mountPath")) or "").rstrip("/") == "/tmp" for m in vm.value)


def _volume_name(spec) -> str:
    vols = get(spec, "volumes")
    names = {scalar(get(v, "name")) for v in getattr(vols, "value", [])} \
        if isinstance(vols, SequenceNode) else set()
    for n in ("tmp", "tmp-dir", "fixer-tmp"):
        if n not in names:
            return n
    return "fixer-tmp-dir"

