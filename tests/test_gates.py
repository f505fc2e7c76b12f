"""check --fail-on SEVERITY, .fixer-ignore.toml, fixer init baselines, explain, confidence."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from fixer.cli import app
from tests.helpers import write_tree

COMPOSE = "services:\n  web:\n    image: ghcr.io/acme/web:1\n  db:\n    image: ghcr.io/acme/db:1\n"


def _check(root, *args):
    return CliRunner().invoke(app, ["check", str(root), *args])


def test_fail_on_a_severity(tmp_path):
    write_tree(tmp_path, {"compose.yaml": COMPOSE})
    only = "--only=compose-restart"          # severity low
    assert _check(tmp_path, only, "--fail-on", "low").exit_code == 1
    assert _check(tmp_path, only, "--fail-on", "medium").exit_code == 0
    assert _check(tmp_path, "--only=compose-no-new-privileges", "--fail-on", "medium").exit_code == 1
    bad = _check(tmp_path, "--fail-on", "severe")
    assert bad.exit_code == 2 and "--fail-on: unknown value 'severe'" in bad.output


def test_exclusion_file_needs_reasons_and_names_them_in_skips(tmp_path):
    write_tree(tmp_path, {"compose.yaml": COMPOSE, ".fixer-ignore.toml":
                          '[[ignore]]\npath = "compose.yaml"\nservice = "db"\ncodemod = "compose-no-*"\n'
                          'reason = "db runs setuid helpers"\n'})
    res = _check(tmp_path, "--only=compose-no-new-privileges", "--format", "json")
    data = json.loads(res.stdout)
    status = {f["block"]: f["status"] for f in data["findings"]}
    assert status == {"web": "fixable", "db": "suppressed"}
    assert any("ignored by .fixer-ignore.toml (compose.yaml db): db runs setuid helpers" in s["reason"]
               for s in data["skipped"])
    assert all(f["confidence"] == "high" for f in data["findings"])
    (tmp_path / ".fixer-ignore.toml").write_text('[[ignore]]\npath = "*"\n')
    res = _check(tmp_path)
    assert res.exit_code == 2 and "'reason' is required" in res.output
    (tmp_path / ".fixer-ignore.toml").write_text('[[ignore]]\npath = "*"\nreason = "x"\nservise = "db"\n')
    res = _check(tmp_path)
    assert res.exit_code == 2 and "unknown key 'servise'" in res.output


def test_init_baseline_survives_line_moves_and_reports_only_new_findings(tmp_path):
    write_tree(tmp_path, {"compose.yaml": COMPOSE})
    only = "--only=compose-no-new-privileges,compose-restart"
    res = CliRunner().invoke(app, ["init", str(tmp_path), only])
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / ".fixer-baseline.json").read_text())["findings"]
    assert {(r["codemod"], r["block"]) for r in rows} == {
        (c, s) for c in ("compose-no-new-privileges", "compose-restart") for s in ("web", "db")}
    again = CliRunner().invoke(app, ["init", str(tmp_path)])
    assert again.exit_code == 2 and "--force" in again.output

    res = _check(tmp_path, only)
    assert res.exit_code == 0 and "4 finding(s) of the baseline left out" in res.stdout
    # lines move: a comment on top, the services swapped
    (tmp_path / "compose.yaml").write_text("# stack\nservices:\n  db:\n    image: ghcr.io/acme/db:1\n"
                                           "  web:\n    image: ghcr.io/acme/web:1\n")
    assert _check(tmp_path, only).exit_code == 0
    with open(tmp_path / "compose.yaml", "a") as fh:
        fh.write("  cache:\n    image: ghcr.io/acme/cache:1\n")
    res = _check(tmp_path, only)
    assert res.exit_code == 1
    assert [ln.split(": ")[1] for ln in res.stdout.splitlines() if "compose.yaml:" in ln] == [
        "compose-no-new-privileges", "compose-restart"]
    assert all("cache" in ln for ln in res.stdout.splitlines() if "compose.yaml:" in ln)
    assert _check(tmp_path, only, "--no-baseline").stdout.count("compose.yaml:") == 6
    sarif = json.loads(_check(tmp_path, only, "--format", "sarif").stdout)
    known = [r for r in sarif["runs"][0]["results"] if r.get("baselineState") == "unchanged"]
    assert len(known) == 4 and all(r["suppressions"][0]["kind"] == "external" for r in known)
    assert all(r["properties"]["confidence"] == "high" for r in sarif["runs"][0]["results"])


def test_explain_is_a_guide():
    res = CliRunner().invoke(app, ["explain", "gha-persist-credentials"])
    assert res.exit_code == 0
    for part in ("What it means and how fixer decides:", "Example:", "Left alone", "`git push`",
                 "Safety and confidence:", "confidence of its findings: high", "When to override:",
                 "# fixer: ignore[gha-persist-credentials]", ".fixer-ignore.toml"):
        assert part in res.stdout, part
    assert "confidence of its findings: medium" in CliRunner().invoke(app, ["explain", "compose-ports-loopback"]).stdout
