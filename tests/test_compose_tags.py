"""Compose's merge tags `!reset` and `!override` load, validate and get fixed."""
from __future__ import annotations

from fixer.validate import compose_errors, validate
from fixer.yamldoc import compose_all, to_python
from tests.helpers import fix, write_tree

TAGGED = """\
services:
  web:
    image: nginx:1.25
    ports: !override
      - "8080:80"
    environment: !reset {}
  db:
    image: postgres:16
    command: !reset null
    user: !override "999"
"""


def test_override_keeps_the_value_and_reset_leaves_the_key_out():
    data = to_python(compose_all(TAGGED)[0])
    assert data["services"]["web"] == {"image": "nginx:1.25", "ports": ["8080:80"]}
    assert data["services"]["db"] == {"image": "postgres:16", "user": "999"}
    assert to_python(compose_all("a: !override 5\nb: !override '5'\n")[0]) == {"a": 5, "b": "5"}
    assert to_python(compose_all("!reset x\n")[0]) is None


def test_schema_sees_the_tagged_values():
    assert compose_errors(TAGGED) == frozenset()
    bad = TAGGED.replace('user: !override "999"', "user: !override {a: 1}")
    assert compose_errors(bad), "an !override value is checked against the schema"
    assert validate("compose", "compose.yaml", TAGGED, TAGGED + "  x:\n    image: a\n") is None


def test_fixes_in_a_tagged_file_are_kept(tmp_path):
    write_tree(tmp_path, {"compose.yaml": TAGGED})
    result = fix(tmp_path, only=["compose-no-new-privileges"], offline=True)
    statuses = [f.status for cs in result.changesets for f in cs.findings]
    assert statuses == ["fixed", "fixed"], [f.note for cs in result.changesets for f in cs.findings]
    out = (tmp_path / "compose.yaml").read_text()
    assert "ports: !override\n" in out and "command: !reset null" in out
    assert out.count("no-new-privileges:true") == 2
