"""compose-secrets: literal passwords in `environment:` become required variables."""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from fixer import suppress
from fixer.codemod import Codemod, Example, Finding, Skip
from fixer.compose import env_pairs, read_side_file, services
from fixer.envtemplate import is_doc, original, project_files, runs_without_env, template_for
from fixer.secrets import occurrences, why_stays
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
        "required}`, rewrites every other place of the same value in the compose files to "
        "`${NAME}`, and lists NAME with a placeholder in the env template (a kept `.env`, the "
        "file the README copies to `.env`, or `.env.example` next to the compose file). A "
        "value also used in a config file, script or env template fixer does not rewrite "
        "stays where it is, and the places are listed: moving only some of them would break "
        "the application. Placeholders and dummy values stay. The literal is never written "
        "anywhere; rotate it, since it stays in history.")
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
        found: list[_Literal] = []
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
                stays = why_stays(hit[1], doc.text, node.start_mark.line)
                if stays:
                    yield Skip(doc.path, node.start_mark.line + 1, f"service {name}: {k} left as it is: {stays}")
                    continue
                ctx.secret(hit[1])
                if inherited:
                    yield Skip(doc.path, node.start_mark.line + 1,
                               f"service {name}: {k} comes from a shared anchor; move it there by hand")
                    continue
                if node.tag != "tag:yaml.org,2002:str" or node.style in ("|", ">"):
                    yield Skip(doc.path, node.start_mark.line + 1, f"service {name}: {k} is not a plain string")
                    continue
                found.append(_Literal(name, line, k, node, form, *hit))
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

    @staticmethod
    def _names(found: list["_Literal"], known: dict[str, str]) -> dict[str, str]:
        """One variable per literal: equal values share it (POSTGRES_PASSWORD and POSTGRES_PWD
        with one value, a URL's password, the same value in another compose file of the
        folder: `known`); a key holding different values gets the service name in front."""
        keys_values: dict[str, set[str]] = {}
        for f in found:
            if f.kind == "value":
                keys_values.setdefault(f.key, set()).add(f.literal)
        names: dict[str, str] = {lit: var for lit, var in known.items()}
        used: set[str] = set(known.values())
        for f in sorted(found, key=lambda f: f.kind != "value"):
            if f.literal in names:
                continue
            base = _var(f.key) if f.kind == "value" else _var(f.key) + "_PASSWORD"
            if base in used or (f.kind == "value" and len(keys_values.get(f.key, ())) > 1):
                base = _var(f"{f.service}_{base}")
            while base in used:
                base += "_2"
            used.add(base)
            names[f.literal] = known[f.literal] = base
        return names

    def _report(self, doc, items, why):
        """The literals stay: one reported finding per service, with the reason."""
        per_service: dict[str, list] = {}
        for f in items:
            per_service.setdefault(f.service, []).append(f)
        for name, fs in per_service.items():
            keys = ", ".join(dict.fromkeys(f.key for f in fs))
            yield Finding(doc.path, fs[0].line, f"service {name} has literal secrets in environment: {keys}; "
                          f"not moved: {why}", check=self.checks[0])

    def _rewrite(self, doc, ctx, found):
        template = template_for(ctx, doc.path)
        names = self._names(found, ctx.shared.setdefault(("compose-secrets", "names", template.path), {}))
        files = _with_siblings(ctx, doc)
        env_nodes = {id(f.node) for f in found}
        moving: list[_Literal] = []
        rewrites: dict[int, list] = {}       # node id -> [node, new value]
        for lit in dict.fromkeys(f.literal for f in found):
            items = [f for f in found if f.literal == lit]
            shown: list[str] = []      # documentation showing the value: told, not blocking
            node_edits, stuck = _doc_places(doc, lit, names[lit], env_nodes, rewrites)
            # a place under `# fixer: ignore` stays, so the value stays everywhere
            held = [f for f in items if suppress.why(doc, f.line, self.id)]
            stuck += [f"{doc.path}:{f.line} (service {f.service}, under fixer: ignore)" for f in held]
            stuck += [f"{doc.path}:{n.start_mark.line + 1} (under fixer: ignore)" for n, _ in node_edits
                      if suppress.why(doc, n.start_mark.line + 1, self.id)]
            for path in files:
                st = ctx.ws.files.get(path)
                if st is not None and st.kind == "compose" and st.text is not None:
                    # another compose file: its own fix moves the value to the same variable,
                    # unless it holds it where fixer cannot rewrite it
                    other = ctx.document(path)
                    stuck += _doc_places(other, lit, names[lit], set(), {})[1] if other is not None else [path]
                    continue
                text = original(ctx, path) or ""
                offs = occurrences(text, lit)
                where = [f"{path}:{text.count(chr(10), 0, o) + 1}" for o in offs[:3]]
                (shown if is_doc(path) else stuck).extend(where)
            if stuck:
                places = ", ".join(dict.fromkeys(stuck))
                ctx.note(self, f"{doc.path}: a secret ({names[lit]}) is also used at {places}; not moved")
                yield from self._report(doc, items, f"the same value is also used at {places} "
                                        "(every place must change together: replace them by hand with "
                                        f"one variable, e.g. {names[lit]})")
                continue
            for n, value in node_edits:
                rewrites[id(n)] = [n, value]
            if shown:
                ctx.note(self, f"{doc.path}: the documentation still shows the old value of {names[lit]} "
                               f"at {', '.join(dict.fromkeys(shown))}: update it")
            moving += items
        if not moving:
            return
        new_vars = list(dict.fromkeys(names[f.literal] for f in moving))
        if template.blocked:
            ctx.note(self, f"{doc.path}: not moved: {template.blocked}; to move them, list "
                           + ", ".join(f"{v}=change-me" for v in new_vars) + f" in {template.path}")
            yield from self._report(doc, moving, f"no env template can be written ({template.blocked})")
            return
        scripts = runs_without_env(ctx, doc.path, files, readme_copies=bool(template.source))
        if scripts:
            yield from self._report(doc, moving, f"{', '.join(scripts)} run(s) compose without an env file "
                                    f"and would stop on the new required variables ({', '.join(new_vars)})")
            return
        existing = read_side_file(ctx, template.path)
        if existing is None:
            for f in moving:
                yield Skip(doc.path, f.line, f"service {f.service}: {template.path} cannot be read; {f.key} left alone")
            return
        listed = set(re.findall(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=", existing, re.M))
        added = ctx.shared.setdefault(("compose-secrets", template.path), set())
        to_add = [v for v in new_vars if v not in listed and v not in added]
        body = "".join(f"{v}=change-me\n" for v in to_add)
        if body and existing and not existing.endswith("\n"):
            body = "\n" + body
        env_edits = {}
        for f in moving:
            text = f.pre + _ref(names[f.literal]) + f.post
            if f.form == "list":
                text = f"{f.key}={text}"
            env_edits[id(f.node)] = doc.replace(f.node.start_mark.index, f.node.end_mark.index, _quote(text))
        other = [doc.replace(n.start_mark.index, n.end_mark.index, _quote(v)) for n, v in rewrites.values()]
        pending = "".join(f"\n{v}=change-me" for v in sorted(added))     # written by an earlier fix of this run
        problem = _still_loads(doc, list(env_edits.values()) + other, existing, existing + body + pending)
        if problem:
            yield from self._report(doc, moving, f"the compose file would not load with {template.path}: {problem}")
            return
        first = True
        per_service: dict[str, list] = {}
        for f in moving:
            per_service.setdefault(f.service, []).append(f)
        told = f", which {template.source} copies to .env" if template.source else \
            "" if template.path.endswith(".env") else "; no README copies it to .env: tell users to"
        for name, fs in per_service.items():
            keys = ", ".join(dict.fromkeys(f.key for f in fs))
            message = f"service {name} has literal secrets in environment: {keys}"
            if suppress.why(doc, fs[0].line, self.id):
                yield Finding(doc.path, fs[0].line, message, check=self.checks[0])
                continue
            edits = [env_edits[id(f.node)] for f in fs]
            if first:
                # the other places of the moved values and the template go with the first fix
                edits += other
                if body:
                    edits.append(Edit(template.path, len(existing), len(existing), body))
                    added.update(to_add)
                first = False
            vars_ = ", ".join(dict.fromkeys(names[f.literal] for f in fs))
            ctx.note(self, f"{doc.path}: set {vars_} (service {name}) in .env or the environment "
                           f"(listed in {template.path}{told}); a database already initialised keeps "
                           "its old password: use that value in .env, or rotate it in the database too")
            yield Finding(doc.path, fs[0].line, message, edits, check=self.checks[0])


def _with_siblings(ctx, doc) -> list[str]:
    """The project's files, with those of the other compose files of the folder (they share
    the template and the variables: a value moves in all of them or in none)."""
    folder = posixpath.dirname(doc.path)
    files = project_files(ctx, doc)
    out = dict.fromkeys(files)
    for path in files:
        st = ctx.ws.files.get(path)
        if st is not None and st.kind == "compose" and posixpath.dirname(path) == folder:
            other = ctx.document(path)
            if other is not None and other.docs:
                out.update(dict.fromkeys(p for p in project_files(ctx, other) if p != doc.path))
    return list(out)


@dataclass
class _Literal:
    service: str
    line: int
    key: str
    node: ScalarNode
    form: str          # map | list
    kind: str          # value | url
    literal: str
    pre: str
    post: str


def _quote(text: str) -> str:
    import json
    return json.dumps(text, ensure_ascii=False)


_NAMES = {"image", "container_name", "hostname", "volumes", "networks", "depends_on", "links",
          "profiles", "build", "context", "dockerfile", "target", "source", "external", "name"}


def _scalars(node, key=None, prev=""):
    """(node, text to judge its position by, offset of its value in that text): values that
    could carry a secret (not names, images or keys). A mapping value is judged after its
    key, a list item after the item before it (`--requirepass`, VALUE)."""
    if key in _NAMES:
        return
    if isinstance(node, MappingNode):
        for k, v in node.value:
            yield from _scalars(v, getattr(k, "value", None))
    elif isinstance(node, SequenceNode):
        before = ""
        for item in node.value:
            yield from _scalars(item, None, before)
            before = item.value if isinstance(item, ScalarNode) else ""
    elif isinstance(node, ScalarNode):
        head = f"{key}: " if key is not None else (f"{prev} " if prev else "")
        yield node, head + node.value, len(head)


def _doc_places(doc, lit, var, env_nodes, rewrites):
    """Where else the compose file holds the literal: ([(node, new value)], [stuck places])."""
    edits, stuck = [], []
    for d in doc.docs:
        for node, probe, at in _scalars(d):
            if id(node) in env_nodes:
                continue
            offs = [o - at for o in occurrences(probe, lit) if o >= at]
            if not offs:
                continue
            if node.style in ("|", ">") or node.tag != "tag:yaml.org,2002:str" or "\n" in node.value:
                stuck.append(f"{doc.path}:{node.start_mark.line + 1}")
                continue
            value = rewrites.get(id(node), [node, node.value])[1]
            if value != node.value:
                offs = [o - at for o in occurrences(probe[:at] + value, lit) if o >= at]
            for o in sorted(offs, reverse=True):
                value = value[:o] + "${%s}" % var + value[o + len(lit):]
            edits.append((node, value))
    return edits, stuck


def _still_loads(doc, edits, before_env: str, after_env: str) -> str:
    """'' when the new compose text loads with the new template at least as well as the old
    text did with the old one; else the first new problem."""
    from fixer.interpolate import compose_problems, parse_env
    from fixer.text import apply_edits

    new_text = apply_edits(doc.text, edits)
    old = set(compose_problems(doc.text, parse_env(before_env)))
    new = [p for p in compose_problems(new_text, parse_env(after_env)) if p not in old]
    return new[0] if new else ""
