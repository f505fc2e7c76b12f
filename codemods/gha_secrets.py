"""gha-secrets: move credential literals in workflow `env:` blocks to repository secrets."""
from __future__ import annotations

import re

from yaml.nodes import ScalarNode

from fixer.codemod import Codemod, Example, Finding, Option, Skip
from fixer.secrets import occurrences, why_stays

from ._gha_common import env_blocks

# names that hold credentials
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|(^|_)PASS$|(^|_)PWD$|SECRET|TOKEN|API_?KEY|APIKEY|PRIVATE_?KEY|ACCESS_?KEY|"
    r"CREDENTIALS?$|(^|_)AUTH$|_KEY$|SIGNING_KEY|CLIENT_SECRET|SESSION_KEY)")
# names that hold something about a credential, not the credential
_NOT_SECRET = re.compile(
    r"(_FILE|_PATH|_DIR|_NAME|_USER|_USERNAME|_ID|_TYPE|_METHOD|_HEADER|_LENGTH|_TTL|_EXPIRY|"
    r"_EXPIRES|_ENABLED|_REQUIRED|_URL|_URI|_HOST|_PORT|_ALGORITHM|_ALG|_FORMAT|_VERSION|_MODE|"
    r"_SIZE|_BITS|_PREFIX|_ENDPOINT|_REGION|_SCOPE|_SCOPES|_AUDIENCE|_ISSUER|_NAMES|_TITLE|_LABEL|"
    r"_SUMMARY|_DESCRIPTION|_MESSAGE|_COUNT|_LIMIT)$")
# a URL / DSN with a password: scheme://user:password@host
_DSN_NAME = re.compile(r"(DSN|_URL|_URI|CONNECTION_?STRING|DATABASE_URL|_CONN)$")
_DSN_VALUE = re.compile(r"^[a-z][a-z0-9+.-]*://[^/:@\s]*:([^@\s/]+)@", re.I)
_VALID_SECRET = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_PLACEHOLDER = {"", "~", "null", "true", "false", "yes", "no"}


def secret_value(name: str, value: str) -> str | None:
    """The credential inside `value` when `name: value` holds one, else None."""
    upper = name.upper()
    v = value.strip()
    if v.lower() in _PLACEHOLDER or "${{" in v or v.startswith("$"):
        return None
    if _DSN_NAME.search(upper):
        m = _DSN_VALUE.match(v)
        if m and not m.group(1).startswith("$"):
            return m.group(1)
        return None
    if _NOT_SECRET.search(upper) or not _SECRET_NAME.search(upper):
        return None
    return v


def _secret_name(name: str) -> str:
    n = re.sub(r"[^A-Z0-9_]", "_", name.upper())
    if n.startswith("GITHUB_"):
        n = "CI_" + n
    if n[:1].isdigit():
        n = "_" + n
    return n


