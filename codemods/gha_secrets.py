"""gha-secrets: move credential literals in workflow `env:` blocks to repository secrets."""
from __future__ import annotations

import re

from yaml.nodes import ScalarNode

from fixer.codemod import Codemod, Example, Finding, Skip

from .gha_common import env_blocks

# names that hold credentials
_SECRET_NAME = re.compile(
    r"(PASSWORD|PASSWD|(^|_)PASS$|(^|_)PWD$|SECRET|TOKEN|API_?KEY|APIKEY|PRIVATE_?KEY|ACCESS_?KEY|"
    r"CREDENTIALS?$|(^|_)AUTH$|_KEY$|SIGNING_KEY|CLIENT_SECRET|SESSION_KEY)")
# names that hold something about a credential, not the credential
_NOT_SECRET = re.compile(
    r"(_FILE|_PATH|_DIR|_NAME|_USER|_USERNAME|_ID|_TYPE|_METHOD|_HEADER|_LENGTH|_TTL|_EXPIRY|"
    r"_EXPIRES|_ENABLED|_REQUIRED|_URL|_URI|_HOST|_PORT|_ALGORITHM|_ALG|_FORMAT|_VERSION|_MODE|"
    r"_SIZE|_BITS|_PREFIX|_ENDPOINT|_REGION|_SCOPE|_SCOPES|_AUDIENCE|_ISSUER)$")
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
        "expression are left alone. A service container's password for a throwaway CI "
        "database is moved too, so no credential literal lives in the repository; any value "
        "works for it, as long as the secrets that reuse it agree.")
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
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    services:\n"
                "      db:\n        image: postgres:16\n"
                "        env: {POSTGRES_PASSWORD: \"${{ secrets.POSTGRES_PASSWORD }}\"}\n"
                "    steps:\n      - run: make test\n        env:\n"
                "          DATABASE_URL: ${{ secrets.DATABASE_URL }}\n"),
        Example(".github/workflows/ci.yml",
                "on: push\nenv:\n  TOKEN: ${{ secrets.TOKEN }}\n  PASSWORD_FILE: /run/pw\n"
                "  DATABASE_URL: postgres://localhost/app\njobs: {}\n"),
        # the literal in a script is reported, not edited
        Example(".github/workflows/ci.yml",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n      API_TOKEN: abc123def456\n"
                "    steps:\n      - run: ./notify --token abc123def456\n",
                "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    env:\n"
                "      API_TOKEN: ${{ secrets.API_TOKEN }}\n"
                "    steps:\n      - run: ./notify --token abc123def456\n",
                skip="the same credential literal also appears here"),
    ]

    def fix(self, doc, ctx):
        taken: dict[str, str] = ctx.shared.setdefault(self.id, {})
        moved: list[tuple[int, int, str]] = []     # value spans replaced in this file
        for where, kind, env, jid in env_blocks(doc):
            for k, v in env.value:
                if not isinstance(k, ScalarNode) or not isinstance(v, ScalarNode):
                    continue
                secret = secret_value(k.value, v.value)
                if secret is None:
                    continue
                ctx.secret(secret)
                ctx.secret(v.value)
                line = v.start_mark.line + 1
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
                yield Finding(doc.path, line, f"{where}: {k.value} is a credential literal; "
                                              f"use secret {name}",
                              [doc.replace_node(v, text)], check="checkov:CKV_SECRET_6")
                what = "DSN/URL with its password" if secret != v.value else "value"
                extra = ""
                if kind == "service":
                    extra = (" (a service container's password for a CI database: any value works, "
                             "moved so no credential literal stays in the repository)")
                ctx.note(self, f"create repository secret {name} with the former {what} of "
                               f"{k.value} ({doc.path}, {where}){extra}")
        yield from self._leftovers(doc, moved)

    def _leftovers(self, doc, moved):
        """The same literal elsewhere in the file (a run: line, say) is reported, not edited."""
        seen: set[int] = set()
        for start, end, value in moved:
            if len(value) < 4:
                continue
            i = doc.text.find(value)
            while i != -1:
                inside = any(s <= i < e for s, e, _ in moved)
                line = doc.line_of(i) + 1
                if not inside and line not in seen:
                    seen.add(line)
                    yield Skip(doc.path, line, "the same credential literal also appears here; "
                                               "replace it by hand")
                i = doc.text.find(value, i + 1)
