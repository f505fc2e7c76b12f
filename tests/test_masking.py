"""Secrets are masked in every human-readable output whichever codemods run, and only
secrets: a value equal to a weak password elsewhere stays readable where it is no secret."""
from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from fixer import audit, config, runner, sarif
from fixer.cli import _check_text
from fixer.discovery import WorkTree
from fixer.gitout import message
from fixer.report import patch, plan_json, print_plan
from fixer.secrets import find, masker, secret_in, strong
from tests.helpers import write_tree

SECRET_KEYS = ["POSTGRES_PASSWORD", "API_TOKEN", "SECRET_KEY", "DB_PASSWORD", "REDIS_PASSWORD"]
PLAIN_KEYS = ["APP_MODE", "MCP_SERVER", "POSTGRES_DB", "LOG_LEVEL"]
CODEMODS = ["compose-restart", "compose-secrets", "compose-cap-drop", "compose-read-only",
            "compose-no-new-privileges", "dockerfile-pip-no-cache", "dockerfile-user"]
STRONG = st.from_regex(r"[a-z]{4,8}-[0-9]{3,6}[A-Z]{2}", fullmatch=True)
WEAK = st.text(alphabet="qxzjv", min_size=5, max_size=7)


def _outputs(root: Path, only: list[str]) -> dict[str, str]:
    s = config.load(root)
    s.only, s.offline = only, True
    result = runner.run(WorkTree(root, use_git=False), s, root=root)
    out = {}
    buf = io.StringIO()
    print_plan(result.changesets, result.skipped_files, result.errors, result.secrets,
               Console(file=buf, width=100, force_terminal=False, no_color=True))
    out["plan"] = buf.getvalue()
    buf = io.StringIO()
    print_plan(result.changesets, result.skipped_files, result.errors, result.secrets,
               Console(file=buf, width=100, force_terminal=True))
    out["plan-terminal"] = buf.getvalue()
    out["plan-json"] = _strings(json.loads(plan_json(result.changesets, result.skipped_files,
                                                     result.errors, result.secrets)))
    with tempfile.TemporaryDirectory() as d:
        _check_text(result, Path(d) / "check.txt")
        out["check"] = (Path(d) / "check.txt").read_text()
    out["github"] = sarif.github(result, root)
    out["sarif"] = _strings(sarif.sarif(result, root))
    out["check-json"] = _strings(json.loads(sarif.findings_json(result)))
    out["report"] = audit.markdown(audit.build(WorkTree(root, use_git=False), s, result, "r"))
    mask = masker(result.secrets)
    out["commits"] = "\n".join(message(cs, mask, "0" * 40) for cs in result.changesets if cs.changes)
    out["patch"] = patch(result)
    return out


def _strings(data) -> str:
    """Every string of a JSON document, one per line (what a reader of it sees)."""
    if isinstance(data, str):
        return data + "\n"
    if isinstance(data, dict):
        return "".join(_strings(v) for v in data.values())
    if isinstance(data, list):
        return "".join(_strings(v) for v in data)
    return ""


def _token(value: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(value)}(?![A-Za-z0-9_])")