class GhaSecrets(Codemod):
    id = "gha-secrets"
    title = "Move credential literals in workflow env to repository secrets"
    kinds = ("workflow",)
    severity = "high"
    safety = "unsafe"
    checks = ("checkov:CKV_SECRET_6", "gitleaks:generic-api-key")
    order = 410
    rationale = (
        "A password, token or key written into a workflow is readable by everyone who can "
        "read the repository, stays in its history forever and cannot be rotated without a "
        "commit. Values in workflow, job, step, container and service-container `env:` whose "
        "names mark them as credentials (PASSWORD, SECRET, TOKEN, API_KEY, PRIVATE_KEY, "
        "CREDENTIALS, a DSN or URL with a password, …) become `${{ secrets.NAME }}`; the commit "
        "message lists the repository secrets to create. Values that already use an "
        "expression are left alone, and so are placeholders (`changeme`, `<set …>`, "
        "`your-api-key`) and values an adjacent comment marks as dummy, CI-only or test values. "
        "A CI service container's database password is a throwaway value: it stays, with every "
        "DSN of the same job that uses it (`move-service-passwords = true` moves them too). A "
        "value also used elsewhere in the file (a `run:` line) is not moved: the places are "
        "listed. Moving is unsafe until the repository secret exists, and pull requests from "
        "forks never get secrets: the finding says so when the workflow runs for them.")
    config = (Option("move-service-passwords", {"type": "boolean"}, False,
                     "also move CI service-container passwords (and the DSNs using them)"),)
    examples = [
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
                "      API_TOKEN: abc123def456  # staging\n      LOG_LEVEL: debug\n"
                "    steps:\n      - run: make test\n",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
                "      API_TOKEN: ${{ secrets.API_TOKEN }}  # staging\n      LOG_LEVEL: debug\n"
                "    steps:\n      - run: make test\n"),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    services:\n"
                "      db:\n        image: postgres:16\n        env: {POSTGRES_PASSWORD: \"s3cr3t-pw\"}\n"
                "    steps:\n      - run: make test\n        env:\n"
                "          DATABASE_URL: postgres://app:s3cr3t-pw@localhost/app\n",
                skip="throwaway database"),
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:  # CI-safe dummy secrets\n"
                "      JWT_SECRET: abc123def456\n    steps:\n      - run: make test\n",
                skip="marked as a dummy"),
        Example(".github/workflows/ci.yml",
                "on: push\nenv:\n  TOKEN: ${{ secrets.TOKEN }}\n  PASSWORD_FILE: /run/pw\n"
                "  DATABASE_URL: postgres://localhost/app\njobs: {}\n"),
        # the literal in a script: nothing moves, the places are listed
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      API_TOKEN: abc123def456\n"
                "    steps:\n      - run: ./notify --token abc123def456\n",
                skip="the same credential literal also appears here"),
    ]

    def fix(self, doc, ctx):
        taken: dict[str, str] = ctx.shared.setdefault(self.id, {})
        move_services = bool(self.options(ctx).get("move-service-passwords"))
        found = []                     # (where, kind, jid, env, key node, value node, secret)
        for where, kind, env, jid in env_blocks(doc):
            for k, v in env.value:
                if not isinstance(k, ScalarNode) or not isinstance(v, ScalarNode):
                    continue
                secret = secret_value(k.value, v.value)
                if secret is None:
                    continue
                stays = why_stays(secret, doc.text, v.start_mark.line)
                if stays:
                    yield Skip(doc.path, v.start_mark.line + 1, f"{where}: {k.value} left as it is: {stays}")
                    continue
                ctx.secret(secret)
                ctx.secret(v.value)
                found.append((where, kind, jid, env, k, v, secret))
        # a CI service container's database password is a throwaway value: it stays, and so
        # does every DSN of the same job that uses it
        throwaway = {(jid, s) for where, kind, jid, env, k, v, s in found if kind == "service"} if not move_services else set()
        forks = _on_pull_request(doc)
        moved: list[tuple[int, int, str]] = []     # value spans replaced in this file
        for where, kind, jid, env, k, v, secret in found:
            line = v.start_mark.line + 1
            if (jid, secret) in throwaway or (None, secret) in throwaway or \
                    (jid is None and any(s == secret for _, s in throwaway)):
                what = "the password of a CI service container" if kind == "service" else \
                    "a DSN using the CI service container's password"
                yield Skip(doc.path, line, f"{where}: {k.value} left as it is: {what} (a throwaway database "
                                           "that lives for one job; set move-service-passwords to move it)")
                continue
            places = [doc.line_of(o) + 1 for o in occurrences(doc.text, secret)
                      if not v.start_mark.index <= o < doc.content_end(v)]
            places = [p for p in dict.fromkeys(places) if p != line]
            if places:
                for p in places:
                    yield Skip(doc.path, p, f"the same credential literal also appears here ({k.value}, line "
                                            f"{line}); every place moves together or none")
                yield Finding(doc.path, line, f"{where}: {k.value} is a credential literal; not moved: the same "
                              f"value is also used on line(s) {', '.join(map(str, places))} (move every place "
                              "together, by hand)", check="checkov:CKV_SECRET_6")
                continue
            name = _secret_name(k.value)
            if taken.get(name, v.value) != v.value and jid:
                name = _secret_name(f"{jid}_{k.value}")
            if taken.get(name, v.value) != v.value or not _VALID_SECRET.match(name):
                yield Skip(doc.path, line, f"{where}: {k.value} holds a credential literal, but "
                                            f"secret name {name} is already used for another value")
                continue
            taken[name] = v.value
            expr = "${{ secrets.%s }}" % name
            text = f'"{expr}"' if (env.flow_style or v.style in ('"', "'")) else expr
            moved.append((v.start_mark.index, doc.content_end(v), v.value))
            fork = (" Pull requests from forks get no secrets: there it is empty." if forks else "")
            yield Finding(doc.path, line, f"{where}: {k.value} is a credential literal; use secret {name} "
                                          f"(unsafe until repository secret {name} exists).{fork}",
                          [doc.replace_node(v, text)], check="checkov:CKV_SECRET_6")
            what = "DSN/URL with its password" if secret != v.value else "value"
            ctx.note(self, f"create repository secret {name} with the former {what} of "
                           f"{k.value} ({doc.path}, {where}) before the workflow runs again" +
                           ("; pull requests from forks run without it" if forks else ""))


def _on_pull_request(doc) -> bool:
    """The workflow runs for pull requests (from forks too: they get no secrets)."""
    from yaml.nodes import MappingNode, SequenceNode

    r = doc.docs[0] if doc.docs else None
    if not isinstance(r, MappingNode):
        return False
    for k, v in r.value:
        if getattr(k, "value", None) not in ("on", True):
            continue
        if isinstance(v, ScalarNode):
            return v.value == "pull_request"
        if isinstance(v, SequenceNode):
            return any(getattr(i, "value", None) == "pull_request" for i in v.value)
        if isinstance(v, MappingNode):
            return any(getattr(kk, "value", None) == "pull_request" for kk, _ in v.value)
    return False
