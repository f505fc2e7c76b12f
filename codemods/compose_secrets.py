"""compose-secrets: literal passwords in `environment:` become required variables."""
from __future__ import annotations

import posixpath
import re

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import env_pairs, read_side_file, service_skip, services
from fixer.text import Edit
from fixer.yamldoc import get, has_own
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

_SECRET_KEY = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|"
                         r"CREDENTIALS?|(^|_)PASS$|(^|_)PWD$)", re.I)
_NOT_SECRET_KEY = re.compile(r"(_FILE|_PATH|_DIR|_LENGTH|_EXPIRY|_EXPIRE\w*|_TTL|_LIFETIME|_URL|_URI|"
                             r"_HOST|_PORT|_ALGORITHM|_HEADER|_NAME|_TYPE|_ENABLED|_MIN\w*|_MAX\w*)$|"
                             r"^(MYSQL_RANDOM_ROOT_PASSWORD|MYSQL_ALLOW_EMPTY_PASSWORD|"
                             r"MARIADB_RANDOM_ROOT_PASSWORD|MARIADB_ALLOW_EMPTY_ROOT_PASSWORD)$", re.I)
_URL_PASS = re.compile(r"^(?P<pre>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?P<post>@.*)$")
_FLAGS = {"", "true", "false", "yes", "no", "on", "off", "0", "1", "none", "null", "changeme-not-set"}


