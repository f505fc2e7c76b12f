"""k8s-secret-ref: secret-like env values become secretKeyRef references."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.k8s import (Unsafe, chart_dir, containers, join, may_hold_workload, open_scopes, parse_or_reason,
                       rendered_entries, replace_pair, resources, safe_line, values_node,
                       workloads)
from fixer.kubeapply import applied_whole
from fixer.secrets import occurrences, why_stays
from fixer.text import Edit
from fixer.yamldoc import get, get_pair, has_own, render_scalar, scalar

CHECK = "checkov:CKV_K8S_35"

_SECRET = re.compile(r"PASSWORD|PASSWD|(^|_)(PWD|PASS|PASSPHRASE|SECRET|SECRETS|TOKEN|APIKEY|DSN"
                     r"|CREDENTIALS?|PRIVATE_KEY|API_KEY|ACCESS_KEY|SECRET_KEY|AUTH_KEY|SIGNING_KEY"
                     r"|ENCRYPTION_KEY|MASTER_KEY|CONNECTION_STRING|CONN_STR)(_|$)")
_NOT_SECRET = re.compile(r"^(ALLOW|ENABLE|DISABLE|USE|SKIP|REQUIRE|IS|HAS)_|_EMPTY_|(_FILE|_PATH|_DIR|_NAME|_REF|_ENABLED|_ENABLE|_LENGTH|_LEN|_TTL|_EXPIRY"
                         r"|_EXPIRATION|_EXPIRES|_TIMEOUT|_HEADER|_TYPE|_KEY_ID|_ID|_USER|_USERNAME"
                         r"|_ENDPOINT|_URL_PATH|_MODE|_POLICY|_REFRESH|_LIFETIME|_ALGORITHM|_ISSUER"
                         r"|_AUDIENCE|_SECRET_NAME|_SECRET_KEY_REF)$")
_URL_NAME = re.compile(r"(^|_)(URL|URI|DATABASE|DB|CONNECTION|BROKER)(_|$)")
_CRED_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s:]*:[^/@\s]+@", re.I)
_KEY_OK = re.compile(r"^[-._a-zA-Z0-9]+$")
_VALUES_PATH = re.compile(r"\.Values((?:\.[A-Za-z_][\w-]*)+)")
_SECRET_KIND = re.compile(r"^[\s-]*[\"']?kind[\"']?:\s*[\"']?Secret\b", re.M)
_FULLNAME = re.compile(r'(?:include|template)\s+"([^"]+)\.fullname"')


def _words(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).upper().replace("-", "_").replace(".", "_")


def secret_like(name: str, literal: str | None) -> bool:
    """Whether an env var holds a secret. `literal` None: the value is a template expression."""
    w = _words(name)
    if _NOT_SECRET.search(w):
        return False
    if _SECRET.search(w):
        if literal is None:
            return True
        v = literal.strip()
        if not v or v.lower() in ("true", "false", "yes", "no", "null", "none", "~"):
            return False
        if re.fullmatch(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", v) or re.fullmatch(r"\d{1,5}", v):
            return False
        return True
    return bool(_URL_NAME.search(w) and literal is not None and _CRED_URL.match(literal.strip()))


def env_candidates(doc, c):
    """(item mapping, name, key node, value node) of env entries with a plain `value:`."""
    env = get(c.node, "env")
    if not isinstance(env, SequenceNode):
        return
    for item in env.value:
        if not isinstance(item, MappingNode) or has_own(item, "valueFrom"):
            continue
        name = scalar(get(item, "name"))
        pair = get_pair(item, "value", merged=False)
        if not name or pair is None or not isinstance(pair[1], ScalarNode):
            continue
        yield item, name, pair[0], pair[1]


def _elsewhere(ctx, doc, nodes) -> list[str]:
    """Places in the manifest's folder holding one of these values that fixer does not move
    with them (a ConfigMap, args, a DSN under another name): 'path:line'."""
    folder = str(PurePosixPath(doc.path).parent)
    out = []
    for path in sorted(ctx.ws.all_paths | set(ctx.ws.files)):
        if str(PurePosixPath(path).parent) != folder:
            continue
        other = doc if path == doc.path else ctx.document(path)
        text = other.text if other is not None else ctx.read(path) or ""
        moved = _moved_by_own_fix(other)
        for n in nodes:
            for o in occurrences(text, n.value):
                if not any(a <= o < b for a, b in moved):
                    out.append(f"{path}:{text.count(chr(10), 0, o) + 1}")
    return list(dict.fromkeys(out))


def _moved_by_own_fix(d) -> list[tuple[int, int]]:
    """Spans of the env values a plain manifest's own fix moves."""
    if d is None or getattr(d, "kind", "") != "k8s" or parse_or_reason(d):
        return []
    out = []
    for w in workloads(d):
        for c in containers(d, w.pod_spec):
            for item, name, k, v in env_candidates(d, c):
                if secret_like(name, v.value) and not why_stays(v.value, d.text, v.start_mark.line):
                    out.append((v.start_mark.index, v.end_mark.index))
    return out


