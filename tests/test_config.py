"""Settings files: checked against the schema built from the codemods' declared options."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from codemods import all_codemods
from fixer import config
from fixer.cli import app
from tests.helpers import init_repo, write_tree

COMPOSE = "services:\n  web:\n    image: nginx:1.27\n"

BAD = [
    ("pyproject.toml", "[tool.fixer]\nskipp = [\"compose-restart\"]\n", "[tool.fixer] skipp: unknown key"),
    (".fixer.toml", "max-file-size = \"2MB\"\n", "max-file-size: expected integer, got \"2MB\""),
    (".fixer.toml", "skip = [\"compose-restrat\"]\n", "skip: unknown codemod 'compose-restrat'"),
    (".fixer.toml", "only = \"compose-restart, nope\"\n", "only: unknown codemod 'nope'"),
    (".fixer.toml", "[codemod.compose-resource-limits]\nmemroy = \"1G\"\n",
     "[codemod.compose-resource-limits] memroy: unknown key (known: cpus, heavyweight, memory, safety)"),
    (".fixer.toml", "[codemod.compose-resource-limits]\ncpus = \"lots\"\n",
     "[codemod.compose-resource-limits] cpus: \"lots\" is not a number of CPUs"),
    ("pyproject.toml", "[tool.fixer.codemod.compose-resource-limits]\nmemory = \"lots\"\n",
     "[tool.fixer.codemod.compose-resource-limits] memory: \"lots\" is not a compose byte value"),
    (".fixer.toml", "[codemod.no-such-codemod]\nx = 1\n", "[codemod] no-such-codemod: unknown codemod"),
    (".fixer.toml", "[codemod.compose-restart]\nx = 1\n", "[codemod.compose-restart] x: unknown key"),
    (".fixer.toml", "[codemod.k8s-security-context]\nseccomp = \"yes\"\n",
     "[codemod.k8s-security-context] seccomp: expected boolean, got \"yes\""),
    (".fixer.toml", "jobs = \"two\"\n", "jobs: expected integer"),
    (".fixer.toml", "fail-on = \"always\"\n", "fail-on: "),
    (".fixer.toml", "skip = [\n", ".fixer.toml: invalid TOML"),
]


@pytest.mark.parametrize("name,text,message", BAD)
@pytest.mark.parametrize("command", ["plan", "check", "report", "apply"])
def test_bad_config_is_one_line_and_exit_2(tmp_path, name, text, message, command):
    write_tree(tmp_path, {"compose.yaml": COMPOSE, name: text})
    init_repo(tmp_path)
    res = CliRunner().invoke(app, [command, str(tmp_path), "--offline"])
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"fixer: {name}: ") and message in lines[0], res.output


def test_good_config_is_accepted(tmp_path):
    write_tree(tmp_path, {"compose.yaml": COMPOSE, "pyproject.toml": (
        "[project]\nname = \"x\"\n[tool.fixer]\nskip = \"compose-restart, compose-networks\"\n"
        "exclude = [\"vendor/*\"]\nmax-file-size = 1000000\njobs = 1\n"
        "[tool.fixer.codemod.compose-resource-limits]\nmemory = \"2G\"\ncpus = 0.5\n"
        "[tool.fixer.codemod.gha-pin-actions.pins]\n"
        "\"actions/checkout@v4\" = \"11bd71901bbe5b1630ceea73d27597364c9af683\"\n")})
    s = config.load(tmp_path)
    assert s.skip == ["compose-restart", "compose-networks"] and s.max_file_size == 1000000
    assert s.codemod["compose-resource-limits"] == {"memory": "2G", "cpus": 0.5}


def test_published_schema_is_the_generated_one():
    assert json.loads(config.SCHEMA_FILE.read_text()) == config.schema()
    res = CliRunner().invoke(app, ["config-schema"])
    assert res.exit_code == 0 and json.loads(res.output) == config.schema()


def test_codemod_options_come_from_the_codemod_classes():
    props = config.schema()["properties"]["codemod"]["properties"]
    assert set(props) == {c.id for c in all_codemods()}
    for c in all_codemods():
        assert set(props[c.id]["properties"]) == {o.name for o in c.config} | {"safety"}
        for ex in c.examples:   # every option an example uses is declared
            assert set(ex.options) <= {o.name for o in c.config}, (c.id, ex.options)
    assert props["compose-resource-limits"]["properties"]["memory"]["default"] == "512M"
    assert props["dockerfile-consolidate"]["properties"]["threshold"]["default"] == 0.8
