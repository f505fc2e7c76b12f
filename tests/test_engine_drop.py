"""A fix that would make a file invalid is dropped alone: the codemod's other fixes in
the same file stay, and the warning names the dropped fix and the reason."""
from __future__ import annotations

from fixer import config, runner
from fixer.codemod import Codemod, Finding
from fixer.discovery import WorkTree
from fixer.text import Edit
from tests.helpers import fix, write_tree

ALIAS = """services:
  web:
    image: nginx:1.25
  mongodb: &mongodb
    image: mongo:7
  mongodb-2: *mongodb
  worker:
    image: python:3.12
    command: python worker.py
"""


def test_alias_service_loses_only_its_own_fix(tmp_path):
    write_tree(tmp_path, {"docker-compose.yml": ALIAS})
    res = fix(tmp_path, only=["compose-restart"], offline=True)
    (cs,) = res.changesets
    status = {f.message.split()[1]: f.status for f in cs.findings}
    assert status == {"web": "fixed", "mongodb": "fixed", "mongodb-2": "dropped", "worker": "fixed"}
    dropped = next(f for f in cs.findings if f.status == "dropped")
    assert "duplicate key 'restart'" in dropped.note
    out = (tmp_path / "docker-compose.yml").read_text()
    assert out.count("restart: unless-stopped") == 3
    assert "  mongodb-2: *mongodb\n" in out
    (warning,) = [e for e in res.errors if "compose-restart" in e]
    assert warning.startswith("docker-compose.yml: compose-restart fix for line 6 dropped "
                              "(service mongodb-2 has no restart policy)")
    assert warning.endswith("its other fixes are kept")


def _run(tmp_path, codemods):
    settings = config.load(tmp_path, offline=True)
    return runner.run(WorkTree(tmp_path, use_git=False), settings, codemods, tmp_path)


def _after(text: str, needle: str) -> int:
    return text.index(needle) + len(needle)


class Keys(Codemod):
    """Adds a key to each service: `bogus_key` (not in the Compose schema) to `web`."""

    id, kinds = "test-keys", ("compose",)
    keys = {"web": "bogus_key: 1", "db": "restart: always", "cache": "restart: always"}

    def fix(self, doc, ctx):
        for name, key in self.keys.items():
            head = f"  {name}:\n"
            if head in doc.text:
                yield Finding(doc.path, doc.text[:doc.text.index(head)].count("\n") + 1, f"{name} needs {key}",
                              [Edit(doc.path, _after(doc.text, head), _after(doc.text, head), f"    {key}\n")])


SERVICES = "services:\n  web:\n    image: nginx\n  db:\n    image: postgres\n  cache:\n    image: redis\n"


def test_schema_breaking_fix_dropped_next_to_valid_ones(tmp_path):
    write_tree(tmp_path, {"compose.yaml": SERVICES})
    res = _run(tmp_path, [Keys()])
    (cs,) = res.changesets
    assert [(f.line, f.status) for f in cs.findings] == [(2, "dropped"), (4, "fixed"), (6, "fixed")]
    assert "bogus_key" in cs.findings[0].note
    (_, new), = cs.changes.values()
    assert new == ("services:\n  web:\n    image: nginx\n  db:\n    restart: always\n    image: postgres\n"
                   "  cache:\n    restart: always\n    image: redis\n")
    assert any("fix for line 2 dropped (web needs bogus_key: 1)" in e for e in res.errors)


class Twice(Codemod):
    """Two fixes, each valid alone, that together give `web` the same key twice."""

    id, kinds = "test-twice", ("compose",)

    def fix(self, doc, ctx):
        at = _after(doc.text, "  web:\n")
        yield Finding(doc.path, 2, "first", [Edit(doc.path, at, at, "    restart: always\n")])
        yield Finding(doc.path, 2, "second", [Edit(doc.path, at, at, "    restart: no\n")])
        at = _after(doc.text, "  db:\n")
        yield Finding(doc.path, 4, "third", [Edit(doc.path, at, at, "    init: true\n")])


def test_fixes_that_clash_only_together_keep_the_first(tmp_path):
    write_tree(tmp_path, {"compose.yaml": SERVICES})
    res = _run(tmp_path, [Twice()])
    (cs,) = res.changesets
    assert [(f.message, f.status) for f in cs.findings] == [("first", "fixed"), ("second", "dropped"), ("third", "fixed")]
    assert "duplicate key 'restart'" in cs.findings[1].note


class Pair(Codemod):
    """One fix editing two files (valid in one, invalid in the other), one plain fix."""

    id, kinds = "test-pair", ("compose",)

    def fix(self, doc, ctx):
        if doc.path != "a/compose.yaml":
            return
        at = _after(doc.text, "  web:\n")
        yield Finding(doc.path, 2, "both files", [Edit(doc.path, at, at, "    init: true\n"),
                                                  Edit("b/compose.yaml", at, at, "    bogus_key: 1\n")])
        at = _after(doc.text, "  db:\n")
        yield Finding(doc.path, 4, "plain", [Edit(doc.path, at, at, "    init: true\n")])


def test_a_fix_is_dropped_whole_across_files(tmp_path):
    write_tree(tmp_path, {"a/compose.yaml": SERVICES, "b/compose.yaml": SERVICES})
    res = _run(tmp_path, [Pair()])
    (cs,) = res.changesets
    assert [(f.message, f.status) for f in cs.findings] == [("both files", "dropped"), ("plain", "fixed")]
    assert cs.findings[0].note.startswith("b/compose.yaml: ")
    assert sorted(cs.changes) == ["a/compose.yaml"]
    assert cs.changes["a/compose.yaml"][1] == SERVICES.replace("  db:\n", "  db:\n    init: true\n")