def _left_trim(action: str) -> str:
    """`{{- if X -}}` / `{{ if X }}` → `{{- if X }}`: on a line of its own it removes that
    line and nothing of the next one (a right trim would glue the next key to the line
    above: `stringData:postgres-dsn: …`)."""
    inner = re.sub(r"^\{\{-?\s*|\s*-?\}\}$", "", action)
    return "{{- " + inner + " }}"


def _ref(name_text, key):
    from fixer.yamldoc import Raw
    return {"secretKeyRef": {"name": Raw(name_text), "key": key}}


def _unique(key: str, taken: set[str]) -> str:
    k, n = key, 2
    while k in taken:
        k, n = f"{key}-{n}", n + 1
    taken.add(k)
    return k


def _secret_rank(d, res, nnode, ntext: str, fullname: str, helper: str | None) -> int | None:
    """How well a chart's Secret can take new keys (lower is better), or None: it must be
    rendered unconditionally, not be a hook, and have a one-line name without template
    variables. The chart's fullname Secret comes first, then one named after it
    (`{{ include "<chart>.fullname" . }}-config`), then any other."""
    if nnode is None or not ntext or open_scopes(d, res.start_mark.index):
        return None
    if d.line_of(nnode.start_mark.index) != d.line_of(d.content_end(nnode)) or re.search(r"\$[A-Za-z_]", ntext):
        return None
    if get(get(get(res, "metadata"), "annotations"), "helm.sh/hook") is not None:
        return None
    if "{{" in ntext and not re.search(r"\.(?:Release|Chart)\b|(?:include|template)\s+\"", ntext):
        return None     # named from values: the chart may render it under another name
    if ntext == fullname or helper and re.fullmatch(
            r'\{\{-?\s*(?:include|template)\s+"' + re.escape(helper) + r'\.fullname"\s+\.\s*-?\}\}', ntext):
        return 0
    if helper and f'"{helper}.fullname"' in ntext:
        return 1
    return 2