@settings(max_examples=12, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(strong_value=STRONG, weak=WEAK, skey=st.sampled_from(SECRET_KEYS), skey2=st.sampled_from(SECRET_KEYS),
       pkey=st.sampled_from(PLAIN_KEYS), only=st.lists(st.sampled_from(CODEMODS), min_size=1, max_size=3))
def test_secrets_never_printed_and_plain_values_stay(strong_value, weak, skey, skey2, pkey, only):
    assert strong(strong_value) and not strong(weak)
    root = Path(tempfile.mkdtemp())
    try:
        write_tree(root, {
            "docker-compose.yml":
                "services:\n  db:\n    image: postgres:16\n    environment:\n"
                f"      {skey}: {strong_value}\n"
                f"      MODE: x\n"
                "  cache:\n    image: redis:7\n"
                f"    command: redis-server --requirepass {weak}\n"
                "    environment:\n"
                f"      - {skey2}={weak}\n"
                "  app:\n    image: nginx:1.25\n    environment:\n"
                f"      {pkey}: {weak}\n",
            "svc/Dockerfile": f"FROM python:3.12-slim\nENV {pkey}={weak}\nRUN pip install flask\n"
                              f"CMD [\"python\", \"-m\", \"{weak}\"]\n",
        })
        out = _outputs(root, sorted(set(only)))
        unmasked = out.pop("patch")
        for name, text in out.items():
            assert strong_value not in text, (name, only)
            for line in text.splitlines():
                for m in _token(weak).finditer(line):
                    before = line[:m.start()]
                    assert before.rstrip("\"' ").endswith((f"{pkey}:", f"{pkey}=", '"-m",')), (name, line)
        # a plain value the diff shows is shown in the plan too
        for plain in (f"      {pkey}: {weak}", f"ENV {pkey}={weak}"):
            if any(ln[1:] == plain for ln in unmasked.splitlines()):
                assert plain in out["plan"], (plain, out["plan"])
    finally:
        shutil.rmtree(root)


def test_the_issue_cases():
    mask = masker({"postgres", "xoxb-123456789-abcdefghijk", "hunter2-prod"})
    assert mask(" ENV MCP_SERVER=postgres") == " ENV MCP_SERVER=postgres"
    assert mask("       BOT_TOKEN: xoxb-123456789-abcdefghijk") == "       BOT_TOKEN: ****"
    assert mask("     command: redis-server --requirepass hunter2-prod") == \
        "     command: redis-server --requirepass ****"
    assert mask("-      DATABASE_URL: postgres://postgres:postgres@localhost:5432/postgres") == \
        "-      DATABASE_URL: postgres://postgres:****@localhost:5432/postgres"
    assert mask("-          POSTGRES_PASSWORD: postgres") == "-          POSTGRES_PASSWORD: ****"
    k8s = "        - name: DB_PASSWORD\n          value: postgres\n        - name: DB\n          value: postgres\n"
    assert mask(k8s) == k8s.replace("value: postgres", "value: ****", 1)


def test_secrets_are_found_whichever_codemods_run():
    assert find("c.yml", "compose", "services:\n  a:\n    environment:\n      - API_TOKEN=abc-123\n") == {"abc-123"}
    assert find("D", "dockerfile", "FROM x\nENV DB_PASSWORD=pw1 MODE=y\nARG GH_TOKEN=t0k\n") == {"pw1", "t0k"}
    assert find("k.yml", "k8s", "env:\n- name: DB_PASSWORD\n  value: pw2\n") == {"pw2"}
    assert secret_in("MCP_SERVER", "postgres") is None
    root = Path(__file__).resolve().parent.parent / "examples" / "audit-repo"
    out = _outputs(root, ["compose-restart"])
    for name, text in out.items():
        if name != "patch":
            assert "xoxb-123456789" not in text and "s3cr3t-db-pass" not in text, name
    assert "xoxb-123456789-abcdefghijk" in out["patch"]


def test_the_scan_runs_beside_the_codemods_and_finds_the_same(tmp_path, monkeypatch):
    from fixer import config, runner

    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx:1.27\n"
                                           "    command: [\"--token\", \"zq-98-shared\"]\n")
    (tmp_path / "k8s").mkdir()
    (tmp_path / "k8s" / "app.yaml").write_text(     # not loaded by compose-restart: scanned all the same
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n"
        "    image: nginx:1.27\n    env:\n    - name: API_TOKEN\n      value: zq-98-shared\n")
    found = {}
    for jobs in ("1", "2"):
        monkeypatch.setenv("FIXER_JOBS", jobs)
        found[jobs] = runner.plan(tmp_path, config.load(tmp_path, offline=True, only=["compose-restart"])).secrets
    assert "zq-98-shared" in found["1"] and found["1"] == found["2"]