def _var(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


def _ref(var: str) -> str:
    return "${%s:?%s is required}" % (var, var)


class ComposeSecrets(Codemod):
    id = "compose-secrets"
    title = "Move literal secrets out of compose files"
    kinds = ("compose",)
    severity = "high"
    safety = "unsafe"
    checks = ("fixer:compose-secrets",)
    order = 270
    rationale = (
        "A password written into `environment:` lives in git history forever and in every "
        "clone, CI log and image of the repository. fixer replaces each literal (a value of "
        "a secret-like variable, or the password inside a URL) with `${NAME:?NAME is "
        "required}`, so compose refuses to start without it, and lists NAME with a placeholder "
        "in `.env.example` next to the compose file. Put the real value in `.env` (ignored by "
        "git) or the deployment's environment. The literal is never written anywhere; rotate "
        "it, since it stays in history.")
    examples = [
        Example("compose.yaml",
                "services:\n  db:\n    image: postgres:16\n    environment:\n"
                "      POSTGRES_PASSWORD: hunter2\n",
                "services:\n  db:\n    image: postgres:16\n    environment:\n"
                "      POSTGRES_PASSWORD: \"${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}\"\n"),
        Example("compose.yaml",
                "services:\n  db:\n    image: postgres:16\n    environment:\n"
                "      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n"),
        Example("compose.yaml", "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: |\n        hunter2\n",
                skip="is not a plain string"),
    ]

    def fix(self, doc, ctx):
        found = []   # (service name, line, key, value node, form, literal, prefix, suffix)
        for name, key, svc in services(doc):
            line = key.start_mark.line + 1
            if svc is None:
                continue
            env = get(svc, "environment")
            if env is None:
                continue
            inherited = not has_own(svc, "environment")
            for k, value, node, form in env_pairs(env):
                hit = self._literal(k, value)
                if hit is None:
                    continue
                ctx.secret(hit[1])
                if inherited:
                    yield Skip(doc.path, node.start_mark.line + 1,
                               f"service {name}: {k} comes from a shared anchor; move it there by hand")
                    continue
                if node.tag != "tag:yaml.org,2002:str" or node.style in ("|", ">"):
                    yield Skip(doc.path, node.start_mark.line + 1, f"service {name}: {k} is not a plain string")
                    continue
                found.append((name, line, k, node, form) + hit)
        if not found:
            return
        yield from self._rewrite(doc, ctx, found)

    @staticmethod
    def _literal(key: str, value: str | None):
        """(kind, literal, prefix, suffix) for a literal secret, else None."""
        if value is None or "$" in value:
            return None
        m = _URL_PASS.match(value.strip())
        if m:
            return ("url", m.group("pw"), m.group("pre"), m.group("post"))
        if _SECRET_KEY.search(key) and not _NOT_SECRET_KEY.search(key) and value.strip().lower() not in _FLAGS:
            return ("value", value, "", "")
        return None

    def _rewrite(self, doc, ctx, found):
        # one variable per key and literal; a URL password reuses the variable of an equal literal
        by_value: dict[tuple[str, str], str] = {}
        by_literal: dict[str, str] = {}
        keys_values: dict[str, set[str]] = {}
        for _, _, k, _, _, kind, lit, _, _ in found:
            if kind == "value":
                keys_values.setdefault(k, set()).add(lit)
        used: set[str] = set()
        for name, _, k, _, _, kind, lit, _, _ in sorted(found, key=lambda f: f[5] != "value"):
            if (k, lit) in by_value or (kind == "url" and lit in by_literal):
                continue
            base = _var(k) if kind == "value" else _var(k) + "_PASSWORD"
            if base in used or (kind == "value" and len(keys_values.get(k, ())) > 1):
                base = _var(f"{name}_{base}")
            while base in used:
                base += "_2"
            used.add(base)
            by_value[(k, lit)] = base
            by_literal.setdefault(lit, base)
        env_path = posixpath.join(posixpath.dirname(doc.path), ".env.example")
        existing = read_side_file(ctx, env_path)
        if existing is None:
            for name, line, k, *_ in found:
                yield Skip(doc.path, line, f"service {name}: {env_path} cannot be read; {k} left alone")
            return
        listed = set(re.findall(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", existing, re.M))
        added = ctx.shared.setdefault(("compose-secrets", env_path), set())
        needs_nl = bool(existing) and not existing.endswith("\n") and not added
        spans = [(i[3].start_mark.index, i[3].end_mark.index) for i in found]
        for lit in dict.fromkeys(i[6] for i in found):
            for node in _values(doc.docs[0]):
                at = node.start_mark.index
                if lit in node.value and not any(a <= at < b for a, b in spans):
                    yield Skip(doc.path, node.start_mark.line + 1, "a secret literal also appears "
                               "outside environment: remove it by hand")
                    ctx.note(self, f"{doc.path}:{node.start_mark.line + 1}: a secret literal remains; "
                             "remove it by hand")
                    break
        per_service: dict[str, list] = {}
        for item in found:
            per_service.setdefault(item[0], []).append(item)
        for name, items_ in per_service.items():
            message = (f"service {name} has literal secrets in environment: "
                       f"{', '.join(dict.fromkeys(i[2] for i in items_))}")
            if suppress.why(doc, items_[0][1], self.id):
                # left as it is: nothing of it goes to .env.example or the commit message
                yield Finding(doc.path, items_[0][1], message, check=self.checks[0])
                continue
            edits, names = [], []
            for _, _, k, node, form, kind, lit, pre, post in items_:
                var = by_value.get((k, lit)) or by_literal[lit]
                names.append(var)
                text = pre + _ref(var) + post
                if form == "list":
                    text = f"{k}={text}"
                edits.append(doc.replace(node.start_mark.index, node.end_mark.index, _quote(text)))
            new = [v for v in dict.fromkeys(names) if v not in listed and v not in added]
            if new:
                body = "".join(f"{v}=change-me{chr(10)}" for v in new)
                if needs_nl:
                    body, needs_nl = "\n" + body, False
                edits.append(Edit(env_path, len(existing), len(existing), body))
                added.update(new)
            ctx.note(self, f"{doc.path}: set {', '.join(dict.fromkeys(names))} (service {name}) "
                     "in .env or the environment; rotate the old values")
            yield Finding(doc.path, items_[0][1], message, edits, check=self.checks[0])


def _quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


_NAMES = {"image", "container_name", "hostname", "volumes", "networks", "depends_on", "links",
          "profiles", "build", "context", "dockerfile", "target", "source", "external", "name"}


def _values(node, key=None):
    """Scalar values that could carry a secret (not names, images or keys)."""
    if key in _NAMES:
        return
    if isinstance(node, MappingNode):
        for k, v in node.value:
            yield from _values(v, getattr(k, "value", None))
    elif isinstance(node, SequenceNode):
        for item in node.value:
            yield from _values(item, key)
    elif isinstance(node, ScalarNode):
        yield node