class K8sSecretRef(Codemod):
    id = "k8s-secret-ref"
    title = "Move secret env values into a Secret and reference them with secretKeyRef"
    kinds = ("k8s", "helm", "helm-values")
    targets = ("k8s", "helm")
    severity = "high"
    safety = "unsafe"
    checks = (CHECK,)
    order = 300
    scope = "file"      # a manifest (and its new Secret file), or a chart with its values
    rationale = (
        "An env value in a pod spec shows in `kubectl describe`, in every copy of the "
        "manifest and to anyone who can read the workload. A secretKeyRef keeps the value in "
        "a Secret, where RBAC, encryption at rest and audit apply. In a Helm chart the value "
        "moves to the chart's Secret template with the same template expression, so the "
        "rendered value is unchanged; in plain manifests the workload references a Secret "
        "named after it, and a placeholder Secret manifest says how to create the real one.")
    examples = [
        Example(
            "deploy/web.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
            "      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n"
            "          image: nginx:1.27\n          env:\n            - name: LOG_LEVEL\n"
            "              value: info\n            - name: DB_PASSWORD\n"
            "              value: hunter2-prod  # rotate me\n",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
            "  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n"
            "      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n"
            "          image: nginx:1.27\n          env:\n            - name: LOG_LEVEL\n"
            "              value: info\n            - name: DB_PASSWORD\n"
            "              valueFrom:\n                secretKeyRef:\n                  name: web-secrets\n"
            "                  key: DB_PASSWORD  # rotate me\n"),
        Example(
            "pod.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
            "    - name: app\n      image: busybox\n      env:\n"
            "        - name: DB_PASSWORD_FILE\n          value: /run/secrets/db\n"
            "        - name: API_TOKEN\n          value: \"\"\n"),
        # the Secret manifest fixer would write is there already
        Example("deploy/api.yaml",
                "apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\nspec:\n  containers:\n    - name: api\n"
                "      image: example/api:1.0\n      env:\n        - name: API_TOKEN\n          value: tok-8f3a9c2e71\n",
                files={"deploy/api-secret.yaml": "# managed elsewhere\n"}, skip="exists; not overwritten"),
    ]

    def run(self, ctx):
        for doc in ctx.documents(("k8s",), needles=("env",)):
            yield from ctx.guard(self, doc, self.fix)
        charts: dict[str, list] = {}
        for doc in ctx.documents(("helm",)):
            charts.setdefault(chart_dir(doc.path) or "", []).append(doc)
        for chart, docs in sorted(charts.items()):
            yield from self._chart(ctx, chart, docs)

    def fix_unit(self, docs, ctx):
        if docs[0].kind == "helm":
            yield from self._chart(ctx, chart_dir(docs[0].path) or "", docs)
            return
        for doc in docs:
            if "env" in doc.text:
                yield from ctx.guard(self, doc, self.fix)

    # -- plain manifests -------------------------------------------------------------
    def fix(self, doc, ctx):
        if parse_or_reason(doc):
            return
        secrets: list[tuple] = []         # (workload, secret name, [(key, env name)])
        edits, findings = [], []
        for w in workloads(doc):
            found = []
            for c in containers(doc, w.pod_spec):
                for item, name, k, v in env_candidates(doc, c):
                    if not secret_like(name, v.value):
                        continue
                    stays = why_stays(v.value, doc.text, v.start_mark.line)
                    if stays:
                        yield Skip(doc.path, k.start_mark.line + 1,
                                   f"{w.label()} {c.label()}: env {name} left as it is: {stays}")
                        continue
                    found.append((c, item, name, k, v))
            if not found:
                continue
            stuck = _elsewhere(ctx, doc, [f[4] for f in found])
            if stuck:
                for c, item, name, k, v in found:
                    ctx.secret(v.value)
                yield Finding(doc.path, found[0][3].start_mark.line + 1,
                              f"{w.label()}: env {', '.join(f[2] for f in found)} hold secret values also used at "
                              f"{', '.join(stuck)}; not moved (every place must change together)", check=CHECK)
                continue
            if not w.name:
                yield Skip(doc.path, w.line, f"{w.kind} has no plain name to name its Secret after")
                continue
            sname = f"{w.name}-secrets"
            taken: set[str] = set()
            keys = []
            for c, item, name, k, v in found:
                ctx.secret(v.value)
                key = _unique(name if _KEY_OK.match(name) else re.sub(r"[^-._a-zA-Z0-9]", "-", name), taken)
                keys.append((key, name))
                edits.append(replace_pair(doc, k, v, "valueFrom", _ref(render_scalar(sname), key),
                                          flow=item.flow_style))
                findings.append((k.start_mark.line + 1,
                                 f"{w.label()} {c.label()}: env {name} holds a secret value"))
            secrets.append((w, sname, keys))
        if not secrets:
            return
        target = self._secret_path(doc.path)
        if ctx.exists(target):
            yield Skip(doc.path, secrets[0][0].line, f"{target} exists; not overwritten")
            return
        folder = str(PurePosixPath(target).parent)
        whole = applied_whole(ctx, "" if folder == "." else folder)
        if whole:
            # a placeholder Secret there would be applied over the real one: report instead
            for w, sname, keys in secrets:
                lits = " ".join(f"--from-literal={k}=..." for k, _ in keys)
                yield Finding(doc.path, w.line, f"{w.label()}: env {', '.join(e for _, e in keys)} hold secret "
                              f"values; not moved: its folder is applied as a whole ({whole}), so a placeholder "
                              f"Secret cannot be written there. Create it (kubectl create secret generic {sname} "
                              f"{lits}) and reference it with secretKeyRef", check=CHECK)
            return
        nl = doc.newline
        body = ("---" + nl).join(self._secret_doc(w, sname, keys, nl) for w, sname, keys in secrets)
        edits.append(Edit(target, 0, 0, body))
        for w, sname, keys in secrets:
            ns = f" in namespace {w.namespace}" if w.namespace else ""
            ctx.note(self, f"Provision Secret {sname}{ns} (placeholder in {target}) with keys: "
                           + ", ".join(k for k, _ in keys))
        line, msg = findings[0]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        yield Finding(doc.path, line, msg + more + f"; now read from a Secret ({target})",
                      edits, check=CHECK)

    @staticmethod
    def _secret_path(path: str) -> str:
        p = PurePosixPath(path)
        return str(p.with_name(p.stem + "-secret" + p.suffix))

    @staticmethod
    def _secret_doc(w, sname: str, keys, nl: str) -> str:
        ns = f" --namespace {w.namespace}" if w.namespace else ""
        lits = " ".join(f"--from-literal={k}=..." for k, _ in keys)
        lines = [
            f"# Secret for {w.label()}. The values here are placeholders: the real values",
            "# are not kept in this repository. Create the Secret instead of applying this file:",
            f"#   kubectl create secret generic {sname}{ns} {lits}",
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            f"  name: {render_scalar(sname)}",
        ]
        if w.namespace:
            lines.append(f"  namespace: {render_scalar(w.namespace)}")
        lines += ["type: Opaque", "stringData:"]
        lines += [f"  {render_scalar(k)}: \"<set {env}>\"" for k, env in keys]
        return nl.join(lines) + nl

    # -- Helm charts -----------------------------------------------------------------
    def _chart(self, ctx, chart: str, docs: list):
        # the chart's own `<chart>.fullname` helper (bitnami's shared one is common.names)
        counts = Counter(m for d in docs for m in _FULLNAME.findall(d.text))
        plain = [h for h, _ in counts.most_common() if "." not in h]
        helper = plain[0] if plain else ("common.names" if "common.names" in counts else None)
        fullname = f'{{{{ include "{helper}.fullname" . }}}}' if helper else \
            '{{ printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" }}'
        labels = f'{{{{- include "{helper}.labels" . | nindent 4 }}}}' \
            if helper and any(f'"{helper}.labels"' in d.text for d in docs) else None
        existing = None          # (doc, resource, name text)
        candidates = []          # (rank, doc, resource, name text): unconditional, not hooks
        names = set()
        for d in docs:
            if not _SECRET_KIND.search(d.text) or parse_or_reason(d):
                continue
            for res in resources(d):
                if scalar(get(res, "kind")) != "Secret":
                    continue
                nnode = get(get(res, "metadata"), "name")
                ntext = d.span(nnode) if nnode is not None else ""
                names.add(ntext)
                rank = _secret_rank(d, res, nnode, ntext, fullname, helper)
                if rank is not None:
                    candidates.append((rank, d.path, d, res, ntext))
        if candidates:
            _, _, d, res, ntext = min(candidates, key=lambda c: c[:2])
            existing = (d, res, ntext)
        regular, hooks = [], []
        for d in docs:
            if "env" not in d.text or not may_hold_workload(d.text):
                continue
            reason = parse_or_reason(d)
            if reason:
                if "env:" in d.text:
                    yield Skip(d.path, 0, reason)
                continue
            for w in workloads(d):
                hook = scalar(get(get(get(w.node, "metadata"), "annotations"), "helm.sh/hook")) or ""
                for c in containers(d, w.pod_spec):
                    for item, name, k, v in env_candidates(d, c):
                        lit = None if d.has_action(v.start_mark.index, v.end_mark.index) else v.value
                        if not secret_like(name, lit):
                            continue
                        line = k.start_mark.line + 1
                        if lit is not None:
                            ctx.secret(lit)
                            yield Skip(d.path, line, f"{w.label()} {c.label()}: env {name} is a literal "
                                       "in a template; move it to values and a Secret by hand")
                            continue
                        why = self._why_not(d, item, v)
                        if why:
                            yield Skip(d.path, line, f"{w.label()} {c.label()}: env {name}: {why}")
                            continue
                        entry = (d, w, c, item, name, k, v)
                        if "pre-install" in hook or "pre-upgrade" in hook:
                            hooks.append((entry, hook))
                        else:
                            regular.append(entry)
        yield from self._values_defaults(ctx, chart, [e for e in regular] + [e for e, _ in hooks])
        if regular:
            yield from self._to_secret(ctx, chart, regular, existing, fullname, labels, names)
        by_workload: dict = {}
        for entry, hook in hooks:
            by_workload.setdefault((entry[0].path, id(entry[1])), []).append((entry, hook))
        for group in by_workload.values():
            yield from self._to_hook_secret(ctx, chart, group, labels, names)

    def _values_defaults(self, ctx, chart, entries):
        """A secret default in values.yaml stays in the chart: report it (masked)."""
        if not entries:
            return
        vpath = join(chart, "values.yaml")
        vdoc = ctx.document(vpath)
        if vdoc is None or parse_or_reason(vdoc):
            return
        seen = set()
        for d, w, c, item, name, k, v in entries:
            paths = set(_VALUES_PATH.findall(d.text[v.start_mark.index:d.content_end(v)]))
            if len(paths) != 1:
                continue
            path = paths.pop().strip(".")
            node = values_node(vdoc, path)
            value = scalar(node)
            if not value or path in seen or value.strip() in ('""', "''"):
                continue
            seen.add(path)
            ctx.secret(value)
            ctx.note(self, f"{vpath} still holds a default for {path}: remove it and pass the value "
                           "at install time (--set, an external secret)")
            yield Finding(vpath, node.start_mark.line + 1,
                          f"{path} has a secret default in {vpath}; the chart's Secret now carries "
                          "it, but it stays in the repository", check=CHECK)

    @staticmethod
    def _why_not(d, item, v) -> str | None:
        if d.line_of(v.start_mark.index) != d.line_of(d.content_end(v)):
            return "the value spans several lines"
        for kw, action, in_else in open_scopes(d, v.start_mark.index):
            if kw != "if":
                return f"inside a `{kw}` block whose context a Secret template does not share"
            if in_else:
                return "inside an `else` branch"
            if re.search(r"\$[A-Za-z_]", action):
                return "the condition uses template variables"
        text = d.text[v.start_mark.index:d.content_end(v)]
        if re.search(r"\$[A-Za-z_]", text):
            return "the value uses template variables"
        if item.flow_style:
            return "the env entry is in flow style"
        return None

    @staticmethod
    def _key_for(d, name: str, v) -> str:
        """`postgres_dsn` from `.Values.config.storage.postgres_dsn`; `redis-password` when the
        last part alone (`password`) says too little; else the env name."""
        text = d.text[v.start_mark.index:d.content_end(v)]
        paths = set(_VALUES_PATH.findall(text))
        if len(paths) == 1:
            parts = paths.pop().strip(".").split(".")
            base = parts[-1]
            if len(parts) > 1 and not re.search(r"[-_]|[a-z][A-Z]", base):
                base = parts[-2] + "-" + base
        else:
            base = name
        base = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", base).replace("_", "-")
        return re.sub(r"[^-.a-zA-Z0-9]", "-", base).strip("-").lower() or "value"

    @staticmethod
    def _entry_lines(d, v, key: str, col: int, outer: int = 0) -> list[str]:
        """The Secret's `key: <same value text>` line, wrapped in the env entry's if blocks
        (but the `outer` first ones, which wrap the whole Secret)."""
        pad = " " * col
        value = d.text[v.start_mark.index:d.content_end(v)]
        conds = [_left_trim(a) for kw, a, _ in open_scopes(d, v.start_mark.index)[outer:]]
        return ([pad + a for a in conds] + [f"{pad}{render_scalar(key)}: {value}"]
                + [pad + "{{- end }}" for _ in conds])

    def _rewrite_env(self, d, item, k, v, name_text, key):
        return replace_pair(d, k, v, "valueFrom", _ref(name_text, key), flow=False, moves_action=True)

    def _to_secret(self, ctx, chart, entries, existing, fullname, labels, names):
        if existing is None and names:
            # a new Secret could clash with one the chart creates under some condition
            for d, w, c, item, name, k, v in entries:
                yield Skip(d.path, k.start_mark.line + 1,
                           f"{w.label()} {c.label()}: env {name}: the chart's Secret templates are "
                           "conditional, hooks or named from values; add the key by hand")
            return
        taken: set[str] = set()
        if existing:
            sd, sres, _ = existing
            target = get(sres, "stringData")
            taken |= {scalar(kn) for kn, _ in getattr(get(sres, "data"), "value", []) or []}
            taken |= {scalar(kn) for kn, _ in getattr(target, "value", []) or []}
            spath = sd.path
        else:
            spath = join(chart, "templates", "secret.yaml")
            if ctx.exists(spath):
                yield Skip(entries[0][0].path, 0, f"{spath} exists but holds no usable Secret")
                return
        findings = []
        for d, w, c, item, name, k, v in entries:
            key = _unique(self._key_for(d, name, v), taken)
            try:
                env_edit = self._rewrite_env(d, item, k, v, existing[2] if existing else fullname, key)
            except Unsafe as exc:
                yield Skip(d.path, k.start_mark.line + 1, f"env {name}: {exc}")
                continue
            findings.append((d, w, c, name, k, key, env_edit, v))
        if not findings:
            return
        if existing:
            sd, sres, _ = existing
            target = get(sres, "stringData")
            for d, w, c, name, k, key, env_edit, v in findings:
                try:
                    if isinstance(target, MappingNode) and target.value and not target.flow_style:
                        col = target.value[0][0].start_mark.column
                        line = safe_line(sd, [vv for _, vv in target.value], target.value[0][0])
                        sedit = sd.insert_lines_after(line, self._entry_lines(d, v, key, col))
                    elif target is None or target == "added":
                        # a new stringData: block after the resource's last entry
                        reason = rendered_entries(sd, sres)
                        if reason:
                            raise Unsafe(f"entries are rendered by {reason}")
                        col = sres.value[0][0].start_mark.column
                        line = safe_line(sd, [vv for _, vv in sres.value], sres.value[0][0])
                        body = ([" " * col + "stringData:"] if target is None else []) \
                            + self._entry_lines(d, v, key, col + sd.indent_step())
                        sedit = sd.insert_lines_after(line, body)
                        target = "added"
                    else:
                        yield Skip(d.path, k.start_mark.line + 1,
                                   f"env {name}: {sd.path} stringData cannot be extended safely")
                        continue
                except Unsafe as exc:
                    yield Skip(d.path, k.start_mark.line + 1, f"env {name}: {sd.path}: {exc}")
                    continue
                ctx.note(self, f"Chart {chart or '.'}: key {key} of Secret {existing[2]} ({sd.path}) "
                               f"now holds env {name}")
                yield Finding(d.path, k.start_mark.line + 1,
                              f"{w.label()} {c.label()}: env {name} shows a secret in the pod spec; "
                              f"now read from key {key} of the chart's Secret",
                              [env_edit, sedit], check=CHECK)
            return
        nl = "\n"
        body = ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {fullname}"]
        if labels:
            body += ["  labels:", f"    {labels}"]
        body += ["type: Opaque", "stringData:"]
        for d, w, c, name, k, key, env_edit, v in findings:
            body += self._entry_lines(d, v, key, 2)
        edits = [f[6] for f in findings] + [Edit(spath, 0, 0, nl.join(body) + nl)]
        for d, w, c, name, k, key, env_edit, v in findings:
            ctx.note(self, f"Chart {chart or '.'}: key {key} of Secret {fullname} ({spath}) "
                           f"now holds env {name}")
        d, w, c, name, k = findings[0][:5]
        more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
        yield Finding(d.path, k.start_mark.line + 1,
                      f"{w.label()} {c.label()}: env {name} shows a secret in the pod spec{more}; "
                      f"now read from a new Secret template {spath}", edits, check=CHECK)

    def _to_hook_secret(self, ctx, chart, group, labels, names):
        """A pre-install/pre-upgrade hook runs before the chart's Secret exists: give it its own
        hook Secret, created just before it."""
        (d, w, c, item, name, k, v), hook = group[0]
        meta = get(w.node, "metadata")
        nnode = get(meta, "name")
        if nnode is None or d.line_of(nnode.start_mark.index) != d.line_of(d.content_end(nnode)):
            yield Skip(d.path, w.line, f"{w.label()}: hook without a one-line name")
            return
        name_text = d.span(nnode)
        weight = scalar(get(get(meta, "annotations"), "helm.sh/hook-weight")) or "0"
        try:
            weight = str(int(str(weight).strip("\"'")) - 1)
        except ValueError:
            yield Skip(d.path, w.line, f"{w.label()}: hook weight {weight} is not a number")
            return
        stem = PurePosixPath(d.path).stem
        spath = str(PurePosixPath(d.path).with_name(stem + "-secret.yaml"))
        if ctx.exists(spath):
            yield Skip(d.path, w.line, f"{spath} exists; not overwritten")
            return
        taken: set[str] = set()
        # the blocks around the whole hook go around the whole hook Secret
        outer = [_left_trim(a) for _, a, _ in open_scopes(d, w.node.start_mark.index)]
        body = outer + ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {name_text}"]
        if labels:
            body += ["  labels:", f"    {labels}"]
        body += ["  annotations:",
                 f"    \"helm.sh/hook\": {render_scalar(hook)}",
                 f"    \"helm.sh/hook-weight\": \"{weight}\"",
                 "    \"helm.sh/hook-delete-policy\": before-hook-creation",
                 "type: Opaque", "stringData:"]
        edits, keys = [], []
        for (d, w, c, item, name, k, v), _ in group:
            key = _unique(self._key_for(d, name, v), taken)
            try:
                edits.append(self._rewrite_env(d, item, k, v, name_text, key))
            except Unsafe as exc:
                yield Skip(d.path, k.start_mark.line + 1, f"env {name}: {exc}")
                continue
            body += self._entry_lines(d, v, key, 2, len(outer))
            keys.append((key, name))
        if not edits:
            return
        body += ["{{- end }}" for _ in outer]
        edits.append(Edit(spath, 0, 0, "\n".join(body) + "\n"))
        for key, name in keys:
            ctx.note(self, f"Chart {chart or '.'}: key {key} of hook Secret {name_text} ({spath}) "
                           f"now holds env {name} (a hook resource: helm uninstall leaves it)")
        (d, w, c, item, name, k, v), _ = group[0]
        yield Finding(d.path, k.start_mark.line + 1,
                      f"{w.label()} {c.label()}: env {name} shows a secret in the hook's pod spec; "
                      f"now read from a hook Secret created before it ({spath})", edits, check=CHECK)
