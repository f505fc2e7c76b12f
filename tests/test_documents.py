"""Documents keep every byte: no-op identity and surgical splices on a torture set."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from yaml.nodes import MappingNode, SequenceNode

from fixer import discovery, helm
from fixer.dockerdoc import Dockerfile
from fixer.engine import make_document
from fixer.text import Edit, EditConflict, apply_edits, decode, encode
from fixer.yamldoc import Flow, YamlFile, get, to_python, walk
from tests.helpers import fix

TORTURE = Path(__file__).parent / "torture"
FILES = sorted(p for p in TORTURE.rglob("*") if p.is_file())
YAMLS = [p for p in FILES if p.suffix in (".yml", ".yaml") and "templates" not in p.parts]
DOCKERFILES = [p for p in FILES if p.name.startswith("Dockerfile")]


def kind_of(p: Path) -> str:
    rel = p.relative_to(TORTURE).as_posix()
    k = discovery.name_kind(rel, {"chart"})
    return k if k else discovery.content_kind(p.read_text("utf-8-sig"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.relative_to(TORTURE).as_posix())
def test_noop_is_byte_identical(path):
    raw = path.read_bytes()
    text, bom = decode(raw)
    doc = make_document(path.name, kind_of(path), text, bom)
    assert encode(apply_edits(doc.text, []), doc.bom) == raw


def _mappings(doc):
    for d in doc.docs:
        for n in walk(d):
            if isinstance(n, MappingNode) and n.value and all(getattr(k, "tag", "").endswith(":str")
                                                               for k, _ in n.value):
                yield n


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_add_entry_touches_only_its_splice(path):
    text, bom = decode(path.read_bytes())
    doc = YamlFile(path.name, text, bom)
    count = 0
    for i, mapping in enumerate(list(_mappings(doc))):
        edit = doc.add_entry(mapping, "fixer_added", Flow(["x", "y"]) if i % 2 else {"k": "v"})
        new = apply_edits(text, [edit])
        # everything outside the splice is unchanged
        assert new[: edit.start] == text[: edit.start]
        assert new[edit.start + len(edit.text):] == text[edit.end:]
        assert edit.start == edit.end
        # the result parses and the key landed in that mapping, at any depth
        newdoc = YamlFile(path.name, new, bom)
        found = [n for d in newdoc.docs for n in walk(d)
                 if isinstance(n, MappingNode) and get(n, "fixer_added", merged=False) is not None]
        assert len(found) == 1
        expect = to_python(mapping)
        got = to_python(found[0])
        assert got.pop("fixer_added") in (["x", "y"], {"k": "v"})
        assert got == expect
        if "\r\n" in text:
            assert "\n" not in edit.text.replace("\r\n", "")
        count += 1
    assert count > 0


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_append_item_touches_only_its_splice(path):
    text, bom = decode(path.read_bytes())
    doc = YamlFile(path.name, text, bom)
    for d in doc.docs:
        for n in walk(d):
            if not isinstance(n, SequenceNode):
                continue
            edit = doc.append_item(n, "added-item")
            new = apply_edits(text, [edit])
            assert new[: edit.start] == text[: edit.start]
            assert new[edit.start + len(edit.text):] == text[edit.end:] or edit.start != edit.end
            nodes = [m for d2 in YamlFile(path.name, new).docs for m in walk(d2)
                     if isinstance(m, SequenceNode) and m.start_mark.index == n.start_mark.index]
            assert [getattr(x, "value", None) for x in nodes[0].value][-1] == "added-item"
            assert len(nodes[0].value) == len(n.value) + 1


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_insert_after_every_instruction(path):
    import dockerfile as buildkit

    text, bom = decode(path.read_bytes())
    doc = Dockerfile(path.name, text, bom)
    n = len(doc.instructions)
    assert n > 0
    for ins in doc.instructions:
        new = apply_edits(text, [doc.insert_after(ins, ["LABEL fixer=1"])])
        cmds = buildkit.parse_string(new)
        assert len(cmds) == n + 1
        assert new.replace("LABEL fixer=1" + doc.newline, "", 1) == text or not text.endswith("\n")


def test_dockerfile_words_skip_continuations_and_comments():
    text = "FROM --platform=$BUILDPLATFORM \\\n  # note\n  alpine:3.20 AS base\nRUN x\n"
    doc = Dockerfile("Dockerfile", text)
    words = [w for w, _, _ in doc.words(doc.instructions[0])]
    assert words == ["FROM", "--platform=$BUILDPLATFORM", "alpine:3.20", "AS", "base"]
    for w, s, e in doc.words(doc.instructions[0]):
        assert text[s:e] == w


def test_windows_escape_directive():
    doc = Dockerfile("Dockerfile", (TORTURE / "Dockerfile.windows").read_text("utf-8"))
    assert doc.escape == "`"
    assert [i.cmd for i in doc.instructions] == ["FROM", "RUN", "CMD"]
    assert doc.instructions[1].end_line == 4


def test_overlapping_edits_conflict():
    with pytest.raises(EditConflict):
        apply_edits("abcdef", [Edit("f", 0, 3, "x"), Edit("f", 2, 4, "y")])
    assert apply_edits("abc", [Edit("f", 1, 1, "X"), Edit("f", 1, 1, "Y")]) == "aXYbc"


def test_helm_mask_keeps_offsets_and_yaml():
    text = (TORTURE / "chart/templates/deploy.yaml").read_text("utf-8")
    masked = helm.mask(text)
    assert len(masked) == len(text)
    assert [i for i, c in enumerate(text) if c == "\n"] == [i for i, c in enumerate(masked) if c == "\n"]
    docs = list(yaml.safe_load_all(masked))
    assert docs[0]["spec"]["template"]["spec"]["containers"][0]["name"] == "app"
    assert helm.preserves_actions(text, text.replace("kind:", "kind:  "))
    assert not helm.preserves_actions(text, text.replace("{{- end }}", ""))


def test_all_codemods_on_torture_tree_are_safe_and_idempotent(tmp_path):
    tree = tmp_path / "t"
    shutil.copytree(TORTURE, tree)
    before = {p.relative_to(tree).as_posix(): p.read_bytes() for p in tree.rglob("*") if p.is_file()}
    result = fix(tree, offline=True)
    dropped = [(f.codemod, f.note) for cs in result.changesets for f in cs.findings if f.status == "dropped"]
    assert not dropped
    for rel, raw in before.items():
        p = tree / rel
        if not p.exists():
            continue
        new = p.read_bytes()
        assert new.startswith(b"\xef\xbb\xbf") == raw.startswith(b"\xef\xbb\xbf"), rel
        if b"\r\n" in raw:
            assert new.count(b"\n") == new.count(b"\r\n"), f"{rel}: mixed line ends"
    again = fix(tree, offline=True)
    assert not again.changed, [(cs.codemod.id, list(cs.changes)) for cs in again.changesets if cs.changes]


def test_validation_refuses_duplicate_keys_and_schema_regressions():
    from fixer.validate import validate

    old = "services:\n  web:\n    image: nginx\n"
    assert validate("compose", "c.yml", old, old + "    image: other\n").startswith("duplicate key 'image'")
    assert "compose schema" in validate("compose", "c.yml", old, old + "    read_only: [1]\n")
    assert validate("compose", "c.yml", old, old + "    read_only: true\n") is None
    # a problem the file already had does not block a fix
    bad = "services:\n  web:\n    image: nginx\n    ports: {a: 1}\n"
    assert validate("compose", "c.yml", bad, bad + "    read_only: true\n") is None
    assert validate("dockerfile", "Dockerfile", "FROM a\n", "FROM a\nRUN <<EOF\n") is not None
    assert validate("python", "x.py", "", "def f(:\n").startswith("invalid Python")


def test_kubernetes_schema_regressions_are_caught():
    from fixer.validate import validate

    old = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: a\n      image: x\n"
    assert validate("k8s", "p.yaml", old, old + "      bogus: 1\n").startswith("Kubernetes schema")
    assert validate("k8s", "p.yaml", old, old + "      imagePullPolicy: Always\n") is None


def test_masker_hides_values_not_names():
    from fixer.report import masker

    mask = masker({"postgres", "s3cr3t-db-pass"})
    assert mask("POSTGRES_PASSWORD: postgres") == "POSTGRES_PASSWORD: ****"
    assert mask("url: postgres://app:s3cr3t-db-pass@db/app") == "url: postgres://app:****@db/app"
    assert mask("image: postgres:16") == "image: postgres:16"
    assert mask("-      - DATABASE_URL=x:s3cr3t-db-pass@db") == "-      - DATABASE_URL=x:****@db"


def test_to_python_leaves_the_nodes_alone():
    doc = YamlFile("c.yml", "x: &a {p: 1}\ny:\n  <<: *a\n  q: 2\n")
    y = get(doc.docs[0], "y")
    before = [(k.value, v.start_mark.index) for k, v in y.value]
    assert to_python(y) == {"p": 1, "q": 2}
    assert [(k.value, v.start_mark.index) for k, v in y.value] == before


def test_masker_keeps_names_that_equal_a_weak_password():
    from fixer.report import masker

    mask = masker({"postgres"})
    assert mask("mcp-servers/postgres/Dockerfile -> --target postgres") == \
        "mcp-servers/postgres/Dockerfile -> --target postgres"
    assert mask("  PGPASSWORD='postgres'") == "  PGPASSWORD='****'"
    assert mask("-DB_PASSWORD=postgres") == "-DB_PASSWORD=****"
    assert mask("+ENV MCP_SERVER=postgres") == "+ENV MCP_SERVER=postgres"


def test_buildkit_child_process_matches_the_module():
    import dockerfile as module

    from fixer import buildkit

    for path in DOCKERFILES:
        text = path.read_text("utf-8-sig")
        got = buildkit.parse(text + "\n# distinct\n")
        want = module.parse_string(text + "\n# distinct\n")
        assert [tuple(c[:8]) for c in got] == [tuple(c[:8]) for c in want]
        assert [[tuple(h) for h in c.heredocs] for c in got] == \
            [[(h.name, h.file_descriptor, h.content) for h in c.heredocs] for c in want]
    with pytest.raises(buildkit.ParseError):
        buildkit.parse("FROM a\nRUN <<EOF\nunterminated\n")


@pytest.mark.parametrize("text", [
    "a: &x {p: 1, q: 2}\nb:\n  <<: *x\n  q: 3\n",
    "a: &x {p: 1}\nc: &y {p: 2, r: 5}\nb:\n  <<: [*x, *y]\n",
    "a: 2020-01-01\nb: 0o17\nc: 0x1f\nd: 1_000\ne: .inf\nf: ~\ng: yes\nh: !!binary aGVsbG8=\ni: '1'\n",
    "a: !!set {x, y}\nb: !!omap [{k: v}]\n",
    "- [1, 2]\n- {a: [b, {c: d}]}\n---\nnext: doc\n",
])
def test_to_python_builds_what_the_safe_loader_builds(text):
    from fixer.yamldoc import compose_all

    assert [to_python(d) for d in compose_all(text)] == list(yaml.load_all(text, Loader=yaml.SafeLoader))


@pytest.mark.parametrize("text", ["b:\n  <<: {p: 1}\n  <<: {p: 2}\n", "a: &x {p: 1}\nb: {<<: *x, c: 1, <<: {q: 2}}\n"])
def test_two_merge_keys_in_one_mapping_make_the_file_invalid(text):
    """PyYAML releases disagree on which `<<` wins (6.0.4 changed it); YAML 1.2 calls it a
    duplicate key. fixer refuses the file with the line, whatever version is installed."""
    from fixer.yamldoc import ParseError, compose_all

    with pytest.raises(ParseError, match=r"line \d+\): duplicate '<<' merge key"):
        compose_all(text)


@pytest.mark.parametrize("text", ["? [a]\n: 1\n", "a: !Ref x\n", "a:\n  <<: [1]\n"])
def test_to_python_fails_where_the_safe_loader_fails(text):
    from fixer.yamldoc import compose_all

    with pytest.raises(yaml.constructor.ConstructorError):
        yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.constructor.ConstructorError):
        to_python(compose_all(text)[0])


def test_fast_compose_check_agrees_with_jsonschema():
    from fixer.validate import _compose_fast, _compose_validator

    fast = _compose_fast()
    check, failed = fast.check, fast.failed
    base = {"services": {"web": {"image": "nginx", "ports": ["80:80"], "read_only": True,
                                 "deploy": {"resources": {"limits": {"memory": "512M"}}}}},
            "volumes": {"data": {}}}
    variants = [base, {"services": {"web": {"imag": "x"}}}, {"services": {"web": {"read_only": [1]}}},
                {"services": {"web": {"ports": {"a": 1}}}}, {"x-any": 1, "services": {}},
                {"services": {"bad name!": {}}}, {"volumes": {"data": {"driver": 5}}}]
    for doc in variants:
        expected = not list(_compose_validator().iter_errors(doc))
        try:
            check(doc)
            got = True
        except failed:
            got = False
        assert got == expected, doc


def test_compose_check_by_service_finds_a_changed_service():
    """A service checked before is skipped; a changed one, or the file around the
    services, is still checked."""
    from fixer.validate import compose_errors

    good = "services:\n  web:\n    image: nginx\n  db:\n    image: postgres\n"
    assert compose_errors(good) == frozenset()
    bad_service = good.replace("image: postgres", "image: postgres\n    read_only: [1]")
    assert any(e.startswith("services/db/read_only") for e in compose_errors(bad_service))
    bad_top = good + "volumes:\n  data:\n    driver: 5\n"
    assert any(e.startswith("volumes/data/driver") for e in compose_errors(bad_top))
    null_service = good + "  cache:\n"
    assert compose_errors(null_service)
