"""pin-image-digest end to end against the real registry."""
from __future__ import annotations

from typer.testing import CliRunner

from fixer.cli import app
from tests.helpers import fix, write_tree


def _tree(tmp_path, host):
    files = {
        "Dockerfile": (f"# syntax=docker/dockerfile:1\nARG BASE={host}/test/multi:1.0\nFROM ${{BASE}} AS b\n"
                       f"FROM --platform=linux/arm64 nginx:1.25\nCOPY --from=b /x /x\n"
                       f"COPY --from={host}/test/single:1.0 /y /y\n"),
        "compose.yaml": (f"services:\n  web:\n    image: \"nginx:1.25\"   # keep\n"
                         f"  gone:\n    image: {host}/test/missing:9\n"
                         f"  own:\n    build: .\n    image: nginx:1.25\n"
                         f"  var:\n    image: nginx:${{TAG:-1.25}}\n"),
        "k8s/deploy.yaml": ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  initContainers:\n"
                            f"    - name: init\n      image: {host}/test/list:1.0\n  containers:\n"
                            "    - name: app\n      image: nginx:1.25\n"),
        ".github/workflows/ci.yml": ("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n"
                                     "    container: nginx:1.25\n    services:\n      db:\n"
                                     f"        image: {host}/test/single:1.0\n    steps:\n"
                                     f"      - uses: docker://{host}/test/single:1.0\n"),
    }
    write_tree(tmp_path, files)


def test_pins_every_kind_through_a_mirror(tmp_path, registry, cache_dir):
    host = registry.host
    _tree(tmp_path, host)
    img = registry.images
    result = fix(tmp_path, only=["pin-image-digest"], registry_mirror=[f"docker.io={registry.url}"],
                 cache_dir=str(cache_dir))
    df = (tmp_path / "Dockerfile").read_text()
    assert f"ARG BASE={host}/test/multi:1.0@{img['multi']}\n" in df
    assert "FROM ${BASE} AS b\n" in df                   # never written over the variable
    assert df.startswith("# syntax=docker/dockerfile:1\n")
    assert f"FROM --platform=linux/arm64 nginx:1.25@{img['nginx']}\n" in df   # index, user's spelling
    assert f"COPY --from={host}/test/single:1.0@{img['single']} /y /y" in df
    assert "COPY --from=b /x /x" in df
    compose = (tmp_path / "compose.yaml").read_text()
    assert f'image: "nginx:1.25@{img["nginx"]}"   # keep' in compose
    assert "build: .\n    image: nginx:1.25\n" in compose
    assert f"image: {host}/test/missing:9\n" in compose
    k8s = (tmp_path / "k8s/deploy.yaml").read_text()
    assert f"image: {host}/test/list:1.0@{img['list']}" in k8s
    wf = (tmp_path / ".github/workflows/ci.yml").read_text()
    assert f"container: nginx:1.25@{img['nginx']}" in wf
    assert f"uses: docker://{host}/test/single:1.0@{img['single']}" in wf
    skips = {s.reason for cs in result.changesets for s in cs.skips}
    assert any("test/missing:9" in r and "not found" in r for r in skips), skips
    assert any("builds its image" in r for r in skips)
    assert any("variables" in r for r in skips)
    # idempotent, and a second run needs no registry: everything is pinned or cached
    again = fix(tmp_path, only=["pin-image-digest"], registry_mirror=[f"docker.io={registry.url}"],
                cache_dir=str(cache_dir))
    assert not again.changed


def test_offline_uses_only_the_cache(tmp_path, registry, cache_dir):
    write_tree(tmp_path, {"Dockerfile": f"FROM {registry.host}/test/single:1.0\n"})
    res = fix(tmp_path, only=["pin-image-digest"], offline=True, write=False, cache_dir=str(cache_dir))
    assert not res.changed
    assert any("offline" in s.reason for cs in res.changesets for s in cs.skips)
    fix(tmp_path, only=["pin-image-digest"], write=False, cache_dir=str(cache_dir))   # fills the cache
    res = fix(tmp_path, only=["pin-image-digest"], offline=True, cache_dir=str(cache_dir))
    assert res.changed
    assert registry.images["single"] in (tmp_path / "Dockerfile").read_text()


def test_verify_and_update_pins(tmp_path, registry, cache_dir):
    host, img = registry.host, registry.images
    gone = "sha256:" + "0" * 64
    moved = img["latest"]            # exists, but tag 1.0 points to img["single"]
    write_tree(tmp_path, {"a/Dockerfile": f"FROM {host}/test/single:1.0@{gone}\n",
                          "b/Dockerfile": f"FROM {host}/test/single:1.0@{moved}\n"})
    res = fix(tmp_path, only=["pin-image-digest"], verify_pins=True, write=False, cache_dir=str(cache_dir))
    msgs = {f.path: f.message for cs in res.changesets for f in cs.findings}
    assert "no longer exists" in msgs["a/Dockerfile"]
    assert f"now points to {img['single']}" in msgs["b/Dockerfile"]
    assert not res.changed                      # reported, not rewritten
    res = fix(tmp_path, only=["pin-image-digest"], update_pins=True, cache_dir=str(cache_dir))
    assert (tmp_path / "b/Dockerfile").read_text() == f"FROM {host}/test/single:1.0@{img['single']}\n"
    assert (tmp_path / "a/Dockerfile").read_text() == f"FROM {host}/test/single:1.0@{gone}\n"


def test_cli_plan_with_mirror(tmp_path, registry, cache_dir):
    write_tree(tmp_path, {"compose.yaml": "services:\n  web:\n    image: nginx:1.25\n"})
    res = CliRunner().invoke(app, ["plan", str(tmp_path), "--only", "pin-image-digest",
                                   "--registry-mirror", f"docker.io={registry.url}",
                                   "--cache-dir", str(cache_dir)])
    assert res.exit_code == 1, res.output
    assert f"+    image: nginx:1.25@{registry.images['nginx']}" in res.output
